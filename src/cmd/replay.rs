//! `hookctl replay`: turns the arguments into a [`ReplayPlan`] and a [`ReplayConfig`] and calls
//! [`replay::run`] (or [`replay::dry_run::run`]).

use std::sync::Arc;

use crate::cli::{PublishArgs, ReplayArgs};
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::engine::Run;
use crate::deliver::Target;
use crate::exit::Exit;
use crate::output::diag::Diag;
use crate::replay::routed::RoutedOptions;
use crate::replay::{self, ReplayConfig, ReplayPlan, Selector};
use crate::route::{RouteSpec, Router, RouterConfig};

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
    if !args.route.is_empty() {
        return routed(args, global, input, plan);
    }
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

/// `replay --route`: the events through the routes, on one runtime that also connects the
/// brokers and opens the files.
fn routed(
    args: ReplayArgs,
    global: &GlobalOptions,
    input: Box<dyn std::io::BufRead + Send>,
    plan: ReplayPlan,
) -> anyhow::Result<Exit> {
    let specs = RouteSpec::parse_all(&args.route).map_err(anyhow::Error::msg)?;
    let diag = Diag::stderr();
    let (_, delivery, _) = delivery_setup(&args.delivery, global, None);
    // Broker routes take RabbitMQ's default exchange; Kafka's topic is in the URL.
    let publish = PublishArgs {
        publish: None,
        exchange: "webhooks".into(),
        queue: None,
        binding: "#".into(),
    };
    crate::deliver::runtime()?.block_on(async {
        let router = Router::build(
            specs,
            RouterConfig {
                delivery,
                fsync: false,
                unrouted: None,
                ack_first: false,
                peer: crate::deliver::Peer::Receiver,
                diag: diag.clone(),
            },
            |url| {
                let (publish, diag) = (&publish, &diag);
                async move { crate::cmd::relay::connect_publisher(publish, &url, diag).await }
            },
        )
        .await?;
        let options = RoutedOptions {
            concurrency: args.delivery.concurrency as usize,
            json: args.delivery.json,
            quiet: global.quiet,
            diag: diag.clone(),
        };
        let out = &mut std::io::stdout().lock();
        let exit = replay::routed::run(input, plan, &router, options, out).await;
        router.close().await;
        exit
    })
}
