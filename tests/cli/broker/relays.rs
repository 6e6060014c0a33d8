//! `serve --broker`: several relays sharing channels through the test broker's streams. Each
//! test uses its own stream (`--broker-stream`), so they do not see each other's messages.

use std::time::Duration;

use hookctl::event::Event;

use super::harness::*;
use crate::serve::harness::{request, Serve, Sse, SseEvent};
use crate::support::*;

/// Awkward bodies: non-compact JSON with escapes and a big number, a form, binary bytes.
const BODIES: [(&str, &[u8]); 3] = [
    (
        "application/json",
        b"{ \"amount\": 1.0e2,\n  \"name\": \"\\u00e9\", \"big\": 123456789012345678901234567890 }",
    ),
    ("application/x-www-form-urlencoded", b"a=1&b=%20&a=2"),
    (
        "application/octet-stream",
        &[0, 159, 146, 150, 255, b'\n', 1],
    ),
];

fn relay_args<'a>(url: &'a str, stream: &'a str) -> [&'a str; 5] {
    ["-v", "--broker", url, "--broker-stream", stream]
}

fn subscribe(serve: &Serve, id: &str, token: &str, since: Option<u64>) -> Sse {
    let auth = format!("Bearer {token}");
    let since = since.map(|s| s.to_string());
    let mut headers = vec![("authorization", auth.as_str())];
    if let Some(since) = &since {
        headers.push(("last-event-id", since.as_str()));
    }
    Sse::open(
        &serve.url,
        &format!("/{id}/events?format=capture"),
        &headers,
    )
}

/// The id (sequence number) of a capture event, checked against the line's `seq`.
fn seq(event: &SseEvent) -> u64 {
    let line: serde_json::Value = serde_json::from_str(&event.data).unwrap();
    let seq = line["seq"].as_u64().expect("seq in the line");
    assert_eq!(event.id.as_deref(), Some(seq.to_string().as_str()));
    seq
}

fn body(event: &SseEvent) -> Vec<u8> {
    Event::from_json_line(event.data.as_bytes())
        .unwrap()
        .unwrap()
        .body
        .to_vec()
}

/// Waits until `serve` logged that it stored event `seq` (from the broker).
fn wait_stored(serve: &mut Serve, seq: u64) {
    let needle = format!(" seq={seq} ");
    serve.stderr.wait_for(&format!("event {seq} stored"), |l| {
        l.contains("stored channel=") && l.contains(&needle)
    });
}

#[test]
fn relays_share_channels_and_events_and_resume_on_any_of_them() {
    let Some(b) = broker("relays_share_channels_and_events_and_resume_on_any_of_them") else {
        return;
    };
    let stream = unique("relays");
    let dirs = tempfile::tempdir().unwrap();
    let args = relay_args(&b.url, &stream);
    let a = Serve::spawn(&dirs.path().join("a"), &args);
    let mut other = Serve::spawn(&dirs.path().join("b"), &args);

    // A channel created on A is known on B.
    let (id, token) = a.channel();
    other.stderr.wait_for("the channel from A", |l| {
        l.contains("channel from the broker") && l.contains(&id)
    });
    let mut on_b = subscribe(&other, &id, &token, None);
    let ready = on_b.next();
    assert_eq!(ready.event.as_deref(), Some("ready"));
    assert!(ready.data.contains("\"last\":0"), "{ready:?}");

    // Posted to A (and to B): the subscriber on B gets the exact bytes, in order.
    let mut answered = Vec::new();
    for (i, (content_type, bytes)) in BODIES.iter().enumerate() {
        let to = if i == 1 { &other } else { &a };
        answered.push(to.post(&id, &[("content-type", content_type)], bytes));
    }
    let live = on_b.take("capture", 3);
    let seqs: Vec<u64> = live.iter().map(seq).collect();
    assert_eq!(seqs, answered);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for (event, (_, bytes)) in live.iter().zip(BODIES) {
        assert_eq!(body(event), bytes);
    }

    // More events; then a subscriber on A resumes from B's first id: no loss, no duplicate,
    // the same ids and the same lines.
    answered.push(a.post(&id, &[], b"four"));
    answered.push(other.post(&id, &[], b"five"));
    let mut seen_on_b = live;
    seen_on_b.extend(on_b.take("capture", 2));
    let mut on_a = subscribe(&a, &id, &token, Some(seqs[0]));
    // The ids skip (they are stream offsets), so `ready` says how many stored ones come (A
    // may not have applied B's last event yet: that one comes live).
    let ready: serde_json::Value = serde_json::from_str(&on_a.next().data).unwrap();
    let last_on_a = ready["last"].as_u64().unwrap();
    let stored_after = answered[1..].iter().filter(|&&s| s <= last_on_a).count();
    assert_eq!(ready["pending"], stored_after, "{ready}");
    assert!(stored_after >= 3, "{ready}");
    let resumed = on_a.take("capture", 4);
    assert_eq!(
        resumed.iter().map(|e| (&e.id, &e.data)).collect::<Vec<_>>(),
        seen_on_b[1..]
            .iter()
            .map(|e| (&e.id, &e.data))
            .collect::<Vec<_>>()
    );
    assert_eq!(on_a.next_within(Duration::from_millis(300)), None);

    // B, killed, misses an event; restarted on its data folder it catches up from its
    // offset without storing anything twice.
    other.kill();
    answered.push(a.post(&id, &[], b"six"));
    let last = *answered.last().unwrap();
    let mut other = Serve::spawn(&dirs.path().join("b"), &args);
    wait_stored(&mut other, last);
    let all_b = subscribe(&other, &id, &token, Some(0)).take("capture", 6);
    assert_eq!(all_b.iter().map(seq).collect::<Vec<_>>(), answered);
    assert_eq!(body(&all_b[5]), b"six");

    // A fresh relay C, started later, learns the channel and the whole history.
    let mut c = Serve::spawn(&dirs.path().join("c"), &args);
    wait_stored(&mut c, last);
    let mut on_c = subscribe(&c, &id, &token, Some(0));
    let all_c = on_c.take("capture", 6);
    assert_eq!(
        all_c.iter().map(|e| &e.data).collect::<Vec<_>>(),
        all_b.iter().map(|e| &e.data).collect::<Vec<_>>()
    );
    assert_eq!(on_c.next_within(Duration::from_millis(300)), None);
    // Its offsets are saved, so a restart resumes rather than reading from the start.
    drop(on_c);
    signal(c.child.id(), "TERM");
    assert!(wait_child(&mut c.child).success());
    let saved = std::fs::read_to_string(
        dirs.path()
            .join("c")
            .join("broker")
            .join(format!("{stream}.offset")),
    )
    .unwrap();
    assert_eq!(saved.trim().parse::<u64>().unwrap(), last - 1);
}

