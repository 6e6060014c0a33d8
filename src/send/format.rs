//! `send --format`: any event as it is, or as a CloudEvents 1.0 event over HTTP, in binary mode
//! (`ce-*` headers, the body unchanged) or structured mode (one `application/cloudevents+json`
//! document with the body as `data`).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::event::Event;
use crate::send::samples::{template_time, Sample};

/// How `send` puts an event on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventFormat {
    /// As the sample (or `--data`) is.
    #[default]
    Plain,
    /// CloudEvents binary mode: `ce-specversion`, `ce-id`, `ce-source`, `ce-type`, `ce-time`.
    CloudEventsBinary,
    /// CloudEvents structured mode: `application/cloudevents+json`.
    CloudEventsStructured,
}

/// The CloudEvents version written.
pub const SPEC_VERSION: &str = "1.0";
/// The content type of structured mode.
pub const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json; charset=utf-8";

impl EventFormat {
    /// Turns `event` (built from `sample`, at `timestamp`) into this format. Runs before
    /// signing, so a signature covers what is sent.
    pub fn apply(self, event: &mut Event, sample: Option<&Sample>, timestamp: i64) {
        if self == EventFormat::Plain {
            return;
        }
        if event.id.is_empty() {
            event.id = crate::event::generate_id();
        }
        let source = match sample.and_then(|s| s.provider) {
            Some(provider) => format!("/hookctl/samples/{}", provider.name),
            None if sample.is_some() => "/hookctl/samples".to_owned(),
            None => "/hookctl/send".to_owned(),
        };
        let ce_type = sample
            .map(|s| s.name.replace(':', "."))
            .or_else(|| event.event_type.clone())
            .unwrap_or_else(|| "hookctl.event".to_owned());
        let time = template_time(timestamp);
        let content_type = event
            .header("content-type")
            .unwrap_or("application/json")
            .to_owned();
        match self {
            EventFormat::Plain => {}
            EventFormat::CloudEventsBinary => {
                for (name, value) in [
                    ("ce-specversion", SPEC_VERSION),
                    ("ce-id", event.id.as_str()),
                    ("ce-source", source.as_str()),
                    ("ce-type", ce_type.as_str()),
                    ("ce-time", time.as_str()),
                ] {
                    let value = value.to_owned();
                    event.headers.remove(name);
                    event.headers.push(name, &value);
                }
            }
            EventFormat::CloudEventsStructured => {
                let mut doc = Map::new();
                doc.insert("specversion".into(), json!(SPEC_VERSION));
                doc.insert("id".into(), json!(event.id));
                doc.insert("source".into(), json!(source));
                doc.insert("type".into(), json!(ce_type));
                doc.insert("time".into(), json!(time));
                doc.insert("datacontenttype".into(), json!(content_type));
                let data = if is_json(&content_type) {
                    serde_json::from_slice::<Value>(&event.body).ok()
                } else {
                    None
                };
                match (data, std::str::from_utf8(&event.body)) {
                    (Some(data), _) => doc.insert("data".into(), data),
                    (None, Ok(text)) => doc.insert("data".into(), json!(text)),
                    (None, Err(_)) => {
                        use base64::Engine as _;
                        let b64 = base64::engine::general_purpose::STANDARD.encode(&event.body);
                        doc.insert("data_base64".into(), json!(b64))
                    }
                };
                event.body = Bytes::from(Value::Object(doc).to_string());
                event.headers.remove("content-type");
                event.headers.push("content-type", STRUCTURED_CONTENT_TYPE);
            }
        }
        event.event_type = Some(ce_type);
    }
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
}
