//! A printer thread: output never blocks whoever produces it.
//!
//! A dedicated OS thread owns the writer (normally stdout). Producers hand items over through a
//! bounded queue with [`Printer::print`], which never waits: when the queue is full the item is
//! dropped and counted, so a slow terminal or a pipe nobody reads cannot stall the receiver.
//! Formatting runs on the printer thread too, off the accept path.
//!
//! The queue is a vector behind a mutex, and the printer takes all of it in one swap. It was
//! std's bounded channel, whose receiver spins before it sleeps and while a send is half-way
//! done: on a single core (a receiver pinned next to its load generator) the spinning only
//! delays the thread it waits for. Profiles showed about 2% of `listen --json` there.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::diag::Diag;

/// The most bytes gathered into one write before it is flushed.
const MAX_BATCH_BYTES: usize = 1 << 20;

/// A handle to the printer thread. Clones share the same thread and queue.
pub struct Printer<T: Send + 'static> {
    inner: Arc<Inner<T>>,
}

impl<T: Send + 'static> Clone for Printer<T> {
    fn clone(&self) -> Self {
        Printer {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// Owned by the handles; when the last one goes, the thread is told to stop.
struct Inner<T> {
    shared: Arc<Shared<T>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// How much the queue may hold before further items are dropped: a number of items and a
/// number of bytes, so a few huge items cannot hold gigabytes. An item is always taken when
/// the queue is empty, whatever it weighs.
#[derive(Debug, Clone, Copy)]
pub struct QueueLimit {
    pub items: usize,
    pub bytes: usize,
}

/// What the handles and the thread share.
struct Shared<T> {
    queue: Mutex<Queue<T>>,
    /// Signalled when the queue gains its first item or is closed.
    ready: Condvar,
    limit: QueueLimit,
    /// How many bytes an item holds.
    weigh: fn(&T) -> usize,
    dropped: AtomicU64,
    broken: Arc<AtomicBool>,
}

struct Queue<T> {
    items: Vec<T>,
    /// What the queued items weigh.
    bytes: usize,
    /// Set by `finish` (or the last handle going away): write what is queued, then stop.
    closed: bool,
}

impl<T> Shared<T> {
    fn queue(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn close(&self) {
        self.queue().closed = true;
        self.ready.notify_one();
    }
}

impl<T: Send + 'static> Printer<T> {
    /// Starts the printer thread writing to `writer`.
    ///
    /// The queue holds up to `limit`, items weighed by `weigh`. `format` appends the bytes for
    /// one item; it runs on the printer thread. Drop notices and write errors go to `notices`.
    pub fn spawn(
        writer: Box<dyn Write + Send>,
        limit: QueueLimit,
        notices: Diag,
        weigh: fn(&T) -> usize,
        format: impl Fn(&T, &mut Vec<u8>) + Send + 'static,
    ) -> Printer<T> {
        Printer::spawn_with_notes(writer, limit, notices, weigh, move |item, out| {
            format(item, out);
            None
        })
    }

    /// Like [`Printer::spawn`], with a `format` that keeps state between items and may return
    /// a note for `notices`. The note is said after everything formatted before it has been
    /// written, so it appears in order with the output.
    pub fn spawn_with_notes(
        writer: Box<dyn Write + Send>,
        limit: QueueLimit,
        notices: Diag,
        weigh: fn(&T) -> usize,
        format: impl FnMut(&T, &mut Vec<u8>) -> Option<String> + Send + 'static,
    ) -> Printer<T> {
        let limit = QueueLimit {
            items: limit.items.max(1),
            bytes: limit.bytes,
        };
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                items: Vec::with_capacity(limit.items.min(1024)),
                bytes: 0,
                closed: false,
            }),
            ready: Condvar::new(),
            limit,
            weigh,
            dropped: AtomicU64::new(0),
            broken: Arc::new(AtomicBool::new(false)),
        });
        let worker = Worker {
            shared: Arc::clone(&shared),
            writer,
            notices,
            format,
            reported: 0,
            failed: false,
        };
        let thread = thread::Builder::new()
            .name("hookctl-printer".into())
            .spawn(move || worker.run())
            .expect("the OS refused to start the printer thread");
        Printer {
            inner: Arc::new(Inner {
                shared,
                thread: Mutex::new(Some(thread)),
            }),
        }
    }

    /// Queues `item` without ever blocking. Returns false when it was not queued: the queue was
    /// full (the item is counted in [`Printer::dropped`]), the output is broken, or the printer
    /// has finished.
    pub fn print(&self, item: T) -> bool {
        if self.is_broken() {
            return false;
        }
        let shared = &self.inner.shared;
        let mut queue = shared.queue();
        if queue.closed {
            return false;
        }
        let weight = (shared.weigh)(&item);
        let full = queue.items.len() >= shared.limit.items
            || (!queue.items.is_empty() && queue.bytes.saturating_add(weight) > shared.limit.bytes);
        if full {
            drop(queue);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        queue.bytes += weight;
        queue.items.push(item);
        let first = queue.items.len() == 1;
        drop(queue);
        // Only an empty queue can have the printer waiting on it.
        if first {
            shared.ready.notify_one();
        }
        true
    }

    /// How many items were dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.inner.shared.dropped.load(Ordering::Relaxed)
    }

    /// True once the writer hit a broken pipe; later items are discarded silently.
    pub fn is_broken(&self) -> bool {
        self.inner.shared.broken.load(Ordering::Relaxed)
    }

    /// The flag behind [`Printer::is_broken`], for a server to poll (e.g. to stop when the
    /// reader of `hookctl listen | head` goes away).
    pub fn broken_signal(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.inner.shared.broken)
    }

    /// Writes everything queued so far, flushes, stops the thread and returns the total number
    /// of dropped items. Blocks as long as the writer does; see [`Printer::finish_timeout`].
    ///
    /// Other clones stay usable but their items are no longer printed.
    pub fn finish(self) -> u64 {
        if let Some(thread) = self.take_thread() {
            self.inner.shared.close();
            // An error means the thread is gone already (the format callback panicked).
            let _ = thread.join();
        }
        self.dropped()
    }

    /// Like [`Printer::finish`], but gives up after `timeout` when the writer is stuck (say a
    /// pager that stopped reading). Returns `None` when it gave up; the thread is then left
    /// behind and anything still queued is lost.
    pub fn finish_timeout(self, timeout: Duration) -> Option<u64> {
        let Some(thread) = self.take_thread() else {
            return Some(self.dropped());
        };
        self.inner.shared.close();
        let deadline = Instant::now() + timeout;
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let _ = thread.join();
        Some(self.dropped())
    }

    fn take_thread(&self) -> Option<JoinHandle<()>> {
        let mut slot = match self.inner.thread.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        slot.take()
    }
}

