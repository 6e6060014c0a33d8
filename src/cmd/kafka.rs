//! The Kafka side of `hookctl relay`, `listen --publish` and `send --publish`: the arguments
//! as a `RelayConfig` or `PublishConfig` for `crate::kafka::command`. Built without the `kafka`
//! feature, each says so.

use std::sync::Arc;

use crate::cli::RelayArgs;
use crate::cmd::GlobalOptions;
use crate::exit::Exit;
use crate::listen::handler::Publish;
use crate::output::diag::Diag;
use crate::send::compose::EventSpec;

#[cfg(feature = "kafka")]
pub use with_kafka::{listen_publisher, run, send_publish};

#[cfg(feature = "kafka")]
mod with_kafka {
    use std::time::Duration;

    use super::*;
    use crate::cmd::relay::relay_run;
    use crate::kafka::command;
    use crate::kafka::publisher::{PublishConfig, Publisher};
    use crate::kafka::relay::RelayConfig;
    use crate::kafka::{topic_name, KafkaError, KafkaUrl};

    /// How long listen and send wait for the broker's acknowledgement of one event.
    const ACK_TIMEOUT: Duration = Duration::from_secs(10);

    fn publish_config(url: &str, role: &str) -> anyhow::Result<PublishConfig> {
        Ok(PublishConfig {
            url: KafkaUrl::parse(url)?,
            ack_timeout: ACK_TIMEOUT,
            client_id: format!("hookctl-{role}-{}", std::process::id()),
        })
    }

    /// `listen --publish kafka://`: reaches the cluster before listen announces itself.
    pub async fn listen_publisher(url: &str, diag: &Diag) -> anyhow::Result<Arc<dyn Publish>> {
        let publisher = Publisher::connect(publish_config(url, "listen")?).await?;
        diag.line(format_args!(
            "publishing to topic {:?} on {}",
            publisher.topic(),
            publisher.url()
        ));
        Ok(Arc::new(publisher))
    }

    /// `send --publish kafka://`: one event at a time, each acknowledged; exit 3 if any failed.
    pub fn send_publish(
        spec: EventSpec,
        count: u64,
        url: &str,
        json: bool,
        global: &GlobalOptions,
    ) -> anyhow::Result<Exit> {
        let config = publish_config(url, "send")?;
        let out = &mut std::io::stdout().lock();
        command::publish_events(config, &spec, count, json, global.quiet, out)
    }

    /// `hookctl relay kafka://HOST:PORT/TOPIC --group NAME`.
    pub fn run(args: RelayArgs, global: &GlobalOptions) -> anyhow::Result<Exit> {
        let url = KafkaUrl::parse(&args.url)?;
        let group = args.group.clone().ok_or_else(|| {
            anyhow::anyhow!("a Kafka relay needs a consumer group: pass --group NAME")
        })?;
        if group.is_empty() {
            anyhow::bail!("--group: the group name is empty");
        }
        let dead_letter_topic = args
            .dead_letter_topic
            .clone()
            .unwrap_or_else(|| format!("{}.dead-letter", url.topic));
        topic_name(&dead_letter_topic).map_err(|why| KafkaError::BadTopic {
            flag: "--dead-letter-topic",
            why,
        })?;
        if dead_letter_topic == url.topic {
            anyhow::bail!("--dead-letter-topic must differ from the topic the relay consumes");
        }
        let run = relay_run(&args, global)?;
        let config = RelayConfig {
            url,
            group,
            dead_letter_topic,
            concurrency: args.delivery.concurrency.max(1) as usize,
            rate: args.delivery.rate,
            count: args.count,
            client_id: format!("hookctl-relay-{}", std::process::id()),
            diag: Diag::stderr(),
        };
        command::run_relay(config, run)
    }
}

/// The error every Kafka command gives in a build without the `kafka` feature.
#[cfg(not(feature = "kafka"))]
const NO_KAFKA: &str =
    "this hookctl was built without Kafka support; rebuild with `cargo build --features kafka`";

#[cfg(not(feature = "kafka"))]
pub async fn listen_publisher(_url: &str, _diag: &Diag) -> anyhow::Result<Arc<dyn Publish>> {
    anyhow::bail!(NO_KAFKA)
}

#[cfg(not(feature = "kafka"))]
pub fn send_publish(
    _spec: EventSpec,
    _count: u64,
    _url: &str,
    _json: bool,
    _global: &GlobalOptions,
) -> anyhow::Result<Exit> {
    anyhow::bail!(NO_KAFKA)
}

#[cfg(not(feature = "kafka"))]
pub fn run(_args: RelayArgs, _global: &GlobalOptions) -> anyhow::Result<Exit> {
    anyhow::bail!(NO_KAFKA)
}
