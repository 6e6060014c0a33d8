//! Runs many deliveries: a cap on deliveries in flight, a rate limit, and Ctrl-C handling.
//! `send --count`, `replay` and forwarding feed it events; a [`Sink`] sees every outcome.
//!
//! Deliveries run on the engine's own task, in lanes made once and reused (no task or future
//! per event), and the sink is called on that task as each one finishes, so it needs no
//! locking.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt as _};
use tokio::sync::{mpsc, watch};
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

/// Events taken from the source at once, so a producer on another thread is woken once per
/// batch rather than once per event.
const BATCH: usize = 256;

/// What the engine does next.
enum Step {
    Stop,
    Finished,
    /// The rate limit lets the next event start.
    Paced,
    Received(usize),
    Flush,
}

/// Delivers everything `source` yields until it ends or `stop` turns true. Returns true when
/// stopped early. In-flight deliveries always finish (or time out) before it returns.
///
/// Up to `concurrency` lanes deliver one event at a time each; a lane is a future made once
/// and reused, polled by this task, so an event costs no task or future allocation.
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
    mut source: mpsc::Receiver<Event>,
    stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<bool> {
    let capacity = config.concurrency.max(1);
    let mut pacer = config.rate.map(Pacer::new);
    let lanes = Lanes::default();
    let mut running = FuturesUnordered::new();
    let mut queue: VecDeque<Event> = VecDeque::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut busy = 0;
    let mut source_open = true;
    let stopping = stop_requested(stop);
    tokio::pin!(stopping);
    let flush_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(flush_timer);
    // When the rate limit lets the next event start.
    let mut next_start = None;
    let pace_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(pace_timer);
    let mut held = false;
    let mut stopped = false;
    loop {
        while let Some((event, outcome)) = lanes.next_finished() {
            busy -= 1;
            sink.outcome(event, outcome)?;
            if !held {
                held = true;
                flush_timer.as_mut().reset(Instant::now() + FLUSH_EVERY);
            }
        }
        while busy < capacity && !queue.is_empty() {
            if let Some(pacer) = pacer.as_mut() {
                let at = *next_start.get_or_insert_with(|| pacer.next_deadline());
                if at > Instant::now() {
                    pace_timer.as_mut().reset(at);
                    break;
                }
                next_start = None;
            }
            let Some(event) = queue.pop_front() else {
                break;
            };
            busy += 1;
            if let Some(new_lane) = lanes.start(event) {
                running.push(lane(new_lane, &lanes, deliverer));
            }
        }
        if !source_open && queue.is_empty() && busy == 0 {
            break;
        }
        let step = tokio::select! {
            biased;
            _ = &mut stopping => Step::Stop,
            () = lanes.drive(&mut running), if busy > 0 => Step::Finished,
            _ = &mut pace_timer, if next_start.is_some() => Step::Paced,
            // While the source is idle (--follow, --speed), finished deliveries are still
            // reported: the lanes' branch comes first.
            n = source.recv_many(&mut batch, BATCH), if source_open && queue.is_empty() => {
                Step::Received(n)
            }
            _ = &mut flush_timer, if held => Step::Flush,
        };
        match step {
            Step::Stop => {
                stopped = true;
                break;
            }
            Step::Finished | Step::Paced => {}
            Step::Received(0) => source_open = false,
            Step::Received(_) => queue.extend(batch.drain(..)),
            Step::Flush => {
                sink.flush()?;
                held = false;
            }
        }
    }
    // Stopped: what is in flight finishes (or times out), and is reported as it does.
    while busy > 0 {
        lanes.drive(&mut running).await;
        while let Some((event, outcome)) = lanes.next_finished() {
            busy -= 1;
            sink.outcome(event, outcome)?;
        }
        sink.flush()?;
    }
    Ok(stopped)
}

/// The state lanes share with the engine loop: each lane's next event, the waker of each lane
/// waiting for one, idle lanes, and finished deliveries in completion order.
#[derive(Default)]
struct Lanes {
    jobs: RefCell<Vec<Option<Event>>>,
    wakers: RefCell<Vec<Option<Waker>>>,
    idle: RefCell<Vec<usize>>,
    finished: RefCell<VecDeque<(Event, Outcome)>>,
}

impl Lanes {
    /// Hands `event` to an idle lane. Returns the number of a new lane to start when none
    /// was idle.
    fn start(&self, event: Event) -> Option<usize> {
        let mut jobs = self.jobs.borrow_mut();
        match self.idle.borrow_mut().pop() {
            Some(lane) => {
                jobs[lane] = Some(event);
                if let Some(waker) = &self.wakers.borrow()[lane] {
                    waker.wake_by_ref();
                }
                None
            }
            None => {
                jobs.push(Some(event));
                self.wakers.borrow_mut().push(None);
                Some(jobs.len() - 1)
            }
        }
    }

    /// The next event for `lane`, once there is one.
    fn take_job(&self, lane: usize, cx: &mut Context<'_>) -> Poll<Event> {
        match self.jobs.borrow_mut()[lane].take() {
            Some(event) => Poll::Ready(event),
            None => {
                let mut wakers = self.wakers.borrow_mut();
                if !wakers[lane]
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    wakers[lane] = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    fn finish(&self, lane: usize, event: Event, outcome: Outcome) {
        self.finished.borrow_mut().push_back((event, outcome));
        self.idle.borrow_mut().push(lane);
    }

    fn next_finished(&self) -> Option<(Event, Outcome)> {
        self.finished.borrow_mut().pop_front()
    }

    /// Runs the lanes until at least one delivery has finished.
    async fn drive<F: Future<Output = ()>>(&self, running: &mut FuturesUnordered<F>) {
        poll_fn(|cx| {
            // Lanes never complete; polling runs the ones that were woken.
            let _ = running.poll_next_unpin(cx);
            if self.finished.borrow().is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }
}

/// One lane: delivers the events handed to it, one at a time, for as long as the engine runs.
async fn lane(number: usize, lanes: &Lanes, deliverer: &Deliverer) {
    loop {
        let event = poll_fn(|cx| lanes.take_job(number, cx)).await;
        let outcome = deliverer.deliver(&event).await;
        lanes.finish(number, event, outcome);
    }
}

/// Completes once `stop` turns true. A stop sender that was dropped never stops anything.
async fn stop_requested(mut stop: watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
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
