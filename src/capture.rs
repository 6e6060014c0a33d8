//! Capture files: an append-only JSONL writer with group commit, and a streaming reader.
//!
//! The writer owns the file on its own thread. Callers hand it a finished line and wait for
//! the acknowledgement; the thread gathers every line that is pending, appends them in one
//! locked `write`, optionally `fsync`s, and only then acknowledges them all. A caller that got
//! `Ok` knows its line is in the file, so `listen` can answer 2xx afterwards.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use crate::event::Event;

/// Largest batch written in one go.
const MAX_BATCH_BYTES: usize = 1 << 20;

struct Pending {
    line: Vec<u8>,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// Appends lines to a capture file, acknowledging each only once it is written.
#[derive(Clone)]
pub struct CaptureWriter {
    tx: mpsc::UnboundedSender<Pending>,
    path: PathBuf,
}

/// Joins the writer thread once every handle is dropped; returns the lines written.
pub struct CaptureCloser {
    thread: JoinHandle<u64>,
}

impl CaptureCloser {
    /// Waits until every pending line is written and the file is closed.
    pub fn close(self) -> u64 {
        self.thread.join().unwrap_or(0)
    }
}

impl CaptureWriter {
    /// Opens `path` for appending (creating it) and starts the writer thread.
    pub fn open(path: &Path, fsync: bool) -> anyhow::Result<(CaptureWriter, CaptureCloser)> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot open capture file {}: {e}; check that its folder exists and is writable",
                    path.display()
                )
            })?;
        let (tx, rx) = mpsc::unbounded_channel();
        let thread = std::thread::Builder::new()
            .name("capture".into())
            .spawn(move || write_loop(file, rx, fsync))?;
        Ok((
            CaptureWriter {
                tx,
                path: path.to_path_buf(),
            },
            CaptureCloser { thread },
        ))
    }

    /// The file this writer appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line` (which must end in a newline) and waits until it is in the file.
    pub async fn append(&self, line: Vec<u8>) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Pending {
                line,
                ack: Some(ack),
            })
            .map_err(|_| "capture writer has stopped".to_string())?;
        done.await
            .map_err(|_| "capture writer has stopped".to_string())?
    }

    /// Appends an event's capture line and waits until it is in the file.
    pub async fn append_event(&self, event: &Event) -> Result<(), String> {
        let mut line = Vec::with_capacity(event.body.len() + 384);
        event.write_json_line(&mut line);
        self.append(line).await
    }

    /// Queues `line` without waiting for it (it is written before the writer closes).
    pub fn append_nowait(&self, line: Vec<u8>) {
        let _ = self.tx.send(Pending { line, ack: None });
    }
}

fn write_loop(mut file: File, mut rx: mpsc::UnboundedReceiver<Pending>, fsync: bool) -> u64 {
    let mut written = 0u64;
    let mut batch: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut acks = Vec::new();
    while let Some(first) = rx.blocking_recv() {
        batch.clear();
        acks.clear();
        let mut lines = 0u64;
        let mut next = Some(first);
        while let Some(p) = next.take() {
            batch.extend_from_slice(&p.line);
            lines += 1;
            acks.extend(p.ack);
            if batch.len() < MAX_BATCH_BYTES {
                next = rx.try_recv().ok();
            }
        }
        let result = write_batch(&mut file, &batch, fsync).map_err(|e| e.to_string());
        if result.is_ok() {
            written += lines;
        }
        for ack in acks.drain(..) {
            let _ = ack.send(result.clone());
        }
    }
    written
}

/// Appends one batch under an exclusive lock, so several processes appending to the same
/// file never interleave lines.
fn write_batch(file: &mut File, batch: &[u8], fsync: bool) -> io::Result<()> {
    file.lock()?;
    let result = file.write_all(batch);
    let unlock = file.unlock();
    result?;
    unlock?;
    if fsync {
        file.sync_data()?;
    }
    Ok(())
}

/// Where capture lines come from: a file or stdin.
pub fn open_input(path: &Path) -> anyhow::Result<Box<dyn BufRead + Send>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::BufReader::with_capacity(
            256 * 1024,
            io::stdin(),
        )));
    }
    let file =
        File::open(path).map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    Ok(Box::new(io::BufReader::with_capacity(256 * 1024, file)))
}

/// One line read from a capture: its number and what it held.
pub struct Line {
    pub number: u64,
    pub record: Result<Option<Event>, String>,
}

/// Reads capture records one line at a time; memory does not grow with the file.
pub struct CaptureReader<R> {
    input: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> CaptureReader<R> {
    pub fn new(input: R) -> Self {
        CaptureReader {
            input,
            buf: Vec::with_capacity(4096),
            number: 0,
        }
    }

    /// The next non-blank line, or `None` at the end. I/O errors end the stream with an error.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            self.buf.clear();
            if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            self.number += 1;
            let text = trim_line(&self.buf);
            if text.is_empty() {
                continue;
            }
            return Ok(Some(Line {
                number: self.number,
                record: Event::from_json_line(text),
            }));
        }
    }
}

/// A line without its trailing `\n` / `\r\n` and surrounding blanks.
pub fn trim_line(line: &[u8]) -> &[u8] {
    line.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_appended_and_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let (w, closer) = CaptureWriter::open(&path, false).unwrap();
        let mut tasks = Vec::new();
        for i in 0..100 {
            let w = w.clone();
            tasks.push(tokio::spawn(async move {
                w.append(format!("{{\"n\":{i}}}\n").into_bytes()).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        drop(w);
        assert_eq!(closer.close(), 100);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 100);
    }

    #[test]
    fn reader_numbers_lines_and_skips_blanks() {
        let input = b"{\"body\":\"a\"}\n\n{bad\n{\"kind\":\"ready\"}\n".as_slice();
        let mut r = CaptureReader::new(input);
        let first = r.next_line().unwrap().unwrap();
        assert_eq!(first.number, 1);
        assert!(first.record.unwrap().is_some());
        let bad = r.next_line().unwrap().unwrap();
        assert_eq!(bad.number, 3);
        assert!(bad.record.is_err());
        assert!(r.next_line().unwrap().unwrap().record.unwrap().is_none());
        assert!(r.next_line().unwrap().is_none());
    }
}
