//! Reading a capture: line by line, numbered, so an invalid line is reported as `file:line`.
//! Memory does not grow with the file.

use std::fs::File;
use std::io::{self, BufRead};
use std::path::Path;

use crate::event::{Event, RecordError};

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
    pub record: Result<Option<Event>, RecordError>,
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
            // Most lines lie whole in the reader's buffer: read them there, without a copy.
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let record = if let Some(end) = memchr::memchr(b'\n', available) {
                let record = record_of(&available[..end]);
                self.input.consume(end + 1);
                record
            } else {
                // A line that runs past the buffer's end (or the last one, without a newline).
                self.buf.clear();
                if self.input.read_until(b'\n', &mut self.buf)? == 0 {
                    return Ok(None);
                }
                record_of(&self.buf)
            };
            self.number += 1;
            if let Some(record) = record {
                return Ok(Some(Line {
                    number: self.number,
                    record,
                }));
            }
        }
    }
}

/// What one line holds; `None` for a blank line.
fn record_of(line: &[u8]) -> Option<Result<Option<Event>, RecordError>> {
    let text = trim_line(line);
    (!text.is_empty()).then(|| Event::from_json_line(text))
}

/// A line without its trailing `\n` / `\r\n` and surrounding JSON whitespace (space, tab,
/// CR, LF). Anything else around a record, such as a form feed, is left for the parser to
/// report.
pub fn trim_line(line: &[u8]) -> &[u8] {
    let json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line
        .iter()
        .position(|b| !json_space(b))
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !json_space(b))
        .map_or(start, |i| i + 1);
    &line[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn lines_across_the_buffer_end_read_like_lines_inside_it() {
        let input = "{\"body\":\"first, longer than the buffer\"}\r\n\n{\"body\":\"b\"}\n{bad\n{\"body\":\"last, no newline\"}";
        let read = |capacity| {
            let mut r =
                CaptureReader::new(io::BufReader::with_capacity(capacity, input.as_bytes()));
            let mut lines = Vec::new();
            while let Some(line) = r.next_line().unwrap() {
                let body = line.record.map(|e| e.map(|e| e.body));
                lines.push((line.number, body));
            }
            lines
        };
        let whole = read(4096);
        assert_eq!(whole.len(), 4, "{whole:?}");
        assert_eq!(whole[0].0, 1);
        assert_eq!(
            whole[0].1.as_ref().unwrap().as_ref().unwrap(),
            "first, longer than the buffer"
        );
        assert_eq!(whole[1].0, 3);
        assert!(whole[2].1.is_err());
        assert_eq!(
            whole[3].1.as_ref().unwrap().as_ref().unwrap(),
            "last, no newline"
        );
        for capacity in [1, 7, 16, 40] {
            assert_eq!(read(capacity), whole, "buffer of {capacity} bytes");
        }
    }
}
