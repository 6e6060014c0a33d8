//! Runs many deliveries: a cap on deliveries in flight, a rate limit, and Ctrl-C handling.
//! `send --count`, `replay` and forwarding feed it events; a [`Sink`] sees every outcome.
//!
//! Events flow from the source through the [`Pacer`] into `buffer_unordered`, which runs up to
//! `concurrency` deliveries at once on the engine's own task. The sink is called on that task
//! as each one finishes, so it needs no locking.

use std::cell::Cell;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{self, StreamExt as _};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::deliver::report::{ReportConfig, Reporter};
use crate::deliver::{Deliverer, DeliveryConfig, Outcome, Prepare, Target};
use crate::event::Event;
use crate::shutdown::shutdown_signal;
use crate::units::Rate;

/// How many deliveries run at once, and how fast they may start.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    pub concurrency: usize,
    pub rate: Option<Rate>,
}

/// Where and how a run delivers, and how it reports: what `send` and `replay` share.
pub struct Run {
    pub target: Target,
    /// Changes each event before each attempt (re-signing, a tag).
    pub prepare: Option<Prepare>,
    pub report: ReportConfig,
    pub delivery: DeliveryConfig,
    pub engine: EngineConfig,
}

/// Delivers everything `source` yields to `run.target` and reports each outcome, stopping
/// early on Ctrl-C. Returns the reporter, to finish once the caller has added what it knows,
/// and whether the run was interrupted. Call it within a tokio runtime.
pub async fn deliver_reported(
    run: Run,
    source: mpsc::Receiver<Event>,
) -> anyhow::Result<(Reporter, bool)> {
    let stop = stop_on_signals();
    let deliverer = Deliverer::new(run.delivery, run.target, run.prepare, stop.clone())?;
    let mut reporter = Reporter::new(run.report)?;
    // Ctrl-C takes the bar away at once, while deliveries in flight finish.
    reporter.progress().clear_on(stop.clone());
    let interrupted =
        self::run(Arc::new(deliverer), run.engine, source, stop, &mut reporter).await?;
    Ok((reporter, interrupted))
}

/// Receives each finished delivery, in completion order.
pub trait Sink {
    fn outcome(&mut self, event: Event, outcome: Outcome) -> anyhow::Result<()>;

    /// While `hold` is true the sink may keep its output in a buffer until [`Sink::flush`];
    /// releasing it writes everything held. [`run`] holds output while it runs and flushes
    /// at least every [`FLUSH_EVERY`].
    fn hold_output(&mut self, hold: bool) -> anyhow::Result<()> {
        let _ = hold;
        Ok(())
    }

    /// Writes any output held back.
    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The longest a finished delivery's output waits in a sink's buffer during [`run`].
pub const FLUSH_EVERY: Duration = Duration::from_millis(10);

/// How far behind its schedule a [`Pacer`] may fall and still catch up: enough for a timer
/// that fires on the next millisecond and a busy moment, small enough that an idle spell is
/// not followed by a burst.
const MAX_LAG: Duration = Duration::from_millis(5);

/// Paces starts at a fixed rate against absolute deadlines: each start is due one period
/// after the one before was due, not after it happened, so a timer that fires late costs no
/// rate. A schedule more than [`MAX_LAG`] behind (after an idle spell, or when deliveries
/// cannot keep up) is moved up to that, so at most [`MAX_LAG`]'s worth of starts catch up.
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

    /// Waits until the next start is due.
    pub async fn wait(&mut self) {
        let now = Instant::now();
        let due = match now.checked_sub(MAX_LAG) {
            Some(earliest) => self.next.max(earliest),
            None => self.next,
        };
        self.next = due + self.period;
        if due > now {
            tokio::time::sleep_until(due).await;
        }
    }
}

