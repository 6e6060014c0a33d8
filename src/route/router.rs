//! Runs an event's routes and decides the sender's answer.
//!
//! An event goes to every route it matches, in order, until a matching `first:` route; the
//! routes it takes run at once. The sender gets a 2xx only when every one of them durably
//! accepted the event (an HTTP 2xx, a broker confirm, a written line; `drop` always does);
//! otherwise the first failure's 5xx: the app's own 5xx, 502 when an app gave no answer or a
//! 4xx, 503 (Retry-After: 1) when a broker did not confirm, 500 when a line was not written.
//! With exactly one HTTP route taken and everything else accepted, the app's status and body
//! pass through, as with `--forward-to`. An event no route takes is answered as usual, or with
//! the `--unrouted` status. With `ack_first` the sender gets 200 at once and the routes run in
//! the background.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use futures_util::future::join_all;
use http::HeaderValue;
use serde_json::json;

use super::spec::{RouteSpec, TargetSpec};
use crate::deliver::{Deliverer, DeliveryConfig, Peer, Target};
use crate::event::{Event, RouteNote};
use crate::listen::capture::{CaptureCloser, CaptureWriter};
use crate::listen::handler::Publish;
use crate::listen::respond::Responder;
use crate::listen::server::Reply;
use crate::output::diag::{Diag, Untrusted};

/// How the routes are built.
pub struct RouterConfig {
    /// Timeout and retries of HTTP routes.
    pub delivery: DeliveryConfig,
    /// Sync `file:` routes to disk before answering.
    pub fsync: bool,
    /// The status for events no route takes (else they are answered as usual).
    pub unrouted: Option<u16>,
    /// Answer 200 at once and route in the background.
    pub ack_first: bool,
    /// Whose hints an HTTP route's failures get: the app's (listen: `--forward-timeout`) or a
    /// receiver's (replay and relay: `--timeout`).
    pub peer: Peer,
    pub diag: Diag,
}

/// A built route target; cheap to clone into a background task.
#[derive(Clone)]
enum Sink {
    Http(Arc<Deliverer>),
    Broker(Arc<dyn Publish>),
    File(CaptureWriter),
    Drop,
}

struct Route {
    name: String,
    first: bool,
    matcher: crate::listen::expect::Expectation,
    /// Where it goes, as shown: the URL without its password, `file:PATH` or `drop`.
    shown: String,
    sink: Sink,
}

/// The routes of a run. Shared by listen's connections.
pub struct Router {
    routes: Vec<Route>,
    unrouted: Option<u16>,
    ack_first: bool,
    peer: Peer,
    diag: Diag,
    closers: Mutex<Vec<CaptureCloser>>,
}

/// One route's result, with the app's answer for HTTP routes.
struct Ran {
    note: RouteNote,
    http: bool,
    /// The app's body and content type.
    answer: Option<(Bytes, Option<String>)>,
    /// The answer this failure gives the sender.
    fail_status: u16,
}

