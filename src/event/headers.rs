//! An event's headers: a list of `(name, value)` pairs, duplicates kept; lookups ignore case.
//!
//! What is kept depends on where the event came from. `listen` gets its headers from hyper,
//! which lower-cases every name and groups repeated names: the values of one name sit
//! together, in the order they arrived, but how different names interleaved on the wire is
//! lost. A value that is not UTF-8 keeps its exact bytes, which replay sends back; its text
//! has U+FFFD for the bytes that are not text. `send` keeps its headers as the sample, flow or
//! `-H` spelled them, and `replay` as the capture line lists them. In JSON they are a list of
//! `[name, value]` pairs, `[name, value, base64 of the bytes]` for a value that is not UTF-8.

use std::fmt;

use base64::Engine as _;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Headers(Vec<Header>);

/// One header. A value that is not UTF-8 keeps its exact bytes in `raw`; `value` then holds
/// them with U+FFFD for what is not text, for display, lookups and signature checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    name: String,
    value: String,
    raw: Option<Vec<u8>>,
}

/// The headers in order, as `(name, value)`.
pub type Iter<'a> = std::iter::Map<std::slice::Iter<'a, Header>, fn(&Header) -> (&str, &str)>;

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
        self.0.push(Header {
            name: name.to_owned(),
            value: value.to_owned(),
            raw: None,
        });
    }

    /// Adds `name: value` for a value that arrived as bytes: kept exactly when it is not UTF-8.
    pub fn push_bytes(&mut self, name: &str, value: &[u8]) {
        match std::str::from_utf8(value) {
            Ok(text) => self.push(name, text),
            Err(_) => self.0.push(Header {
                name: name.to_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
                raw: Some(value.to_vec()),
            }),
        }
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

    /// The headers in order with each value's exact bytes: what goes on the wire.
    pub fn iter_bytes(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|h| {
            let bytes = h.raw.as_deref().unwrap_or(h.value.as_bytes());
            (h.name.as_str(), bytes)
        })
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
        self.0.retain(|h| !h.name.eq_ignore_ascii_case(name));
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

fn as_strs(h: &Header) -> (&str, &str) {
    (&h.name, &h.value)
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a str);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// `[name, value]`, or `[name, value, base64 of the exact bytes]` for a value that is not
/// UTF-8.
impl Serialize for Header {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let len = if self.raw.is_some() { 3 } else { 2 };
        let mut tuple = serializer.serialize_tuple(len)?;
        tuple.serialize_element(&self.name)?;
        tuple.serialize_element(&self.value)?;
        if let Some(raw) = &self.raw {
            tuple.serialize_element(&base64::engine::general_purpose::STANDARD.encode(raw))?;
        }
        tuple.end()
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Header, D::Error> {
        struct Pair;

        impl<'de> Visitor<'de> for Pair {
            type Value = Header;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [name, value] pair")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Header, A::Error> {
                let name: String = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let value: String = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let raw = match seq.next_element::<String>()? {
                    Some(b64) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|e| A::Error::custom(format!("header {name:?}: {e}")))?,
                    ),
                    None => None,
                };
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(4, &self));
                }
                Ok(Header { name, value, raw })
            }
        }

        deserializer.deserialize_seq(Pair)
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

    #[test]
    fn bytes_that_are_not_utf8_are_kept_exactly() {
        let mut h = Headers::new();
        h.push_bytes("x-bin", b"a\xffb");
        h.push_bytes("x-text", "caf\u{e9}".as_bytes());
        assert_eq!(h.get("x-bin"), Some("a\u{fffd}b"));
        let bytes: Vec<_> = h.iter_bytes().collect();
        assert_eq!(
            bytes,
            [
                ("x-bin", &b"a\xffb"[..]),
                ("x-text", "caf\u{e9}".as_bytes())
            ]
        );
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            json,
            "[[\"x-bin\",\"a\u{fffd}b\",\"Yf9i\"],[\"x-text\",\"caf\u{e9}\"]]"
        );
        assert_eq!(serde_json::from_str::<Headers>(&json).unwrap(), h);
        for bad in [
            r#"[["a"]]"#,
            r#"[["a","b","!!"]]"#,
            r#"[["a","b","Yg==","x"]]"#,
        ] {
            assert!(serde_json::from_str::<Headers>(bad).is_err(), "{bad}");
        }
    }
}
