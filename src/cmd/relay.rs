//! `hookctl relay`, and the broker side of `listen --publish` and `send --publish`: picks the
//! bridge by the URL's scheme (amqp:// here, kafka:// in [`crate::cmd::kafka`]), turns the
//! arguments into its config and calls it. Built without a bridge's feature, it says so.

use std::sync::Arc;

use crate::bridge::relay::{BuildRoutes, RelayRun};
use crate::bridge::{self, Kind};
use crate::cli::{PublishArgs, RelayArgs};
use crate::cmd::{delivery_setup, signer_from, GlobalOptions};
use crate::deliver::{Prepare, Target};
use crate::event::Event;
use crate::exit::Exit;
use crate::listen::handler::Publish;
use crate::output::diag::Diag;
use crate::route::{RouteSpec, Router, RouterConfig};
use crate::send::compose::{unix_now, EventSpec, TAG_HEADER};

/// `hookctl relay URL ... --to URL`.
pub fn run(args: RelayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
    match bridge::kind(&args.url).map_err(anyhow::Error::msg)? {
        Kind::Amqp => {
            if args.group.is_some() || args.dead_letter_topic.is_some() {
                anyhow::bail!("--group and --dead-letter-topic are for kafka:// relays; a RabbitMQ relay takes --queue");
            }
            amqp::run(args, global)
        }
        Kind::Kafka => {
            if args.queue.is_some()
                || args.dead_letter_exchange.is_some()
                || args.dead_letter_queue.is_some()
                || args.exchange != "webhooks"
                || args.binding != "#"
            {
                anyhow::bail!("--queue, --exchange, --binding and --dead-letter-exchange/-queue are for amqp:// relays; a Kafka relay takes --group (and --dead-letter-topic)");
            }
            crate::cmd::kafka::run(args, global)
        }
    }
}

/// `listen --publish`: the publisher, connected, when one was asked for. It connects before
/// listen announces itself, so a wrong URL fails at once.
pub async fn listen_publisher(
    args: &PublishArgs,
    diag: &Diag,
) -> anyhow::Result<Option<Arc<dyn Publish>>> {
    let Some(url) = &args.publish else {
        return Ok(None);
    };
    connect_publisher(args, url, diag).await.map(Some)
}

/// A connected publisher for the broker at `url` (listen's `--publish`, or a `--route`
/// target); RabbitMQ takes --exchange and --queue from `args`.
pub async fn connect_publisher(
    args: &PublishArgs,
    url: &str,
    diag: &Diag,
) -> anyhow::Result<Arc<dyn Publish>> {
    match bridge::kind(url).map_err(anyhow::Error::msg)? {
        Kind::Amqp => amqp::listen_publisher(args, url, diag).await,
        Kind::Kafka => {
            amqp_flags_refused(args)?;
            crate::cmd::kafka::listen_publisher(url, diag).await
        }
    }
}

/// `send --publish`: publishes `count` events built from `spec` instead of sending them.
pub fn send_publish(
    spec: EventSpec,
    count: u64,
    args: &PublishArgs,
    json: bool,
    global: &GlobalOptions,
) -> anyhow::Result<Exit> {
    let url = args.publish.as_deref().unwrap_or_default();
    match bridge::kind(url).map_err(anyhow::Error::msg)? {
        Kind::Amqp => amqp::send_publish(spec, count, args, json, global),
        Kind::Kafka => {
            amqp_flags_refused(args)?;
            crate::cmd::kafka::send_publish(spec, count, url, json, global)
        }
    }
}

/// --exchange and --queue name RabbitMQ things; with kafka:// they would be ignored.
fn amqp_flags_refused(args: &PublishArgs) -> anyhow::Result<()> {
    if args.queue.is_some() || args.exchange != "webhooks" {
        anyhow::bail!(
            "--exchange and --queue are for amqp:// brokers; with Kafka the topic is in the URL (kafka://HOST:PORT/TOPIC)"
        );
    }
    Ok(())
}

