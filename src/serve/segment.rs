//! A channel log's segment files: how a stored line carries its sequence number, and reading
//! a segment at start-up (into the index) and for a subscriber (a batch of lines).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::log::{Entry, Segment, Stored, READ_BYTES, READ_EVENTS};
use crate::output::diag::Diag;

pub(super) fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.jsonl"))
}

pub(super) fn millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How every capture line begins.
const LINE_HEAD: &[u8] = b"{\"v\":1,";
/// How every stored line begins.
const SEQ_HEAD: &[u8] = b"{\"v\":1,\"seq\":";

/// The capture line `plain` with `"seq":N` after the format version.
pub(super) fn numbered(plain: &[u8], seq: u64) -> Vec<u8> {
    let rest = plain
        .strip_prefix(LINE_HEAD)
        .or_else(|| plain.strip_prefix(b"{"))
        .unwrap_or(plain);
    let mut line = Vec::with_capacity(plain.len() + 32);
    line.extend_from_slice(SEQ_HEAD);
    line.extend_from_slice(itoa::Buffer::new().format(seq).as_bytes());
    line.push(b',');
    line.extend_from_slice(rest);
    line
}

/// The sequence number of a stored line.
pub fn seq_of(line: &[u8]) -> Option<u64> {
    if let Some(rest) = line.strip_prefix(SEQ_HEAD) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if let Some(seq) = std::str::from_utf8(&rest[..digits])
            .ok()
            .and_then(|d| d.parse().ok())
        {
            return Some(seq);
        }
    }
    head_of(line).map(|h| h.0)
}

/// The sequence number and receive time (ms) of a stored line, read in full.
pub(super) fn head_of(line: &[u8]) -> Option<(u64, Option<u64>)> {
    #[derive(serde::Deserialize)]
    struct Head {
        seq: u64,
        received_at: Option<String>,
    }
    let head: Head = serde_json::from_slice(line).ok()?;
    let received = head
        .received_at
        .and_then(|t| humantime::parse_rfc3339_weak(&t).ok())
        .map(millis);
    Some((head.seq, received))
}

/// Reads a segment at start-up into the index; in the newest segment, cuts off a last line
/// that has no newline (a write cut short by a crash, never acknowledged).
pub(super) fn scan_segment(
    path: &Path,
    start: u64,
    newest: bool,
    index: &mut VecDeque<Entry>,
    diag: &Diag,
) -> io::Result<Segment> {
    let file = File::open(path)?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut segment = Segment {
        start,
        events: 0,
        bytes: 0,
    };
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        number += 1;
        if !line.ends_with(b"\n") {
            if newest {
                diag.warn(format_args!(
                    "{}:{number}: cutting off a line that was never finished (the server stopped while writing it)",
                    path.display()
                ));
                File::options()
                    .write(true)
                    .open(path)?
                    .set_len(segment.bytes)?;
            }
            break;
        }
        segment.bytes += n as u64;
        match head_of(&line) {
            Some((seq, received)) if index.back().is_none_or(|e| e.seq < seq) => {
                segment.events += 1;
                index.push_back(Entry {
                    seq,
                    received_ms: received.unwrap_or(0),
                    segment: start,
                });
            }
            _ => diag.warn(format_args!(
                "{}:{number}: not a stored event; skipped",
                path.display()
            )),
        }
    }
    Ok(segment)
}

/// Reads the events from `from` to `upto` in a segment, up to a batch.
pub(super) fn read_segment(path: &Path, from: u64, upto: u64) -> io::Result<Vec<Arc<Stored>>> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut events = Vec::new();
    let mut bytes = 0;
    let mut line = Vec::new();
    while events.len() < READ_EVENTS && bytes < READ_BYTES {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || !line.ends_with(b"\n") {
            break;
        }
        let Some(seq) = seq_of(&line) else { continue };
        if seq < from {
            continue;
        }
        if seq > upto {
            break;
        }
        bytes += line.len();
        events.push(Arc::new(Stored::new(seq, Bytes::copy_from_slice(&line))));
    }
    Ok(events)
}