impl Router {
    /// Builds the routes: HTTP deliverers, broker publishers (connected through `connect`, so
    /// a wrong URL fails now) and capture files (opened now, on the current runtime).
    pub async fn build<F, Fut>(
        specs: Vec<RouteSpec>,
        config: RouterConfig,
        mut connect: F,
    ) -> anyhow::Result<Router>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<Arc<dyn Publish>>>,
    {
        let mut routes = Vec::with_capacity(specs.len());
        let mut closers = Vec::new();
        let mut files: Vec<(PathBuf, CaptureWriter)> = Vec::new();
        for spec in specs {
            let (shown, sink) = match spec.target {
                TargetSpec::Http(url) => {
                    let deliverer = Deliverer::new(
                        config.delivery.clone(),
                        Target::parse(&url)?,
                        None,
                        tokio::sync::watch::channel(false).1,
                    )?;
                    (
                        crate::deliver::redact_url(&url),
                        Sink::Http(Arc::new(deliverer)),
                    )
                }
                TargetSpec::Broker(url) => {
                    let shown = shown_broker_url(&url);
                    (shown, Sink::Broker(connect(url).await?))
                }
                TargetSpec::File(path) => {
                    // Two routes to one file share its writer, so lines never interleave.
                    let writer = match files.iter().find(|(p, _)| *p == path) {
                        Some((_, writer)) => writer.clone(),
                        None => {
                            let (writer, closer) =
                                CaptureWriter::open(&path, config.fsync, config.diag.clone())?;
                            closers.push(closer);
                            files.push((path.clone(), writer.clone()));
                            writer
                        }
                    };
                    (format!("file:{}", path.display()), Sink::File(writer))
                }
                TargetSpec::Drop => ("drop".to_owned(), Sink::Drop),
            };
            routes.push(Route {
                name: spec.name,
                first: spec.first,
                matcher: spec.matcher,
                shown,
                sink,
            });
        }
        Ok(Router {
            routes,
            unrouted: config.unrouted,
            ack_first: config.ack_first,
            peer: config.peer,
            diag: config.diag,
            closers: Mutex::new(closers),
        })
    }

    /// One line per route, for listen's announcement.
    pub fn describe(&self) -> Vec<String> {
        self.routes
            .iter()
            .map(|r| {
                format!(
                    "route {}: {}{} -> {}",
                    r.name,
                    if r.first { "first: " } else { "" },
                    r.matcher.text(),
                    r.shown
                )
            })
            .collect()
    }

    /// The routes `event` takes, in order.
    fn matching(&self, event: &Event) -> Vec<&Route> {
        let mut taken = Vec::new();
        for route in &self.routes {
            if route.matcher.matches(event) {
                taken.push(route);
                if route.first {
                    break;
                }
            }
        }
        taken
    }

    /// Routes `event`, notes each route's outcome on it, and gives the sender's answer, or
    /// `None` when no route takes it and there is no `--unrouted` status (answer as usual).
    pub async fn answer(&self, event: &mut Event, responder: &Responder) -> Option<Reply> {
        let taken = self.matching(event);
        if taken.is_empty() {
            return self.unrouted.map(|status| {
                Reply::json(status, &json!({ "error": "no route takes this event" }))
            });
        }
        if self.ack_first {
            let shared = Arc::new(event.clone());
            let routes: Vec<(String, String, Sink)> = taken
                .iter()
                .map(|r| (r.name.clone(), r.shown.clone(), r.sink.clone()))
                .collect();
            let (diag, peer) = (self.diag.clone(), self.peer);
            tokio::spawn(async move {
                let runs = routes
                    .iter()
                    .map(|(name, shown, sink)| run(name, shown, sink, &shared, peer));
                for ran in join_all(runs).await {
                    report(&diag, &shared.id, &ran.note);
                }
            });
            return Some(responder.reply(event, 200));
        }
        let ran = run_all(&taken, event, self.peer).await;
        for r in &ran {
            if !r.note.ok {
                report(&self.diag, &event.id, &r.note);
            }
        }
        // One app alone answers for itself, whatever its status (as with --forward-to).
        let single_app = ran.len() == 1 && ran[0].http;
        let reply = match ran.iter().find(|r| !r.note.ok && !single_app) {
            Some(failed) => {
                let why = failed.note.error.clone().unwrap_or_default();
                let mut reply = Reply::json(
                    failed.fail_status,
                    &json!({ "error": format!("hookctl could not route the event to {}: {why}", failed.note.name) }),
                );
                if failed.fail_status == 503 {
                    reply
                        .headers
                        .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
                }
                reply
            }
            None => {
                let mut http = ran.iter().filter(|r| r.http);
                match (http.next(), http.next()) {
                    (Some(only), None) if only.note.status.is_some() => {
                        let (body, content_type) = only.answer.clone().unwrap_or_default();
                        Reply::passthrough(
                            only.note.status.unwrap_or(200),
                            body,
                            content_type.as_deref(),
                        )
                    }
                    (Some(only), None) => {
                        // The only route, an app that gave no answer.
                        Reply::json(
                            502,
                            &json!({ "error": format!("hookctl could not route the event to {}: {}", only.note.name, only.note.error.clone().unwrap_or_default()) }),
                        )
                    }
                    _ => responder.reply(event, 200),
                }
            }
        };
        event.notes.routes = Some(ran.into_iter().map(|r| r.note).collect());
        Some(reply)
    }

