//! `listen --forward-to`: hand each delivery to the app and answer the sender with the app's
//! answer, or answer at once and forward in the background (`--ack-first`).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::json;

use super::handler::{Finish, Stopper};
use super::server::Reply;
use crate::deliver::{Deliverer, DeliveryError, Outcome, Peer};
use crate::event::{Event, ForwardNote};
use crate::output::diag::{Diag, Untrusted};

/// `listen --forward-to`.
pub struct ForwardConfig {
    pub deliverer: Arc<Deliverer>,
    pub url: String,
    /// Answer 200 at once and forward in the background.
    pub ack_first: bool,
    /// Stop listen when the app cannot be reached or answers 5xx.
    pub exit_on_failure: bool,
}

/// Forwards deliveries to the app.
pub struct Forwarder {
    config: ForwardConfig,
    diag: Diag,
    stopper: Stopper,
}

impl Forwarder {
    pub fn new(config: ForwardConfig, diag: Diag, stopper: Stopper) -> Forwarder {
        Forwarder {
            config,
            diag,
            stopper,
        }
    }

    pub fn ack_first(&self) -> bool {
        self.config.ack_first
    }

    /// Forwards `event` and waits: the reply is the app's status, content type and body, or a
    /// 502 when no answer came. The outcome is noted on the event.
    pub async fn forward(&self, event: &mut Event) -> (Reply, Bytes) {
        let outcome = self.config.deliverer.deliver(event).await;
        event.notes.forward = Some(note(&self.config.url, &outcome));
        self.check(&outcome);
        let reply = match outcome.status {
            Some(status) => Reply::passthrough(
                status,
                outcome.body.clone(),
                outcome.content_type.as_deref(),
            ),
            None => {
                let why = outcome
                    .error
                    .as_ref()
                    .map_or_else(|| "no answer".to_owned(), ToString::to_string);
                self.diag.error(format_args!(
                    "forward of {} failed: {}; answered 502",
                    Untrusted(&event.id),
                    hinted(&outcome, &self.config.url),
                ));
                Reply::json(
                    502,
                    &json!({ "error": format!("hookctl could not forward: {why}") }),
                )
            }
        };
        (reply, outcome.body)
    }

    /// Forwards `event` after the sender was answered; the outcome goes to stderr.
    pub fn spawn(self: &Arc<Self>, event: Arc<Event>) {
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = me.config.deliverer.deliver(&event).await;
            me.check(&outcome);
            let note = note(&me.config.url, &outcome);
            match &note.error {
                Some(_) => me.diag.error(format_args!(
                    "forward of {} failed: {}",
                    Untrusted(&event.id),
                    hinted(&outcome, &me.config.url),
                )),
                None => me.diag.note(format_args!(
                    "forwarded {}: {} in {:.1}ms",
                    Untrusted(&event.id),
                    note.status.unwrap_or_default(),
                    note.latency_ms
                )),
            }
        });
    }

    /// With --exit-on-forward-failure, a failed forward stops listen.
    fn check(&self, outcome: &Outcome) {
        let failed = outcome.status.is_none_or(|s| s >= 500);
        if failed && self.config.exit_on_failure {
            let why = outcome
                .error
                .as_ref()
                .map_or_else(|| "forward failed".to_owned(), ToString::to_string);
            self.stopper.stop(Finish::ForwardFailed(why));
        }
    }
}

/// Why a forward failed, with the hint that fits the cause (the app, not a receiver).
fn hinted(outcome: &Outcome, url: &str) -> String {
    match &outcome.error {
        Some(error @ DeliveryError::Status(_)) => format!("{url} {error}"),
        Some(error) => error.with_hint(Peer::App).to_string(),
        None => format!("no answer from {url}"),
    }
}

/// What a capture line records about a delivery to `url` (a forward, or an inspector replay).
pub fn note(url: &str, outcome: &Outcome) -> ForwardNote {
    ForwardNote {
        url: url.to_owned(),
        status: outcome.status,
        latency_ms: (outcome.latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        attempts: outcome.attempts,
        error: outcome.error.as_ref().map(ToString::to_string),
    }
}
