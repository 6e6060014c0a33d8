//! The RabbitMQ (AMQP 0-9-1) bridge: [`publisher`] puts what `listen` accepts (and what
//! `send --publish` builds) into the broker with publisher confirms, and [`relay`] takes events
//! out of a queue and delivers them through the delivery engine, acknowledging only after a
//! 2xx and dead-lettering what finally fails.
//!
//! Messages are capture lines ([`Event::write_json_line`] without the newline): routing key
//! the event type (or `unknown`), persistent, `application/json`, message id the event id.
//! Built on `lapin`; nothing here knows about the command line.

pub mod command;
pub mod error;
pub mod publisher;
pub mod relay;
pub mod settle;

use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{FieldTable, ShortString};
use lapin::uri::{AMQPScheme, AMQPUri};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

pub use self::error::{BrokerError, Lost};
use crate::event::Event;

/// The routing key of events that carry no type.
pub const UNKNOWN_TYPE: &str = "unknown";

/// How long connecting (TCP, TLS and the AMQP handshake) may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The heartbeat asked for when the URL sets none (`?heartbeat=N` overrides it).
pub const HEARTBEAT_SECS: u16 = 10;

/// The longest AMQP short string (names, routing keys, message ids): 255 bytes.
const SHORT_MAX: usize = 255;

/// A parsed broker URL: `amqp://USER:PASS@HOST:PORT/VHOST` (or `amqps://`).
#[derive(Clone)]
pub struct BrokerUrl {
    uri: AMQPUri,
    shown: String,
}

impl std::fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl BrokerUrl {
    /// Parses and checks a broker URL. The password never appears in messages.
    pub fn parse(text: &str) -> Result<BrokerUrl, BrokerError> {
        let url = url::Url::parse(text).map_err(BrokerError::bad_url)?;
        let mut uri: AMQPUri = text.parse().map_err(BrokerError::bad_url)?;
        // amq-protocol reads only domain names; keep IP addresses as written.
        let host = url
            .host_str()
            .ok_or_else(|| BrokerError::bad_url("it names no host"))?;
        uri.authority.host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        // A dead peer is noticed within about two heartbeats, not the broker's default 60s.
        uri.query.heartbeat.get_or_insert(HEARTBEAT_SECS);
        if uri.scheme == AMQPScheme::AMQPS && !cfg!(feature = "amqp-tls") {
            return Err(BrokerError::TlsUnavailable);
        }
        let shown = format!(
            "{}://{}@{}:{}/{}",
            uri.scheme,
            uri.authority.userinfo.username,
            url.host_str().unwrap_or_default(),
            uri.authority.port,
            url.path().trim_start_matches('/'),
        );
        Ok(BrokerUrl { uri, shown })
    }

    /// The URL without its password, for messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Opens a connection, naming it `name` in the broker's connection list.
    pub async fn connect(&self, name: &str) -> Result<Connection, BrokerError> {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let connecting = Connection::connect_uri(self.uri.clone(), properties);
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(cause)) => Err(BrokerError::Connect {
                url: self.shown.clone(),
                cause,
            }),
            Err(_) => Err(BrokerError::ConnectTimeout {
                url: self.shown.clone(),
                after: CONNECT_TIMEOUT,
            }),
        }
    }
}

/// What the bridge declares, idempotently: a durable topic exchange and, optionally, a durable
/// queue bound to it.
#[derive(Debug, Clone)]
pub struct Topology {
    pub exchange: String,
    /// A queue to declare and bind, so events are kept while no consumer runs.
    pub queue: Option<String>,
    /// The binding key in topic syntax (`#` is everything).
    pub binding: String,
}

impl Topology {
    /// Checks the names before anything connects.
    pub fn validate(&self) -> Result<(), BrokerError> {
        name(&self.exchange, "--exchange")?;
        if let Some(queue) = &self.queue {
            name(queue, "--queue")?;
        }
        name(&self.binding, "--binding")?;
        Ok(())
    }

