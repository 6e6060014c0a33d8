//! Delivering events from a queue through the delivery engine's [`Deliverer`](crate::deliver::Deliverer) (or the routes).
//!
//! The prefetch caps deliveries in flight. A message is acknowledged only after a 2xx, so
//! delivery is at least once. An event that finally fails, and a message that is not an event,
//! is published to the dead-letter exchange (routing key: the source queue's name; the reason
//! in the `x-hookctl-error` header) and, once the broker confirms that, acknowledged: nothing is
//! requeued forever. Several relays on one queue share its messages. A lost connection is
//! re-opened with backoff; unacknowledged messages return to the queue meanwhile.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use lapin::message::Delivery;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ConfirmSelectOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, Consumer};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::{declare_exchange, declare_queue, name, reconnect_delay};
use super::{BrokerError, BrokerUrl, Lost, Topology};
pub use crate::bridge::relay::RelayStats;
use crate::bridge::relay::Via;
use crate::bridge::relay::{failure_reason, record, Handled};
use crate::deliver::engine::{Pacer, Sink};
use crate::event::Event;
use crate::output::diag::{Diag, Untrusted};
use crate::units::Rate;

use super::settle::{ack, requeue, DeadLetters};
pub use super::settle::{QUEUE_HEADER, REASON_HEADER, ROUTING_KEY_HEADER};

/// Where failed and invalid messages go.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// A durable topic exchange, declared at start.
    pub exchange: String,
    /// A durable queue bound to it with the source queue's name, declared at start.
    pub queue: Option<String>,
}

/// Everything a relay needs besides the deliverer.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub url: BrokerUrl,
    /// Exchange, queue (required) and binding, declared idempotently.
    pub topology: Topology,
    pub dead_letter: DeadLetter,
    /// Messages handed over before acknowledgement: the deliveries in flight.
    pub prefetch: u16,
    pub rate: Option<Rate>,
    /// Stop after taking this many messages.
    pub count: Option<u64>,
    pub connection_name: String,
    /// Where the relay's notices, errors and invalid messages are reported.
    pub diag: Diag,
}

/// What the per-message tasks share.
struct Context {
    deliverer: Via,
    dead: DeadLetters,
    stop: watch::Receiver<bool>,
}

/// One connection's worth of state.
struct Session {
    connection: Connection,
    channel: Channel,
    consumer: Consumer,
    tag: ShortString,
    context: Arc<Context>,
}

/// Why a session ended.
enum Ended {
    Stopped,
    CountReached,
    Lost(Lost),
}

/// Relays until `stop` turns true, `count` messages were taken, or the broker cannot be
/// reached at start (a [`BrokerError`] inside the error). Every delivered event's outcome goes
/// to `sink`, whose errors end the relay too.
pub async fn run(
    config: &RelayConfig,
    deliverer: Via,
    mut stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<RelayStats> {
    let mut stats = RelayStats::default();
    let mut taken = 0u64;
    let mut pacer = config.rate.map(Pacer::new);
    let diag = &config.diag;
    let mut session = open(config, &deliverer, &stop).await?;
    diag.line(format_args!(
        "consuming queue {:?} on {} (prefetch {}); Ctrl-C stops",
        session.consumer.queue().as_str(),
        config.url.shown(),
        config.prefetch
    ));
    loop {
        let ended = serve(
            &mut session,
            config,
            &mut stop,
            &mut pacer,
            &mut taken,
            &mut stats,
            sink,
        )
        .await?;
        close(&session).await;
        let Ended::Lost(why) = ended else { break };
        diag.error(format_args!(
            "lost the broker connection: {why}; reconnecting"
        ));
        let mut attempt = 0;
        session = loop {
            attempt += 1;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return Ok(stats),
                _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
            }
            match open(config, &deliverer, &stop).await {
                Ok(session) => break session,
                Err(why) if attempt % 20 == 1 => {
                    diag.note(format_args!("still reconnecting: {why}"));
                }
                Err(_) => {}
            }
        };
        stats.reconnects += 1;
        diag.note("reconnected; consuming again");
    }
    Ok(stats)
}

