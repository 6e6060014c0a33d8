//! `hookctl serve` and `hookctl channel new`: the relay, driven through the real binary over
//! loopback.

#[path = "serve/harness.rs"]
mod harness;
#[path = "serve/smee.rs"]
mod smee;

use std::time::Duration;

use base64::Engine as _;
use hookctl::event::Event;

use crate::support::*;
use harness::*;

/// The capture events of `n` `capture` SSE events, checked to carry their `seq`.
fn captured(sse: &mut Sse, n: usize) -> Vec<(u64, Event)> {
    sse.take("capture", n)
        .into_iter()
        .map(|e| {
            let line: serde_json::Value = serde_json::from_str(&e.data).unwrap();
            let seq = line["seq"].as_u64().expect("seq in the line");
            assert_eq!(e.id.as_deref(), Some(seq.to_string().as_str()));
            (
                seq,
                Event::from_json_line(e.data.as_bytes()).unwrap().unwrap(),
            )
        })
        .collect()
}

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
fn subscribing_needs_the_channel_token() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let (other, _) = serve.channel();
    let sse = [("accept", "text/event-stream")];
    let no_token = request(&serve.url, "GET", &format!("/{id}"), &sse, b"");
    assert_eq!(no_token.status, 401, "{no_token:?}");
    assert!(no_token
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert!(
        no_token.text().contains("needs the channel's token"),
        "{}",
        no_token.text()
    );
    let wrong = request(
        &serve.url,
        "GET",
        &format!("/{id}?token={}", token.to_ascii_uppercase()),
        &sse,
        b"",
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("wrong token"));
    // Another channel's token does not open this one.
    let crossed = request(
        &serve.url,
        "GET",
        &format!("/{other}/events"),
        &[("authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(crossed.status, 401);
    // Unknown channels: 401 without a token (nothing revealed), 404 with one.
    let unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    let hidden = request(&serve.url, "GET", &format!("/{unknown}/events"), &[], b"");
    assert_eq!(hidden.status, 401);
    let missing = request(
        &serve.url,
        "GET",
        &format!("/{unknown}/events?token={token}"),
        &[],
        b"",
    );
    assert_eq!(missing.status, 404);
    // Posting needs no token, but the channel must exist.
    let post = request(&serve.url, "POST", &format!("/{unknown}"), &[], b"{}");
    assert_eq!(post.status, 404);
    assert_eq!(
        request(&serve.url, "POST", "/not-a-channel", &[], b"{}").status,
        404
    );
    // A plain GET of a channel is not a subscription.
    let get = request(&serve.url, "GET", &format!("/{id}"), &[], b"");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("allow"), Some("POST, PUT, PATCH, DELETE"));
    // A bad resume point is refused.
    let bad = request(
        &serve.url,
        "GET",
        &format!("/{id}/events?since=yesterday&token={token}"),
        &[],
        b"",
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("sequence number"), "{}", bad.text());
}

#[test]
fn channel_ids_and_tokens_are_unguessable() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let mut ids = std::collections::HashSet::new();
    for _ in 0..50 {
        let (id, token) = serve.channel();
        for (text, bytes) in [(&id, 16), (&token, 32)] {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text)
                .unwrap_or_else(|e| panic!("{text} is not URL-safe base64: {e}"));
            assert_eq!(decoded.len(), bytes, "{text}");
        }
        assert!(ids.insert(id));
    }
    // The token is not stored: only its hash is.
    let (id, token) = serve.channel();
    let meta = std::fs::read_to_string(data.path().join("channels").join(&id).join("channel.json"))
        .unwrap();
    assert!(!meta.contains(&token));
}

