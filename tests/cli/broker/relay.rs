//! `hookctl relay` against the real broker: retries then dead-lettering, shared queues,
//! invalid messages.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use hookctl::event::Event;

use super::harness::*;
use crate::support::*;

#[test]
fn relay_retries_a_5xx_then_dead_letters_what_still_fails() {
    let Some(b) = broker("relay_retries_a_5xx_then_dead_letters_what_still_fails") else {
        return;
    };
    let (x, q) = (unique("retry"), unique("retry-q"));
    let seen: Mutex<HashMap<String, usize>> = Mutex::default();
    let recorder = Recorder::start(move |_, event| {
        let mut seen = seen.lock().unwrap();
        let n = seen.entry(event.id.clone()).or_default();
        *n += 1;
        let ok = event.id == "evt_flaky" && *n > 1;
        (status_reply(if ok { 200 } else { 500 }, &[]), None)
    });
    for id in ["evt_flaky", "evt_doomed"] {
        send_published(&b, &x, Some(&q), &["payment_success", "--id", id]);
    }
    let out = hookctl()
        .args([
            "relay",
            &b.url,
            "--queue",
            &q,
            "--exchange",
            &x,
            "--to",
            &recorder.url,
            "--retries",
            "2",
            "--backoff",
            "1ms",
            "--count",
            "2",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("evt_doomed") && err.contains("500"), "{err}");
    assert!(err.contains("1 acknowledged, 1 dead-lettered"), "{err}");
    let ids: Vec<String> = recorder.drain().into_iter().map(|s| s.event.id).collect();
    assert_eq!(
        ids.iter().filter(|i| *i == "evt_flaky").count(),
        2,
        "{ids:?}"
    );
    assert_eq!(
        ids.iter().filter(|i| *i == "evt_doomed").count(),
        3,
        "{ids:?}"
    );
    let dead = b.drain(&format!("{q}.dead-letter"));
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event().id, "evt_doomed");
    assert!(
        dead[0].header("x-hookctl-error").contains("500"),
        "{}",
        dead[0].header("x-hookctl-error")
    );
    assert!(dead[0]
        .header("x-hookctl-error")
        .contains("after 3 attempts"));
    assert_eq!(dead[0].header("x-hookctl-queue"), q);
    assert_eq!(dead[0].routing_key, q);
    assert!(b.drain(&q).is_empty(), "nothing is requeued");
}

