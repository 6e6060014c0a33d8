//! `hookctl listen`: the HTTP receiver ([`server`]), what it does with each delivery
//! ([`handler`]), simulated answers ([`respond`]), forwarding to the app ([`forward`]), CI
//! expectations ([`expect`]) and the capture writer ([`capture`]).
//!
//! [`run`] takes an already-bound listener and a plain [`ListenConfig`], so the binary and
//! in-process tests start it the same way.

pub mod accept;
pub mod admission;
pub mod capture;
pub mod expect;
pub mod forward;
pub mod handler;
pub mod observe;
pub mod respond;
pub mod server;
pub mod stall;
pub mod takeover;

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::exit::{CodedError, Exit};
use crate::output::diag::{Diag, Untrusted};
use crate::output::printer::{Printer, QueueLimit};
use crate::output::view::{View, ViewConfig};
use crate::output::{human_bytes, human_duration, style};
use crate::source::{SourceConfig, Sources};
use capture::CaptureWriter;
use expect::{Expectation, Tracker};
use forward::{ForwardConfig, Forwarder};
pub use handler::{Finish, Origin, Publish, VerifyConfig};
use handler::{HandlerConfig, Printed, Receiver, Shared, Stopper};
use respond::{Responder, ResponseConfig};
use server::{serve, ServerConfig};

/// Events queued for the terminal before further ones are dropped (and counted): 2,048, or
/// 64 MiB of bodies and headers, whichever comes first.
const PRINT_QUEUE: QueueLimit = QueueLimit {
    items: 2048,
    bytes: 64 << 20,
};

/// How long the printer may take to write what is queued when listen stops.
const PRINTER_DRAIN: Duration = Duration::from_secs(2);

/// What listen prints for each delivery on its output.
#[derive(Debug, Clone, Copy)]
pub enum Output {
    /// Nothing.
    Quiet,
    /// One capture record per line (NDJSON); first a `ready` record when `ready` is set.
    Json { ready: bool },
    /// The human rendering: the full view, one line per event, or the full view until it
    /// stops being readable.
    Pretty(ViewConfig),
}

/// Everything `listen` is asked to do.
pub struct ListenConfig {
    pub output: Output,
    /// Where the output goes (stdout for the binary).
    pub stdout: Box<dyn Write + Send>,
    /// Where diagnostics go (stderr for the binary).
    pub diag: Diag,
    pub capture: Option<PathBuf>,
    /// Sync each capture batch to disk before answering.
    pub fsync: bool,
    pub respond: ResponseConfig,
    pub verify: Option<VerifyConfig>,
    pub expectations: Vec<Expectation>,
    /// Stop after this many deliveries.
    pub count: Option<u64>,
    /// Only deliveries carrying this `X-Hookctl-Tag` count.
    pub only_tag: Option<String>,
    pub forward: Option<ForwardConfig>,
    pub publisher: Option<Arc<dyn Publish>>,
    /// `--route`: where each event goes, and what decides the answer.
    pub router: Option<Arc<crate::route::Router>>,
    pub max_body: usize,
    /// How long a client may take to send the request head (and idle between requests).
    pub header_timeout: Duration,
    /// How long a client may take to send a body.
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// A file that gets the URL once listen is ready.
    pub ready_file: Option<PathBuf>,
    /// Relays to subscribe to (`--source`); their events go through the same pipeline.
    pub sources: Option<SourceConfig>,
    /// Who watches each delivery (the web inspector), and serves under `/_hookctl/`.
    pub observer: Option<Arc<dyn observe::Observe>>,
}

/// listen's own port: bound, or turned off (`--no-port`, with `--source`).
pub struct Port(Option<TcpListener>);

impl Port {
    /// No local port: events come only from `--source`.
    pub fn off() -> Port {
        Port(None)
    }
}

impl From<TcpListener> for Port {
    fn from(listener: TcpListener) -> Port {
        Port(Some(listener))
    }
}

/// How a listen run ended, and what it saw.
#[derive(Debug)]
pub struct Finished {
    pub reason: Finish,
    pub events: u64,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Deliveries not printed because the output was too slow.
    pub not_printed: u64,
    /// The report of expectations that were not met, when there were some.
    pub unmet: Option<Vec<String>>,
}

