//! Subscribers that stop reading lose their slot (`--stall-timeout`), and `HEAD /new`
//! (smee-client's `createChannel`) is refused with its reason.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::harness::*;
use crate::support::*;

fn metric(serve: &Serve, name: &str) -> u64 {
    let text = request(&serve.url, "GET", "/metrics", &[], b"").text();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_counted() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &["--stall-timeout", "1s"]);
    let (id, token) = serve.channel();
    // Subscribes, then never reads a byte.
    let mut stuck = TcpStream::connect(authority(&serve.url)).unwrap();
    write!(
        stuck,
        "GET /{id}/events?format=capture HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\r\n",
        authority(&serve.url)
    )
    .unwrap();
    // A subscriber that reads everything, through the same load.
    let mut reading = Sse::open(
        &serve.url,
        &format!("/{id}?since=0&format=capture"),
        &[("authorization", &format!("Bearer {token}"))],
    );
    assert_eq!(metric(&serve, "hookctl_serve_subscribers"), 2);
    // Far more than the socket buffers and hyper's take: the stuck one's writes must wait.
    let body = vec![b'x'; 4 << 20];
    const EVENTS: usize = 12;
    for _ in 0..EVENTS {
        serve.post(&id, &[("content-type", "text/plain")], &body);
        assert_eq!(captured(&mut reading, 1).len(), 1);
    }
    let line = serve
        .stderr
        .wait_for("the stalled subscriber dropped", |l| {
            l.contains("dropped a subscriber that stopped reading")
        });
    assert!(line.contains(&format!("channel={id}")), "{line}");
    // Its connection is closed: reading it now ends (after what was in flight).
    stuck.set_read_timeout(Some(WAIT)).unwrap();
    let mut sink = vec![0; 1 << 20];
    loop {
        match stuck.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the stalled connection was not closed: {e}"),
        }
    }
    assert_eq!(metric(&serve, "hookctl_serve_subscribers_dropped_total"), 1);
    assert_eq!(
        metric(
            &serve,
            &format!("hookctl_serve_channel_subscribers_dropped_total{{channel=\"{id}\"}}")
        ),
        1
    );
    assert_eq!(metric(&serve, "hookctl_serve_subscribers"), 1);
    // The reader was kept and still gets events.
    serve.post(&id, &[], b"{}");
    let (seq, _) = captured(&mut reading, 1).remove(0);
    assert_eq!(seq, EVENTS as u64 + 1);
}

#[test]
fn head_new_is_refused_with_the_reason_and_creates_nothing() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &[]);
    let head = request(&serve.url, "HEAD", "/new", &[], b"");
    assert_eq!(head.status, 405, "{head:?}");
    assert!(head.body.is_empty());
    assert_eq!(head.header("allow"), Some("GET, POST"));
    assert!(head.header("location").is_none());
    assert!(
        head.header("x-hookctl-error")
            .is_some_and(|e| e.contains("hookctl channel new")),
        "{head:?}"
    );
    serve.stderr.wait_for("the refusal logged", |l| {
        l.contains("refused HEAD /new") && l.contains("hookctl channel new")
    });
    assert_eq!(metric(&serve, "hookctl_serve_channels"), 0);
    assert_eq!(metric(&serve, "hookctl_serve_channels_created_total"), 0);
    // POST /new still creates one.
    serve.channel();
    assert_eq!(metric(&serve, "hookctl_serve_channels"), 1);
}