    /// Runs the routes `event` takes and gives their outcomes, or `None` when no route takes
    /// it (`replay --route`, where there is no sender to answer).
    pub async fn dispatch(&self, event: &Event) -> Option<Vec<RouteNote>> {
        let taken = self.matching(event);
        if taken.is_empty() {
            return None;
        }
        let ran = run_all(&taken, event, self.peer).await;
        Some(ran.into_iter().map(|r| r.note).collect())
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// True when there are no routes.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Writes what the `file:` routes hold and closes them.
    pub async fn close(&self) {
        let closers = std::mem::take(&mut *self.closers.lock().unwrap_or_else(|e| e.into_inner()));
        for closer in closers {
            closer.close().await;
        }
    }
}

/// Runs the routes taken, all at once.
async fn run_all(taken: &[&Route], event: &Event, peer: Peer) -> Vec<Ran> {
    join_all(
        taken
            .iter()
            .map(|r| run(&r.name, &r.shown, &r.sink, event, peer)),
    )
    .await
}

/// Runs one route.
async fn run(name: &str, shown: &str, sink: &Sink, event: &Event, peer: Peer) -> Ran {
    let started = Instant::now();
    let (ok, status, error, answer, http, fail_status) = match sink {
        Sink::Http(deliverer) => {
            let outcome = deliverer.deliver(event).await;
            let fail_status = match outcome.status {
                Some(s) if s >= 500 => s,
                _ => 502,
            };
            let mut error = outcome
                .error
                .as_ref()
                .map(|e| e.with_hint(peer).to_string());
            if error.is_some() && outcome.attempts > 1 {
                error = error.map(|e| format!("{e} (after {} attempts)", outcome.attempts));
            }
            (
                outcome.is_success(),
                outcome.status,
                error,
                Some((outcome.body, outcome.content_type)),
                true,
                fail_status,
            )
        }
        Sink::Broker(publisher) => match publisher.publish(event).await {
            Ok(()) => (true, None, None, None, false, 503),
            Err(why) => (
                false,
                None,
                Some(format!("not published: {why}")),
                None,
                false,
                503,
            ),
        },
        Sink::File(writer) => match writer.append_event(event).await {
            Ok(()) => (true, None, None, None, false, 500),
            Err(why) => (
                false,
                None,
                Some(format!("not written: {why}")),
                None,
                false,
                500,
            ),
        },
        Sink::Drop => (true, None, None, None, false, 500),
    };
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    Ran {
        note: RouteNote {
            name: name.to_owned(),
            target: shown.to_owned(),
            ok,
            status,
            latency_ms,
            error,
        },
        http,
        answer,
        fail_status,
    }
}

/// A route's failure (or, in the background, its outcome) on stderr.
fn report(diag: &Diag, id: &str, note: &RouteNote) {
    match &note.error {
        Some(why) => diag.error(format_args!(
            "route {} ({}) failed for {}: {why}",
            note.name,
            note.target,
            Untrusted(id)
        )),
        None => diag.note(format_args!(
            "routed {} to {} ({}): {} in {:.1}ms",
            Untrusted(id),
            note.name,
            note.target,
            note.result(),
            note.latency_ms
        )),
    }
}

/// A broker URL without its password, for messages and the capture.
fn shown_broker_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}
