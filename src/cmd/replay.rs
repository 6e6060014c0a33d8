//! `hookctl replay`: glue from the command line to the capture reader and delivery engine.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cli::ReplayArgs;
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::engine;
use crate::deliver::report::Reporter;
use crate::deliver::runtime;
use crate::deliver::{Deliverer, Target};
use crate::exit::Exit;
use crate::replay::{self, ReplayPlan, Selector};

pub fn run(args: ReplayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let target = Target::parse(&args.to)?;
    let selector = Selector::parse(&args.filter).map_err(anyhow::Error::msg)?;
    let signer = match &args.resign {
        Some(scheme) => Some(Arc::new(signer_from(scheme, &args.secrets)?)),
        None => None,
    };
    if args.new_ids && signer.is_none() {
        crate::output::diag::Diag::stderr().warn("--new-ids without --resign: signatures that cover the id (standard, svix) will no longer verify");
    }
    let plan = ReplayPlan {
        file: args.file.clone(),
        selector,
        skip_invalid: args.skip_invalid,
        speed: args.speed,
        follow: args.follow,
        from_end: args.from_end,
        new_ids: args.new_ids,
        tag: args.delivery.tag.clone(),
        // Dry runs show the re-signed event; real runs re-sign on every attempt.
        resign_now: if args.dry_run { signer.clone() } else { None },
        warn_expired: signer.is_none(),
        resigning: signer.is_some(),
        resign_unverified: args.resign_unverified,
    };
    let input = replay::open(&plan)?;
    if args.dry_run {
        crate::output::pipe::widen_stdout_pipe();
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
        return replay::dry_run::run(input, plan, &mut out);
    }
    let delivery = &args.delivery;
    let (report, config, engine_config) = delivery_setup(delivery, global, progress_total(&args));
    let prepare = signer.map(|signer| signer.resign_hook(1));
    let exit = runtime()?.block_on(async move {
        let stop = engine::stop_on_signals();
        let deliverer = Arc::new(Deliverer::new(config, target, prepare, stop.clone())?);
        let (tx, rx) = mpsc::channel(1024);
        let reader = std::thread::spawn(move || replay::feed(input, &plan, tx));
        let mut reporter = Reporter::new(report)?;
        let interrupted = engine::run(deliverer, engine_config, rx, stop, &mut reporter).await?;
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
    })?;
    Ok(exit)
}

/// The number of lines in the capture, for the progress bar's ETA: only counted when a bar will
/// be shown (stderr is a terminal) and the input is a plain file read once.
fn progress_total(args: &ReplayArgs) -> Option<u64> {
    use std::io::{IsTerminal, Read};
    if args.follow || args.file.as_os_str() == "-" || !std::io::stderr().is_terminal() {
        return None;
    }
    let mut file = std::fs::File::open(&args.file).ok()?;
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
