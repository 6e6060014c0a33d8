//! `--route … amqp://…?exchange=X&queue=Q`: routes that publish into RabbitMQ with confirms and
//! mandatory routing, next to HTTP routes; and `relay --route` on a RabbitMQ relay.

use hookctl::event::Event;

use super::harness::*;
use crate::support::*;

/// The broker URL with `pairs` in its query: a route target.
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    parsed.query_pairs_mut().extend_pairs(pairs);
    parsed.to_string()
}

/// POSTs `body` to listen; the response head.
fn post(url: &str, content_type: &str, body: &[u8]) -> String {
    let mut request = format!(
        "POST /hooks/in?x=1 HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    raw_request(url, &request)
}

#[test]
fn amqp_routes_deliver_into_the_queue_their_url_names_byte_exact() {
    let Some(b) = broker("amqp_routes_deliver_into_the_queue_their_url_names_byte_exact") else {
        return;
    };
    let (x, q) = (unique("route"), unique("route-q"));
    let target = with_query(
        &b.url,
        &[("exchange", &x), ("queue", &q), ("binding", "payment.*")],
    );
    let app = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let mut listen = Listen::start(&[
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "app:*",
        &app.url,
        "--route",
        "bus:type=payment.*",
        &target,
    ]);
    assert!(
        listen.stderr.seen.iter().any(|l| l.starts_with(&format!(
            "publishing to exchange {x:?} (queue {q:?} bound with \"payment.*\")"
        ))),
        "{:?}",
        listen.stderr.seen
    );
    assert!(
        !listen
            .stderr
            .seen
            .iter()
            .any(|l| l.contains("hookctl-test-password")),
        "the password is never shown: {:?}",
        listen.stderr.seen
    );
    let bodies: [&[u8]; 3] = [
        b"{\"id\":\"evt_1\",\"type\":\"payment.succeeded\",\"amount\":1.50}",
        b"{\"type\":\"payment.refunded\",\"id\":\"evt_2\",\"note\":\"caf\xc3\xa9 \\u00e9\"}  ",
        b"{\"id\":\"evt_3\",\"type\":\"order.created\"}",
    ];
    for body in bodies {
        let head = post(&listen.url, "application/json", body);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    listen.interrupt();
    assert_eq!(app.take(3).len(), 3, "the app got every event");
    let messages = b.drain(&q);
    assert_eq!(messages.len(), 2, "only payment.* is bound to the queue");
    for (message, body) in messages.iter().zip(bodies) {
        let event = message.event();
        assert_eq!(&event.body[..], body, "byte-exact body");
        assert_eq!(message.routing_key, event.event_type.clone().unwrap());
        assert_eq!(message.properties.delivery_mode(), &Some(2), "persistent");
        assert_eq!(
            message.properties.message_id().as_ref().map(|s| s.as_str()),
            Some(event.id.as_str())
        );
    }
    let events = read_capture(&capture);
    assert_eq!(events.len(), 3);
    let bus = &events[0].notes.routes.as_ref().unwrap()[1];
    assert_eq!((bus.name.as_str(), bus.ok), ("bus", true), "{bus:?}");
    assert!(!bus.target.contains("hookctl-test-password"), "{bus:?}");
    assert_eq!(events[2].notes.routes.as_ref().unwrap().len(), 1);
}

#[test]
fn an_amqp_route_to_an_exchange_without_a_queue_fails_the_sender_with_503() {
    let Some(b) = broker("an_amqp_route_to_an_exchange_without_a_queue_fails_the_sender_with_503")
    else {
        return;
    };
    let x = unique("lonely");
    let target = with_query(&b.url, &[("exchange", &x)]);
    let app = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let mut listen = Listen::start(&[
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "app:*",
        &app.url,
        "--route",
        "bus:*",
        &target,
    ]);
    let head = post(
        &listen.url,
        "application/json",
        b"{\"id\":\"evt_lost\",\"type\":\"payment.succeeded\"}",
    );
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("retry-after: 1"),
        "{head}"
    );
    listen.stderr.wait_for("the failure", |l| {
        l.starts_with("hookctl: error: route bus (")
            && l.contains("failed for evt_lost")
            && l.contains(&format!("nothing is bound to exchange {x:?}"))
    });
    listen.interrupt();
    let events = read_capture(&capture);
    assert_eq!(events.len(), 1, "an event answered 5xx is captured too");
    assert_eq!(events[0].notes.status, Some(503));
    let routes = events[0].notes.routes.as_ref().unwrap();
    assert!(routes[0].ok, "{routes:?}");
    let bus = &routes[1];
    assert!(!bus.ok, "{bus:?}");
    let why = bus.error.as_deref().unwrap_or_default();
    assert!(why.contains("?queue=NAME"), "{why}");
    app.next();
}

#[test]
fn a_bad_amqp_route_query_is_refused_before_listening() {
    let Some(b) = broker("a_bad_amqp_route_query_is_refused_before_listening") else {
        return;
    };
    let target = with_query(&b.url, &[("queue", "a"), ("queue", "b")]);
    let out = hookctl()
        .args(["listen", "--port", "0", "--route", "*", &target])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("hookctl: error: invalid broker URL: queue= is given twice"),
        "{err}"
    );
}

