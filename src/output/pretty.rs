//! The human rendering of one delivery: a summary line, optionally the headers, then the body.
//!
//! ```text
//! 14:03:07.412 POST /webhooks/stripe payment_intent.succeeded evt_3Nx… 511 B → 200 ✓ stripe ⇢ 200 12ms
//!   {
//!     "id": "evt_3Nx…",
//!     "amount": 1.0e3
//!   }
//!
//! ```

use std::borrow::Cow;
use std::fmt;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::json_color::{self, Budget};
use super::sanitize::{sanitize_line, sanitize_text};
use super::{human_bytes, human_duration, style};
use crate::event::{Event, ForwardNote, Verified};

/// Indentation of everything below the summary line.
const INDENT: &str = "  ";
/// How many bytes of a binary body are shown.
const HEX_PREVIEW: usize = 64;
/// Bytes per row of the hex preview.
const HEX_ROW: usize = 16;

/// How to render events. Colour is not an option here: it follows the process-wide setting
/// made by [`super::color::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrettyOptions {
    /// Show every header below the summary line.
    pub verbose: bool,
    /// Escape control, bidi and zero-width characters in untrusted text (use when the output
    /// is a terminal). Without it, text is written exactly as received.
    pub sanitize: bool,
    /// The most lines of one body shown; the rest is left out, and the view says how much.
    pub max_lines: usize,
    /// The most bytes of one body's rendering shown.
    pub max_bytes: usize,
}

