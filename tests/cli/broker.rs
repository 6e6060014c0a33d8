//! The RabbitMQ bridge against a real broker: `listen --publish`, `relay`, `send --publish`,
//! and `serve --broker`.
//!
//! The broker comes from HOOKCTL_TEST_AMQP_URL (`.ci/run` starts one with `.ci/rabbitmq.sh`).
//! Without it a test says it was skipped and why; with CI=true that is a failure instead.
//! Every test uses its own exchange and queues, so they run in parallel. The test inspects and
//! feeds queues with its own AMQP client, and cuts listen's connection with a TCP proxy.

#![cfg(feature = "amqp")]

mod harness;
mod relay;
mod relays;
mod routes;

use std::collections::HashSet;
use std::io::Read;

use lapin::types::{AMQPValue, FieldTable};

use crate::support::*;
use harness::*;

#[test]
fn listen_publish_then_relay_delivers_every_event_byte_exact() {
    let Some(b) = broker("listen_publish_then_relay_delivers_every_event_byte_exact") else {
        return;
    };
    let (x, q) = (unique("exact"), unique("exact-q"));
    let dir = tempfile::tempdir().unwrap();
    let (cap_in, cap_out) = (dir.path().join("in.jsonl"), dir.path().join("out.jsonl"));
    let binary = dir.path().join("body.bin");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, b'\n', 1]).unwrap();
    let mut sink = Listen::start(&["--capture", cap_out.to_str().unwrap(), "--count", "4"]);
    let mut source = Listen::start(&[
        "--publish",
        &b.url,
        "--exchange",
        &x,
        "--queue",
        &q,
        "--capture",
        cap_in.to_str().unwrap(),
        "--json",
    ]);
    assert!(
        source
            .stderr
            .seen
            .iter()
            .any(|l| l.starts_with("publishing to exchange")),
        "{:?}",
        source.stderr.seen
    );
    let hooks = format!("{}/hooks/in?source=test&x=1", source.url);
    for args in [
        vec!["payment_success"],
        vec![
            "order_shipped",
            "--sign",
            "stripe",
            "--secret",
            "whsec_test",
            "-H",
            "X-Extra: a b",
        ],
        vec![
            "--data",
            &format!("@{}", binary.display()),
            "-H",
            "Content-Type: application/octet-stream",
        ],
        vec!["--data", "{\"no\":\"type\"}", "-X", "PUT"],
    ] {
        let (code, err) = send(&hooks, &args);
        assert_eq!(code, 0, "{args:?}: {err}");
    }
    // The source prints each delivery (--json) and relays nothing by itself.
    for _ in 0..4 {
        source
            .stdout
            .wait_for("an event line", |l| l.contains("\"kind\":\"event\""));
    }
    let relay = hookctl()
        .args([
            "relay",
            &b.url,
            "--queue",
            &q,
            "--exchange",
            &x,
            "--to",
            &sink.url,
            "--count",
            "4",
        ])
        .output()
        .unwrap();
    let relay_err = String::from_utf8_lossy(&relay.stderr);
    assert_eq!(relay.status.code(), Some(0), "{relay_err}");
    assert!(
        relay_err.contains("4 acknowledged, 0 dead-lettered"),
        "{relay_err}"
    );
    assert!(sink.wait().success());
    let (sent, arrived) = (read_capture(&cap_in), read_capture(&cap_out));
    assert_eq!(arrived.len(), 4);
    for (s, a) in sent.iter().zip(&arrived) {
        assert_eq!(s.body, a.body, "body of {}", s.id);
        assert_eq!(
            (&s.method, &s.path, &s.query),
            (&a.method, &a.path, &a.query)
        );
        let arrived_headers = end_to_end_headers(a);
        let arrived_pairs: Vec<_> = arrived_headers.iter().collect();
        for header in &end_to_end_headers(s) {
            assert!(
                arrived_pairs.contains(&header),
                "{header:?} missing from {arrived_headers:?}"
            );
        }
    }
    assert!(b.drain(&q).is_empty(), "the relay acknowledged everything");
}

#[test]
fn published_messages_are_persistent_json_keyed_by_type_and_only_accepted_ones() {
    let Some(b) =
        broker("published_messages_are_persistent_json_keyed_by_type_and_only_accepted_ones")
    else {
        return;
    };
    let (x, q) = (unique("props"), unique("props-q"));
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("in.jsonl");
    let listen = Listen::start(&[
        "--publish",
        &b.url,
        "--exchange",
        &x,
        "--queue",
        &q,
        "--capture",
        cap.to_str().unwrap(),
        "--verify",
        "stripe",
        "--secret",
        "whsec_good",
    ]);
    let signed = |extra: &[&str], secret: &str| {
        let mut args = extra.to_vec();
        args.extend(["--sign", "stripe", "--secret", secret]);
        send(&listen.url, &args)
    };
    assert_eq!(
        signed(&["payment_success", "--id", "evt_published"], "whsec_good").0,
        0
    );
    let (code, err) = signed(&["payment_success", "--id", "evt_forged"], "whsec_wrong");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("401"), "{err}");
    assert_eq!(signed(&["--data", "{\"plain\":true}"], "whsec_good").0, 0);
    let captured = wait_lines(&cap, 3);
    let messages = b.drain(&q);
    assert_eq!(messages.len(), 2, "the 401 is not published");
    let first = &messages[0];
    assert_eq!(first.routing_key, "payment_success");
    assert_eq!(
        first.body,
        captured[0].as_bytes(),
        "the message is the capture line"
    );
    assert_eq!(*first.properties.delivery_mode(), Some(2));
    assert_eq!(
        first.properties.content_type().as_ref().map(|s| s.as_str()),
        Some("application/json")
    );
    assert_eq!(
        first.properties.message_id().as_ref().map(|s| s.as_str()),
        Some("evt_published")
    );
    assert_eq!(first.event().notes.verified.map(|v| v.ok), Some(true));
    assert_eq!(messages[1].routing_key, "unknown");
    assert_eq!(messages[1].body, captured[2].as_bytes());
}

