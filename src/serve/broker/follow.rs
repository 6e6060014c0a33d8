//! Following the streams: each relay consumes `NAME.channels` and `NAME` from the offset it
//! last applied (from the first message on a fresh data folder), applying each message in
//! order ([`super::apply`]). Applying twice changes nothing, so the offsets are saved only
//! every second.
//! A lost connection is re-opened with backoff; publishing fails fast (503) meanwhile.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use tokio::sync::watch;

use super::apply::{apply_channel, apply_event, stream_offset};
use super::{Broker, Link, Session};
use crate::amqp::{reconnect_delay, BrokerError, Lost};
use crate::serve::membership;
use crate::serve::Server;

/// Messages handed over before they are acknowledged.
const PREFETCH: u16 = 500;
/// How often the offsets applied are saved.
const SAVE_EVERY: Duration = Duration::from_secs(1);
/// How long a consumer may take to stop.
const QUIT_WAIT: Duration = Duration::from_secs(5);
/// No offset applied yet.
const NONE: u64 = u64::MAX;

/// Which stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channels,
    Events,
}

/// One stream's position.
struct Tail {
    kind: Kind,
    stream: ShortString,
    file: PathBuf,
    /// The last offset applied, or [`NONE`].
    applied: AtomicU64,
    saved: AtomicU64,
}

impl Tail {
    fn new(kind: Kind, stream: &ShortString, data: &std::path::Path) -> anyhow::Result<Tail> {
        let file = membership::offset_path(data, stream.as_str());
        let applied = membership::read_offset(&file)?.unwrap_or(NONE);
        Ok(Tail {
            kind,
            stream: stream.clone(),
            file,
            applied: AtomicU64::new(applied),
            saved: AtomicU64::new(applied),
        })
    }

    fn applied(&self) -> Option<u64> {
        Some(self.applied.load(Ordering::Relaxed)).filter(|&o| o != NONE)
    }

    /// Saves the offset applied, when it moved.
    fn save(&self, server: &Server) {
        let applied = self.applied.load(Ordering::Relaxed);
        if applied == NONE || self.saved.swap(applied, Ordering::Relaxed) == applied {
            return;
        }
        if let Err(e) = membership::write_offset(&self.file, applied) {
            server.log.error(
                "cannot save the broker offset (it is applied again after a restart, harmlessly)",
                &[
                    ("file", self.file.display().to_string().into()),
                    ("error", e.to_string().into()),
                ],
            );
        }
    }
}

/// The streams' positions, loaded from `data` before anything is consumed.
pub struct Tails {
    channels: Arc<Tail>,
    events: Arc<Tail>,
}

impl Tails {
    pub fn load(broker: &Broker, data: &std::path::Path) -> anyhow::Result<Tails> {
        Ok(Tails {
            channels: Arc::new(Tail::new(Kind::Channels, &broker.channels, data)?),
            events: Arc::new(Tail::new(Kind::Events, &broker.events, data)?),
        })
    }

    fn save(&self, server: &Server) {
        self.channels.save(server);
        self.events.save(server);
    }
}

/// Why a session ended.
enum Ended {
    Stopped,
    Lost(Lost),
}

/// Follows both streams until the server stops, re-opening a lost connection with backoff.
pub async fn run(broker: Arc<Broker>, server: Arc<Server>, session: Session, tails: Tails) {
    let mut stop = server.stop.clone();
    let mut session = session;
    loop {
        let ended = follow(&broker, &server, &session, &tails).await;
        tails.save(&server);
        let closing = session.connection.close(200, "bye".into());
        let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
        let why = match ended {
            Ended::Stopped => return,
            Ended::Lost(why) => why,
        };
        let shown = why.to_string();
        broker
            .link
            .send_replace(Link::Down(BrokerError::ConnectionLost(why)));
        server.log.error(
            "lost the broker connection; reconnecting (deliveries and new channels are answered 503 meanwhile)",
            &[("broker", broker.url().into()), ("error", shown.into())],
        );
        let mut attempt = 0;
        session = loop {
            attempt += 1;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(reconnect_delay(attempt)) => {}
            }
            match broker.open().await {
                Ok(session) => break session,
                Err(why) => {
                    if attempt % 20 == 1 {
                        server.log.warn(
                            "still reconnecting to the broker",
                            &[("error", why.to_string().into())],
                        );
                    }
                    broker.link.send_replace(Link::Down(why));
                }
            }
        };
        server.log.info(
            "reconnected to the broker",
            &[("broker", broker.url().into())],
        );
    }
}

