//! What the broker bridges (RabbitMQ in [`crate::amqp`], Kafka in [`crate::kafka`]) share: which
//! bridge a URL names, the message body (a capture line), the dead-letter reason, how a relay
//! counts what it settled, and the `send --publish` loop.

pub mod publish;
pub mod relay;

use crate::event::Event;

/// The header carrying why a message was dead-lettered, in both bridges.
pub const REASON_HEADER: &str = "x-hookctl-error";

/// The broker a URL names, by its scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `amqp://` or `amqps://`: RabbitMQ.
    Amqp,
    /// `kafka://`: a Kafka cluster.
    Kafka,
}

/// The bridge `url` is for; an unknown scheme is an error that says what is accepted.
pub fn kind(url: &str) -> Result<Kind, String> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("amqp" | "amqps") => Ok(Kind::Amqp),
        Some("kafka") => Ok(Kind::Kafka),
        _ => Err(format!(
            "invalid broker URL {url:?}: use amqp://USER:PASS@HOST:PORT/VHOST (RabbitMQ) or kafka://HOST:PORT/TOPIC (Kafka)"
        )),
    }
}

/// The message body for an event: its capture line without the newline.
pub fn message_body(event: &Event) -> Vec<u8> {
    let mut line = Vec::with_capacity(event.body.len() + 384);
    event.write_json_line(&mut line);
    line.pop();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_picks_the_bridge() {
        assert_eq!(kind("amqp://u:p@h/v"), Ok(Kind::Amqp));
        assert_eq!(kind("AMQPS://h"), Ok(Kind::Amqp));
        assert_eq!(kind("kafka://127.0.0.1:9092/t"), Ok(Kind::Kafka));
        let e = kind("http://x").unwrap_err();
        assert!(e.contains("kafka://HOST:PORT/TOPIC"), "{e}");
        assert!(kind("nonsense").is_err());
    }
}
