//! The progress bar of `send` and `replay`, on stderr when it is a terminal.
//!
//! It counts every event the run is done with: delivered, or passed over by the reader (a
//! filter, an invalid line skipped, a record of another kind), so a filter that selects nothing
//! never leaves it at `0/N`. The rate has one decimal. It disappears on Ctrl-C, at the end of
//! the run and when the run fails, leaving the summary.

use std::fmt::Write as _;
use std::io::{self, IsTerminal};
use std::time::Duration;

use indicatif::{
    ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressState, ProgressStyle, TermLike,
};
use tokio::sync::watch;

use super::report::Detail;

/// A handle to the run's bar; clones share it. Without a terminal it does nothing.
#[derive(Clone, Default)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar on stderr when it is a terminal, more than one event is expected, and `-q` was
    /// not given.
    pub fn new(total: Option<u64>, detail: Detail) -> Progress {
        if detail == Detail::Quiet || !std::io::stderr().is_terminal() || total == Some(1) {
            return Progress::default();
        }
        let target = ProgressDrawTarget::term_like_with_hz(
            Box::new(Margin(console::Term::buffered_stderr())),
            20,
        );
        Progress::drawn_to(total, target)
    }

    /// A bar drawn to `target` (tests draw to a hidden one).
    pub fn drawn_to(total: Option<u64>, target: ProgressDrawTarget) -> Progress {
        let style = match total {
            Some(_) => {
                ProgressStyle::with_template("{bar:30} {pos}/{len} events  {rate}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
            }
            None => ProgressStyle::with_template("{spinner} {pos} events  {rate}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        }
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&rate(state.per_sec()));
            },
        );
        let bar = ProgressBar::with_draw_target(total, target)
            .with_style(style)
            // Dropped without `finish` (an error ended the run): it goes too.
            .with_finish(ProgressFinish::AndClear);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// Counts `n` events done with: delivered, or passed over.
    pub fn advance(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Where the bar stands.
    pub fn position(&self) -> u64 {
        self.bar.as_ref().map_or(0, ProgressBar::position)
    }

    /// Runs `f` (which writes to the terminal) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Takes the bar off the terminal for good.
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            bar.set_draw_target(ProgressDrawTarget::hidden());
        }
    }

    /// Clears the bar as soon as `stop` turns true (Ctrl-C), not once the deliveries in flight
    /// have finished. Call it within a tokio runtime.
    pub fn clear_on(&self, mut stop: watch::Receiver<bool>) {
        if self.bar.is_none() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            if stop.wait_for(|s| *s).await.is_ok() {
                me.clear();
            }
        });
    }
}

/// Stderr, two columns narrower than it is. indicatif pads the bar's line to the terminal's
/// width, leaving the cursor in the last column; the `^C` a terminal echoes on Ctrl-C would
/// then wrap to a new line, and clearing the bar would clear that line instead of the bar's.
#[derive(Debug)]
struct Margin(console::Term);

impl TermLike for Margin {
    fn width(&self) -> u16 {
        self.0.size().1.saturating_sub(2).max(1)
    }
    fn height(&self) -> u16 {
        self.0.size().0
    }
    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        self.0.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.0.write_line(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.0.write_str(s)
    }
    fn clear_line(&self) -> io::Result<()> {
        self.0.clear_line()
    }
    fn flush(&self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `12.5/s`: at most one decimal.
pub fn rate(per_sec: f64) -> String {
    let mut text = String::new();
    if per_sec.is_finite() && per_sec >= 0.0 {
        let _ = write!(text, "{per_sec:.1}/s");
    } else {
        text.push_str("-/s");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_has_at_most_one_decimal() {
        assert_eq!(rate(0.0), "0.0/s");
        assert_eq!(rate(1234.5678), "1234.6/s");
        assert_eq!(rate(f64::NAN), "-/s");
    }

    #[tokio::test]
    async fn ctrl_c_takes_the_bar_away_at_once() {
        let progress = Progress::drawn_to(Some(10), ProgressDrawTarget::hidden());
        let (stop, stopped) = watch::channel(false);
        progress.clear_on(stopped);
        tokio::task::yield_now().await;
        assert!(!progress.bar.as_ref().unwrap().is_finished());
        stop.send(true).unwrap();
        for _ in 0..100 {
            if progress.bar.as_ref().unwrap().is_finished() {
                return;
            }
            tokio::task::yield_now().await;
        }
        panic!("the bar is still there after the stop signal");
    }

    #[test]
    fn passed_over_events_move_the_bar_and_clearing_hides_it() {
        let progress = Progress::drawn_to(Some(10), ProgressDrawTarget::hidden());
        progress.advance(4);
        progress.advance(6);
        assert_eq!(progress.position(), 10);
        progress.clear();
        let bar = progress.bar.as_ref().unwrap();
        assert!(bar.is_finished() && bar.is_hidden());
        // Without a terminal there is no bar, and nothing to count.
        let none = Progress::default();
        none.advance(3);
        assert_eq!(none.position(), 0);
    }
}
