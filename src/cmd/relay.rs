//! `hookctl relay`, and the broker side of `listen --publish` and `send --publish`: glue from
//! the command line to [`crate::amqp`]. Built without the `amqp` feature, each says so.

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
    use std::io::Write;
    use std::time::{Duration, Instant};

    use super::*;
    use crate::amqp::publisher::{PublishConfig, Publisher};
    use crate::amqp::relay::{self, DeadLetter, RelayConfig};
    use crate::amqp::{BrokerUrl, Topology};
    use crate::cmd::{delivery_setup, signer_from};
    use crate::deliver::engine::stop_on_signals;
    use crate::deliver::report::Reporter;
    use crate::deliver::runtime;
    use crate::deliver::{Deliverer, Prepare, Target};
    use crate::event::Event;
    use crate::listen::handler::PublishResult;
    use crate::output::diag::Untrusted;
    use crate::output::human_duration;
    use crate::send::compose::{unix_now, TAG_HEADER};

    /// How long listen and send wait for the broker's confirm of one publish.
    const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

    impl Publish for Publisher {
        fn publish<'a>(
            &'a self,
            event: &'a Event,
        ) -> std::pin::Pin<Box<dyn std::future::Future<Output = PublishResult> + Send + 'a>>
        {
            Box::pin(async move { Ok(Publisher::publish(self, event).await?) })
        }
    }

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
        let diag = Diag::stderr();
        let config = publish_config(args, url, false, diag.clone())?;
        let started = Instant::now();
        let (published, failed) = runtime()?.block_on(async {
            let publisher = Publisher::connect(config).await?;
            let mut published = 0u64;
            let mut failed = 0u64;
            let mut out = std::io::stdout().lock();
            for _ in 0..count {
                let event = spec.build().map_err(anyhow::Error::msg)?;
                let result = publisher.publish(&event).await;
                if json {
                    let record = serde_json::json!({
                        "kind": "result", "id": event.id, "type": event.event_type,
                        "ok": result.is_ok(), "published": result.is_ok(),
                        "error": result.as_ref().err().map(ToString::to_string),
                    });
                    writeln!(out, "{record}")?;
                }
                match result {
                    Ok(()) => published += 1,
                    Err(why) => {
                        failed += 1;
                        diag.note(format_args!(
                            "{}: cannot publish: {why}",
                            Untrusted(&event.id)
                        ));
                    }
                }
            }
            publisher.close().await;
            anyhow::Ok((published, failed))
        })?;
        if !global.quiet || failed > 0 {
            diag.line(format_args!(
                "published {published} event{} to exchange {:?} in {}; {failed} failed",
                if published == 1 { "" } else { "s" },
                args.exchange,
                human_duration(started.elapsed())
            ));
        }
        Ok(if failed > 0 {
            Exit::DeliveryFailed
        } else {
            Exit::Ok
        })
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
        let exit = runtime()?.block_on(async move {
            let stop = stop_on_signals();
            let deliverer = Arc::new(Deliverer::new(delivery_config, target, prepare, stop.clone())?);
            let mut reporter = Reporter::new(report)?;
            let stats = relay::run(&config, deliverer, stop.clone(), &mut reporter).await?;
            let by_signal = *stop.borrow();
            let exit = reporter.finish(false).await?;
            config.diag.line(format_args!(
                "relay: {} acknowledged, {} dead-lettered, {} invalid, {} requeued; dead letters go to exchange {:?}{}",
                stats.acked,
                stats.dead_lettered,
                stats.invalid,
                stats.requeued,
                config.dead_letter.exchange,
                if by_signal { "; stopped by signal" } else { "" }
            ));
            anyhow::Ok(if exit == Exit::Ok && stats.invalid > 0 {
                Exit::DeliveryFailed
            } else {
                exit
            })
        })?;
        Ok(exit)
    }
}
