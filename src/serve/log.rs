//! A channel's durable log: its events as capture lines, each with the channel's sequence
//! number (`{"v":1,"seq":N,...}`), in segment files named by their first sequence number
//! (`00000000000000000001.jsonl`). Lines are appended through the capture writer, so an event
//! is acknowledged only once it is in the file, and the segments outlive the process: sequence
//! numbers continue after a restart.
//!
//! In memory a channel keeps an index (sequence number, time, segment) of the events it still
//! retains, and a short cache of its latest lines for live subscribers. Older events are read
//! back from the segments. Retention (`--retain`, `--retain-events`) drops events from the
//! index at once and deletes a segment file once every event in it is dropped.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::watch;

pub use super::segment::seq_of;
use super::segment::{millis, numbered, read_segment, scan_segment, segment_path};
use crate::event::Event;
use crate::listen::capture::{CaptureCloser, CaptureError, CaptureWriter};
use crate::output::diag::Diag;

/// A segment takes at most this many events...
const SEGMENT_EVENTS: u64 = 1000;
/// ...or this many bytes (one larger event may pass it).
const SEGMENT_BYTES: u64 = 64 << 20;
/// Latest events kept in memory per channel, for live subscribers.
const CACHE_EVENTS: usize = 1024;
/// ...and at most this many bytes of them.
const CACHE_BYTES: usize = 8 << 20;
/// How long a line stays in the cache: live subscribers take it well within this.
const CACHE_AGE: Duration = Duration::from_secs(10);
/// A read from the segments returns at most this many events...
pub(super) const READ_EVENTS: usize = 256;
/// ...or about this many bytes.
pub(super) const READ_BYTES: usize = 16 << 20;
/// A segment writer idle this long is closed, so idle channels hold no file open.
const WRITER_IDLE: Duration = Duration::from_secs(60);

/// How long a channel keeps its events.
#[derive(Debug, Clone)]
pub struct Retention {
    /// Events older than this are dropped.
    pub age: Duration,
    /// At most this many events are kept.
    pub events: u64,
}

/// Settings every channel log shares.
pub struct LogSettings {
    pub retention: Retention,
    /// fsync each batch before acknowledging it.
    pub fsync: bool,
    /// The bytes of cached lines across every channel, and their cap.
    pub cache: CacheBudget,
    pub diag: Diag,
    /// Sequence numbers are given from outside ([`ChannelLog::append_at`]) and may skip, so
    /// a gap's size cannot be told from them.
    pub sparse: bool,
}

/// The memory every channel's cache may take together.
pub struct CacheBudget {
    used: AtomicUsize,
    max: usize,
}

impl CacheBudget {
    pub fn new(max: usize) -> CacheBudget {
        CacheBudget {
            used: AtomicUsize::new(0),
            max,
        }
    }

    /// Bytes cached now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}

/// One stored event: its sequence number and capture line (with the newline).
pub struct Stored {
    pub seq: u64,
    pub line: Bytes,
    /// The smee rendering, made once for every smee subscriber.
    smee: OnceLock<Bytes>,
    cached_at: Instant,
}

impl Stored {
    pub(super) fn new(seq: u64, line: Bytes) -> Stored {
        Stored {
            seq,
            line,
            smee: OnceLock::new(),
            cached_at: Instant::now(),
        }
    }

    /// The event's smee rendering, made by `render` the first time it is asked for.
    pub fn smee(&self, render: impl FnOnce(&[u8]) -> Bytes) -> Bytes {
        self.smee.get_or_init(|| render(&self.line)).clone()
    }
}

/// Events a subscriber gets next.
#[derive(Default)]
pub struct Batch {
    /// Retention dropped events the subscriber has not seen.
    pub gap: Option<Gap>,
    pub events: Vec<Arc<Stored>>,
}

/// Events dropped by retention before a subscriber saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The subscriber's last event.
    pub after: u64,
    /// The first event still stored (or the next to come).
    pub next: u64,
    /// How many were dropped in between; unknown when sequence numbers skip
    /// ([`LogSettings::sparse`]).
    pub missed: Option<u64>,
}

