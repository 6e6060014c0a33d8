//! The capture writer: an append-only JSONL file with group commit.
//!
//! It is a task on the caller's tokio runtime. Callers add a finished line to the
//! pending batch and wait for the acknowledgement; the commit task takes everything pending,
//! appends it in one locked `write`, optionally `fsync`s (off the runtime's threads), and only
//! then acknowledges every line of the batch. A caller that got `Ok` knows its line is in the
//! file, so `listen` can answer 2xx afterwards. Committing on the receiver's own thread keeps
//! batches large under load and costs no thread hand-off per request.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::event::Event;
use crate::output::diag::Diag;

/// The outcome of one batch, shared by every line in it: one allocation per batch instead
/// of a channel per line.
#[derive(Default)]
struct Committed {
    result: OnceLock<Result<(), Arc<io::Error>>>,
    notify: Notify,
}

impl Committed {
    fn finish(&self, result: Result<(), Arc<io::Error>>) {
        let _ = self.result.set(result);
        self.notify.notify_waiters();
    }

    async fn wait(&self) -> Result<(), CaptureError> {
        loop {
            // Created before the check, so a `finish` in between still wakes it.
            let notified = self.notify.notified();
            if let Some(result) = self.result.get() {
                return result.clone().map_err(CaptureError::Write);
            }
            notified.await;
        }
    }
}

#[derive(Default)]
struct Batch {
    lines: Vec<u8>,
    count: u64,
    committed: Arc<Committed>,
    closed: bool,
}

struct Shared {
    batch: Mutex<Batch>,
    wake: Notify,
    watch: OnceLock<Arc<dyn AppendWatch>>,
}

/// Told of every batch the writer appends, once it is in the file: the file (device and
/// inode), where the batch starts in it, and its bytes (whole lines). It is called on the
/// commit task, so it must be quick and never wait.
pub trait AppendWatch: Send + Sync {
    fn appended(&self, file: (u64, u64), start: u64, batch: &[u8]);
}

impl Shared {
    fn batch(&self) -> std::sync::MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why a capture line could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(
        "cannot open capture file {}: {cause}; check that its folder exists and is writable",
        path.display()
    )]
    Open { path: PathBuf, cause: io::Error },
    /// The batch the line was in could not be written; every line of it gets this.
    #[error("{0}")]
    Write(Arc<io::Error>),
    #[error("capture writer has stopped")]
    Stopped,
}

/// Appends lines to a capture file, acknowledging each only once it is written.
#[derive(Clone)]
pub struct CaptureWriter {
    shared: Arc<Shared>,
    path: PathBuf,
}

/// Finishes the commit task: writes what is pending and closes the file.
pub struct CaptureCloser {
    shared: Arc<Shared>,
    task: JoinHandle<u64>,
}

impl CaptureCloser {
    /// Writes every pending line, closes the file and returns the lines written.
    pub async fn close(self) -> u64 {
        self.shared.batch().closed = true;
        self.shared.wake.notify_one();
        self.task.await.unwrap_or(0)
    }
}

impl CaptureWriter {
    /// Opens `path` for appending (creating it) and starts the commit task on the current
    /// tokio runtime (so it must be called from within one).
    pub fn open(
        path: &Path,
        fsync: bool,
        diag: Diag,
    ) -> Result<(CaptureWriter, CaptureCloser), CaptureError> {
        let file = CaptureFile::open(path, diag).map_err(|cause| CaptureError::Open {
            path: path.to_path_buf(),
            cause,
        })?;
        let shared = Arc::new(Shared {
            batch: Mutex::new(Batch::default()),
            wake: Notify::new(),
            watch: OnceLock::new(),
        });
        let task = tokio::spawn(commit_loop(file, shared.clone(), fsync));
        Ok((
            CaptureWriter {
                shared: shared.clone(),
                path: path.to_path_buf(),
            },
            CaptureCloser { shared, task },
        ))
    }

    /// The file this writer appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Tells `watch` of every batch from now on (the first watch set stays).
    pub fn watch(&self, watch: Arc<dyn AppendWatch>) {
        let _ = self.shared.watch.set(watch);
    }

