//! The event model: one webhook delivery, and its one-line JSON (capture) form.
//!
//! `listen` builds an [`Event`] from a request, `send` builds one from a sample or a body,
//! `replay` reads one from a capture line, and every capture file and `--json` stream stores
//! the same shape. The body is kept as the exact bytes that arrived and is never re-serialised.

use std::borrow::Cow;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

mod headers;
pub mod jsonpath;
mod record;

pub use headers::Headers;
use record::Record;
pub use record::RecordError;

/// Version of the capture format written in the `v` field.
pub const FORMAT_VERSION: u32 = 1;

/// One webhook delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: Option<String>,
    pub received_at: SystemTime,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Every header, duplicates kept; [`Headers`] says in what order and spelling.
    pub headers: Headers,
    pub body: Bytes,
    /// Notes that handlers add: how listen answered, verification, forwarding, last error.
    pub notes: Notes,
}

/// Optional facts recorded next to an event in a capture line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notes {
    /// The HTTP status `listen` answered this delivery with.
    pub status: Option<u16>,
    /// The outcome of signature verification (`listen --verify`).
    pub verified: Option<Verified>,
    /// The outcome of forwarding to the app (`listen --forward-to`).
    pub forward: Option<ForwardNote>,
    /// The last error, for events written to a dead-letter file.
    pub error: Option<String>,
    /// The outcome of each route the event matched (`listen --route`), in route order.
    pub routes: Option<Vec<RouteNote>>,
    /// The id of the event this one was edited from and resent (the web inspector's edit
    /// and resend).
    pub edited_from: Option<String>,
}

/// One route's outcome stored with an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RouteNote {
    /// The route's name (`pay` in `--route 'pay:type=payment_*' URL`, or its number).
    pub name: String,
    /// Where it went: the URL (without a password), `file:PATH` or `drop`.
    pub target: String,
    /// Durably accepted: an HTTP 2xx, a broker confirm, a written line, or dropped.
    pub ok: bool,
    /// The app's status, for HTTP routes that got an answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RouteNote {
    /// What `--expect route.NAME=…` compares: the HTTP status when there was an answer, else
    /// `ok` or `failed`.
    pub fn result(&self) -> String {
        match self.status {
            Some(status) => status.to_string(),
            None if self.ok => "ok".to_owned(),
            None => "failed".to_owned(),
        }
    }
}

/// Signature verification outcome stored with an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verified {
    pub ok: bool,
    pub scheme: String,
    pub reason: String,
}

/// Forwarding outcome stored with an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardNote {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Headers whose values describe one hop of a connection; they are recomputed on every send
/// and never copied from a capture.
pub const HOP_BY_HOP: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];

/// True when `name` is a hop-by-hop header (case-insensitive).
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Headers that name the event type, in the order they are consulted.
pub const TYPE_HEADERS: &[&str] = &["ce-type", "x-github-event", "x-shopify-topic"];
/// Body fields that name the event type, after the headers.
pub const TYPE_FIELDS: &[&str] = &["type", "event", "event_type"];
/// The header `send` and `replay --new-ids` add when nothing else shows a receiver the id they
/// report (a `--data` body without an `id`, say).
pub const ID_HEADER: &str = "x-hookctl-id";
/// Headers that carry the event id, in the order they are consulted; then the body's `id`.
/// hookctl's own comes first: it is only ever added to say which id hookctl reported.
pub const ID_HEADERS: &[&str] = &[
    ID_HEADER,
    "webhook-id",
    "svix-id",
    "x-github-delivery",
    "ce-id",
];

impl Event {
    /// Builds an event from what a request carries, deriving `id` and `type`.
    pub fn from_parts(
        method: impl Into<String>,
        path: impl Into<String>,
        query: Option<String>,
        headers: Headers,
        body: Bytes,
        received_at: SystemTime,
    ) -> Event {
        let mut event = Event {
            id: String::new(),
            event_type: None,
            received_at,
            method: method.into(),
            path: path.into(),
            query: query.filter(|q| !q.is_empty()),
            headers,
            body,
            notes: Notes::default(),
        };
        let (id, event_type) = event.derive_identity();
        event.id = id.unwrap_or_else(generate_id);
        event.event_type = event_type;
        event
    }

