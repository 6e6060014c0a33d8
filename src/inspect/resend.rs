//! Replay and edit-and-resend from the page, through the delivery engine's [`Deliverer`]:
//! to the default target (listen's `--forward-to`, inspect's `--to`) or any URL the user
//! types. An edited event can be re-signed with the secret the inspector was started with,
//! and is recorded as a new event whose `edited_from` names the original.

use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::store::{Item, Key};
use super::view::BodyView;
use super::Inspector;
use crate::deliver::{redact_url, Deliverer, Outcome, Target};
use crate::event::{Event, Headers};
use crate::listen::forward::note;
use crate::send::compose::{unix_now, Signer};
use crate::signature::Scheme;

/// The most events one replay request sends.
pub const MAX_REPLAY: usize = 1_000;

/// `POST api/replay`.
#[derive(Debug)]
pub struct ReplayRequest {
    pub keys: Vec<Key>,
    pub url: Option<String>,
}

/// `POST api/resend`: the edited request.
#[derive(Debug)]
pub struct ResendRequest {
    /// The event it was edited from.
    pub of: Key,
    pub url: Option<String>,
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_base64: Option<String>,
    /// Re-sign with this scheme.
    pub sign: Option<String>,
}

// Read from the request's JSON by hand: a derived deserializer per request type would add
// more to the binary than these few fields need.

impl ReplayRequest {
    /// `{"keys": [KEY, ...], "url": URL?}`.
    pub fn from_json(v: &Value) -> Result<ReplayRequest, String> {
        let keys = required(v, "keys")?
            .as_array()
            .ok_or("`keys` must be an array of event keys")?
            .iter()
            .map(|k| k.as_u64().ok_or("`keys` must be an array of event keys"))
            .collect::<Result<_, _>>()?;
        Ok(ReplayRequest {
            keys,
            url: optional(v, "url")?,
        })
    }
}

impl ResendRequest {
    /// `{"of": KEY, "method", "path", "headers": [[NAME, VALUE], ...], "body" or
    /// "body_base64", "url"?, "sign"?}`.
    pub fn from_json(v: &Value) -> Result<ResendRequest, String> {
        let headers = required(v, "headers")?
            .as_array()
            .ok_or("`headers` must be an array of [name, value] pairs")?
            .iter()
            .map(|pair| match pair.as_array().map(Vec::as_slice) {
                Some([Value::String(name), Value::String(value)]) => {
                    Ok((name.clone(), value.clone()))
                }
                _ => Err("`headers` must be an array of [name, value] pairs"),
            })
            .collect::<Result<_, _>>()?;
        Ok(ResendRequest {
            of: required(v, "of")?
                .as_u64()
                .ok_or("`of` must be an event key")?,
            url: optional(v, "url")?,
            method: string(v, "method")?,
            path: string(v, "path")?,
            headers,
            body: optional(v, "body")?,
            body_base64: optional(v, "body_base64")?,
            sign: optional(v, "sign")?,
        })
    }
}

fn required<'a>(v: &'a Value, name: &str) -> Result<&'a Value, String> {
    v.get(name).ok_or_else(|| format!("missing field `{name}`"))
}

fn string(v: &Value, name: &str) -> Result<String, String> {
    optional(v, name)?.ok_or_else(|| format!("missing field `{name}`"))
}

fn optional(v: &Value, name: &str) -> Result<Option<String>, String> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

/// What one replay or resend did, as the page shows it.
#[derive(Serialize)]
pub struct Sent {
    url: String,
    status: Option<u16>,
    latency_ms: f64,
    attempts: u32,
    error: Option<String>,
    content_type: Option<String>,
    answer: BodyView<'static>,
    /// The event sent (replay), or the edited event recorded in memory (resend; `null` when
    /// it went to the capture file).
    key: Option<Key>,
}

/// `POST api/replay`'s answer: where, and one result per event.
#[derive(Serialize)]
pub struct Replayed {
    url: String,
    results: Vec<Sent>,
}

/// A request the page sent that cannot be carried out (400), said in the answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn bad(why: impl Into<String>) -> anyhow::Error {
    BadRequest(why.into()).into()
}

impl Inspector {
    fn deliverer(&self, url: Option<&str>) -> anyhow::Result<(Deliverer, String)> {
        let url = url
            .filter(|u| !u.trim().is_empty())
            .or(self.config.default_target.as_deref())
            .ok_or_else(|| bad("no target: type the URL to send to"))?;
        let target = Target::parse(url.trim()).map_err(|e| bad(format!("{e:#}")))?;
        let deliverer = Deliverer::new(
            self.config.delivery.clone(),
            target,
            None,
            tokio::sync::watch::channel(false).1,
        )?;
        Ok((deliverer, redact_url(url.trim())))
    }

    fn event(&self, key: Key) -> anyhow::Result<std::sync::Arc<Event>> {
        let store = self
            .store()
            .ok_or_else(|| bad("the inspector is not ready"))?;
        match store.get(key)? {
            Some(Item::Event(e)) => Ok(e),
            Some(_) => Err(bad(format!("row {key} is not an event"))),
            None => Err(bad(format!("event {key} is no longer kept"))),
        }
    }

