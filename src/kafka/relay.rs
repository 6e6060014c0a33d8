//! Delivering events from a topic, as a member of a consumer group, through the delivery
//! engine's [`Deliverer`](crate::deliver::Deliverer) (or the routes).
//!
//! The group's members share the topic's partitions. `concurrency` caps deliveries in flight.
//! A message's offset is stored for commit only after a 2xx (or once its dead letter is
//! acknowledged), and only the prefix of each partition with nothing left in flight (see
//! [`Offsets`]), so delivery is at least once; librdkafka commits what is stored every 500ms,
//! when partitions are revoked, and the relay commits once more when it stops. An event that
//! finally fails, and a message that is not an event, goes to the dead-letter topic with the
//! reason in the `x-hookctl-error` header. A lost broker is reconnected to by librdkafka.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::StreamConsumer;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::offsets::Offsets;
use super::publisher::{PublishConfig, Publisher};
use super::{ensure_topics, error::describe, KafkaError, KafkaUrl};
use super::{OFFSET_HEADER, PARTITION_HEADER, TOPIC_HEADER};
use crate::bridge::relay::Via;
use crate::bridge::relay::{failure_reason, record, Handled, RelayStats, Settled};
use crate::bridge::REASON_HEADER;
use crate::deliver::engine::{Pacer, Sink};
use crate::event::Event;
use crate::output::diag::{Diag, Untrusted};
use crate::units::Rate;

/// How long a dead letter may take to be acknowledged before it is tried again.
const DEAD_LETTER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the final commit may take.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything a relay needs besides the deliverer.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The brokers and the topic to consume (created when missing).
    pub url: KafkaUrl,
    /// The consumer group: relays in one group share the partitions.
    pub group: String,
    /// Where failed and invalid messages go (created when missing).
    pub dead_letter_topic: String,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    pub rate: Option<Rate>,
    /// Stop after taking this many messages.
    pub count: Option<u64>,
    /// The client id the brokers see.
    pub client_id: String,
    /// Where the relay's notices, errors and invalid messages are reported.
    pub diag: Diag,
}

/// Reports rebalances, and counts them so offsets of an earlier assignment are not stored.
struct GroupContext {
    diag: Diag,
    topic: String,
    generation: Arc<AtomicU64>,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let listed = |list: &TopicPartitionList| {
            let mut partitions: Vec<i32> = list
                .elements_for_topic(&self.topic)
                .iter()
                .map(|e| e.partition())
                .collect();
            partitions.sort_unstable();
            let shown: Vec<String> = partitions.iter().map(ToString::to_string).collect();
            if shown.is_empty() {
                "none".to_owned()
            } else {
                shown.join(", ")
            }
        };
        match rebalance {
            Rebalance::Assign(list) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.diag.note(format_args!(
                    "assigned partitions of topic {:?}: {}",
                    self.topic,
                    listed(list)
                ));
            }
            Rebalance::Revoke(list) => {
                self.generation.fetch_add(1, Ordering::SeqCst);
                self.diag.note(format_args!(
                    "revoked partitions of topic {:?}: {}",
                    self.topic,
                    listed(list)
                ));
            }
            Rebalance::Error(e) => self.diag.error(format_args!(
                "consumer group rebalance failed: {}",
                describe(e)
            )),
        }
    }
}

/// What the per-message tasks share.
struct Context {
    deliverer: Via,
    dead: Publisher,
    dead_topic: String,
    stop: watch::Receiver<bool>,
    diag: Diag,
}

/// A message taken from the topic, owned so a task can hold it.
struct Taken {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    payload: Vec<u8>,
    headers: Option<OwnedHeaders>,
    /// The assignment it was taken in.
    generation: u64,
}

