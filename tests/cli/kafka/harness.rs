//! What the Kafka tests need besides hookctl: the test broker (or a clear skip), a reader that
//! takes every message of a topic, raw produces, and a broker of a test's own behind a proxy.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use crate::proxy::Proxy;
use crate::support::*;

/// The test broker: `kafka://127.0.0.1:PORT` without a topic.
pub struct Kafka {
    pub base: String,
}

/// The broker, or `None` (after saying why) when none is configured outside CI.
pub fn kafka(test: &str) -> Option<Kafka> {
    let base = std::env::var("HOOKCTL_TEST_KAFKA_URL").unwrap_or_default();
    if base.is_empty() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but HOOKCTL_TEST_KAFKA_URL is not set: .ci/run must start tansu with .ci/kafka.sh");
        }
        eprintln!("SKIPPED kafka::{test}: no Kafka broker, HOOKCTL_TEST_KAFKA_URL is not set (start one with: eval \"$(.ci/kafka.sh start)\")");
        return None;
    }
    Some(Kafka {
        base: base.trim_end_matches('/').to_owned(),
    })
}

/// One message read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Vec<u8>,
    pub payload: Vec<u8>,
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

impl Kafka {
    /// `kafka://HOST:PORT/TOPIC?partitions=N`.
    pub fn url(&self, topic: &str, partitions: u32) -> String {
        format!("{}/{topic}?partitions={partitions}", self.base)
    }

    fn brokers(&self) -> &str {
        self.base.trim_start_matches("kafka://")
    }

    /// Reads the topic from the beginning of every partition until `n` messages are in, or
    /// (for `n` = 0) until the ends are reached; bounded by WAIT.
    pub fn read(&self, topic: &str, n: usize) -> Vec<Record> {
        read_topic(self.brokers(), topic, n)
    }

    /// Produces raw bytes (no hookctl headers), waiting for the acknowledgement.
    pub fn produce_raw(&self, topic: &str, payload: &[u8]) {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", self.brokers())
            .set("acks", "all")
            .create()
            .unwrap();
        producer
            .send(BaseRecord::<[u8], [u8]>::to(topic).payload(payload))
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(WAIT).unwrap();
    }
}

/// Reads `topic` on `brokers` from the beginning (see [`Kafka::read`]).
pub fn read_topic(brokers: &str, topic: &str, n: usize) -> Vec<Record> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "hookctl-tests-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let metadata = consumer
        .fetch_metadata(Some(topic), WAIT)
        .expect("topic metadata");
    let partitions = metadata.topics()[0].partitions().len();
    assert!(partitions > 0, "topic {topic} has no partitions");
    let mut list = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        list.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&list).unwrap();
    let mut out = Vec::new();
    let mut at_end = std::collections::HashSet::new();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if n > 0 && out.len() >= n {
            break;
        }
        if n == 0 && at_end.len() == partitions {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let headers = m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(Record {
                    key: m.key().unwrap_or_default().to_vec(),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    headers,
                });
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(_)) | None => {}
        }
    }
    assert!(
        out.len() >= n,
        "topic {topic}: {} of {n} messages within {WAIT:?}",
        out.len()
    );
    out
}

/// Names no other test (or earlier run) uses.
pub fn unique(what: &str) -> String {
    format!("t-{what}-{}-{}", std::process::id(), fastrand::u32(..))
}

/// A broker of the test's own, which clients reach only through a proxy that can be cut: it
/// advertises the proxy's port, so every connection, metadata included, goes through it.
pub struct OwnBroker {
    pub proxy: Proxy,
    child: Child,
}

impl OwnBroker {
    /// Starts the tansu binary from HOOKCTL_TEST_TANSU; `None` (after saying why) without it.
    pub fn start(test: &str) -> Option<OwnBroker> {
        let bin = std::env::var("HOOKCTL_TEST_TANSU").unwrap_or_default();
        if bin.is_empty() {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but HOOKCTL_TEST_TANSU is not set: .ci/run must export it with .ci/kafka.sh");
            }
            eprintln!("SKIPPED kafka::{test}: HOOKCTL_TEST_TANSU is not set (eval \"$(.ci/kafka.sh start)\" sets it)");
            return None;
        }
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let proxy = Proxy::start(addr);
        let child = Command::new(bin)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://127.0.0.1:{port}"),
                "--advertised-listener-url",
                &format!("tcp://127.0.0.1:{}", proxy.port),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "tansu did not start on {addr}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(OwnBroker { proxy, child })
    }

    /// `kafka://127.0.0.1:PROXY/TOPIC`.
    pub fn url(&self, topic: &str) -> String {
        format!("kafka://127.0.0.1:{}/{topic}", self.proxy.port)
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.proxy.port)
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}
