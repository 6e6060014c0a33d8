//! Keeping one source connected, and processing its events once, in order.
//!
//! Says what it does on stderr: `connected to URL`, `resumed after #123: 5 missed events`, and
//! `disconnected from URL: REASON; retrying in 4.1s`. An event is processed only when its
//! sequence id is past the last one processed, and that id advances only once the event went
//! through listen's pipeline, so a reconnect or a restart neither skips nor repeats one.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

use super::address::SourceUrl;
use super::backoff::Backoff;
use super::connect::{Connector, Refused};
use super::sse::{Item, Parser, SseEvent};
use super::state::StateFile;
use super::{capture_format, smee, Format, Sink};
use crate::output::diag::{Diag, Untrusted};
use crate::output::{human_bytes, human_duration};

/// A stream silent for this long (no event, no keep-alive; relays ping every 15 s) is taken
/// as lost.
const IDLE_TIMEOUT: Duration = Duration::from_secs(45);

/// One source's follower.
pub struct Follow<S: Sink> {
    pub source: SourceUrl,
    pub connector: Arc<Connector>,
    pub state: Option<Arc<StateFile>>,
    pub diag: Diag,
    /// The sink, once listen is ready to process events.
    pub gate: watch::Receiver<Option<Arc<S>>>,
    pub stop: watch::Receiver<bool>,
    /// Told once, the first time the relay accepts the subscription.
    pub ready: Option<mpsc::Sender<()>>,
    pub max_event: usize,
}

/// How a connected stream ended.
enum Ended {
    Stopped,
    /// The connection is gone, for this reason.
    Lost(String),
}

/// What one follower keeps between connections.
struct Progress {
    /// The last sequence id processed.
    last: Option<u64>,
    /// The relay's `retry:`.
    server_retry: Option<Duration>,
    warned_smee: bool,
    warned_state: bool,
    /// The current connection delivered something (an event, a ping).
    heard: bool,
}

