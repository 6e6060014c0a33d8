//! `serve --broker amqp://…`: several relays behind one load balancer share their channels
//! through two RabbitMQ stream queues (offset-based, non-destructive logs):
//!
//! - `NAME.channels`: every channel created, as its `channel.json` (id, token hash, creation
//!   time; never the token). Kept without a limit: a channel outlives any event retention.
//! - `NAME`: every event accepted, as its capture line without `seq`, the channel id in the
//!   `x-hookctl-channel` header. Kept for `--retain` (`x-max-age`).
//!
//! A relay publishes with publisher confirms and answers the provider (or `/new`) only once
//! the broker confirmed; it answers 503 while the broker cannot be reached. Every relay
//! consumes both streams from where it stopped ([`follow`], offsets in `DATA/broker/`) and
//! applies them to its own channels and logs. An event's sequence number is its stream offset
//! plus one, the same on every relay, so a subscriber resumes on any of them; subscribers read
//! the local log exactly as without a broker.

mod apply;
pub mod follow;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel as AmqpChannel, Connection};
use tokio::sync::{oneshot, watch};

use super::channels::{Channel, Channels, CreateError, Meta};
use crate::amqp::{name, BrokerError, BrokerUrl};

/// The header naming an event's channel.
pub const CHANNEL_HEADER: &str = "x-hookctl-channel";
/// The message type of an event, and of a channel.
const EVENT_TYPE: &str = "hookctl.event";
const CHANNEL_TYPE: &str = "hookctl.channel";
/// How long an accepted POST waits for this relay to apply its own event (to answer its
/// sequence number); past it the answer is 202: stored in the broker, not yet here.
const APPLY_WAIT: Duration = Duration::from_secs(10);

/// How the relays share channels.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub url: BrokerUrl,
    /// The events stream; channels go to `NAME.channels`.
    pub stream: String,
    /// The broker's confirm must come within this time, or the publish failed (503).
    pub confirm_timeout: Duration,
    /// Shown in the broker's connection list.
    pub connection_name: String,
    /// The events stream keeps events this long (`x-max-age`).
    pub retain: Duration,
}

/// The publishing side of the link: its channel, or why there is none.
#[derive(Clone)]
enum Link {
    Up(AmqpChannel),
    Down(BrokerError),
}

/// What the relay shares with the broker. Publishing goes through here; [`follow`] keeps
/// the link up and applies what the streams bring.
pub struct Broker {
    config: BrokerConfig,
    events: ShortString,
    channels: ShortString,
    link: watch::Sender<Link>,
    /// POSTs waiting for their event to be applied here, by message id.
    waiters: Mutex<HashMap<String, oneshot::Sender<u64>>>,
    /// This process's prefix for message ids.
    instance: String,
    next_id: AtomicU64,
    /// Bumped whenever a channel is stored, for an event waiting on its channel.
    registered: watch::Sender<u64>,
}

/// An open connection with its publishing channel.
pub struct Session {
    connection: Connection,
}

impl Broker {
    /// Connects, declares both streams and turns on publisher confirms. Fails when the
    /// broker cannot be reached now; later losses are recovered from by [`follow::run`].
    pub async fn connect(config: BrokerConfig) -> Result<(Arc<Broker>, Session), BrokerError> {
        let events = name(&config.stream, "--broker-stream")?;
        let channels = name(&format!("{}.channels", config.stream), "--broker-stream")?;
        let broker = Broker {
            link: watch::channel(Link::Down(BrokerError::NotConnected(Box::new(
                BrokerError::ConnectionLost(crate::amqp::Lost::ConnectionClosed),
            ))))
            .0,
            waiters: Mutex::new(HashMap::new()),
            instance: format!("{:016x}", fastrand::u64(..)),
            next_id: AtomicU64::new(1),
            registered: watch::channel(0).0,
            events,
            channels,
            config,
        };
        let session = broker.open().await?;
        Ok((Arc::new(broker), session))
    }

    /// The broker URL, without its password.
    pub fn url(&self) -> &str {
        self.config.url.shown()
    }

    /// True while events can be published.
    pub fn connected(&self) -> bool {
        matches!(&*self.link.borrow(), Link::Up(_))
    }

    /// The events stream's name.
    pub fn stream(&self) -> &str {
        self.events.as_str()
    }

