//! The one way hookctl speaks on stderr: `hookctl: error: …`, `hookctl: warning: …` and
//! `hookctl: …` lines, each written whole.
//!
//! Text that came from a request (an event id or type, a path, a header value) is wrapped in
//! [`Untrusted`] where a message is built, so control, bidi and zero-width characters are
//! escaped before they reach a terminal. A [`Diag`] writes to stderr by default; `listen` takes
//! one in its config, so a test running it in-process reads its diagnostics from a buffer.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::sanitize::sanitize_line;

/// Where diagnostics go.
#[derive(Clone)]
pub struct Diag {
    sink: Option<Arc<Mutex<Box<dyn Write + Send>>>>,
}

impl Default for Diag {
    fn default() -> Self {
        Diag::stderr()
    }
}

impl fmt::Debug for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.sink.is_some() {
            "Diag(writer)"
        } else {
            "Diag(stderr)"
        })
    }
}

impl Diag {
    /// Diagnostics on the process's stderr.
    pub fn stderr() -> Diag {
        Diag { sink: None }
    }

    /// Diagnostics into `writer`, one whole line per write.
    pub fn to_writer(writer: impl Write + Send + 'static) -> Diag {
        Diag {
            sink: Some(Arc::new(Mutex::new(Box::new(writer)))),
        }
    }

    /// `hookctl: error: MESSAGE`, the label in red on a terminal.
    pub fn error(&self, message: impl fmt::Display) {
        let label = self.label("error:", RED);
        self.line(format_args!("hookctl: {label} {message}"));
    }

    /// `hookctl: warning: MESSAGE`, the label in yellow on a terminal.
    pub fn warn(&self, message: impl fmt::Display) {
        let label = self.label("warning:", YELLOW);
        self.line(format_args!("hookctl: {label} {message}"));
    }

    /// `label`, coloured when this is the process's stderr and colour is on for it.
    fn label(&self, label: &'static str, colour: &'static str) -> Label {
        let coloured = self.sink.is_none() && STDERR_COLOR.load(Ordering::Relaxed);
        Label {
            text: label,
            colour: coloured.then_some(colour),
        }
    }

    /// `hookctl: MESSAGE`, for notices that are neither errors nor warnings.
    pub fn note(&self, message: impl fmt::Display) {
        self.line(format_args!("hookctl: {message}"));
    }

    /// A line as it is: announcements and summaries that carry no prefix.
    pub fn line(&self, text: impl fmt::Display) {
        let line = format!("{text}\n");
        match &self.sink {
            // A diagnostic that cannot be written has nowhere else to go.
            None => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
            Some(sink) => {
                let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                let _ = sink.write_all(line.as_bytes());
                let _ = sink.flush();
            }
        }
    }
}

/// Whether stderr gets colour: decided once at start-up with [`set_color`].
static STDERR_COLOR: AtomicBool = AtomicBool::new(false);

const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const RESET: &str = "\x1b[0m";

/// Switches colour on or off for the labels of diagnostics on stderr (`--color`, `NO_COLOR`
/// and whether stderr is a terminal decide; see [`super::color::should_color`]).
pub fn set_color(on: bool) {
    STDERR_COLOR.store(on, Ordering::Relaxed);
}

/// A level label, maybe coloured.
struct Label {
    text: &'static str,
    colour: Option<&'static str>,
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.colour {
            Some(colour) => write!(f, "{colour}{}{RESET}", self.text),
            None => f.write_str(self.text),
        }
    }
}

/// A diagnostic that may fire many times a second (accept failures, refused connections),
/// said at most once a second with how often it happened since.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<std::time::Instant>,
    unsaid: u64,
}

impl Throttle {
    /// Counts one occurrence and, when a second has passed since the last warning, warns with
    /// `message(count)`.
    pub fn report(&mut self, diag: &Diag, message: impl FnOnce(u64) -> String) {
        self.unsaid += 1;
        let due = self
            .last
            .is_none_or(|at| at.elapsed() >= std::time::Duration::from_secs(1));
        if due {
            diag.warn(message(self.unsaid));
            self.last = Some(std::time::Instant::now());
            self.unsaid = 0;
        }
    }
}

/// Request text in a diagnostic: displayed with control, bidi and zero-width characters
/// escaped.
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sanitize_line(self.0))
    }
}

/// A writer that keeps what it is given, for tests that read diagnostics back.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

#[cfg(test)]
impl Buffer {
    /// Everything written so far, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[cfg(test)]
impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_prefixed_and_request_text_is_escaped() {
        let buffer = Buffer::default();
        let diag = Diag::to_writer(buffer.clone());
        diag.error(format_args!(
            "cannot write {}",
            Untrusted("evt_\u{1b}]0;PWNED\u{7}")
        ));
        diag.warn("careful");
        diag.note("noted");
        diag.line("plain");
        let text = buffer.text();
        assert_eq!(
            text,
            "hookctl: error: cannot write evt_\\x1b]0;PWNED\\x07\nhookctl: warning: careful\nhookctl: noted\nplain\n"
        );
    }
}
