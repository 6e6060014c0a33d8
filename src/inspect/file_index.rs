//! A capture file as a list of line offsets, so any line can be read without reading the
//! ones before it. The index grows as the file does (a listen appending to it): each
//! [`FileIndex::refresh`] indexes only the lines added since the last one. A line is indexed
//! only once its newline is in the file, so a half-written line is never read.
//!
//! Lines this process's capture writer appends are [`Told`] to the index as they are
//! written, so under load the index does not read back the file it is writing (about
//! 100 MB/s at full speed). Anything it was not told of (another process appending, a
//! replaced file, a page closed for long) is read from the file and scanned with memchr.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::listen::capture::{identity, AppendWatch};

/// How much of the file one read of the scan takes.
const SCAN_CHUNK: usize = 1 << 20;

/// At most this many told lines wait for a refresh; past it they are let go of and the next
/// refresh reads them from the file, so memory stays bounded while no page asks.
const TOLD_LINES: usize = 1 << 18;

/// A told line's length (newline included) has this bit set when the line is blank.
const BLANK: u32 = 1 << 31;

/// Where one non-blank line lies, and its number in the file (from 1).
#[derive(Debug, Clone, Copy)]
struct Span {
    start: u64,
    len: u32,
    number: u32,
}

/// Line offsets of a capture file.
pub struct FileIndex {
    path: PathBuf,
    file: File,
    /// The open file's device and inode.
    identity: (u64, u64),
    lines: Vec<Span>,
    /// Bytes indexed: the end of the last complete line.
    scanned: u64,
    /// Lines seen so far, blank ones included (for `file:line` numbers).
    numbered: u32,
    told: Arc<Told>,
    /// Bytes read from the file to index it.
    read_back: u64,
}

/// Lines the writer appended one after another: their file, where they start and end, and
/// each line's length. Batches that follow on from the last one extend it.
struct ToldRun {
    file: (u64, u64),
    start: u64,
    end: u64,
    lines: Vec<u32>,
}

#[derive(Default)]
struct ToldState {
    runs: VecDeque<ToldRun>,
    lines: usize,
    /// Lines were let go of since the last refresh.
    overflowed: bool,
}

/// The lines a capture writer appended that the index has not taken yet.
#[derive(Default)]
pub struct Told {
    state: Mutex<ToldState>,
}

impl Told {
    fn state(&self) -> std::sync::MutexGuard<'_, ToldState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Everything told since the last call, and whether some of it was let go of.
    fn take(&self) -> (VecDeque<ToldRun>, bool) {
        let mut state = self.state();
        state.lines = 0;
        (
            std::mem::take(&mut state.runs),
            std::mem::take(&mut state.overflowed),
        )
    }
}

impl AppendWatch for Told {
    fn appended(&self, file: (u64, u64), start: u64, batch: &[u8]) {
        let mut guard = self.state();
        let state = &mut *guard;
        if state.overflowed || !batch.ends_with(b"\n") {
            // A batch that ends in half a line (never from listen) is left to the scan.
            return;
        }
        let follows =
            matches!(state.runs.back(), Some(run) if run.file == file && run.end == start);
        if !follows {
            state.runs.push_back(ToldRun {
                file,
                start,
                end: start,
                lines: Vec::new(),
            });
        }
        let Some(run) = state.runs.back_mut() else {
            return;
        };
        let before = run.lines.len();
        let mut from = 0;
        let mut measurable = true;
        for nl in memchr::memchr_iter(b'\n', batch) {
            let len = u32::try_from(nl + 1 - from).unwrap_or(BLANK);
            measurable &= len < BLANK;
            let blank = if batch[from..nl].iter().all(u8::is_ascii_whitespace) {
                BLANK
            } else {
                0
            };
            run.lines.push(len | blank);
            from = nl + 1;
        }
        run.end = start + from as u64;
        state.lines += run.lines.len() - before;
        // A line of 2 GiB or more is left to the scan, as are lines past the limit.
        if !measurable || state.lines > TOLD_LINES {
            state.runs.clear();
            state.lines = 0;
            state.overflowed = true;
        }
    }
}

