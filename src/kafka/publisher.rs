//! Producing events into a topic: an idempotent producer with `acks=all`, so a publish
//! succeeds only once every in-sync replica has the message, and librdkafka's own retries
//! neither duplicate nor reorder it. A publish that is not acknowledged within the timeout
//! has failed; listen answers that delivery 503.

use std::pin::Pin;
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;

use super::{ensure_topics, KafkaError, KafkaUrl};
use super::{CONTENT_TYPE_HEADER, ID_HEADER, TYPE_HEADER};
use crate::bridge::message_body;
use crate::event::Event;
use crate::listen::handler::{Publish, PublishResult};

/// How events are produced.
#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub url: KafkaUrl,
    /// The broker's acknowledgement must arrive within this time (librdkafka's
    /// `message.timeout.ms`, its retries included), or the publish has failed.
    pub ack_timeout: Duration,
    /// The client id the brokers see.
    pub client_id: String,
}

/// Produces to Kafka. Cheap to clone.
#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
    url: KafkaUrl,
    ack_timeout: Duration,
}

impl Publish for Publisher {
    fn publish<'a>(
        &'a self,
        event: &'a Event,
    ) -> Pin<Box<dyn std::future::Future<Output = PublishResult> + Send + 'a>> {
        Box::pin(async move { Ok(Publisher::publish(self, event).await?) })
    }
}

impl Publisher {
    /// Reaches the cluster, creates the topic when it is missing, and makes the producer.
    /// Fails when the cluster cannot be reached now; later losses are retried by librdkafka
    /// (publishes fail once the timeout passes meanwhile).
    pub async fn connect(config: PublishConfig) -> Result<Publisher, KafkaError> {
        ensure_topics(&config.url, &[&config.url.topic], config.url.partitions).await?;
        Publisher::new(&config)
    }

    /// The producer alone, for a topic that is known to exist (the relay's dead letters).
    pub fn new(config: &PublishConfig) -> Result<Publisher, KafkaError> {
        let millis = config.ack_timeout.as_millis().clamp(1, i32::MAX as u128);
        let producer: FutureProducer = config
            .url
            .client_config(&config.client_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", millis.to_string())
            // Concurrent deliveries share a produce request; one waits at most 1ms for others.
            .set("linger.ms", "1")
            .create()?;
        Ok(Publisher {
            producer,
            url: config.url.clone(),
            ack_timeout: config.ack_timeout,
        })
    }

    /// The URL, for messages.
    pub fn url(&self) -> String {
        self.url.shown()
    }

    /// The topic events go to.
    pub fn topic(&self) -> &str {
        &self.url.topic
    }

    /// Produces one event to the topic and waits for the broker's acknowledgement.
    pub async fn publish(&self, event: &Event) -> Result<(), KafkaError> {
        let body = message_body(event);
        self.produce(
            &self.url.topic,
            event.id.as_bytes(),
            &body,
            event_headers(event),
        )
        .await
    }

    /// Produces one message to `topic` and waits for the acknowledgement.
    pub async fn produce(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: OwnedHeaders,
    ) -> Result<(), KafkaError> {
        let record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .headers(headers);
        // The local queue being full counts against the same time as the acknowledgement.
        let sending = self.producer.send(record, Timeout::After(self.ack_timeout));
        // librdkafka enforces message.timeout.ms itself; this only guards against its absence.
        let guard = self.ack_timeout + Duration::from_secs(5);
        match tokio::time::timeout(guard, sending).await {
            Ok(Ok(_delivery)) => Ok(()),
            Ok(Err((cause, _message))) => Err(KafkaError::Produce(cause)),
            Err(_) => Err(KafkaError::AckTimeout(self.ack_timeout)),
        }
    }
}

/// The headers of an event's message: its type (when it has one), its id, and the content
/// type of the value.
pub fn event_headers(event: &Event) -> OwnedHeaders {
    let mut headers = OwnedHeaders::new_with_capacity(3);
    if let Some(event_type) = &event.event_type {
        headers = headers.insert(Header {
            key: TYPE_HEADER,
            value: Some(event_type.as_bytes()),
        });
    }
    headers
        .insert(Header {
            key: ID_HEADER,
            value: Some(event.id.as_bytes()),
        })
        .insert(Header {
            key: CONTENT_TYPE_HEADER,
            value: Some("application/json"),
        })
}
