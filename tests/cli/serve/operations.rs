//! Running a relay: `channel new`, health, metrics, JSON logs, shutdown and bad flags.

use std::time::Duration;

use super::harness::*;
use crate::support::*;

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
        (&["--stall-timeout", "500ms"][..], "from 1s to 1h"),
        (&["--stall-timeout", "2h"][..], "from 1s to 1h"),
        (&["--stall-timeout", "soon"][..], "--stall-timeout"),
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
