//! How the relay settles a message: acknowledge it, hand it back to the queue, or publish it
//! to the dead-letter exchange with the reason and then acknowledge it.

use std::time::Duration;

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions, BasicPublishOptions};
use lapin::types::{AMQPValue, LongString, ShortString};
use lapin::{Channel, Confirmation};

use super::{describe, name};
use crate::output::diag::Diag;

pub use crate::bridge::relay::Settled;
pub use crate::bridge::REASON_HEADER;
/// The header naming the queue a dead letter came from.
pub const QUEUE_HEADER: &str = "x-hookctl-queue";
/// The header keeping a dead letter's original routing key.
pub const ROUTING_KEY_HEADER: &str = "x-hookctl-routing-key";

/// How long the broker may take to confirm a dead letter.
const CONFIRM_TIMEOUT: Duration = Duration::from_secs(10);

/// A confirming channel to the dead-letter exchange, for messages from one queue.
pub struct DeadLetters {
    pub channel: Channel,
    pub exchange: ShortString,
    /// The source queue: the routing key of its dead letters.
    pub queue: String,
    /// Where a failed dead-letter publish is reported.
    pub diag: Diag,
}

impl DeadLetters {
    /// Publishes the message to the dead-letter exchange with the reason, waits for the
    /// confirm, then acknowledges the original. If that publish fails the message is requeued.
    pub async fn send(&self, delivery: &Delivery, reason: &str) -> Settled {
        let mut headers = delivery.properties.headers().clone().unwrap_or_default();
        headers.insert(REASON_HEADER.into(), long(reason));
        headers.insert(QUEUE_HEADER.into(), long(&self.queue));
        headers.insert(
            ROUTING_KEY_HEADER.into(),
            long(delivery.routing_key.as_str()),
        );
        let properties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2);
        let key = name(&self.queue, "queue").unwrap_or_default();
        let publishing = async {
            self.channel
                .basic_publish(
                    self.exchange.clone(),
                    key,
                    BasicPublishOptions::default(),
                    &delivery.data,
                    properties,
                )
                .await?
                .await
        };
        match tokio::time::timeout(CONFIRM_TIMEOUT, publishing).await {
            Ok(Ok(Confirmation::Ack(_))) => match ack(delivery).await {
                Settled::Acked => Settled::DeadLettered,
                other => other,
            },
            result => {
                let why = match result {
                    Ok(Err(e)) => describe(&e),
                    Ok(Ok(_)) => "the broker refused it (nack)".into(),
                    Err(_) => format!("no confirm within {}s", CONFIRM_TIMEOUT.as_secs()),
                };
                self.diag.error(format_args!(
                    "cannot dead-letter to {}: {why}; requeued",
                    self.exchange
                ));
                requeue(delivery).await
            }
        }
    }
}

fn long(text: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(text.as_bytes().to_vec()))
}

/// Acknowledges a delivered message.
pub async fn ack(delivery: &Delivery) -> Settled {
    match delivery.acker.ack(BasicAckOptions::default()).await {
        Ok(_) => Settled::Acked,
        Err(_) => Settled::Unsettled,
    }
}

/// Hands a message back to its queue.
pub async fn requeue(delivery: &Delivery) -> Settled {
    let options = BasicNackOptions {
        requeue: true,
        ..BasicNackOptions::default()
    };
    match delivery.acker.nack(options).await {
        Ok(_) => Settled::Requeued,
        Err(_) => Settled::Unsettled,
    }
}
