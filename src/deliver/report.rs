//! What `send` and `replay` show while they run: a line or an NDJSON record per event, a
//! progress bar on a terminal, the dead-letter file, and the closing summary.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::path::PathBuf;

use crate::deliver::engine::Sink;
use crate::deliver::summary::Summary;
use crate::deliver::{describe_status, Outcome};
use crate::event::Event;
use crate::exit::Exit;
use crate::listen::capture::{CaptureCloser, CaptureWriter};
use crate::output::diag::{Diag, Untrusted};
use crate::output::{human_duration, sanitize, style};

/// How much to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Only failures and the summary.
    Quiet,
    /// A line per event when there is one event, else failures and the summary.
    Normal,
    /// A line per event, and response bodies.
    Verbose,
}

/// Settings for one run's report.
pub struct ReportConfig {
    pub json: bool,
    pub detail: Detail,
    /// Append every event that finally failed to this file.
    pub dead_letter: Option<PathBuf>,
    /// Events expected, when known (drives the progress bar's ETA).
    pub total: Option<u64>,
    pub concurrency: usize,
}

/// Collects outcomes and prints them.
pub struct Reporter {
    config: ReportConfig,
    dead_letter: Option<(CaptureWriter, CaptureCloser)>,
    pub summary: Summary,
    progress: Option<ProgressBar>,
    started: Instant,
    failures_shown: u64,
    /// Lines for stdout not written yet (see [`Sink::hold_output`]).
    out: Vec<u8>,
    hold: bool,
    diag: Diag,
}

/// Held stdout output is written once it reaches this size, whatever the engine says.
const MAX_HELD: usize = 64 * 1024;

/// Failures printed one per line before the rest are only counted.
const MAX_FAILURE_LINES: u64 = 20;

impl Reporter {
    /// Opens the dead-letter file, if any; call from within the tokio runtime.
    pub fn new(config: ReportConfig) -> anyhow::Result<Reporter> {
        let progress = progress_bar(config.total, config.detail);
        let dead_letter = config
            .dead_letter
            .as_deref()
            .map(|path| CaptureWriter::open(path, false, Diag::stderr()))
            .transpose()?;
        Ok(Reporter {
            config,
            dead_letter,
            summary: Summary::default(),
            progress,
            started: Instant::now(),
            failures_shown: 0,
            out: Vec::new(),
            hold: false,
            diag: Diag::stderr(),
        })
    }

    fn each_event(&self) -> bool {
        match self.config.detail {
            Detail::Quiet => false,
            Detail::Normal => self.config.total == Some(1),
            Detail::Verbose => true,
        }
    }

    fn print_line(&mut self, event: &Event, outcome: &Outcome) -> std::io::Result<()> {
        let status = match outcome.status {
            Some(s) => style::status(s).to_string() + &describe_status(s)[3..],
            None => style::error("no answer").to_string(),
        };
        let mut line = format!(
            "{status}  {}  {}  {}",
            human_duration(outcome.latency),
            style::event_type(&sanitize::sanitize_line(
                event.event_type.as_deref().unwrap_or("-")
            )),
            style::id(&sanitize::sanitize_line(&event.id)),
        );
        if outcome.attempts > 1 {
            line.push_str(&format!("  ({} attempts)", outcome.attempts));
        }
        writeln!(self.out, "{line}")?;
        if self.config.detail == Detail::Verbose && !outcome.body.is_empty() {
            let body = String::from_utf8_lossy(&outcome.body);
            writeln!(self.out, "{}", sanitize::sanitize_text(&body))?;
        }
        Ok(())
    }

    /// Writes the stdout lines gathered so far, unless they are being held back.
    fn emit(&mut self) -> std::io::Result<()> {
        if self.hold && self.out.len() < MAX_HELD {
            return Ok(());
        }
        self.write_out()
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let mut stdout = std::io::stdout().lock();
        let written = stdout.write_all(&self.out).and_then(|()| stdout.flush());
        self.out.clear();
        written
    }

    /// Counts events that were not sent.
    pub fn skipped(&mut self, n: u64) {
        self.summary.skipped += n;
    }

