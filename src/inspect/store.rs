//! The events the inspector shows: the lines of a capture file (indexed, read on demand), then
//! events kept in memory — a bounded window of the latest deliveries when listen has no
//! capture, and the events edited and resent in this session. Every event has a [`Key`] that
//! stays the same while it is shown; the page asks for windows of rows, newest first.

use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use super::file_index::{FileIndex, Told};
use super::filter::{Filter, FilterError};
use crate::event::Event;

/// Identifies an event: a file line's index, or [`MEMORY_KEYS`] plus a memory sequence number.
pub type Key = u64;

/// Keys at and above this are events kept in memory.
pub const MEMORY_KEYS: Key = 1 << 48;

/// How many events, and how many body and header bytes, memory keeps at most.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub events: usize,
    pub bytes: usize,
}

/// Without a capture file: the latest 10,000 deliveries, or 256 MiB of them.
pub const MEMORY_LIMITS: Limits = Limits {
    events: 10_000,
    bytes: 256 << 20,
};

/// The app's answers to forwarded events kept for the detail view: the latest 1,000, each
/// cut to 64 KiB.
const ANSWERS_KEPT: usize = 1_000;
const ANSWER_BYTES: usize = 64 << 10;

/// One row: an event, or a capture line that is not one.
#[derive(Debug, Clone)]
pub enum Item {
    Event(Arc<Event>),
    /// A line that does not read as a capture record: its number and why.
    Invalid {
        line: u32,
        why: String,
    },
    /// A valid record of another kind (`ready`, `summary`) in a `--json` stream.
    Other {
        line: u32,
    },
}

/// A window of rows, newest first.
pub struct Window {
    /// Events held (before filtering).
    pub total: usize,
    /// Events that match the filter.
    pub matched: usize,
    pub rows: Vec<(Key, Item)>,
}

struct Ring {
    events: VecDeque<Arc<Event>>,
    /// The sequence number of `events[0]`.
    first: u64,
    bytes: usize,
    limits: Limits,
    /// Events let go of to stay within the limits.
    dropped: u64,
}

/// The matches of the last filter, extended as events arrive.
struct Cache {
    text: String,
    filter: Filter,
    /// File lines looked at.
    file_seen: usize,
    /// The next memory sequence number to look at.
    memory_next: u64,
    matches: Vec<Key>,
}

/// See the module documentation.
pub struct Store {
    file: Option<Mutex<FileIndex>>,
    memory: Mutex<Ring>,
    cache: Mutex<Option<Cache>>,
    /// Bumped whenever there may be new rows; the live feed looks at it.
    version: AtomicU64,
    answers: Mutex<VecDeque<(String, Bytes)>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn weight(e: &Event) -> usize {
    e.body.len()
        + e.headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>()
        + 256
}

impl Store {
    /// A store over memory only.
    pub fn memory(limits: Limits) -> Store {
        Store::new(None, limits)
    }

    /// A store over the capture file at `path`, then memory.
    pub fn file(path: &Path, limits: Limits) -> io::Result<Store> {
        Ok(Store::new(Some(FileIndex::open(path)?), limits))
    }

    fn new(file: Option<FileIndex>, limits: Limits) -> Store {
        Store {
            file: file.map(Mutex::new),
            memory: Mutex::new(Ring {
                events: VecDeque::new(),
                first: 0,
                bytes: 0,
                limits,
                dropped: 0,
            }),
            cache: Mutex::new(None),
            version: AtomicU64::new(0),
            answers: Mutex::new(VecDeque::new()),
        }
    }

    /// True when the rows come from a file.
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// How many events memory let go of to stay within its limits, and the limits.
    pub fn memory_state(&self) -> (u64, Limits) {
        let ring = lock(&self.memory);
        (ring.dropped, ring.limits)
    }

    /// Adds an event to memory (dropping the oldest past the limits) and tells watchers.
    pub fn push(&self, event: Arc<Event>) -> Key {
        let key = {
            let mut ring = lock(&self.memory);
            ring.bytes += weight(&event);
            ring.events.push_back(event);
            while ring.events.len() > ring.limits.events
                || (ring.bytes > ring.limits.bytes && ring.events.len() > 1)
            {
                if let Some(old) = ring.events.pop_front() {
                    ring.bytes -= weight(&old);
                    ring.first += 1;
                    ring.dropped += 1;
                }
            }
            MEMORY_KEYS + ring.first + ring.events.len() as u64 - 1
        };
        self.changed();
        key
    }

    /// Notes that there may be new rows (a line appended to the file). It is called for
    /// every delivery, so it only bumps a counter: the live feed looks at it.
    pub fn changed(&self) {
        self.version.fetch_add(1, Ordering::Relaxed);
    }

    /// A number that changes whenever there may be new rows.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Relaxed)
    }

    /// Where listen's capture writer tells the file index what it appends, when the rows
    /// come from a file.
    pub fn told(&self) -> Option<Arc<Told>> {
        self.file.as_ref().map(|f| lock(f).told())
    }