impl Default for PrettyOptions {
    fn default() -> Self {
        PrettyOptions {
            verbose: false,
            sanitize: false,
            max_lines: DEFAULT_MAX_LINES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Lines of one body shown by default: a screenful and a half.
pub const DEFAULT_MAX_LINES: usize = 100;
/// Bytes of one body's rendering shown by default.
pub const DEFAULT_MAX_BYTES: usize = 16 * 1024;

/// Appends the human rendering of `e` to `out`, ending with a blank line.
pub fn render_event(e: &Event, opts: &PrettyOptions, out: &mut Vec<u8>) {
    summary_line(e, opts, out);
    if opts.verbose {
        for (name, value) in &e.headers {
            let name = clean(name, opts);
            let value = clean(value, opts);
            put(
                out,
                format_args!("{INDENT}{}: {value}\n", style::header_name(&name)),
            );
        }
    }
    body(e, opts, out);
    out.push(b'\n');
}

/// `time method path type id size`, then what the notes say.
fn summary_line(e: &Event, opts: &PrettyOptions, out: &mut Vec<u8>) {
    let time = clock(e.received_at);
    let event_type = match &e.event_type {
        Some(t) => style::event_type(&clean(t, opts)),
        None => style::dim("-"),
    };
    put(
        out,
        format_args!(
            "{} {} {} {} {} {}",
            style::dim(&time),
            style::method(&clean(&e.method, opts)),
            style::path(&clean(&e.path_and_query(), opts)),
            event_type,
            style::id(&clean(&e.id, opts)),
            style::dim(&human_bytes(e.body.len())),
        ),
    );
    let notes = &e.notes;
    if let Some(status) = notes.status {
        put(out, format_args!(" \u{2192} {}", style::status(status)));
    }
    if let Some(verified) = &notes.verified {
        verification(verified, opts, out);
    }
    if let Some(forward) = &notes.forward {
        forwarding(forward, opts, out);
    }
    if let Some(error) = &notes.error {
        let text = format!("error: {}", clean(error, opts));
        put(out, format_args!(" {}", style::error(&text)));
    }
    out.push(b'\n');
}

/// ` ✓ stripe` or ` ✗ stripe: reason`.
fn verification(v: &Verified, opts: &PrettyOptions, out: &mut Vec<u8>) {
    let scheme = clean(&v.scheme, opts);
    if v.ok {
        put(
            out,
            format_args!(" {}", style::ok(&format!("\u{2713} {scheme}"))),
        );
    } else if v.reason.is_empty() {
        put(
            out,
            format_args!(" {}", style::error(&format!("\u{2717} {scheme}"))),
        );
    } else {
        let text = format!("\u{2717} {scheme}: {}", clean(&v.reason, opts));
        put(out, format_args!(" {}", style::error(&text)));
    }
}

/// ` ⇢ 200 12ms`, ` ⇢ error: … 3.0s`, with ` (3 attempts)` after retries.
fn forwarding(f: &ForwardNote, opts: &PrettyOptions, out: &mut Vec<u8>) {
    out.extend_from_slice(" \u{21e2}".as_bytes());
    if let Some(status) = f.status {
        put(out, format_args!(" {}", style::status(status)));
    }
    if let Some(error) = &f.error {
        let text = format!("error: {}", clean(error, opts));
        put(out, format_args!(" {}", style::error(&text)));
    }
    // The latency comes from a capture file; a negative or NaN value shows as zero.
    let latency = Duration::try_from_secs_f64(f.latency_ms / 1000.0).unwrap_or_default();
    put(
        out,
        format_args!(" {}", style::dim(&human_duration(latency))),
    );
    if f.attempts > 1 {
        let text = format!("({} attempts)", f.attempts);
        put(out, format_args!(" {}", style::dim(&text)));
    }
}

/// The body: JSON re-indented and coloured, other text as is, binary as a hex preview.
fn body(e: &Event, opts: &PrettyOptions, out: &mut Vec<u8>) {
    if e.body.is_empty() {
        put(
            out,
            format_args!("{INDENT}{}\n", style::dim("(empty body)")),
        );
        return;
    }
    match std::str::from_utf8(&e.body) {
        Ok(text) => {
            let stopped = text_view(text, json_color::is_json(&e.body), opts, out);
            if let Some(at) = stopped {
                let left = format!(
                    "\u{2026} {} of {} not shown (raise --max-print-lines or --max-print-bytes; the capture has every byte)",
                    human_bytes(text.len() - at),
                    human_bytes(text.len()),
                );
                put(out, format_args!("{INDENT}{}\n", style::dim(&left)));
            }
        }
        Err(_) => hex_preview(&e.body, out),
    }
}

/// JSON re-indented, or text line by line, within the options' limits. Returns where in
/// `text` it stopped when the limits cut it short.
fn text_view(text: &str, json: bool, opts: &PrettyOptions, out: &mut Vec<u8>) -> Option<usize> {
    let mut budget = Budget::new(out, opts.max_lines, opts.max_bytes);
    if json {
        return json_color::write_json(text, INDENT, opts.sanitize, &mut budget, out);
    }
    // `split_inclusive` keeps the offsets; the `\r` of CRLF line ends is dropped, as it would
    // otherwise be escaped.
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if budget.spent(out) {
            return Some(at);
        }
        at += line.len();
        let line = line.strip_suffix('\n').unwrap_or(line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let shown = budget.cut(line, out);
        let shown = if opts.sanitize {
            sanitize_text(shown)
        } else {
            Cow::Borrowed(shown)
        };
        put(out, format_args!("{INDENT}{shown}\n"));
        budget.lines += 1;
        if shown.len() < line.len() {
            return Some(at - line.len() + shown.len());
        }
    }
    None
}

/// The app's answer to a forward (`-v`), within the same limits as a body.
pub fn render_app_answer(body: &[u8], opts: &PrettyOptions, out: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(body);
    put(out, format_args!("  {}\n", style::dim("app answered:")));
    if let Some(at) = text_view(&text, false, opts, out) {
        let left = format!("\u{2026} {} not shown", human_bytes(text.len() - at));
        put(out, format_args!("{INDENT}{}\n", style::dim(&left)));
    }
    out.push(b'\n');
}

/// `<binary body, N bytes>` and a hexdump of the first [`HEX_PREVIEW`] bytes.
fn hex_preview(bytes: &[u8], out: &mut Vec<u8>) {
    let label = format!("<binary body, {} bytes>", bytes.len());
    put(out, format_args!("{INDENT}{}\n", style::dim(&label)));
    let shown = &bytes[..bytes.len().min(HEX_PREVIEW)];
    for (row, chunk) in shown.chunks(HEX_ROW).enumerate() {
        put(out, format_args!("{INDENT}{:04x} ", row * HEX_ROW));
        for byte in chunk {
            put(out, format_args!(" {byte:02x}"));
        }
        let padding = 3 * (HEX_ROW - chunk.len());
        put(out, format_args!("{:padding$}  |", ""));
        out.extend(chunk.iter().map(|&b| {
            if b == b' ' || b.is_ascii_graphic() {
                b
            } else {
                b'.'
            }
        }));
        out.extend_from_slice(b"|\n");
    }
    if bytes.len() > shown.len() {
        let more = format!("\u{2026} {} more bytes", bytes.len() - shown.len());
        put(out, format_args!("{INDENT}{}\n", style::dim(&more)));
    }
}

/// `HH:MM:SS.mmm` in UTC.
pub(crate) fn clock(time: SystemTime) -> String {
    const DAY_MS: u128 = 86_400_000;
    let ms = match time.duration_since(UNIX_EPOCH) {
        Ok(since) => since.as_millis() % DAY_MS,
        Err(before) => (DAY_MS - before.duration().as_millis() % DAY_MS) % DAY_MS,
    };
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

/// One-line untrusted text, escaped when the options ask for it.
fn clean<'a>(text: &'a str, opts: &PrettyOptions) -> Cow<'a, str> {
    if opts.sanitize {
        sanitize_line(text)
    } else {
        Cow::Borrowed(text)
    }
}

/// Appends formatted text; writing to a `Vec` cannot fail.
fn put(out: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    let _ = out.write_fmt(args);
}

#[cfg(test)]
#[path = "pretty_tests.rs"]
mod tests;
