//! The one delivery path shared by `send`, `replay` and `listen --forward-to`: per-attempt
//! timeouts, retries with exponential backoff and full jitter, Retry-After, and an honest
//! [`Outcome`] per event. [`crate::deliver::engine`] runs many deliveries with a concurrency cap and a
//! rate limit. `http://` goes straight through hyper, so a replay sends the captured request
//! target and headers as they were; `https://` goes through reqwest (see [`client`]).

mod client;
pub mod engine;
mod pool;
pub mod report;
pub mod summary;
mod target;
#[cfg(test)]
mod wire_tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::event::Event;
pub use client::parse_retry_after;
use client::Transport;
pub use target::{request_target, Target};

/// The longest wait between two attempts, whatever the backoff or Retry-After says.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// How each event is delivered.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Timeout of one attempt, from connecting to the end of the response body.
    pub timeout: Duration,
    /// Attempts after the first one.
    pub retries: u32,
    /// Base of the exponential backoff.
    pub backoff: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            timeout: Duration::from_secs(10),
            retries: 0,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Changes an event before each attempt, e.g. to re-sign it with a fresh timestamp.
pub type Prepare = Arc<dyn Fn(&mut Event, u32) + Send + Sync>;

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
    pub error: Option<String>,
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
    transport: Transport,
    config: DeliveryConfig,
    target: Target,
    prepare: Option<Prepare>,
    stop: tokio::sync::watch::Receiver<bool>,
}

impl Deliverer {
    /// Idle kept-alive connections not yet known to be closed.
    #[cfg(test)]
    pub(crate) fn idle_open(&self) -> usize {
        self.transport.idle_open()
    }

    /// `stop` flips to true on Ctrl-C: no new retries start after that.
    pub fn new(
        config: DeliveryConfig,
        target: Target,
        prepare: Option<Prepare>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<Deliverer> {
        Ok(Deliverer {
            transport: Transport::new(&target)?,
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
                .transport
                .exchange(&self.target, to_send, self.config.timeout)
                .await;
            let latency = started.elapsed();
            let (wait, outcome) = match result {
                Ok(answer) => {
                    let error = (!(200..300).contains(&answer.status))
                        .then(|| format!("answered {}", describe_status(answer.status)));
                    let wait = retryable(answer.status).then(|| {
                        answer
                            .retry_after
                            .unwrap_or_else(|| backoff(self.config.backoff, attempts))
                    });
                    (
                        wait,
                        Outcome {
                            status: Some(answer.status),
                            latency,
                            attempts,
                            error,
                            body: answer.body,
                            content_type: answer.content_type,
                        },
                    )
                }
                Err(error) => (
                    Some(backoff(self.config.backoff, attempts)),
                    Outcome {
                        status: None,
                        latency,
                        attempts,
                        error: Some(error),
                        body: Bytes::new(),
                        content_type: None,
                    },
                ),
            };
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

/// Connection errors, timeouts, 5xx, 408 and 429 are worth another attempt; other 4xx never.
pub fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Full-jitter exponential backoff: a random wait between 0 and `base * 2^(attempt-1)`.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(MAX_WAIT);
    ceiling.mul_f64(fastrand::f64())
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
    fn backoff_stays_within_its_ceiling() {
        for attempt in 1..6 {
            for _ in 0..100 {
                let wait = backoff(Duration::from_millis(100), attempt);
                assert!(wait <= Duration::from_millis(100 << (attempt - 1)));
            }
        }
        assert!(backoff(Duration::from_secs(100), 30) <= MAX_WAIT);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn which_statuses_are_retried() {
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 301, 400, 401, 404, 410] {
            assert!(!retryable(s), "{s}");
        }
    }

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
