//! What `send` and `replay` show while they run: a line or an NDJSON record per event, a
//! progress bar on a terminal, the dead-letter file, and the closing summary.

use std::io::Write;
use std::time::Instant;

use std::path::PathBuf;

use console::{pad_str, Alignment};

use crate::deliver::engine::Sink;
use crate::deliver::error::Peer;
use crate::deliver::progress::Progress;
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
    /// A progress bar made by the caller, to share with whatever else moves it (replay's
    /// reader counts the lines it passes over); otherwise one is made from `total`.
    pub progress: Option<Progress>,
}

/// Collects outcomes and prints them.
pub struct Reporter {
    config: ReportConfig,
    dead_letter: Option<(CaptureWriter, CaptureCloser)>,
    pub summary: Summary,
    progress: Progress,
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
        let progress = match &config.progress {
            Some(progress) => progress.clone(),
            None => Progress::new(config.total, config.detail),
        };
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

    /// Whether an event with this outcome gets a result line on stdout (when events get
    /// lines at all): a 2xx always; another answer with `-v`, with its body, in place of the
    /// error line.
    fn result_line_for(&self, outcome: &Outcome) -> bool {
        outcome.is_success() || (outcome.status.is_some() && self.config.detail == Detail::Verbose)
    }

    fn each_event(&self) -> bool {
        match self.config.detail {
            Detail::Quiet => false,
            Detail::Normal => self.config.total == Some(1),
            Detail::Verbose => true,
        }
    }

    /// The result line of an answered event: status, latency, type and id in aligned
    /// columns (and the response body with `-v`).
    fn print_line(&mut self, event: &Event, outcome: &Outcome) -> std::io::Result<()> {
        let Some(status) = outcome.status else {
            return Ok(());
        };
        let columns = if self.config.detail == Detail::Verbose {
            LONG_STATUS_COLUMNS
        } else {
            STATUS_COLUMNS
        };
        self.out
            .extend_from_slice(result_line(event, status, outcome, columns).as_bytes());
        self.out.push(b'\n');
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

    /// Counts events that were not sent because `--filter` or `--id` left them out (they are
    /// also counted by [`Reporter::skipped`]).
    pub fn filtered(&mut self, n: u64) {
        self.summary.filtered += n;
    }

    /// The run's progress bar.
    pub fn progress(&self) -> Progress {
        self.progress.clone()
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
        self.progress.clear();
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
        // One event's result line is its summary; `-q` hides that line, so it keeps the summary.
        let show_summary = self.config.total != Some(1) || self.config.detail == Detail::Quiet;
        if show_summary {
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
        self.progress.advance(1);
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
        } else if !self.config.json && self.each_event() && self.result_line_for(&outcome) {
            self.print_line(&event, &outcome)?;
            self.emit()?;
        }
        if !outcome.is_success() {
            let why = outcome
                .error
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            // A failed event is one line: its result line (an answer, with -v), or this one
            // on stderr.
            let has_result_line = self.each_event() && self.result_line_for(&outcome);
            if !self.config.json && !has_result_line {
                self.failures_shown += 1;
                if self.failures_shown <= MAX_FAILURE_LINES {
                    self.progress.suspend(|| {
                        self.diag.error(format_args!(
                            "{}: {}{}",
                            Untrusted(&event.id),
                            failure(&outcome),
                            attempts(outcome.attempts),
                        ));
                    });
                } else if self.failures_shown == MAX_FAILURE_LINES + 1 {
                    self.progress.suspend(|| {
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

/// Columns of a result line: `204 No Content` is the longest common 2xx status; latencies
/// read like `350µs`, `12ms`, `1.5s`, `2m03s`; types are mostly shorter than 24 columns.
const STATUS_COLUMNS: usize = 14;
/// With `-v` non-2xx answers get result lines too: `500 Internal Server Error`.
const LONG_STATUS_COLUMNS: usize = 25;
const LATENCY_COLUMNS: usize = 5;
const TYPE_COLUMNS: usize = 24;

/// `200 OK          12ms  payment_success           evt_…  (2 attempts)`: each column padded
/// to its width, measured in display columns after escaping.
pub fn result_line(event: &Event, status: u16, outcome: &Outcome, status_columns: usize) -> String {
    let described = describe_status(status);
    let status_text = pad_str(&described, status_columns, Alignment::Left, None);
    let latency = human_duration(outcome.latency);
    let latency = pad_str(&latency, LATENCY_COLUMNS, Alignment::Right, None);
    let event_type = sanitize::sanitize_line(event.event_type.as_deref().unwrap_or("-"));
    let event_type = pad_str(&event_type, TYPE_COLUMNS, Alignment::Left, None);
    let mut line = format!(
        "{}  {}  {}  {}",
        style::status_text(status, &status_text),
        latency,
        style::event_type(&event_type),
        style::id(&sanitize::sanitize_line(&event.id)),
    );
    if outcome.attempts > 1 {
        line.push_str(&format!("  ({} attempts)", outcome.attempts));
    }
    line
}

/// Why an event failed, with the hint that fits the cause.
fn failure(outcome: &Outcome) -> String {
    match &outcome.error {
        Some(error) => error.with_hint(Peer::Receiver).to_string(),
        None => match outcome.status {
            Some(status) => format!("answered {}", describe_status(status)),
            None => "no answer".to_owned(),
        },
    }
}

/// ` after 3 attempts`, or nothing for one.
fn attempts(n: u32) -> String {
    if n > 1 {
        format!(" after {n} attempts")
    } else {
        String::new()
    }
}