/// Where and how a relay delivers, whichever the broker: the target, re-signing and the tag
/// before each attempt, the report and the retries.
pub fn relay_run(args: &RelayArgs, global: &GlobalOptions) -> anyhow::Result<RelayRun> {
    let target = Target::parse(&args.to)?;
    let signer = match &args.resign {
        Some(scheme) => Some(signer_from(scheme, &args.secrets)?),
        None => None,
    };
    let tag = args.delivery.tag.clone();
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
    let (report, delivery, _) = delivery_setup(&args.delivery, global, None);
    let routes = if args.route.is_empty() {
        None
    } else {
        let specs = RouteSpec::parse_all(&args.route).map_err(anyhow::Error::msg)?;
        let config = RouterConfig {
            delivery: delivery.clone(),
            fsync: false,
            unrouted: None,
            ack_first: false,
            peer: crate::deliver::Peer::Receiver,
            diag: Diag::stderr(),
        };
        let build: BuildRoutes = Box::new(move || {
            Box::pin(async move {
                // Broker routes take RabbitMQ's default exchange; Kafka's topic is in the URL.
                let publish = PublishArgs {
                    publish: None,
                    exchange: "webhooks".into(),
                    queue: None,
                    binding: "#".into(),
                };
                let diag = Diag::stderr();
                Router::build(specs, config, |url| {
                    let (publish, diag) = (&publish, &diag);
                    async move { connect_publisher(publish, &url, diag).await }
                })
                .await
            })
        });
        Some(build)
    };
    Ok(RelayRun {
        target,
        prepare,
        report,
        delivery,
        routes,
    })
}

/// The RabbitMQ side, when built in.
#[cfg(feature = "amqp")]
mod amqp {
    use std::time::Duration;

    use super::*;
    use crate::amqp::command;
    use crate::amqp::publisher::{PublishConfig, Publisher};
    use crate::amqp::relay::{DeadLetter, RelayConfig};
    use crate::amqp::{BrokerError, BrokerUrl, Topology};

    /// How long listen and send wait for the broker's confirm of one publish.
    const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

    fn publish_config(
        args: &PublishArgs,
        url: &str,
        reconnect: bool,
        diag: Diag,
    ) -> anyhow::Result<PublishConfig> {
        // The URL's ?exchange=, ?queue= and ?binding= (a route's target) override the flags.
        let (url, topology) = Topology {
            exchange: args.exchange.clone(),
            queue: args.queue.clone(),
            binding: args.binding.clone(),
        }
        .from_url(url)?;
        Ok(PublishConfig {
            url: BrokerUrl::parse(&url)?,
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

    pub async fn listen_publisher(
        args: &PublishArgs,
        url: &str,
        diag: &Diag,
    ) -> anyhow::Result<Arc<dyn Publish>> {
        let publisher = Publisher::connect(publish_config(args, url, true, diag.clone())?).await?;
        let queue = match publisher.queue() {
            Some((queue, binding)) => format!(" (queue {queue:?} bound with {binding:?})"),
            None => String::new(),
        };
        diag.line(format_args!(
            "publishing to exchange {:?}{queue} on {}",
            publisher.exchange(),
            publisher.url()
        ));
        Ok(Arc::new(publisher))
    }

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

    pub fn run(args: RelayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
        let url = BrokerUrl::parse(&args.url)?;
        let queue = args.queue.clone().ok_or(BrokerError::NoQueue)?;
        let run = relay_run(&args, global)?;
        let config = RelayConfig {
            url,
            topology: Topology {
                exchange: args.exchange.clone(),
                queue: Some(queue.clone()),
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
                        .unwrap_or_else(|| format!("{queue}.dead-letter")),
                ),
            },
            prefetch: u16::try_from(args.delivery.concurrency.max(1)).unwrap_or(u16::MAX),
            rate: args.delivery.rate,
            count: args.count,
            connection_name: format!("hookctl relay (pid {})", std::process::id()),
            diag: Diag::stderr(),
        };
        config.topology.validate()?;
        command::run_relay(config, run)
    }
}

/// Built without the `amqp` feature: every RabbitMQ command says so.
#[cfg(not(feature = "amqp"))]
mod amqp {
    use super::*;

    const NO_AMQP: &str =
        "this hookctl was built without RabbitMQ support; rebuild with the `amqp` feature (on by default)";

    pub async fn listen_publisher(
        _args: &PublishArgs,
        _url: &str,
        _diag: &Diag,
    ) -> anyhow::Result<Arc<dyn Publish>> {
        anyhow::bail!(NO_AMQP)
    }

    pub fn send_publish(
        _spec: EventSpec,
        _count: u64,
        _args: &PublishArgs,
        _json: bool,
        _global: &GlobalOptions,
    ) -> anyhow::Result<Exit> {
        anyhow::bail!(NO_AMQP)
    }

    pub fn run(_args: RelayArgs, _global: &GlobalOptions) -> anyhow::Result<Exit> {
        anyhow::bail!(NO_AMQP)
    }
}
