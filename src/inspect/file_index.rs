//! A capture file as a list of line offsets, so any line can be read without reading the
//! ones before it. The index grows as the file does (a listen appending to it): each
//! [`FileIndex::refresh`] scans only the bytes added since the last one, with memchr. A
//! line is indexed only once its newline is in the file, so a half-written line is never read.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How much of the file one read of the scan takes.
const SCAN_CHUNK: usize = 1 << 20;

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
    lines: Vec<Span>,
    /// Bytes scanned: the end of the last complete line.
    scanned: u64,
    /// Lines seen so far, blank ones included (for `file:line` numbers).
    numbered: u32,
}

impl FileIndex {
    /// Opens `path` and indexes what it holds.
    pub fn open(path: &Path) -> io::Result<FileIndex> {
        let file = File::open(path)?;
        let mut index = FileIndex {
            path: path.to_path_buf(),
            file,
            lines: Vec::new(),
            scanned: 0,
            numbered: 0,
        };
        index.refresh()?;
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Non-blank lines indexed.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Indexes the lines appended since the last call. A file that shrank (truncated or
    /// replaced) is indexed again from the start.
    pub fn refresh(&mut self) -> io::Result<()> {
        let size = std::fs::metadata(&self.path)?.len();
        if size < self.scanned {
            self.file = File::open(&self.path)?;
            self.lines.clear();
            self.scanned = 0;
            self.numbered = 0;
            return self.refresh();
        }
        if size == self.scanned {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.scanned))?;
        let mut chunk = vec![0u8; SCAN_CHUNK];
        // Where the line being scanned started, and whether it has anything but blanks.
        let mut line_start = self.scanned;
        let mut blank = true;
        let mut at = self.scanned;
        while at < size {
            let want = ((size - at) as usize).min(SCAN_CHUNK);
            let got = self.file.read(&mut chunk[..want])?;
            if got == 0 {
                break;
            }
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
}