    /// Keeps the app's answer to a forwarded event, for its detail view.
    pub fn keep_answer(&self, id: &str, body: &Bytes) {
        let mut answers = lock(&self.answers);
        if answers.len() >= ANSWERS_KEPT {
            answers.pop_front();
        }
        answers.push_back((id.to_owned(), body.slice(..body.len().min(ANSWER_BYTES))));
    }

    /// The app's answer to the event with this id, when it is still kept.
    pub fn answer(&self, id: &str) -> Option<Bytes> {
        lock(&self.answers)
            .iter()
            .rev()
            .find(|(i, _)| i == id)
            .map(|(_, b)| b.clone())
    }

    /// File lines and memory events now held; the file index is brought up to date first.
    fn counts(&self) -> io::Result<(usize, u64, usize)> {
        let file_len = match &self.file {
            Some(f) => {
                let mut f = lock(f);
                f.refresh()?;
                f.len()
            }
            None => 0,
        };
        let ring = lock(&self.memory);
        Ok((file_len, ring.first, ring.events.len()))
    }

    /// The row for `key`, if it is still held.
    pub fn get(&self, key: Key) -> io::Result<Option<Item>> {
        if key >= MEMORY_KEYS {
            let ring = lock(&self.memory);
            let seq = key - MEMORY_KEYS;
            return Ok(seq
                .checked_sub(ring.first)
                .and_then(|i| ring.events.get(i as usize))
                .map(|e| Item::Event(e.clone())));
        }
        let Some(file) = &self.file else {
            return Ok(None);
        };
        let mut file = lock(file);
        if key as usize >= file.len() {
            return Ok(None);
        }
        let (line, number) = file.line(key as usize)?;
        Ok(Some(item_of(&line, number)))
    }

    /// Rows `offset..offset + limit` of those matching `filter`, newest first.
    pub fn window(
        &self,
        filter: &str,
        offset: usize,
        limit: usize,
    ) -> io::Result<Result<Window, FilterError>> {
        let (file_len, first, memory_len) = self.counts()?;
        let total = file_len + memory_len;
        let keys: Vec<Key>;
        let matched;
        if filter.trim().is_empty() {
            matched = total;
            keys = (offset..total.min(offset.saturating_add(limit)))
                .map(|p| {
                    let i = total - 1 - p;
                    if i < file_len {
                        i as Key
                    } else {
                        MEMORY_KEYS + first + (i - file_len) as u64
                    }
                })
                .collect();
        } else {
            let matches = match self.matches(filter)? {
                Ok(m) => m,
                Err(e) => return Ok(Err(e)),
            };
            matched = matches.len();
            keys = (offset..matched.min(offset.saturating_add(limit)))
                .map(|p| matches[matched - 1 - p])
                .collect();
        }
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(item) = self.get(key)? {
                rows.push((key, item));
            }
        }
        Ok(Ok(Window {
            total,
            matched,
            rows,
        }))
    }

    /// The keys of every event matching `filter`, oldest first (for exports).
    pub fn matching(&self, filter: &str) -> io::Result<Result<Vec<Key>, FilterError>> {
        let (file_len, first, memory_len) = self.counts()?;
        if filter.trim().is_empty() {
            let mut keys: Vec<Key> = (0..file_len as Key).collect();
            keys.extend((0..memory_len as u64).map(|i| MEMORY_KEYS + first + i));
            return Ok(Ok(keys));
        }
        self.matches(filter)
    }

    /// The matches of `filter`, brought up to date with the file and memory.
    fn matches(&self, text: &str) -> io::Result<Result<Vec<Key>, FilterError>> {
        let mut cache = lock(&self.cache);
        if cache.as_ref().is_none_or(|c| c.text != text) {
            let filter = match Filter::parse(text) {
                Ok(f) => f,
                Err(e) => return Ok(Err(e)),
            };
            *cache = Some(Cache {
                text: text.to_owned(),
                filter,
                file_seen: 0,
                memory_next: 0,
                matches: Vec::new(),
            });
        }
        let Some(cache) = cache.as_mut() else {
            unreachable!("set above")
        };
        if let Some(file) = &self.file {
            let mut file = lock(file);
            file.refresh()?;
            if file.len() < cache.file_seen {
                // The file was replaced: start over.
                cache.file_seen = 0;
                cache.memory_next = 0;
                cache.matches.clear();
            }
            let filter = &cache.filter;
            let mut found = Vec::new();
            file.for_each_line(cache.file_seen, |i, line| {
                if !filter.may_match_line(line) {
                    return;
                }
                if let Ok(Some(e)) = Event::from_json_line(line) {
                    if filter.matches(&e) {
                        found.push(i as Key);
                    }
                }
            })?;
            cache.file_seen = file.len();
            // File keys come before memory keys.
            let at = cache.matches.partition_point(|k| *k < MEMORY_KEYS);
            cache.matches.splice(at..at, found);
        }
        let ring = lock(&self.memory);
        let start = cache.memory_next.max(ring.first);
        for seq in start..ring.first + ring.events.len() as u64 {
            if cache
                .filter
                .matches(&ring.events[(seq - ring.first) as usize])
            {
                cache.matches.push(MEMORY_KEYS + seq);
            }
        }
        cache.memory_next = ring.first + ring.events.len() as u64;
        // Forget memory events that were let go of.
        let from = cache.matches.partition_point(|k| *k < MEMORY_KEYS);
        let to = cache
            .matches
            .partition_point(|k| *k < MEMORY_KEYS + ring.first);
        cache.matches.drain(from..to.max(from));
        Ok(Ok(cache.matches.clone()))
    }
}

