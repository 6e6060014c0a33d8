//! The capture record: one [`Event`] as one line of JSON, written and read through the one
//! serde type [`Record`], so the field order and spelling live in one place.
//!
//! Written, a line is `v`, `kind`, `id`, `type`, `received_at`, `method`, `path`, `query`
//! (when there is one), `headers` as `[[name, value], ...]`, then `body` (when it is UTF-8
//! text) or `body_base64`, then the notes that are set: `status`, `verified`, `forward`,
//! `error`, `edited_from` (the id of the event it was edited from in the web inspector).
//! Read, every field may be missing, in any order, and unknown ones are ignored.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Event, ForwardNote, Headers, Notes, RouteNote, Verified, FORMAT_VERSION};

/// One capture line. Text fields borrow from the event being written, or from the line being
/// read when it holds no escapes.
#[derive(Serialize, Deserialize)]
pub(super) struct Record<'a> {
    #[serde(default = "format_version")]
    v: u32,
    #[serde(borrow, default = "event_kind")]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    /// `Some(None)` is `"type":null`, which a reader takes as "no type"; `None` (only when
    /// reading) means the field is missing, so the type is derived.
    #[serde(borrow, default, rename = "type", deserialize_with = "present")]
    event_type: Option<Option<Cow<'a, str>>>,
    #[serde(borrow, default)]
    received_at: Option<Cow<'a, str>>,
    #[serde(borrow, default = "post")]
    method: Cow<'a, str>,
    #[serde(borrow, default = "root")]
    path: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    query: Option<Cow<'a, str>>,
    #[serde(default)]
    headers: Cow<'a, Headers>,
    /// Written by [`Record::write`] through [`LineFormatter`], which escapes it with SIMD.
    #[serde(
        borrow,
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "body_text"
    )]
    body: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    body_base64: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verified: Option<Cow<'a, Verified>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forward: Option<Cow<'a, ForwardNote>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
    /// Per-route outcomes (`listen --route`); lines written before routes have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    routes: Option<Cow<'a, [RouteNote]>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    edited_from: Option<Cow<'a, str>>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

fn event_kind() -> Cow<'static, str> {
    Cow::Borrowed("event")
}

fn post() -> Cow<'static, str> {
    Cow::Borrowed("POST")
}

fn root() -> Cow<'static, str> {
    Cow::Borrowed("/")
}

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The last millisecond RFC 3339 (and so a capture line) can hold: the end of year 9999.
const LAST: Duration = Duration::from_millis(253_402_300_799_999);

/// `at` as RFC 3339 in UTC with milliseconds (`2026-11-29T01:40:13.662Z`); times before 1970
/// or after 9999 are clamped to those ends.
pub(super) fn rfc3339_millis(at: SystemTime) -> String {
    let at = at.clamp(UNIX_EPOCH, UNIX_EPOCH + LAST);
    humantime::format_rfc3339_millis(at).to_string()
}

/// Hands the body to [`LineFormatter::write_byte_array`] as bytes, the one serde_json hook
/// that reaches the formatter with a whole value: no other field of a record is bytes.
fn body_text<S: serde::Serializer>(body: &Option<Cow<'_, str>>, s: S) -> Result<S::Ok, S::Error> {
    match body {
        Some(text) => s.serialize_bytes(text.as_bytes()),
        None => s.serialize_none(),
    }
}

/// serde_json's compact output, except that the body (the only bytes a record serialises,
/// always UTF-8 text) is written as a JSON string escaped by `json_escape_simd`, byte for byte
/// what serde_json writes. serde_json escapes a byte at a time: for the bench body (511
/// bytes, 110 quotes) that was 12.5k of the 36.5k instructions `listen --capture --quiet`
/// took per request; with the SIMD escaper the whole figure is 32.0k, 12% less
/// (`bench/count-instructions.sh`, dist build with jemalloc, 2026-12-06).
struct LineFormatter;

impl serde_json::ser::Formatter for LineFormatter {
    fn write_byte_array<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        value: &[u8],
    ) -> std::io::Result<()> {
        // Only `body_text` serialises bytes, and they come from a `str`.
        let text = std::str::from_utf8(value).map_err(std::io::Error::other)?;
        let mut escaped = Vec::with_capacity(text.len() + text.len() / 8 + 2);
        json_escape_simd::escape_into(text, &mut escaped);
        writer.write_all(&escaped)
    }
}

