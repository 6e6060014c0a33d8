//! The event model: one webhook delivery, and its one-line JSON (capture) form.
//!
//! `listen` builds an [`Event`] from a request, `send` builds one from a sample or a body,
//! `replay` reads one from a capture line, and every capture file and `--json` stream stores
//! the same shape. The body is kept as the exact bytes that arrived and is never re-serialised.

use std::borrow::Cow;
use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

mod fast_read;
mod headers;
mod json_str;
pub mod jsonpath;
mod probe;
mod rfc3339;

pub use headers::Headers;
pub use json_str::write_str as write_json_str;
pub(crate) use rfc3339::civil_from_days;

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
    /// Every header in arrival order, duplicates kept.
    pub headers: Headers,
    pub body: Bytes,
    /// Notes that handlers add: how listen answered, verification, forwarding, last error.
    pub notes: Notes,
}

/// Optional facts recorded next to an event in a capture line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notes {
    /// The HTTP status `listen` answered this delivery with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The outcome of signature verification (`listen --verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
    /// The outcome of forwarding to the app (`listen --forward-to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<ForwardNote>,
    /// The last error, for events written to a dead-letter file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Notes {
    /// Appends `,"field":value` for each note that is set, in declaration order.
    fn write_fields(&self, out: &mut Vec<u8>) {
        if let Some(status) = self.status {
            out.extend_from_slice(b",\"status\":");
            out.extend_from_slice(itoa::Buffer::new().format(status).as_bytes());
        }
        // Serialising plain strings, numbers and bools into a Vec cannot fail.
        if let Some(verified) = &self.verified {
            out.extend_from_slice(b",\"verified\":");
            serde_json::to_writer(&mut *out, verified).expect("serialising a note");
        }
        if let Some(forward) = &self.forward {
            out.extend_from_slice(b",\"forward\":");
            serde_json::to_writer(&mut *out, forward).expect("serialising a note");
        }
        if let Some(error) = &self.error {
            out.extend_from_slice(b",\"error\":");
            json_str::write_str(out, error);
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
/// Headers that carry the event id, in the order they are consulted; then the body's `id`.
pub const ID_HEADERS: &[&str] = &["webhook-id", "svix-id", "x-github-delivery", "ce-id"];

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
        let mut id = ID_HEADERS
            .iter()
            .find_map(|h| self.header(h))
            .map(str::to_owned);
        let mut event_type = TYPE_HEADERS
            .iter()
            .find_map(|h| self.header(h))
            .map(str::to_owned);
        if id.is_none() || event_type.is_none() {
            let mut probe = probe::BodyNames::read(&self.body);
            if id.is_none() {
                id = probe.id.take();
            }
            if event_type.is_none() {
                event_type = probe.event_type();
            }
        }
        (id, event_type)
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
        let mut out = Vec::with_capacity(24);
        rfc3339::write_millis(&mut out, self.received_at);
        String::from_utf8(out).expect("digits and punctuation are UTF-8")
    }

    /// Appends the capture line for this event, with its trailing newline, to `out`. It is
    /// written by hand, straight into `out`, because it is on every delivery's path; the
    /// field order and escaping are exactly what serialising a record with serde_json gives.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        out.reserve(self.body.len() + 256);
        out.extend_from_slice(b"{\"v\":");
        out.extend_from_slice(itoa::Buffer::new().format(FORMAT_VERSION).as_bytes());
        out.extend_from_slice(b",\"kind\":\"event\",\"id\":");
        json_str::write_str(out, &self.id);
        out.extend_from_slice(b",\"type\":");
        match &self.event_type {
            Some(t) => json_str::write_str(out, t),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"received_at\":\"");
        rfc3339::write_millis(out, self.received_at);
        out.extend_from_slice(b"\",\"method\":");
        json_str::write_str(out, &self.method);
        out.extend_from_slice(b",\"path\":");
        json_str::write_str(out, &self.path);
        if let Some(query) = &self.query {
            out.extend_from_slice(b",\"query\":");
            json_str::write_str(out, query);
        }
        out.extend_from_slice(b",\"headers\":[");
        for (i, (name, value)) in self.headers.iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"[" } else { b",[" });
            json_str::write_str(out, name);
            out.push(b',');
            json_str::write_str(out, value);
            out.push(b']');
        }
        out.push(b']');
        match self.body_text() {
            Some(text) => {
                out.extend_from_slice(b",\"body\":");
                json_str::write_str(out, text);
            }
            None => {
                out.extend_from_slice(b",\"body_base64\":\"");
                let engine = &base64::engine::general_purpose::STANDARD;
                let start = out.len();
                out.resize(
                    start + base64::encoded_len(self.body.len(), true).unwrap_or(0),
                    0,
                );
                let written = engine
                    .encode_slice(&self.body, &mut out[start..])
                    .unwrap_or(0);
                out.truncate(start + written);
                out.push(b'"');
            }
        }
        self.notes.write_fields(out);
        out.extend_from_slice(b"}\n");
    }

    /// The capture line for this event, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        let mut out = Vec::with_capacity(self.body.len() + 256);
        self.write_json_line(&mut out);
        out.pop();
        String::from_utf8(out).expect("the line is made of UTF-8 text and ASCII")
    }

    /// Reads one capture line. Unknown fields are ignored. Returns `Ok(None)` for records of
    /// another kind (`ready`, `result`, `summary`), so a `--json` stream can be replayed.
    pub fn from_json_line(line: &[u8]) -> Result<Option<Event>, String> {
        let record: RecordIn<'_> = match fast_read::read(line) {
            Some(record) => record,
            None => serde_json::from_slice(line).map_err(|e| describe_json_error(&e))?,
        };
        if let Some(v) = record.v {
            if v != u64::from(FORMAT_VERSION) {
                return Err(format!(
                    "unsupported capture format version {v} (this hookctl reads version {FORMAT_VERSION})"
                ));
            }
        }
        if let Some(kind) = record.kind.as_deref() {
            if kind != "event" {
                return Ok(None);
            }
        }
        let body = match (record.body, record.body_base64) {
            (Some(_), Some(_)) => return Err("has both `body` and `body_base64`; keep one".into()),
            (Some(text), None) => Bytes::from(text.into_owned()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map(Bytes::from)
                .map_err(|e| format!("`body_base64` is not valid base64: {e}"))?,
            (None, None) => Bytes::new(),
        };
        let received_at = match record.received_at {
            Some(text) => humantime::parse_rfc3339_weak(&text)
                .map_err(|e| format!("`received_at` is not an RFC 3339 time ({text:?}): {e}"))?,
            None => SystemTime::now(),
        };
        let method = record
            .method
            .map(Cow::into_owned)
            .unwrap_or_else(|| "POST".into());
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("`method` {method:?} is not an HTTP method"));
        }
        let path = record
            .path
            .map(Cow::into_owned)
            .unwrap_or_else(|| "/".into());
        if !path.starts_with('/') {
            return Err(format!("`path` {path:?} must start with '/'"));
        }
        let mut event = Event {
            id: record.id.map(Cow::into_owned).unwrap_or_default(),
            event_type: record.event_type.clone().flatten().map(Cow::into_owned),
            received_at,
            method,
            path,
            query: record.query.map(Cow::into_owned).filter(|q| !q.is_empty()),
            headers: record.headers,
            body,
            notes: Notes {
                status: record.status,
                verified: record.verified,
                forward: record.forward,
                error: record.error,
            },
        };
        // Capture lines carry their id and type; only hand-written ones need deriving, which
        // parses the body, so skip it when both are there.
        if event.id.is_empty() || record.event_type.is_none() {
            let (id, event_type) = event.derive_identity();
            if event.id.is_empty() {
                event.id = id.unwrap_or_else(generate_id);
            }
            if record.event_type.is_none() {
                event.event_type = event_type;
            }
        }
        Ok(Some(event))
    }
}

