//! An event's headers: a list of `(name, value)` pairs, duplicates kept; lookups ignore case.
//!
//! What is kept depends on where the event came from. `listen` gets its headers from hyper,
//! which lower-cases every name and groups repeated names: the values of one name sit
//! together, in the order they arrived, but how different names interleaved on the wire is
//! lost. A value that is not UTF-8 has its bad bytes replaced with U+FFFD. `send` keeps its
//! headers as the sample, flow or `-H` spelled them, and `replay` as the capture line lists
//! them. In JSON they are a list of `[name, value]` pairs.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(Vec<(String, String)>);

/// The headers in order, as `(name, value)`.
pub type Iter<'a> =
    std::iter::Map<std::slice::Iter<'a, (String, String)>, fn(&(String, String)) -> (&str, &str)>;

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Room for `count` headers.
    pub fn with_capacity(count: usize) -> Headers {
        Headers(Vec::with_capacity(count))
    }

    /// Adds `name: value` after the others.
    pub fn push(&mut self, name: &str, value: &str) {
        self.0.push((name.to_owned(), value.to_owned()));
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(as_strs)
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
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
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// Replaces every header called `name` with one `name: value`, at the end.
    pub fn set(&mut self, name: &str, value: &str) {
        self.remove(name);
        self.push(name, value);
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

fn as_strs((name, value): &(String, String)) -> (&str, &str) {
    (name, value)
}

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
        assert_eq!(h.iter().next_back(), Some(("x-dup", "3")));
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
        for wrong in [
            r#"{"a":"b"}"#,
            r#"[["a"]]"#,
            r#"[["a","b","c"]]"#,
            r#"[["a",1]]"#,
        ] {
            assert!(serde_json::from_str::<Headers>(wrong).is_err(), "{wrong}");
        }
    }
}