/// How long the printer waits after the first queued item before writing a batch. Each batch
/// costs the receiver's core two wake-ups of this thread; under load, 4 ms made `listen --json`
/// 5-6% faster than 1 ms (2 ms gave half of that, 8 ms no more), measured in alternated runs
/// against the baseline. `listen` queues up to 2,048 events, so a batch overflows it only above
/// 500k events a second.
const GATHER: Duration = Duration::from_millis(4);

/// The state owned by the printer thread.
struct Worker<T, F> {
    shared: Arc<Shared<T>>,
    writer: Box<dyn Write + Send>,
    notices: Diag,
    format: F,
    /// The dropped count already reported on stderr.
    reported: u64,
    /// A write failed with something other than a broken pipe; output is discarded.
    failed: bool,
}

impl<T, F: FnMut(&T, &mut Vec<u8>) -> Option<String>> Worker<T, F> {
    fn run(mut self) {
        let mut buf = Vec::new();
        let mut batch = Vec::new();
        loop {
            let closed = {
                let mut queue = self.shared.queue();
                while queue.items.is_empty() && !queue.closed {
                    queue = self
                        .shared
                        .ready
                        .wait(queue)
                        .unwrap_or_else(|e| e.into_inner());
                }
                if !queue.closed {
                    // Let a burst gather before taking it: under load this makes one wake-up
                    // and one write per batch instead of per event, and costs a human reader
                    // nothing.
                    drop(queue);
                    thread::sleep(GATHER);
                    queue = self.shared.queue();
                }
                // Everything queued, in one swap; the emptied batch is the next queue.
                std::mem::swap(&mut queue.items, &mut batch);
                queue.bytes = 0;
                queue.closed
            };
            for item in batch.drain(..) {
                if !self.discarding() {
                    let mark = buf.len();
                    if let Some(note) = (self.format)(&item, &mut buf) {
                        // What came before the note is written first; this item's own
                        // output follows it.
                        let own = buf.split_off(mark);
                        self.write(&buf);
                        buf.clear();
                        if !self.discarding() {
                            self.notices.note(note);
                        }
                        buf.extend_from_slice(&own);
                    }
                }
                if buf.len() >= MAX_BATCH_BYTES {
                    self.write(&buf);
                    buf.clear();
                }
            }
            self.report_drops();
            self.write(&buf);
            buf.clear();
            if closed {
                break;
            }
        }
    }

    fn discarding(&self) -> bool {
        self.failed || self.shared.broken.load(Ordering::Relaxed)
    }

    /// One notice on stderr for the items dropped since the last one.
    fn report_drops(&mut self) {
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
        if dropped > self.reported && !self.discarding() {
            let missed = dropped - self.reported;
            let noun = if missed == 1 { "event" } else { "events" };
            self.notices.note(format_args!(
                "output too slow: {missed} {noun} not printed (capture unaffected)"
            ));
            self.reported = dropped;
        }
    }

    /// One write and flush for the batch.
    fn write(&mut self, buf: &[u8]) {
        if buf.is_empty() || self.discarding() {
            return;
        }
        let result = self
            .writer
            .write_all(buf)
            .and_then(|()| self.writer.flush());
        match result {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.shared.broken.store(true, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed = true;
                self.notices.error(format_args!("cannot write output: {e}"));
            }
        }
    }
}

#[cfg(test)]
#[path = "printer_tests.rs"]
mod tests;