    /// Takes `exchange`, `queue` and `binding` out of a broker URL's query
    /// (`amqp://HOST/VHOST?exchange=X&queue=Q&binding=payment.*`): they override this
    /// topology's. Gives the URL without them (its other parameters, such as `heartbeat`, stay)
    /// and the topology, checked.
    pub fn from_url(&self, text: &str) -> Result<(String, Topology), BrokerError> {
        let mut url = url::Url::parse(text).map_err(BrokerError::bad_url)?;
        let mut topology = self.clone();
        let mut kept = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in url.query_pairs() {
            let slot = match key.as_ref() {
                "exchange" => &mut topology.exchange,
                "binding" => &mut topology.binding,
                "queue" => topology.queue.get_or_insert_with(String::new),
                _ => {
                    kept.push((key.into_owned(), value.into_owned()));
                    continue;
                }
            };
            if seen.iter().any(|k| *k == key) {
                return Err(BrokerError::bad_url(format!("{key}= is given twice")));
            }
            if value.is_empty() {
                return Err(BrokerError::bad_url(format!("{key}= needs a name")));
            }
            *slot = value.into_owned();
            seen.push(key.into_owned());
        }
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
        topology.validate()?;
        Ok((url.to_string(), topology))
    }

    /// Declares the exchange, and the queue with its binding when one is named.
    pub async fn declare(&self, channel: &Channel) -> Result<(), BrokerError> {
        declare_exchange(channel, &self.exchange).await?;
        if let Some(queue) = &self.queue {
            declare_queue(channel, queue, &self.exchange, &self.binding).await?;
        }
        Ok(())
    }
}

/// Publishes one mandatory message on `channel` and waits up to `timeout` for the broker's
/// confirm; an unroutable, refused or unconfirmed message is an error.
pub async fn publish_confirmed(
    channel: &Channel,
    exchange: ShortString,
    routing_key: ShortString,
    body: &[u8],
    properties: lapin::BasicProperties,
    timeout: Duration,
) -> Result<(), BrokerError> {
    let options = lapin::options::BasicPublishOptions {
        mandatory: true,
        ..Default::default()
    };
    let publishing = async {
        channel
            .basic_publish(
                exchange.clone(),
                routing_key.clone(),
                options,
                body,
                properties,
            )
            .await?
            .await
    };
    match tokio::time::timeout(timeout, publishing).await {
        Ok(Ok(lapin::Confirmation::Ack(None))) => Ok(()),
        Ok(Ok(lapin::Confirmation::Ack(Some(_)))) => Err(BrokerError::Unroutable {
            exchange: exchange.to_string(),
            routing_key: routing_key.to_string(),
        }),
        Ok(Ok(lapin::Confirmation::Nack(_))) => Err(BrokerError::Nacked),
        Ok(Ok(lapin::Confirmation::NotRequested)) => Err(BrokerError::ConfirmsOff),
        Ok(Err(e)) => Err(BrokerError::Publish(e)),
        Err(_) => Err(BrokerError::ConfirmTimeout(timeout)),
    }
}

/// A new channel on `connection` with publisher confirms on: what every publisher opens.
pub async fn confirming_channel(connection: &Connection) -> Result<Channel, BrokerError> {
    let channel = connection
        .create_channel()
        .await
        .map_err(|cause| BrokerError::Channel {
            action: "open a channel",
            cause,
        })?;
    channel
        .confirm_select(lapin::options::ConfirmSelectOptions::default())
        .await
        .map_err(|cause| BrokerError::Channel {
            action: "turn on publisher confirms",
            cause,
        })?;
    Ok(channel)
}

/// Declares a durable topic exchange.
pub async fn declare_exchange(channel: &Channel, exchange: &str) -> Result<(), BrokerError> {
    let options = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            name(exchange, "exchange")?,
            ExchangeKind::Topic,
            options,
            FieldTable::default(),
        )
        .await
        .map_err(|cause| BrokerError::Declare {
            what: format!("declare exchange {exchange:?}"),
            cause,
        })
}

/// Declares a durable queue and binds it to `exchange` with `binding`.
pub async fn declare_queue(
    channel: &Channel,
    queue: &str,
    exchange: &str,
    binding: &str,
) -> Result<(), BrokerError> {
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(name(queue, "queue")?, options, FieldTable::default())
        .await
        .map_err(|cause| BrokerError::Declare {
            what: format!("declare queue {queue:?}"),
            cause,
        })?;
    channel
        .queue_bind(
            name(queue, "queue")?,
            name(exchange, "exchange")?,
            name(binding, "binding")?,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|cause| BrokerError::Declare {
            what: format!("bind queue {queue:?} to exchange {exchange:?} with {binding:?}"),
            cause,
        })
}

