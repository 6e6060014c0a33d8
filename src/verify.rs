//! `hookctl verify`: check the signatures of captured events offline, one line per event.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

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
        let verdict = signature::verify(
            &config.scheme,
            &config.secrets,
            &event.headers,
            &event.body,
            now,
            config.tolerance.as_secs(),
        );
        let (ok, reason) = match &verdict {
            Verdict::Valid { .. } => (true, "signature matches".to_owned()),
            Verdict::Invalid(failure) => (false, failure.to_string()),
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