/// What a capture line holds.
fn item_of(line: &[u8], number: u32) -> Item {
    match Event::from_json_line(line) {
        Ok(Some(e)) => Item::Event(Arc::new(e)),
        Ok(None) => Item::Other { line: number },
        Err(why) => Item::Invalid {
            line: number,
            why: why.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn event(body: &str) -> Event {
        Event::from_parts(
            "POST",
            "/",
            None,
            crate::event::Headers::new(),
            Bytes::from(body.to_owned()),
            SystemTime::UNIX_EPOCH,
        )
    }

    fn bodies(w: &Window) -> Vec<String> {
        w.rows
            .iter()
            .map(|(_, item)| match item {
                Item::Event(e) => String::from_utf8_lossy(&e.body).into_owned(),
                Item::Invalid { line, .. } => format!("invalid:{line}"),
                Item::Other { line } => format!("other:{line}"),
            })
            .collect()
    }

    #[test]
    fn memory_keeps_the_latest_within_its_limits() {
        let store = Store::memory(Limits {
            events: 3,
            bytes: 1 << 20,
        });
        for i in 0..5 {
            store.push(Arc::new(event(&format!("e{i}"))));
        }
        let w = store.window("", 0, 10).unwrap().unwrap();
        assert_eq!((w.total, w.matched), (3, 3));
        assert_eq!(bodies(&w), ["e4", "e3", "e2"]);
        assert_eq!(store.memory_state().0, 2);
        let w = store.window("", 1, 1).unwrap().unwrap();
        assert_eq!(bodies(&w), ["e3"]);
        assert!(store.get(MEMORY_KEYS).unwrap().is_none());
    }

    #[test]
    fn a_filter_follows_new_events_and_forgets_dropped_ones() {
        let store = Store::memory(Limits {
            events: 4,
            bytes: 1 << 20,
        });
        for b in ["apple", "pear", "apple pie"] {
            store.push(Arc::new(event(b)));
        }
        let w = store.window("APPLE", 0, 10).unwrap().unwrap();
        assert_eq!(bodies(&w), ["apple pie", "apple"]);
        for b in ["x", "y", "apple tart"] {
            store.push(Arc::new(event(b)));
        }
        let w = store.window("apple", 0, 10).unwrap().unwrap();
        assert_eq!((w.total, w.matched), (4, 2));
        assert_eq!(bodies(&w), ["apple tart", "apple pie"]);
        assert!(store.window("status=x", 0, 1).unwrap().is_err());
    }

    #[test]
    fn file_rows_come_before_memory_rows_and_bad_lines_show() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let mut content = event("one").to_json_line();
        content.push_str("\n{oops\n");
        content.push_str(&event("two").to_json_line());
        content.push('\n');
        std::fs::write(&path, content).unwrap();
        let store = Store::file(&path, MEMORY_LIMITS).unwrap();
        store.push(Arc::new(event("edited")));
        let w = store.window("", 0, 10).unwrap().unwrap();
        assert_eq!(bodies(&w), ["edited", "two", "invalid:2", "one"]);
        let w = store.window("o", 0, 10).unwrap().unwrap();
        assert_eq!(bodies(&w), ["two", "one"]);
        let keys = store.matching("").unwrap().unwrap();
        assert_eq!(keys, [0, 1, 2, MEMORY_KEYS]);
    }

    #[tokio::test]
    async fn lines_listens_writer_appends_are_listed_without_reading_the_file_back() {
        use crate::listen::capture::CaptureWriter;
        use crate::output::diag::Diag;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let (writer, closer) = CaptureWriter::open(&path, false, Diag::stderr()).unwrap();
        writer.append_event(&event("before")).await.unwrap();
        let store = Store::file(&path, MEMORY_LIMITS).unwrap();
        let read_at_open = lock(store.file.as_ref().unwrap()).bytes_read();
        writer.watch(store.told().unwrap());
        for body in ["one", "two", "three"] {
            writer.append_event(&event(body)).await.unwrap();
            store.changed();
        }
        let w = store.window("", 0, 10).unwrap().unwrap();
        assert_eq!(bodies(&w), ["three", "two", "one", "before"]);
        assert_eq!(store.version(), 3);
        assert_eq!(
            lock(store.file.as_ref().unwrap()).bytes_read(),
            read_at_open
        );
        drop(writer);
        closer.close().await;
    }
}