/// Relays until `stop` turns true, `count` messages were taken, or the cluster cannot be
/// reached at start (a [`KafkaError`] inside the error). Every delivered event's outcome goes
/// to `sink`, whose errors end the relay too.
pub async fn run(
    config: &RelayConfig,
    deliverer: Via,
    mut stop: watch::Receiver<bool>,
    sink: &mut dyn Sink,
) -> anyhow::Result<RelayStats> {
    let topic = config.url.topic.clone();
    ensure_topics(
        &config.url,
        &[&topic, &config.dead_letter_topic],
        config.url.partitions,
    )
    .await?;
    let generation = Arc::new(AtomicU64::new(0));
    let consumer: StreamConsumer<GroupContext> = config
        .url
        .client_config(&config.client_id)
        .set("group.id", &config.group)
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .set("auto.commit.interval.ms", "500")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .set("heartbeat.interval.ms", "1000")
        .create_with_context(GroupContext {
            diag: config.diag.clone(),
            topic: topic.clone(),
            generation: generation.clone(),
        })
        .map_err(KafkaError::from)?;
    consumer
        .subscribe(&[&topic])
        .map_err(|cause| KafkaError::Subscribe {
            group: config.group.clone(),
            cause,
        })?;
    let dead = Publisher::new(&PublishConfig {
        url: config.url.clone(),
        ack_timeout: DEAD_LETTER_TIMEOUT,
        client_id: format!("{}-dead-letters", config.client_id),
    })?;
    let context = Arc::new(Context {
        deliverer,
        dead,
        dead_topic: config.dead_letter_topic.clone(),
        stop: stop.clone(),
        diag: config.diag.clone(),
    });
    config.diag.line(format_args!(
        "consuming topic {topic:?} on {} in group {:?} ({} in flight); Ctrl-C stops",
        config.url.brokers, config.group, config.concurrency
    ));
    let mut stats = RelayStats::default();
    let mut offsets = Offsets::default();
    let mut seen_generation = 0;
    let mut in_flight: JoinSet<(Taken, Handled)> = JoinSet::new();
    let mut pacer = config.rate.map(Pacer::new);
    let mut halt = stop.clone();
    let mut taken = 0u64;
    let mut last_error: Option<String> = None;
    let cap = config.concurrency.max(1);
    loop {
        if config.count.is_some_and(|n| taken >= n) {
            break;
        }
        tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                let (message, handled) = done?;
                settle(&consumer, &mut offsets, &generation, &mut seen_generation, message, handled, &mut stats, sink)?;
            }
            received = consumer.recv(), if in_flight.len() < cap => match received {
                Ok(message) => {
                    last_error = None;
                    taken += 1;
                    let message = own(&message, generation.load(Ordering::SeqCst));
                    forget_old(&mut offsets, &generation, &mut seen_generation);
                    offsets.taken(message.partition, message.offset);
                    let context = context.clone();
                    match Event::from_json_line(&message.payload) {
                        Ok(Some(event)) => {
                            if let Some(pacer) = pacer.as_mut() {
                                tokio::select! {
                                    _ = halt.wait_for(|s| *s) => break,
                                    _ = pacer.wait() => {}
                                }
                            }
                            in_flight.spawn(deliver(context, message, event));
                        }
                        Ok(None) => {
                            in_flight.spawn(invalid(context, message, "a record that is not an event (`kind` is not \"event\")".into()));
                        }
                        Err(why) => {
                            in_flight.spawn(invalid(context, message, format!("not a hookctl event: {why}")));
                        }
                    }
                }
                Err(e) => {
                    // librdkafka reconnects by itself; say so once per kind of trouble.
                    let why = describe(&e);
                    if last_error.as_deref() != Some(why.as_str()) {
                        config.diag.warn(format_args!("{why}; librdkafka keeps retrying"));
                        last_error = Some(why);
                    }
                }
            },
        }
    }
    while let Some(done) = in_flight.join_next().await {
        let (message, handled) = done?;
        settle(
            &consumer,
            &mut offsets,
            &generation,
            &mut seen_generation,
            message,
            handled,
            &mut stats,
            sink,
        )?;
    }
    commit_final(consumer, &topic, &offsets, &config.diag).await;
    Ok(stats)
}

/// Copies what a task needs out of the consumer's buffer.
fn own(message: &BorrowedMessage<'_>, generation: u64) -> Taken {
    Taken {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
        headers: message.headers().map(|h| h.detach()),
        generation,
    }
}

/// After a rebalance, the offsets of the assignment before are no longer ours to store.
fn forget_old(offsets: &mut Offsets, generation: &AtomicU64, seen: &mut u64) {
    let now = generation.load(Ordering::SeqCst);
    if now != *seen {
        offsets.clear();
        *seen = now;
    }
}

