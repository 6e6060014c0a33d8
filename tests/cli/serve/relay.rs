//! The relay's core: byte-exact ingest, durable and resumable subscriptions, retention,
//! bounded memory and the smee format.

use std::time::Duration;

use super::harness::*;
use crate::support::*;

#[test]
fn awkward_bodies_arrive_byte_for_byte() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let mut big = Vec::with_capacity(5 << 20);
    while big.len() < 5 << 20 {
        big.extend_from_slice(&(big.len() as u32).to_le_bytes());
    }
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        (
            "application/json",
            b"{\n  \"a\" : 1.0e2,\t\"b\": [ 1 , 2 ]\n}\n".to_vec(),
        ),
        (
            "application/json",
            br#"{"name":"\u00e9\u0000\ud83d\ude00","s":"caf\u00e9"}"#.to_vec(),
        ),
        (
            "application/json",
            br#"{"n":123456789012345678901234567890,"f":0.1000000000000000055511151231257827}"#
                .to_vec(),
        ),
        ("application/json", br#"{"k":1,"k":2,"k":{"k":3}}"#.to_vec()),
        (
            "application/x-www-form-urlencoded",
            b"payload=%7B%22a%22%3A1%7D&x=%C3%A9+y&x=2".to_vec(),
        ),
        (
            "application/octet-stream",
            b"\x00\xff\xfe\x80binary\r\n\x1b[31m".to_vec(),
        ),
        ("application/octet-stream", big),
        ("text/plain", Vec::new()),
    ];
    for (i, (content_type, body)) in bodies.iter().enumerate() {
        let seq = serve.post(
            &id,
            &[("content-type", content_type), ("x-case", &i.to_string())],
            body,
        );
        assert_eq!(seq, i as u64 + 1);
    }
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?since=0&format=capture"),
        &[("authorization", &format!("Bearer {token}"))],
    );
    let got = captured(&mut sse, bodies.len());
    for (i, ((seq, event), (content_type, body))) in got.iter().zip(&bodies).enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(event.body.as_ref(), body.as_slice(), "body #{i}");
        assert_eq!(event.header("content-type"), Some(*content_type));
        assert_eq!(event.header("x-case"), Some(i.to_string().as_str()));
        assert_eq!(event.method, "POST");
        assert_eq!(event.path, "/");
    }
    // The path below the channel and the query are kept, for any method.
    let response = request(
        &serve.url,
        "PUT",
        &format!("/{id}/hooks/github?x=1&y=%20"),
        &[("x-github-event", "push")],
        b"{}",
    );
    assert_eq!(response.status, 200, "{response:?}");
    let (seq, event) = captured(&mut sse, 1).remove(0);
    assert_eq!(seq, bodies.len() as u64 + 1);
    assert_eq!(
        (
            event.method.as_str(),
            event.path.as_str(),
            event.query.as_deref()
        ),
        ("PUT", "/hooks/github", Some("x=1&y=%20"))
    );
    assert_eq!(event.event_type.as_deref(), Some("push"));
}

#[test]
fn events_sent_while_no_one_listens_are_all_delivered_once_on_resume() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let auth = format!("Bearer {token}");
    // A subscriber takes the first 10, then goes away.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?format=capture"),
        &[("authorization", &auth)],
    );
    let ready = sse.next();
    assert_eq!(ready.event.as_deref(), Some("ready"));
    let ready: serde_json::Value = serde_json::from_str(&ready.data).unwrap();
    assert_eq!(ready, serde_json::json!({ "channel": id, "last": 0 }));
    for i in 1..=10 {
        serve.post(&id, &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    let first = captured(&mut sse, 10);
    let last_seen = first.last().unwrap().0;
    assert_eq!(last_seen, 10);
    drop(sse);
    // 50 arrive while it is away.
    for i in 11..=60 {
        serve.post(&id, &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    // It comes back with Last-Event-ID, and then live events follow.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?format=capture"),
        &[
            ("authorization", &auth),
            ("last-event-id", &last_seen.to_string()),
        ],
    );
    let resumed = captured(&mut sse, 50);
    let seqs: Vec<u64> = resumed.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (11..=60).collect::<Vec<_>>());
    for (seq, event) in &resumed {
        assert_eq!(event.body.as_ref(), format!("{{\"n\":{seq}}}").as_bytes());
    }
    serve.post(&id, &[], b"{\"n\":61}");
    let live = captured(&mut sse, 1);
    assert_eq!(live[0].0, 61);
    // Nothing twice: no further event is waiting.
    assert_eq!(sse.next_within(Duration::from_millis(300)), None);
    // ?since works the same way, and with ?token for EventSource clients.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}/events?format=capture&since=58&token={token}"),
        &[],
    );
    let seqs: Vec<u64> = captured(&mut sse, 3).iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, vec![59, 60, 61]);
}