/// Delivers everything `source` yields until it ends or `stop` turns true. Returns true when
/// stopped early. In-flight deliveries always finish (or time out) before it returns.
pub async fn run(
    deliverer: Arc<Deliverer>,
    config: EngineConfig,
    source: mpsc::Receiver<Event>,
    stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<bool> {
    sink.hold_output(true)?;
    let result = deliver_all(&deliverer, config, source, stop, sink).await;
    // Whatever happened, what was reported so far gets written.
    let released = sink.hold_output(false);
    let stopped = result?;
    released?;
    Ok(stopped)
}

async fn deliver_all(
    deliverer: &Deliverer,
    config: EngineConfig,
    source: mpsc::Receiver<Event>,
    stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<bool> {
    let paced = stream::unfold(
        (source, config.rate.map(Pacer::new)),
        |(mut source, mut pacer)| async move {
            let event = source.recv().await?;
            if let Some(pacer) = pacer.as_mut() {
                pacer.wait().await;
            }
            Some((event, (source, pacer)))
        },
    );
    // Stopped: no new event starts; what is in flight finishes (or times out), and is
    // reported as it does.
    let stopped = Cell::new(false);
    let stopping = async {
        stop_requested(stop).await;
        stopped.set(true);
    };
    let mut finished = pin!(paced
        .take_until(stopping)
        .map(|event| async move {
            let outcome = deliverer.deliver(&event).await;
            (event, outcome)
        })
        .buffer_unordered(config.concurrency.max(1)));
    let mut flush_timer = pin!(tokio::time::sleep(Duration::ZERO));
    let mut held = false;
    loop {
        tokio::select! {
            biased;
            () = &mut flush_timer, if held => {
                sink.flush()?;
                held = false;
            }
            // While the source is idle (--follow, --speed), finished deliveries are still
            // reported.
            done = finished.next() => {
                let Some((event, outcome)) = done else { break };
                sink.outcome(event, outcome)?;
                if !held {
                    held = true;
                    flush_timer.as_mut().reset(Instant::now() + FLUSH_EVERY);
                }
            }
        }
    }
    Ok(stopped.get())
}

/// Completes once `stop` turns true. A stop sender that was dropped never stops anything.
async fn stop_requested(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// A stop signal that turns true on Ctrl-C or SIGTERM. Call it from within a tokio runtime.
pub fn stop_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    // The handlers are in place from here on, before the task first runs.
    let signal = shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        let _ = tx.send(true);
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `count` events through `pacer`, each taking `work` of the clock, and returns
    /// how long that took.
    async fn pace(pacer: &mut Pacer, count: u32, work: Duration) -> Duration {
        let started = Instant::now();
        for _ in 0..count {
            pacer.wait().await;
            tokio::time::advance(work).await;
        }
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_is_kept_when_the_timer_fires_late() {
        // 0.5 ms apart, on a timer that wakes on whole milliseconds, with work in between.
        let mut pacer = Pacer::new(Rate { per_second: 2000.0 });
        let took = pace(&mut pacer, 4000, Duration::from_micros(200)).await;
        let rate = 4000.0 / took.as_secs_f64();
        assert!((rate - 2000.0).abs() < 2000.0 * 0.02, "{rate}/s");

        let mut slow = Pacer::new(Rate { per_second: 30.0 });
        let took = pace(&mut slow, 60, Duration::from_millis(7)).await;
        let rate = 60.0 / took.as_secs_f64();
        assert!((rate - 30.0).abs() < 30.0 * 0.02, "{rate}/s");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_spell_is_not_made_up_for() {
        let mut pacer = Pacer::new(Rate { per_second: 1000.0 });
        pace(&mut pacer, 10, Duration::ZERO).await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let resumed = Instant::now();
        let mut at_once = 0;
        while pace(&mut pacer, 1, Duration::ZERO).await.is_zero() {
            at_once += 1;
        }
        // MAX_LAG's worth (5 starts) and the one due now; then one per period again.
        assert_eq!(at_once, 6);
        let took = pace(&mut pacer, 100, Duration::ZERO).await;
        assert!(took >= Duration::from_millis(99), "{took:?}");
        assert!(resumed.elapsed() < Duration::from_millis(110));
    }
}
