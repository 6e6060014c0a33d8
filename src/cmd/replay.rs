//! `hookctl replay`: glue from the command line to the capture reader and delivery engine.

use std::io::Write;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::cli::ReplayArgs;
use crate::cmd::{detail, open_dead_letter, runtime, signer_from, GlobalOptions};
use crate::deliver::{Deliverer, DeliveryConfig, Prepare, Target};
use crate::engine::{self, EngineConfig};
use crate::exit::Exit;
use crate::replay::{self, ReplayPlan, Selector};
use crate::report::{ReportConfig, Reporter};

pub fn run(args: ReplayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let target = Target::parse(&args.to)?;
    let selector = Selector::parse(&args.filter).map_err(anyhow::Error::msg)?;
    let signer = match &args.resign {
        Some(scheme) => Some(Arc::new(signer_from(scheme, &args.secrets)?)),
        None => None,
    };
    if let Some(speed) = args.speed {
        if !(speed.is_finite() && speed > 0.0) {
            anyhow::bail!("--speed must be greater than 0 (1 is real time, 2 twice as fast)");
        }
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
    };
    let input = replay::open(&plan)?;
    if args.dry_run {
        let (tx, mut rx) = mpsc::channel(1024);
        let reader = std::thread::spawn(move || replay::feed(input, &plan, tx));
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, std::io::stdout().lock());
        let mut line = Vec::with_capacity(4096);
        while let Some(event) = rx.blocking_recv() {
            line.clear();
            event.write_json_line(&mut line);
            out.write_all(&line)?;
        }
        out.flush()?;
        let fed = reader
            .join()
            .map_err(|_| anyhow::anyhow!("reader thread panicked"))??;
        return Ok(if fed.stopped_at.is_some() {
            Exit::Error
        } else {
            Exit::Ok
        });
    }
    let delivery = &args.delivery;
    let dead_letter = open_dead_letter(delivery.dead_letter.as_deref())?;
    let report = ReportConfig {
        json: delivery.json,
        detail: detail(global),
        dead_letter: dead_letter.as_ref().map(|(w, _)| w.clone()),
        total: None,
        concurrency: delivery.concurrency,
    };
    let config = DeliveryConfig {
        timeout: delivery.timeout,
        retries: delivery.retries,
        backoff: delivery.backoff,
    };
    let engine_config = EngineConfig {
        concurrency: delivery.concurrency,
        rate: delivery.rate,
    };
    let prepare: Option<Prepare> = signer.map(|signer| {
        Arc::new(move |event: &mut crate::event::Event, _attempt: u32| {
            // The scheme and secret were checked when the signer was built.
            let _ = signer.apply(event, crate::compose::unix_now());
        }) as Prepare
    });
    let multi = delivery.concurrency > 1;
    let exit = runtime(multi)?.block_on(async move {
        let stop = engine::stop_on_signals();
        let deliverer = Arc::new(Deliverer::new(config, target, prepare, stop.clone())?);
        let (tx, rx) = mpsc::channel(1024);
        let reader = std::thread::spawn(move || replay::feed(input, &plan, tx));
        let mut reporter = Reporter::new(report);
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
        let exit = reporter.finish(interrupted)?;
        Ok::<_, anyhow::Error>(match fed.and_then(|f| f.stopped_at) {
            Some(_) => Exit::Error,
            None => exit,
        })
    })?;
    if let Some((writer, closer)) = dead_letter {
        drop(writer);
        closer.close();
    }
    Ok(exit)
}