impl FileIndex {
    /// Opens `path` and indexes what it holds.
    pub fn open(path: &Path) -> io::Result<FileIndex> {
        let file = File::open(path)?;
        let mut index = FileIndex {
            path: path.to_path_buf(),
            identity: identity(&file.metadata()?),
            file,
            lines: Vec::new(),
            scanned: 0,
            numbered: 0,
            told: Arc::default(),
            read_back: 0,
        };
        index.refresh()?;
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the capture writer appending to this file tells what it wrote.
    pub fn told(&self) -> Arc<Told> {
        self.told.clone()
    }

    /// Bytes read from the file to index it, since it was opened.
    pub fn bytes_read(&self) -> u64 {
        self.read_back
    }

    /// Non-blank lines indexed.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Indexes the lines appended since the last call: those the writer told of as they are,
    /// the rest from the file. A file that shrank (truncated or replaced) is indexed again
    /// from the start.
    pub fn refresh(&mut self) -> io::Result<()> {
        // Taken before the size, so every told line is within it.
        let (told, overflowed) = self.told.take();
        let size = std::fs::metadata(&self.path)?.len();
        if size < self.scanned {
            self.file = File::open(&self.path)?;
            self.identity = identity(&self.file.metadata()?);
            self.lines.clear();
            self.scanned = 0;
            self.numbered = 0;
            return self.scan(size);
        }
        if !overflowed {
            for run in told {
                if run.file != self.identity {
                    continue;
                }
                if run.start > self.scanned {
                    // Another process wrote in between.
                    self.scan(run.start)?;
                }
                self.index_told(&run);
            }
        }
        self.scan(size)
    }

    /// Indexes the told lines that end past what is indexed, when they line up with it.
    fn index_told(&mut self, run: &ToldRun) {
        let mut start = run.start;
        for &len in &run.lines {
            let bytes = u64::from(len & !BLANK);
            let end = start + bytes;
            if end > self.scanned {
                if start != self.scanned {
                    // Not where the index is: left to the scan.
                    return;
                }
                self.numbered += 1;
                if len & BLANK == 0 {
                    self.lines.push(Span {
                        start,
                        len: (bytes - 1) as u32,
                        number: self.numbered,
                    });
                }
                self.scanned = end;
            }
            start = end;
        }
    }

    /// Indexes the complete lines between what is indexed and `until`, reading the file.
    fn scan(&mut self, until: u64) -> io::Result<()> {
        if until <= self.scanned {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.scanned))?;
        let mut chunk = vec![0u8; SCAN_CHUNK.min((until - self.scanned) as usize)];
        // Where the line being scanned started, and whether it has anything but blanks.
        let mut line_start = self.scanned;
        let mut blank = true;
        let mut at = self.scanned;
        while at < until {
            let want = ((until - at) as usize).min(chunk.len());
            let got = self.file.read(&mut chunk[..want])?;
            if got == 0 {
                break;
            }
            self.read_back += got as u64;
            let bytes = &chunk[..got];
            let mut from = 0;
            while let Some(nl) = memchr::memchr(b'\n', &bytes[from..]) {
                let end = from + nl;
                blank = blank && bytes[from..end].iter().all(u8::is_ascii_whitespace);
                self.numbered += 1;
                let stop = at + end as u64;
                if !blank {
                    self.lines.push(Span {
                        start: line_start,
                        len: u32::try_from(stop - line_start).unwrap_or(u32::MAX),
                        number: self.numbered,
                    });
                }
                line_start = stop + 1;
                blank = true;
                from = end + 1;
            }
            blank = blank && bytes[from..].iter().all(u8::is_ascii_whitespace);
            at += got as u64;
        }
        // A last line without its newline waits for the next refresh.
        self.scanned = line_start;
        Ok(())
    }

    /// Calls `f` with each non-blank line from the `from`th on, reading the file in order.
    pub fn for_each_line(
        &mut self,
        from: usize,
        mut f: impl FnMut(usize, &[u8]),
    ) -> io::Result<()> {
        let Some(first) = self.lines.get(from) else {
            return Ok(());
        };
        self.file.seek(SeekFrom::Start(first.start))?;
        let mut reader = io::BufReader::with_capacity(SCAN_CHUNK, &self.file);
        let mut at = first.start;
        let mut line = Vec::new();
        for (i, span) in self.lines.iter().enumerate().skip(from) {
            reader.seek_relative((span.start - at) as i64)?;
            line.resize(span.len as usize, 0);
            reader.read_exact(&mut line)?;
            at = span.start + u64::from(span.len);
            f(i, &line);
        }
        Ok(())
    }

