//! `hookctl relay`, and the broker side of `listen --publish` and `send --publish`: turns the
//! arguments into a `RelayConfig` or `PublishConfig` and calls `crate::amqp::command`.
//! Built without the `amqp` feature, each says so.

use std::sync::Arc;

use crate::cli::{PublishArgs, RelayArgs};
use crate::cmd::GlobalOptions;
use crate::exit::Exit;
use crate::listen::handler::Publish;
use crate::output::diag::Diag;
use crate::send::compose::EventSpec;

/// The error every broker command gives in a build without the `amqp` feature.
#[cfg(not(feature = "amqp"))]
const NO_AMQP: &str =
    "this hookctl was built without RabbitMQ support; rebuild with the `amqp` feature (on by default)";

/// `hookctl relay AMQP_URL --queue NAME --to URL`.
#[cfg(not(feature = "amqp"))]
pub fn run(_args: RelayArgs, _global: &GlobalOptions) -> anyhow::Result<Exit> {
    anyhow::bail!(NO_AMQP)
}

/// `listen --publish`: the publisher, connected, when one was asked for.
#[cfg(not(feature = "amqp"))]
pub async fn listen_publisher(
    args: &PublishArgs,
    _diag: &Diag,
) -> anyhow::Result<Option<Arc<dyn Publish>>> {
    match args.publish {
        Some(_) => anyhow::bail!(NO_AMQP),
        None => Ok(None),
    }
}

/// `send --publish`: publishes `count` events built from `spec` instead of sending them.
#[cfg(not(feature = "amqp"))]
pub fn send_publish(
    _spec: EventSpec,
    _count: u64,
    _args: &PublishArgs,
    _json: bool,
    _global: &GlobalOptions,
) -> anyhow::Result<Exit> {
    anyhow::bail!(NO_AMQP)
}

#[cfg(feature = "amqp")]
pub use with_amqp::{listen_publisher, run, send_publish};

#[cfg(feature = "amqp")]
mod with_amqp {
    use std::time::Duration;

    use super::*;
    use crate::amqp::command;
    use crate::amqp::publisher::{PublishConfig, Publisher};
    use crate::amqp::relay::{DeadLetter, RelayConfig};
    use crate::amqp::{BrokerUrl, Topology};
    use crate::cmd::{delivery_setup, signer_from};
    use crate::deliver::{Prepare, Target};
    use crate::event::Event;
    use crate::send::compose::{unix_now, TAG_HEADER};

    /// How long listen and send wait for the broker's confirm of one publish.
    const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

    fn publish_config(
        args: &PublishArgs,
        url: &str,
        reconnect: bool,
        diag: Diag,
    ) -> anyhow::Result<PublishConfig> {
        let topology = Topology {
            exchange: args.exchange.clone(),
            queue: args.queue.clone(),
            binding: args.binding.clone(),
        };
        topology.validate()?;
        Ok(PublishConfig {
            url: BrokerUrl::parse(url)?,
            topology,
            confirm_timeout: CONFIRM_TIMEOUT,
            connection_name: format!(
                "hookctl {} (pid {})",
                if reconnect { "listen" } else { "send" },
                std::process::id()
            ),
            reconnect,
            diag,
        })
    }

    /// `listen --publish`: connects before listen announces itself, so a wrong URL fails fast.
    pub async fn listen_publisher(
        args: &PublishArgs,
        diag: &Diag,
    ) -> anyhow::Result<Option<Arc<dyn Publish>>> {
        let Some(url) = &args.publish else {
            return Ok(None);
        };
        let publisher = Publisher::connect(publish_config(args, url, true, diag.clone())?).await?;
        diag.line(format_args!(
            "publishing to exchange {:?} on {}",
            publisher.exchange(),
            publisher.url()
        ));
        Ok(Some(Arc::new(publisher)))
    }

    /// `send --publish`: one publish at a time, each confirmed; exit 3 if any failed.
    pub fn send_publish(
        spec: EventSpec,
        count: u64,
        args: &PublishArgs,
        json: bool,
        global: &GlobalOptions,
    ) -> anyhow::Result<Exit> {
        let url = args.publish.as_deref().unwrap_or_default();
        let config = publish_config(args, url, false, Diag::stderr())?;
        let out = &mut std::io::stdout().lock();
        command::publish_events(config, &spec, count, json, global.quiet, out)
    }

    /// `hookctl relay`.
    pub fn run(args: RelayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
        let url = BrokerUrl::parse(&args.url)?;
        let target = Target::parse(&args.to)?;
        let signer = match &args.resign {
            Some(scheme) => Some(signer_from(scheme, &args.secrets)?),
            None => None,
        };
        let delivery = &args.delivery;
        let tag = delivery.tag.clone();
        let prepare: Option<Prepare> = (signer.is_some() || tag.is_some()).then(|| {
            Arc::new(move |event: &mut Event, _attempt: u32| {
                if let Some(tag) = &tag {
                    event.headers.set(TAG_HEADER, tag);
                }
                if let Some(signer) = &signer {
                    // The scheme and secret were checked when the signer was built.
                    let _ = signer.apply(event, unix_now());
                }
            }) as Prepare
        });
        let config = RelayConfig {
            url,
            topology: Topology {
                exchange: args.exchange.clone(),
                queue: Some(args.queue.clone()),
                binding: args.binding.clone(),
            },
            dead_letter: DeadLetter {
                exchange: args
                    .dead_letter_exchange
                    .clone()
                    .unwrap_or_else(|| format!("{}.dead-letter", args.exchange)),
                queue: Some(
                    args.dead_letter_queue
                        .clone()
                        .unwrap_or_else(|| format!("{}.dead-letter", args.queue)),
                ),
            },
            prefetch: u16::try_from(delivery.concurrency.max(1)).unwrap_or(u16::MAX),
            rate: delivery.rate,
            count: args.count,
            connection_name: format!("hookctl relay (pid {})", std::process::id()),
            diag: Diag::stderr(),
        };
        config.topology.validate()?;
        let (report, delivery_config, _) = delivery_setup(delivery, global, None);
        command::run_relay(config, target, prepare, report, delivery_config)
    }
}