#[test]
fn no_2xx_for_an_unconfirmed_publish_when_the_broker_goes_away() {
    let Some(b) = broker("no_2xx_for_an_unconfirmed_publish_when_the_broker_goes_away") else {
        return;
    };
    let (x, q) = (unique("cut"), unique("cut-q"));
    let proxy = Proxy::start(broker_addr(&b.url));
    let broker_url = via_port(&b.url, proxy.port);
    let mut listen = Listen::start(&[
        "--publish",
        &broker_url,
        "--exchange",
        &x,
        "--queue",
        &q,
        "--json",
    ]);
    assert_eq!(
        send(&listen.url, &["payment_success", "--id", "evt_before"]).0,
        0
    );
    // A burst while the broker goes away: whatever got a 2xx must be in the queue.
    let burst = hookctl_std()
        .args([
            "send",
            "order_shipped",
            "--count",
            "40",
            "--rate",
            "200/s",
            "--json",
            "--to",
            &listen.url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..5 {
        listen
            .stdout
            .wait_for("a delivery of the burst", |l| l.contains("order_shipped"));
    }
    proxy.cut();
    let mut burst_out = String::new();
    let mut burst = burst;
    burst
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut burst_out)
        .unwrap();
    let _ = wait_child(&mut burst);
    let (code, err) = send(&listen.url, &["payment_success", "--id", "evt_during"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("503"), "{err}");
    listen.stderr.wait_for("the 503 reported", |l| {
        l.contains("cannot publish evt_during") && l.contains("answered 503")
    });
    proxy.restore();
    listen.stderr.wait_for("the reconnection", |l| {
        l.contains("reconnected to the broker")
    });
    assert_eq!(
        send(&listen.url, &["payment_success", "--id", "evt_after"]).0,
        0
    );
    let mut acked: Vec<String> = vec!["evt_before".into(), "evt_after".into()];
    for line in burst_out.lines() {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        if record["kind"] == "result" && record["ok"] == true {
            acked.push(record["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        acked.len() >= 2 + 5,
        "the burst's first deliveries got a 2xx: {burst_out}"
    );
    let in_queue: HashSet<String> = b.drain(&q).iter().map(|m| m.event().id).collect();
    for id in &acked {
        assert!(
            in_queue.contains(id),
            "{id} got a 2xx but is not in the queue"
        );
    }
    assert!(!in_queue.contains("evt_during"));
}

#[test]
fn a_refused_or_unroutable_publish_is_answered_503() {
    let Some(b) = broker("a_refused_or_unroutable_publish_is_answered_503") else {
        return;
    };
    let (x, q) = (unique("nack"), unique("nack-q"));
    let mut listen = Listen::start(&["--publish", &b.url, "--exchange", &x]);
    let (code, err) = send(&listen.url, &["payment_success", "--id", "evt_nowhere"]);
    assert_eq!(code, 3, "{err}");
    listen.stderr.wait_for("the unroutable report", |l| {
        l.contains("evt_nowhere") && l.contains("no queue")
    });
    // A queue that holds one message and refuses (nacks) the next.
    let mut limits = FieldTable::default();
    limits.insert("x-max-length".into(), AMQPValue::LongInt(1));
    limits.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    b.declare_queue(&q, &x, limits);
    assert_eq!(
        send(&listen.url, &["payment_success", "--id", "evt_kept"]).0,
        0
    );
    let (code, err) = send(&listen.url, &["payment_success", "--id", "evt_refused"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("503"), "{err}");
    listen.stderr.wait_for("the nack report", |l| {
        l.contains("evt_refused") && l.contains("nack")
    });
    let ids: Vec<String> = b.drain(&q).iter().map(|m| m.event().id).collect();
    assert_eq!(ids, ["evt_kept"]);
}

#[test]
fn unreachable_or_refusing_brokers_fail_at_start_without_showing_the_password() {
    let dead = via_port(
        "amqp://hookctl:s3cret-pw@127.0.0.1:5672/v",
        dead_url().rsplit(':').next().unwrap().parse().unwrap(),
    );
    for args in [
        vec!["listen", "--port", "0", "--publish", &dead],
        vec!["relay", &dead, "--queue", "q"],
    ] {
        let out = hookctl().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("cannot connect to the broker at amqp://hookctl@127.0.0.1:"),
            "{err}"
        );
        assert!(!err.contains("s3cret-pw"), "{err}");
    }
    let out = hookctl()
        .args(["relay", "http://127.0.0.1:1/", "--queue", "q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid broker URL"));
    let out = hookctl()
        .args(["listen", "--port", "0", "--binding", "a.#"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--queue"));
    let Some(b) =
        broker("unreachable_or_refusing_brokers_fail_at_start_without_showing_the_password")
    else {
        return;
    };
    let mut wrong = url::Url::parse(&b.url).unwrap();
    wrong.set_password(Some("wrong-password")).unwrap();
    let out = hookctl()
        .args(["send", "payment_success", "--publish", wrong.as_str()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot connect to the broker") && !err.contains("wrong-password"),
        "{err}"
    );
}
