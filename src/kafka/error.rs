//! What can go wrong talking to Kafka, by kind: listen answers 503, send counts a failure, and
//! `main` prints the rest.

use std::time::Duration;

use rdkafka::error::{KafkaError as RdError, RDKafkaErrorCode};

/// The hint given with every bad Kafka URL.
const URL_HINT: &str = "use kafka://HOST:PORT/TOPIC, e.g. kafka://127.0.0.1:9092/webhooks";

/// A Kafka bridge error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KafkaError {
    #[error("invalid Kafka URL {0}; {hint}", hint = URL_HINT)]
    BadUrl(String),

    /// A topic named by a flag breaks Kafka's rules.
    #[error("{flag}: {why}")]
    BadTopic { flag: &'static str, why: String },

    /// librdkafka refused the client settings.
    #[error("cannot create the Kafka client: {}", describe(.cause))]
    Client { cause: RdError },

    /// No metadata came from the bootstrap servers.
    #[error("cannot reach the Kafka cluster at {url}: {why}")]
    Unreachable { url: String, why: String },

    #[error("cannot create topic {topic}: {why}")]
    CreateTopic { topic: String, why: String },

    /// The broker did not take the message (after librdkafka's own retries).
    #[error("{}", describe(.0))]
    Produce(RdError),

    #[error("the broker did not acknowledge within {}", humantime::format_duration(*.0))]
    AckTimeout(Duration),

    #[error("cannot join consumer group {group:?}: {}", describe(.cause))]
    Subscribe { group: String, cause: RdError },
}

impl From<rdkafka::error::KafkaError> for KafkaError {
    fn from(cause: RdError) -> KafkaError {
        KafkaError::Client { cause }
    }
}

/// One line for an rdkafka error, with a hint for the usual causes.
pub fn describe(e: &RdError) -> String {
    let code = e.rdkafka_error_code();
    let text = e.to_string();
    match code {
        Some(
            RDKafkaErrorCode::BrokerTransportFailure
            | RDKafkaErrorCode::AllBrokersDown
            | RDKafkaErrorCode::Resolve,
        ) => format!("{text}; is Kafka running there?"),
        Some(RDKafkaErrorCode::OperationTimedOut | RDKafkaErrorCode::MessageTimedOut) => {
            format!("{text}; is Kafka running there, and reachable at the address it advertises?")
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_problem() {
        let e = KafkaError::BadUrl("\"x\": it names no topic".into());
        assert_eq!(
            e.to_string(),
            format!("invalid Kafka URL \"x\": it names no topic; {URL_HINT}")
        );
        let e = KafkaError::Produce(RdError::MessageProduction(RDKafkaErrorCode::AllBrokersDown));
        assert!(e.to_string().ends_with("is Kafka running there?"), "{e}");
        let e = KafkaError::AckTimeout(Duration::from_secs(10));
        assert_eq!(e.to_string(), "the broker did not acknowledge within 10s");
    }
}
