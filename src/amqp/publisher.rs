//! Publishing events into the broker with publisher confirms. A publish succeeds only once the
//! broker has confirmed it (ack) and routed it to at least one queue; anything else is an
//! error the caller turns into a 503. With `reconnect`, a lost connection is re-opened in the
//! background with backoff, and publishes fail fast meanwhile.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use futures_core::Stream;
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Connection};
use tokio::sync::{watch, Notify};

use super::{reconnect_delay, routing_key, short_lossy};
use super::{BrokerError, BrokerUrl, Lost, Topology};
use crate::bridge::message_body;
use crate::event::Event;
use crate::listen::handler::{Publish, PublishResult};
use crate::output::diag::Diag;

/// How events are published.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub url: BrokerUrl,
    pub topology: Topology,
    /// The broker's confirm must arrive within this time, or the publish has failed.
    pub confirm_timeout: Duration,
    /// Shown in the broker's connection list.
    pub connection_name: String,
    /// Re-open a lost connection in the background (listen), instead of failing (send).
    pub reconnect: bool,
    /// Where the reconnection notices go.
    pub diag: Diag,
}

impl Publish for Publisher {
    fn publish<'a>(
        &'a self,
        event: &'a Event,
    ) -> Pin<Box<dyn std::future::Future<Output = PublishResult> + Send + 'a>> {
        Box::pin(async move { Ok(Publisher::publish(self, event).await?) })
    }
}

/// The state of the link to the broker.
#[derive(Clone)]
enum Link {
    Up(Channel),
    Down(BrokerError),
}

struct Shared {
    config: PublishConfig,
    exchange: ShortString,
    link: watch::Sender<Link>,
    /// A publish saw an error: the supervisor checks the connection at once.
    trouble: Notify,
    connection: Mutex<Option<Connection>>,
}

/// Publishes events to one exchange. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
}

impl Publisher {
    /// Connects, declares the topology and turns on publisher confirms. Fails when the broker
    /// cannot be reached now; later losses are recovered from when `reconnect` is set.
    pub async fn connect(config: PublishConfig) -> Result<Publisher, BrokerError> {
        config.topology.validate()?;
        let exchange = super::name(&config.topology.exchange, "--exchange")?;
        let (connection, channel) = open(&config).await?;
        let shared = Arc::new(Shared {
            exchange,
            link: watch::channel(Link::Up(channel.clone())).0,
            trouble: Notify::new(),
            connection: Mutex::new(Some(connection)),
            config,
        });
        if shared.config.reconnect {
            tokio::spawn(supervise(shared.clone(), channel));
        }
        Ok(Publisher { shared })
    }

    /// The broker URL, without its password.
    pub fn url(&self) -> &str {
        self.shared.config.url.shown()
    }

    /// The exchange events go to.
    pub fn exchange(&self) -> &str {
        self.shared.exchange.as_str()
    }

    /// The queue declared and bound to the exchange, with its binding key, if any.
    pub fn queue(&self) -> Option<(&str, &str)> {
        let topology = &self.shared.config.topology;
        topology
            .queue
            .as_deref()
            .map(|queue| (queue, topology.binding.as_str()))
    }

    /// Publishes one event and waits for the broker's confirm.
    pub async fn publish(&self, event: &Event) -> Result<(), BrokerError> {
        let channel = match &*self.shared.link.borrow() {
            Link::Up(channel) => channel.clone(),
            Link::Down(why) => return Err(BrokerError::NotConnected(Box::new(why.clone()))),
        };
        let result = super::publish_confirmed(
            &channel,
            self.shared.exchange.clone(),
            routing_key(event),
            &message_body(event),
            properties(event),
            self.shared.config.confirm_timeout,
        )
        .await;
        if let Err(BrokerError::Publish(_) | BrokerError::ConfirmTimeout(_)) = &result {
            // The link may be gone: let the supervisor look.
            self.shared.trouble.notify_one();
        }
        result
    }

    /// Closes the connection cleanly (best effort).
    pub async fn close(&self) {
        let connection = self
            .shared
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(connection) = connection {
            let closing = connection.close(200, "bye".into());
            let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        }
    }
}

/// Persistent, JSON, with the event id as message id and its arrival time as timestamp.
fn properties(event: &Event) -> BasicProperties {
    let mut properties = BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_message_id(short_lossy(&event.id))
        .with_app_id("hookctl".into());
    if let Ok(since) = event.received_at.duration_since(UNIX_EPOCH) {
        properties = properties.with_timestamp(since.as_secs());
    }
    if let Some(event_type) = &event.event_type {
        properties = properties.with_type(short_lossy(event_type));
    }
    properties
}

/// Connects, opens a confirming channel and declares the topology.
async fn open(config: &PublishConfig) -> Result<(Connection, Channel), BrokerError> {
    let connection = config.url.connect(&config.connection_name).await?;
    let channel = super::confirming_channel(&connection).await?;
    config.topology.declare(&channel).await?;
    Ok((connection, channel))
}

/// Watches the connection, and re-opens it with backoff whenever it is lost.
async fn supervise(shared: Arc<Shared>, mut channel: Channel) {
    let shown = shared.config.url.shown().to_owned();
    let diag = &shared.config.diag;
    loop {
        let why = broken(&shared, &channel).await;
        diag.error(format_args!(
            "lost the broker connection to {shown}: {why}; reconnecting (deliveries are answered 503 meanwhile)"
        ));
        shared
            .link
            .send_replace(Link::Down(BrokerError::ConnectionLost(why)));
        let old = shared
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(old);
        let mut attempt = 0;
        channel = loop {
            attempt += 1;
            tokio::time::sleep(reconnect_delay(attempt)).await;
            match open(&shared.config).await {
                Ok((connection, channel)) => {
                    *shared.connection.lock().unwrap_or_else(|e| e.into_inner()) = Some(connection);
                    break channel;
                }
                Err(why) => {
                    if attempt % 20 == 1 {
                        diag.note(format_args!("still reconnecting: {why}"));
                    }
                    shared.link.send_replace(Link::Down(why));
                }
            }
        };
        shared.link.send_replace(Link::Up(channel.clone()));
        diag.note(format_args!("reconnected to the broker at {shown}"));
    }
}

/// Waits until the connection or the channel is no longer usable, and says why.
async fn broken(shared: &Shared, channel: &Channel) -> Lost {
    let events = shared
        .connection
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .map(|c| c.events_listener());
    let mut events: Option<Pin<Box<dyn Stream<Item = lapin::Event> + Send>>> =
        events.map(|e| Box::pin(e) as _);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            event = next_event(&mut events) => match event {
                Some(lapin::Event::Error(e)) => return Lost::Error(e),
                Some(lapin::Event::ConnectionBlocked(reason)) => {
                    shared.config.diag.warn(format_args!("the broker blocks publishing: {reason}"));
                }
                Some(_) => {}
                None => events = None,
            },
            _ = shared.trouble.notified() => {}
            _ = tick.tick() => {}
        }
        let connected = shared
            .connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|c| c.status().connected());
        if !connected {
            return Lost::ConnectionClosed;
        }
        if !channel.status().connected() {
            return Lost::ChannelClosed;
        }
    }
}

/// The next connection event, or never when there is no event stream.
async fn next_event(
    events: &mut Option<Pin<Box<dyn Stream<Item = lapin::Event> + Send>>>,
) -> Option<lapin::Event> {
    match events {
        Some(stream) => poll_fn(|cx| stream.as_mut().poll_next(cx)).await,
        None => std::future::pending().await,
    }
}