    /// Sends each event again as it was captured; one result per event, in order.
    pub async fn replay(&self, request: ReplayRequest) -> anyhow::Result<Replayed> {
        if request.keys.is_empty() || request.keys.len() > MAX_REPLAY {
            return Err(bad(format!("replay 1 to {MAX_REPLAY} events at a time")));
        }
        let (deliverer, url) = self.deliverer(request.url.as_deref())?;
        let mut results = Vec::with_capacity(request.keys.len());
        for key in request.keys {
            let event = self.event(key)?;
            let outcome = deliverer.deliver(&event).await;
            results.push(sent(
                &deliverer.target().url_for(&event),
                &outcome,
                Some(key),
            ));
        }
        Ok(Replayed { url, results })
    }

    /// Builds the edited event, signs it if asked, sends it and records it.
    pub async fn resend(&self, request: ResendRequest) -> anyhow::Result<Sent> {
        let original = self.event(request.of)?;
        let (deliverer, url) = self.deliverer(request.url.as_deref())?;
        let method = request.method.trim().to_ascii_uppercase();
        if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad(format!("{method:?} is not an HTTP method")));
        }
        if !request.path.starts_with('/') {
            return Err(bad("the path must start with /"));
        }
        let (path, query) = match request.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (request.path.clone(), None),
        };
        let mut headers = Headers::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            if http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || http::HeaderValue::from_str(value).is_err()
            {
                return Err(bad(format!("{name:?}: {value:?} is not a valid header")));
            }
            headers.push(name, value);
        }
        let body = match (request.body, request.body_base64) {
            (Some(text), None) => Bytes::from(text),
            (None, Some(b64)) => Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| bad(format!("the body is not valid base64: {e}")))?,
            ),
            (None, None) => Bytes::new(),
            (Some(_), Some(_)) => return Err(bad("send body or body_base64, not both")),
        };
        let mut event = Event::from_parts(method, path, query, headers, body, SystemTime::now());
        if let Some(scheme) = request.sign.as_deref().filter(|s| !s.is_empty()) {
            let signing = self.config.signing.as_ref().ok_or_else(|| {
                bad("no signing secret: start hookctl with HOOKCTL_SECRET (or --secret) to re-sign")
            })?;
            let scheme =
                Scheme::from_name(scheme, signing.hmac.clone()).map_err(|e| bad(e.to_string()))?;
            let signer =
                Signer::new(scheme, signing.secret.clone()).map_err(|e| bad(e.to_string()))?;
            signer
                .apply(&mut event, unix_now())
                .map_err(|e| bad(e.to_string()))?;
        }
        event.notes.edited_from = Some(original.id.clone());
        let outcome = deliverer.deliver(&event).await;
        let sent_to = deliverer.target().url_for(&event);
        event.notes.forward = Some(note(&url, &outcome));
        let key = self.record(event).await?;
        Ok(sent(&sent_to, &outcome, key))
    }
}

/// What the page shows about one delivery.
fn sent(url: &str, outcome: &Outcome, key: Option<Key>) -> Sent {
    let answer = &outcome.body[..outcome.body.len().min(256 << 10)];
    Sent {
        url: redact_url(url),
        status: outcome.status,
        latency_ms: (outcome.latency.as_secs_f64() * 10_000.0).round() / 10.0,
        attempts: outcome.attempts,
        error: outcome.error.as_ref().map(ToString::to_string),
        content_type: outcome.content_type.clone(),
        answer: BodyView::of(answer).into_owned(),
        key,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn requests_read_their_fields_and_say_what_is_wrong() {
        let replay = ReplayRequest::from_json(&json!({ "keys": [1, 2], "url": null })).unwrap();
        assert_eq!((replay.keys, replay.url), (vec![1, 2], None));
        let resend = ResendRequest::from_json(&json!({
            "of": 7, "method": "PUT", "path": "/a?b", "headers": [["x-a", "1"]],
            "body": "hi", "sign": "github", "url": "http://127.0.0.1:9/",
        }))
        .unwrap();
        assert_eq!(resend.of, 7);
        assert_eq!(
            (resend.method.as_str(), resend.path.as_str()),
            ("PUT", "/a?b")
        );
        assert_eq!(resend.headers, [("x-a".to_owned(), "1".to_owned())]);
        assert_eq!(resend.body.as_deref(), Some("hi"));
        assert_eq!(resend.body_base64, None);
        assert_eq!(resend.sign.as_deref(), Some("github"));
        for (request, why) in [
            (json!({}), "missing field `keys`"),
            (
                json!({ "keys": [-1] }),
                "`keys` must be an array of event keys",
            ),
            (
                json!({ "keys": 1 }),
                "`keys` must be an array of event keys",
            ),
            (json!({ "keys": [], "url": 5 }), "`url` must be a string"),
        ] {
            assert_eq!(ReplayRequest::from_json(&request).unwrap_err(), why);
        }
        let edit = |patch: Value| {
            let mut request = json!({ "of": 1, "method": "POST", "path": "/", "headers": [] });
            for (k, v) in patch.as_object().unwrap() {
                request[k] = v.clone();
            }
            ResendRequest::from_json(&request).map(|_| ()).unwrap_err()
        };
        assert_eq!(edit(json!({ "of": "1" })), "`of` must be an event key");
        assert_eq!(edit(json!({ "method": null })), "missing field `method`");
        assert_eq!(
            edit(json!({ "headers": [["a"]] })),
            "`headers` must be an array of [name, value] pairs"
        );
        assert_eq!(edit(json!({ "body": 1 })), "`body` must be a string");
    }
}