/// A name given on the command line as an AMQP short string; `what` names it in the error.
pub fn name(text: &str, what: &'static str) -> Result<ShortString, BrokerError> {
    // A short string's only limit is its length.
    ShortString::try_new(text.to_owned()).map_err(|_| BrokerError::NameTooLong { what })
}

/// Text from an event (its id or type) as a short string, cut at 255 bytes if it must be.
pub fn short_lossy(text: &str) -> ShortString {
    let mut end = text.len().min(SHORT_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    ShortString::try_new(text[..end].to_owned()).unwrap_or_default()
}

/// The routing key of an event: its type, or `unknown`.
pub fn routing_key(event: &Event) -> ShortString {
    match event.event_type.as_deref() {
        Some(t) if !t.is_empty() => short_lossy(t),
        _ => ShortString::from(UNKNOWN_TYPE),
    }
}

/// One line for a lapin error, with a hint for the usual causes.
pub fn describe(e: &lapin::Error) -> String {
    let text = e.to_string();
    if text.contains("ACCESS_REFUSED") || text.contains("authentication") {
        format!("{text} (check the user, password and vhost in the URL)")
    } else if text.contains("NOT_ALLOWED") || text.contains("vhost") {
        format!("{text} (does the vhost exist, and may this user use it?)")
    } else if text.contains("PRECONDITION_FAILED") {
        format!("{text} (it exists with other settings; use another name or delete it)")
    } else if text.contains("Connection refused") {
        format!("{text}; is RabbitMQ running there?")
    } else {
        text
    }
}

/// The wait before reconnection attempt `attempt` (1, 2, ...): full-jitter exponential
/// backoff from 100ms, at most 3s.
pub fn reconnect_delay(attempt: u32) -> Duration {
    crate::deliver::retry::backoff(Duration::from_millis(100), attempt).min(Duration::from_secs(3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keep_ip_hosts_and_hide_passwords() {
        let url = BrokerUrl::parse("amqp://u:secret@127.0.0.1:5673/v").unwrap();
        assert_eq!(url.uri.authority.host, "127.0.0.1");
        assert_eq!(url.uri.vhost, "v");
        assert_eq!(url.uri.query.heartbeat, Some(HEARTBEAT_SECS));
        assert_eq!(url.shown(), "amqp://u@127.0.0.1:5673/v");
        assert!(!format!("{url:?}").contains("secret"));
        assert!(BrokerUrl::parse("http://x").is_err());
        assert!(BrokerUrl::parse("not a url").is_err());
        let url = BrokerUrl::parse("amqp://u:p@localhost/v?heartbeat=30").unwrap();
        assert_eq!(url.uri.query.heartbeat, Some(30));
    }

    #[test]
    fn the_url_query_names_the_exchange_queue_and_binding() {
        let flags = Topology {
            exchange: "webhooks".into(),
            queue: None,
            binding: "#".into(),
        };
        let (url, t) = flags.from_url("amqp://u:p@127.0.0.1:5673/v").unwrap();
        assert_eq!(url, "amqp://u:p@127.0.0.1:5673/v");
        assert_eq!(
            (t.exchange.as_str(), t.queue, t.binding.as_str()),
            ("webhooks", None, "#")
        );
        let text = "amqp://u:p@h/v?exchange=pay&heartbeat=30&queue=pay-q&binding=payment.*";
        let (url, t) = flags.from_url(text).unwrap();
        assert_eq!(url, "amqp://u:p@h/v?heartbeat=30");
        assert_eq!(t.exchange, "pay");
        assert_eq!(t.queue.as_deref(), Some("pay-q"));
        assert_eq!(t.binding, "payment.*");
        let e = flags.from_url("amqp://h/v?queue=a&queue=b").unwrap_err();
        assert!(e.to_string().contains("queue= is given twice"), "{e}");
        let e = flags.from_url("amqp://h/v?exchange=").unwrap_err();
        assert!(e.to_string().contains("exchange= needs a name"), "{e}");
        let long = format!("amqp://h/v?queue={}", "q".repeat(256));
        assert!(flags.from_url(&long).is_err());
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary() {
        let long = "é".repeat(200);
        let cut = short_lossy(&long);
        assert!(cut.as_str().len() <= 255);
        assert!(name(&"x".repeat(256), "--queue").is_err());
        assert_eq!(name("q", "--queue").unwrap().as_str(), "q");
    }
}
