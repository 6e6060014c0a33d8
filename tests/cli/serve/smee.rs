//! The real smee-client from npm (pinned in tests/compat/smee, installed by `.ci/run`)
//! pointed at a hookctl channel: it must relay events to a local app unchanged.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::harness::*;
use crate::support::*;

/// A client installed under `tests/compat/smee` (`relative` in it), or `None` (after saying
/// how to install it) outside CI when it is not there.
fn installed(relative: &str, install: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/smee");
    let bin = dir.join(relative);
    if bin.exists() {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but {} is missing: .ci/run must install it ({install})",
            bin.display()
        );
    }
    eprintln!(
        "SKIPPED serve::smee: {} is not installed (in {}: {install})",
        bin.display(),
        dir.display()
    );
    None
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_real_smee_client_relays_a_channel_to_a_local_app() {
    let Some(smee) = installed("node_modules/.bin/smee", "npm ci") else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let app = Recorder::ok();
    let mut child = Command::new(&smee)
        .args(["--url", &format!("{}/{id}?token={token}", serve.url)])
        .args(["--target", &format!("{}/app", app.url)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run smee-client");
    let mut stdout = Lines::spawn(child.stdout.take().unwrap());
    let _stderr = Lines::spawn(child.stderr.take().unwrap());
    let _child = Killed(child);
    stdout.wait_for("smee-client to connect", |l| l.starts_with("Forwarding"));
    let body = r#"{"action":"opened","number":7,"pull_request":{"title":"caf\u00e9"}}"#;
    let response = request(
        &serve.url,
        "POST",
        &format!("/{id}?installation=42"),
        &[
            ("content-type", "application/json"),
            ("x-github-event", "pull_request"),
            ("x-github-delivery", "d-1"),
        ],
        body.as_bytes(),
    );
    assert_eq!(response.status, 200);
    let seen = app.next().event;
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.path, "/app");
    assert_eq!(seen.query.as_deref(), Some("installation=42"));
    assert_eq!(seen.header("x-github-event"), Some("pull_request"));
    assert_eq!(seen.header("x-github-delivery"), Some("d-1"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    let relayed: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    let sent: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(relayed, sent);
    stdout.wait_for("smee-client's log of the delivery", |l| {
        l.contains("POST") && l.contains("/app") && l.ends_with("200")
    });
}

#[test]
fn pysmee_relays_a_channel_to_a_local_app() {
    let Some(pysmee) = installed(
        "venv/bin/pysmee",
        "python3 -m venv venv && venv/bin/pip install -r requirements.txt",
    ) else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let serve = Serve::spawn(data.path(), &[]);
    let (id, token) = serve.channel();
    let app = Recorder::ok();
    let mut child = Command::new(&pysmee)
        .args([
            "-v",
            "forward",
            &format!("{}/{id}?token={token}", serve.url),
        ])
        .arg(format!("{}/app", app.url))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pysmee");
    let _stdout = Lines::spawn(child.stdout.take().unwrap());
    let mut stderr = Lines::spawn(child.stderr.take().unwrap());
    let _child = Killed(child);
    // pysmee logs `Connected` when it gets the `ready` event.
    stderr.wait_for("pysmee to connect", |l| l.contains("VERBOSE: Connected to"));
    // pysmee re-serialises the body compactly and keeps the original Content-Length, as it
    // does with smee.io: a compact body goes through unchanged.
    let body = r#"{"ref":"refs/heads/main","size":3,"ok":true}"#;
    let response = request(
        &serve.url,
        "POST",
        &format!("/{id}"),
        &[
            ("content-type", "application/json"),
            ("x-github-event", "push"),
        ],
        body.as_bytes(),
    );
    assert_eq!(response.status, 200);
    let seen = app.next().event;
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/app"));
    assert_eq!(seen.header("x-github-event"), Some("push"));
    assert_eq!(seen.body.as_ref(), body.as_bytes());
    stderr.wait_for("pysmee's log of the delivery", |l| {
        l.contains("POST") && l.ends_with("- 200")
    });
}