/// Serves `port` and follows the sources until `stop` completes, expectations are met, the
/// timeout passes or the output is closed. Announces itself (`listening on URL` and
/// `subscribed to URL` to the diagnostics) at once; the ready file, and the `ready` record with
/// `--json`, once every source is subscribed and before the first delivery is taken.
pub async fn run(
    port: impl Into<Port>,
    mut config: ListenConfig,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<Finished> {
    let Port(listener) = port.into();
    if let Some(path) = &config.ready_file {
        // A file left by an earlier run must not be mistaken for this run's readiness.
        let _ = std::fs::remove_file(path);
    }
    let started = Instant::now();
    let url = listener
        .as_ref()
        .map(|l| l.local_addr().map(|addr| (addr, format!("http://{addr}"))))
        .transpose()?;
    let _file_size_limit = crate::shutdown::survive_file_size_limit();
    // The capture's commit task runs on this runtime, next to the receiver.
    let capture = config
        .capture
        .as_deref()
        .map(|path| CaptureWriter::open(path, config.fsync, config.diag.clone()))
        .transpose()?;
    let diag = config.diag.clone();
    // The state file is read before anything is announced: a bad one is a plain error.
    let sources = config
        .sources
        .take()
        .map(Sources::<Shared>::new)
        .transpose()?;
    if let Some(observer) = &config.observer {
        observer.started(observe::Started {
            url: url.as_ref().map(|(_, url)| url.as_str()),
            capture: capture.as_ref().map(|(w, _)| w.clone()),
        });
    }
    if let Some((addr, url)) = &url {
        diag.line(format_args!("listening on {url}"));
        if addr.ip().is_unspecified() {
            diag.warn(format_args!(
                "listening on every network interface ({}): anyone who can reach this machine can send events; add --verify SCHEME to refuse unsigned ones",
                addr.ip()
            ));
        }
    }
    let timeout = config.timeout;
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t.saturating_sub(started.elapsed())).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(stop, deadline);
    let mut sources = match sources {
        Some(sources) => match subscribe(sources, &diag, stop.as_mut(), deadline.as_mut()).await? {
            Some(subscribed) => Some(subscribed),
            None => {
                // Stopped, or out of time, before every source was subscribed.
                if let Some((writer, closer)) = capture {
                    drop(writer);
                    closer.close().await;
                }
                if let Some(router) = &config.router {
                    router.close().await;
                }
                return Ok(Finished::before_ready(
                    started,
                    config.expectations,
                    config.count,
                ));
            }
        },
        None => None,
    };
    let shown_sources: Vec<String> = sources.as_ref().map(|(_, s)| s.clone()).unwrap_or_default();
    if let Some(path) = &config.ready_file {
        let ready = match &url {
            Some((_, url)) => url.clone(),
            None => shown_sources.join("\n"),
        };
        write_ready_file(path, &ready)?;
    }
    if let Output::Json { ready: true } = config.output {
        let mut ready = serde_json::json!({ "kind": "ready" });
        if let Some((_, url)) = &url {
            ready["url"] = url.as_str().into();
        }
        ready["pid"] = std::process::id().into();
        if !shown_sources.is_empty() {
            ready["sources"] = shown_sources.clone().into();
        }
        writeln!(config.stdout, "{ready}")?;
        config.stdout.flush()?;
    }
    // Columns the compact view keeps free for the outcomes of --verify and --forward-to.
    let tail = if config.verify.is_some() { 20 } else { 0 }
        + if config.forward.is_some() { 14 } else { 0 };
    let printer = make_printer(config.output, config.stdout, diag.clone(), tail);
    let (stopper, mut finished) = Stopper::new();
    let tracker = (!config.expectations.is_empty() || config.count.is_some())
        .then(|| Tracker::new(config.expectations, config.count));
    let receiver = Arc::new(Receiver::new(HandlerConfig {
        capture: capture.as_ref().map(|(w, _)| w.clone()),
        printer: printer.clone(),
        responder: Responder::new(config.respond),
        verify: config.verify,
        tracker,
        only_tag: config.only_tag,
        forward: config
            .forward
            .map(|f| Arc::new(Forwarder::new(f, diag.clone(), stopper.clone()))),
        publisher: config.publisher,
        router: config.router.clone(),
        observer: config.observer.clone(),
        diag: diag.clone(),
        stopper,
    }));
    if let Some((running, _)) = &sources {
        running.open(Arc::new(Shared(receiver.clone())));
    }
    let broken = printer.as_ref().map(|p| p.broken_signal());
    let observer = config.observer.clone();
    let mut reason = Finish::Running;
    let stopping = async {
        let output_closed = async {
            let Some(broken) = broken else {
                return std::future::pending().await;
            };
            while !broken.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let source_failed = async {
            match &mut sources {
                Some((running, _)) => running.failed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => {}
            why = finished.wait_for(|f| *f != Finish::Running) => {
                if let Ok(why) = why {
                    reason = why.clone();
                }
            }
            why = source_failed => reason = Finish::SourceFailed(why),
            _ = &mut deadline => {}
            _ = output_closed => {}
        }
        if let Some(observer) = &observer {
            observer.stopping();
        }
    };
    let reserved = config.observer.as_ref().and_then(|o| o.reserved());
    match listener {
        Some(listener) => {
            serve(
                listener,
                ServerConfig {
                    max_body: config.max_body,
                    header_timeout: config.header_timeout,
                    body_timeout: config.body_timeout,
                    max_connections: config.max_connections,
                    diag: diag.clone(),
                    reserved,
                },
                Arc::new(Shared(receiver.clone())),
                stopping,
            )
            .await
        }
        None => stopping.await,
    }
    if let Some((running, _)) = sources {
        running.stop().await;
    }
    if let Some((writer, closer)) = capture {
        drop(writer);
        closer.close().await;
    }
    if let Some(router) = &config.router {
        router.close().await;
    }
    // A stuck writer (a pipe nobody reads) must not hold up the exit.
    let not_printed = printer.map_or(0, |p| {
        let dropped = p.dropped();
        p.finish_timeout(PRINTER_DRAIN).unwrap_or(dropped)
    });
    let (events, bytes) = receiver.totals();
    Ok(Finished {
        reason,
        events,
        bytes,
        elapsed: started.elapsed(),
        not_printed,
        unmet: receiver.unmet(),
    })
}

/// Follows every source and waits until each one is subscribed: `Ok(None)` when `stop` or
/// `deadline` came first, an error when a source cannot be followed (a refused token).
async fn subscribe(
    mut sources: Sources<Shared>,
    diag: &Diag,
    stop: std::pin::Pin<&mut impl Future<Output = ()>>,
    deadline: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> anyhow::Result<Option<(Sources<Shared>, Vec<String>)>> {
    let shown = sources.shown();
    for source in &shown {
        diag.line(format_args!("subscribed to {source}"));
    }
    sources.follow(diag);
    let subscribed = tokio::select! {
        subscribed = sources.subscribed() => Some(subscribed),
        _ = stop => None,
        _ = deadline => None,
    };
    match subscribed {
        Some(Ok(())) => Ok(Some((sources, shown))),
        Some(Err(why)) => {
            sources.stop().await;
            Err(CodedError::error(Exit::Error, why))
        }
        None => {
            sources.stop().await;
            Ok(None)
        }
    }
}

impl Finished {
    /// A run that stopped before it was ready: nothing seen, every expectation unmet.
    fn before_ready(
        started: Instant,
        expectations: Vec<Expectation>,
        count: Option<u64>,
    ) -> Finished {
        let tracker = (!expectations.is_empty() || count.is_some())
            .then(|| Tracker::new(expectations, count));
        Finished {
            reason: Finish::Running,
            events: 0,
            bytes: 0,
            elapsed: started.elapsed(),
            not_printed: 0,
            unmet: tracker.map(|t| t.unmet_report()),
        }
    }

    /// Reports the run on `diag` (the summary line, unmet expectations) and gives the exit
    /// code: a forward failure with --exit-on-forward-failure is an error (3), unmet
    /// expectations are 4.
    pub fn report(self, diag: &Diag) -> anyhow::Result<Exit> {
        let mut summary = format!(
            "{} event{} ({}) in {}",
            self.events,
            if self.events == 1 { "" } else { "s" },
            human_bytes(self.bytes as usize),
            human_duration(self.elapsed)
        );
        if self.not_printed > 0 {
            summary.push_str(&format!(
                "; {} not printed (output too slow)",
                self.not_printed
            ));
        }
        diag.line(summary);
        match self.reason {
            Finish::ForwardFailed(why) => Err(CodedError::error(
                Exit::DeliveryFailed,
                format!("forwarding failed, stopping (--exit-on-forward-failure): {why}"),
            )),
            Finish::SourceFailed(why) => Err(CodedError::error(Exit::Error, why)),
            Finish::ExpectationsMet => Ok(Exit::Ok),
            Finish::Running => match self.unmet {
                Some(report) => {
                    diag.line(style::error("timed out waiting for expected events:"));
                    // The report quotes ids, types, paths and headers from requests.
                    for line in report {
                        diag.line(Untrusted(&line));
                    }
                    Ok(Exit::ExpectationFailed)
                }
                None => Ok(Exit::Ok),
            },
        }
    }
}

/// Writes the URL atomically, so a script polling for the file never reads half of it.
fn write_ready_file(path: &Path, url: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("hookctl-tmp");
    std::fs::write(&tmp, format!("{url}\n"))
        .and_then(|_| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write --ready-file {}", path.display()))
}

/// The printer for `output`: NDJSON, the human view, or none.
fn make_printer(
    output: Output,
    out: Box<dyn Write + Send>,
    diag: Diag,
    tail: usize,
) -> Option<Printer<Printed>> {
    match output {
        Output::Quiet => None,
        Output::Json { .. } => Some(Printer::spawn(
            out,
            PRINT_QUEUE,
            diag,
            Printed::weight,
            |item: &Printed, out| item.event.write_json_line(out),
        )),
        Output::Pretty(view) => {
            let mut view = View::new(view, tail);
            Some(Printer::spawn_with_notes(
                out,
                PRINT_QUEUE,
                diag,
                Printed::weight,
                move |item: &Printed, out| {
                    view.render(&item.event, item.forward_body.as_deref(), out)
                },
            ))
        }
    }
}
