//! The bodies of `send --publish` and `hookctl relay`, each on its own runtime.

use std::io::Write;

use super::publisher::{PublishConfig, Publisher};
use super::relay::{self, RelayConfig};
use crate::bridge::relay::RelayRun;
use crate::bridge::{self, publish::PublishRun};
use crate::deliver::runtime;
use crate::exit::Exit;
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
    let run = PublishRun {
        spec,
        count,
        json,
        quiet,
        destination: format!("exchange {:?}", config.topology.exchange),
        diag: config.diag.clone(),
    };
    runtime()?.block_on(async {
        let publisher = Publisher::connect(config).await?;
        let exit = bridge::publish::publish_events(&publisher, run, out).await;
        publisher.close().await;
        exit
    })
}

/// `hookctl relay`: delivers the queue's messages to `target` until stopped (or `count`
/// messages), then reports. Exit 3 if a delivery failed or a message was not an event.
pub fn run_relay(config: RelayConfig, run: RelayRun) -> anyhow::Result<Exit> {
    let diag = config.diag.clone();
    let exchange = config.dead_letter.exchange.clone();
    bridge::relay::run_reported(
        run,
        &diag,
        |deliverer, stop, reporter| {
            Box::pin(async move { relay::run(&config, deliverer, stop, reporter).await })
        },
        |stats| {
            format!(
                "relay: {} acknowledged, {} dead-lettered, {} invalid, {} requeued; dead letters go to exchange {exchange:?}",
                stats.acked, stats.dead_lettered, stats.invalid, stats.requeued
            )
        },
    )
}