#[test]
fn relay_routes_messages_to_an_app_and_another_queue_and_dead_letters_failures() {
    let Some(b) =
        broker("relay_routes_messages_to_an_app_and_another_queue_and_dead_letters_failures")
    else {
        return;
    };
    let (x, q) = (unique("relay-in"), unique("relay-in-q"));
    let (x2, q2) = (unique("relay-out"), unique("relay-out-q"));
    let app = Recorder::start(|_, event| {
        let status = if event.id == "evt_sick" { 500 } else { 200 };
        (status_reply(status, &[]), None)
    });
    for (event_type, id) in [
        ("payment_success", "evt_pay"),
        ("order_created", "evt_order"),
        ("payment_failed", "evt_sick"),
    ] {
        send_published(&b, &x, Some(&q), &[event_type, "--id", id]);
    }
    let bus = with_query(&b.url, &[("exchange", &x2), ("queue", &q2)]);
    let out = hookctl()
        .args([
            "relay",
            &b.url,
            "--queue",
            &q,
            "--exchange",
            &x,
            "--route",
            "pay:type=payment_*",
            &app.url,
            "--route",
            "bus:*",
            &bus,
            "--retries",
            "0",
            "--count",
            "3",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("2 acknowledged, 1 dead-lettered"), "{err}");
    assert!(!err.contains("hookctl-test-password"), "{err}");
    let mut at_app: Vec<String> = app.drain().into_iter().map(|s| s.event.id).collect();
    at_app.sort();
    assert_eq!(at_app, ["evt_pay", "evt_sick"]);
    // The bus route took every message, the one the app refused too; byte-exact bodies.
    let originals: Vec<_> = b.drain(&q);
    assert!(originals.is_empty(), "everything was settled");
    let routed: Vec<Event> = b.drain(&q2).iter().map(|m| m.event()).collect();
    let mut ids: Vec<&str> = routed.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["evt_order", "evt_pay", "evt_sick"]);
    let dead = b.drain(&format!("{q}.dead-letter"));
    assert_eq!(dead.len(), 1);
    let dead_event = dead[0].event();
    assert_eq!(dead_event.id, "evt_sick");
    assert!(
        dead[0].header("x-hookctl-error").contains("pay"),
        "{}",
        dead[0].header("x-hookctl-error")
    );
    let sick = routed.iter().find(|e| e.id == "evt_sick").unwrap();
    assert_eq!(sick.body, dead_event.body, "byte-exact through both paths");
}

#[test]
fn replay_routes_into_the_queue_the_url_names_and_fails_what_cannot_be_routed() {
    let Some(b) =
        broker("replay_routes_into_the_queue_the_url_names_and_fails_what_cannot_be_routed")
    else {
        return;
    };
    let (x, q) = (unique("replay"), unique("replay-q"));
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    std::fs::write(
        &capture,
        concat!(
            "{\"id\":\"evt_1\",\"type\":\"payment.succeeded\",\"body\":\"{\\\"a\\\": 1}\"}\n",
            "{\"id\":\"evt_2\",\"type\":\"order.created\",\"body\":\"{}\"}\n",
        ),
    )
    .unwrap();
    // Only payment.* is bound: the order cannot be routed, and that is a failure.
    let target = with_query(
        &b.url,
        &[("exchange", &x), ("queue", &q), ("binding", "payment.*")],
    );
    let out = hookctl()
        .args(["replay", capture.to_str().unwrap(), "--json"])
        .args(["--route", "bus:*", &target])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("1 accepted by every route taken, 1 failed"),
        "{err}"
    );
    let results: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["ok"], true, "{results:?}");
    assert_eq!(results[1]["ok"], false, "{results:?}");
    let why = results[1]["routes"][0]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(
        why.contains(&format!(
            "nothing is bound to exchange {x:?} for routing key \"order.created\""
        )),
        "{why}"
    );
    let messages = b.drain(&q);
    assert_eq!(messages.len(), 1);
    let event = messages[0].event();
    assert_eq!(event.id, "evt_1");
    assert_eq!(&event.body[..], b"{\"a\": 1}");
}
