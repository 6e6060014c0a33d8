//! `hookctl replay --route`: the capture's events through the routes instead of to one
//! `--to`, so a capture can be fanned out later. Each event's outcome is a line (a `result`
//! record with `--json`), and the run exits 3 when a route failed for some event.

use std::io::{BufRead, Write};

use futures_util::stream::{self, StreamExt as _};

use super::{Feeder, ReplayPlan};
use crate::event::RouteNote;
use crate::exit::Exit;
use crate::output::diag::{Diag, Untrusted};
use crate::route::Router;

/// What a routed replay prints, and how many events run at once.
pub struct RoutedOptions {
    pub concurrency: usize,
    pub json: bool,
    pub quiet: bool,
    pub diag: Diag,
}

/// Routes every selected event of `input`; outcomes on `out` (JSON) or the diagnostics.
pub async fn run(
    input: Box<dyn BufRead + Send>,
    plan: ReplayPlan,
    router: &Router,
    options: RoutedOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (reader, mut rx) = Feeder::start(input, plan, Default::default());
    let events = stream::poll_fn(move |cx| rx.poll_recv(cx));
    let mut routed = events
        .map(|event| async move {
            let notes = router.dispatch(&event).await;
            (event, notes)
        })
        .buffered(options.concurrency.max(1));
    let (mut accepted, mut failed, mut unrouted) = (0u64, 0u64, 0u64);
    while let Some((event, notes)) = routed.next().await {
        let ok = notes.as_ref().map(|n| n.iter().all(|r| r.ok));
        match ok {
            Some(true) => accepted += 1,
            Some(false) => failed += 1,
            None => unrouted += 1,
        }
        if options.json {
            let record = serde_json::json!({
                "kind": "result", "id": event.id, "type": event.event_type,
                "ok": ok.unwrap_or(true), "routed": ok.is_some(), "routes": notes,
            });
            writeln!(out, "{record}")?;
        } else if !options.quiet || ok == Some(false) {
            let line = format!(
                "{} {}: {}",
                Untrusted(&event.id),
                Untrusted(event.event_type.as_deref().unwrap_or("-")),
                describe(notes.as_deref())
            );
            if ok == Some(false) {
                options.diag.error(line);
            } else {
                options.diag.line(line);
            }
        }
    }
    out.flush()?;
    let fed = reader.finish()?;
    options.diag.line(format_args!(
        "routed {} event{} through {} route{}: {accepted} accepted by every route taken, {failed} failed, {unrouted} taken by no route{}",
        accepted + failed + unrouted,
        if accepted + failed + unrouted == 1 { "" } else { "s" },
        router.len(),
        if router.len() == 1 { "" } else { "s" },
        if fed.skipped > 0 { format!(", {} skipped", fed.skipped) } else { String::new() }
    ));
    Ok(if fed.stopped_at.is_some() {
        Exit::Error
    } else if failed > 0 {
        Exit::DeliveryFailed
    } else {
        Exit::Ok
    })
}

/// `pay 200, bus ok, crm failed: …`, or `no route`.
fn describe(notes: Option<&[RouteNote]>) -> String {
    let Some(notes) = notes else {
        return "no route".to_owned();
    };
    notes
        .iter()
        .map(|r| match &r.error {
            Some(why) => format!("{} failed: {}", r.name, why),
            None => format!("{} {}", r.name, r.result()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