impl<'a> Record<'a> {
    /// Appends the record as one line of JSON (without the newline).
    pub(super) fn write(&self, out: &mut Vec<u8>) {
        let mut serializer = serde_json::Serializer::with_formatter(out, LineFormatter);
        // Serialising strings, numbers and bools into a Vec cannot fail.
        self.serialize(&mut serializer)
            .expect("serialising a record");
    }

    /// The record of `event`, borrowing every text field from it.
    pub(super) fn of(event: &'a Event) -> Record<'a> {
        let text = event.body_text();
        let notes = &event.notes;
        Record {
            v: FORMAT_VERSION,
            kind: event_kind(),
            id: Cow::Borrowed(&event.id),
            event_type: Some(event.event_type.as_deref().map(Cow::Borrowed)),
            received_at: Some(Cow::Owned(rfc3339_millis(event.received_at))),
            method: Cow::Borrowed(&event.method),
            path: Cow::Borrowed(&event.path),
            query: event.query.as_deref().map(Cow::Borrowed),
            headers: Cow::Borrowed(&event.headers),
            body: text.map(Cow::Borrowed),
            body_base64: text
                .is_none()
                .then(|| Cow::Owned(base64::engine::general_purpose::STANDARD.encode(&event.body))),
            status: notes.status,
            verified: notes.verified.as_ref().map(Cow::Borrowed),
            forward: notes.forward.as_ref().map(Cow::Borrowed),
            error: notes.error.as_deref().map(Cow::Borrowed),
            routes: notes.routes.as_deref().map(Cow::Borrowed),
            edited_from: notes.edited_from.as_deref().map(Cow::Borrowed),
        }
    }

    /// Reads a record from one line, wording errors to follow `file:line: `. The line must be
    /// one JSON object: an array, which serde would read field by field, is refused.
    pub(super) fn read(line: &'a [u8]) -> Result<Record<'a>, RecordError> {
        if line.first() != Some(&b'{') {
            return Err(RecordError::NotAnObject);
        }
        serde_json::from_slice(line).map_err(|e| RecordError::from_json(&e))
    }

    /// Checks the record and makes it an event; `Ok(None)` for records of another kind
    /// (`ready`, `result`, `summary`), so a `--json` stream can be replayed. An id or type that
    /// is missing is derived as for a request.
    pub(super) fn into_event(self) -> Result<Option<Event>, RecordError> {
        if self.v != FORMAT_VERSION {
            return Err(RecordError::Version(self.v));
        }
        if self.kind != "event" {
            return Ok(None);
        }
        let body = match (self.body, self.body_base64) {
            (Some(_), Some(_)) => return Err(RecordError::TwoBodies),
            (Some(text), None) => Bytes::from(text.into_owned()),
            (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map(Bytes::from)
                .map_err(|e| RecordError::Base64(e.to_string()))?,
            (None, None) => Bytes::new(),
        };
        let received_at = match self.received_at {
            Some(text) => {
                parse_rfc3339(&text).ok_or_else(|| RecordError::Time(text.into_owned()))?
            }
            None => SystemTime::now(),
        };
        let method = self.method.into_owned();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(RecordError::Method(method));
        }
        let path = self.path.into_owned();
        if !path.starts_with('/') {
            return Err(RecordError::Path(path));
        }
        let type_missing = self.event_type.is_none();
        let mut event = Event {
            id: self.id.into_owned(),
            event_type: self.event_type.flatten().map(Cow::into_owned),
            received_at,
            method,
            path,
            query: self.query.map(Cow::into_owned).filter(|q| !q.is_empty()),
            headers: self.headers.into_owned(),
            body,
            notes: Notes {
                status: self.status,
                verified: self.verified.map(Cow::into_owned),
                forward: self.forward.map(Cow::into_owned),
                error: self.error.map(Cow::into_owned),
                routes: self.routes.map(Cow::into_owned),
                edited_from: self.edited_from.map(Cow::into_owned),
            },
        };
        // Capture lines carry their id and type; only hand-written ones need deriving, which
        // parses the body, so skip it when both are there.
        if event.id.is_empty() || type_missing {
            let (id, event_type) = event.derive_identity();
            if event.id.is_empty() {
                event.id = id.unwrap_or_else(super::generate_id);
            }
            if type_missing {
                event.event_type = event_type;
            }
        }
        Ok(Some(event))
    }
}

/// Why a line is not a capture record; each reads well after `file:line: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("not a capture record: {0}")]
    NotARecord(String),
    #[error("not a capture record: a line must be one JSON object")]
    NotAnObject,
    #[error(
        "unsupported capture format version {0} (this hookctl reads version {FORMAT_VERSION})"
    )]
    Version(u32),
    #[error("has both `body` and `body_base64`; keep one")]
    TwoBodies,
    #[error("`body_base64` is not valid base64: {0}")]
    Base64(String),
    #[error(
        "`received_at` is not an RFC 3339 time ({0:?}); write it like 2026-12-06T05:41:00.123Z"
    )]
    Time(String),
    #[error("`method` {0:?} is not an HTTP method")]
    Method(String),
    #[error("`path` {0:?} must start with '/'")]
    Path(String),
}

