//! Which human view `listen` prints: the full view (a summary line and the body), the compact
//! view (one aligned line, see [`super::compact`]), or the full view until it stops being
//! readable, then the compact one.
//!
//! The automatic switch happens on a terminal when an event would not fit its width, or when
//! deliveries arrive faster than a person reads (more than [`FAST_EVENTS`] within a second).
//! It is said once on stderr, with how to get the full view back, and holds for the rest of the
//! run. Everything here runs on the printer thread, off the acknowledgement path.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use super::compact::{render_compact, widest_line, Layout};
use super::pretty::{render_app_answer, render_event, PrettyOptions};
use crate::event::Event;

/// More deliveries than this within [`FAST_WINDOW`] are more than a person reads.
pub const FAST_EVENTS: usize = 5;
const FAST_WINDOW: Duration = Duration::from_secs(1);

/// How often the terminal's width is asked for again (it changes when the window is resized).
const WIDTH_RECHECK: Duration = Duration::from_millis(500);

/// The view asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewChoice {
    /// Always the full view (`--full`, `-v`, and output that is not a terminal).
    Full,
    /// Always one line per event (`--compact`).
    Compact,
    /// The full view on a terminal, switching to compact when it stops being readable.
    Auto,
}

/// How wide the output is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// Not a terminal: no width to fit.
    Unlimited,
    /// A known number of columns.
    Columns(usize),
    /// Stdout's terminal, asked again now and then.
    Stdout,
}

impl Width {
    fn columns(self) -> Option<usize> {
        match self {
            Width::Unlimited => None,
            Width::Columns(n) => Some(n),
            Width::Stdout => console::Term::stdout()
                .size_checked()
                .map(|(_, cols)| usize::from(cols))
                .filter(|&cols| cols > 0),
        }
    }
}

/// Settings of the human view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewConfig {
    pub options: PrettyOptions,
    pub choice: ViewChoice,
    pub width: Width,
}

/// Why the view switched to compact.
enum Switch {
    Fast,
    Wide { needs: usize, has: usize },
}

/// The view's state on the printer thread.
pub struct View {
    config: ViewConfig,
    compact: bool,
    /// Columns kept free for verification and forwarding outcomes.
    tail: usize,
    /// The last width asked for, when, and the layout for it.
    columns: Option<usize>,
    asked: Option<Instant>,
    layout: Layout,
    /// Arrival times of the latest deliveries (at most `FAST_EVENTS + 1`).
    arrivals: VecDeque<SystemTime>,
}

impl View {
    /// `tail` columns are kept free after the status for the outcomes of `--verify` and
    /// `--forward-to`.
    pub fn new(config: ViewConfig, tail: usize) -> View {
        View {
            config,
            compact: config.choice == ViewChoice::Compact,
            tail,
            columns: None,
            asked: None,
            layout: Layout::new(None, tail),
            arrivals: VecDeque::with_capacity(FAST_EVENTS + 1),
        }
    }

    /// Whether events are shown one line each now.
    pub fn is_compact(&self) -> bool {
        self.compact
    }

    /// Appends the rendering of `e` (and, in the full view with `-v`, the app's answer).
    /// Returns the note to say on stderr, once, when this event switched the view to compact;
    /// it belongs before this event's line.
    pub fn render(
        &mut self,
        e: &Event,
        app_answer: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> Option<String> {
        if self.config.choice == ViewChoice::Auto && !self.compact && self.arrived_fast(e) {
            render_compact(e, &self.layout_now(), out);
            return Some(self.switch(Switch::Fast));
        }
        self.refresh_width();
        if self.compact {
            render_compact(e, &self.layout, out);
            return None;
        }
        let start = out.len();
        render_event(e, &self.config.options, out);
        if self.config.options.verbose {
            if let Some(body) = app_answer.filter(|b| !b.is_empty()) {
                render_app_answer(body, &self.config.options, out);
            }
        }
        if self.config.choice != ViewChoice::Auto {
            return None;
        }
        let has = self.columns?;
        let needs = widest_line(&out[start..]);
        if needs <= has {
            return None;
        }
        out.truncate(start);
        render_compact(e, &self.layout, out);
        Some(self.switch(Switch::Wide { needs, has }))
    }

    /// The layout for the width now.
    fn layout_now(&mut self) -> Layout {
        self.refresh_width();
        self.layout
    }

    /// Counts the arrival of `e`; true when more than [`FAST_EVENTS`] arrived within
    /// [`FAST_WINDOW`].
    fn arrived_fast(&mut self, e: &Event) -> bool {
        if self.arrivals.len() > FAST_EVENTS {
            self.arrivals.pop_front();
        }
        self.arrivals.push_back(e.received_at);
        if self.arrivals.len() <= FAST_EVENTS {
            return false;
        }
        let (Some(first), Some(last)) = (self.arrivals.front(), self.arrivals.back()) else {
            return false;
        };
        // Deliveries are printed in the order they were answered, so the times need not
        // rise: what counts is the span they cover.
        let span = match last.duration_since(*first) {
            Ok(span) => span,
            Err(e) => e.duration(),
        };
        span < FAST_WINDOW
    }

    /// Asks for the width again when it may have changed, and lays the columns out for it.
    fn refresh_width(&mut self) {
        let due = self.asked.is_none_or(|at| at.elapsed() >= WIDTH_RECHECK);
        if !due {
            return;
        }
        if self.config.width == Width::Stdout || self.asked.is_none() {
            let columns = self.config.width.columns();
            if columns != self.columns || self.asked.is_none() {
                self.columns = columns;
                self.layout = Layout::new(columns, self.tail);
            }
        }
        self.asked = Some(Instant::now());
    }

    /// Switches to compact for good; returns the note that says so.
    fn switch(&mut self, why: Switch) -> String {
        self.compact = true;
        // Short enough for the narrow terminal it may be about.
        let reason = match why {
            Switch::Fast => format!("over {FAST_EVENTS} a second"),
            Switch::Wide { needs, has } => format!("{needs} columns > {has}"),
        };
        format!("switched to one line per event ({reason}); --full shows bodies")
    }
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
