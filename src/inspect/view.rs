//! What the page is sent about events: a short row for the list, the whole event for the
//! detail view. Payload text goes out as JSON strings; the page renders it as text.

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Value};

use super::store::{Item, Key};
use crate::event::Event;

/// One row of the list.
pub fn row(key: Key, item: &Item) -> Value {
    match item {
        Item::Event(e) => json!({
            "key": key,
            "time": e.received_at_rfc3339(),
            "method": e.method,
            "path": e.path_and_query(),
            "type": e.event_type,
            "id": e.id,
            "size": e.body.len(),
            "status": e.notes.status,
            "verified": e.notes.verified.as_ref().map(|v| v.ok),
            "forward": e.notes.forward.as_ref().map(|f| json!({
                "status": f.status,
                "error": f.error.is_some(),
            })),
            "edited_from": e.notes.edited_from,
        }),
        Item::Invalid { line, why } => json!({
            "key": key,
            "invalid": format!("line {line}: {why}"),
        }),
        Item::Other { line } => json!({
            "key": key,
            "invalid": format!("line {line}: a record that is not an event"),
        }),
    }
}

/// The whole event: its capture record (headers with exact bytes, the body as text or
/// base64, the notes), its key, and the app's answer when it was kept.
pub fn detail(key: Key, e: &Event, answer: Option<Bytes>) -> Value {
    let mut record: Value = serde_json::from_str(&e.to_json_line()).unwrap_or_else(|_| json!({}));
    record["key"] = json!(key);
    record["size"] = json!(e.body.len());
    record["path_and_query"] = json!(e.path_and_query());
    if let Some(answer) = answer {
        record["answer"] = body_json(&answer);
    }
    record
}

/// A body as `{"text": ...}` when it is UTF-8, else `{"base64": ...}`.
pub fn body_json(body: &[u8]) -> Value {
    match std::str::from_utf8(body) {
        Ok(text) => json!({ "text": text, "size": body.len() }),
        Err(_) => json!({
            "base64": base64::engine::general_purpose::STANDARD.encode(body),
            "size": body.len(),
        }),
    }
}
