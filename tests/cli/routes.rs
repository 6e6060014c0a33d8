//! `listen --route`: fan-out by type, first-match, `--unrouted`, what the sender gets when a
//! route fails, the per-route outcomes in the capture and `--expect route.NAME=…`.

use std::collections::HashSet;

use crate::support::*;

/// POSTs a JSON event with `id` and `type` (and `extra` header lines) to `url`; the response
/// head.
fn post(url: &str, id: &str, event_type: &str, extra: &str) -> String {
    let body = format!("{{\"id\":\"{id}\",\"type\":\"{event_type}\"}}");
    raw_request(
        url,
        format!(
            "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

fn ids(recorder: &Recorder) -> HashSet<String> {
    recorder.drain().into_iter().map(|s| s.event.id).collect()
}

fn set(ids: &[&str]) -> HashSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn events_fan_out_by_type_and_every_outcome_is_captured() {
    let (pay, order, audit) = (Recorder::ok(), Recorder::ok(), Recorder::ok());
    let dir = tempfile::tempdir().unwrap();
    let (capture, copies) = (
        dir.path().join("cap.jsonl"),
        dir.path().join("copies.jsonl"),
    );
    let copies_target = format!("file:{}", copies.display());
    let mut listen = Listen::start(&[
        "--capture",
        capture.to_str().unwrap(),
        "--json",
        "--route",
        "pay:type=payment_*",
        &pay.url,
        "--route",
        "order:type=order_*",
        &order.url,
        "--route",
        "audit:*",
        &audit.url,
        "--route",
        "copy:type=payment_*",
        &copies_target,
    ]);
    assert!(listen
        .stderr
        .seen
        .iter()
        .any(|l| l == &format!("route pay: type=payment_* -> {}", pay.url)));
    for (id, t) in [
        ("evt_p1", "payment_success"),
        ("evt_o1", "order_created"),
        ("evt_x1", "misc"),
    ] {
        let head = post(&listen.url, id, t, "");
        assert!(head.starts_with("HTTP/1.1 200"), "{id}: {head}");
    }
    assert_eq!(ids(&pay), set(&["evt_p1"]));
    assert_eq!(ids(&order), set(&["evt_o1"]));
    assert_eq!(ids(&audit), set(&["evt_p1", "evt_o1", "evt_x1"]));
    listen.interrupt();
    let copied = read_capture(&copies);
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].id, "evt_p1");
    let events = read_capture(&capture);
    let routes = |id: &str| -> Vec<(String, bool, Option<u16>)> {
        let e = events.iter().find(|e| e.id == id).unwrap();
        e.notes
            .routes
            .iter()
            .flatten()
            .map(|r| (r.name.clone(), r.ok, r.status))
            .collect()
    };
    assert_eq!(
        routes("evt_p1"),
        [
            ("pay".into(), true, Some(200)),
            ("audit".into(), true, Some(200)),
            ("copy".into(), true, None)
        ]
    );
    assert_eq!(routes("evt_x1"), [("audit".into(), true, Some(200))]);
    // The --json line carries the same outcomes.
    let line = listen
        .stdout
        .wait_for("evt_o1's line", |l| l.contains("\"evt_o1\""));
    assert!(line.contains("\"routes\":[{\"name\":\"order\""), "{line}");
}

#[test]
fn first_match_stops_at_the_route_that_takes_the_event() {
    let (vip, rest) = (Recorder::ok(), Recorder::ok());
    let mut listen = Listen::start(&[
        "--quiet",
        "--route",
        "first:vip:header.x-tier=gold",
        &vip.url,
        "--route",
        "*",
        &rest.url,
    ]);
    post(&listen.url, "evt_gold", "a", "X-Tier: gold\r\n");
    post(&listen.url, "evt_plain", "a", "");
    assert_eq!(ids(&vip), set(&["evt_gold"]));
    assert_eq!(ids(&rest), set(&["evt_plain"]));
    listen.interrupt();
}

#[test]
fn unrouted_events_get_the_unrouted_status_and_are_captured() {
    let app = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let mut listen = Listen::start(&[
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "type=payment_*",
        &app.url,
        "--unrouted",
        "404",
    ]);
    assert!(post(&listen.url, "evt_nobody", "order_created", "").starts_with("HTTP/1.1 404"));
    assert!(post(&listen.url, "evt_paid", "payment_success", "").starts_with("HTTP/1.1 200"));
    listen.interrupt();
    let events = read_capture(&capture);
    let statuses: Vec<_> = events
        .iter()
        .map(|e| (e.id.as_str(), e.notes.status))
        .collect();
    assert_eq!(
        statuses,
        [("evt_nobody", Some(404)), ("evt_paid", Some(200))]
    );
    assert_eq!(events[0].notes.routes, None);
    // Without --unrouted, an event no route takes is answered as usual.
    let mut listen = Listen::start(&["--quiet", "--route", "type=payment_*", &app.url]);
    assert!(post(&listen.url, "evt_other", "order_created", "").starts_with("HTTP/1.1 200"));
    listen.interrupt();
    assert_eq!(ids(&app), set(&["evt_paid"]));
}

#[test]
fn one_failing_route_gives_the_sender_its_5xx_and_the_capture_records_it() {
    let (good, sick) = (
        Recorder::ok(),
        Recorder::start(|_, _| (status_reply(500, &[]), None)),
    );
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let dead = dead_url();
    let mut listen = Listen::start(&[
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "good:*",
        &good.url,
        "--route",
        "sick:type=payment_*",
        &sick.url,
        "--route",
        "gone:type=order_*",
        &dead,
    ]);
    assert!(post(&listen.url, "evt_500", "payment_success", "").starts_with("HTTP/1.1 500"));
    assert!(post(&listen.url, "evt_502", "order_created", "").starts_with("HTTP/1.1 502"));
    listen.stderr.wait_for("the failure", |l| {
        l.starts_with("hookctl: error: route gone (") && l.contains("failed for evt_502")
    });
    listen.interrupt();
    let events = read_capture(&capture);
    assert_eq!(events[0].notes.status, Some(500));
    let sick_note = &events[0].notes.routes.as_ref().unwrap()[1];
    assert_eq!(
        (sick_note.name.as_str(), sick_note.ok, sick_note.status),
        ("sick", false, Some(500))
    );
    assert_eq!(events[1].notes.status, Some(502));
    let gone = &events[1].notes.routes.as_ref().unwrap()[1];
    assert!(
        !gone.ok && gone.status.is_none() && gone.error.is_some(),
        "{gone:?}"
    );
    let why = gone.error.as_deref().unwrap_or_default();
    assert!(
        why.ends_with("; is your app running and listening on that port?"),
        "the forwarding hint: {why}"
    );
    // Every route that took the event got it, the good one too.
    assert_eq!(ids(&good), set(&["evt_500", "evt_502"]));
}

#[test]
fn one_http_route_passes_the_apps_answer_through_and_expect_checks_routes() {
    let app = Recorder::start(|_, _| (status_reply(201, &[("X-App", "yes")]), None));
    let mut listen = Listen::start(&[
        "--quiet",
        "--route",
        "pay:type=payment_*",
        &app.url,
        "--route",
        "rest:*",
        "drop",
        "--expect",
        "route.pay=201",
        "--timeout",
        "20s",
    ]);
    assert!(post(&listen.url, "evt_other", "misc", "").starts_with("HTTP/1.1 200"));
    let head = post(&listen.url, "evt_paid", "payment_success", "");
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert!(listen.wait().success(), "route.pay=201 was met");
}

#[test]
fn bad_routes_are_refused_before_listening() {
    for (args, code, message) in [
        (
            vec!["--route", "colour=red", "drop"],
            1,
            "bad --route `colour=red`: `colour=red`: unknown field `colour`",
        ),
        (
            vec!["--route", "*", "ftp://x"],
            1,
            "bad --route `*`: unknown target \"ftp://x\"",
        ),
        (
            vec!["--route", "a:*", "drop", "--route", "a:type=x", "drop"],
            1,
            "two routes are called \"a\"",
        ),
        (
            vec!["--route", "*", "drop", "--forward-to", "file:x.jsonl"],
            1,
            "hookctl: error: --forward-to needs an http:// or https:// URL, not \"file:x.jsonl\"",
        ),
        (
            vec![
                "--route",
                "forward:*",
                "drop",
                "--forward-to",
                "http://127.0.0.1:1",
            ],
            1,
            "hookctl: error: --forward-to adds a route called \"forward\"; give yours another name",
        ),
        (
            vec![
                "--route",
                "*",
                "drop",
                "--forward-to",
                "http://127.0.0.1:1",
                "--exit-on-forward-failure",
            ],
            1,
            "hookctl: error: --exit-on-forward-failure cannot be combined with --route",
        ),
        (vec!["--unrouted", "404"], 2, "--route"),
        (vec!["--route", "*", "drop", "--unrouted", "99"], 2, "99"),
    ] {
        let out = hookctl()
            .args(["listen", "--port", "0"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.contains("listening on"), "{err}");
    }
}

#[test]
fn replay_fans_a_capture_out_through_the_routes() {
    let (pay, sick) = (
        Recorder::ok(),
        Recorder::start(|_, _| (status_reply(503, &[]), None)),
    );
    let dir = tempfile::tempdir().unwrap();
    let (capture, copies) = (
        dir.path().join("cap.jsonl"),
        dir.path().join("copies.jsonl"),
    );
    std::fs::write(
        &capture,
        concat!(
            "{\"id\":\"evt_1\",\"type\":\"payment_success\",\"body\":\"{}\"}\n",
            "{\"id\":\"evt_2\",\"type\":\"order_created\",\"body\":\"{}\"}\n",
            "{\"id\":\"evt_3\",\"type\":\"misc\",\"body\":\"{}\"}\n",
        ),
    )
    .unwrap();
    let copies_target = format!("file:{}", copies.display());
    let out = hookctl()
        .args(["replay", capture.to_str().unwrap(), "--json"])
        .args(["--route", "pay:type=payment_*", &pay.url])
        .args(["--route", "all:type=*_*", &copies_target])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("routed 3 events through 2 routes: 2 accepted by every route taken, 0 failed, 1 taken by no route"),
        "{err}"
    );
    let results: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["routes"][0]["name"], "pay");
    assert_eq!(results[0]["routes"][0]["status"], 200);
    assert_eq!(results[2]["routed"], false);
    assert_eq!(pay.drain().len(), 1, "only the payment went to pay");
    let copied: Vec<String> = read_capture(&copies).into_iter().map(|e| e.id).collect();
    assert_eq!(
        copied.iter().cloned().collect::<HashSet<_>>(),
        set(&["evt_1", "evt_2"])
    );
    // A route that fails makes the replay exit 3, naming the event and the route.
    let out = hookctl()
        .args(["replay", capture.to_str().unwrap()])
        .args(["--route", "sick:type=order_*", &sick.url])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("hookctl: error: evt_2 order_created: sick failed: answered 503"),
        "{err}"
    );
    let out = hookctl()
        .args(["replay", capture.to_str().unwrap(), "--dry-run"])
        .args(["--route", "*", "drop"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn forward_to_is_a_catch_all_route_next_to_the_others() {
    let app = Recorder::start(|_, event| {
        let status = if event.event_type.as_deref() == Some("boom") {
            503
        } else {
            201
        };
        (status_reply(status, &[("X-App", "yes")]), None)
    });
    let dir = tempfile::tempdir().unwrap();
    let (capture, pay) = (dir.path().join("cap.jsonl"), dir.path().join("pay.jsonl"));
    let pay_target = format!("file:{}", pay.display());
    let mut listen = Listen::start(&[
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "pay:type=payment_*",
        &pay_target,
        "--forward-to",
        &app.url,
    ]);
    assert!(
        listen
            .stderr
            .seen
            .iter()
            .any(|l| l == &format!("route forward: type=* -> {}", app.url)),
        "{:?}",
        listen.stderr.seen
    );
    // The app is the only HTTP route an event takes: its status passes through.
    let head = post(&listen.url, "evt_paid", "payment_success", "");
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    assert!(post(&listen.url, "evt_order", "order_created", "").starts_with("HTTP/1.1 201"));
    let head = post(&listen.url, "evt_boom", "boom", "");
    assert!(head.starts_with("HTTP/1.1 503"), "{head}");
    listen.interrupt();
    assert_eq!(ids(&app), set(&["evt_paid", "evt_order", "evt_boom"]));
    let copied = read_capture(&pay);
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].id, "evt_paid");
    let events = read_capture(&capture);
    let notes = events[0].notes.routes.as_ref().unwrap();
    let names: Vec<_> = notes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["pay", "forward"]);
    assert_eq!(notes[1].status, Some(201));
    assert_eq!(events[2].notes.status, Some(503));
}