#[test]
fn nothing_acknowledged_is_lost_when_serve_is_killed() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let mut acknowledged = Vec::new();
    for i in 1..=40 {
        acknowledged.push(serve.post(&id, &[], format!("{{\"n\":{i}}}").as_bytes()));
    }
    serve.kill();
    let serve = Serve::spawn(data.path(), &[]);
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?since=0&format=capture&token={token}"),
        &[],
    );
    let got: Vec<u64> = captured(&mut sse, 40).iter().map(|(s, _)| *s).collect();
    assert_eq!(got, acknowledged);
    // Sequence numbers go on after the restart.
    assert_eq!(serve.post(&id, &[], b"{}"), 41);
}

#[test]
fn retention_drops_old_events_with_a_gap_notice() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--retain-events", "5"]);
    let (id, token) = serve.channel();
    for i in 1..=12 {
        serve.post(&id, &[], format!("{{\"n\":{i}}}").as_bytes());
    }
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?since=3&format=capture&token={token}"),
        &[],
    );
    assert_eq!(sse.next().event.as_deref(), Some("ready"));
    let gap = sse.next();
    assert_eq!(gap.event.as_deref(), Some("gap"));
    assert_eq!(gap.id.as_deref(), Some("7"));
    let gap: serde_json::Value = serde_json::from_str(&gap.data).unwrap();
    assert_eq!(
        gap,
        serde_json::json!({ "after": 3, "next": 8, "missed": 4 })
    );
    let seqs: Vec<u64> = captured(&mut sse, 5).iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, vec![8, 9, 10, 11, 12]);
}

#[test]
fn retention_by_age_applies_while_serving() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--retain", "1s"]);
    let (id, token) = serve.channel();
    serve.post(&id, &[], b"{}");
    serve.post(&id, &[], b"{}");
    // The sweeper runs every second: wait for the metrics to show both events dropped.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let metrics = request(&serve.url, "GET", "/metrics", &[], b"").text();
        if metrics.contains("\nhookctl_serve_dropped_total 2\n") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut sse = Sse::open(&serve.url, &format!("/{id}?since=0&token={token}"), &[]);
    sse.next(); // ready
    let gap = sse.next();
    assert_eq!(gap.event.as_deref(), Some("gap"));
    assert_eq!(serve.post(&id, &[], b"{}"), 3);
}

#[test]
fn bodies_over_max_body_get_413() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--max-body", "1KiB"]);
    let (id, _) = serve.channel();
    let response = request(&serve.url, "POST", &format!("/{id}"), &[], &[b'x'; 1025]);
    assert_eq!(response.status, 413);
    assert!(
        response.text().contains("larger than 1024 bytes"),
        "{}",
        response.text()
    );
    assert_eq!(serve.post(&id, &[], &[b'x'; 1024]), 1);
    let metrics = request(&serve.url, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains(&format!(
            "hookctl_serve_channel_rejected_total{{channel=\"{id}\",reason=\"too_large\"}} 1"
        )),
        "{metrics}"
    );
}

#[test]
fn smee_format_has_headers_body_query_and_timestamp() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let mut sse = Sse::open(&serve.url, &format!("/{id}?token={token}"), &[]);
    assert_eq!(sse.header("content-type"), Some("text/event-stream"));
    assert_eq!(sse.header("x-accel-buffering"), Some("no"));
    let body = "{\n  \"action\": \"opened\",\n  \"n\": 1.50\n}";
    let response = request(
        &serve.url,
        "POST",
        &format!("/{id}?a=1"),
        &[
            ("content-type", "application/json"),
            ("X-GitHub-Event", "pull_request"),
        ],
        body.as_bytes(),
    );
    assert_eq!(response.status, 200);
    let message = sse.take("message", 1).remove(0);
    assert_eq!(message.id.as_deref(), Some("1"));
    assert_eq!(
        message.event, None,
        "smee readers listen for plain messages"
    );
    // The body's text is kept as it came (lines joined back by the SSE reader).
    assert!(message.data.contains(body), "{}", message.data);
    let value: serde_json::Value = serde_json::from_str(&message.data).unwrap();
    assert_eq!(value["x-github-event"], "pull_request");
    assert_eq!(value["content-type"], "application/json");
    assert_eq!(value["body"]["action"], "opened");
    assert_eq!(value["query"], serde_json::json!({ "a": "1" }));
    assert!(value["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn a_subscriber_that_stops_reading_costs_no_buffer_and_catches_up_from_the_log() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    // It subscribes, then reads nothing while 64 MiB of events arrive.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{id}?format=capture&token={token}"),
        &[],
    );
    let before = rss_kib(serve.child.id());
    let body = vec![b'x'; 256 << 10];
    for _ in 0..256 {
        serve.post(&id, &[("content-type", "text/plain")], &body);
    }
    let grown = rss_kib(serve.child.id()).saturating_sub(before);
    // The relay holds at most its small cache of latest lines (8 MiB a channel), not the
    // 64 MiB waiting for this subscriber.
    assert!(grown < 40 << 10, "serve grew by {grown} KiB");
    // Then it reads, and gets every event, in order, from the log.
    let got = captured(&mut sse, 256);
    assert!(got.iter().map(|(s, _)| *s).eq(1..=256));
    assert!(got.iter().all(|(_, e)| e.body.len() == 256 << 10));
}
