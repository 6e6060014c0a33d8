//! What `listen` does with each delivery: verify its signature, decide the answer (simulated,
//! or the app's when forwarding), capture it before answering, print it without blocking, and
//! track CI expectations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::HeaderValue;
use serde_json::json;
use tokio::sync::watch;

use crate::deliver::{Deliverer, Outcome};
use crate::event::{Event, ForwardNote, Verified};
use crate::listen::capture::CaptureWriter;
use crate::listen::expect::Tracker;
use crate::listen::respond::Responder;
use crate::listen::server::{Handler, Reply};
use crate::output::printer::Printer;
use crate::send::compose::{unix_now, TAG_HEADER};
use crate::signature::{self, Scheme, Secret, Verdict};

/// `listen --verify`.
pub struct VerifyConfig {
    pub scheme: Scheme,
    pub secrets: Vec<Secret>,
    pub tolerance_secs: u64,
    /// Answer 401 on failure (otherwise only report).
    pub reject: bool,
}

/// `listen --forward-to`.
pub struct ForwardConfig {
    pub deliverer: Arc<Deliverer>,
    pub url: String,
    pub ack_first: bool,
    pub exit_on_failure: bool,
}

/// `listen --publish`: where accepted deliveries go before they are answered. A delivery is
/// answered 2xx only after `publish` succeeded (the broker confirmed it); otherwise 503.
pub trait Publish: Send + Sync {
    fn publish<'a>(
        &'a self,
        event: &'a Event,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
}

/// One item for the printer: the event, and the app's answer when forwarding.
pub struct Printed {
    pub event: Kept,
    pub forward_body: Option<Bytes>,
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
}

/// Everything `listen` needs per delivery.
pub struct ListenConfig {
    pub capture: Option<CaptureWriter>,
    pub printer: Option<Printer<Printed>>,
    pub responder: Responder,
    pub verify: Option<VerifyConfig>,
    pub tracker: Option<Tracker>,
    pub only_tag: Option<String>,
    pub forward: Option<ForwardConfig>,
    pub publisher: Option<Arc<dyn Publish>>,
}

/// The per-delivery handler behind the HTTP server.
pub struct Receiver {
    capture: Option<CaptureWriter>,
    printer: Option<Printer<Printed>>,
    responder: Responder,
    verify: Option<VerifyConfig>,
    tracker: Option<Mutex<Tracker>>,
    only_tag: Option<String>,
    forward: Option<ForwardConfig>,
    publisher: Option<Arc<dyn Publish>>,
    events: AtomicU64,
    bytes: AtomicU64,
    finish: watch::Sender<Finish>,
}

impl Receiver {
    pub fn new(config: ListenConfig) -> (Receiver, watch::Receiver<Finish>) {
        let (finish, finished) = watch::channel(Finish::Running);
        let receiver = Receiver {
            capture: config.capture,
            printer: config.printer,
            responder: config.responder,
            verify: config.verify,
            tracker: config.tracker.map(Mutex::new),
            only_tag: config.only_tag,
            forward: config.forward,
            publisher: config.publisher,
            events: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            finish,
        };
        (receiver, finished)
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

    fn verify(&self, event: &Event) -> Option<Verified> {
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
                reason: failure.to_string(),
            },
        })
    }

    async fn forward(&self, config: &ForwardConfig, event: &mut Event) -> (Reply, Bytes) {
        let outcome = config.deliverer.deliver(event).await;
        event.notes.forward = Some(forward_note(&config.url, &outcome));
        self.check_forward(config, &outcome);
        let reply = match outcome.status {
            Some(status) => {
                let mut reply = Reply::bytes(status, outcome.body.clone());
                let content_type = outcome.content_type.as_deref().map(HeaderValue::from_str);
                if let Some(Ok(value)) = content_type {
                    reply.headers.insert(http::header::CONTENT_TYPE, value);
                }
                reply
            }
            None => {
                eprintln!(
                    "hookctl: forward of {} to {} failed: {}; answered 502",
                    event.id,
                    config.url,
                    outcome.error.as_deref().unwrap_or("no answer")
                );
                Reply::json(
                    502,
                    &json!({ "error": format!("hookctl could not forward: {}", outcome.error.unwrap_or_default()) }),
                )
            }
        };
        (reply, outcome.body)
    }

    fn check_forward(&self, config: &ForwardConfig, outcome: &Outcome) {
        let failed = outcome.status.is_none_or(|s| s >= 500);
        if failed && config.exit_on_failure {
            let why = outcome
                .error
                .clone()
                .unwrap_or_else(|| "forward failed".into());
            self.finish.send_if_modified(|f| {
                let first = *f == Finish::Running;
                if first {
                    *f = Finish::ForwardFailed(why);
                }
                first
            });
        }
    }

    fn forward_in_background(self: &Arc<Self>, event: Arc<Event>) {
        let Some(config) = self.forward.as_ref() else {
            return;
        };
        let deliverer = config.deliverer.clone();
        let me = self.clone();
        tokio::spawn(async move {
            let outcome = deliverer.deliver(&event).await;
            if let Some(config) = me.forward.as_ref() {
                me.check_forward(config, &outcome);
                let note = forward_note(&config.url, &outcome);
                match &note.error {
                    Some(e) => eprintln!("hookctl: forward of {} failed: {e}", event.id),
                    None => eprintln!(
                        "hookctl: forwarded {}: {} in {:.1}ms",
                        event.id,
                        note.status.unwrap_or_default(),
                        note.latency_ms
                    ),
                }
            }
        });
    }

    fn observe(&self, event: &Event) {
        if let Some(tracker) = &self.tracker {
            let done = tracker
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .observe(event);
            if done {
                self.finish.send_if_modified(|f| {
                    let first = *f == Finish::Running;
                    if first {
                        *f = Finish::ExpectationsMet;
                    }
                    first
                });
            }
        }
    }
}