#[test]
fn ack_first_answers_200_at_once_and_routes_in_the_background() {
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    // The app answers (500) only once the test lets it.
    let app = Recorder::start(move |_, _| {
        let _ = gate.lock().unwrap().recv_timeout(WAIT);
        (status_reply(500, &[]), None)
    });
    let dir = tempfile::tempdir().unwrap();
    let (capture, all) = (dir.path().join("cap.jsonl"), dir.path().join("all.jsonl"));
    let all_target = format!("file:{}", all.display());
    let mut listen = Listen::start(&[
        "--capture",
        capture.to_str().unwrap(),
        "--route",
        "pay:type=payment_*",
        &app.url,
        "--route",
        "all:*",
        &all_target,
        "--ack-first",
    ]);
    // Answered while the app still holds the event.
    let head = post(&listen.url, "evt_paid", "payment_success", "");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    release.send(()).unwrap();
    assert_eq!(app.next().event.id, "evt_paid");
    listen.stderr.wait_for("the background failure", |l| {
        l.starts_with("hookctl: error: route pay (")
            && l.contains("failed for evt_paid")
            && l.contains("500")
    });
    listen.stderr.wait_for("the background success", |l| {
        l.starts_with("hookctl: routed evt_paid to all (file:")
    });
    listen.interrupt();
    let copied = read_capture(&all);
    assert_eq!(copied.len(), 1);
    assert_eq!(copied[0].id, "evt_paid");
    let events = read_capture(&capture);
    assert_eq!(events[0].notes.status, Some(200), "the sender's answer");
}