impl<S: Sink> Follow<S> {
    /// Follows the source until stopped; `Err` when retrying cannot help (a refused token, no
    /// such channel).
    pub async fn run(mut self) -> Result<(), String> {
        let shown = self.source.shown().to_owned();
        let mut progress = Progress {
            last: self.state.as_ref().and_then(|s| s.last(&shown)),
            server_retry: None,
            warned_smee: false,
            warned_state: false,
            heard: false,
        };
        if self.source.is_smee() {
            self.warn_smee(&mut progress);
        }
        let mut backoff = Backoff::default();
        let mut connected_once = false;
        loop {
            let opened = tokio::select! {
                opened = self.connector.open(&self.source, progress.last) => opened,
                _ = stopped(&mut self.stop) => return Ok(()),
            };
            let (reason, floor) = match opened {
                Err(Refused::Fatal(why)) => return Err(why),
                Err(Refused::Retry { why, after }) => (why, after),
                Ok(body) => {
                    connected_once = true;
                    self.diag.line(format_args!("connected to {shown}"));
                    if let Some(ready) = self.ready.take() {
                        let _ = ready.send(()).await;
                    }
                    progress.heard = false;
                    let ended = self.stream(body, &mut progress).await;
                    if progress.heard {
                        // The relay spoke: the next wait starts short again.
                        backoff.reset();
                    }
                    match ended {
                        Ended::Stopped => return Ok(()),
                        Ended::Lost(why) => (why, None),
                    }
                }
            };
            let wait = backoff.next(floor.max(progress.server_retry));
            let what = if connected_once {
                "disconnected from"
            } else {
                "cannot connect to"
            };
            self.diag.line(format_args!(
                "{what} {shown}: {}; retrying in {}",
                Untrusted(&reason),
                human_duration(wait)
            ));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(&mut self.stop) => return Ok(()),
            }
        }
    }

    /// Reads one connected stream until it ends.
    async fn stream(&mut self, mut body: Incoming, progress: &mut Progress) -> Ended {
        let mut parser = Parser::new(self.max_event);
        let mut items = Vec::new();
        loop {
            let frame = tokio::select! {
                frame = tokio::time::timeout(IDLE_TIMEOUT, body.frame()) => frame,
                _ = stopped(&mut self.stop) => return Ended::Stopped,
            };
            match frame {
                Err(_) => {
                    return Ended::Lost(format!(
                        "nothing received for {} (not even a keep-alive)",
                        human_duration(IDLE_TIMEOUT)
                    ))
                }
                Ok(None) => return Ended::Lost("the relay closed the stream".to_owned()),
                Ok(Some(Err(e))) => return Ended::Lost(format!("the stream broke: {e}")),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        parser.feed(&data, &mut items);
                    }
                }
            }
            for item in items.drain(..) {
                progress.heard = true;
                match item {
                    Item::Retry(ms) => progress.server_retry = Some(Duration::from_millis(ms)),
                    Item::Comment => {}
                    Item::Event(event) => {
                        if let Some(ended) = self.event(event, progress).await {
                            return ended;
                        }
                    }
                }
            }
        }
    }

    /// Handles one SSE event; `Some` ends the connection.
    async fn event(&mut self, event: SseEvent, progress: &mut Progress) -> Option<Ended> {
        match event.name.as_str() {
            "ready" => {
                self.ready_event(&event.data, progress);
                None
            }
            "gap" => {
                self.gap_event(&event.data, progress);
                None
            }
            "capture" => self.relayed(event, Format::Capture, progress).await,
            "message" => self.relayed(event, Format::Smee, progress).await,
            // `ping`, and names this hookctl does not know.
            _ => None,
        }
    }

    /// `ready`: `{"channel": ID, "last": SEQ, "pending": N}`. Resuming, it says how many events were
    /// missed; starting afresh, SEQ becomes the resume point, so what arrives while a later
    /// reconnect is pending is not lost.
    fn ready_event(&self, data: &str, progress: &mut Progress) {
        #[derive(Deserialize)]
        struct Ready {
            last: Option<u64>,
            /// Stored events after the resume point (a relay whose numbers skip says so).
            pending: Option<u64>,
        }
        let Ok(Ready {
            last: Some(newest),
            pending,
        }) = serde_json::from_str::<Ready>(data)
        else {
            return;
        };
        let Some(after) = progress.last else {
            return self.remember(newest, progress);
        };
        let missed = pending.unwrap_or_else(|| newest.saturating_sub(after));
        self.diag.line(format_args!(
            "resumed after #{after}: {missed} missed event{}",
            if missed == 1 { "" } else { "s" }
        ));
    }

    /// `gap`: retention dropped events before this listen could get them. They cannot come
    /// back, so the resume point moves past them.
    fn gap_event(&self, data: &str, progress: &mut Progress) {
        #[derive(Deserialize)]
        struct Gap {
            after: Option<u64>,
            next: Option<u64>,
            missed: Option<u64>,
        }
        let Ok(gap) = serde_json::from_str::<Gap>(data) else {
            return;
        };
        self.diag.warn(format_args!(
            "{}: {} event(s) after #{} were dropped by the relay's retention before this listen got them; going on from #{}",
            self.source.shown(),
            gap.missed.map_or("some".to_owned(), |n| n.to_string()),
            gap.after.unwrap_or(0),
            gap.next.map_or("the oldest kept".to_owned(), |n| n.to_string()),
        ));
        if let Some(before) = gap.next.and_then(|n| n.checked_sub(1)) {
            if progress.last.is_none_or(|last| before > last) {
                self.remember(before, progress);
            }
        }
    }

    /// Moves the resume point to `seq`, in memory and in the state file.
    fn remember(&self, seq: u64, progress: &mut Progress) {
        progress.last = Some(seq);
        if let Some(state) = &self.state {
            if let Err(e) = state.record(self.source.shown(), seq) {
                if !std::mem::replace(&mut progress.warned_state, true) {
                    self.diag
                        .error(format_args!("{e}; a restart will not resume from #{seq}"));
                }
            }
        }
    }

    /// A relayed request: processed once, in order, then remembered.
    async fn relayed(
        &mut self,
        event: SseEvent,
        format: Format,
        progress: &mut Progress,
    ) -> Option<Ended> {
        let shown = self.source.shown().to_owned();
        let mut seq = event
            .id
            .as_deref()
            .and_then(|id| id.trim().parse::<u64>().ok());
        if let (Some(seq), Some(last)) = (seq, progress.last) {
            if seq <= last {
                // Already processed: sent again after a reconnect.
                return None;
            }
        }
        let number = seq.map_or_else(String::new, |s| format!(" #{s}"));
        let decoded = if event.oversize {
            Err(format!(
                "it is larger than {}; raise --max-body",
                human_bytes(self.max_event)
            ))
        } else {
            match format {
                Format::Capture => capture_format::decode(&event.data).map(|(e, line_seq)| {
                    seq = seq.or(line_seq);
                    e
                }),
                Format::Smee => smee::decode(&event.data),
            }
        };
        match decoded {
            Err(why) => self.diag.error(format_args!(
                "{shown}: skipped event{number}: {}",
                Untrusted(&why)
            )),
            Ok(relayed) => {
                if format == Format::Smee {
                    self.warn_smee(progress);
                }
                let sink = tokio::select! {
                    sink = self.gate.wait_for(Option::is_some) => match sink.ok().and_then(|s| s.clone()) {
                        Some(sink) => sink,
                        None => return Some(Ended::Stopped),
                    },
                    _ = stopped(&mut self.stop) => return Some(Ended::Stopped),
                };
                if let Err(why) = sink.deliver(relayed, format).await {
                    return Some(Ended::Lost(format!(
                        "event{number} could not be kept ({why})"
                    )));
                }
            }
        }
        if let Some(seq) = seq {
            self.remember(seq, progress);
        }
        None
    }

    fn warn_smee(&self, progress: &mut Progress) {
        if !std::mem::replace(&mut progress.warned_smee, true) {
            self.diag.warn(format_args!(
                "{} is a smee channel: smee parses and re-encodes JSON bodies, so signatures may not verify; `hookctl serve` relays the exact bytes",
                self.source.shown()
            ));
        }
    }
}

/// Completes once `stop` is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
