//! Reading a capture line in exactly the shape `Event::write_json_line` writes, without
//! serde: field order fixed, no whitespace, no `\u` escapes, no notes besides `status`.
//!
//! `replay` parses every line of a capture: with serde_json that took about 1.3 µs for a
//! typical line, next to about 9 µs for delivering it, and this takes about 0.7 µs. A line in
//! any other shape (hand-written, reordered, or carrying `verified`, `forward` or `error`)
//! gives `None` here and is read by serde instead, which also words every error. Both give
//! the same [`RecordIn`], so every check after reading is shared.

use std::borrow::Cow;

use super::{json_str, Headers, RecordIn};

/// The record in `line`, or `None` when it is not in the written shape.
pub(super) fn read(line: &[u8]) -> Option<RecordIn<'_>> {
    let mut at = Cursor { s: line, i: 0 };
    at.lit(b"{\"v\":1,\"kind\":\"event\",\"id\":")?;
    let id = at.string()?;
    at.lit(b",\"type\":")?;
    let event_type = if at.lit(b"null").is_some() {
        None
    } else {
        Some(at.string()?)
    };
    at.lit(b",\"received_at\":")?;
    let received_at = at.string()?;
    at.lit(b",\"method\":")?;
    let method = at.string()?;
    at.lit(b",\"path\":")?;
    let path = at.string()?;
    let query = match at.lit(b",\"query\":") {
        Some(()) => Some(at.string()?),
        None => None,
    };
    at.lit(b",\"headers\":[")?;
    let mut headers = Headers::with_capacity(8, 256);
    if at.lit(b"]").is_none() {
        loop {
            at.lit(b"[")?;
            let name = at.string()?;
            at.lit(b",")?;
            let value = at.string()?;
            at.lit(b"]")?;
            headers.push(&name, &value);
            if at.lit(b",").is_none() {
                break;
            }
        }
        at.lit(b"]")?;
    }
    let (body, body_base64) = if at.lit(b",\"body\":").is_some() {
        (Some(at.string()?), None)
    } else {
        at.lit(b",\"body_base64\":")?;
        (None, Some(at.string()?))
    };
    let status = match at.lit(b",\"status\":") {
        Some(()) => Some(at.status()?),
        None => None,
    };
    at.lit(b"}")?;
    if at.i != line.len() {
        return None;
    }
    Some(RecordIn {
        v: Some(1),
        kind: Some(Cow::Borrowed("event")),
        id: Some(id),
        event_type: Some(event_type),
        received_at: Some(received_at),
        method: Some(method),
        path: Some(path),
        query,
        headers,
        body,
        body_base64,
        status,
        verified: None,
        forward: None,
        error: None,
    })
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// Steps over `expected` when it comes next.
    fn lit(&mut self, expected: &[u8]) -> Option<()> {
        self.s[self.i..].starts_with(expected).then(|| {
            self.i += expected.len();
        })
    }

    /// A JSON string: borrowed from the line unless it holds escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let (text, end) = json_str::read_str(self.s, self.i)?;
        self.i = end;
        Some(text)
    }

    /// A status code: one to three digits with no leading zero.
    fn status(&mut self) -> Option<u16> {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() || digits.len() > 3 || (digits[0] == b'0' && digits.len() > 1) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use bytes::Bytes;

    use super::*;
    use crate::event::{Event, Notes};

    fn serde_read(line: &[u8]) -> Option<RecordIn<'_>> {
        serde_json::from_slice(line).ok()
    }

    fn line_of(event: &Event) -> Vec<u8> {
        let mut line = Vec::new();
        event.write_json_line(&mut line);
        line.pop();
        line
    }

    fn events() -> Vec<Event> {
        let base = Event {
            id: "evt_1".into(),
            event_type: Some("payment.succeeded".into()),
            received_at: UNIX_EPOCH + Duration::from_millis(1_798_502_413_123),
            method: "POST".into(),
            path: "/hooks".into(),
            query: None,
            headers: [
                ("content-type", "application/json"),
                ("x-dup", "1"),
                ("x-dup", "2"),
            ]
            .into_iter()
            .collect(),
            body: Bytes::from_static(br#"{"id":"evt_1","type":"payment.succeeded"}"#),
            notes: Notes::default(),
        };
        let mut events = vec![base.clone()];
        let mut e = base.clone();
        e.query = Some("a=1&b=%20".into());
        e.event_type = None;
        e.notes.status = Some(202);
        events.push(e);
        let mut e = base.clone();
        e.headers = [("", "")].into_iter().collect();
        e.body = Bytes::new();
        e.method = "GET".into();
        events.push(e);
        let mut e = base.clone();
        e.body = Bytes::from("quote \" slash \\ / tab\t nl\n cr\r bs\u{8} ff\u{c} é ☃ 😀 \u{7f}");
        e.path = "/p\"a\\th".into();
        e.headers.push("x-odd", "v\"a\\l\tue é");
        events.push(e);
        let mut e = base.clone();
        e.headers = Headers::new();
        events.push(e);
        let mut e = base.clone();
        e.body = Bytes::from_static(&[0xff, 0x00, 0x10, b'"']);
        e.notes.status = Some(0);
        events.push(e);
        events
    }

    #[test]
    fn reads_what_write_json_line_writes_as_serde_does() {
        for event in events() {
            let line = line_of(&event);
            let fast = read(&line);
            assert!(fast.is_some(), "{}", String::from_utf8_lossy(&line));
            assert_eq!(fast, serde_read(&line));
            assert_eq!(Event::from_json_line(&line).unwrap().unwrap(), event);
        }
    }

    #[test]
    fn leaves_every_other_shape_to_serde() {
        let cases: &[&str] = &[
            r#"{"v":1,"kind":"event","id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":"\u0001"}"#,
            r#"{"v":1,"kind":"event","id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":"","error":"x"}"#,
            r#"{"v":1,"kind":"event","id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":"","status":007}"#,
            r#"{"kind":"event","v":1,"id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":""}"#,
            r#"{"v":1, "kind":"event","id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":""}"#,
            r#"{"v":1,"kind":"event","id":"a","type":null,"received_at":"2026-01-01T00:00:00.000Z","method":"POST","path":"/","headers":[],"body":""} x"#,
            r#"{"v":1,"kind":"event","id":"a\x","type":null}"#,
            r#"{"v":2,"kind":"event","id":"a"}"#,
            r#"{"v":1,"kind":"ready","id":"a"}"#,
            r#"{"id":"a"}"#,
        ];
        for case in cases {
            assert_eq!(read(case.as_bytes()), None, "{case}");
        }
    }

    #[test]
    fn any_damage_is_either_left_to_serde_or_read_as_serde_reads_it() {
        for event in events() {
            let line = line_of(&event);
            for cut in 0..line.len() {
                let short = &line[..cut];
                if let Some(fast) = read(short) {
                    assert_eq!(Some(fast), serde_read(short), "cut at {cut}");
                }
            }
            for at in 0..line.len() {
                for b in [b'"', b'\\', b'}', b',', b'\n', b'x', b'0', 0xff] {
                    let mut damaged = line.clone();
                    damaged[at] = b;
                    if let Some(fast) = read(&damaged) {
                        assert_eq!(Some(fast), serde_read(&damaged), "{b} at {at}");
                    }
                }
            }
        }
    }
}
