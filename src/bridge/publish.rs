//! `send --publish`: events built from a spec, published one at a time, each confirmed by the
//! broker, whichever bridge the publisher is.

use std::io::Write;
use std::time::Instant;

use crate::exit::Exit;
use crate::listen::handler::Publish;
use crate::output::diag::{Diag, Untrusted};
use crate::output::human_duration;
use crate::send::compose::EventSpec;

/// What `send --publish` was asked to do.
pub struct PublishRun<'a> {
    pub spec: &'a EventSpec,
    pub count: u64,
    /// A result line per event on `out`.
    pub json: bool,
    pub quiet: bool,
    /// Where the events go, for the summary: `exchange "webhooks"`, `topic "webhooks"`.
    pub destination: String,
    pub diag: Diag,
}

/// Publishes `run.count` events through `publisher`; with `json`, a result line each on `out`.
/// Reports the summary on the diagnostics; exit 3 if any failed.
pub async fn publish_events(
    publisher: &dyn Publish,
    run: PublishRun<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let mut published = 0u64;
    let mut failed = 0u64;
    for _ in 0..run.count {
        let event = run.spec.build().map_err(anyhow::Error::msg)?;
        let result = publisher.publish(&event).await;
        if run.json {
            let record = serde_json::json!({
                "kind": "result", "id": event.id, "type": event.event_type,
                "ok": result.is_ok(), "published": result.is_ok(),
                "error": result.as_ref().err().map(ToString::to_string),
            });
            writeln!(out, "{record}")?;
        }
        match result {
            Ok(()) => published += 1,
            Err(why) => {
                failed += 1;
                run.diag.note(format_args!(
                    "{}: cannot publish: {why}",
                    Untrusted(&event.id)
                ));
            }
        }
    }
    if !run.quiet || failed > 0 {
        run.diag.line(format_args!(
            "published {published} event{} to {} in {}; {failed} failed",
            if published == 1 { "" } else { "s" },
            run.destination,
            human_duration(started.elapsed())
        ));
    }
    Ok(if failed > 0 {
        Exit::DeliveryFailed
    } else {
        Exit::Ok
    })
}
