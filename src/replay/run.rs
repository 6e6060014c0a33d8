//! `hookctl replay` without `--dry-run`: the capture's events, read on their own thread and
//! delivered through the delivery engine.

use std::io::BufRead;

use super::{Feeder, ReplayPlan};
use crate::deliver::engine::{deliver_reported, Run};
use crate::deliver::progress::Progress;
use crate::deliver::runtime;
use crate::exit::Exit;

/// Everything a replay needs: the events `plan` selects from `input`, delivered as `run` says.
pub struct ReplayConfig {
    pub input: Box<dyn BufRead + Send>,
    pub plan: ReplayPlan,
    pub run: Run,
}

/// Delivers the selected events and reports on them; a malformed line that stopped the reader,
/// or an `--id` that is not in the capture, makes the exit code an error.
pub fn run(mut config: ReplayConfig) -> anyhow::Result<Exit> {
    runtime()?.block_on(async move {
        // The reader moves the bar past the lines it does not send, so a filter that selects
        // nothing does not leave it at 0/N.
        let progress = Progress::new(config.run.report.total, config.run.report.detail);
        config.run.report.progress = Some(progress.clone());
        let (input, plan) = (config.input, config.plan);
        let (reader, rx) = Feeder::start(input, plan, progress);
        let (mut reporter, interrupted) = deliver_reported(config.run, rx).await?;
        let fed = if interrupted {
            None
        } else {
            Some(reader.finish()?)
        };
        if let Some(fed) = &fed {
            reporter.skipped(fed.skipped);
            reporter.filtered(fed.filtered);
        }
        let exit = reporter.finish(interrupted).await?;
        Ok::<_, anyhow::Error>(match fed {
            Some(fed) if fed.failed() => Exit::Error,
            _ => exit,
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
