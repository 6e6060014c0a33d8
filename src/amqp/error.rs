//! What can go wrong talking to the broker, by kind: the callers decide on it (listen answers
//! 503, send counts a failure, relay reconnects), and `main` prints it.

use std::time::Duration;

use super::describe;
use crate::output::diag::Untrusted;

/// The hint given with every bad broker URL.
const URL_HINT: &str =
    "use amqp://USER:PASS@HOST:PORT/VHOST, e.g. amqp://guest:guest@127.0.0.1:5672/%2f";

/// A broker error. Lapin's errors are shown with a hint for the usual causes ([`describe`]).
#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    /// The URL does not parse, or names no host.
    #[error("invalid broker URL: {0}; {hint}", hint = URL_HINT)]
    BadUrl(String),

    #[error(
        "amqps:// needs TLS, which this hookctl was built without; rebuild with --features amqp-tls"
    )]
    TlsUnavailable,

    /// An exchange, queue, binding or tag that is not an AMQP short string.
    #[error("{what} is longer than {max} bytes", max = super::SHORT_MAX)]
    NameTooLong { what: &'static str },

    #[error("relay needs a queue: pass --queue NAME")]
    NoQueue,

    /// The broker could not be reached, or refused the login.
    #[error("cannot connect to the broker at {url}: {}", describe(.cause))]
    Connect { url: String, cause: lapin::Error },

    #[error("cannot connect to the broker at {url}: no answer within {}s", .after.as_secs())]
    ConnectTimeout { url: String, after: Duration },

    /// Opening or setting up a channel failed: `action` is "open a channel", "set the
    /// prefetch" or "turn on publisher confirms".
    #[error("cannot {action}: {}", describe(.cause))]
    Channel {
        action: &'static str,
        cause: lapin::Error,
    },

    /// Declaring or binding the topology failed: `what` is, e.g., `declare exchange "x"`.
    #[error("cannot {what}: {}", describe(.cause))]
    Declare { what: String, cause: lapin::Error },

    #[error("cannot consume from queue {queue:?}: {}", describe(.cause))]
    Consume { queue: String, cause: lapin::Error },

    /// The link is down and being re-opened; publishes fail fast meanwhile.
    #[error("not connected to the broker ({0})")]
    NotConnected(Box<BrokerError>),

    #[error("{0}")]
    ConnectionLost(Lost),

    /// The publish itself failed (the channel or connection broke under it).
    #[error("{}", describe(.0))]
    Publish(lapin::Error),

    #[error("the broker did not confirm within {}", humantime::format_duration(*.0))]
    ConfirmTimeout(Duration),

    /// Confirmed, but returned: no queue is bound for the routing key (the event's type).
    #[error(
        "the broker had no queue for it: nothing is bound to exchange {exchange:?} for routing key \"{}\" (declare a queue with --queue, or ?queue=NAME in a route's URL)",
        Untrusted(.routing_key)
    )]
    Unroutable {
        exchange: String,
        routing_key: String,
    },

    #[error(
        "the broker refused it (nack): a queue may be full, or the broker is out of resources"
    )]
    Nacked,

    #[error("publisher confirms are not on")]
    ConfirmsOff,
}

impl BrokerError {
    pub(super) fn bad_url(reason: impl std::fmt::Display) -> BrokerError {
        BrokerError::BadUrl(reason.to_string())
    }
}

/// Why a working connection stopped being usable.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Lost {
    #[error("the connection closed")]
    ConnectionClosed,
    #[error("the channel closed")]
    ChannelClosed,
    #[error("the broker cancelled the consumer")]
    ConsumerCancelled,
    #[error("{}", describe(.0))]
    Error(lapin::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem_and_escape_routing_keys() {
        let e = BrokerError::bad_url("it names no host");
        assert_eq!(
            e.to_string(),
            format!("invalid broker URL: it names no host; {URL_HINT}")
        );
        let e = BrokerError::Unroutable {
            exchange: "hooks".into(),
            routing_key: "evt\u{1b}[2J".into(),
        };
        assert_eq!(
            e.to_string(),
            "the broker had no queue for it: nothing is bound to exchange \"hooks\" for routing key \"evt\\x1b[2J\" (declare a queue with --queue, or ?queue=NAME in a route's URL)"
        );
        let e = BrokerError::NotConnected(Box::new(BrokerError::ConnectionLost(
            Lost::ConnectionClosed,
        )));
        assert_eq!(
            e.to_string(),
            "not connected to the broker (the connection closed)"
        );
        let e = BrokerError::ConfirmTimeout(Duration::from_secs(10));
        assert_eq!(e.to_string(), "the broker did not confirm within 10s");
    }
}
