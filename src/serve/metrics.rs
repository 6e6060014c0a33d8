//! The relay's counters, per channel and in total, and their Prometheus text rendering
//! (`GET /metrics`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::channels::Channel;

/// Why a request was refused, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reject {
    /// Body larger than --max-body (413).
    TooLarge,
    /// Signature check at the edge failed (401).
    Signature,
    /// Over the channel's rate limit (429).
    RateLimited,
    /// The body was not read (timeout, broken connection).
    BadRequest,
    /// Subscribe without the right token (401).
    Unauthorized,
}

impl Reject {
    const ALL: [Reject; 5] = [
        Reject::TooLarge,
        Reject::Signature,
        Reject::RateLimited,
        Reject::BadRequest,
        Reject::Unauthorized,
    ];

    fn label(self) -> &'static str {
        match self {
            Reject::TooLarge => "too_large",
            Reject::Signature => "signature",
            Reject::RateLimited => "rate_limited",
            Reject::BadRequest => "bad_request",
            Reject::Unauthorized => "unauthorized",
        }
    }
}

/// One channel's counters.
#[derive(Default)]
pub struct Counters {
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub subscribers: AtomicU64,
    /// Subscribers dropped because their connection stopped reading (--stall-timeout).
    pub subscribers_dropped: AtomicU64,
    rejected: [AtomicU64; 5],
}

impl Counters {
    /// Counts an event stored with a body of `bytes`.
    pub fn stored(&self, bytes: usize) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn reject(&self, why: Reject) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn rejected(&self, why: Reject) -> u64 {
        self.rejected[why as usize].load(Ordering::Relaxed)
    }
}

/// Counters that belong to no channel.
#[derive(Default)]
pub struct Global {
    /// Ingests and subscribes for channels that do not exist.
    pub unknown_channel: AtomicU64,
    pub channels_created: AtomicU64,
}

/// The Prometheus text exposition of every counter.
pub fn render(channels: &[std::sync::Arc<Channel>], global: &Global) -> String {
    let mut out = String::with_capacity(1024 + channels.len() * 800);
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    type Get = fn(&Channel) -> u64;
    let families: [(&str, &str, &str, Get); 6] = [
        ("events", "counter", "Events received and stored.", |c| {
            c.counters.events.load(Ordering::Relaxed)
        }),
        (
            "bytes",
            "counter",
            "Body bytes of the events stored.",
            |c| c.counters.bytes.load(Ordering::Relaxed),
        ),
        (
            "dropped",
            "counter",
            "Events dropped by retention (--retain, --retain-events).",
            |c| c.log.dropped(),
        ),
        ("stored", "gauge", "Events stored now.", |c| c.log.stored()),
        ("subscribers", "gauge", "Subscribers connected now.", |c| {
            c.counters.subscribers.load(Ordering::Relaxed)
        }),
        (
            "subscribers_dropped",
            "counter",
            "Subscribers dropped because their connection read nothing for --stall-timeout.",
            |c| c.counters.subscribers_dropped.load(Ordering::Relaxed),
        ),
    ];
    for (name, kind, help, get) in families {
        let suffix = if kind == "counter" { "_total" } else { "" };
        let total: u64 = channels.iter().map(|c| get(c)).sum();
        let _ = writeln!(
            out,
            "# HELP hookctl_serve_{name}{suffix} {help} All channels."
        );
        let _ = writeln!(out, "# TYPE hookctl_serve_{name}{suffix} {kind}");
        let _ = writeln!(out, "hookctl_serve_{name}{suffix} {total}");
        let _ = writeln!(
            out,
            "# HELP hookctl_serve_channel_{name}{suffix} {help} Per channel."
        );
        let _ = writeln!(out, "# TYPE hookctl_serve_channel_{name}{suffix} {kind}");
        for channel in channels {
            let _ = writeln!(
                out,
                "hookctl_serve_channel_{name}{suffix}{{channel=\"{}\"}} {}",
                channel.id,
                get(channel)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP hookctl_serve_rejected_total Requests refused, by reason. All channels."
    );
    let _ = writeln!(out, "# TYPE hookctl_serve_rejected_total counter");
    for why in Reject::ALL {
        let total: u64 = channels.iter().map(|c| c.counters.rejected(why)).sum();
        let _ = writeln!(
            out,
            "hookctl_serve_rejected_total{{reason=\"{}\"}} {total}",
            why.label()
        );
    }
    let _ = writeln!(
        out,
        "hookctl_serve_rejected_total{{reason=\"unknown_channel\"}} {}",
        load(&global.unknown_channel)
    );
    let _ = writeln!(
        out,
        "# HELP hookctl_serve_channel_rejected_total Requests refused, by reason. Per channel."
    );
    let _ = writeln!(out, "# TYPE hookctl_serve_channel_rejected_total counter");
    for channel in channels {
        for why in Reject::ALL {
            let _ = writeln!(
                out,
                "hookctl_serve_channel_rejected_total{{channel=\"{}\",reason=\"{}\"}} {}",
                channel.id,
                why.label(),
                channel.counters.rejected(why)
            );
        }
    }
    let _ = writeln!(out, "# HELP hookctl_serve_channels Channels served.");
    let _ = writeln!(out, "# TYPE hookctl_serve_channels gauge");
    let _ = writeln!(out, "hookctl_serve_channels {}", channels.len());
    let _ = writeln!(
        out,
        "# HELP hookctl_serve_channels_created_total Channels created since start."
    );
    let _ = writeln!(out, "# TYPE hookctl_serve_channels_created_total counter");
    let _ = writeln!(
        out,
        "hookctl_serve_channels_created_total {}",
        load(&global.channels_created)
    );
    out
}
