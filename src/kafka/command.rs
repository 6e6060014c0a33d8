//! The bodies of `send --publish kafka://` and `hookctl relay kafka://`, each on its own
//! runtime.

use std::io::Write;

use super::publisher::{PublishConfig, Publisher};
use super::relay::{self, RelayConfig};
use crate::bridge::relay::RelayRun;
use crate::bridge::{self, publish::PublishRun};
use crate::deliver::runtime;
use crate::exit::Exit;
use crate::output::diag::Diag;
use crate::send::compose::EventSpec;

/// `send --publish kafka://`: produces `count` events built from `spec`, one at a time, each
/// acknowledged; with `json`, a result line each on `out`. Exit 3 if any failed.
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
        destination: format!("topic {:?}", config.url.topic),
        diag: Diag::stderr(),
    };
    runtime()?.block_on(async {
        let publisher = Publisher::connect(config).await?;
        bridge::publish::publish_events(&publisher, run, out).await
    })
}

/// `hookctl relay kafka://`: delivers the topic's messages to the target until stopped (or
/// `count` messages), then reports. Exit 3 if a delivery failed or a message was not an event.
pub fn run_relay(config: RelayConfig, run: RelayRun) -> anyhow::Result<Exit> {
    let diag = config.diag.clone();
    let dead_topic = config.dead_letter_topic.clone();
    bridge::relay::run_reported(
        run,
        &diag,
        |deliverer, stop, reporter| {
            Box::pin(async move { relay::run(&config, deliverer, stop, reporter).await })
        },
        |stats| {
            format!(
                "relay: {} delivered, {} dead-lettered, {} invalid; dead letters go to topic {dead_topic:?}",
                stats.acked, stats.dead_lettered, stats.invalid
            )
        },
    )
}