#[test]
fn a_relay_that_lost_its_broker_answers_503_and_recovers() {
    let Some(b) = broker("a_relay_that_lost_its_broker_answers_503_and_recovers") else {
        return;
    };
    let stream = unique("lost");
    let proxy = Proxy::start(broker_addr(&b.url));
    let url = via_port(&b.url, proxy.port);
    let dir = tempfile::tempdir().unwrap();
    let mut a = Serve::spawn(dir.path(), &relay_args(&url, &stream));
    let (id, token) = a.channel();
    let before = a.post(&id, &[], b"before");

    proxy.cut();
    a.stderr.wait_for("the loss", |l| {
        l.contains("lost the broker connection; reconnecting")
    });
    // The load balancer is told to send providers elsewhere.
    let health = request(&a.url, "GET", "/_hookctl/health", &[], b"");
    assert_eq!(health.status, 503, "{health:?}");
    assert!(
        health
            .text()
            .contains("the relay's broker cannot be reached"),
        "{}",
        health.text()
    );
    let refused = request(&a.url, "POST", &format!("/{id}"), &[], b"during");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert!(
        refused
            .text()
            .contains("the event could not be stored (the relay's broker is unavailable); retry"),
        "{}",
        refused.text()
    );
    let refused = request(&a.url, "POST", "/new", &[], b"");
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(
        refused
            .text()
            .contains("the channel could not be created (the relay's broker is unavailable)"),
        "{}",
        refused.text()
    );
    a.stderr.wait_for("the error logged", |l| {
        l.contains("the broker did not take an event; answered 503")
    });

    proxy.restore();
    a.stderr.wait_for("the reconnection", |l| {
        l.contains("reconnected to the broker")
    });
    assert_eq!(
        request(&a.url, "GET", "/_hookctl/health", &[], b"").status,
        200
    );
    let after = a.post(&id, &[], b"after");
    let events = subscribe(&a, &id, &token, Some(0)).take("capture", 2);
    assert_eq!(events.iter().map(seq).collect::<Vec<_>>(), [before, after]);
    assert_eq!(body(&events[1]), b"after");
}

