//! The smee.io event shape, for smee-client (npm), pysmee (PyPI) and other smee readers: one
//! JSON object with every request header as a top-level key (lower-case), then `body`,
//! `query` and `timestamp` (ms since the epoch), as smee.io's server sends it.
//!
//! A JSON body is put in as the exact text it arrived as (so a reader that keeps the text,
//! like `listen --source`, gets the provider's bytes; JSON readers see the same value smee.io
//! would give). A form body becomes an object of its fields, an empty body `{}`, any other
//! body a string.

use bytes::Bytes;
use serde_json::Value;

use crate::event::Event;

/// The `data:` lines (each ending in a newline) of the smee event for a stored line; `None`
/// when the line is not an event.
pub fn data_lines(line: &[u8]) -> Option<Bytes> {
    let event = Event::from_json_line(line.strip_suffix(b"\n").unwrap_or(line))
        .ok()
        .flatten()?;
    let json = render(&event);
    let mut out = Vec::with_capacity(json.len() + 16);
    // A JSON body kept as it came may span lines; SSE joins `data:` lines with `\n`, which
    // is JSON whitespace there (a JSON string cannot hold a raw line break).
    for part in json.split(|&b| b == b'\n' || b == b'\r') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(part);
        out.push(b'\n');
    }
    Some(Bytes::from(out))
}

/// The smee JSON object for `event`.
pub fn render(event: &Event) -> Vec<u8> {
    let mut headers = serde_json::Map::new();
    for (name, value) in event.headers.iter_bytes() {
        let name = name.to_ascii_lowercase();
        if matches!(name.as_str(), "body" | "query" | "timestamp") {
            continue;
        }
        let value = String::from_utf8_lossy(value);
        match headers.get_mut(&name) {
            // Node joins a repeated header with ", ", so smee.io sends it that way.
            Some(Value::String(joined)) => {
                joined.push_str(", ");
                joined.push_str(&value);
            }
            _ => {
                headers.insert(name, Value::String(value.into_owned()));
            }
        }
    }
    let mut out = serde_json::to_vec(&Value::Object(headers)).expect("serialising headers");
    out.pop(); // the closing brace
    if out.len() > 1 {
        out.push(b',');
    }
    out.extend_from_slice(b"\"body\":");
    body_json(event, &mut out);
    out.extend_from_slice(b",\"query\":");
    let query: serde_json::Map<String, Value> = form_object(event.query.as_deref().unwrap_or(""));
    serde_json::to_writer(&mut out, &query).expect("serialising the query");
    out.extend_from_slice(b",\"timestamp\":");
    let millis = event
        .received_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    out.extend_from_slice(itoa::Buffer::new().format(millis).as_bytes());
    out.push(b'}');
    out
}

fn body_json(event: &Event, out: &mut Vec<u8>) {
    let body = &event.body;
    if body.iter().all(u8::is_ascii_whitespace) {
        out.extend_from_slice(b"{}");
    } else if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        out.extend_from_slice(body.trim_ascii());
    } else if event.header("content-type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    }) {
        let text = String::from_utf8_lossy(body);
        serde_json::to_writer(&mut *out, &form_object(&text)).expect("serialising a form");
    } else {
        serde_json::to_writer(&mut *out, &String::from_utf8_lossy(body))
            .expect("serialising a body");
    }
}

/// `a=1&b=2&b=3` as `{"a":"1","b":["2","3"]}`, the way Express parses it for smee.io.
fn form_object(text: &str) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(text.as_bytes()) {
        let value = Value::String(value.into_owned());
        match fields.get_mut(key.as_ref()) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => {
                let first = first.take();
                fields.insert(key.into_owned(), Value::Array(vec![first, value]));
            }
            None => {
                fields.insert(key.into_owned(), value);
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Headers;
    use std::time::{Duration, UNIX_EPOCH};

    fn event(headers: &[(&str, &str)], query: Option<&str>, body: &[u8]) -> Event {
        let mut h = Headers::new();
        for (k, v) in headers {
            h.push(k, v);
        }
        Event::from_parts(
            "POST",
            "/",
            query.map(str::to_owned),
            h,
            Bytes::copy_from_slice(body),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        )
    }

    #[test]
    fn headers_are_top_level_keys_and_json_bodies_keep_their_text() {
        let e = event(
            &[
                ("Content-Type", "application/json"),
                ("X-Dup", "1"),
                ("x-dup", "2"),
            ],
            Some("a=1&a=2&b=%20"),
            b"{\n  \"n\": 1.0e2, \"big\": 12345678901234567890123\n}\n",
        );
        let text = String::from_utf8(render(&e)).unwrap();
        assert_eq!(
            text,
            "{\"content-type\":\"application/json\",\"x-dup\":\"1, 2\",\"body\":{\n  \"n\": 1.0e2, \"big\": 12345678901234567890123\n},\"query\":{\"a\":[\"1\",\"2\"],\"b\":\" \"},\"timestamp\":1700000000123}"
        );
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["body"]["n"], 100.0);
        let lines = data_lines(e.to_json_line().as_bytes()).unwrap();
        let lines = std::str::from_utf8(&lines).unwrap();
        assert_eq!(lines.lines().count(), 3);
        assert!(lines.lines().all(|l| l.starts_with("data: ")));
    }

    #[test]
    fn other_bodies_are_objects_or_strings() {
        let form = event(
            &[("content-type", "application/x-www-form-urlencoded")],
            None,
            b"payload=%7B%22a%22%3A1%7D&x=y",
        );
        let v: Value = serde_json::from_slice(&render(&form)).unwrap();
        assert_eq!(v["body"]["payload"], "{\"a\":1}");
        assert_eq!(v["query"], serde_json::json!({}));
        let text = event(&[("content-type", "text/plain")], None, b"hello \"x\"");
        let v: Value = serde_json::from_slice(&render(&text)).unwrap();
        assert_eq!(v["body"], "hello \"x\"");
        let empty = event(&[], None, b"");
        let v: Value = serde_json::from_slice(&render(&empty)).unwrap();
        assert_eq!(v["body"], serde_json::json!({}));
        // A header named like smee's own keys does not replace them.
        let clash = event(&[("body", "x"), ("timestamp", "y")], None, b"[1]");
        let v: Value = serde_json::from_slice(&render(&clash)).unwrap();
        assert_eq!(v["body"], serde_json::json!([1]));
        assert_eq!(v["timestamp"], 1_700_000_000_123u64);
    }
}
