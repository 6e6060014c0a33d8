//! `listen --source URL`: subscribe to a relay's event stream (a `hookctl serve` channel, or a
//! smee.io channel) and hand every relayed event to listen's own pipeline, exactly as if it
//! had arrived on listen's port.
//!
//! - [`sse`] parses the Server-Sent Events stream; [`connect`] opens it over the delivery
//!   client's HTTP stack (rustls for `https://`).
//! - [`capture_format`] reads hookctl's format (the relay's capture line, with `seq`) and
//!   [`smee`] smee's `message` events.
//! - [`follow`] keeps one source connected: reconnects with [`backoff`], resumes after the
//!   last sequence id processed (`Last-Event-ID`), drops what it already processed, and keeps
//!   that id in the [`state`] file so a restart resumes too.
//!
//! Which format a source speaks: smee.io is known by its host and asked for smee's format;
//! every other source is asked for hookctl's (`?format=capture`) and each event is read by its
//! name, `capture` (hookctl) or `message` (smee), so a self-hosted smee server works too.

pub mod address;
pub mod backoff;
pub mod capture_format;
pub mod connect;
pub mod follow;
pub mod smee;
pub mod sse;
pub mod state;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

pub use address::SourceUrl;
use connect::Connector;
use follow::Follow;
use state::StateFile;

use crate::event::Event;
use crate::output::diag::Diag;

/// How long stopping waits for an event that is going through the pipeline.
const STOP_DRAIN: Duration = Duration::from_secs(10);

/// The relayed event formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// hookctl's: the provider's exact request.
    Capture,
    /// smee's: JSON bodies parsed and re-encoded on the way.
    Smee,
}

/// Where relayed events go: listen's pipeline. An error means the event could not be kept
/// (not captured, not published); it is fetched again after a backoff.
pub trait Sink: Send + Sync + 'static {
    fn deliver(
        &self,
        event: Event,
        format: Format,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// `--source` and what goes with it.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub sources: Vec<SourceUrl>,
    /// The resume state file (`--source-state`, or next to the capture).
    pub state: Option<PathBuf>,
    /// Certificates to trust besides the webpki roots (for tests with their own CA).
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// The largest event accepted from a stream, in bytes of its data.
    pub max_event: usize,
}

/// The running subscriptions of one listen.
pub struct Sources<S: Sink> {
    /// Sources not subscribed yet.
    waiting: usize,
    ready: mpsc::Receiver<()>,
    fatal: mpsc::Receiver<String>,
    gate: watch::Sender<Option<Arc<S>>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// What [`Sources::follow`] starts.
    pending: Option<Pending>,
}

/// The followers' shared parts, before they start.
struct Pending {
    sources: Vec<SourceUrl>,
    state: Option<Arc<StateFile>>,
    connector: Arc<Connector>,
    ready: mpsc::Sender<()>,
    fatal: mpsc::Sender<String>,
    max_event: usize,
}

impl<S: Sink> Sources<S> {
    /// Opens the state file and prepares the client; nothing connects before
    /// [`Sources::follow`], and nothing is processed before [`Sources::open`] hands over the
    /// sink.
    pub fn new(config: SourceConfig) -> anyhow::Result<Sources<S>> {
        let state = config
            .state
            .as_deref()
            .map(StateFile::open)
            .transpose()?
            .map(Arc::new);
        let connector = Arc::new(Connector::new(&config.extra_roots)?);
        let count = config.sources.len();
        let (ready_tx, ready) = mpsc::channel(count.max(1));
        let (fatal_tx, fatal) = mpsc::channel(count.max(1));
        let (gate, _) = watch::channel(None);
        let (stop, _) = watch::channel(false);
        Ok(Sources {
            waiting: count,
            ready,
            fatal,
            gate,
            stop,
            tasks: Vec::new(),
            pending: Some(Pending {
                sources: config.sources,
                state,
                connector,
                ready: ready_tx,
                fatal: fatal_tx,
                max_event: config.max_event,
            }),
        })
    }

    /// The sources as messages show them.
    pub fn shown(&self) -> Vec<String> {
        self.pending
            .iter()
            .flat_map(|p| p.sources.iter().map(|s| s.shown().to_owned()))
            .collect()
    }

    /// Starts following every source.
    pub fn follow(&mut self, diag: &Diag) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        for source in pending.sources {
            let follow = Follow {
                source,
                connector: pending.connector.clone(),
                state: pending.state.clone(),
                diag: diag.clone(),
                gate: self.gate.subscribe(),
                stop: self.stop.subscribe(),
                ready: Some(pending.ready.clone()),
                max_event: pending.max_event,
            };
            let fatal = pending.fatal.clone();
            self.tasks.push(tokio::spawn(async move {
                if let Err(why) = follow.run().await {
                    let _ = fatal.send(why).await;
                }
            }));
        }
    }

    /// Waits until every source is subscribed (the relay accepted the subscription); the first
    /// error that retrying cannot fix ends the wait.
    pub async fn subscribed(&mut self) -> Result<(), String> {
        while self.waiting > 0 {
            tokio::select! {
                Some(()) = self.ready.recv() => self.waiting -= 1,
                Some(why) = self.fatal.recv() => return Err(why),
            }
        }
        Ok(())
    }

    /// Whether every source has been subscribed.
    pub fn is_subscribed(&self) -> bool {
        self.waiting == 0
    }

    /// Starts processing events into `sink`.
    pub fn open(&self, sink: Arc<S>) {
        self.gate.send_replace(Some(sink));
    }

    /// The first error that retrying cannot fix (pending forever while there is none).
    pub async fn failed(&mut self) -> String {
        match self.fatal.recv().await {
            Some(why) => why,
            None => std::future::pending().await,
        }
    }

    /// Stops following: the events being processed finish (bounded), then every task ends.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        let _ = tokio::time::timeout(STOP_DRAIN, all).await;
    }
}
