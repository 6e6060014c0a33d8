//! The compact view of a delivery: one aligned line per event.
//!
//! ```text
//! 14:03:07.412 POST   /webhooks/stripe payment_intent.succeede… evt_3NxQ2rLkdH2fRzWj1ZQ8pB4m      511 B 200 ✓ stripe ⇢ 200 12ms
//! 14:03:07.530 POST   /webhooks/stripe charge.refunded        evt_3NxQ2sAbV7cKq0TnL5yXo9De    1.2 KiB 401 ✗ signature does not…
//! ```
//!
//! Columns: time, method, path, type, id, size, the status answered, then the outcome of
//! verification and forwarding. Text from the request is escaped first (always: a compact line
//! must stay one line) and measured after escaping, in display columns, so wide characters and
//! escapes line up too. On a terminal the columns shrink to fit its width and long values are
//! cut with `…`; without a width they keep their natural size and nothing is cut.

use std::borrow::Cow;
use std::io::Write as _;
use std::time::Duration;

use console::{measure_text_width, pad_str, Alignment};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::pretty::clock;
use super::sanitize::sanitize_line;
use super::{human_duration, short_bytes, style};
use crate::event::{Event, ForwardNote, Verified};

/// What marks a value cut short.
const CUT: &str = "\u{2026}";
/// `HH:MM:SS.mmm`, or `HH:MM:SS` on a very narrow terminal.
const TIME: usize = 12;
const SHORT_TIME: usize = 8;
/// `DELETE`; the rare `OPTIONS` is cut.
const METHOD: usize = 6;
/// `1023 KiB` (see [`super::short_bytes`]).
const SIZE: usize = 8;
/// A status code.
const STATUS: usize = 3;

/// Natural widths of the columns whose values vary: path, type, id. An id is 28 wide for
/// Stripe and hookctl.
const NATURAL: [usize; 3] = [16, 22, 28];

/// What a narrow terminal gives up, in this order, until the line fits: the path down to 8
/// columns, the milliseconds, the type down to 16, the id down to 20, then the type and the id
/// down to 10 and 12, and last the method.
enum Narrow {
    Path(usize),
    Millis,
    Type(usize),
    Id(usize),
    Method,
}

const NARROWING: [Narrow; 7] = [
    Narrow::Path(8),
    Narrow::Millis,
    Narrow::Type(16),
    Narrow::Id(20),
    Narrow::Type(10),
    Narrow::Id(12),
    Narrow::Method,
];

/// The widths of the columns for one terminal width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// 12 (`HH:MM:SS.mmm`) or 8 (`HH:MM:SS`).
    pub time: usize,
    /// 0 when the method is left out (a very narrow terminal).
    pub method: usize,
    pub path: usize,
    pub event_type: usize,
    pub id: usize,
    /// The most columns the whole line may take; `None` when nothing needs to be cut (no
    /// terminal).
    pub width: Option<usize>,
}

impl Layout {
    /// Columns for a terminal `width` columns wide (`None`: not a terminal), keeping `tail`
    /// columns free after the status for verification and forwarding outcomes.
    pub fn new(width: Option<usize>, tail: usize) -> Layout {
        let mut layout = Layout {
            time: TIME,
            method: METHOD,
            path: NATURAL[0],
            event_type: NATURAL[1],
            id: NATURAL[2],
            width,
        };
        let Some(width) = width else {
            return layout;
        };
        for step in NARROWING {
            let used = layout.fixed_part() + tail;
            if used <= width {
                break;
            }
            let over = used - width;
            let shrink = |column: &mut usize, floor: usize| {
                *column -= over.min(column.saturating_sub(floor));
            };
            match step {
                Narrow::Path(floor) => shrink(&mut layout.path, floor),
                Narrow::Type(floor) => shrink(&mut layout.event_type, floor),
                Narrow::Id(floor) => shrink(&mut layout.id, floor),
                Narrow::Millis => layout.time = SHORT_TIME,
                Narrow::Method => layout.method = 0,
            }
        }
        layout
    }

    /// Columns of the fixed-width columns and of the spaces between all columns.
    fn fixed(&self) -> usize {
        let method = if self.method > 0 { self.method + 1 } else { 0 };
        self.time + method + SIZE + STATUS + 5
    }

    /// The columns the line takes up to and including the status.
    fn fixed_part(&self) -> usize {
        self.fixed() + self.path + self.event_type + self.id
    }
}

