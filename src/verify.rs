//! `hookctl verify`: check the signatures of captured events offline, one line per event.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::exit::{CodedError, Exit};
use crate::output::diag::Diag;
use crate::output::{sanitize::sanitize_line, style};
use crate::replay::reader::{open_input, CaptureReader};
use crate::send::compose::unix_now;
use crate::signature::{self, Scheme, Secret, Verdict};

/// What `verify` checks, and how it reports.
pub struct VerifyConfig {
    pub file: PathBuf,
    pub scheme: Scheme,
    pub secrets: Vec<Secret>,
    pub tolerance: Duration,
    /// Measure timestamps against the current time (`--now`) instead of the time each event
    /// was received, so that an old capture still verifies as it did when it arrived.
    pub against_now: bool,
    /// One NDJSON record per event instead of a line for people.
    pub json: bool,
    /// Show only the events that fail.
    pub quiet: bool,
}

/// Verifies every event in the capture, writing a line (or record) per event to `out` and the
/// totals to `diag`. Exits 4 when any signature is invalid.
pub fn run(config: &VerifyConfig, out: &mut dyn Write, diag: &Diag) -> anyhow::Result<Exit> {
    let name = config.file.display().to_string();
    let mut reader = CaptureReader::new(open_input(&config.file)?);
    let (mut valid, mut invalid) = (0u64, 0u64);
    let now = unix_now();
    while let Some(line) = reader
        .next_line()
        .map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?
    {
        let event = match line.record {
            Ok(Some(event)) => event,
            Ok(None) => continue,
            Err(why) => {
                return Err(CodedError::error(
                    Exit::Error,
                    format!("{name}:{}: {why}", line.number),
                ))
            }
        };
        let reference = if config.against_now {
            now
        } else {
            unix_secs(event.received_at)
        };
        let verdict = signature::verify(
            &config.scheme,
            &config.secrets,
            &event.headers,
            &event.body,
            reference,
            config.tolerance.as_secs(),
        );
        let (ok, reason) = match &verdict {
            Verdict::Valid { .. } => (true, "signature matches".to_owned()),
            Verdict::Invalid(failure) if config.against_now => (false, failure.to_string()),
            Verdict::Invalid(failure) => (false, failure.at_arrival()),
        };
        if ok {
            valid += 1;
        } else {
            invalid += 1;
        }
        let event_type = event.event_type.as_deref().unwrap_or("-");
        if config.json {
            let record = json!({
                "kind": "verification",
                "line": line.number,
                "id": event.id,
                "type": event.event_type,
                "scheme": config.scheme.name(),
                "ok": ok,
                "reason": reason,
                "checked_against": if config.against_now { "now" } else { "received_at" },
            });
            writeln!(out, "{record}")?;
        } else if !ok || !config.quiet {
            let mark = if ok {
                style::ok("✓ valid  ")
            } else {
                style::error("✗ invalid")
            };
            writeln!(
                out,
                "{mark}  {name}:{}  {}  {}  {}",
                line.number,
                style::id(&sanitize_line(&event.id)),
                style::event_type(&sanitize_line(event_type)),
                if ok { String::new() } else { reason },
            )?;
        }
    }
    out.flush()?;
    diag.line(format_args!(
        "{valid} valid, {invalid} invalid ({} scheme)",
        config.scheme.name()
    ));
    Ok(if invalid == 0 {
        Exit::Ok
    } else {
        Exit::ExpectationFailed
    })
}

/// Whole seconds since the Unix epoch; times before it count as 0.
fn unix_secs(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
