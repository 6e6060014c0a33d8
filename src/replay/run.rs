//! `hookctl replay` without `--dry-run`: the capture's events, read on their own thread and
//! delivered through the delivery engine.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{feed, ReplayPlan};
use crate::deliver::engine::{self, EngineConfig};
use crate::deliver::report::{ReportConfig, Reporter};
use crate::deliver::{runtime, Deliverer, DeliveryConfig, Prepare, Target};
use crate::exit::Exit;

/// Everything a replay needs: the events `plan` selects from `input`, delivered to `target`.
pub struct ReplayConfig {
    pub input: Box<dyn BufRead + Send>,
    pub plan: ReplayPlan,
    pub target: Target,
    pub prepare: Option<Prepare>,
    pub report: ReportConfig,
    pub delivery: DeliveryConfig,
    pub engine: EngineConfig,
}

/// Delivers the selected events and reports on them; a malformed line that stopped the reader
/// makes the exit code an error.
pub fn run(config: ReplayConfig) -> anyhow::Result<Exit> {
    runtime()?.block_on(async move {
        let stop = engine::stop_on_signals();
        let deliverer =
            Deliverer::new(config.delivery, config.target, config.prepare, stop.clone())?;
        let (tx, rx) = mpsc::channel(1024);
        let (input, plan) = (config.input, config.plan);
        let reader = std::thread::spawn(move || feed(input, &plan, tx));
        let mut reporter = Reporter::new(config.report)?;
        let deliverer = Arc::new(deliverer);
        let interrupted = engine::run(deliverer, config.engine, rx, stop, &mut reporter).await?;
        let fed = if interrupted {
            None
        } else {
            Some(
                reader
                    .join()
                    .map_err(|_| anyhow::anyhow!("reader thread panicked"))??,
            )
        };
        if let Some(fed) = &fed {
            reporter.skipped(fed.skipped);
        }
        let exit = reporter.finish(interrupted).await?;
        Ok::<_, anyhow::Error>(match fed.and_then(|f| f.stopped_at) {
            Some(_) => Exit::Error,
            None => exit,
        })
    })
}

/// The number of lines in the capture, for the progress bar's ETA: only counted when a bar will
/// be shown (stderr is a terminal) and the input is a plain file read once.
pub fn progress_total(plan: &ReplayPlan) -> Option<u64> {
    use std::io::{IsTerminal, Read};
    if plan.follow || plan.file.as_os_str() == "-" || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut file = std::fs::File::open(&plan.file).ok()?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        match file.read(&mut buf) {
            // One event would read as a single send (no summary): leave it to the spinner.
            Ok(0) => return (lines > 1).then_some(lines),
            Ok(n) => lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64,
            Err(_) => return None,
        }
    }
}