    /// Adds one line, written by `write` straight into the pending batch (no copy), and
    /// returns the batch's outcome to wait on.
    fn push_with(&self, write: impl FnOnce(&mut Vec<u8>)) -> Option<Arc<Committed>> {
        let mut batch = self.shared.batch();
        if batch.closed {
            return None;
        }
        write(&mut batch.lines);
        batch.count += 1;
        let committed = batch.committed.clone();
        drop(batch);
        self.shared.wake.notify_one();
        Some(committed)
    }

    /// Appends `line` (which must end in a newline) and waits until it is in the file.
    pub async fn append(&self, line: &[u8]) -> Result<(), CaptureError> {
        match self.push_with(|lines| lines.extend_from_slice(line)) {
            Some(committed) => committed.wait().await,
            None => Err(CaptureError::Stopped),
        }
    }

    /// Appends an event's capture line and waits until it is in the file.
    pub async fn append_event(&self, event: &Event) -> Result<(), CaptureError> {
        match self.push_with(|lines| event.write_json_line(lines)) {
            Some(committed) => committed.wait().await,
            None => Err(CaptureError::Stopped),
        }
    }

    /// Queues `line` (which must end in a newline) at once, behind every line queued before
    /// it, and returns what to wait on until it is in the file. A caller that numbers lines
    /// under its own lock queues them there and waits after letting go of the lock.
    pub fn queue(
        &self,
        line: &[u8],
    ) -> impl std::future::Future<Output = Result<(), CaptureError>> + Send + 'static {
        let committed = self.push_with(|lines| lines.extend_from_slice(line));
        async move {
            match committed {
                Some(committed) => committed.wait().await,
                None => Err(CaptureError::Stopped),
            }
        }
    }

    /// Queues `line` without waiting for it (it is written before the writer closes).
    pub fn append_nowait(&self, line: &[u8]) {
        self.push_with(|lines| lines.extend_from_slice(line));
    }
}

async fn commit_loop(file: CaptureFile, shared: Arc<Shared>, fsync: bool) -> u64 {
    let mut file = Some(file);
    let mut spare = Vec::with_capacity(64 * 1024);
    let mut written = 0u64;
    loop {
        shared.wake.notified().await;
        // Let the handlers that are ready in this turn add their lines: one bigger batch.
        tokio::task::yield_now().await;
        let (lines, count, committed, closed) = {
            let mut batch = shared.batch();
            spare.clear();
            let lines = std::mem::replace(&mut batch.lines, std::mem::take(&mut spare));
            let committed = if batch.count > 0 {
                std::mem::take(&mut batch.committed)
            } else {
                batch.committed.clone()
            };
            (
                lines,
                std::mem::take(&mut batch.count),
                committed,
                batch.closed,
            )
        };
        if count > 0 {
            let result = match file.take() {
                Some(mut f) if fsync => {
                    let synced = tokio::task::spawn_blocking(move || {
                        let result = f.write_batch(&lines, true);
                        (f, lines, result)
                    })
                    .await;
                    match synced {
                        Ok((f, lines, result)) => {
                            file = Some(f);
                            spare = lines;
                            result
                        }
                        Err(e) => Err(io::Error::other(format!("capture writer failed: {e}"))),
                    }
                }
                Some(mut f) => {
                    let result = f.write_batch(&lines, false);
                    file = Some(f);
                    spare = lines;
                    result
                }
                None => Err(io::Error::other("capture file is closed")),
            };
            // A written batch is back in `spare`.
            tell(&shared, &result, &spare);
            let result = result.map(|_| ()).map_err(Arc::new);
            if result.is_ok() {
                written += count;
            }
            committed.finish(result);
        }
        if closed {
            return written;
        }
    }
}

/// Tells the watch, if any, of a batch written at `written` (file and start).
fn tell(shared: &Shared, written: &io::Result<((u64, u64), u64)>, batch: &[u8]) {
    if let (Some(watch), Ok((file, start))) = (shared.watch.get(), written) {
        watch.appended(*file, *start, batch);
    }
}

/// The open capture file, and the path it was opened as.
struct CaptureFile {
    file: File,
    path: PathBuf,
    /// The file's device and inode, taken when it was opened.
    identity: (u64, u64),
    diag: Diag,
}