    /// Works out id and type from headers first, then from the body's top-level fields.
    fn derive_identity(&self) -> (Option<String>, Option<String>) {
        let (id, event_type) = self.identity_headers();
        let (mut id, mut event_type) = (id.map(str::to_owned), event_type.map(str::to_owned));
        if id.is_none() || event_type.is_none() {
            let names = BodyNames::read(&self.body);
            if id.is_none() {
                id = names.id;
            }
            if event_type.is_none() {
                event_type = names.type_.or(names.event).or(names.event_type);
            }
        }
        (id, event_type)
    }

    /// The first value of the first-listed [`ID_HEADERS`] and [`TYPE_HEADERS`] name present.
    /// One pass per name, which the compiler specialises for each constant name: in a
    /// stand-alone copy under callgrind (rustc -O, oha's five request headers) this takes 295
    /// instructions, against 506 for one pass over the headers comparing each with every
    /// name, and 262 before `X-Hookctl-Id` joined the id names.
    fn identity_headers(&self) -> (Option<&str>, Option<&str>) {
        (
            ID_HEADERS.iter().find_map(|h| self.header(h)),
            TYPE_HEADERS.iter().find_map(|h| self.header(h)),
        )
    }

    /// The id a receiver derives for this event, from its headers and then its body (as
    /// [`Event::from_parts`] does), or `None` when neither carries one.
    pub fn visible_id(&self) -> Option<String> {
        match self.identity_headers().0 {
            Some(id) => Some(id.to_owned()),
            None => BodyNames::read(&self.body).id,
        }
    }

    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as text when it is valid UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    /// The path with its query string, as it appears in a request line.
    pub fn path_and_query(&self) -> Cow<'_, str> {
        match &self.query {
            Some(q) => Cow::Owned(format!("{}?{}", self.path, q)),
            None => Cow::Borrowed(&self.path),
        }
    }

    /// `received_at` as RFC 3339 in UTC with millisecond precision.
    pub fn received_at_rfc3339(&self) -> String {
        record::rfc3339_millis(self.received_at)
    }

    /// Appends the capture line for this event, with its trailing newline, to `out`.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        out.reserve(self.body.len() + 256);
        Record::of(self).write(out);
        out.push(b'\n');
    }

    /// The capture line for this event, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        let mut line = Vec::with_capacity(self.body.len() + 256);
        Record::of(self).write(&mut line);
        String::from_utf8(line).expect("a record is UTF-8")
    }

    /// Reads one capture line. Unknown fields are ignored. Returns `Ok(None)` for records of
    /// another kind (`ready`, `result`, `summary`), so a `--json` stream can be replayed.
    pub fn from_json_line(line: &[u8]) -> Result<Option<Event>, RecordError> {
        Record::read(line)?.into_event()
    }
}

/// The top-level fields of a JSON object body that name the event.
#[derive(Default)]
struct BodyNames {
    id: Option<String>,
    type_: Option<String>,
    event: Option<String>,
    event_type: Option<String>,
}

/// The keys [`BodyNames`] looks for.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Key {
    Id,
    Type,
    Event,
    EventType,
    #[serde(other)]
    Other,
}

impl BodyNames {
    /// What a body names: nothing unless it is a JSON object. A field may hold any JSON value;
    /// only a non-empty string or a number names anything, and the first one of a key counts.
    fn read(body: &[u8]) -> BodyNames {
        let mut names = BodyNames::default();
        if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            // Stopping early leaves the rest unread, which serde_json reports as an error:
            // what was found before that point stands.
            let mut de = serde_json::Deserializer::from_slice(body);
            let _ = serde::Deserializer::deserialize_map(&mut de, &mut names);
        }
        names
    }
}

/// Reads the object's keys only until `id` and `type` are known (they usually come first),
/// instead of the whole body, which a derived struct would read. Kept by hand for the issue's
/// headline figures: `listen --capture --quiet` takes 35.3k instructions per request this way
/// and 42.2k reading the whole body, pretty output 46.0k against 52.8k (the bench body; see
/// `from_parts` in `benches/capture_record.rs`).
impl<'de> serde::de::Visitor<'de> for &mut BodyNames {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key()? {
            let slot = match key {
                Key::Id => &mut self.id,
                Key::Type => &mut self.type_,
                Key::Event => &mut self.event,
                Key::EventType => &mut self.event_type,
                Key::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    continue;
                }
            };
            let value = map.next_value::<Option<serde_json::Value>>()?;
            if slot.is_none() {
                *slot = value.and_then(name);
            }
            if self.id.is_some() && self.type_.is_some() {
                break;
            }
        }
        Ok(())
    }
}

