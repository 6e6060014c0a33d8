//! The Kafka bridge: [`publisher`] puts what `listen` accepts (and what `send --publish`
//! builds) into a topic with an idempotent producer and `acks=all`, and [`relay`] consumes a
//! topic in a consumer group, delivers through the delivery engine, stores each offset only
//! after a 2xx (or a confirmed dead letter) and commits what is done.
//!
//! Messages are capture lines ([`crate::bridge::message_body`]); the key is the event id, and
//! the headers `event-type` (when the event has one), `event-id` and `content-type`
//! (`application/json`) travel with them.
//!
//! Built on `rdkafka` (librdkafka, compiled from its bundled source without TLS or SASL):
//! rskafka, the pure-Rust client, has no consumer groups, and a relay that shares a topic's
//! partitions with other relays needs them. Nothing here knows about the command line.

pub mod command;
pub mod error;
pub mod offsets;
pub mod publisher;
pub mod relay;

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::types::RDKafkaErrorCode;

pub use self::error::KafkaError;

/// The header with the event type (absent when the event has none).
pub const TYPE_HEADER: &str = "event-type";
/// The header with the event id (also the message key).
pub const ID_HEADER: &str = "event-id";
/// The header with the value's content type: `application/json`.
pub const CONTENT_TYPE_HEADER: &str = "content-type";
/// A dead letter's source topic, partition and offset.
pub const TOPIC_HEADER: &str = "x-hookctl-topic";
pub const PARTITION_HEADER: &str = "x-hookctl-partition";
pub const OFFSET_HEADER: &str = "x-hookctl-offset";

/// How long reaching the cluster (metadata, topic creation) may take at start.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest topic name Kafka accepts.
const TOPIC_MAX: usize = 249;

/// A parsed `kafka://HOST:PORT[,HOST:PORT...]/TOPIC[?partitions=N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUrl {
    /// The bootstrap servers, comma-separated, as librdkafka takes them.
    pub brokers: String,
    pub topic: String,
    /// Partitions of the topic when hookctl creates it (it never changes an existing one).
    pub partitions: i32,
}

impl KafkaUrl {
    /// Parses and checks a Kafka URL.
    pub fn parse(text: &str) -> Result<KafkaUrl, KafkaError> {
        let bad = |why: &str| KafkaError::BadUrl(format!("{text:?}: {why}"));
        let rest = text
            .strip_prefix("kafka://")
            .ok_or_else(|| bad("it does not start with kafka://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let (hosts, topic) = rest
            .split_once('/')
            .ok_or_else(|| bad("it names no topic"))?;
        if hosts.contains('@') {
            return Err(bad(
                "user names and passwords are not supported (no SASL in this build)",
            ));
        }
        let mut brokers = Vec::new();
        for host in hosts.split(',') {
            let (name, port) = host
                .rsplit_once(':')
                .ok_or_else(|| bad(&format!("{host:?} has no port")))?;
            if name.is_empty() {
                return Err(bad("it names no host"));
            }
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| bad(&format!("{port:?} is not a port")))?;
            brokers.push(host.to_owned());
        }
        topic_name(topic).map_err(|why| bad(&why))?;
        let mut partitions = 1;
        for pair in query
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
        {
            match pair.split_once('=') {
                Some(("partitions", n)) => {
                    partitions = n
                        .parse::<i32>()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| {
                            bad(&format!("partitions={n} is not a number from 1 to 10000"))
                        })?;
                }
                _ => {
                    return Err(bad(&format!(
                        "unknown option {pair:?} (known: partitions=N)"
                    )))
                }
            }
        }
        Ok(KafkaUrl {
            brokers: brokers.join(","),
            topic: topic.to_owned(),
            partitions,
        })
    }

    /// The URL as shown in messages.
    pub fn shown(&self) -> String {
        format!("kafka://{}/{}", self.brokers, self.topic)
    }

    /// The client settings every hookctl client shares: the brokers, a client id, and
    /// librdkafka's logs kept off stderr.
    pub fn client_config(&self, client_id: &str) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", client_id)
            // A lost broker is retried quickly rather than after up to 10s.
            .set("reconnect.backoff.max.ms", "1000")
            .set("socket.connection.setup.timeout.ms", "10000")
            .set("log_level", "0");
        config
    }
}

