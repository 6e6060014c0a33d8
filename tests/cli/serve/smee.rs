//! The real smee-client from npm (pinned in tests/compat/smee, installed by `.ci/run`)
//! pointed at a hookctl channel: it must relay events to a local app unchanged.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use super::harness::*;
use crate::support::*;

/// `tests/compat/smee/node_modules/.bin/smee`, or `None` (after saying why) outside CI when
/// it is not installed.
fn smee_client() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/compat/smee");
    let bin = dir.join("node_modules/.bin/smee");
    if bin.exists() {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "CI=true but {} is missing: .ci/run must run `npm ci` in {}",
            bin.display(),
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED serve::smee: smee-client is not installed (run: npm ci --prefix {})",
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
    let Some(smee) = smee_client() else { return };
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
