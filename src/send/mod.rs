//! `hookctl send`: building outgoing events from samples or bodies ([`compose`]), the
//! built-in samples ([`samples`]), and delivering them ([`run`]).

pub mod compose;
pub mod samples;

use std::io::Write;

use tokio::sync::mpsc;

use crate::deliver::engine::{deliver_reported, Run};
use crate::deliver::runtime;
use crate::exit::Exit;
use compose::EventSpec;

/// Everything a `send` needs: `count` events built from `spec`, delivered as `run` says.
pub struct SendConfig {
    pub spec: EventSpec,
    pub count: u64,
    pub run: Run,
}

/// Builds and delivers the events through the delivery engine, and reports on them.
pub fn run(config: SendConfig) -> anyhow::Result<Exit> {
    runtime()?.block_on(async move {
        let (tx, rx) = mpsc::channel(256);
        let (spec, count) = (config.spec, config.count);
        let producer = tokio::spawn(async move {
            for _ in 0..count {
                let Ok(event) = spec.build() else { break };
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        });
        let (reporter, interrupted) = deliver_reported(config.run, rx).await?;
        producer.abort();
        reporter.finish(interrupted).await
    })
}

/// `send --list`: the samples, one a line.
pub fn list(out: &mut dyn Write) -> anyhow::Result<Exit> {
    for sample in samples::all() {
        writeln!(out, "{:<20} {}", sample.name, sample.description)?;
    }
    Ok(Exit::Ok)
}

/// `send --dry-run`: the `count` events built from `spec`, as capture lines, sent nowhere.
pub fn dry_run(spec: &EventSpec, count: u64, out: &mut dyn Write) -> anyhow::Result<Exit> {
    for _ in 0..count {
        let event = spec.build().map_err(anyhow::Error::msg)?;
        writeln!(out, "{}", event.to_json_line())?;
    }
    Ok(Exit::Ok)
}