/// Consumes both streams on one connection until stopped or lost.
async fn follow(
    broker: &Arc<Broker>,
    server: &Arc<Server>,
    session: &Session,
    tails: &Tails,
) -> Ended {
    let mut stop = server.stop.clone();
    let (first, second) = match (
        session.connection.create_channel().await,
        session.connection.create_channel().await,
    ) {
        (Ok(first), Ok(second)) => (first, second),
        (Err(e), _) | (_, Err(e)) => return Ended::Lost(Lost::Error(e)),
    };
    // The consumers stop between messages, never while applying one.
    let (quit, quitting) = watch::channel(false);
    let mut channels = Some(tokio::spawn(consume(
        broker.clone(),
        server.clone(),
        first,
        tails.channels.clone(),
        quitting.clone(),
    )));
    let mut events = Some(tokio::spawn(consume(
        broker.clone(),
        server.clone(),
        second,
        tails.events.clone(),
        quitting,
    )));
    let mut saved_at = Instant::now();
    // lapin reports a lost connection to consumers, but not always promptly: look, too.
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let ended = loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break Ended::Stopped,
            done = finished(&mut channels) => break Ended::Lost(done),
            done = finished(&mut events) => break Ended::Lost(done),
            _ = tick.tick() => {
                if !session.connection.status().connected() {
                    break Ended::Lost(Lost::ConnectionClosed);
                }
                if saved_at.elapsed() >= SAVE_EVERY {
                    tails.save(server);
                    saved_at = Instant::now();
                }
            }
        }
    };
    let _ = quit.send(true);
    for task in [&mut channels, &mut events] {
        // A consumer stops at once, or within a write of the log; never wait forever.
        if tokio::time::timeout(QUIT_WAIT, finished(task))
            .await
            .is_err()
        {
            if let Some(handle) = task.take() {
                handle.abort();
            }
        }
    }
    ended
}

/// Waits for a consumer task to end (at once if it already did) and says why it did.
async fn finished(task: &mut Option<tokio::task::JoinHandle<Lost>>) -> Lost {
    let Some(handle) = task.as_mut() else {
        return Lost::ChannelClosed;
    };
    let why = handle.await.unwrap_or(Lost::ChannelClosed);
    *task = None;
    why
}

/// Consumes one stream on its own channel, applying each message in order, until `quit`.
async fn consume(
    broker: Arc<Broker>,
    server: Arc<Server>,
    channel: lapin::Channel,
    tail: Arc<Tail>,
    mut quit: watch::Receiver<bool>,
) -> Lost {
    // lapin's futures may never end on a connection that died under them: each wait here
    // also ends on `quit`.
    let started = tokio::select! {
        started = start(&channel, &tail) => started,
        _ = quit.wait_for(|q| *q) => return Lost::ConsumerCancelled,
    };
    let mut consumer = match started {
        Ok(consumer) => consumer,
        Err(e) => return Lost::Error(e),
    };
    loop {
        let next = tokio::select! {
            next = consumer.next() => next,
            _ = quit.wait_for(|q| *q) => return Lost::ConsumerCancelled,
        };
        let delivery = match next {
            Some(Ok(delivery)) => delivery,
            Some(Err(e)) => return Lost::Error(e),
            None => return Lost::ConsumerCancelled,
        };
        let Some(offset) = stream_offset(&delivery.properties) else {
            server.log.warn(
                "a broker message without x-stream-offset; is the queue a stream? skipped",
                &[("stream", tail.stream.as_str().into())],
            );
            if let Err(why) = ack(&delivery, &mut quit).await {
                return why;
            }
            continue;
        };
        // A stream hands over whole chunks: messages before the resume point come again.
        if tail.applied().is_none_or(|applied| offset > applied) {
            let applied = match tail.kind {
                Kind::Channels => apply_channel(&broker, &server, &delivery, &quit).await,
                Kind::Events => apply_event(&broker, &server, offset, &delivery, &quit).await,
            };
            if !applied {
                // Quitting: not acknowledged, applied when consumed again.
                return Lost::ConsumerCancelled;
            }
            tail.applied.store(offset, Ordering::Relaxed);
        }
        if let Err(why) = ack(&delivery, &mut quit).await {
            return why;
        }
    }
}

/// Acknowledges a message (the stream then hands over more), unless quitting first.
async fn ack(delivery: &Delivery, quit: &mut watch::Receiver<bool>) -> Result<(), Lost> {
    tokio::select! {
        acked = delivery.acker.ack(BasicAckOptions::default()) => acked.map(drop).map_err(Lost::Error),
        _ = quit.wait_for(|q| *q) => Err(Lost::ConsumerCancelled),
    }
}

/// Opens a channel and consumes the stream from after the offset applied (or its start).
async fn start(channel: &lapin::Channel, tail: &Tail) -> lapin::Result<lapin::Consumer> {
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let mut arguments = FieldTable::default();
    let from = match tail.applied() {
        Some(applied) => AMQPValue::LongLongInt((applied + 1).min(i64::MAX as u64) as i64),
        None => AMQPValue::LongString(LongString::from(b"first".to_vec())),
    };
    arguments.insert("x-stream-offset".into(), from);
    channel
        .basic_consume(
            tail.stream.clone(),
            ShortString::from(format!("hookctl-serve-{}", tail.stream.as_str())),
            BasicConsumeOptions::default(),
            arguments,
        )
        .await
}