    /// The bytes of the `i`th non-blank line (without its newline), and its line number.
    pub fn line(&mut self, i: usize) -> io::Result<(Vec<u8>, u32)> {
        let span = self.lines[i];
        let mut bytes = vec![0u8; span.len as usize];
        self.file.seek(SeekFrom::Start(span.start))?;
        self.file.read_exact(&mut bytes)?;
        Ok((bytes, span.number))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn indexes_complete_lines_and_grows_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n\n  \n{\"b\":2}\n{\"c\"").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.line(0).unwrap(), (b"{\"a\":1}".to_vec(), 1));
        assert_eq!(index.line(1).unwrap(), (b"{\"b\":2}".to_vec(), 4));
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b":3}\n").unwrap();
        index.refresh().unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(index.line(2).unwrap(), (b"{\"c\":3}".to_vec(), 5));
        std::fs::write(&path, b"{\"d\":4}\n").unwrap();
        index.refresh().unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(index.line(0).unwrap().0, b"{\"d\":4}");
    }

    #[test]
    fn lines_longer_than_a_scan_chunk_are_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl");
        let long = vec![b'x'; SCAN_CHUNK * 2 + 7];
        let mut content = long.clone();
        content.extend_from_slice(b"\nshort\n");
        std::fs::write(&path, &content).unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.line(0).unwrap().0, long);
        assert_eq!(index.line(1).unwrap(), (b"short".to_vec(), 2));
    }

    /// Appends `lines` to the file at `path` and tells `index` of them as the writer would.
    fn append_told(path: &Path, index: &FileIndex, lines: &[u8]) {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        let start = f.metadata().unwrap().len();
        f.write_all(lines).unwrap();
        let file = identity(&f.metadata().unwrap());
        index.told().appended(file, start, lines);
    }

    fn append(path: &Path, lines: &[u8]) {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(lines).unwrap();
    }

    fn all(index: &mut FileIndex) -> Vec<(String, u32)> {
        (0..index.len())
            .map(|i| {
                let (line, n) = index.line(i).unwrap();
                (String::from_utf8(line).unwrap(), n)
            })
            .collect()
    }

    #[test]
    fn told_lines_are_indexed_without_reading_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        let read_at_open = index.read_back;
        append_told(&path, &index, b"{\"b\":2}\n\n  \n{\"c\":3}\n");
        append_told(&path, &index, b"{\"d\":4}\n");
        // Batches that follow on from each other are kept as one run.
        assert_eq!(index.told.state().runs.len(), 1);
        index.refresh().unwrap();
        assert_eq!(index.read_back, read_at_open);
        assert_eq!(
            all(&mut index),
            [
                ("{\"a\":1}".into(), 1),
                ("{\"b\":2}".into(), 2),
                ("{\"c\":3}".into(), 5),
                ("{\"d\":4}".into(), 6)
            ]
        );
    }

    #[test]
    fn lines_another_process_wrote_between_told_ones_are_read_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        append_told(&path, &index, b"{\"mine\":1}\n");
        append(&path, b"{\"theirs\":1}\n");
        append_told(&path, &index, b"{\"mine\":2}\n");
        append(&path, b"{\"theirs\":2}\n");
        assert_eq!(index.told.state().runs.len(), 2);
        index.refresh().unwrap();
        assert_eq!(index.read_back, 2 * b"{\"theirs\":1}\n".len() as u64);
        let lines: Vec<String> = all(&mut index).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            lines,
            [
                "{\"mine\":1}",
                "{\"theirs\":1}",
                "{\"mine\":2}",
                "{\"theirs\":2}"
            ]
        );
    }

    #[test]
    fn lines_told_before_a_refresh_read_them_are_not_indexed_twice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        // The writer's batch is in the file before it is told: a refresh reads it.
        append(&path, b"{\"a\":1}\n{\"b\":2}\n");
        index.refresh().unwrap();
        index
            .told()
            .appended(index.identity, 0, b"{\"a\":1}\n{\"b\":2}\n");
        append_told(&path, &index, b"{\"c\":3}\n");
        index.refresh().unwrap();
        let lines: Vec<String> = all(&mut index).into_iter().map(|(l, _)| l).collect();
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    }

    #[test]
    fn too_many_told_lines_are_let_go_of_and_read_from_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        let batch = "{}\n".repeat(TOLD_LINES / 2 + 1);
        append_told(&path, &index, batch.as_bytes());
        append_told(&path, &index, batch.as_bytes());
        // Past the limit: nothing more is kept until the index takes what was told.
        assert!(index.told.state().runs.is_empty());
        append_told(&path, &index, b"{}\n");
        assert!(index.told.state().runs.is_empty());
        index.refresh().unwrap();
        assert_eq!(index.len(), TOLD_LINES + 3);
        assert_eq!(index.read_back, 2 * batch.len() as u64 + 3);
        append_told(&path, &index, b"{\"last\":1}\n");
        index.refresh().unwrap();
        assert_eq!(index.read_back, 2 * batch.len() as u64 + 3);
        assert_eq!(index.line(TOLD_LINES + 3).unwrap().0, b"{\"last\":1}");
    }

    #[test]
    fn lines_told_of_another_file_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        std::fs::write(&path, b"").unwrap();
        let mut index = FileIndex::open(&path).unwrap();
        let other = (index.identity.0, index.identity.1.wrapping_add(1));
        index.told().appended(other, 0, b"{\"elsewhere\":1}\n");
        append(&path, b"{\"here\":1}\n");
        index.refresh().unwrap();
        assert_eq!(all(&mut index), [("{\"here\":1}".into(), 1)]);
    }
}
