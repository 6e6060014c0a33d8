//! `listen --source` against the real relay: `hookctl serve` and `hookctl channel new` run as
//! children on loopback, providers are raw HTTP requests (exact bytes) or `hookctl send`.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;

use serde_json::Value;

use crate::support::{
    hookctl, hookctl_std, read_capture, read_head, spawn_hookctl, Lines, Listen, Recorder, Spawned,
};

/// A running `hookctl serve`, killed on drop.
pub struct Relay {
    child: std::process::Child,
    pub url: String,
    /// Read, so serve never blocks on a full pipe.
    _stderr: Lines,
}

impl Relay {
    /// `hookctl serve --data DATA --port PORT` (0 for a free one).
    pub fn start(data: &Path, port: u16) -> Relay {
        let mut child = hookctl_std()
            .args(["serve", "--port", &port.to_string(), "--data"])
            .arg(data)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn hookctl serve");
        let mut stderr = Lines::spawn(child.stderr.take().unwrap());
        let line = stderr.wait_for("serve's address", |l| l.starts_with("listening on "));
        let url = line.trim_start_matches("listening on ").trim().to_owned();
        Relay {
            child,
            url,
            _stderr: stderr,
        }
    }

    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// A new channel, made with `hookctl channel new --json`: its URL and token.
    pub fn channel(&self) -> (String, String) {
        let out = hookctl()
            .args(["channel", "new", "--json", "--server", &self.url])
            .assert()
            .success();
        let created: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        (
            created["url"].as_str().unwrap().to_owned(),
            created["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Stops it like SIGTERM does, and waits.
    pub fn stop(mut self) {
        crate::support::signal(self.child.id(), "TERM");
        crate::support::wait_child(&mut self.child);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A provider's POST of exactly `body` to `url` + `suffix`; the status it got.
pub fn post(url: &str, suffix: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(authority).unwrap();
    stream.set_read_timeout(Some(crate::support::WAIT)).unwrap();
    let mut head = format!(
        "POST /{path}{suffix} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let head = read_head(&mut stream);
    head.split(' ').nth(1).unwrap().parse().unwrap()
}

fn json(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Waits for `n` events on a `--json` stdout.
fn events(stdout: &mut Lines, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| json(&stdout.wait_for("an event", |l| l.contains("\"kind\":\"event\""))))
        .collect()
}

/// `listen --no-port --json ARGS` as a child, once it is subscribed (its `ready` record).
fn listen_no_port(args: &[&str]) -> Spawned {
    let mut all = vec!["listen", "--no-port", "--json", "--ready-json"];
    all.extend_from_slice(args);
    let mut listen = spawn_hookctl(&all);
    let ready = json(&listen.stdout.wait_for("the ready record", |_| true));
    assert_eq!(ready["kind"], "ready", "{ready}");
    listen
}

#[test]
fn awkward_bodies_arrive_byte_for_byte_in_the_capture_and_at_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"), 0);
    let (channel, token) = relay.channel();
    let capture = dir.path().join("events.jsonl");
    let app = Recorder::ok();
    let mut listen = Listen::start(&[
        "--source",
        &channel,
        "--token",
        &token,
        "--json",
        "--capture",
        capture.to_str().unwrap(),
        "--forward-to",
        &app.url,
    ]);
    listen
        .stderr
        .wait_for("the subscription", |l| l.starts_with("connected to "));
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let big: Vec<u8> = (0..5 << 20).map(|i| b'a' + (i % 26) as u8).collect();
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        (
            "application/json",
            "/gh/push?x=1&y",
            b"{ \"a\" :\t1.0e2 ,\n \"s\": \"\\u00e9\\ud83d\\ude00\" }\n".to_vec(),
        ),
        (
            "application/json",
            "",
            b"{\"big\": 123456789012345678901234567890, \"n\": -0.0}".to_vec(),
        ),
        ("application/json", "/dup", b"{\"a\":1,\"a\":2}".to_vec()),
        (
            "application/x-www-form-urlencoded",
            "/form",
            b"payload=%7B%22a%22%3A1%7D&x=a+b".to_vec(),
        ),
        ("application/octet-stream", "/bin", binary),
        ("text/plain", "/big", big),
    ];
    for (content_type, suffix, body) in &bodies {
        assert_eq!(
            post(
                &channel,
                suffix,
                &[("Content-Type", content_type), ("X-Custom", "kept")],
                body
            ),
            200
        );
    }
    let got = events(&mut listen.stdout, bodies.len());
    assert_eq!(got.len(), bodies.len());
    let captured = read_capture(&capture);
    let forwarded = app.take(bodies.len());
    for (i, (content_type, suffix, body)) in bodies.iter().enumerate() {
        let (path, query) = match suffix.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (*suffix, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        for event in [&captured[i], &forwarded[i].event] {
            assert_eq!(&event.body[..], &body[..], "body {i}");
            assert_eq!(event.path, path, "path {i}");
            assert_eq!(event.query.as_deref(), query, "query {i}");
            assert_eq!(event.header("content-type"), Some(*content_type));
            assert_eq!(event.header("x-custom"), Some("kept"));
        }
        assert_eq!(
            captured[i].notes.forward.as_ref().unwrap().status,
            Some(200)
        );
    }
    assert_eq!(listen.interrupt().code(), Some(0));
}

/// The `verified` note of one event signed with `secret` and sent through the channel to a
/// `listen --source --verify SCHEME --secret LISTEN_SECRET`.
fn verified_through(
    channel: &str,
    token: &str,
    scheme: &str,
    secret: &str,
    listen_secret: &str,
) -> Value {
    let mut listen = Listen::start(&[
        "--source",
        channel,
        "--token",
        token,
        "--json",
        "--verify",
        scheme,
        "--secret",
        listen_secret,
        "--verify-mode",
        "warn",
    ]);
    listen
        .stderr
        .wait_for("the subscription", |l| l.starts_with("connected to "));
    hookctl()
        .args([
            "send",
            "payment_success",
            "--sign",
            scheme,
            "--secret",
            secret,
            "--to",
        ])
        .arg(format!("{channel}/webhooks"))
        .assert()
        .success();
    let event = events(&mut listen.stdout, 1).remove(0);
    assert_eq!(event["path"], "/webhooks");
    event["verified"].clone()
}

#[test]
fn github_stripe_and_standard_signatures_verify_on_the_laptop() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"), 0);
    for (scheme, secret) in [
        ("github", "gh-secret"),
        ("stripe", "whsec_stripe_test_secret"),
        ("standard", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
    ] {
        let (channel, token) = relay.channel();
        let verified = verified_through(&channel, &token, scheme, secret, secret);
        assert_eq!(verified["ok"], true, "{scheme}: {verified}");
        assert_eq!(verified["scheme"], scheme);
        // A wrong secret fails with the usual explanation (no smee in it: the bytes are exact).
        let verified = verified_through(
            &channel,
            &token,
            scheme,
            secret,
            "whsec_d3JvbmcgYnV0IHZhbGlk",
        );
        assert_eq!(verified["ok"], false, "{scheme}: {verified}");
        let reason = verified["reason"].as_str().unwrap();
        assert!(reason.starts_with("signature does not match"), "{reason}");
        assert!(!reason.contains("smee"), "{reason}");
    }
}

#[test]
fn fifty_events_sent_while_listen_is_down_arrive_exactly_once_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"), 0);
    let (channel, token) = relay.channel();
    let capture = dir.path().join("events.jsonl");
    let capture_arg = capture.to_str().unwrap();
    let args = [
        "--source",
        &channel,
        "--token",
        &token,
        "--capture",
        capture_arg,
    ];
    let mut listen = listen_no_port(&args);
    assert_eq!(
        post(
            &channel,
            "",
            &[("Content-Type", "application/json")],
            b"{\"n\":0}"
        ),
        200
    );
    events(&mut listen.stdout, 1);
    assert!(listen.interrupt().success());
    // Down: 50 events reach the relay.
    hookctl()
        .args(["send", "payment_success", "--count", "50", "--to", &channel])
        .assert()
        .success();
    let mut listen = listen_no_port(&args);
    let got = events(&mut listen.stdout, 50);
    listen
        .stderr
        .wait_for("the resume", |l| l == "resumed after #1: 50 missed events");
    // And live ones after them.
    assert_eq!(post(&channel, "/live", &[], b"live"), 200);
    let live = &events(&mut listen.stdout, 1)[0];
    assert_eq!(live["body"], "live");
    assert!(listen.interrupt().success());
    let captured = read_capture(&capture);
    assert_eq!(captured.len(), 52);
    let mut ids: Vec<&str> = captured.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(got[0]["id"].as_str(), Some(ids[1]));
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 52, "an event was captured twice");
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{capture_arg}.source-state")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["sources"][&channel], 52);
}

#[test]
fn a_relay_restart_is_survived_without_a_gap_or_a_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let relay = Relay::start(&data, 0);
    let port = relay.port();
    let (channel, token) = relay.channel();
    let mut listen = listen_no_port(&["--source", &channel, "--token", &token]);
    assert_eq!(post(&channel, "", &[], b"one"), 200);
    events(&mut listen.stdout, 1);
    relay.stop();
    let line = listen
        .stderr
        .wait_for("the disconnection", |l| l.starts_with("disconnected from"));
    assert!(line.contains("; retrying in "), "{line}");
    // The relay comes back on the same port, with its data.
    let relay = Relay::start(&data, port);
    listen.stderr.wait_for("the reconnection", |l| {
        l == "resumed after #1: 0 missed events"
    });
    assert_eq!(post(&channel, "", &[], b"two"), 200);
    let event = &events(&mut listen.stdout, 1)[0];
    assert_eq!(event["body"], "two");
    assert!(listen.interrupt().success());
    drop(relay);
}

#[test]
fn the_real_relay_refuses_a_wrong_or_missing_token() {
    let dir = tempfile::tempdir().unwrap();
    let relay = Relay::start(&dir.path().join("data"), 0);
    let (channel, _) = relay.channel();
    let out = hookctl()
        .args(["listen", "--no-port", "--source", &channel])
        .env("HOOKCTL_SOURCE_TOKEN", "wrong-token-SECRET")
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.ends_with(&format!("hookctl: error: {channel} refused the token (401 Unauthorized): pass the channel's token with --token or HOOKCTL_SOURCE_TOKEN\n")),
        "{stderr}"
    );
    assert!(!stderr.contains("SECRET"), "{stderr}");
    let out = hookctl()
        .args(["listen", "--no-port", "--source", &channel])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "hookctl: error: {channel} needs a token (401 Unauthorized)"
        )),
        "{stderr}"
    );
}
