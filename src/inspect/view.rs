//! What the page is sent about events: a short row for the list, the whole event for the
//! detail view. Payload text goes out as JSON strings; the page renders it as text.

use std::borrow::Cow;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Value};

use super::store::{Item, Key};
use crate::event::Event;

/// One row of the list.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Row<'a> {
    Event {
        key: Key,
        time: String,
        method: &'a str,
        path: Cow<'a, str>,
        #[serde(rename = "type")]
        event_type: Option<&'a str>,
        id: &'a str,
        size: usize,
        status: Option<u16>,
        verified: Option<bool>,
        forward: Option<ForwardRow>,
        edited_from: Option<&'a str>,
    },
    Invalid {
        key: Key,
        invalid: String,
    },
}

/// A row's forward outcome.
#[derive(Serialize)]
pub struct ForwardRow {
    status: Option<u16>,
    error: bool,
}

/// One row of the list.
pub fn row(key: Key, item: &Item) -> Row<'_> {
    match item {
        Item::Event(e) => Row::Event {
            key,
            time: e.received_at_rfc3339(),
            method: &e.method,
            path: e.path_and_query(),
            event_type: e.event_type.as_deref(),
            id: &e.id,
            size: e.body.len(),
            status: e.notes.status,
            verified: e.notes.verified.as_ref().map(|v| v.ok),
            forward: e.notes.forward.as_ref().map(|f| ForwardRow {
                status: f.status,
                error: f.error.is_some(),
            }),
            edited_from: e.notes.edited_from.as_deref(),
        },
        Item::Invalid { line, why } => Row::Invalid {
            key,
            invalid: format!("line {line}: {why}"),
        },
        Item::Other { line } => Row::Invalid {
            key,
            invalid: format!("line {line}: a record that is not an event"),
        },
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
        record["answer"] = serde_json::to_value(BodyView::of(&answer)).unwrap_or_default();
    }
    record
}

/// A body as `{"text": ...}` when it is UTF-8, else `{"base64": ...}`, with its size.
#[derive(Serialize)]
#[serde(untagged)]
pub enum BodyView<'a> {
    Text { text: Cow<'a, str>, size: usize },
    Base64 { base64: String, size: usize },
}

impl BodyView<'_> {
    pub fn of(body: &[u8]) -> BodyView<'_> {
        match std::str::from_utf8(body) {
            Ok(text) => BodyView::Text {
                text: Cow::Borrowed(text),
                size: body.len(),
            },
            Err(_) => BodyView::Base64 {
                base64: base64::engine::general_purpose::STANDARD.encode(body),
                size: body.len(),
            },
        }
    }
    pub fn into_owned(self) -> BodyView<'static> {
        match self {
            BodyView::Text { text, size } => BodyView::Text {
                text: Cow::Owned(text.into_owned()),
                size,
            },
            BodyView::Base64 { base64, size } => BodyView::Base64 { base64, size },
        }
    }
}
