//! A subscription: the channel's events as Server-Sent Events, from a resume point on.
//!
//! The stream pulls: hyper asks for the next frame only once the last one is written, and
//! each frame is read from the channel's log (its cache of latest lines, or the segment
//! files). A slow subscriber therefore costs no buffer of its own; it just reads further
//! back, and catches up from the log. Stored and live events come through the same path, so
//! there is neither a gap nor a duplicate between them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::watch;

use super::channels::Channel;
use super::log::Gap;
use super::logs::Logger;
use super::smee;
use crate::listen::stall::Stalled;

/// How often an idle stream gets a keep-alive comment.
pub const PING_EVERY: Duration = Duration::from_secs(15);

/// How events are written to a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `event: capture`, `data:` the stored capture line: the provider's exact bytes.
    Capture,
    /// smee.io's `message` events, for smee-client and pysmee.
    Smee,
}

/// Who is subscribing: where they connect from, whether their connection was dropped for not
/// reading (`--stall-timeout`), and where that is logged.
pub struct Subscriber {
    pub peer: std::net::SocketAddr,
    pub stalled: Stalled,
    pub log: Logger,
}

/// One subscriber's position in a channel.
pub struct Subscription {
    channel: Arc<Channel>,
    after: u64,
    format: Format,
    last: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    frames: VecDeque<Bytes>,
    subscriber: Subscriber,
}

impl Subscription {
    /// A subscription to `channel` that starts after event `since` (clamped to the last one
    /// stored; `None` means only new events) and ends when `stop` turns true.
    pub fn new(
        channel: Arc<Channel>,
        since: Option<u64>,
        format: Format,
        stop: watch::Receiver<bool>,
        subscriber: Subscriber,
    ) -> Subscription {
        channel
            .counters
            .subscribers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let last = channel.log.watch();
        let newest = *last.borrow();
        let after = since.map_or(newest, |s| s.min(newest));
        // Resuming: how many stored events come first (sequence numbers may skip, so the
        // client cannot tell from `last`).
        let pending = since.map_or(String::new(), |_| {
            format!(",\"pending\":{}", channel.log.stored_between(after, newest))
        });
        let ready = format!(
            "event: ready\ndata: {{\"channel\":\"{}\",\"last\":{newest}{pending}}}\n\n",
            channel.id
        );
        Subscription {
            channel,
            after,
            format,
            last,
            stop,
            frames: VecDeque::from([Bytes::from(ready)]),
            subscriber,
        }
    }

    /// The stream of SSE frames, ending when the server stops or the log cannot be read.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
        futures_util::stream::unfold(self, |mut sub| async move {
            let frame = sub.next_frame().await?;
            Some((frame, sub))
        })
    }

    async fn next_frame(&mut self) -> Option<Bytes> {
        loop {
            if let Some(frame) = self.frames.pop_front() {
                return Some(frame);
            }
            if *self.stop.borrow() {
                return None;
            }
            let batch = match self.channel.log.read_after(self.after).await {
                Ok(batch) => batch,
                Err(e) => {
                    self.subscriber.log.diag.error(format_args!(
                        "channel {}: cannot read the log: {e}; ending a subscription",
                        self.channel.id
                    ));
                    return None;
                }
            };
            if let Some(gap) = batch.gap {
                self.frames.push_back(gap_frame(gap));
                self.after = gap.next - 1;
            }
            for stored in &batch.events {
                let mut frame = Vec::with_capacity(stored.line.len() + 40);
                frame.extend_from_slice(b"id: ");
                frame.extend_from_slice(itoa::Buffer::new().format(stored.seq).as_bytes());
                match self.format {
                    Format::Capture => {
                        frame.extend_from_slice(b"\nevent: capture\ndata: ");
                        self.frames.push_back(Bytes::from(frame));
                        // The line ends in its newline; a blank line ends the event.
                        self.frames.push_back(stored.line.clone());
                        self.frames.push_back(Bytes::from_static(b"\n"));
                    }
                    Format::Smee => {
                        frame.extend_from_slice(b"\n");
                        let data = stored.smee(|line| {
                            smee::data_lines(line)
                                .unwrap_or_else(|| Bytes::from_static(b"data: {}\n"))
                        });
                        self.frames.push_back(Bytes::from(frame));
                        self.frames.push_back(data);
                        self.frames.push_back(Bytes::from_static(b"\n"));
                    }
                }
                self.after = stored.seq;
            }
            if !self.frames.is_empty() {
                continue;
            }
            let after = self.after;
            tokio::select! {
                changed = self.last.wait_for(|last| *last > after) => {
                    if changed.is_err() {
                        return None;
                    }
                }
                _ = self.stop.wait_for(|stop| *stop) => return None,
                _ = tokio::time::sleep(PING_EVERY) => {
                    self.frames.push_back(Bytes::from_static(b": ping\n\n"));
                }
            }
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let counters = &self.channel.counters;
        counters
            .subscribers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if self.subscriber.stalled.is_set() {
            counters
                .subscribers_dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.subscriber.log.warn(
                "dropped a subscriber that stopped reading (--stall-timeout)",
                &[
                    ("channel", self.channel.id.as_str().into()),
                    ("peer", self.subscriber.peer.to_string().into()),
                    ("resume_after", self.after.into()),
                ],
            );
        }
    }
}

fn gap_frame(gap: Gap) -> Bytes {
    // The id moves the subscriber's resume point past what is gone, so a reconnect does not
    // report the same gap again. `missed` is left out when it cannot be told (sequence
    // numbers from a broker's stream skip).
    let missed = gap
        .missed
        .map_or(String::new(), |n| format!(",\"missed\":{n}"));
    Bytes::from(format!(
        "id: {}\nevent: gap\ndata: {{\"after\":{},\"next\":{}{missed}}}\n\n",
        gap.next - 1,
        gap.after,
        gap.next,
    ))
}
