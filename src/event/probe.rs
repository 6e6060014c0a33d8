//! Reading the id and type a JSON body names, on every delivery's path. Only the top-level
//! `id`, `type`, `event` and `event_type` fields matter, so reading stops as soon as `id` and
//! `type` are both known (they usually come first) instead of walking the whole document.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The naming fields found at the top level of a JSON object body.
#[derive(Debug, Default, PartialEq)]
pub struct BodyNames {
    pub id: Option<String>,
    type_: Option<String>,
    event: Option<String>,
    event_type: Option<String>,
}

impl BodyNames {
    /// Reads what a body names. A body that is not a JSON object names nothing; one that
    /// breaks off after its naming fields still names them.
    pub fn read(body: &[u8]) -> BodyNames {
        let mut names = BodyNames::default();
        let starts_an_object = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{');
        if starts_an_object {
            let mut de = serde_json::Deserializer::from_slice(body);
            // Stopping early leaves the rest unread, which serde_json reports as an error:
            // what was found before that point stands.
            let _ = de.deserialize_map(NamesVisitor(&mut names));
        }
        names
    }

    /// The type: `type`, then `event`, then `event_type`.
    pub fn event_type(self) -> Option<String> {
        self.type_.or(self.event).or(self.event_type)
    }
}

struct NamesVisitor<'n>(&'n mut BodyNames);

impl<'de> Visitor<'de> for NamesVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            let slot = match key {
                Key::Id => &mut self.0.id,
                Key::Type => &mut self.0.type_,
                Key::Event => &mut self.0.event,
                Key::EventType => &mut self.0.event_type,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            let Scalar(text) = map.next_value()?;
            if slot.is_none() {
                *slot = text;
            }
            if self.0.id.is_some() && self.0.type_.is_some() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The keys that matter, recognised without allocating.
enum Key {
    Id,
    Type,
    Event,
    EventType,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "id" => Key::Id,
                    "type" => Key::Type,
                    "event" => Key::Event,
                    "event_type" => Key::EventType,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// A JSON string (non-empty) or number as text; other values name nothing.
struct Scalar(Option<String>);

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar((!v.is_empty()).then(|| v.to_owned())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(Some(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(Some(
            serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string()),
        )))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> (Option<String>, Option<String>) {
        let n = BodyNames::read(body.as_bytes());
        (n.id.clone(), n.event_type())
    }

    #[test]
    fn reads_id_and_type_in_priority_order() {
        assert_eq!(
            names(r#"{"id":"e1","type":"t"}"#),
            (Some("e1".into()), Some("t".into()))
        );
        assert_eq!(
            names(r#"{"event_type":"c","event":"b"}"#),
            (None, Some("b".into()))
        );
        assert_eq!(
            names(r#"{"a":{"type":"nested"},"id":7}"#),
            (Some("7".into()), None)
        );
        assert_eq!(
            names(r#"{"type":{"x":1},"event":"e"}"#),
            (None, Some("e".into()))
        );
        assert_eq!(names(r#"{"type":"","id":1.5}"#), (Some("1.5".into()), None));
    }

    #[test]
    fn stops_once_id_and_type_are_known() {
        // The rest is never read, so even a broken tail does not matter.
        assert_eq!(
            names(r#"{"id":"e1","type":"t", oops"#),
            (Some("e1".into()), Some("t".into()))
        );
    }

    #[test]
    fn other_bodies_name_nothing() {
        for body in ["[1,2]", "not json", "", "  \"x\"", "{"] {
            assert_eq!(names(body), (None, None), "{body:?}");
        }
    }
}