/// Checks a topic name: Kafka's rules (1 to 249 of `a-zA-Z0-9._-`, not `.` or `..`).
pub fn topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the topic name is empty".into());
    }
    if name.len() > TOPIC_MAX {
        return Err(format!("a topic name has at most {TOPIC_MAX} characters"));
    }
    if name == "." || name == ".." {
        return Err("a topic cannot be named . or ..".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "topic {name:?} may only hold letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Creates each topic that does not exist yet with `partitions` partitions (replication 1 on a
/// one-broker cluster, the cluster's default otherwise), and fails when the cluster cannot be
/// reached within [`CONNECT_TIMEOUT`]. It never changes a topic that exists.
pub async fn ensure_topics(
    url: &KafkaUrl,
    topics: &[&str],
    partitions: i32,
) -> Result<(), KafkaError> {
    let shown = url.shown();
    let config = url.client_config("hookctl-admin");
    // Metadata is a blocking call in rdkafka: it says whether the cluster is there at all,
    // which topics exist and how many brokers there are.
    let looked = tokio::task::spawn_blocking(move || {
        let admin: AdminClient<DefaultClientContext> = config.create()?;
        let metadata = admin.inner().fetch_metadata(None, CONNECT_TIMEOUT)?;
        let existing: Vec<String> = metadata
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| t.name().to_owned())
            .collect();
        Ok::<_, rdkafka::error::KafkaError>((admin, metadata.brokers().len(), existing))
    })
    .await
    .map_err(|e| KafkaError::Unreachable {
        url: shown.clone(),
        why: e.to_string(),
    })?;
    let (admin, brokers, existing) = looked.map_err(|cause| KafkaError::Unreachable {
        url: shown.clone(),
        why: error::describe(&cause),
    })?;
    let missing: Vec<&str> = topics
        .iter()
        .copied()
        .filter(|t| !existing.iter().any(|e| e == t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let replication = if brokers <= 1 { 1 } else { -1 };
    let new: Vec<NewTopic<'_>> = missing
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(replication)))
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(CONNECT_TIMEOUT));
    let results =
        admin
            .create_topics(&new, &options)
            .await
            .map_err(|cause| KafkaError::CreateTopic {
                topic: missing.join(", "),
                why: error::describe(&cause),
            })?;
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(KafkaError::CreateTopic {
                    topic,
                    why: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_brokers_a_topic_and_options() {
        let url = KafkaUrl::parse("kafka://127.0.0.1:9092/webhooks").unwrap();
        assert_eq!(url.brokers, "127.0.0.1:9092");
        assert_eq!(url.topic, "webhooks");
        assert_eq!(url.partitions, 1);
        assert_eq!(url.shown(), "kafka://127.0.0.1:9092/webhooks");
        let url = KafkaUrl::parse("kafka://a:1,b:2/t.x_y-z?partitions=6").unwrap();
        assert_eq!(url.brokers, "a:1,b:2");
        assert_eq!(url.partitions, 6);
        for (bad, why) in [
            ("amqp://h/t", "does not start with kafka://"),
            ("kafka://h:9092", "names no topic"),
            ("kafka://h:9092/", "topic name is empty"),
            ("kafka://h/t", "has no port"),
            ("kafka://h:x/t", "is not a port"),
            ("kafka://:9092/t", "names no host"),
            ("kafka://u:p@h:9092/t", "no SASL"),
            ("kafka://h:9092/a b", "may only hold"),
            ("kafka://h:9092/..", "cannot be named"),
            ("kafka://h:9092/t?partitions=0", "from 1 to 10000"),
            ("kafka://h:9092/t?acks=1", "unknown option"),
        ] {
            let e = KafkaUrl::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
            assert!(e.starts_with("invalid Kafka URL"), "{e}");
        }
        let long = format!("kafka://h:1/{}", "t".repeat(250));
        assert!(KafkaUrl::parse(&long).is_err());
    }
}