#[test]
fn channel_new_prints_the_url_and_token() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--public-url", "https://relay.example.com/"]);
    let out = hookctl()
        .args(["channel", "new", "--server", &serve.url, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["channel"].as_str().unwrap();
    assert_eq!(created["url"], format!("https://relay.example.com/{id}"));
    let token = created["token"].as_str().unwrap();
    // The token works.
    let sse = Sse::open(&serve.url, &format!("/{id}?token={token}"), &[]);
    assert_eq!(sse.status, 200);
    let text = hookctl()
        .args(["channel", "new", "--server", &serve.url])
        .output()
        .unwrap();
    assert!(text.status.success());
    let stdout = String::from_utf8(text.stdout).unwrap();
    assert!(
        stdout.starts_with("url:   https://relay.example.com/"),
        "{stdout}"
    );
    assert!(stdout.contains("\ntoken: "), "{stdout}");
}

#[test]
fn channel_new_errors_are_one_line() {
    let refused = hookctl()
        .args(["channel", "new", "--server", &dead_url()])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8(refused.stderr).unwrap();
    assert!(
        stderr.starts_with("hookctl: error: cannot reach the relay"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let bad = hookctl()
        .args(["channel", "new", "--server", "ftp://x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8(bad.stderr)
        .unwrap()
        .contains("must be an http:// or https:// URL"));
    // A server that is not a relay.
    let recorder = Recorder::ok();
    let not_relay = hookctl()
        .args(["channel", "new", "--server", &recorder.url])
        .output()
        .unwrap();
    assert_eq!(not_relay.status.code(), Some(1));
    assert!(String::from_utf8(not_relay.stderr)
        .unwrap()
        .contains("answered 200 to POST"));
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

#[test]
fn health_metrics_and_json_logs() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd_args = vec!["--log-format", "json", "-v"];
    cmd_args.push("--metrics-token");
    cmd_args.push("s3cret");
    let mut serve = Serve::spawn_with(data.path(), &[], |cmd| {
        cmd.args(&cmd_args);
    });
    let health = request(&serve.url, "GET", "/_hookctl/health", &[], b"");
    assert_eq!(
        (health.status, health.text().as_str()),
        (200, "{\"status\":\"ok\"}")
    );
    let (id, token) = serve.channel();
    let _sse = Sse::open(&serve.url, &format!("/{id}?token={token}"), &[]);
    serve.post(&id, &[], b"12345");
    assert_eq!(request(&serve.url, "GET", "/metrics", &[], b"").status, 401);
    let metrics = request(
        &serve.url,
        "GET",
        "/metrics",
        &[("authorization", "Bearer s3cret")],
        b"",
    );
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for line in [
        "hookctl_serve_events_total 1".to_owned(),
        "hookctl_serve_bytes_total 5".to_owned(),
        format!("hookctl_serve_channel_events_total{{channel=\"{id}\"}} 1"),
        format!("hookctl_serve_channel_subscribers{{channel=\"{id}\"}} 1"),
        format!("hookctl_serve_channel_stored{{channel=\"{id}\"}} 1"),
        "hookctl_serve_channels 1".to_owned(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from\n{text}"
        );
    }
    let stored = serve
        .stderr
        .wait_for("a stored log line", |l| l.contains("\"msg\":\"stored\""));
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["channel"], id.as_str());
    assert_eq!(stored["seq"], 1);
    assert_eq!(stored["level"], "info");
    // Every line on stderr is JSON.
    signal(serve.child.id(), "TERM");
    assert!(wait_child(&mut serve.child).success());
    for line in serve.stderr.rest() {
        serde_json::from_str::<serde_json::Value>(&line)
            .unwrap_or_else(|e| panic!("not JSON: {line:?}: {e}"));
    }
}

#[test]
fn shutdown_ends_subscriptions_and_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let mut sse = Sse::open(&serve.url, &format!("/{id}?token={token}"), &[]);
    sse.next(); // ready
    let started = std::time::Instant::now();
    signal(serve.child.id(), "INT");
    let status = wait_child(&mut serve.child);
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn serve_errors_are_one_line() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = hookctl()
        .args(["serve", "--port", "0", "--data"])
        .arg(file.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("hookctl: error: cannot create the data folder"),
        "{stderr}"
    );
    let data = tempfile::tempdir().unwrap();
    for (args, message) in [
        (&["--retain", "0s"][..], "keep events at least 1s"),
        (&["--retain-events", "0"][..], "--retain-events"),
        (&["--tls-cert", "x.pem"][..], "--tls-key"),
        (&["--max-connections", "0"][..], "--max-connections"),
    ] {
        let out = hookctl()
            .args(["serve", "--port", "0", "--data"])
            .arg(data.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
    let missing = hookctl()
        .args(["serve", "--port", "0", "--data"])
        .arg(data.path())
        .args([
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8(missing.stderr)
        .unwrap()
        .starts_with("hookctl: error: --tls-cert /nonexistent/cert.pem"));
    let public = hookctl()
        .args([
            "serve",
            "--port",
            "0",
            "--public-url",
            "relay.example.com",
            "--data",
        ])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(public.status.code(), Some(1));
    assert!(String::from_utf8(public.stderr)
        .unwrap()
        .contains("--public-url"));
}

#[test]
fn channels_cannot_be_created_cross_site() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--max-channels", "1"]);
    let refused = request(
        &serve.url,
        "POST",
        "/new",
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        b"",
    );
    assert_eq!(refused.status, 403);
    serve.channel();
    let full = request(&serve.url, "POST", "/new", &[], b"");
    assert_eq!(full.status, 503);
    assert!(full.text().contains("--max-channels"), "{}", full.text());
}

/// Headers that sign `body` with `scheme` and `secret` at `timestamp`.
fn signed(
    scheme: &str,
    secret: &str,
    body: &str,
    id: &str,
    timestamp: i64,
) -> Vec<(String, String)> {
    use hookctl::signature::{sign, Scheme, Secret, SignRequest};
    let scheme = Scheme::from_name(scheme, None).unwrap();
    let request = SignRequest {
        id,
        timestamp,
        body: body.as_bytes(),
        event_type: None,
    };
    sign(&scheme, &Secret::new(secret.to_owned()), &request).unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[test]
fn edge_verification_refuses_forged_and_replayed_deliveries() {
    let data = tempfile::tempdir().unwrap();
    let mut serve = Serve::spawn(data.path(), &[]);
    let (github, token) = serve.channel();
    let (stripe, _) = serve.channel();
    let (open, _) = serve.channel();
    serve.kill();
    let serve = Serve::spawn_with(
        data.path(),
        &[
            "--verify",
            &format!("{github}=github:GH_SECRET"),
            "--verify",
            &format!("{stripe}=stripe:STRIPE_SECRET"),
        ],
        |cmd| {
            cmd.env("GH_SECRET", "gh-s3cret")
                .env("STRIPE_SECRET", "whsec_test");
        },
    );
    let post = |channel: &str, headers: &[(String, String)], body: &str| {
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        request(
            &serve.url,
            "POST",
            &format!("/{channel}"),
            &headers,
            body.as_bytes(),
        )
    };
    let body = r#"{"zen":"Keep it logically awesome."}"#;
    // Signed right: stored.
    let mut good = signed("github", "gh-s3cret", body, "", now());
    good.push(("x-github-delivery".into(), "delivery-1".into()));
    let stored = post(&github, &good, body);
    assert_eq!(
        (stored.status, stored.text().as_str()),
        (200, "{\"seq\":1}")
    );
    // The same delivery again (a retry, or a replay): answered with the first copy, not stored.
    let again = post(&github, &good, body);
    assert_eq!(again.status, 200);
    assert_eq!(again.text(), "{\"seq\":1,\"duplicate\":true}");
    // Forged: wrong secret, tampered body, no signature.
    let forged = signed("github", "guess", body, "", now());
    let refused = post(&github, &forged, body);
    assert_eq!(refused.status, 401, "{refused:?}");
    assert!(
        refused.text().contains("signature verification failed"),
        "{}",
        refused.text()
    );
    assert_eq!(post(&github, &good, "{\"zen\":\"tampered\"}").status, 401);
    assert_eq!(post(&github, &[], body).status, 401);
    // Stripe: a valid signature from an hour ago is a replay.
    let old = signed("stripe", "whsec_test", body, "", now() - 3600);
    let replay = post(&stripe, &old, body);
    assert_eq!(replay.status, 401);
    assert!(replay.text().contains("timestamp"), "{}", replay.text());
    let fresh = signed("stripe", "whsec_test", body, "", now());
    assert_eq!(post(&stripe, &fresh, body).status, 200);
    // A channel without --verify takes anything.
    assert_eq!(post(&open, &[], "anything").status, 200);
    // Only the good delivery reached the github channel's subscribers.
    let mut sse = Sse::open(
        &serve.url,
        &format!("/{github}?since=0&format=capture&token={token}"),
        &[],
    );
    let got = captured(&mut sse, 1);
    assert_eq!(got[0].1.body.as_ref(), body.as_bytes());
    assert_eq!(sse.next_within(Duration::from_millis(300)), None);
    let metrics = request(&serve.url, "GET", "/metrics", &[], b"").text();
    assert!(
        metrics.contains("hookctl_serve_rejected_total{reason=\"signature\"} 4"),
        "{metrics}"
    );
}

#[test]
fn verify_flags_are_checked_before_serving() {
    let data = tempfile::tempdir().unwrap();
    for (spec, env, message) in [
        ("github", None, "write it as CHANNEL=SCHEME"),
        ("nope=github", None, "is not a channel id"),
        (
            "*=github:MISSING_SECRET",
            None,
            "set the signing secret in the environment variable MISSING_SECRET",
        ),
        ("*=frobnicate", Some("x"), "frobnicate"),
        (
            "*=standard",
            Some("not base64!"),
            "the secret in HOOKCTL_SECRET",
        ),
    ] {
        let mut cmd = hookctl();
        cmd.args(["serve", "--port", "0", "--data"])
            .arg(data.path())
            .args(["--verify", spec]);
        if let Some(secret) = env {
            cmd.env("HOOKCTL_SECRET", secret);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{spec}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.starts_with("hookctl: error: --verify"),
            "{spec}: {stderr}"
        );
        assert!(stderr.contains(message), "{spec}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn a_channel_over_its_rate_limit_gets_429() {
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &["--rate-limit", "3/m"]);
    let (id, _) = serve.channel();
    let (other, _) = serve.channel();
    // A burst of one second's worth, at least one event: here one.
    serve.post(&id, &[], b"{}");
    let limited = request(&serve.url, "POST", &format!("/{id}"), &[], b"{}");
    assert_eq!(limited.status, 429);
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((19..=20).contains(&retry), "{retry}");
    assert!(limited.text().contains("--rate-limit"));
    // Each channel has its own.
    assert_eq!(serve.post(&other, &[], b"{}"), 1);
}

#[test]
fn serves_https_with_a_certificate_made_in_the_test() {
    use std::io::{Read, Write};
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).unwrap();
    std::fs::write(&key_path, pem("PRIVATE KEY", &signing_key.serialize_der())).unwrap();
    let serve = Serve::spawn(
        &dir.path().join("data"),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    );
    assert!(serve.url.starts_with("https://127.0.0.1:"), "{}", serve.url);
    // channel new trusts the certificate with --cacert.
    let out = hookctl()
        .args([
            "channel", "new", "--json", "--server", &serve.url, "--cacert",
        ])
        .arg(&cert_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["channel"].as_str().unwrap();
    assert_eq!(created["url"], format!("{}/{id}", serve.url));
    // Without it, the certificate is refused.
    let untrusted = hookctl()
        .args(["channel", "new", "--server", &serve.url])
        .output()
        .unwrap();
    assert_eq!(untrusted.status.code(), Some(1));
    // A post over TLS is stored.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(serve.url.trim_start_matches("https://")).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "POST /{id}/x HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{{}}"
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("{\"seq\":1}"), "{answer}");
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = std::net::TcpStream::connect(serve.url.trim_start_matches("https://")).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    plain
        .write_all(b"GET /_hookctl/health HTTP/1.1\r\nhost: x\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert!(!reply.starts_with(b"HTTP/1.1 200"), "{reply:?}");
}

/// DER bytes as a PEM block.
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
