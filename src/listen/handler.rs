//! What `listen` does with each delivery: verify its signature, decide the answer (simulated,
//! or the app's when forwarding), capture it before answering, print it without blocking, and
//! track CI expectations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::HeaderValue;
use serde_json::json;
use tokio::sync::watch;

use super::capture::CaptureWriter;
use super::expect::Tracker;
use super::forward::Forwarder;
use super::observe::Observe;
use super::respond::Responder;
use super::server::{Handler, Reply};
use crate::event::{Event, Verified};
use crate::output::diag::{Diag, Untrusted};
use crate::output::printer::Printer;
use crate::send::compose::{unix_now, TAG_HEADER};
use crate::signature::{self, Scheme, Secret, ThroughReencodingRelay, Verdict};

/// `listen --verify`.
pub struct VerifyConfig {
    pub scheme: Scheme,
    pub secrets: Vec<Secret>,
    pub tolerance_secs: u64,
    /// Answer 401 on failure (otherwise only report).
    pub reject: bool,
}

/// What a publish gives back: the error is only displayed, in the 503 and on stderr.
pub type PublishResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// `listen --publish`: where accepted deliveries go before they are answered. A delivery is
/// answered 2xx only after `publish` succeeded (the broker confirmed it); otherwise 503.
pub trait Publish: Send + Sync {
    fn publish<'a>(
        &'a self,
        event: &'a Event,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PublishResult> + Send + 'a>>;
}

/// One item for the printer: the event, and the app's answer when forwarding.
pub struct Printed {
    pub event: Kept,
    pub forward_body: Option<Bytes>,
}

impl Printed {
    /// The bytes this item holds while it waits: body, headers and the app's answer.
    pub fn weight(&self) -> usize {
        let headers: usize = self
            .event
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum();
        self.event.body.len() + headers + self.forward_body.as_ref().map_or(0, Bytes::len)
    }
}

/// An event kept past its answer: moved to the printer, or shared with a background forward.
/// Moving it costs no allocation and no reference count.
// Boxing the large variant, as clippy suggests, would bring back the allocation this saves.
#[allow(clippy::large_enum_variant)]
pub enum Kept {
    Owned(Event),
    Shared(Arc<Event>),
}

impl std::ops::Deref for Kept {
    type Target = Event;

    fn deref(&self) -> &Event {
        match self {
            Kept::Owned(event) => event,
            Kept::Shared(event) => event,
        }
    }
}

/// Why listen stopped on its own.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    Running,
    /// Every expectation was met, or --count deliveries arrived.
    ExpectationsMet,
    /// Forwarding failed and --exit-on-forward-failure is set.
    ForwardFailed(String),
    /// A `--source` failed in a way retrying cannot fix (a refused token).
    SourceFailed(String),
}

/// Where a delivery came from: listen's own port, or a relay it subscribes to
/// (`listen --source`). Every delivery goes through the same pipeline, [`Receiver::process`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A request to listen's port.
    Socket,
    /// A hookctl relay (`hookctl serve`): the provider's exact bytes.
    Relay,
    /// A smee channel, which parsed and re-encoded JSON bodies on the way.
    Smee,
}

/// What the pipeline did with one delivery.
pub struct Handled {
    /// The answer for the sender.
    pub reply: Reply,
    /// Set when the delivery could not be kept (not captured, or not published): a relayed
    /// event is then fetched again, as a sender would retry.
    pub not_kept: Option<String>,
}

/// Stops listen with a reason; the first reason given wins.
#[derive(Clone)]
pub struct Stopper(Arc<watch::Sender<Finish>>);

impl Stopper {
    pub fn new() -> (Stopper, watch::Receiver<Finish>) {
        let (finish, finished) = watch::channel(Finish::Running);
        (Stopper(Arc::new(finish)), finished)
    }

    pub fn stop(&self, reason: Finish) {
        self.0.send_if_modified(|f| {
            let first = *f == Finish::Running;
            if first {
                *f = reason;
            }
            first
        });
    }
}

