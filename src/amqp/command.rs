//! The bodies of `send --publish` and `hookctl relay`, each on its own runtime.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use super::publisher::{PublishConfig, Publisher};
use super::relay::{self, RelayConfig};
use crate::deliver::engine::stop_on_signals;
use crate::deliver::report::{ReportConfig, Reporter};
use crate::deliver::{runtime, Deliverer, DeliveryConfig, Prepare, Target};
use crate::exit::Exit;
use crate::output::diag::Untrusted;
use crate::output::human_duration;
use crate::send::compose::EventSpec;

/// `send --publish`: publishes `count` events built from `spec`, one at a time, each
/// confirmed; with `json`, a result line each on `out`. Exit 3 if any failed.
pub fn publish_events(
    config: PublishConfig,
    spec: &EventSpec,
    count: u64,
    json: bool,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let diag = config.diag.clone();
    let exchange = config.topology.exchange.clone();
    let started = Instant::now();
    let (published, failed) = runtime()?.block_on(async {
        let publisher = Publisher::connect(config).await?;
        let mut published = 0u64;
        let mut failed = 0u64;
        for _ in 0..count {
            let event = spec.build().map_err(anyhow::Error::msg)?;
            let result = publisher.publish(&event).await;
            if json {
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
                    diag.note(format_args!(
                        "{}: cannot publish: {why}",
                        Untrusted(&event.id)
                    ));
                }
            }
        }
        publisher.close().await;
        anyhow::Ok((published, failed))
    })?;
    if !quiet || failed > 0 {
        diag.line(format_args!(
            "published {published} event{} to exchange {exchange:?} in {}; {failed} failed",
            if published == 1 { "" } else { "s" },
            human_duration(started.elapsed())
        ));
    }
    Ok(if failed > 0 {
        Exit::DeliveryFailed
    } else {
        Exit::Ok
    })
}

/// `hookctl relay`: delivers the queue's messages to `target` until stopped (or `count`
/// messages), then reports. Exit 3 if a delivery failed or a message was not an event.
pub fn run_relay(
    config: RelayConfig,
    target: Target,
    prepare: Option<Prepare>,
    report: ReportConfig,
    delivery: DeliveryConfig,
) -> anyhow::Result<Exit> {
    runtime()?.block_on(async move {
        let stop = stop_on_signals();
        let deliverer = Arc::new(Deliverer::new(delivery, target, prepare, stop.clone())?);
        let mut reporter = Reporter::new(report)?;
        let stats = relay::run(&config, deliverer, stop.clone(), &mut reporter).await?;
        let by_signal = *stop.borrow();
        let exit = reporter.finish(false).await?;
        config.diag.line(format_args!(
            "relay: {} acknowledged, {} dead-lettered, {} invalid, {} requeued; dead letters go to exchange {:?}{}",
            stats.acked,
            stats.dead_lettered,
            stats.invalid,
            stats.requeued,
            config.dead_letter.exchange,
            if by_signal { "; stopped by signal" } else { "" }
        ));
        anyhow::Ok(if exit == Exit::Ok && stats.invalid > 0 {
            Exit::DeliveryFailed
        } else {
            exit
        })
    })
}
