//! What the broker tests need besides hookctl: a connection to the test broker (or a clear
//! skip), a look into queues, raw publishes, unique names, and a TCP proxy that cuts listen's
//! connection to the broker and restores it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hookctl::amqp::BrokerUrl;
use hookctl::event::Event;
use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};

use crate::support::*;

/// A connection to the test broker, for looking into queues and feeding them.
pub struct Broker {
    pub url: String,
    rt: tokio::runtime::Runtime,
    channel: Channel,
    connection: lapin::Connection,
}

/// The broker, or `None` (after saying why) when none is configured outside CI.
pub fn broker(test: &str) -> Option<Broker> {
    let url = std::env::var("HOOKCTL_TEST_AMQP_URL").unwrap_or_default();
    if url.is_empty() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but HOOKCTL_TEST_AMQP_URL is not set: .ci/run must start RabbitMQ with .ci/rabbitmq.sh");
        }
        eprintln!("SKIPPED broker::{test}: no RabbitMQ, HOOKCTL_TEST_AMQP_URL is not set (start one with: eval \"$(.ci/rabbitmq.sh start)\")");
        return None;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let parsed = BrokerUrl::parse(&url).expect("HOOKCTL_TEST_AMQP_URL parses");
    let (connection, channel) = rt.block_on(async {
        let connection = parsed.connect("hookctl tests").await.unwrap_or_else(|e| {
            panic!("HOOKCTL_TEST_AMQP_URL is set but the broker is unreachable: {e}")
        });
        let channel = connection.create_channel().await.unwrap();
        (connection, channel)
    });
    Some(Broker {
        url,
        rt,
        channel,
        connection,
    })
}

/// One message taken from a queue.
pub struct Message {
    pub body: Vec<u8>,
    pub routing_key: String,
    pub properties: BasicProperties,
}

impl Message {
    pub fn header(&self, name: &str) -> String {
        match self
            .properties
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get(name))
        {
            Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            other => panic!("header {name} is {other:?}"),
        }
    }

    pub fn event(&self) -> Event {
        Event::from_json_line(&self.body).unwrap().unwrap()
    }
}

impl Broker {
    /// A durable queue with `arguments`, bound to `exchange` (which must exist) with `#`.
    pub fn declare_queue(&self, queue: &str, exchange: &str, arguments: FieldTable) {
        self.rt.block_on(async {
            let options = QueueDeclareOptions {
                durable: true,
                ..Default::default()
            };
            self.channel
                .queue_declare(queue.into(), options, arguments)
                .await
                .unwrap();
            self.channel
                .queue_bind(
                    queue.into(),
                    exchange.into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
        });
    }

    /// Publishes raw bytes, waiting for the broker's confirm.
    pub fn publish_raw(&self, exchange: &str, key: &str, body: &[u8]) {
        self.rt.block_on(async {
            let channel = self.connection.create_channel().await.unwrap();
            channel.confirm_select(Default::default()).await.unwrap();
            let confirm = channel
                .basic_publish(
                    exchange.into(),
                    key.into(),
                    BasicPublishOptions::default(),
                    body,
                    BasicProperties::default(),
                )
                .await
                .unwrap()
                .await
                .unwrap();
            assert!(confirm.is_ack());
        });
    }

    /// Takes every message in `queue`.
    pub fn drain(&self, queue: &str) -> Vec<Message> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            let options = BasicGetOptions { no_ack: true };
            while let Some(got) = self.channel.basic_get(queue.into(), options).await.unwrap() {
                out.push(Message {
                    body: got.delivery.data.clone(),
                    routing_key: got.delivery.routing_key.to_string(),
                    properties: got.delivery.properties.clone(),
                });
            }
            out
        })
    }
}

/// Names no other test (or earlier run) uses.
pub fn unique(what: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t-{what}-{}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        fastrand::u32(..)
    )
}

pub use crate::proxy::Proxy;

/// The broker URL pointed at another port.
pub fn via_port(url: &str, port: u16) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.set_port(Some(port)).unwrap();
    parsed.to_string()
}

pub fn broker_addr(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).unwrap();
    format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5672)
    )
    .parse()
    .unwrap()
}

/// `hookctl send ARGS --publish` to the test broker's `exchange` (declaring and binding
/// `queue` when given), which must succeed.
pub fn send_published(b: &Broker, exchange: &str, queue: Option<&str>, args: &[&str]) {
    let mut cmd = hookctl();
    cmd.arg("send")
        .args(args)
        .args(["--publish", &b.url, "--exchange", exchange]);
    if let Some(queue) = queue {
        cmd.args(["--queue", queue]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `hookctl send` to `url` with `args`; returns the exit code and stderr.
pub fn send(url: &str, args: &[&str]) -> (i32, String) {
    let out = hookctl()
        .arg("send")
        .args(args)
        .args(["--to", url])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Reads a file until it has `n` lines (bounded).
pub fn wait_lines(path: &std::path::Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {} of {n} lines",
            path.display(),
            lines.len()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
