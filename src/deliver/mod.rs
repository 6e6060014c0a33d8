//! The one delivery path shared by `send`, `replay`, `relay` and `listen --forward-to`:
//! per-attempt timeouts, retries with exponential backoff and full jitter, Retry-After, and an
//! honest [`Outcome`] per event. [`crate::deliver::engine`] runs many deliveries with a
//! concurrency cap and a rate limit. One HTTP client serves `http://` and `https://` alike and
//! sends the captured request target and headers as they were (see [`client`]).

mod client;
pub mod engine;
mod error;
pub mod progress;
pub mod report;
pub mod retry;
pub mod summary;
mod target;
#[cfg(test)]
pub(crate) mod wire_tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls::pki_types::CertificateDer;

use crate::event::Event;
pub use client::connector;
use client::Client;
pub use error::{DeliveryError, Peer};
use retry::{backoff, retryable, MAX_WAIT};
pub use target::{redact_url, Target};

/// How each event is delivered.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Timeout of one attempt, from connecting to the end of the response body.
    pub timeout: Duration,
    /// Attempts after the first one.
    pub retries: u32,
    /// Base of the exponential backoff.
    pub backoff: Duration,
    /// Certificates trusted for `https://` besides the webpki roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            timeout: Duration::from_secs(10),
            retries: 0,
            backoff: Duration::from_millis(500),
            extra_roots: Vec::new(),
        }
    }
}

/// Changes an event before each attempt, e.g. to re-sign it with a fresh timestamp.
pub type Prepare = Arc<dyn Fn(&mut Event, u32) + Send + Sync>;

/// A tokio runtime on the calling thread, for single sends and bulk runs alike.
///
/// The delivery engine runs every delivery of a run on one task, so extra worker threads only
/// add wake-ups across threads. Measured with `send --count 100000 --concurrency 64` against
/// a local server (issue 6): a current-thread runtime delivered 1.4x the rate of a two-worker
/// runtime with both pinned to one core, and 1.3x unpinned on two cores.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// What happened to one event.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final status, when an answer came.
    pub status: Option<u16>,
    /// Latency of the last attempt.
    pub latency: Duration,
    /// How many attempts were made.
    pub attempts: u32,
    /// Why the last attempt failed (no answer, or a non-2xx status).
    pub error: Option<DeliveryError>,
    /// The last response's body and content type.
    pub body: Bytes,
    pub content_type: Option<String>,
}

impl Outcome {
    /// A 2xx answer.
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Delivers events to one target over pooled keep-alive connections.
pub struct Deliverer {
    client: Client,
    config: DeliveryConfig,
    target: Target,
    prepare: Option<Prepare>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Deliverer {
    /// `stop` flips to true on Ctrl-C: no new retries start after that.
    pub fn new(
        config: DeliveryConfig,
        target: Target,
        prepare: Option<Prepare>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Deliverer> {
        Ok(Deliverer {
            client: Client::new(&target, &config.extra_roots)?,
            config,
            target,
            prepare,
            stop,
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Delivers one event, retrying as configured.
    pub async fn deliver(&self, event: &Event) -> Outcome {
        let mut attempts = 0;
        let mut prepared;
        loop {
            attempts += 1;
            let to_send = match &self.prepare {
                Some(prepare) => {
                    prepared = event.clone();
                    prepare(&mut prepared, attempts);
                    &prepared
                }
                None => event,
            };
            let started = Instant::now();
            let result = self
                .client
                .exchange(&self.target, to_send, self.config.timeout)
                .await;
            let latency = started.elapsed();
            let (outcome, retry_after) = match result {
                Ok(answer) => (
                    Outcome {
                        status: Some(answer.status),
                        latency,
                        attempts,
                        error: (!(200..300).contains(&answer.status))
                            .then_some(DeliveryError::Status(answer.status)),
                        body: answer.body,
                        content_type: answer.content_type,
                    },
                    answer.retry_after,
                ),
                Err(error) => (
                    Outcome {
                        status: None,
                        latency,
                        attempts,
                        error: Some(error),
                        body: Bytes::new(),
                        content_type: None,
                    },
                    None,
                ),
            };
            let wait = outcome
                .error
                .as_ref()
                .filter(|e| retryable(e))
                .map(|_| retry_after.unwrap_or_else(|| backoff(self.config.backoff, attempts)));
            match wait {
                Some(wait) if attempts <= self.config.retries && !*self.stop.borrow() => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait.min(MAX_WAIT)) => {}
                        _ = self.stopped() => return outcome,
                    }
                }
                _ => return outcome,
            }
        }
    }

    /// Completes once `stop` turns true. A stop sender that was dropped never stops anything
    /// (it must not cut retries short).
    async fn stopped(&self) {
        let mut stop = self.stop.clone();
        if stop.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// `404 Not Found`.
pub fn describe_status(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Headers;
    use std::time::SystemTime;

    #[test]
    fn target_keeps_or_replaces_the_path() {
        let mut e = Event::from_parts(
            "POST",
            "/orig",
            Some("a=1".into()),
            Headers::new(),
            Bytes::new(),
            SystemTime::now(),
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:9/").unwrap().url_for(&e),
            "http://127.0.0.1:9/orig?a=1"
        );
        e.query = None;
        assert_eq!(
            Target::parse("http://127.0.0.1:9/new").unwrap().url_for(&e),
            "http://127.0.0.1:9/new"
        );
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("not a url").is_err());
    }
}
