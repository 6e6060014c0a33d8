//! Replay and edit-and-resend from the page, through the delivery engine's [`Deliverer`]:
//! to the default target (listen's `--forward-to`, inspect's `--to`) or any URL the user
//! types. An edited event can be re-signed with the secret the inspector was started with,
//! and is recorded as a new event whose `edited_from` names the original.

use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use super::store::{Item, Key};
use super::view::body_json;
use super::Inspector;
use crate::deliver::{redact_url, Deliverer, Outcome, Target};
use crate::event::{Event, Headers};
use crate::listen::forward::note;
use crate::send::compose::{unix_now, Signer};
use crate::signature::Scheme;

/// The most events one replay request sends.
pub const MAX_REPLAY: usize = 1_000;

/// `POST api/replay`.
#[derive(Debug, Deserialize)]
pub struct ReplayRequest {
    pub keys: Vec<Key>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `POST api/resend`: the edited request.
#[derive(Debug, Deserialize)]
pub struct ResendRequest {
    /// The event it was edited from.
    pub of: Key,
    #[serde(default)]
    pub url: Option<String>,
    pub method: String,
    /// The path with its query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Re-sign with this scheme.
    #[serde(default)]
    pub sign: Option<String>,
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
    pub async fn replay(&self, request: ReplayRequest) -> anyhow::Result<Value> {
        if request.keys.is_empty() || request.keys.len() > MAX_REPLAY {
            return Err(bad(format!("replay 1 to {MAX_REPLAY} events at a time")));
        }
        let (deliverer, url) = self.deliverer(request.url.as_deref())?;
        let mut results = Vec::with_capacity(request.keys.len());
        for key in request.keys {
            let event = self.event(key)?;
            let outcome = deliverer.deliver(&event).await;
            let mut result = outcome_json(&deliverer.target().url_for(&event), &outcome);
            result["key"] = json!(key);
            results.push(result);
        }
        Ok(json!({ "url": url, "results": results }))
    }

    /// Builds the edited event, signs it if asked, sends it and records it.
    pub async fn resend(&self, request: ResendRequest) -> anyhow::Result<Value> {
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
        let mut result = outcome_json(&sent_to, &outcome);
        result["key"] = json!(key);
        Ok(result)
    }
}

/// What the page shows about one delivery.
fn outcome_json(url: &str, outcome: &Outcome) -> Value {
    json!({
        "url": redact_url(url),
        "status": outcome.status,
        "latency_ms": (outcome.latency.as_secs_f64() * 10_000.0).round() / 10.0,
        "attempts": outcome.attempts,
        "error": outcome.error.as_ref().map(ToString::to_string),
        "content_type": outcome.content_type,
        "answer": body_json(&outcome.body[..outcome.body.len().min(256 << 10)]),
    })
}