/// Everything `listen` needs per delivery.
pub struct HandlerConfig {
    pub capture: Option<CaptureWriter>,
    pub printer: Option<Printer<Printed>>,
    pub responder: Responder,
    pub verify: Option<VerifyConfig>,
    pub tracker: Option<Tracker>,
    pub only_tag: Option<String>,
    pub forward: Option<Arc<Forwarder>>,
    pub publisher: Option<Arc<dyn Publish>>,
    /// `--route`: decides the answer instead of the responder or the forwarder.
    pub router: Option<Arc<crate::route::Router>>,
    pub observer: Option<Arc<dyn Observe>>,
    pub diag: Diag,
    pub stopper: Stopper,
}

/// The per-delivery handler behind the HTTP server.
pub struct Receiver {
    capture: Option<CaptureWriter>,
    printer: Option<Printer<Printed>>,
    responder: Responder,
    verify: Option<VerifyConfig>,
    tracker: Option<Mutex<Tracker>>,
    only_tag: Option<String>,
    forward: Option<Arc<Forwarder>>,
    publisher: Option<Arc<dyn Publish>>,
    router: Option<Arc<crate::route::Router>>,
    observer: Option<Arc<dyn Observe>>,
    diag: Diag,
    events: AtomicU64,
    bytes: AtomicU64,
    stopper: Stopper,
}

impl Receiver {
    pub fn new(config: HandlerConfig) -> Receiver {
        Receiver {
            capture: config.capture,
            printer: config.printer,
            responder: config.responder,
            verify: config.verify,
            tracker: config.tracker.map(Mutex::new),
            only_tag: config.only_tag,
            forward: config.forward,
            publisher: config.publisher,
            router: config.router,
            observer: config.observer,
            diag: config.diag,
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            stopper: config.stopper,
        }
    }