    /// Connects and declares; the link is up when this returns.
    async fn open(&self) -> Result<Session, BrokerError> {
        let connection = self
            .config
            .url
            .connect(&self.config.connection_name)
            .await?;
        let channel = crate::amqp::confirming_channel(&connection).await?;
        let age = format!("{}s", self.config.retain.as_secs().max(1));
        declare_stream(&channel, &self.channels, None).await?;
        declare_stream(&channel, &self.events, Some(&age)).await?;
        self.link.send_replace(Link::Up(channel));
        Ok(Session { connection })
    }

    /// Publishes an event (its capture line without `seq`) for channel `channel` and waits
    /// for the broker's confirm, then for this relay to store it: its sequence number, or
    /// `None` when it is confirmed but not stored here yet.
    pub async fn publish_event(
        &self,
        channel: &str,
        line: &[u8],
    ) -> Result<Option<u64>, BrokerError> {
        let id = format!(
            "{}-{}",
            self.instance,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        self.waiters().insert(id.clone(), tx);
        let waiting = Waiting {
            broker: self,
            id: &id,
        };
        let mut headers = FieldTable::default();
        headers.insert(
            CHANNEL_HEADER.into(),
            AMQPValue::LongString(LongString::from(channel.as_bytes().to_vec())),
        );
        let properties = properties(EVENT_TYPE)
            .with_message_id(ShortString::from(id.as_str()))
            .with_headers(headers);
        self.publish(&self.events, line, properties).await?;
        let seq = tokio::time::timeout(APPLY_WAIT, rx).await;
        drop(waiting);
        Ok(seq.ok().and_then(Result::ok))
    }

    /// Creates a channel: announced to every relay through the broker (confirmed), then
    /// stored here. Returns it with its token.
    pub async fn create_channel(
        &self,
        channels: &Arc<Channels>,
    ) -> Result<(Arc<Channel>, String), CreateError> {
        let (meta, token) = channels.mint()?;
        self.publish(&self.channels, &meta.to_json(), properties(CHANNEL_TYPE))
            .await
            .map_err(|e| CreateError::Broker(e.to_string()))?;
        let channel = self.store_channel(channels, meta).await?;
        Ok((channel, token))
    }

    /// Stores a channel here (idempotent) and wakes events waiting for it.
    async fn store_channel(
        &self,
        channels: &Arc<Channels>,
        meta: Meta,
    ) -> Result<Arc<Channel>, std::io::Error> {
        let channels = channels.clone();
        let channel = tokio::task::spawn_blocking(move || channels.store(&meta))
            .await
            .map_err(std::io::Error::other)??;
        self.registered.send_modify(|n| *n += 1);
        Ok(channel)
    }

    /// Publishes one message to `stream` and waits for the broker's confirm.
    async fn publish(
        &self,
        stream: &ShortString,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), BrokerError> {
        let channel = match &*self.link.borrow() {
            Link::Up(channel) => channel.clone(),
            Link::Down(why) => return Err(BrokerError::NotConnected(Box::new(why.clone()))),
        };
        crate::amqp::publish_confirmed(
            &channel,
            ShortString::from(""),
            stream.clone(),
            body,
            properties,
            self.config.confirm_timeout,
        )
        .await
    }

    /// Tells the POST waiting for message `id` (if it is this relay's) its sequence number.
    fn applied(&self, id: &str, seq: u64) {
        if let Some(waiter) = self.waiters().remove(id) {
            let _ = waiter.send(seq);
        }
    }

    fn waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<u64>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Removes a POST's waiter however the POST ends.
struct Waiting<'a> {
    broker: &'a Broker,
    id: &'a str,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.broker.waiters().remove(self.id);
    }
}

/// Persistent, typed, from hookctl.
fn properties(kind: &str) -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_type(ShortString::from(kind))
        .with_app_id("hookctl".into())
}

/// Declares a durable stream queue, kept for `max_age` (RabbitMQ's form, e.g. `86400s`).
async fn declare_stream(
    channel: &AmqpChannel,
    stream: &ShortString,
    max_age: Option<&str>,
) -> Result<(), BrokerError> {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(b"stream".to_vec())),
    );
    if let Some(age) = max_age {
        arguments.insert(
            "x-max-age".into(),
            AMQPValue::LongString(LongString::from(age.as_bytes().to_vec())),
        );
    }
    let options = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(stream.clone(), options, arguments)
        .await
        .map(|_| ())
        .map_err(|cause| BrokerError::Declare {
            what: match max_age {
                Some(age) => format!(
                    "declare stream {:?} with x-max-age {age} (every relay sharing it needs the same --retain)",
                    stream.as_str()
                ),
                None => format!("declare stream {:?}", stream.as_str()),
            },
            cause,
        })
}