impl RecordError {
    /// serde_json's message, pointing at the column: every capture record is one line.
    fn from_json(e: &serde_json::Error) -> RecordError {
        let msg = e.to_string();
        // serde_json appends " at line L column C".
        let msg = match msg.rfind(" at line ") {
            Some(at) => format!("{} at column {}", &msg[..at], e.column()),
            None => msg,
        };
        match e.classify() {
            serde_json::error::Category::Data => RecordError::NotARecord(msg),
            _ => RecordError::Json(msg),
        }
    }
}

/// An RFC 3339 time with any offset (`Z`, `+02:00`, `-05:30`), as the instant it names.
/// humantime reads UTC only, so the offset is taken off first and applied after.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let (local, offset_secs) = match text.strip_suffix(['Z', 'z']) {
        Some(local) => (local, 0i64),
        None => {
            // `±HH:MM` after the seconds (and any fraction).
            let (local, offset) = text.split_at(text.len().checked_sub(6)?);
            let sign = match offset.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = offset[1..].split_once(':')?;
            let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
            if hours > 23 || minutes > 59 || offset[1..3].contains('+') {
                return None;
            }
            (local, sign * (hours * 3600 + minutes * 60))
        }
    };
    let utc = humantime::parse_rfc3339_weak(&format!("{local}Z")).ok()?;
    // Local time minus the offset is UTC.
    let shift = Duration::from_secs(offset_secs.unsigned_abs());
    if offset_secs >= 0 {
        utc.checked_sub(shift)
    } else {
        utc.checked_add(shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::event;

    /// The SIMD escaper writes a body exactly as serde_json would: every ASCII character
    /// (controls with their short or `\u00XX` forms), multi-byte UTF-8, and escapes at every
    /// offset around the 16- and 32-byte blocks it works in.
    #[test]
    fn bodies_are_escaped_byte_for_byte_as_serde_json_escapes_them() {
        let ascii: String = (0u8..0x80).map(char::from).collect();
        let mut bodies = vec![
            String::new(),
            ascii.clone(),
            ascii.repeat(3),
            "é\u{2028}\u{1F600}\"\\\u{7f}".to_owned(),
        ];
        for len in 0..70 {
            for special in ["\"", "\\", "\n", "\u{1}", "é"] {
                bodies.push(format!(
                    "{}{special}{}",
                    "a".repeat(len),
                    "b".repeat(len % 7)
                ));
            }
        }
        for body in bodies {
            let line = event(&[], &body).to_json_line();
            let expected = format!(",\"body\":{}", serde_json::to_string(&body).unwrap());
            assert!(line.contains(&expected), "{body:?} gave {line}");
            let read: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(read["body"], body.as_str());
        }
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

    /// Events whose lines pin the format: escapes in every kind of field, a binary body,
    /// every note, no headers and an empty body.
    fn format_samples() -> Vec<Event> {
        let mut e = event(
            &[
                ("Content-Type", "application/json"),
                ("x-q", "a\"b\\c\u{1}"),
            ],
            r#"{"id":"evt_\"1","type":"a.b","nested":{"s":"line\nbreak"}}"#,
        );
        e.received_at =
            SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let mut samples = vec![e.clone()];
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
            routes: None,
            edited_from: None,
        };
        samples.push(e.clone());
        e.headers.clear();
        e.body = Bytes::new();
        samples.push(e.clone());
        e.notes = Notes::default();
        e.path = "/p\"a\\th".into();
        e.body = Bytes::from(
            "quote \" slash \\ / tab\t nl\n cr\r bs\u{8} ff\u{c} us\u{1f} \u{e9} \u{2603} \u{1f600} \u{7f}",
        );
        samples.push(e);
        samples
    }

    #[test]
    fn json_line_is_the_version_1_format_byte_for_byte() {
        // What the hand-written writer this replaced gave for the same events.
        let expected = [
            r#"{"v":1,"kind":"event","id":"evt_\"1","type":"a.b","received_at":"2023-11-14T22:13:20.123Z","method":"POST","path":"/webhook","headers":[["Content-Type","application/json"],["x-q","a\"b\\c\u0001"]],"body":"{\"id\":\"evt_\\\"1\",\"type\":\"a.b\",\"nested\":{\"s\":\"line\\nbreak\"}}"}"#,
            r#"{"v":1,"kind":"event","id":"evt_\"1","type":null,"received_at":"2023-11-14T22:13:20.123Z","method":"POST","path":"/webhook","query":"x=\"1\"","headers":[["Content-Type","application/json"],["x-q","a\"b\\c\u0001"]],"body_base64":"//4AYmlu","status":200,"verified":{"ok":false,"scheme":"stripe","reason":"no \"match\""},"forward":{"url":"http://127.0.0.1:1/x","latency_ms":1.5,"attempts":2,"error":"refused"},"error":"last\terror"}"#,
            r#"{"v":1,"kind":"event","id":"evt_\"1","type":null,"received_at":"2023-11-14T22:13:20.123Z","method":"POST","path":"/webhook","query":"x=\"1\"","headers":[],"body":"","status":200,"verified":{"ok":false,"scheme":"stripe","reason":"no \"match\""},"forward":{"url":"http://127.0.0.1:1/x","latency_ms":1.5,"attempts":2,"error":"refused"},"error":"last\terror"}"#,
            concat!(
                r#"{"v":1,"kind":"event","id":"evt_\"1","type":null,"received_at":"2023-11-14T22:13:20.123Z","method":"POST","path":"/p\"a\\th","query":"x=\"1\"","headers":[],"body":"quote \" slash \\ / tab\t nl\n cr\r bs\b ff\f us\u001f é ☃ 😀 "#,
                "\u{7f}",
                r#""}"#
            ),
        ];
        for (e, expected) in format_samples().iter().zip(expected) {
            assert_eq!(e.to_json_line(), expected);
            let mut line = Vec::new();
            e.write_json_line(&mut line);
            assert_eq!(line, format!("{expected}\n").as_bytes());
            assert_eq!(Event::from_json_line(&line).unwrap().unwrap(), *e);
        }
    }

    #[test]
    fn edited_from_is_written_when_set_and_lines_without_it_still_read() {
        let mut e = event(&[], "{}");
        e.notes.edited_from = Some("evt_\"orig".into());
        let line = e.to_json_line();
        assert!(line.ends_with(r#","edited_from":"evt_\"orig"}"#), "{line}");
        assert_eq!(Event::from_json_line(line.as_bytes()).unwrap().unwrap(), e);
        e.notes.edited_from = None;
        assert!(!e.to_json_line().contains("edited_from"));
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
        let err = Event::from_json_line(b"{oops").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid JSON: key must be a string at column 2"),
            "{err}"
        );
        let err = Event::from_json_line(br#"{"v":2}"#).unwrap_err();
        assert_eq!(err, RecordError::Version(2));
        let err = Event::from_json_line(br#"{"headers":5}"#).unwrap_err();
        assert!(err.to_string().starts_with("not a capture record"), "{err}");
    }

    #[test]
    fn a_line_must_be_one_json_object() {
        // serde reads a struct from an array field by field: this was a DELETE to /admin.
        let array = br#"[1,"event","x",null,"2026-01-01T00:00:00Z","DELETE","/admin"]"#;
        assert_eq!(
            Event::from_json_line(array).unwrap_err(),
            RecordError::NotAnObject
        );
        assert_eq!(
            Event::from_json_line(b"[]").unwrap_err(),
            RecordError::NotAnObject
        );
        assert_eq!(
            Event::from_json_line(b"42").unwrap_err(),
            RecordError::NotAnObject
        );
        // Invalid UTF-8 anywhere is an error, not a replacement character.
        for line in [&b"{\"body\":\"\xff\"}"[..], b"{\"id\":\"a\",\"x\xfe\":1}"] {
            let err = Event::from_json_line(line).unwrap_err();
            assert!(matches!(err, RecordError::Json(_)), "{err}");
        }
        // A form feed is not JSON whitespace.
        assert!(matches!(
            Event::from_json_line(b"{\"body\":\"x\"}\x0c").unwrap_err(),
            RecordError::Json(_)
        ));
    }

    #[test]
    fn received_at_with_any_offset_is_the_same_instant() {
        let at = |text: &str| {
            let line = format!("{{\"received_at\":\"{text}\",\"body\":\"\"}}");
            Event::from_json_line(line.as_bytes()).map(|e| e.unwrap().received_at)
        };
        let utc = at("2026-12-06T05:41:00.250Z").unwrap();
        assert_eq!(at("2026-12-06T07:41:00.250+02:00").unwrap(), utc);
        assert_eq!(at("2026-12-06T00:11:00.250-05:30").unwrap(), utc);
        assert_eq!(at("2026-12-06T05:41:00.250+00:00").unwrap(), utc);
        let whole = at("2026-12-06T05:41:00Z").unwrap();
        assert_eq!(at("2026-12-06T06:41:00+01:00").unwrap(), whole);
        for bad in [
            "2026-12-06T05:41:00",
            "2026-12-06T05:41:00+2:00",
            "yesterday",
            "2026-12-06T05:41:00+25:00",
        ] {
            assert!(matches!(at(bad), Err(RecordError::Time(_))), "{bad}");
        }
    }

    #[test]
    fn reading_borrows_text_without_escapes() {
        let line = br#"{"id":"e1","method":"PUT","body":"{\"a\":1}","headers":[["x","y"]]}"#;
        let record = Record::read(line).unwrap();
        assert!(matches!(record.id, Cow::Borrowed("e1")));
        assert!(matches!(record.method, Cow::Borrowed("PUT")));
        assert!(matches!(record.body, Some(Cow::Owned(ref b)) if b == r#"{"a":1}"#));
        assert_eq!(record.event_type, None);
        assert_eq!(record.headers.get("X"), Some("y"));
    }

    #[test]
    fn received_at_has_milliseconds_cut_not_rounded_and_is_clamped() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_798_502_413_999_999_999);
        assert_eq!(rfc3339_millis(at), "2026-12-29T00:00:13.999Z");
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(rfc3339_millis(before), "1970-01-01T00:00:00.000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(rfc3339_millis(after), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn route_outcomes_round_trip_and_old_lines_have_none() {
        let mut e = format_samples().remove(0);
        let old = e.to_json_line();
        e.notes.routes = Some(vec![RouteNote {
            name: "pay".into(),
            target: "http://127.0.0.1:1/".into(),
            ok: false,
            status: Some(500),
            latency_ms: 2.5,
            error: Some("answered 500 Internal Server Error".into()),
        }]);
        let line = e.to_json_line();
        assert!(line.ends_with(
            r#","routes":[{"name":"pay","target":"http://127.0.0.1:1/","ok":false,"status":500,"latency_ms":2.5,"error":"answered 500 Internal Server Error"}]}"#
        ), "{line}");
        assert_eq!(Event::from_json_line(line.as_bytes()).unwrap().unwrap(), e);
        let read = Event::from_json_line(old.as_bytes()).unwrap().unwrap();
        assert_eq!(read.notes.routes, None);
    }
}
