//! Building outgoing events for `send`, and (re-)signing them for `send --sign` and
//! `replay --resign`.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::event::{generate_id, Event};
use crate::jsonpath;
use crate::samples::Sample;
use crate::signature::{self, Scheme, Secret, SignRequest};

/// The header `send --tag` and `replay --tag` add, and `listen --only-tag` reads.
pub const TAG_HEADER: &str = "x-hookctl-tag";

/// Where an outgoing body comes from.
pub enum BodySource {
    /// A built-in sample with `--set` overrides applied.
    Sample {
        sample: &'static Sample,
        overrides: Vec<(Vec<String>, serde_json::Value)>,
    },
    /// The user's own bytes, sent as they are.
    Raw(Bytes),
}

/// Signs events with one scheme and secret.
pub struct Signer {
    pub scheme: Scheme,
    pub secret: Secret,
}

impl Signer {
    /// A signer, checking up front that `secret` is usable with `scheme` (e.g. valid base64
    /// for `standard`), so a bad secret is reported before anything is sent.
    pub fn new(scheme: Scheme, secret: Secret) -> Result<Signer, String> {
        let probe = SignRequest {
            id: "",
            timestamp: 0,
            body: b"",
            event_type: None,
        };
        signature::sign(&scheme, &secret, &probe).map_err(|e| e.to_string())?;
        Ok(Signer { scheme, secret })
    }

    /// Replaces the event's signature headers with fresh ones for `timestamp`. On error the
    /// event is left as it was, old signature included.
    pub fn apply(&self, event: &mut Event, timestamp: i64) -> Result<(), String> {
        let request = SignRequest {
            id: &event.id,
            timestamp,
            body: &event.body,
            event_type: event.event_type.as_deref(),
        };
        let headers =
            signature::sign(&self.scheme, &self.secret, &request).map_err(|e| e.to_string())?;
        for name in self.scheme.signature_headers() {
            event.remove_header(&name);
        }
        event.headers.extend(headers);
        Ok(())
    }

    /// Adds the provider's usual headers (e.g. X-GitHub-Event) that the event does not carry.
    pub fn add_provider_headers(&self, event: &mut Event, timestamp: i64) {
        let request = SignRequest {
            id: &event.id,
            timestamp,
            body: &event.body,
            event_type: event.event_type.as_deref(),
        };
        let extra = signature::provider_headers(&self.scheme, &request);
        for (name, value) in extra {
            if event.header(&name).is_none() {
                event.headers.push((name, value));
            }
        }
    }
}

/// Everything `send` needs to build its events.
pub struct EventSpec {
    pub body: BodySource,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub tag: Option<String>,
    pub signer: Option<Signer>,
    /// Pinned id (`--id`); otherwise each event gets a fresh one.
    pub id: Option<String>,
    /// Pinned signature timestamp (`--timestamp`); otherwise now.
    pub timestamp: Option<i64>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl EventSpec {
    /// Checks that the sample overrides apply, so errors show before anything is sent.
    pub fn validate(&self) -> Result<(), String> {
        self.build().map(|_| ())
    }

    /// Builds one event with a fresh id and timestamp (unless pinned).
    pub fn build(&self) -> Result<Event, String> {
        let id = self.id.clone().unwrap_or_else(generate_id);
        let timestamp = self.timestamp.unwrap_or_else(unix_now);
        let body = match &self.body {
            BodySource::Sample { sample, overrides } => {
                let mut value = sample.build(&id, timestamp);
                for (path, v) in overrides {
                    jsonpath::set(&mut value, path, v.clone())?;
                }
                Bytes::from(serde_json::to_vec(&value).map_err(|e| e.to_string())?)
            }
            BodySource::Raw(bytes) => bytes.clone(),
        };
        let mut headers = Vec::with_capacity(self.headers.len() + 4);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            headers.push((
                "content-type".to_owned(),
                guess_content_type(&body).to_owned(),
            ));
        }
        headers.extend(self.headers.iter().cloned());
        if let Some(tag) = &self.tag {
            headers.push((TAG_HEADER.to_owned(), tag.clone()));
        }
        let received_at = UNIX_EPOCH + std::time::Duration::from_secs(timestamp.max(0) as u64);
        let mut event = Event::from_parts(
            self.method.clone(),
            self.path.clone(),
            self.query.clone(),
            headers,
            body,
            received_at,
        );
        if self.id.is_some() || matches!(self.body, BodySource::Sample { .. }) {
            event.id = id;
        }
        if let Some(signer) = &self.signer {
            signer.add_provider_headers(&mut event, timestamp);
            signer.apply(&mut event, timestamp)?;
        }
        Ok(event)
    }
}

fn guess_content_type(body: &[u8]) -> &'static str {
    if body.is_empty() || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else if std::str::from_utf8(body).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::from_parts(
            "POST",
            "/",
            None,
            vec![("webhook-signature".to_owned(), "v1,old".to_owned())],
            Bytes::from_static(b"{}"),
            UNIX_EPOCH,
        )
    }

    #[test]
    fn a_bad_secret_is_refused_up_front_and_leaves_the_event_alone() {
        let bad = || Secret::new("whsec_!!not-base64");
        let error = Signer::new(Scheme::Standard, bad())
            .err()
            .unwrap_or_default();
        assert!(error.contains("not valid base64"), "{error}");
        let signer = Signer {
            scheme: Scheme::Standard,
            secret: bad(),
        };
        let before = event();
        let mut e = before.clone();
        assert!(signer.apply(&mut e, 1).is_err());
        assert_eq!(e, before);
    }

    #[test]
    fn apply_replaces_the_old_signature() {
        let signer = Signer::new(Scheme::Standard, Secret::new("whsec_c2VjcmV0")).unwrap();
        let mut e = event();
        signer.apply(&mut e, 1).unwrap();
        let signatures: Vec<_> = e
            .headers
            .iter()
            .filter(|(k, _)| k == "webhook-signature")
            .collect();
        assert_eq!(signatures.len(), 1);
        assert_ne!(signatures[0].1, "v1,old");
        assert_eq!(e.header("webhook-timestamp"), Some("1"));
    }
}
