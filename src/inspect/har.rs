//! HAR 1.2 (<http://www.softwareishard.com/blog/har-12-spec/>): export events as a HAR log,
//! and read a HAR file's entries as events (`hookctl inspect FILE.har`).
//!
//! An event is an entry whose request is the delivery and whose response is how listen
//! answered (status only; listen's answer body is not recorded). A body that is not UTF-8 is
//! written as base64 in `postData.text` with `"_encoding": "base64"` (a custom field, as HAR
//! allows), and read back the same way.

use std::borrow::Cow;
use std::time::UNIX_EPOCH;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};

use crate::event::{Event, Headers};

/// A HAR log written entry by entry, so an export never holds every event at once.
pub struct Export {
    out: Vec<u8>,
    first: bool,
}

impl Default for Export {
    fn default() -> Export {
        Export::new()
    }
}

impl Export {
    pub fn new() -> Export {
        let creator = json!({ "name": "hookctl", "version": env!("CARGO_PKG_VERSION") });
        let mut out = Vec::with_capacity(64 << 10);
        out.extend_from_slice(b"{\"log\":{\"version\":\"1.2\",\"creator\":");
        out.extend_from_slice(creator.to_string().as_bytes());
        out.extend_from_slice(b",\"entries\":[");
        Export { out, first: true }
    }

    /// Adds one event as an entry; `base` is the origin it was received on.
    pub fn push(&mut self, event: &Event, base: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        // Serialising a JSON value into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.out, &entry(event, base));
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b"]}}");
        self.out
    }
}

/// One HAR entry, serialised straight from these structs (no `Value` maps).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    started_date_time: String,
    time: u8,
    request: HarRequest<'a>,
    response: HarResponse,
    cache: Empty,
    timings: Timings,
    #[serde(rename = "_hookctl")]
    hookctl: Extra<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarRequest<'a> {
    method: &'a str,
    url: String,
    http_version: &'static str,
    cookies: [u8; 0],
    headers: Vec<Pair<'a>>,
    query_string: Vec<Pair<'a>>,
    headers_size: i8,
    body_size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_data: Option<PostData<'a>>,
}

#[derive(Serialize)]
struct Pair<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PostData<'a> {
    mime_type: &'a str,
    params: [u8; 0],
    text: Cow<'a, str>,
    #[serde(rename = "_encoding", skip_serializing_if = "Option::is_none")]
    encoding: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HarResponse {
    status: u16,
    status_text: &'static str,
    http_version: &'static str,
    cookies: [u8; 0],
    headers: [u8; 0],
    content: Content,
    #[serde(rename = "redirectURL")]
    redirect_url: &'static str,
    headers_size: i8,
    body_size: i8,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Content {
    size: u8,
    mime_type: &'static str,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize)]
struct Timings {
    send: u8,
    wait: u8,
    receive: u8,
}

#[derive(Serialize)]
struct Extra<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    edited_from: Option<&'a str>,
}

fn entry<'a>(e: &'a Event, base: &str) -> Entry<'a> {
    let url = format!("{}{}", base.trim_end_matches('/'), e.path_and_query());
    let headers = e
        .headers
        .iter()
        .map(|(name, value)| Pair { name, value })
        .collect();
    let query_string = e
        .query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Pair { name, value }
        })
        .collect();
    let mime_type = e
        .header("content-type")
        .unwrap_or("application/octet-stream");
    let post_data = (!e.body.is_empty() || e.method != "GET").then(|| match e.body_text() {
        Some(text) => PostData {
            mime_type,
            params: [],
            text: Cow::Borrowed(text),
            encoding: None,
        },
        None => PostData {
            mime_type,
            params: [],
            text: Cow::Owned(base64::engine::general_purpose::STANDARD.encode(&e.body)),
            encoding: Some("base64"),
        },
    });
    let status = e.notes.status.unwrap_or(0);
    Entry {
        started_date_time: e.received_at_rfc3339(),
        time: 0,
        request: HarRequest {
            method: &e.method,
            url,
            http_version: "HTTP/1.1",
            cookies: [],
            headers,
            query_string,
            headers_size: -1,
            body_size: e.body.len(),
            post_data,
        },
        response: HarResponse {
            status,
            status_text: http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or(""),
            http_version: "HTTP/1.1",
            cookies: [],
            headers: [],
            content: Content {
                size: 0,
                mime_type: "",
            },
            redirect_url: "",
            headers_size: -1,
            body_size: -1,
        },
        cache: Empty {},
        timings: Timings {
            send: 0,
            wait: 0,
            receive: 0,
        },
        hookctl: Extra {
            id: &e.id,
            event_type: e.event_type.as_deref(),
            edited_from: e.notes.edited_from.as_deref(),
        },
    }
}

/// Why a HAR file cannot be read; each reads well after `FILE: `.
#[derive(Debug, thiserror::Error)]
pub enum HarError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("not a HAR file: no log.entries array")]
    NoEntries,
    #[error("entry {index}: {why}")]
    Entry { index: usize, why: String },
}