impl CaptureFile {
    fn open(path: &Path, diag: Diag) -> io::Result<CaptureFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let identity = identity(&file.metadata()?);
        Ok(CaptureFile {
            file,
            path: path.to_path_buf(),
            identity,
            diag,
        })
    }

    /// Appends one batch under an exclusive lock, so several processes appending to the same
    /// file never interleave lines.
    ///
    /// A file deleted or replaced since the last batch is noticed (the path's device and inode
    /// differ from the open file's) and the path is opened again. A write that fails partway
    /// (a full disk, the file-size limit) is undone: the file is cut back to where the batch
    /// began, so it never holds half a line, and every line of the batch gets the error.
    ///
    /// Returns the file's identity and where in it the batch starts.
    fn write_batch(&mut self, batch: &[u8], fsync: bool) -> io::Result<((u64, u64), u64)> {
        let at_path = std::fs::metadata(&self.path).ok();
        if at_path.as_ref().map(identity) != Some(self.identity) {
            let reopened = CaptureFile::open(&self.path, self.diag.clone())?;
            self.diag.warn(format_args!(
                "capture file {} was deleted or replaced; writing to the file now at that path",
                self.path.display()
            ));
            *self = reopened;
        }
        self.file.lock()?;
        let result = self.append_whole(batch);
        let unlock = self.file.unlock();
        let start = result?;
        unlock?;
        if fsync {
            self.file.sync_data()?;
        }
        Ok((self.identity, start))
    }

    /// Writes `batch` at the end of the file, or nothing of it; returns where it starts.
    fn append_whole(&mut self, batch: &[u8]) -> io::Result<u64> {
        let start = self.file.metadata()?.len();
        let written = self.file.write_all(batch);
        if written.is_err() {
            // Cutting back needs no room, so it works on a full disk and at the size limit.
            if let Err(e) = self.file.set_len(start) {
                self.diag.error(format_args!(
                    "cannot remove a partly written batch from {}: {e}; the file may end in half a line",
                    self.path.display()
                ));
            }
        }
        written.map(|()| start)
    }
}

/// A file's device and inode.
#[cfg(unix)]
pub(crate) fn identity(metadata: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (metadata.dev(), metadata.ino())
}

/// Elsewhere a file cannot be deleted while it is open: one identity for every file.
#[cfg(not(unix))]
pub(crate) fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_appended_and_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let (w, closer) = CaptureWriter::open(&path, false, Diag::stderr()).unwrap();
        let mut tasks = Vec::new();
        for i in 0..100 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                w.append(format!("{{\"n\":{i}}}\n").as_bytes()).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        drop(w);
        assert_eq!(closer.close().await, 100);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 100);
    }

    /// Records what the writer tells.
    #[derive(Default)]
    struct Seen(Mutex<Vec<(u64, Vec<u8>)>>);

    impl AppendWatch for Seen {
        fn appended(&self, _file: (u64, u64), start: u64, batch: &[u8]) {
            self.0.lock().unwrap().push((start, batch.to_vec()));
        }
    }

    #[tokio::test]
    async fn the_watch_is_told_where_each_batch_landed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let (mine, mine_closer) = CaptureWriter::open(&path, false, Diag::stderr()).unwrap();
        let (theirs, theirs_closer) = CaptureWriter::open(&path, true, Diag::stderr()).unwrap();
        let seen = Arc::new(Seen::default());
        mine.watch(seen.clone());
        mine.append(b"{\"mine\":1}\n").await.unwrap();
        theirs.append(b"{\"theirs\":1}\n").await.unwrap();
        mine.append(b"{\"mine\":2}\n").await.unwrap();
        drop((mine, theirs));
        mine_closer.close().await;
        theirs_closer.close().await;
        let file = std::fs::read(&path).unwrap();
        let seen = seen.0.lock().unwrap();
        assert_eq!(seen.len(), 2);
        for (start, batch) in seen.iter() {
            let start = *start as usize;
            assert_eq!(&file[start..start + batch.len()], batch.as_slice());
        }
        assert_eq!(
            seen[1].0,
            (b"{\"mine\":1}\n".len() + b"{\"theirs\":1}\n".len()) as u64
        );
    }
}