#[test]
fn serve_fails_at_start_when_the_broker_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let out = hookctl()
        .args(["serve", "--port", "0", "--data"])
        .arg(dir.path())
        .args(["--broker", "amqp://relay:s3cret@127.0.0.1:1/v"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "hookctl: error: cannot connect to the broker at amqp://relay@127.0.0.1:1/v: "
        ) && err.contains("is RabbitMQ running there?"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert!(!err.contains("listening on"), "{err}");
}

#[test]
fn a_data_folder_serves_alone_or_with_one_stream() {
    // Checked before anything connects: no broker needed.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::create_dir_all(data.join("broker")).unwrap();
    std::fs::write(data.join("broker").join("stream"), "shared").unwrap();
    let channel = data.join("channels").join("AAAAAAAAAAAAAAAAAAAAAA");
    std::fs::create_dir_all(&channel).unwrap();
    std::fs::write(
        channel.join("channel.json"),
        format!(
            "{{\"v\":1,\"id\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"token_sha256\":\"{}\",\"created_at\":\"2026-01-01T00:00:00Z\"}}",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let serve = |args: &[&str]| {
        let out = hookctl()
            .args(["serve", "--port", "0", "--data"])
            .arg(data)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = serve(&[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("belongs to relays sharing the broker stream \"shared\"; pass --broker URL (and --broker-stream shared)"), "{err}");
    let (code, err) = serve(&[
        "--broker",
        "amqp://u:p@127.0.0.1:1/v",
        "--broker-stream",
        "other",
    ]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("follows the broker stream \"shared\", not \"other\""),
        "{err}"
    );

    // A folder whose channels were served alone cannot join.
    std::fs::remove_dir_all(data.join("broker")).unwrap();
    let (code, err) = serve(&["--broker", "amqp://u:p@127.0.0.1:1/v"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("holds channels of a relay that ran without --broker"),
        "{err}"
    );

    let (code, err) = serve(&[
        "--broker",
        "amqp://u:p@127.0.0.1:1/v",
        "--broker-stream",
        "a/b",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("use 1 to 200 letters, digits"), "{err}");
    let (code, err) = serve(&["--broker-stream", "alone"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--broker <URL>"), "{err}");
}

/// A load balancer in front of relays: each new connection goes to the relay it points at
/// when the connection is made.
struct Balancer {
    url: String,
    to: std::sync::Arc<std::sync::Mutex<std::net::SocketAddr>>,
}

impl Balancer {
    fn start(to: &Serve) -> Balancer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let to = std::sync::Arc::new(std::sync::Mutex::new(addr(to)));
        let target = to.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let at = *target.lock().unwrap();
                let Ok(server) = std::net::TcpStream::connect(at) else {
                    continue;
                };
                crate::proxy::pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                crate::proxy::pipe(server, client);
            }
        });
        Balancer { url, to }
    }

    fn point_at(&self, relay: &Serve) {
        *self.to.lock().unwrap() = addr(relay);
    }
}

fn addr(relay: &Serve) -> std::net::SocketAddr {
    authority(&relay.url).parse().unwrap()
}

#[test]
fn listen_source_resumes_through_a_load_balancer_on_another_relay() {
    let Some(b) = broker("listen_source_resumes_through_a_load_balancer_on_another_relay") else {
        return;
    };
    let stream = unique("balanced");
    let dirs = tempfile::tempdir().unwrap();
    let args = relay_args(&b.url, &stream);
    let a = Serve::spawn(&dirs.path().join("a"), &args);
    let mut other = Serve::spawn(&dirs.path().join("b"), &args);
    let balancer = Balancer::start(&a);
    let created = request(&balancer.url, "POST", "/new", &[], b"");
    assert_eq!(created.status, 201, "{created:?}");
    let created: serde_json::Value = serde_json::from_slice(&created.body).unwrap();
    let (id, token) = (
        created["channel"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap(),
    );
    let url = created["url"].as_str().unwrap();
    assert_eq!(url, format!("{}/{id}", balancer.url));
    // Another channel's events sit between this one's in the stream: its ids skip.
    let (noise, _) = a.channel();
    other.stderr.wait_for("the channels", |l| {
        l.contains("channel from the broker") && l.contains(&noise)
    });

    let capture = dirs.path().join("events.jsonl");
    let listen_args = [
        "listen",
        "--no-port",
        "--json",
        "--ready-json",
        "--source",
        url,
        "--token",
        token,
        "--capture",
        capture.to_str().unwrap(),
    ];
    let mut listen = spawn_hookctl(&listen_args);
    listen.stdout.wait_for("the ready record", |_| true);
    assert_eq!(a.post(&id, &[], b"one"), 1);
    listen
        .stdout
        .wait_for("event one", |l| l.contains("\"body\":\"one\""));
    assert!(listen.interrupt().success());

    // While listen is down, the load balancer moves to B, and events arrive there.
    balancer.point_at(&other);
    let mut posted = Vec::new();
    for body in ["two", "three", "four"] {
        a.post(&noise, &[], b"noise");
        let response = request(
            &balancer.url,
            "POST",
            &format!("/{id}"),
            &[],
            body.as_bytes(),
        );
        assert_eq!(response.status, 200, "{response:?}");
        posted.push(body);
    }
    let mut listen = spawn_hookctl(&listen_args);
    listen.stdout.wait_for("the ready record", |_| true);
    for body in &posted {
        listen.stdout.wait_for("a missed event", |l| {
            l.contains(&format!("\"body\":\"{body}\""))
        });
    }
    listen
        .stderr
        .wait_for("the resume", |l| l == "resumed after #1: 3 missed events");
    assert!(listen.interrupt().success());
    let bodies: Vec<String> = read_capture(&capture)
        .iter()
        .map(|e| String::from_utf8_lossy(&e.body).into_owned())
        .collect();
    assert_eq!(bodies, ["one", "two", "three", "four"]);
}
