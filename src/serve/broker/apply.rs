//! Applying what the streams bring to this relay's own state: a channel is stored (a known
//! id is skipped), an event is appended to its channel's log as its stream offset + 1 (a
//! number not past the log's last is skipped). A write that fails is tried again every second,
//! in order, so nothing is skipped for a full disk.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use lapin::message::Delivery;
use lapin::types::AMQPValue;
use lapin::BasicProperties;
use tokio::sync::watch;

use super::{Broker, CHANNEL_HEADER};
use crate::event::Event;
use crate::serve::channels::{Channel, Meta};
use crate::serve::Server;

/// How long an event waits for its channel to arrive from the channels stream.
const CHANNEL_WAIT: Duration = Duration::from_secs(30);
/// The wait before storing again after a failed write.
const RETRY_STORE: Duration = Duration::from_secs(1);

/// The offset the stream gave a message.
pub(super) fn stream_offset(properties: &BasicProperties) -> Option<u64> {
    let headers = properties.headers().as_ref()?;
    match headers.inner().get("x-stream-offset")? {
        AMQPValue::LongLongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u64::try_from(*n).ok(),
        AMQPValue::LongUInt(n) => Some(u64::from(*n)),
        _ => None,
    }
}

fn header_text(properties: &BasicProperties, name: &str) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// Stores the channel a message announces. False when quitting first.
pub(super) async fn apply_channel(
    broker: &Broker,
    server: &Server,
    delivery: &Delivery,
    quit: &watch::Receiver<bool>,
) -> bool {
    let meta = match Meta::parse(&delivery.data) {
        Ok((meta, _)) => meta,
        Err(e) => {
            server.log.warn(
                "a broker message that is not a channel; skipped",
                &[("error", e.into())],
            );
            return true;
        }
    };
    if server.channels.get(&meta.id).is_some() {
        return true;
    }
    loop {
        match broker.store_channel(&server.channels, meta.clone()).await {
            Ok(_) => {
                server.log.detail(
                    "channel from the broker",
                    &[("channel", meta.id.as_str().into())],
                );
                return true;
            }
            Err(e) => {
                server.log.error(
                    "cannot store a channel from the broker; retrying",
                    &[
                        ("channel", meta.id.as_str().into()),
                        ("error", e.to_string().into()),
                    ],
                );
                if !pause(quit).await {
                    return false;
                }
            }
        }
    }
}

/// Appends the event a message carries to its channel's log as `offset + 1`. False when
/// quitting first.
pub(super) async fn apply_event(
    broker: &Broker,
    server: &Server,
    offset: u64,
    delivery: &Delivery,
    quit: &watch::Receiver<bool>,
) -> bool {
    let seq = offset + 1;
    let (Some(id), Ok(Some(event))) = (
        header_text(&delivery.properties, CHANNEL_HEADER),
        Event::from_json_line(&delivery.data),
    ) else {
        server.log.warn(
            "a broker message that is not a relayed event; skipped",
            &[("offset", offset.into())],
        );
        return true;
    };
    let channel = match channel(broker, server, &id, quit).await {
        Some(Some(channel)) => channel,
        Some(None) => {
            server.log.error(
                "an event from the broker for a channel that never arrived; skipped",
                &[("channel", id.as_str().into()), ("seq", seq.into())],
            );
            return true;
        }
        None => return false,
    };
    let received_ms = event
        .received_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    loop {
        match channel
            .log
            .append_at(&delivery.data, seq, received_ms)
            .await
        {
            Ok(stored) => {
                if stored {
                    server.edge.stored(&id, &event, seq);
                    channel.counters.stored(event.body.len());
                    server.log.detail(
                        "stored",
                        &[
                            ("channel", id.as_str().into()),
                            ("seq", seq.into()),
                            ("method", event.method.as_str().into()),
                            ("path", event.path.as_str().into()),
                            ("bytes", event.body.len().into()),
                        ],
                    );
                }
                if let Some(message) = delivery.properties.message_id() {
                    broker.applied(message.as_str(), seq);
                }
                return true;
            }
            Err(e) => {
                server.log.error(
                    "cannot store an event from the broker; retrying",
                    &[
                        ("channel", id.as_str().into()),
                        ("seq", seq.into()),
                        ("error", e.to_string().into()),
                    ],
                );
                if !pause(quit).await {
                    return false;
                }
            }
        }
    }
}

/// The channel `id`, waiting for it to arrive from the channels stream: `Some(None)` when it
/// did not within [`CHANNEL_WAIT`], `None` when quitting first.
async fn channel(
    broker: &Broker,
    server: &Server,
    id: &str,
    quit: &watch::Receiver<bool>,
) -> Option<Option<Arc<Channel>>> {
    let mut registered = broker.registered.subscribe();
    let mut stop = quit.clone();
    let deadline = tokio::time::Instant::now() + CHANNEL_WAIT;
    loop {
        if let Some(channel) = server.channels.get(id) {
            return Some(Some(channel));
        }
        tokio::select! {
            changed = registered.changed() => {
                if changed.is_err() {
                    return None;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return Some(None),
            _ = stop.wait_for(|s| *s) => return None,
        }
    }
}

/// Waits before trying a write again; false when quitting first.
async fn pause(quit: &watch::Receiver<bool>) -> bool {
    let mut stop = quit.clone();
    tokio::select! {
        _ = tokio::time::sleep(RETRY_STORE) => true,
        _ = stop.wait_for(|s| *s) => false,
    }
}

#[cfg(test)]
mod tests {
    use lapin::types::{FieldTable, LongString};

    use super::*;

    fn with(name: &str, value: AMQPValue) -> BasicProperties {
        let mut headers = FieldTable::default();
        headers.insert(name.into(), value);
        BasicProperties::default().with_headers(headers)
    }

    #[test]
    fn offsets_and_channels_are_read_from_the_headers() {
        let offset = |v| stream_offset(&with("x-stream-offset", v));
        assert_eq!(offset(AMQPValue::LongLongInt(41)), Some(41));
        assert_eq!(offset(AMQPValue::LongUInt(7)), Some(7));
        assert_eq!(offset(AMQPValue::LongLongInt(-1)), None);
        assert_eq!(offset(AMQPValue::Boolean(true)), None);
        assert_eq!(stream_offset(&BasicProperties::default()), None);
        let id = with(
            CHANNEL_HEADER,
            AMQPValue::LongString(LongString::from(b"abc".to_vec())),
        );
        assert_eq!(header_text(&id, CHANNEL_HEADER).as_deref(), Some("abc"));
        assert_eq!(header_text(&id, "other"), None);
    }
}
