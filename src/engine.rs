//! Runs many deliveries: a cap on deliveries in flight, a rate limit, and Ctrl-C handling.
//! `send --count`, `replay` and forwarding feed it events; a [`Sink`] sees every outcome.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::deliver::{Deliverer, Outcome};
use crate::event::Event;
use crate::units::Rate;

/// How many deliveries run at once, and how fast they may start.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub concurrency: usize,
    pub rate: Option<Rate>,
}

/// Receives each finished delivery, in completion order.
pub trait Sink {
    fn outcome(&mut self, event: Event, outcome: Outcome) -> anyhow::Result<()>;
}

/// Paces starts at a fixed rate against absolute deadlines, so it does not drift while events
/// keep coming. Time spent waiting for events is not saved up: after an idle spell the next
/// start is spaced from now, never a burst to catch up.
pub struct Pacer {
    next: Instant,
    period: Duration,
}

impl Pacer {
    pub fn new(rate: Rate) -> Pacer {
        Pacer {
            next: Instant::now(),
            period: rate.period(),
        }
    }

    /// The instant the next start is allowed.
    pub fn next_deadline(&mut self) -> Instant {
        let at = self.next.max(Instant::now());
        self.next = at + self.period;
        at
    }
}

/// Delivers everything `source` yields until it ends or `stop` turns true. Returns true when
/// stopped early. In-flight deliveries always finish (or time out) before it returns.
pub async fn run(
    deliverer: Arc<Deliverer>,
    config: EngineConfig,
    mut source: mpsc::Receiver<Event>,
    mut stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<bool> {
    let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut pacer = config.rate.map(Pacer::new);
    let mut in_flight = JoinSet::new();
    let mut stopped = false;
    loop {
        let permit = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => { stopped = true; break; }
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() && permits.available_permits() == 0 => {
                let (event, outcome) = done?;
                sink.outcome(event, outcome)?;
                continue;
            }
            permit = permits.clone().acquire_owned() => permit?,
        };
        let event = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => { stopped = true; break; }
            event = source.recv() => match event {
                Some(event) => event,
                None => break,
            },
            // While the source is idle (--follow, --speed), report what has finished.
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                let (event, outcome) = done?;
                sink.outcome(event, outcome)?;
                continue;
            }
        };
        if let Some(pacer) = pacer.as_mut() {
            tokio::select! {
                biased;
                _ = stop.wait_for(|s| *s) => { stopped = true; break; }
                _ = tokio::time::sleep_until(pacer.next_deadline()) => {}
            }
        }
        let deliverer = deliverer.clone();
        in_flight.spawn(async move {
            let outcome = deliverer.deliver(&event).await;
            drop(permit);
            (event, outcome)
        });
        while let Some(done) = in_flight.try_join_next() {
            let (event, outcome) = done?;
            sink.outcome(event, outcome)?;
        }
    }
    while let Some(done) = in_flight.join_next().await {
        let (event, outcome) = done?;
        sink.outcome(event, outcome)?;
    }
    Ok(stopped)
}

/// A stop signal that turns true on Ctrl-C or SIGTERM.
pub fn stop_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = tx.send(true);
    });
    rx
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