    /// Closes the dead-letter file, prints the summary, and returns the exit status the run
    /// deserves.
    pub async fn finish(mut self, interrupted: bool) -> anyhow::Result<Exit> {
        if let Some((writer, closer)) = self.dead_letter.take() {
            let path = writer.path().to_path_buf();
            drop(writer);
            let written = closer.close().await;
            if written > 0 {
                self.diag.note(format_args!(
                    "{written} failed event{} written to {}",
                    if written == 1 { "" } else { "s" },
                    path.display()
                ));
            }
        }
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        let elapsed = self.started.elapsed();
        self.write_out()?;
        if self.config.json {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{}",
                self.summary
                    .to_json(elapsed, self.config.concurrency, interrupted)
            )?;
            out.flush()?;
        }
        let show_summary = self.config.detail != Detail::Quiet || !self.summary.all_succeeded();
        if show_summary && self.config.total != Some(1) {
            self.diag.line(
                self.summary
                    .render(elapsed, self.config.concurrency, interrupted),
            );
        }
        Ok(if interrupted {
            Exit::Interrupted
        } else if self.summary.all_succeeded() {
            Exit::Ok
        } else {
            Exit::DeliveryFailed
        })
    }
}

/// The `result` NDJSON record for one event.
#[derive(serde::Serialize)]
struct ResultRecord<'a> {
    kind: &'static str,
    id: &'a str,
    r#type: Option<&'a str>,
    ok: bool,
    status: Option<u16>,
    attempts: u32,
    latency_ms: f64,
    error: Option<String>,
}

impl Sink for Reporter {
    fn hold_output(&mut self, hold: bool) -> anyhow::Result<()> {
        self.hold = hold;
        Ok(self.emit()?)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        Ok(self.write_out()?)
    }

    fn outcome(&mut self, mut event: Event, outcome: Outcome) -> anyhow::Result<()> {
        self.summary.record(&outcome);
        if let Some(bar) = &self.progress {
            bar.inc(1);
        }
        // `-q` keeps only what went wrong: with --json, the results of failed events.
        let result_record = self.config.detail != Detail::Quiet || !outcome.is_success();
        if self.config.json && result_record {
            let record = ResultRecord {
                kind: "result",
                id: &event.id,
                r#type: event.event_type.as_deref(),
                ok: outcome.is_success(),
                status: outcome.status,
                attempts: outcome.attempts,
                latency_ms: outcome.latency.as_secs_f64() * 1000.0,
                error: outcome.error.as_ref().map(ToString::to_string),
            };
            serde_json::to_writer(&mut self.out, &record)?;
            self.out.push(b'\n');
            self.emit()?;
        } else if !self.config.json && self.each_event() && outcome.status.is_some() {
            self.print_line(&event, &outcome)?;
            self.emit()?;
        }
        if !outcome.is_success() {
            let why = outcome
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !self.config.json {
                self.failures_shown += 1;
                if self.failures_shown <= MAX_FAILURE_LINES {
                    self.suspend(|| {
                        self.diag
                            .error(format_args!("{}: {why}", Untrusted(&event.id)))
                    });
                } else if self.failures_shown == MAX_FAILURE_LINES + 1 {
                    self.suspend(|| {
                        self.diag
                            .note("further failures are only counted in the summary")
                    });
                }
            }
            if let Some((dead, _)) = &self.dead_letter {
                event.notes.error = Some(why);
                let mut line = Vec::with_capacity(event.body.len() + 384);
                event.write_json_line(&mut line);
                dead.append_nowait(&line);
            }
        }
        Ok(())
    }
}

impl Reporter {
    fn suspend(&self, f: impl FnOnce()) {
        match &self.progress {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

/// A bar on stderr when it is a terminal and more than one event is going out.
fn progress_bar(total: Option<u64>, detail: Detail) -> Option<ProgressBar> {
    if detail == Detail::Quiet || !std::io::stderr().is_terminal() || total == Some(1) {
        return None;
    }
    let bar = match total {
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} events  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {pos} events  {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}
