//! `replay --dry-run`: the events a replay would send, as capture lines, sent nowhere.

use std::io::{BufRead, Write};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Feeder, ReplayPlan};
use crate::exit::Exit;
use crate::shutdown::shutdown_signal;

/// How long the reader may pause before what it has read is flushed.
const FLUSH_AFTER: Duration = Duration::from_millis(10);

/// Writes every event `plan` selects from `input` to `out`, one capture line each. When the
/// reader has nothing more for now (`--follow`, `--speed`, a slow stdin), what was written is
/// flushed, so each event shows as soon as it is read and Ctrl-C loses nothing.
pub fn run(
    input: Box<dyn BufRead + Send>,
    plan: ReplayPlan,
    out: &mut dyn Write,
) -> anyhow::Result<Exit> {
    let (reader, mut rx) = Feeder::start(input, plan, Default::default());
    let runtime = crate::deliver::runtime()?;
    let interrupted = runtime.block_on(async {
        let stop = shutdown_signal();
        tokio::pin!(stop);
        let mut line = Vec::with_capacity(4096);
        loop {
            // A reader that keeps up fills the buffer; one that pauses for longer than
            // FLUSH_AFTER gets what it has read so far shown.
            let next = match rx.try_recv() {
                Ok(event) => Some(event),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout(FLUSH_AFTER, rx.recv()).await {
                        Ok(next) => next,
                        Err(_) => {
                            out.flush()?;
                            tokio::select! {
                                next = rx.recv() => next,
                                _ = &mut stop => return Ok(true),
                            }
                        }
                    }
                }
            };
            let Some(event) = next else {
                return anyhow::Ok(false);
            };
            line.clear();
            event.write_json_line(&mut line);
            out.write_all(&line)?;
        }
    })?;
    out.flush()?;
    if interrupted {
        // The reader may be waiting on a followed file; it ends with the process.
        return Ok(Exit::Interrupted);
    }
    let fed = reader.finish()?;
    Ok(if fed.failed() { Exit::Error } else { Exit::Ok })
}