    /// Deliveries counted so far, and their body bytes.
    pub fn totals(&self) -> (u64, u64) {
        (
            self.events.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// The report of unmet expectations, when there are some.
    pub fn unmet(&self) -> Option<Vec<String>> {
        let tracker = self
            .tracker
            .as_ref()?
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        (!tracker.is_done()).then(|| tracker.unmet_report())
    }

    fn verify(&self, event: &Event, origin: Origin) -> Option<Verified> {
        let config = self.verify.as_ref()?;
        let verdict = signature::verify(
            &config.scheme,
            &config.secrets,
            &event.headers,
            &event.body,
            unix_now(),
            config.tolerance_secs,
        );
        Some(match verdict {
            Verdict::Valid { secret_index } => Verified {
                ok: true,
                scheme: config.scheme.name().to_owned(),
                reason: if config.secrets.len() > 1 {
                    format!("signature matches secret #{}", secret_index + 1)
                } else {
                    "signature matches".to_owned()
                },
            },
            Verdict::Invalid(failure) => Verified {
                ok: false,
                scheme: config.scheme.name().to_owned(),
                reason: match origin {
                    Origin::Smee => ThroughReencodingRelay {
                        failure: &failure,
                        relay: "smee",
                    }
                    .to_string(),
                    Origin::Socket | Origin::Relay => failure.to_string(),
                },
            },
        })
    }

    fn observe(&self, event: &Event) {
        if let Some(tracker) = &self.tracker {
            let done = tracker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(event);
            if done {
                self.stopper.stop(Finish::ExpectationsMet);
            }
        }
    }
}

impl Receiver {
    /// The answer of the routes (`--route`), when they decide it.
    async fn route(&self, event: &mut Event) -> Option<Reply> {
        self.router.as_ref()?.answer(event, &self.responder).await
    }

    /// The pipeline for one delivery, from the port or from a relay: verify, answer (simulated
    /// or the app's), publish, capture before answering, count, track expectations, print.
    pub async fn process(&self, mut event: Event, origin: Origin) -> Handled {
        if let Some(tag) = &self.only_tag {
            if event.header(TAG_HEADER) != Some(tag.as_str()) {
                return Handled {
                    reply: self.responder.plan(&event).reply,
                    not_kept: None,
                };
            }
        }
        let verified = self.verify(&event, origin);
        let rejected = match (&verified, &self.verify) {
            (Some(v), Some(config)) => !v.ok && config.reject,
            _ => false,
        };
        let mut delay = None;
        let mut forward_body = None;
        let mut background = false;
        let reply = if rejected {
            let reason = verified
                .as_ref()
                .map(|v| v.reason.clone())
                .unwrap_or_default();
            Reply::json(
                401,
                &json!({ "error": format!("signature verification failed: {reason}") }),
            )
        } else if let Some(reply) = self.route(&mut event).await {
            reply
        } else {
            match &self.forward {
                Some(forwarder) if !forwarder.ack_first() => {
                    let (reply, body) = forwarder.forward(&mut event).await;
                    forward_body = Some(body);
                    reply
                }
                Some(_) => {
                    background = true;
                    self.responder.reply(&event, 200)
                }
                None => {
                    let planned = self.responder.plan(&event);
                    delay = planned.delay;
                    planned.reply
                }
            }
        };
        event.notes.verified = verified;
        event.notes.status = Some(reply.status);
        let mut not_kept = None;
        let reply = match &self.publisher {
            Some(publisher) if (200..300).contains(&reply.status) => {
                match publisher.publish(&event).await {
                    Ok(()) => reply,
                    Err(why) => {
                        let why = why.to_string();
                        not_kept = Some(format!("not published: {why}"));
                        unpublished(&self.diag, &mut event, &why)
                    }
                }
            }
            _ => reply,
        };
        if let Some(capture) = &self.capture {
            if let Err(e) = capture.append_event(&event).await {
                self.diag.error(format_args!(
                    "cannot write {} to {}: {e}; answered 500",
                    Untrusted(&event.id),
                    capture.path().display()
                ));
                return Handled {
                    reply: Reply::json(
                        500,
                        &json!({ "error": "hookctl could not capture the event" }),
                    ),
                    not_kept: Some(format!("not captured: {e}")),
                };
            }
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        self.bytes
            .fetch_add(event.body.len() as u64, Ordering::Relaxed);
        self.observe(&event);
        if let Some(observer) = &self.observer {
            observer.observed(&event, forward_body.as_ref());
        }
        // Shared only when two things keep it past the answer.
        let kept = match (&self.forward, background) {
            (Some(forwarder), true) => {
                let event = Arc::new(event);
                forwarder.spawn(event.clone());
                Kept::Shared(event)
            }
            _ => Kept::Owned(event),
        };
        if let Some(printer) = &self.printer {
            printer.print(Printed {
                event: kept,
                forward_body,
            });
        }
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        Handled { reply, not_kept }
    }
}

impl crate::source::Sink for Shared {
    async fn deliver(&self, event: Event, format: crate::source::Format) -> Result<(), String> {
        let origin = match format {
            crate::source::Format::Capture => Origin::Relay,
            crate::source::Format::Smee => Origin::Smee,
        };
        match self.0.process(event, origin).await.not_kept {
            Some(why) => Err(why),
            None => Ok(()),
        }
    }
}

/// The 503 for a delivery the broker did not confirm, reported on stderr and noted in the
/// capture.
fn unpublished(diag: &Diag, event: &mut Event, why: &str) -> Reply {
    diag.error(format_args!(
        "cannot publish {} to the broker: {why}; answered 503",
        Untrusted(&event.id)
    ));
    event.notes.status = Some(503);
    event.notes.error = Some(format!("not published: {why}"));
    let mut reply = Reply::json(
        503,
        &json!({ "error": format!("hookctl could not publish the event to the broker: {why}") }),
    );
    reply
        .headers
        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    reply
}

/// The handler as the server holds it: shared with `listen::run`, which reads its totals.
pub struct Shared(pub Arc<Receiver>);

impl Handler for Shared {
    async fn handle(&self, event: Event) -> Reply {
        self.0.process(event, Origin::Socket).await.reply
    }

    fn refused(&self, method: &str, path: &str, why: &str) {
        self.0.diag.note(format_args!(
            "refused {} {}: {why}",
            Untrusted(method),
            Untrusted(path)
        ));
    }
}