/// The 503 for a delivery the broker did not confirm, reported on stderr and noted in the
/// capture.
fn unpublished(event: &mut Event, why: &str) -> Reply {
    eprintln!(
        "hookctl: error: cannot publish {} to the broker: {why}; answered 503",
        crate::output::sanitize::sanitize_line(&event.id)
    );
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

fn forward_note(url: &str, outcome: &Outcome) -> ForwardNote {
    ForwardNote {
        url: url.to_owned(),
        status: outcome.status,
        latency_ms: (outcome.latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        attempts: outcome.attempts,
        error: outcome.error.clone(),
    }
}

/// The handler is used through an `Arc`, so background forwards can hold on to it.
pub struct Shared(pub Arc<Receiver>);

impl Handler for Shared {
    async fn handle(&self, mut event: Event) -> Reply {
        let me = &self.0;
        if let Some(tag) = &me.only_tag {
            if event.header(TAG_HEADER) != Some(tag.as_str()) {
                return me.responder.plan(&event).reply;
            }
        }
        let verified = me.verify(&event);
        let rejected = match (&verified, &me.verify) {
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
        } else {
            match &me.forward {
                Some(config) if !config.ack_first => {
                    let (reply, body) = me.forward(config, &mut event).await;
                    forward_body = Some(body);
                    reply
                }
                Some(_) => {
                    background = true;
                    me.responder.reply(&event, 200)
                }
                None => {
                    let planned = me.responder.plan(&event);
                    delay = planned.delay;
                    planned.reply
                }
            }
        };
        event.notes.verified = verified;
        event.notes.status = Some(reply.status);
        let reply = match &me.publisher {
            Some(publisher) if (200..300).contains(&reply.status) => {
                match publisher.publish(&event).await {
                    Ok(()) => reply,
                    Err(why) => unpublished(&mut event, &why),
                }
            }
            _ => reply,
        };
        if let Some(capture) = &me.capture {
            if let Err(e) = capture.append_event(&event).await {
                eprintln!(
                    "hookctl: error: cannot write {} to {}: {e}; answered 500",
                    event.id,
                    capture.path().display()
                );
                return Reply::json(
                    500,
                    &json!({ "error": "hookctl could not capture the event" }),
                );
            }
        }
        me.events.fetch_add(1, Ordering::Relaxed);
        me.bytes
            .fetch_add(event.body.len() as u64, Ordering::Relaxed);
        me.observe(&event);
        // Shared only when two things keep it past the answer.
        let kept = if background {
            let event = Arc::new(event);
            me.forward_in_background(event.clone());
            Kept::Shared(event)
        } else {
            Kept::Owned(event)
        };
        if let Some(printer) = &me.printer {
            printer.print(Printed {
                event: kept,
                forward_body,
            });
        }
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        reply
    }

    fn refused(&self, method: &str, path: &str, why: &str) {
        let path = crate::output::sanitize::sanitize_line(path);
        eprintln!("hookctl: refused {method} {path}: {why}");
    }
}