/// Takes messages until stopped, the count is reached or the connection is lost, then waits
/// for the deliveries in flight.
async fn serve(
    session: &mut Session,
    config: &RelayConfig,
    stop: &mut watch::Receiver<bool>,
    pacer: &mut Option<Pacer>,
    taken: &mut u64,
    stats: &mut RelayStats,
    sink: &mut dyn Sink,
) -> anyhow::Result<Ended> {
    let mut in_flight = JoinSet::new();
    let mut halt = stop.clone();
    // lapin reports a lost connection to consumers, but not always promptly: look, too.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let limit = |taken: u64| config.count.is_some_and(|n| taken >= n);
    let ended = loop {
        if limit(*taken) {
            break Ended::CountReached;
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break Ended::Stopped,
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                record(done?, stats, sink)?;
            }
            _ = tick.tick() => {
                if !session.connection.status().connected() || !session.channel.status().connected() {
                    break Ended::Lost(Lost::ConnectionClosed);
                }
            }
            delivery = poll_fn(|cx| Pin::new(&mut session.consumer).poll_next(cx)) => match delivery {
                Some(Ok(delivery)) => {
                    *taken += 1;
                    let context = session.context.clone();
                    match Event::from_json_line(&delivery.data) {
                        Ok(Some(event)) => {
                            if let Some(pacer) = pacer.as_mut() {
                                // Stopped while pacing: the message, unacknowledged, goes back.
                                tokio::select! {
                                    _ = halt.wait_for(|s| *s) => break Ended::Stopped,
                                    _ = pacer.wait() => {}
                                }
                            }
                            in_flight.spawn(deliver(context, delivery, event));
                        }
                        Ok(None) => {
                            in_flight.spawn(invalid(context, delivery, "a record that is not an event (`kind` is not \"event\")".into()));
                        }
                        Err(why) => {
                            in_flight.spawn(invalid(context, delivery, format!("not a hookctl event: {why}")));
                        }
                    }
                }
                Some(Err(e)) => break Ended::Lost(Lost::Error(e)),
                None => break Ended::Lost(Lost::ConsumerCancelled),
            },
        }
    };
    // No new messages: the rest of the prefetch returns to the queue when the channel closes.
    let cancel = session
        .channel
        .basic_cancel(session.tag.clone(), BasicCancelOptions::default());
    let _ = tokio::time::timeout(Duration::from_secs(2), cancel).await;
    while let Some(done) = in_flight.join_next().await {
        record(done?, stats, sink)?;
    }
    Ok(ended)
}

/// Delivers one event; acknowledges it after a 2xx, dead-letters it after the last failure.
async fn deliver(context: Arc<Context>, delivery: Delivery, event: Event) -> Handled {
    let outcome = context.deliverer.deliver(&event).await;
    let settled = if outcome.is_success() {
        ack(&delivery).await
    } else if *context.stop.borrow() {
        // Interrupted between retries: another relay may do better.
        requeue(&delivery).await
    } else {
        context
            .dead
            .send(&delivery, &failure_reason(&outcome))
            .await
    };
    Handled::Event(Box::new((event, outcome)), settled)
}

/// Dead-letters a message that is not an event.
async fn invalid(context: Arc<Context>, delivery: Delivery, reason: String) -> Handled {
    let exchange = &context.dead.exchange;
    // The message id and the reason (which may quote the message) come from the publisher.
    let reason_shown = Untrusted(&reason);
    match delivery.properties.message_id() {
        Some(id) => context.dead.diag.note(format_args!(
            "message {} is invalid, dead-lettered to {exchange}: {reason_shown}",
            Untrusted(id.as_str())
        )),
        None => context.dead.diag.note(format_args!(
            "delivery {} is invalid, dead-lettered to {exchange}: {reason_shown}",
            delivery.delivery_tag
        )),
    }
    Handled::Invalid(context.dead.send(&delivery, &reason).await)
}

/// Connects, declares the queue and the dead-letter exchange, and starts consuming.
async fn open(
    config: &RelayConfig,
    deliverer: &Via,
    stop: &watch::Receiver<bool>,
) -> Result<Session, BrokerError> {
    let queue = config.topology.queue.clone().ok_or(BrokerError::NoQueue)?;
    config.topology.validate()?;
    let connection = config.url.connect(&config.connection_name).await?;
    let channel_error = |cause| BrokerError::Channel {
        action: "open a channel",
        cause,
    };
    let channel = connection.create_channel().await.map_err(channel_error)?;
    channel
        .basic_qos(config.prefetch.max(1), BasicQosOptions::default())
        .await
        .map_err(|cause| BrokerError::Channel {
            action: "set the prefetch",
            cause,
        })?;
    config.topology.declare(&channel).await?;
    let dead = connection.create_channel().await.map_err(channel_error)?;
    dead.confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(|cause| BrokerError::Channel {
            action: "turn on publisher confirms",
            cause,
        })?;
    let dead_exchange = name(&config.dead_letter.exchange, "--dead-letter-exchange")?;
    declare_exchange(&dead, &config.dead_letter.exchange).await?;
    if let Some(dead_queue) = &config.dead_letter.queue {
        declare_queue(&dead, dead_queue, &config.dead_letter.exchange, &queue).await?;
    }
    let tag = name(
        &format!("hookctl-relay-{}-{}", std::process::id(), fastrand::u32(..)),
        "consumer tag",
    )?;
    let consumer = channel
        .basic_consume(
            name(&queue, "--queue")?,
            tag.clone(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|cause| BrokerError::Consume {
            queue: queue.clone(),
            cause,
        })?;
    let context = Arc::new(Context {
        deliverer: deliverer.clone(),
        dead: DeadLetters {
            channel: dead,
            exchange: dead_exchange,
            queue,
            diag: config.diag.clone(),
        },
        stop: stop.clone(),
    });
    Ok(Session {
        connection,
        channel,
        consumer,
        tag,
        context,
    })
}

/// Closes the channels and the connection (best effort, bounded).
async fn close(session: &Session) {
    let closing = async {
        let _ = session.channel.close(200, "bye".into()).await;
        let _ = session.context.dead.channel.close(200, "bye".into()).await;
        let _ = session.connection.close(200, "bye".into()).await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
}