#[test]
fn two_relays_on_one_queue_share_the_work_and_deliver_everything() {
    let Some(b) = broker("two_relays_on_one_queue_share_the_work_and_deliver_everything") else {
        return;
    };
    let (x, q) = (unique("share"), unique("share-q"));
    let recorder = Recorder::start(|_, _| (ok_reply(), Some(Duration::from_millis(10))));
    let relay_args = [
        "relay",
        &b.url,
        "--queue",
        &q,
        "--exchange",
        &x,
        "--to",
        &recorder.url,
        "--concurrency",
        "2",
    ];
    let mut relays = [spawn_hookctl(&relay_args), spawn_hookctl(&relay_args)];
    for relay in &mut relays {
        relay
            .stderr
            .wait_for("the consuming line", |l| l.starts_with("consuming queue"));
    }
    send_published(&b, &x, None, &["order_shipped", "--count", "40"]);
    let mut ids = HashSet::new();
    let mut requests = 0;
    while ids.len() < 40 {
        ids.insert(recorder.next().event.id);
        requests += 1;
    }
    let mut acked = 0;
    for relay in &mut relays {
        assert_eq!(
            relay.interrupt().code(),
            Some(0),
            "Ctrl-C stops a relay cleanly"
        );
        let line = relay
            .stderr
            .wait_for("the relay summary", |l| l.starts_with("relay: "));
        assert!(line.contains("stopped by signal"), "{line}");
        let n: u64 = line["relay: ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(n > 0, "each relay took a share: {line}");
        acked += n;
    }
    requests += recorder.drain().len();
    assert_eq!(ids.len(), 40);
    assert!(
        acked >= 40 && requests as u64 >= acked,
        "{acked} acknowledged, {requests} requests"
    );
    assert!(b.drain(&q).is_empty());
}

#[test]
fn invalid_messages_are_dead_lettered_with_the_reason() {
    let Some(b) = broker("invalid_messages_are_dead_lettered_with_the_reason") else {
        return;
    };
    let (x, q) = (unique("junk"), unique("junk-q"));
    let recorder = Recorder::ok();
    let mut relay = spawn_hookctl(&[
        "relay",
        &b.url,
        "--queue",
        &q,
        "--exchange",
        &x,
        "--to",
        &recorder.url,
        "--count",
        "3",
    ]);
    relay
        .stderr
        .wait_for("the consuming line", |l| l.starts_with("consuming queue"));
    b.publish_raw(&x, "junk", b"not json at all");
    b.publish_raw(&x, "junk", br#"{"kind":"event","path":"no-slash"}"#);
    let valid = Event::from_parts(
        "POST",
        "/ok",
        None,
        Default::default(),
        "{\"id\":\"evt_valid\"}".into(),
        std::time::SystemTime::now(),
    );
    b.publish_raw(&x, "ok", valid.to_json_line().as_bytes());
    assert_eq!(
        relay.wait().code(),
        Some(3),
        "invalid messages make the run fail"
    );
    let err = relay.stderr.rest().join("\n");
    assert!(err.contains("is invalid, dead-lettered"), "{err}");
    assert!(
        err.contains("1 acknowledged, 0 dead-lettered, 2 invalid"),
        "{err}"
    );
    assert_eq!(recorder.next().event.id, "evt_valid");
    assert!(recorder.drain().is_empty());
    let reasons: Vec<String> = b
        .drain(&format!("{q}.dead-letter"))
        .iter()
        .map(|m| m.header("x-hookctl-error"))
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().all(|r| r.contains("not a hookctl event")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("`path`")), "{reasons:?}");
}

#[test]
fn relay_reconnects_after_losing_the_broker() {
    let Some(b) = broker("relay_reconnects_after_losing_the_broker") else {
        return;
    };
    let (x, q) = (unique("rcon"), unique("rcon-q"));
    let proxy = Proxy::start(broker_addr(&b.url));
    let recorder = Recorder::ok();
    let via = via_port(&b.url, proxy.port);
    let mut relay = spawn_hookctl(&[
        "relay",
        &via,
        "--queue",
        &q,
        "--exchange",
        &x,
        "--to",
        &recorder.url,
        "--json",
    ]);
    relay
        .stderr
        .wait_for("the consuming line", |l| l.starts_with("consuming queue"));
    let publish = |id: &str| send_published(&b, &x, None, &["payment_success", "--id", id]);
    publish("evt_first");
    assert_eq!(recorder.next().event.id, "evt_first");
    // The result line comes once evt_first is acknowledged: cut an idle connection.
    relay
        .stdout
        .wait_for("evt_first's result", |l| l.contains("evt_first"));
    proxy.cut();
    relay.stderr.wait_for("the loss", |l| {
        l.contains("lost the broker connection") && l.contains("reconnecting")
    });
    proxy.restore();
    relay
        .stderr
        .wait_for("the reconnection", |l| l.contains("reconnected"));
    publish("evt_second");
    // At least once: evt_first may come again if its ack was cut off.
    while recorder.next().event.id != "evt_second" {}
    assert_eq!(relay.interrupt().code(), Some(0));
    assert!(b.drain(&q).is_empty());
}

#[test]
fn relay_resigns_every_event_for_the_receiver() {
    let Some(b) = broker("relay_resigns_every_event_for_the_receiver") else {
        return;
    };
    let (x, q) = (unique("resign"), unique("resign-q"));
    let sink = Listen::start(&["--verify", "stripe", "--secret", "whsec_receiver"]);
    send_published(
        &b,
        &x,
        Some(&q),
        &[
            "payment_success",
            "--sign",
            "stripe",
            "--secret",
            "whsec_producer",
            "--count",
            "2",
        ],
    );
    // Without --resign the receiver refuses the producer's signature: 401, dead-lettered.
    let relay = |extra: &[&str]| {
        hookctl()
            .args([
                "relay",
                &b.url,
                "--queue",
                &q,
                "--exchange",
                &x,
                "--to",
                &sink.url,
            ])
            .args(["--count", "1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = relay(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("401") && err.contains("0 acknowledged, 1 dead-lettered"),
        "{err}"
    );
    let out = relay(&["--resign", "stripe", "--secret", "whsec_receiver"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("1 acknowledged, 0 dead-lettered"), "{err}");
    assert_eq!(b.drain(&format!("{q}.dead-letter")).len(), 1);
}
