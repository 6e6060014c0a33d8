//! `hookctl verify`: check the signatures of captured events offline.

use std::io::Write;

use serde_json::json;

use crate::cli::VerifyArgs;
use crate::cmd::{scheme_from, secrets_from, GlobalOptions};
use crate::exit::{CodedError, Exit};
use crate::output::{sanitize::sanitize_line, style};
use crate::replay::reader::{open_input, CaptureReader};
use crate::send::compose::unix_now;
use crate::signature::{self, Verdict};

pub fn run(args: VerifyArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let scheme = scheme_from(&args.scheme, &args.secrets)?;
    let secrets = secrets_from(&args.secrets)?;
    let name = args.file.display().to_string();
    let mut reader = CaptureReader::new(open_input(&args.file)?);
    let mut out = std::io::stdout().lock();
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
            &scheme,
            &secrets,
            &event.headers,
            &event.body,
            now,
            args.tolerance.as_secs(),
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
        if args.json {
            let record = json!({
                "kind": "verification",
                "line": line.number,
                "id": event.id,
                "type": event.event_type,
                "scheme": scheme.name(),
                "ok": ok,
                "reason": reason,
            });
            writeln!(out, "{record}")?;
        } else if !ok || !global.quiet {
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
    eprintln!(
        "{valid} valid, {invalid} invalid ({} scheme)",
        scheme.name()
    );
    Ok(if invalid == 0 {
        Exit::Ok
    } else {
        Exit::ExpectationFailed
    })
}
