//! `hookctl send`: building outgoing events from samples or bodies ([`compose`]), the
//! samples and flows ([`samples`]), CloudEvents output ([`format`]), and delivering them
//! ([`run`]).

pub mod compose;
pub mod format;
pub mod samples;

use std::io::Write;

use tokio::sync::mpsc;

use crate::deliver::engine::{deliver_reported, Run};
use crate::deliver::runtime;
use crate::exit::Exit;
use compose::{BodySource, EventSpec};
use samples::Catalogue;

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
            if let BodySource::Flow(flow) = &spec.body {
                // One step at a time, each after its gap; the engine delivers them in order.
                for _ in 0..count {
                    let Ok(steps) = spec.build_flow(flow) else {
                        break;
                    };
                    for (event, gap) in steps {
                        if !gap.is_zero() {
                            tokio::time::sleep(gap).await;
                        }
                        if tx.send(event).await.is_err() {
                            return;
                        }
                    }
                }
                return;
            }
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

/// `send --list [PROVIDER]`: the samples and flows, grouped by provider (`names_only`: bare
/// names, one a line, for shell completion).
pub fn list(
    catalogue: &Catalogue,
    only: Option<&str>,
    names_only: bool,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    match catalogue.write_list(out, only, names_only) {
        Ok(()) => Ok(Exit::Ok),
        // The io::Error itself, so that a closed pipe (`--list | head`) is recognised.
        Err(samples::ListError::Io(e)) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
}

/// `send --dry-run`: the `count` events built from `spec`, as capture lines, sent nowhere.
pub fn dry_run(spec: &EventSpec, count: u64, out: &mut dyn Write) -> anyhow::Result<Exit> {
    for _ in 0..count {
        if let BodySource::Flow(flow) = &spec.body {
            for (event, _) in spec.build_flow(flow).map_err(anyhow::Error::msg)? {
                writeln!(out, "{}", event.to_json_line())?;
            }
            continue;
        }
        let event = spec.build().map_err(anyhow::Error::msg)?;
        writeln!(out, "{}", event.to_json_line())?;
    }
    Ok(Exit::Ok)
}