/// Why an event could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("cannot store the event: {0}")]
    Write(#[from] CaptureError),
    #[error("cannot store the event: {0}")]
    Io(#[from] io::Error),
}

pub(super) struct Entry {
    pub(super) seq: u64,
    pub(super) received_ms: u64,
    /// The first sequence number of the segment holding it.
    pub(super) segment: u64,
}

#[derive(Clone, Copy)]
pub(super) struct Segment {
    pub(super) start: u64,
    pub(super) events: u64,
    pub(super) bytes: u64,
}

struct State {
    next_seq: u64,
    index: VecDeque<Entry>,
    /// The segment files, oldest first.
    segments: Vec<Segment>,
    /// A contiguous run of the latest stored lines.
    cache: VecDeque<Arc<Stored>>,
    cache_bytes: usize,
    /// The highest sequence number retention dropped (0: none). Sequence numbers may skip
    /// ([`LogSettings::sparse`]), so only this tells whether events after a point are gone.
    dropped_upto: u64,
}

impl State {
    fn first_retained(&self) -> u64 {
        self.index.front().map_or(self.next_seq, |e| e.seq)
    }

    /// Drops the oldest event retained.
    fn drop_oldest(&mut self) {
        if let Some(gone) = self.index.pop_front() {
            self.dropped_upto = self.dropped_upto.max(gone.seq);
        }
    }
}

struct Active {
    start: u64,
    writer: CaptureWriter,
    closer: CaptureCloser,
    last_write: Instant,
}

/// One channel's log.
pub struct ChannelLog {
    dir: PathBuf,
    settings: Arc<LogSettings>,
    writer: tokio::sync::Mutex<Option<Active>>,
    state: Mutex<State>,
    /// The highest sequence number known to be in the file.
    committed: watch::Sender<u64>,
    /// Events dropped by retention since the start.
    dropped: std::sync::atomic::AtomicU64,
}

impl ChannelLog {
    /// Opens the log in `dir` (creating it), reading what its segments hold: the next
    /// sequence number and the index. A line cut short by a crash at the end of the newest
    /// segment (it was never acknowledged) is removed.
    pub fn open(dir: &Path, settings: Arc<LogSettings>) -> io::Result<ChannelLog> {
        std::fs::create_dir_all(dir)?;
        let mut starts = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(start) = name
                .strip_suffix(".jsonl")
                .and_then(|s| s.parse::<u64>().ok())
            {
                starts.push(start);
            }
        }
        starts.sort_unstable();
        let mut state = State {
            next_seq: 1,
            index: VecDeque::new(),
            segments: Vec::new(),
            cache: VecDeque::new(),
            cache_bytes: 0,
            // A segment is named by the number after the last one before it, so one named
            // past 1 means events before it, gone with their segments.
            dropped_upto: starts.first().map_or(0, |s| s.saturating_sub(1)),
        };
        let newest = starts.last().copied();
        for start in starts {
            let path = segment_path(dir, start);
            let segment = scan_segment(
                &path,
                start,
                Some(start) == newest,
                &mut state.index,
                &settings.diag,
            )?;
            state.next_seq = state.next_seq.max(start);
            if let Some(last) = state.index.back() {
                state.next_seq = state.next_seq.max(last.seq + 1);
            }
            state.segments.push(segment);
        }
        let last = state.next_seq - 1;
        let log = ChannelLog {
            dir: dir.to_path_buf(),
            settings,
            writer: tokio::sync::Mutex::new(None),
            state: Mutex::new(state),
            committed: watch::Sender::new(last),
            dropped: Default::default(),
        };
        log.drop_expired(&mut log.state(), SystemTime::now());
        Ok(log)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last stored sequence number (0 when none was ever stored).
    pub fn last(&self) -> u64 {
        *self.committed.borrow()
    }

    /// Events dropped by retention since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events stored now.
    pub fn stored(&self) -> u64 {
        self.state().index.len() as u64
    }

    /// How many events after `after`, up to `upto`, are stored now.
    pub fn stored_between(&self, after: u64, upto: u64) -> u64 {
        let state = self.state();
        let from = state.index.partition_point(|e| e.seq <= after);
        let to = state.index.partition_point(|e| e.seq <= upto);
        to.saturating_sub(from) as u64
    }

    /// Changes whenever events are stored; holds the last sequence number.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.committed.subscribe()
    }

    /// Stores `event` and returns its sequence number once its line is in the file.
    pub async fn append(&self, event: &Event) -> Result<u64, AppendError> {
        let mut plain = Vec::with_capacity(event.body.len() + 512);
        event.write_json_line(&mut plain);
        let stored = self.store(&plain, None, millis(event.received_at)).await?;
        Ok(stored.expect("a numbered store always stores"))
    }

    /// Stores the capture line `plain` (as [`Event::write_json_line`] writes it, without
    /// `seq`) as event `seq`, for a relay whose sequence numbers come from elsewhere (the
    /// broker's stream offsets): they increase, but may skip. Returns false, storing nothing,
    /// when `seq` is not past every sequence number this log already gave out (the event was
    /// stored before). On an error nothing is stored and the same `seq` may be tried again.
    pub async fn append_at(
        &self,
        plain: &[u8],
        seq: u64,
        received_ms: u64,
    ) -> Result<bool, AppendError> {
        Ok(self.store(plain, Some(seq), received_ms).await?.is_some())
    }

    /// Stores `plain` as the next event, or as `at`; `None` when `at` is not past the last.
    async fn store(
        &self,
        plain: &[u8],
        at: Option<u64>,
        received_ms: u64,
    ) -> Result<Option<u64>, AppendError> {
        let (seq, written) = {
            let mut writer = self.writer.lock().await;
            if at.is_some_and(|at| at < self.state().next_seq) {
                return Ok(None);
            }
            let active = self.active(&mut writer).await?;
            let mut state = self.state();
            let seq = at.unwrap_or(state.next_seq);
            let line = Bytes::from(numbered(plain, seq));
            let written = active.writer.queue(&line);
            active.last_write = Instant::now();
            state.next_seq = seq + 1;
            let segment = state
                .segments
                .last_mut()
                .expect("the active segment is listed");
            segment.events += 1;
            segment.bytes += line.len() as u64;
            let start = segment.start;
            state.index.push_back(Entry {
                seq,
                received_ms,
                segment: start,
            });
            while state.index.len() as u64 > self.settings.retention.events {
                state.drop_oldest();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            self.cache(&mut state, Arc::new(Stored::new(seq, line)));
            (seq, written)
        };
        match written.await {
            Ok(()) => {
                self.committed.send_if_modified(|last| {
                    let newer = seq > *last;
                    if newer {
                        *last = seq;
                    }
                    newer
                });
                Ok(Some(seq))
            }
            Err(e) => {
                // The batch was cut back out of the file: forget the event.
                let mut state = self.state();
                state.index.retain(|entry| entry.seq != seq);
                if let Some(at) = state.cache.iter().position(|s| s.seq == seq) {
                    if let Some(gone) = state.cache.remove(at) {
                        self.uncache(&mut state, gone.line.len());
                    }
                }
                // A given number may be tried again, when nothing came after it.
                if at.is_some() && state.next_seq == seq + 1 {
                    state.next_seq = seq;
                }
                Err(e.into())
            }
        }
    }

    /// The open segment writer, opened or rolled over to a new segment when needed.
    async fn active<'a>(&self, slot: &'a mut Option<Active>) -> io::Result<&'a mut Active> {
        let newest = self.state().segments.last().copied();
        let full = newest.is_some_and(|s| s.events >= SEGMENT_EVENTS || s.bytes >= SEGMENT_BYTES);
        if full {
            if let Some(old) = slot.take() {
                old.closer.close().await;
            }
        }
        if slot.is_none() {
            let start = match newest {
                Some(segment) if !full => segment.start,
                _ => {
                    let start = self.state().next_seq;
                    self.state().segments.push(Segment {
                        start,
                        events: 0,
                        bytes: 0,
                    });
                    start
                }
            };
            let (writer, closer) = CaptureWriter::open(
                &segment_path(&self.dir, start),
                self.settings.fsync,
                self.settings.diag.clone(),
            )
            .map_err(|e| io::Error::other(e.to_string()))?;
            *slot = Some(Active {
                start,
                writer,
                closer,
                last_write: Instant::now(),
            });
        }
        Ok(slot.as_mut().expect("opened above"))
    }

    /// Adds a line to the cache, keeping it a contiguous run within its caps and the budget.
    fn cache(&self, state: &mut State, stored: Arc<Stored>) {
        let len = stored.line.len();
        while state.cache.len() >= CACHE_EVENTS
            || (!state.cache.is_empty() && state.cache_bytes + len > CACHE_BYTES)
            || (!state.cache.is_empty()
                && self.settings.cache.used() + len > self.settings.cache.max)
        {
            let gone = state.cache.pop_front().expect("not empty");
            self.uncache(state, gone.line.len());
        }
        if len > CACHE_BYTES || self.settings.cache.used() + len > self.settings.cache.max {
            // Not cached: the run must stay contiguous, so readers go to the file instead.
            while let Some(gone) = state.cache.pop_front() {
                self.uncache(state, gone.line.len());
            }
            return;
        }
        state.cache_bytes += len;
        self.settings.cache.used.fetch_add(len, Ordering::Relaxed);
        state.cache.push_back(stored);
    }

    fn uncache(&self, state: &mut State, len: usize) {
        state.cache_bytes -= len;
        self.settings.cache.used.fetch_sub(len, Ordering::Relaxed);
    }

    /// The stored events after `after` (up to a batch), with a gap notice when retention
    /// dropped some of them. Empty when there is nothing newer yet.
    pub async fn read_after(&self, after: u64) -> io::Result<Batch> {
        // A segment deleted by retention while it is being read is looked up again.
        for _ in 0..3 {
            let upto = self.last();
            let (gap, from, segment) = {
                let state = self.state();
                let first = state.first_retained();
                let mut from = after + 1;
                let mut gap = None;
                if from < first && after < upto && after < state.dropped_upto {
                    gap = Some(Gap {
                        after,
                        next: first,
                        missed: (!self.settings.sparse).then(|| first - from),
                    });
                    from = first;
                }
                if from > upto {
                    return Ok(Batch {
                        gap,
                        events: Vec::new(),
                    });
                }
                if state.cache.front().is_some_and(|s| s.seq <= from) {
                    let events = state
                        .cache
                        .iter()
                        .skip_while(|s| s.seq < from)
                        .take_while(|s| s.seq <= upto)
                        .take(READ_EVENTS)
                        .cloned()
                        .collect();
                    return Ok(Batch { gap, events });
                }
                let at = state.index.partition_point(|e| e.seq < from);
                match state.index.get(at) {
                    Some(entry) if entry.seq <= upto => (gap, from, entry.segment),
                    _ => {
                        return Ok(Batch {
                            gap,
                            events: Vec::new(),
                        })
                    }
                }
            };
            let path = segment_path(&self.dir, segment);
            let read = tokio::task::spawn_blocking(move || read_segment(&path, from, upto))
                .await
                .map_err(io::Error::other)?;
            match read {
                Ok(events) => return Ok(Batch { gap, events }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::other(
            "the channel's log changed while it was read; try again",
        ))
    }

    /// Applies retention as of `now`: drops expired events, deletes segment files that hold
    /// only dropped events, trims the cache and closes an idle writer. Returns how many events
    /// were dropped.
    pub async fn expire(&self, now: SystemTime) -> io::Result<u64> {
        let mut writer = self.writer.lock().await;
        let dropped = self.drop_expired(&mut self.state(), now);
        {
            let mut state = self.state();
            let fresh = Instant::now();
            while state
                .cache
                .front()
                .is_some_and(|s| fresh.duration_since(s.cached_at) > CACHE_AGE)
            {
                let gone = state.cache.pop_front().expect("not empty");
                self.uncache(&mut state, gone.line.len());
            }
        }
        if writer
            .as_ref()
            .is_some_and(|a| a.last_write.elapsed() > WRITER_IDLE)
        {
            if let Some(old) = writer.take() {
                old.closer.close().await;
            }
        }
        // Every event gone but the newest segment holds some: start an empty segment named
        // by the next sequence number, so the numbering survives a restart, and delete the
        // rest.
        let roll = {
            let state = self.state();
            state.index.is_empty() && state.segments.last().is_some_and(|s| s.events > 0)
        };
        if roll {
            if let Some(old) = writer.take() {
                old.closer.close().await;
            }
            let start = self.state().next_seq;
            File::options()
                .create(true)
                .append(true)
                .open(segment_path(&self.dir, start))?;
            self.state().segments.push(Segment {
                start,
                events: 0,
                bytes: 0,
            });
        }
        let doomed: Vec<u64> = {
            let mut state = self.state();
            let first = state.first_retained();
            let keep_from = state
                .segments
                .windows(2)
                .position(|pair| pair[1].start > first)
                .unwrap_or(state.segments.len().saturating_sub(1));
            let active = writer.as_ref().map(|a| a.start);
            let doomed: Vec<u64> = state.segments[..keep_from]
                .iter()
                .map(|s| s.start)
                .filter(|&s| Some(s) != active)
                .collect();
            state.segments.retain(|s| !doomed.contains(&s.start));
            doomed
        };
        drop(writer);
        for start in doomed {
            match std::fs::remove_file(segment_path(&self.dir, start)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(dropped)
    }

    fn drop_expired(&self, state: &mut State, now: SystemTime) -> u64 {
        let oldest = millis(now).saturating_sub(self.settings.retention.age.as_millis() as u64);
        let mut dropped = 0;
        while let Some(front) = state.index.front() {
            if front.received_ms >= oldest
                && state.index.len() as u64 <= self.settings.retention.events
            {
                break;
            }
            state.drop_oldest();
            dropped += 1;
        }
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        dropped
    }

    /// Writes what is pending and closes the segment file.
    pub async fn close(&self) {
        if let Some(active) = self.writer.lock().await.take() {
            active.closer.close().await;
        }
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
