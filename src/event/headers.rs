//! An event's headers: every one in arrival order, duplicates kept, names spelled as given.
//!
//! They live in one text buffer with a list of where each name and value ends, so an event
//! costs two allocations for its headers however many it has, instead of two per header.
//! Every delivery `listen` receives builds one of these, and every capture line `replay`
//! reads does too. In JSON they are a list of `[name, value]` pairs.

use std::borrow::Cow;
use std::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    text: String,
    /// For each header, where its name ends and where its value ends in `text`; each name
    /// starts where the previous value ended.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Room for `count` headers whose names and values add up to `bytes`.
    pub fn with_capacity(count: usize, bytes: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Adds `name: value` after the others.
    pub fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            text: &self.text,
            ends: self.ends.iter(),
            start: 0,
        }
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        // Names are compared as bytes; only the value found is cut out as text.
        let bytes = self.text.as_bytes();
        let mut start = 0;
        for &(name_end, value_end) in &self.ends {
            if bytes[start..name_end].eq_ignore_ascii_case(name.as_bytes()) {
                return Some(&self.text[name_end..value_end]);
            }
            start = value_end;
        }
        None
    }

    /// The values of every header called `name` (case-insensitive), in order.
    pub fn get_all<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + Clone + use<'a, 'n> {
        self.iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// True when there is a header called `name` (case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Removes every header called `name` (case-insensitive).
    pub fn remove(&mut self, name: &str) {
        if self.contains(name) {
            let old = std::mem::take(self);
            self.extend(old.iter().filter(|(k, _)| !k.eq_ignore_ascii_case(name)));
        }
    }

    /// Replaces every header called `name` with one `name: value`, at the end.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.push(name, value);
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }
}

/// The headers in order, as `(name, value)`.
#[derive(Clone)]
pub struct Iter<'a> {
    text: &'a str,
    ends: std::slice::Iter<'a, (usize, usize)>,
    /// Where the next name starts.
    start: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let &(name_end, value_end) = self.ends.next()?;
        let start = std::mem::replace(&mut self.start, value_end);
        Some((&self.text[start..name_end], &self.text[name_end..value_end]))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ends.size_hint()
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> Extend<(N, V)> for Headers {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, pairs: I) {
        for (name, value) in pairs {
            self.push(name.as_ref(), value.as_ref());
        }
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(pairs: I) -> Headers {
        let mut headers = Headers::new();
        headers.extend(pairs);
        headers
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for pair in self {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Headers, D::Error> {
        struct Pairs;

        impl<'de> Visitor<'de> for Pairs {
            type Value = Headers;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of [name, value] pairs")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Headers, A::Error> {
                // JSON does not say how many pairs follow; start with room for a typical
                // webhook's headers rather than growing a pair at a time.
                let count = seq.size_hint().unwrap_or(8);
                let mut headers = Headers::with_capacity(count, count * 32);
                while let Some((Text(name), Text(value))) = seq.next_element()? {
                    headers.push(&name, &value);
                }
                Ok(headers)
            }
        }

        deserializer.deserialize_seq(Pairs)
    }
}

/// A name or value read from JSON, borrowed from the input when nothing in it is escaped:
/// no allocation per header.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Headers {
        [
            ("Content-Type", "application/json"),
            ("X-Dup", "1"),
            ("", ""),
            ("x-dup", "2"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn keeps_order_duplicates_and_empty_names_and_values() {
        let h = sample();
        assert_eq!(h.len(), 4);
        let pairs: Vec<_> = h.iter().collect();
        assert_eq!(
            pairs,
            [
                ("Content-Type", "application/json"),
                ("X-Dup", "1"),
                ("", ""),
                ("x-dup", "2")
            ]
        );
        assert_eq!(h.iter().len(), 4);
    }

    #[test]
    fn lookups_ignore_case_and_find_every_value() {
        let h = sample();
        assert_eq!(h.get("content-type"), Some("application/json"));
        assert_eq!(h.get_all("X-DUP").collect::<Vec<_>>(), ["1", "2"]);
        assert!(!h.contains("missing"));
    }

    #[test]
    fn remove_and_set_replace_every_copy() {
        let mut h = sample();
        h.set("x-dup", "3");
        assert_eq!(h.get_all("x-dup").collect::<Vec<_>>(), ["3"]);
        assert_eq!(h.iter().last(), Some(("x-dup", "3")));
        h.remove("CONTENT-TYPE");
        assert_eq!(h.len(), 2);
        h.remove("absent");
        assert_eq!(h.len(), 2);
        h.clear();
        assert!(h.is_empty());
    }

    #[test]
    fn json_is_a_list_of_pairs_both_ways() {
        let h = sample();
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            r#"[["Content-Type","application/json"],["X-Dup","1"],["",""],["x-dup","2"]]"#
        );
        assert_eq!(serde_json::from_str::<Headers>(&json).unwrap(), h);
        let escaped: Headers = serde_json::from_str(r#"[["a\"b","c\nd"]]"#).unwrap();
        assert_eq!(escaped.get("a\"b"), Some("c\nd"));
        let wrong = serde_json::from_str::<Headers>(r#"{"a":"b"}"#).unwrap_err();
        assert!(
            wrong.to_string().contains("a list of [name, value] pairs"),
            "{wrong}"
        );
    }
}