/// A non-empty string, or a number as its JSON text; other values name nothing.
fn name(value: serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A fresh event id: `evt_` and 24 random alphanumerics.
pub fn generate_id() -> String {
    let mut id = String::with_capacity(28);
    id.push_str("evt_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(24));
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn event(headers: &[(&str, &str)], body: &str) -> Event {
        Event::from_parts(
            "POST",
            "/webhook",
            None,
            headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            Bytes::from(body.to_owned()),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn type_comes_from_headers_before_body() {
        let e = event(&[("X-GitHub-Event", "push")], r#"{"type":"x"}"#);
        assert_eq!(e.event_type.as_deref(), Some("push"));
        let e = event(&[("ce-type", "a"), ("x-shopify-topic", "b")], "");
        assert_eq!(e.event_type.as_deref(), Some("a"));
        let e = event(&[], r#"{"event_type":"c","event":"b"}"#);
        assert_eq!(e.event_type.as_deref(), Some("b"));
        let e = event(&[], r#"[1,2]"#);
        assert_eq!(e.event_type, None);
    }

    #[test]
    fn the_first_listed_header_wins_whatever_the_order_they_came_in() {
        let e = event(
            &[
                ("ce-id", "ce_1"),
                ("X-GitHub-Delivery", "gh_1"),
                ("x-github-event", "push"),
                ("ce-type", "ce.type"),
                ("Webhook-Id", "msg_1"),
                ("webhook-id", "msg_2"),
            ],
            r#"{"id":"evt_body","type":"t"}"#,
        );
        assert_eq!(e.id, "msg_1");
        assert_eq!(e.event_type.as_deref(), Some("ce.type"));
        let e = event(
            &[("webhook-id", "msg_1"), ("X-Hookctl-Id", "evt_sent")],
            "{}",
        );
        assert_eq!(e.id, "evt_sent");
        assert_eq!(e.visible_id().as_deref(), Some("evt_sent"));
        let e = event(&[], r#"{"id":"evt_body"}"#);
        assert_eq!(e.visible_id().as_deref(), Some("evt_body"));
        assert_eq!(event(&[], r#"{"a":1}"#).visible_id(), None);
    }

    #[test]
    fn id_comes_from_headers_then_body_then_is_generated() {
        let e = event(&[("svix-id", "msg_1")], r#"{"id":"evt_body"}"#);
        assert_eq!(e.id, "msg_1");
        let e = event(&[], r#"{"id":"evt_body"}"#);
        assert_eq!(e.id, "evt_body");
        let e = event(&[], "not json");
        assert!(e.id.starts_with("evt_") && e.id.len() == 28);
    }

    fn body_names(body: &str) -> (Option<String>, Option<String>) {
        let mut e = event(&[], "");
        e.body = Bytes::from(body.to_owned());
        e.derive_identity()
    }

    #[test]
    fn body_names_id_and_type_in_priority_order() {
        let some = |s: &str| Some(s.to_owned());
        let cases = [
            (r#"{"id":"e1","type":"t"}"#, (some("e1"), some("t"))),
            (r#"{"event_type":"c","event":"b"}"#, (None, some("b"))),
            (r#"{"a":{"type":"nested"},"id":7}"#, (some("7"), None)),
            (r#"{"type":{"x":1},"event":"e"}"#, (None, some("e"))),
            (r#"{"type":"","id":1.5}"#, (some("1.5"), None)),
            (
                r#"{"type":true,"id":null,"event_type":"c"}"#,
                (None, some("c")),
            ),
            (r#" {"id":-3,"type":["a"]}"#, (some("-3"), None)),
        ];
        for (body, expected) in cases {
            assert_eq!(body_names(body), expected, "{body}");
        }
    }

    #[test]
    fn body_is_read_only_until_id_and_type_are_known() {
        // The rest is never read, so even a broken tail does not matter.
        let broken = r#"{"id":"e1","type":"t", oops"#;
        assert_eq!(body_names(broken), (Some("e1".into()), Some("t".into())));
    }

    #[test]
    fn other_bodies_name_nothing() {
        for body in ["[1,2]", "not json", "", "  \"x\"", "{"] {
            assert_eq!(body_names(body), (None, None), "{body:?}");
        }
    }
}
