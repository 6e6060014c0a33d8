//! smee's format: each `message` event's data is one JSON object holding every request header
//! as a top-level key (lower-case names), plus `body` (the body as smee's server parsed it),
//! `query` (an object of the query parameters) and `timestamp` (ms since the epoch). smee.io
//! relays only POSTs to the channel's own path.
//!
//! The request is rebuilt from it:
//! - headers: every other key, in order; an array value gives one header per element. The
//!   `content-length` smee saw is dropped: it measured a body that no longer exists.
//! - query: the parameters, form-encoded.
//! - body: the exact text of the `body` value as smee sent it (taken with
//!   [`serde_json::value::RawValue`], never parsed and re-serialised a second time); a JSON
//!   string under a content type that is not JSON is the body's text itself (how `hookctl
//!   serve` relays non-JSON bodies in smee's format); an object under
//!   `application/x-www-form-urlencoded` is form-encoded again; no body (or `null`) is empty.
//!
//! smee.io's server parses JSON bodies and `JSON.stringify`s them again, so spacing, escapes
//! and number spellings may differ from what the provider signed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::event::{Event, Headers};

/// Keys of a smee message that are not headers.
const NOT_HEADERS: &[&str] = &["body", "query", "timestamp"];

/// Rebuilds the request a smee `message` event describes.
pub fn decode(data: &str) -> Result<Event, String> {
    #[derive(Deserialize)]
    struct Body<'a> {
        #[serde(borrow, default)]
        body: Option<&'a RawValue>,
    }
    let fields: Map<String, Value> = serde_json::from_str(data)
        .map_err(|e| format!("not a smee message (a JSON object): {e}"))?;
    let raw_body = serde_json::from_str::<Body>(data)
        .map_err(|e| format!("not a smee message: {e}"))?
        .body;
    let mut headers = Headers::with_capacity(fields.len());
    for (name, value) in &fields {
        if NOT_HEADERS.contains(&name.as_str())
            || name.eq_ignore_ascii_case("content-length")
            || http::HeaderName::from_bytes(name.as_bytes()).is_err()
        {
            continue;
        }
        match value {
            Value::Array(values) => {
                for v in values {
                    headers.push(name, &text_of(v));
                }
            }
            v => headers.push(name, &text_of(v)),
        }
    }
    let content_type = headers
        .get("content-type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = body_bytes(raw_body, fields.get("body"), &content_type);
    let query = fields.get("query").and_then(query_string);
    let received_at = fields
        .get("timestamp")
        .and_then(Value::as_u64)
        .map_or_else(SystemTime::now, |ms| UNIX_EPOCH + Duration::from_millis(ms));
    Ok(Event::from_parts(
        "POST",
        "/",
        query,
        headers,
        body,
        received_at,
    ))
}

/// A header or query value as text: strings as they are, anything else as its JSON.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn body_bytes(raw: Option<&RawValue>, parsed: Option<&Value>, content_type: &str) -> Bytes {
    let Some(raw) = raw else {
        return Bytes::new();
    };
    let is_json = content_type.contains("json");
    match parsed {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if !is_json => Bytes::from(text.clone()),
        Some(Value::Object(fields))
            if content_type.starts_with("application/x-www-form-urlencoded") =>
        {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields {
                form.append_pair(k, &text_of(v));
            }
            Bytes::from(form.finish())
        }
        Some(_) => Bytes::from(raw.get().to_owned()),
    }
}

/// The query object as a query string; `None` when there are no parameters.
fn query_string(query: &Value) -> Option<String> {
    let Value::Object(params) = query else {
        return None;
    };
    if params.is_empty() {
        return None;
    }
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        match v {
            Value::Array(values) => {
                for v in values {
                    form.append_pair(k, &text_of(v));
                }
            }
            v => {
                form.append_pair(k, &text_of(v));
            }
        }
    }
    Some(form.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_query_and_the_exact_body_text_are_rebuilt() {
        // The body's text as smee sent it: spacing, escapes and number spellings kept.
        let data = r#"{"host":"smee.io","content-type":"application/json","x-hub-signature-256":"sha256=ab","content-length":"99","x-github-event":"push","set-cookie":["a=1","b=2"],"body":{"n": 1.0e2, "s":"\u00e9", "big": 12345678901234567890123},"query":{"a":"1","b":["x","y z"]},"timestamp":1765000000123}"#;
        let event = decode(data).unwrap();
        assert_eq!(event.method, "POST");
        assert_eq!(event.path, "/");
        assert_eq!(
            &event.body[..],
            br#"{"n": 1.0e2, "s":"\u00e9", "big": 12345678901234567890123}"#
        );
        assert_eq!(event.query.as_deref(), Some("a=1&b=x&b=y+z"));
        assert_eq!(event.header("x-hub-signature-256"), Some("sha256=ab"));
        assert_eq!(event.header("content-length"), None);
        let cookies: Vec<&str> = event.headers.get_all("set-cookie").collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(event.event_type.as_deref(), Some("push"));
        assert_eq!(
            event.received_at,
            UNIX_EPOCH + Duration::from_millis(1_765_000_000_123)
        );
        let names: Vec<&str> = event.headers.iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "host",
                "content-type",
                "x-hub-signature-256",
                "x-github-event",
                "set-cookie",
                "set-cookie"
            ]
        );
    }

    #[test]
    fn text_form_and_missing_bodies() {
        let text = decode(r#"{"content-type":"text/plain","body":"a \"b\"\n"}"#).unwrap();
        assert_eq!(&text.body[..], b"a \"b\"\n");
        // A JSON string body stays JSON text.
        let json = decode(r#"{"content-type":"application/json","body":"x"}"#).unwrap();
        assert_eq!(&json.body[..], b"\"x\"");
        let form = decode(
            r#"{"content-type":"application/x-www-form-urlencoded","body":{"payload":"{\"a\":1}","n":"x y"}}"#,
        )
        .unwrap();
        assert_eq!(&form.body[..], b"payload=%7B%22a%22%3A1%7D&n=x+y");
        assert!(decode(r#"{"body":null}"#).unwrap().body.is_empty());
        assert!(decode(r#"{"x-a":"1"}"#).unwrap().body.is_empty());
        assert_eq!(decode(r#"{"x-a":"1"}"#).unwrap().query, None);
    }

    #[test]
    fn what_is_not_a_smee_message_says_so() {
        assert!(decode("[]").unwrap_err().contains("not a smee message"));
        assert!(decode("{}x").unwrap_err().contains("not a smee message"));
        // A key that cannot be a header name is left out, not fatal.
        let event = decode(r#"{"bad name":"1","ok":"2"}"#).unwrap();
        assert_eq!(event.headers.len(), 1);
    }
}