/// Appends the compact line for `e`.
pub fn render_compact(e: &Event, layout: &Layout, out: &mut Vec<u8>) {
    let fit = layout.width.is_some();
    let mut time = clock(e.received_at);
    time.truncate(layout.time);
    let method = if layout.method > 0 {
        let method = cell(&e.method, layout.method, Alignment::Left, fit);
        format!("{} ", style::method(&method))
    } else {
        String::new()
    };
    let path = cell(&e.path_and_query(), layout.path, Alignment::Left, fit);
    let event_type = match &e.event_type {
        Some(t) => style::event_type(&cell(t, layout.event_type, Alignment::Left, fit)),
        None => style::dim(&pad_str("-", layout.event_type, Alignment::Left, None)),
    };
    let id = cell(&e.id, layout.id, Alignment::Left, fit);
    let size = short_bytes(e.body.len());
    let size = pad_str(&size, SIZE, Alignment::Right, None);
    let status = match e.notes.status {
        Some(code) => style::status_text(
            code,
            &pad_str(&code.to_string(), STATUS, Alignment::Left, None),
        ),
        None => style::dim(&pad_str("-", STATUS, Alignment::Left, None)),
    };
    let _ = write!(
        out,
        "{} {method}{} {} {} {} {}",
        style::dim(&time),
        style::path(&path),
        event_type,
        style::id(&id),
        style::dim(&size),
        status,
    );
    let left = layout.width.map(|w| w.saturating_sub(layout.fixed_part()));
    tail(e, left, out);
    // Trailing padding is not worth keeping.
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out.push(b'\n');
}

/// The outcomes after the status: ` ✓ stripe`, ` ✗ stripe: reason`, ` ⇢ 200 12ms`,
/// ` error: …`, cut to `left` columns when there is a limit.
fn tail(e: &Event, left: Option<usize>, out: &mut Vec<u8>) {
    let mut parts: Vec<(String, Tone)> = Vec::new();
    if let Some(v) = &e.notes.verified {
        parts.push(verification(v));
    }
    if let Some(f) = &e.notes.forward {
        parts.push(forwarding(f));
    }
    if let Some(error) = &e.notes.error {
        parts.push((format!("error: {}", sanitize_line(error)), Tone::Bad));
    }
    let mut room = left;
    for (text, tone) in parts {
        let shown = match room {
            Some(0) | Some(1) => break,
            // One column goes to the space before the part.
            Some(n) => {
                let cut = truncate(&text, n - 1);
                room = Some(n - 1 - measure_text_width(&cut).min(n - 1));
                cut
            }
            None => Cow::Borrowed(text.as_str()),
        };
        let styled = match tone {
            Tone::Good => style::ok(&shown),
            Tone::Bad => style::error(&shown),
            Tone::Plain => style::dim(&shown),
        };
        let _ = write!(out, " {styled}");
    }
}

#[derive(Clone, Copy)]
enum Tone {
    Good,
    Bad,
    Plain,
}

/// `✓ stripe`, or `✗ reason`: the scheme is the same on every line, the reason is what
/// tells a failure apart.
fn verification(v: &Verified) -> (String, Tone) {
    let scheme = sanitize_line(&v.scheme);
    if v.ok {
        (format!("\u{2713} {scheme}"), Tone::Good)
    } else if v.reason.is_empty() {
        (format!("\u{2717} {scheme}"), Tone::Bad)
    } else {
        let reason = sanitize_line(&v.reason);
        (format!("\u{2717} {reason}"), Tone::Bad)
    }
}

/// `⇢ 200 12ms`, `⇢ 502 3ms (2 attempts)` or `⇢ error: cannot connect … 1ms`.
fn forwarding(f: &ForwardNote) -> (String, Tone) {
    let latency = Duration::try_from_secs_f64(f.latency_ms / 1000.0).unwrap_or_default();
    let mut text = String::from("\u{21e2} ");
    let tone = match (f.status, &f.error) {
        (Some(status), _) => {
            text.push_str(&status.to_string());
            if status >= 500 {
                Tone::Bad
            } else {
                Tone::Plain
            }
        }
        (None, Some(error)) => {
            text.push_str("error: ");
            text.push_str(&sanitize_line(error));
            Tone::Bad
        }
        (None, None) => {
            text.push_str("no answer");
            Tone::Bad
        }
    };
    text.push(' ');
    text.push_str(&human_duration(latency));
    if f.attempts > 1 {
        text.push_str(&format!(" ({} attempts)", f.attempts));
    }
    (text, tone)
}

/// Request text escaped, then padded (and, when `fit`, cut) to `width` display columns.
fn cell(text: &str, width: usize, align: Alignment, fit: bool) -> String {
    let clean = sanitize_line(text);
    let shown = if fit {
        truncate(&clean, width)
    } else {
        Cow::Borrowed(clean.as_ref())
    };
    pad_str(&shown, width, align, None).into_owned()
}

/// `text` cut to `width` display columns, ending with `…` when something was left out.
fn truncate(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    let budget = width.saturating_sub(CUT.width());
    let mut kept = String::with_capacity(width + CUT.len());
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > budget {
            break;
        }
        kept.push(c);
        used += w;
    }
    if width > 0 {
        kept.push_str(CUT);
    }
    Cow::Owned(kept)
}

/// The display width of a rendering: the widest of its lines, colour codes left out.
pub fn widest_line(rendered: &[u8]) -> usize {
    String::from_utf8_lossy(rendered)
        .lines()
        .map(measure_text_width)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
