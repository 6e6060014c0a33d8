//! `hookctl replay`: turns the arguments into a [`ReplayPlan`] and a [`ReplayConfig`] and calls
//! [`replay::run`] (or [`replay::dry_run::run`]).

use std::sync::Arc;

use crate::cli::ReplayArgs;
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::engine::Run;
use crate::deliver::Target;
use crate::exit::Exit;
use crate::replay::{self, ReplayConfig, ReplayPlan, Selector};

pub fn run(args: ReplayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    let target = Target::parse(&args.to)?;
    let selector = Selector::new(&args.ids, &args.filter).map_err(anyhow::Error::msg)?;
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
    let (report, delivery, engine) =
        delivery_setup(&args.delivery, global, replay::progress_total(&plan));
    replay::run(ReplayConfig {
        input,
        plan,
        run: Run {
            target,
            prepare: signer.map(|signer| signer.resign_hook(1)),
            report,
            delivery,
            engine,
        },
    })
}