/// The events a HAR file's entries describe, oldest first.
pub fn import(bytes: &[u8]) -> Result<Vec<Event>, HarError> {
    let har: Value = serde_json::from_slice(bytes).map_err(|e| HarError::Json(e.to_string()))?;
    let entries = har
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or(HarError::NoEntries)?;
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| read_entry(entry).map_err(|why| HarError::Entry { index: i + 1, why }))
        .collect()
}

fn read_entry(entry: &Value) -> Result<Event, String> {
    let request = entry.get("request").ok_or("no request")?;
    let text = |v: &Value, field: &str| -> Result<String, String> {
        v.get(field)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("request.{field} is missing or not text"))
    };
    let method = text(request, "method")?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!("request.method {method:?} is not an HTTP method"));
    }
    let url = text(request, "url")?;
    let parsed = url::Url::parse(&url).map_err(|e| format!("request.url {url:?}: {e}"))?;
    let mut headers = Headers::new();
    for h in request
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(value)) = (
            h.get("name").and_then(Value::as_str),
            h.get("value").and_then(Value::as_str),
        ) else {
            return Err("a request header has no name or value".into());
        };
        // HTTP/2 pseudo-headers (":authority") are not headers of the request.
        if !name.starts_with(':') {
            headers.push(name, value);
        }
    }
    let body = match request.get("postData") {
        Some(post) => {
            let text = post.get("text").and_then(Value::as_str).unwrap_or_default();
            match post.get("_encoding").and_then(Value::as_str) {
                Some("base64") => Bytes::from(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|e| format!("postData.text is not valid base64: {e}"))?,
                ),
                _ => Bytes::from(text.to_owned()),
            }
        }
        None => Bytes::new(),
    };
    let received_at = entry
        .get("startedDateTime")
        .and_then(Value::as_str)
        .and_then(|t| {
            Event::from_json_line(json!({ "received_at": t }).to_string().as_bytes())
                .ok()
                .flatten()
        })
        .map_or(UNIX_EPOCH, |e| e.received_at);
    let mut event = Event::from_parts(
        method,
        parsed.path().to_owned(),
        parsed.query().map(str::to_owned),
        headers,
        body,
        received_at,
    );
    if let Some(status) = entry
        .pointer("/response/status")
        .and_then(Value::as_u64)
        .filter(|s| (100..=999).contains(s))
    {
        event.notes.status = Some(status as u16);
    }
    if let Some(id) = entry.pointer("/_hookctl/id").and_then(Value::as_str) {
        event.id = id.to_owned();
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn export_then_import_gives_the_same_requests() {
        let mut headers = Headers::new();
        headers.push("content-type", "application/json");
        headers.push("x-dup", "1");
        headers.push("x-dup", "2");
        let mut text = Event::from_parts(
            "POST",
            "/hooks/a",
            Some("x=1&y".into()),
            headers,
            Bytes::from_static(b"{\"id\":\"evt_1\",\"type\":\"a.b\"}"),
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        );
        text.notes.status = Some(202);
        let mut binary = text.clone();
        binary.body = Bytes::from_static(b"\xff\x00");
        binary.id = "bin".into();
        let mut export = Export::new();
        export.push(&text, "http://127.0.0.1:3000");
        export.push(&binary, "http://127.0.0.1:3000");
        let har = export.finish();
        let value: Value = serde_json::from_slice(&har).unwrap();
        assert_eq!(value["log"]["version"], "1.2");
        assert_eq!(
            value["log"]["entries"][0]["request"]["url"],
            "http://127.0.0.1:3000/hooks/a?x=1&y"
        );
        assert_eq!(
            value["log"]["entries"][0]["response"]["statusText"],
            "Accepted"
        );
        let back = import(&har).unwrap();
        assert_eq!(back.len(), 2);
        for (got, want) in back.iter().zip([&text, &binary]) {
            assert_eq!(got.method, want.method);
            assert_eq!(got.path, want.path);
            assert_eq!(got.query, want.query);
            assert_eq!(got.headers, want.headers);
            assert_eq!(got.body, want.body);
            assert_eq!(got.received_at, want.received_at);
            assert_eq!(got.notes.status, Some(202));
            assert_eq!(got.id, want.id);
        }
    }

    #[test]
    fn bad_files_say_where() {
        assert_eq!(
            import(b"{}").unwrap_err().to_string(),
            "not a HAR file: no log.entries array"
        );
        let bad = br#"{"log":{"entries":[{"request":{"method":"GET","url":"http://x/"}},{"request":{"method":"P OST","url":"http://x/"}}]}}"#;
        assert_eq!(
            import(bad).unwrap_err().to_string(),
            "entry 2: request.method \"P OST\" is not an HTTP method"
        );
        assert!(import(b"[")
            .unwrap_err()
            .to_string()
            .starts_with("invalid JSON"));
    }
}