/// A fresh event id: `evt_` and 24 random alphanumerics.
pub fn generate_id() -> String {
    let mut id = String::with_capacity(28);
    id.push_str("evt_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(24));
    id
}

/// Turns serde_json's message into one that reads well after `file:line: `.
fn describe_json_error(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; every capture record is one line.
    let msg = match msg.rfind(" at line ") {
        Some(at) => format!("{} at column {}", &msg[..at], e.column()),
        None => msg,
    };
    match e.classify() {
        serde_json::error::Category::Data => format!("not a capture record: {msg}"),
        _ => format!("invalid JSON: {msg}"),
    }
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(Debug, PartialEq))]
struct RecordIn<'a> {
    #[serde(default)]
    v: Option<u64>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type", deserialize_with = "present")]
    event_type: Option<Option<Cow<'a, str>>>,
    #[serde(borrow, default)]
    received_at: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    path: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    query: Option<Cow<'a, str>>,
    #[serde(default)]
    headers: Headers,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    body_base64: Option<Cow<'a, str>>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    verified: Option<Verified>,
    #[serde(default)]
    forward: Option<ForwardNote>,
    #[serde(default)]
    error: Option<String>,
}

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(headers: &[(&str, &str)], body: &str) -> Event {
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
    fn id_comes_from_headers_then_body_then_is_generated() {
        let e = event(&[("svix-id", "msg_1")], r#"{"id":"evt_body"}"#);
        assert_eq!(e.id, "msg_1");
        let e = event(&[], r#"{"id":"evt_body"}"#);
        assert_eq!(e.id, "evt_body");
        let e = event(&[], "not json");
        assert!(e.id.starts_with("evt_") && e.id.len() == 28);
    }

    #[test]
    fn json_line_round_trips_text_and_binary_bodies() {
        for body in [
            &b"{\n  \"a\": 1\n}"[..],
            b"\xff\x00binary",
            b"",
            "h\u{e9}llo \u{202e}".as_bytes(),
        ] {
            let mut e = event(&[("content-type", "x"), ("x-dup", "1"), ("x-dup", "2")], "");
            e.body = Bytes::copy_from_slice(body);
            e.query = Some("a=1&b=2".into());
            e.notes.status = Some(503);
            let line = e.to_json_line();
            assert!(!line.contains('\n'));
            let back = Event::from_json_line(line.as_bytes()).unwrap().unwrap();
            assert_eq!(back, e);
        }
    }

    /// The serde-derived record the hand-written line must match byte for byte.
    #[derive(Serialize)]
    struct Reference<'a> {
        v: u32,
        kind: &'static str,
        id: &'a str,
        #[serde(rename = "type")]
        event_type: Option<&'a str>,
        received_at: String,
        method: &'a str,
        path: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        query: Option<&'a str>,
        headers: &'a Headers,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body_base64: Option<String>,
        #[serde(flatten)]
        notes: &'a Notes,
    }

    fn reference_line(e: &Event) -> String {
        let text = e.body_text();
        serde_json::to_string(&Reference {
            v: FORMAT_VERSION,
            kind: "event",
            id: &e.id,
            event_type: e.event_type.as_deref(),
            received_at: e.received_at_rfc3339(),
            method: &e.method,
            path: &e.path,
            query: e.query.as_deref(),
            headers: &e.headers,
            body: text,
            body_base64: text
                .is_none()
                .then(|| base64::engine::general_purpose::STANDARD.encode(&e.body)),
            notes: &e.notes,
        })
        .unwrap()
    }

    #[test]
    fn json_line_is_what_serde_json_writes() {
        let mut e = event(
            &[
                ("Content-Type", "application/json"),
                ("x-q", "a\"b\\c\u{1}"),
            ],
            r#"{"id":"evt_\"1","type":"a.b","nested":{"s":"line\nbreak"}}"#,
        );
        e.received_at =
            SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(e.to_json_line(), reference_line(&e));
        e.event_type = None;
        e.query = Some("x=\"1\"".into());
        e.body = Bytes::from_static(b"\xff\xfe\x00bin");
        e.notes = Notes {
            status: Some(200),
            verified: Some(Verified {
                ok: false,
                scheme: "stripe".into(),
                reason: "no \"match\"".into(),
            }),
            forward: Some(ForwardNote {
                url: "http://127.0.0.1:1/x".into(),
                status: None,
                latency_ms: 1.5,
                attempts: 2,
                error: Some("refused".into()),
            }),
            error: Some("last\terror".into()),
        };
        assert_eq!(e.to_json_line(), reference_line(&e));
        e.headers.clear();
        e.body = Bytes::new();
        assert_eq!(e.to_json_line(), reference_line(&e));
    }

    #[test]
    fn reader_is_lenient_but_reports_bad_lines() {
        let e = Event::from_json_line(br#"{"body":"{}","future_field":1}"#)
            .unwrap()
            .unwrap();
        assert_eq!(e.method, "POST");
        assert!(Event::from_json_line(br#"{"kind":"ready","url":"x"}"#)
            .unwrap()
            .is_none());
        let err = Event::from_json_line(b"{oops").unwrap_err();
        assert!(
            err.starts_with("invalid JSON: key must be a string at column 2"),
            "{err}"
        );
        let err = Event::from_json_line(br#"{"v":2}"#).unwrap_err();
        assert!(err.contains("version 2"), "{err}");
        let err = Event::from_json_line(br#"{"headers":5}"#).unwrap_err();
        assert!(err.starts_with("not a capture record"), "{err}");
    }
}