/// Counts a finished message and, when it is settled, stores the offset that may be committed.
#[allow(clippy::too_many_arguments)]
fn settle(
    consumer: &StreamConsumer<GroupContext>,
    offsets: &mut Offsets,
    generation: &AtomicU64,
    seen: &mut u64,
    message: Taken,
    handled: Handled,
    stats: &mut RelayStats,
    sink: &mut dyn Sink,
) -> anyhow::Result<()> {
    let settled = match &handled {
        Handled::Event(_, settled) | Handled::Invalid(settled) => *settled,
    };
    record(handled, stats, sink)?;
    forget_old(offsets, generation, seen);
    if message.generation != *seen || !matches!(settled, Settled::Acked | Settled::DeadLettered) {
        return Ok(());
    }
    if let Some(next) = offsets.done(message.partition, message.offset) {
        let mut list = TopicPartitionList::new();
        // Revoked meanwhile: the store fails, and the next owner reads it again.
        if list
            .add_partition_offset(&message.topic, message.partition, Offset::Offset(next))
            .is_ok()
        {
            let _ = consumer.store_offsets(&list);
        }
    }
    Ok(())
}

/// Commits the stored offsets once more, synchronously, and leaves the group.
async fn commit_final(
    consumer: StreamConsumer<GroupContext>,
    topic: &str,
    offsets: &Offsets,
    diag: &Diag,
) {
    let mut list = TopicPartitionList::new();
    for (partition, next) in offsets.stored() {
        let _ = list.add_partition_offset(topic, partition, Offset::Offset(next));
    }
    let diag = diag.clone();
    let committing = tokio::task::spawn_blocking(move || {
        if list.count() > 0 {
            if let Err(e) = consumer.commit(&list, CommitMode::Sync) {
                diag.warn(format_args!(
                    "cannot commit the last offsets: {}; those events will be delivered again",
                    describe(&e)
                ));
            }
        }
        // Dropping the consumer closes it: it leaves the group, so the others take over at once.
        drop(consumer);
    });
    let _ = tokio::time::timeout(COMMIT_TIMEOUT, committing).await;
}

/// Delivers one event; settles it after a 2xx, dead-letters it after the last failure.
async fn deliver(context: Arc<Context>, message: Taken, event: Event) -> (Taken, Handled) {
    let outcome = context.deliverer.deliver(&event).await;
    let settled = if outcome.is_success() {
        Settled::Acked
    } else if *context.stop.borrow() {
        // Interrupted between retries: not committed, so it is read again.
        Settled::Unsettled
    } else {
        dead_letter(&context, &message, &failure_reason(&outcome)).await
    };
    (message, Handled::Event(Box::new((event, outcome)), settled))
}

/// Dead-letters a message that is not an event.
async fn invalid(context: Arc<Context>, message: Taken, reason: String) -> (Taken, Handled) {
    context.diag.note(format_args!(
        "message at {}/{}@{} is invalid, dead-lettered to {:?}: {}",
        message.topic,
        message.partition,
        message.offset,
        context.dead_topic,
        Untrusted(&reason)
    ));
    let settled = dead_letter(&context, &message, &reason).await;
    (message, Handled::Invalid(settled))
}

/// Produces the message to the dead-letter topic with the reason and where it came from,
/// trying again until the broker acknowledges it or the relay stops (then it stays
/// uncommitted, and is read again).
async fn dead_letter(context: &Context, message: &Taken, reason: &str) -> Settled {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut headers = message
            .headers
            .clone()
            .unwrap_or_else(|| OwnedHeaders::new_with_capacity(4));
        let partition = message.partition.to_string();
        let offset = message.offset.to_string();
        for (key, value) in [
            (REASON_HEADER, reason),
            (TOPIC_HEADER, message.topic.as_str()),
            (PARTITION_HEADER, partition.as_str()),
            (OFFSET_HEADER, offset.as_str()),
        ] {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        let key = message.key.as_deref().unwrap_or_default();
        match context
            .dead
            .produce(&context.dead_topic, key, &message.payload, headers)
            .await
        {
            Ok(()) => return Settled::DeadLettered,
            Err(why) => {
                context.diag.error(format_args!(
                    "cannot dead-letter to {:?}: {why}; trying again",
                    context.dead_topic
                ));
                let wait = crate::deliver::retry::backoff(Duration::from_millis(200), attempt)
                    .min(Duration::from_secs(3));
                let mut stop = context.stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return Settled::Unsettled,
                }
            }
        }
    }
}

/// The header values of a message as text, for tests and messages.
pub fn header_text(headers: &OwnedHeaders, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
