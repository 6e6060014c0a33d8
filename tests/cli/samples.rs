//! Provider samples, flows, user samples and CloudEvents output (issue 25), and their checks
//! with the providers' own libraries (tests/compat/providers): those run when the pinned
//! packages are installed (`npm ci` there, `pip install -r requirements.txt`), are skipped
//! with a message otherwise, and fail when CI=true.

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use hookctl::event::Event;
use serde_json::Value;

use crate::support::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn dry_run(args: &[&str]) -> Vec<Event> {
    let out = hookctl()
        .args(["send"])
        .args(args)
        .arg("--dry-run")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| Event::from_json_line(l.as_bytes()).unwrap().unwrap())
        .collect()
}

fn body(event: &Event) -> Value {
    serde_json::from_slice(&event.body).unwrap()
}

fn fails(args: &[&str]) -> String {
    let out = hookctl().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("hookctl: error: "), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn list_groups_by_provider_and_filters() {
    let out = hookctl().args(["send", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for heading in [
        "Generic samples",
        "Stripe",
        "GitHub",
        "Shopify",
        "Slack",
        "Standard Webhooks",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(heading)),
            "{heading}: {text}"
        );
    }
    assert!(text.contains("  github:pr-merged"), "{text}");
    assert!(text.contains("flow: a paid Checkout Session"), "{text}");
    let out = hookctl()
        .args(["send", "--list", "github"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("GitHub"), "{text}");
    assert!(
        text.contains("github:push") && !text.contains("stripe:"),
        "{text}"
    );
    let out = hookctl()
        .args(["send", "--list", "--names"])
        .output()
        .unwrap();
    let names = String::from_utf8(out.stdout).unwrap();
    assert!(names.lines().any(|l| l == "payment_success"));
    assert!(names.lines().any(|l| l == "stripe:checkout"));
    assert!(names.lines().all(|l| !l.contains(' ')), "{names}");
    let err = fails(&["send", "--list", "githb"]);
    assert!(
        err.contains("no samples for `githb`; providers: generic, stripe, github"),
        "{err}"
    );
}

#[test]
fn unknown_names_suggest_the_nearest() {
    let err = fails(&["send", "github:pul_request.opened", "--dry-run"]);
    assert!(
        err.contains("did you mean `github:pull_request.opened`?"),
        "{err}"
    );
    let err = fails(&["send", "stripe:chekout", "--dry-run"]);
    assert!(err.contains("did you mean `stripe:checkout`?"), "{err}");
}

#[test]
fn a_seed_gives_the_same_bytes_and_no_seed_fresh_ones() {
    for name in [
        "stripe:charge.succeeded",
        "github:push",
        "stripe:checkout",
        "order_shipped",
    ] {
        let args = [name, "--seed", "7", "--secret", SECRET, "-n", "2"];
        let first = dry_run(&args);
        let second = dry_run(&args);
        assert_eq!(first, second, "{name}");
        assert_ne!(
            first[0].id, first[1].id,
            "{name}: each event has its own id"
        );
        let other = dry_run(&[name, "--seed", "8"]);
        assert_ne!(other[0].body, first[0].body, "{name}");
        let fresh = dry_run(&[name]);
        assert_ne!(fresh[0].id, first[0].id);
    }
    let seeded = dry_run(&["stripe:customer.created", "--seed", "1"]);
    assert_eq!(body(&seeded[0])["created"], 1_767_225_600);
    let now = hookctl::send::compose::unix_now();
    let fresh = dry_run(&["stripe:customer.created"]);
    let created = body(&fresh[0])["created"].as_i64().unwrap();
    assert!((created - now).abs() < 60, "timestamps are now: {created}");
}

fn hmac_hex<M: Mac + hmac::digest::KeyInit>(key: &[u8], message: &[u8]) -> String {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn github_samples_carry_githubs_headers_and_both_signatures() {
    let events = dry_run(&["github:pull_request.opened", "--secret", "s3cret"]);
    let e = &events[0];
    assert_eq!(e.header("X-GitHub-Event"), Some("pull_request"));
    assert_eq!(e.header("X-GitHub-Delivery"), Some(e.id.as_str()));
    assert_eq!(e.id.len(), 36, "a UUID: {}", e.id);
    assert!(e
        .header("User-Agent")
        .unwrap()
        .starts_with("GitHub-Hookshot/"));
    assert_eq!(
        e.header("X-GitHub-Hook-Installation-Target-Type"),
        Some("repository")
    );
    assert!(e.header("X-GitHub-Hook-ID").is_some());
    let sha256 = hmac_hex::<Hmac<sha2::Sha256>>(b"s3cret", &e.body);
    let sha1 = hmac_hex::<Hmac<sha1::Sha1>>(b"s3cret", &e.body);
    assert_eq!(
        e.header("X-Hub-Signature-256"),
        Some(format!("sha256={sha256}").as_str())
    );
    assert_eq!(
        e.header("X-Hub-Signature"),
        Some(format!("sha1={sha1}").as_str())
    );
    assert_eq!(body(e)["action"], "opened");
    // No secret: the provider's headers, no signature.
    let unsigned = &dry_run(&["github:push"])[0];
    assert_eq!(unsigned.header("X-GitHub-Event"), Some("push"));
    assert_eq!(unsigned.header("X-Hub-Signature-256"), None);
    // An explicit scheme still wins.
    let standard = &dry_run(&["github:push", "--sign", "standard", "--secret", SECRET])[0];
    assert!(standard.header("webhook-signature").is_some());
    assert_eq!(standard.header("X-Hub-Signature-256"), None);
}

#[test]
fn sign_without_a_scheme_uses_the_providers() {
    let stripe = &dry_run(&["stripe:invoice.paid", "--sign", "--secret", "whsec_test"])[0];
    let signature = stripe.header("Stripe-Signature").unwrap();
    let (t, v1) = signature.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let signed = [t.as_bytes(), b".", &stripe.body].concat();
    assert_eq!(v1, hmac_hex::<Hmac<sha2::Sha256>>(b"whsec_test", &signed));
    assert_eq!(
        stripe.header("User-Agent"),
        Some("Stripe/1.0 (+https://stripe.com/docs/webhooks)")
    );
    assert_eq!(
        stripe.header("Content-Type"),
        Some("application/json; charset=utf-8")
    );
    let shopify = &dry_run(&["shopify:orders/create", "--secret", "shpss"])[0];
    for name in [
        "X-Shopify-Topic",
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Shop-Domain",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Event-Id",
        "X-Shopify-API-Version",
        "X-Shopify-Triggered-At",
    ] {
        assert!(shopify.header(name).is_some(), "{name}");
    }
    assert_eq!(shopify.headers.get_all("X-Shopify-Topic").count(), 1);
    let err = fails(&[
        "send",
        "payment_success",
        "--sign",
        "--secret",
        "x",
        "--dry-run",
    ]);
    assert!(
        err.contains("--sign without a scheme signs like the sample's provider"),
        "{err}"
    );
    let err = fails(&["send", "stripe:invoice.paid", "--sign", "--dry-run"]);
    assert!(err.contains("a signing secret is needed"), "{err}");
}

#[test]
fn the_slash_command_is_sent_form_encoded() {
    let e = &dry_run(&["slack:slash_command", "--secret", "sek"])[0];
    assert_eq!(
        e.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let text = std::str::from_utf8(&e.body).unwrap();
    assert!(text.contains("command=%2Fdeploy"), "{text}");
    let ts = e.header("X-Slack-Request-Timestamp").unwrap();
    let base = [b"v0:", ts.as_bytes(), b":", &e.body[..]].concat();
    let expected = format!("v0={}", hmac_hex::<Hmac<sha2::Sha256>>(b"sek", &base));
    assert_eq!(e.header("X-Slack-Signature"), Some(expected.as_str()));
    assert_eq!(e.headers.get_all("X-Slack-Request-Timestamp").count(), 1);
    let changed = &dry_run(&["slack:slash_command", "--set", "text=\"api staging\""])[0];
    assert!(std::str::from_utf8(&changed.body)
        .unwrap()
        .contains("text=api+staging"));
}

#[test]
fn any_sample_can_be_a_cloudevent_in_either_mode() {
    let binary = &dry_run(&["sensor_reading", "--format", "cloudevents"])[0];
    assert_eq!(binary.header("ce-specversion"), Some("1.0"));
    assert_eq!(binary.header("ce-id"), Some(binary.id.as_str()));
    assert_eq!(binary.header("ce-type"), Some("sensor_reading"));
    assert_eq!(binary.header("ce-source"), Some("/hookctl/samples"));
    assert!(binary.header("ce-time").unwrap().ends_with('Z'));
    assert_eq!(
        body(binary)["type"],
        "sensor_reading",
        "the body is unchanged"
    );
    let structured = &dry_run(&["github:push", "--format", "cloudevents-structured"])[0];
    assert_eq!(
        structured.header("content-type"),
        Some("application/cloudevents+json; charset=utf-8")
    );
    let doc = body(structured);
    assert_eq!(doc["specversion"], "1.0");
    assert_eq!(doc["type"], "github.push");
    assert_eq!(doc["source"], "/hookctl/samples/github");
    assert_eq!(doc["datacontenttype"], "application/json");
    assert_eq!(doc["data"]["ref"], "refs/heads/main");
    let raw = &dry_run(&["--data", "hello", "--format", "cloudevents-structured"])[0];
    assert_eq!(body(raw)["data"], "hello");
}

#[test]
fn flows_send_their_steps_in_order_with_ids_carried() {
    let steps = dry_run(&["stripe:checkout"]);
    let types: Vec<_> = steps.iter().map(|e| body(e)["type"].clone()).collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "payment_intent.succeeded",
            "charge.succeeded",
            "invoice.paid"
        ]
    );
    let pi = body(&steps[1])["data"]["object"]["id"].clone();
    assert_eq!(body(&steps[0])["data"]["object"]["payment_intent"], pi);
    assert_eq!(body(&steps[2])["data"]["object"]["payment_intent"], pi);
    let recorder = Recorder::ok();
    let out = hookctl()
        .args([
            "send",
            "github:pr-merged",
            "--gap",
            "0",
            "--json",
            "--to",
            &recorder.url,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = recorder.take(2);
    let kinds: Vec<_> = seen
        .iter()
        .map(|s| s.event.header("x-github-event").unwrap())
        .collect();
    assert_eq!(kinds, ["pull_request", "push"]);
    let printed = String::from_utf8(out.stdout).unwrap();
    let results: Vec<Value> = printed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let types: Vec<_> = results.iter().map(|r| r["type"].clone()).collect();
    assert_eq!(
        types,
        [
            Value::from("pull_request"),
            Value::from("push"),
            Value::Null
        ],
        "each step is reported, then the summary: {printed}"
    );
    assert_eq!(results[2]["kind"], "summary");
    assert_eq!(results[2]["sent"], 2);
    let err = fails(&["send", "stripe:checkout", "--set", "data.x=1", "--dry-run"]);
    assert!(err.contains("is a flow"), "{err}");
    let err = fails(&[
        "send",
        "stripe:checkout",
        "--publish",
        "amqp://127.0.0.1:1/x",
    ]);
    assert!(
        err.contains("is a flow, which send delivers over HTTP only"),
        "{err}"
    );
    hookctl()
        .args(["send", "stripe:checkout", "--gap", "2h", "--dry-run"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("a flow's gap is at most 1h"));
}

fn user_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

const USER_SAMPLE: &str = r#"name: acme:order.created
description: An Acme order
headers:
  X-Acme-Topic: "{{topic}}"
body:
  id: "{{event_id}}"
  type: order.created
  order: '{{id "ord"}}'
  at: "{{now}}"
"#;

const USER_FLOW: &str = r#"{
  "name": "acme:signup",
  "description": "A customer, then an Acme welcome",
  "flow": [
    {"sample": "stripe:customer.created", "name": "customer"},
    {"name": "welcome", "gap": "1s", "body": {"customer": "{{ref \"customer\" \"data.object.id\"}}", "type": "welcome"}}
  ]
}
"#;

#[test]
fn user_samples_and_flows_are_listed_and_sent() {
    let dir = user_dir(&[("order.yaml", USER_SAMPLE), ("signup.json", USER_FLOW)]);
    let samples = dir.path().to_str().unwrap();
    let out = hookctl()
        .args(["send", "--list", "--samples", samples])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("acme:order.created") && text.contains("An Acme order"),
        "{text}"
    );
    assert!(text.contains("acme:signup"), "{text}");
    let e = &dry_run(&[
        "acme:order.created",
        "--samples",
        samples,
        "--set",
        "type=\"x\"",
    ])[0];
    let b = body(e);
    assert_eq!(b["id"], e.id.as_str());
    assert!(b["order"].as_str().unwrap().starts_with("ord_"));
    assert!(b["at"].is_i64());
    assert_eq!(b["type"], "x");
    assert_eq!(e.header("X-Acme-Topic"), Some("order.created"));
    let steps = dry_run(&["acme:signup", "--samples", samples]);
    assert_eq!(steps.len(), 2);
    assert_eq!(
        body(&steps[1])["customer"],
        body(&steps[0])["data"]["object"]["id"]
    );
    // A flow mixing providers is signed only with a scheme named.
    let mixed = r#"{"flow": [{"sample": "stripe:customer.created"}, {"sample": "github:push"}]}"#;
    let dir2 = user_dir(&[("mixed.json", mixed)]);
    let dir2 = dir2.path().to_str().unwrap();
    let err = fails(&[
        "send",
        "mixed",
        "--samples",
        dir2,
        "--secret",
        "s",
        "--dry-run",
    ]);
    assert!(
        err.contains(
            "the steps of mixed come from providers that sign differently (stripe, github)"
        ),
        "{err}"
    );
    let steps = dry_run(&[
        "mixed",
        "--samples",
        dir2,
        "--secret",
        "s",
        "--sign",
        "github",
    ]);
    assert!(steps
        .iter()
        .all(|e| e.header("X-Hub-Signature-256").is_some()));
    // The folder also comes from HOOKCTL_SAMPLES.
    let out = hookctl()
        .args(["send", "acme:order.created", "--dry-run"])
        .env("HOOKCTL_SAMPLES", samples)
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn errors_in_user_files_name_the_file_and_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "bad.yaml",
            "body:\n  a: [1,\n  b: 2\n",
            "bad.yaml:4: not valid YAML",
        ),
        (
            "bad.json",
            "{\n  \"body\": {\n    \"a\": \"{{nope}}\"\n  }\n}\n",
            "bad.json:3: unknown template expression `{{nope}}`",
        ),
        (
            "nobody.yaml",
            "name: x\ndescription: y\n",
            "nobody.yaml:1: the sample has no `body`",
        ),
        (
            "flow.yaml",
            "flow:\n  - sample: stripe:nothing\n",
            "flow.yaml:2: step 1: no sample is called `stripe:nothing`",
        ),
        (
            "ref.yaml",
            "flow:\n  - body:\n      a: '{{ref \"later\" \"x\"}}'\n",
            "ref.yaml:3: {{ref \"later\" ...}}: no earlier step is called `later`",
        ),
        (
            "dup.yaml",
            "name: github:push\nbody: {}\n",
            "dup.yaml:1: `github:push` is already a sample or flow",
        ),
        (
            "prov.yaml",
            "provider: paypal\nbody: {}\n",
            "prov.yaml:1: unknown provider `paypal`",
        ),
        (
            "list.json",
            "[1, 2]\n",
            "list.json:1: a sample file holds an object",
        ),
        (
            "key.yaml",
            "body: {}\nheders: {}\n",
            "key.yaml:2: unknown key `heders`",
        ),
        (
            "header.yaml",
            "headers:\n  \"Bad Name\": x\nbody: {}\n",
            "header.yaml:2: `Bad Name` is not a valid header name",
        ),
        (
            "enc.yaml",
            "encoding: xml\nbody: {}\n",
            "enc.yaml:1: `encoding` is \"json\" (the default) or \"form\"",
        ),
        (
            "form.yaml",
            "encoding: form\nbody: {a: 1}\n",
            "form.yaml:2: a form-encoded body is an object of string fields",
        ),
        (
            "space.yaml",
            "name: a b\nbody: {}\n",
            "space.yaml:1: the name \"a b\" is empty or holds spaces",
        ),
        (
            "gap.yaml",
            "flow:\n  - sample: github:push\n    gap: 3h\n",
            "gap.yaml:3: gap `3h` is not a duration up to 1h",
        ),
    ];
    for (file, text, want) in cases {
        let dir = user_dir(&[(file, text)]);
        let err = fails(&["send", "--list", "--samples", dir.path().to_str().unwrap()]);
        let shown = err.replace(&format!("{}/", dir.path().display()), "");
        assert!(shown.contains(want), "{file}: {err}");
    }
    let err = fails(&[
        "send",
        "--list",
        "--samples",
        "/nonexistent/hookctl-samples",
    ]);
    assert!(
        err.contains("cannot read the samples folder /nonexistent/hookctl-samples"),
        "{err}"
    );
    let big = "#".repeat((1 << 20) + 1);
    let dir = user_dir(&[("big.yaml", &big)]);
    let err = fails(&["send", "--list", "--samples", dir.path().to_str().unwrap()]);
    assert!(
        err.contains("big.yaml:1: it is 1048577 bytes; a sample file may have 1 MiB at most"),
        "{err}"
    );
    // A broken folder does not stop built-in samples or --data.
    let dir = user_dir(&[("broken.yaml", "body: [")]);
    let broken = dir.path().to_str().unwrap();
    dry_run(&["github:push", "--samples", broken]);
    dry_run(&["--data", "{}", "--samples", broken]);
    let err = fails(&["send", "acme:x", "--samples", broken, "--dry-run"]);
    assert!(err.contains("broken.yaml:2: not valid YAML"), "{err}");
}

// ---- The providers' own libraries ----

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/providers")
}

/// Whether the compat checks can run; outside CI, says why not.
fn compat_ready(test: &str, what: &str, ready: bool, how: &str) -> bool {
    if ready {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true but {what} is missing: .ci/run must {how}");
    }
    eprintln!("SKIPPED samples::{test}: {what} is missing ({how})");
    false
}

/// The Node receiver (tests/compat/providers/server.mjs), shared by the tests.
struct Checker {
    port: u16,
    child: Mutex<Child>,
}

fn checker(test: &str) -> Option<&'static Checker> {
    static CHECKER: OnceLock<Option<Checker>> = OnceLock::new();
    let dir = compat_dir();
    let ready = dir.join("node_modules").is_dir()
        && Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !compat_ready(
        test,
        "node or tests/compat/providers/node_modules",
        ready,
        "run `npm ci` in tests/compat/providers",
    ) {
        return None;
    }
    CHECKER
        .get_or_init(|| {
            let mut child = Command::new("node")
                .arg("server.mjs")
                .arg(SECRET)
                .current_dir(&dir)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("node starts");
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    eprintln!("compat: {line}");
                    if tx.send(line).is_err() {
                        // Keep draining so the server never blocks on a full pipe.
                        continue;
                    }
                }
            });
            // Compiling GitHub's schemas takes a while on a busy machine.
            let deadline = Instant::now() + Duration::from_secs(240);
            let port = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let line = rx
                    .recv_timeout(left)
                    .expect("the compat server announces its port");
                if let Some(port) = line.strip_prefix("listening ") {
                    break port.parse().unwrap();
                }
            };
            Some(Checker {
                port,
                child: Mutex::new(child),
            })
        })
        .as_ref()
}

impl Checker {
    /// Sends `name` signed with SECRET to the check at `path`: the check answers 400 (and
    /// hookctl fails) when the provider's library rejects it.
    fn check(&self, path: &str, name: &str, extra: &[&str]) {
        let url = format!("http://127.0.0.1:{}/{path}", self.port);
        let out = hookctl()
            .args([
                "send",
                name,
                "--to",
                &url,
                "--secret",
                SECRET,
                "--timeout",
                "60s",
                "-v",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} {extra:?} was rejected: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(shown.contains(&format!("ok /{path}")), "{name}: {shown}");
    }

    /// Sends `send_args` (signed with SECRET) to the check at `path` and expects the library
    /// to reject it, saying `why`: hookctl reports the 400 and exits 3.
    fn rejects(&self, path: &str, send_args: &[&str], why: &str) {
        let url = format!("http://127.0.0.1:{}/{path}", self.port);
        let out = hookctl()
            .arg("send")
            .args(send_args)
            .args(["--to", &url, "--secret", SECRET, "--timeout", "60s", "-v"])
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{send_args:?}: {shown}");
        assert!(shown.contains("400 Bad Request"), "{shown}");
        assert!(shown.contains(&format!("FAIL /{path} {why}")), "{shown}");
    }

    fn check_all(&self, provider: &str, path: &str, extra: &[&str]) -> usize {
        let out = hookctl()
            .args(["send", "--list", provider, "--names"])
            .output()
            .unwrap();
        let names: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        assert!(!names.is_empty());
        for name in &names {
            self.check(path, name, extra);
        }
        names.len()
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.stdin.take().map(|mut s| s.flush());
            let _ = child.kill();
        }
    }
}

#[test]
fn octokit_verifies_dispatches_and_validates_github_samples() {
    let Some(checker) = checker("octokit") else {
        return;
    };
    assert!(checker.check_all("github", "github", &[]) >= 11);
}

#[test]
fn the_stripe_library_accepts_stripe_samples() {
    let Some(checker) = checker("stripe") else {
        return;
    };
    assert!(checker.check_all("stripe", "stripe", &[]) >= 13);
}

/// The Stripe check takes each object's fields from the stripe package's type declarations:
/// it names a field the interface lacks, a required one that is missing, and a stale
/// api_version.
#[test]
fn the_stripe_check_names_undeclared_and_missing_fields() {
    let Some(checker) = checker("stripe") else {
        return;
    };
    checker.rejects(
        "stripe",
        &[
            "stripe:customer.created",
            "--set-new",
            "data.object.nickname=Jay",
        ],
        "customer.created: customer has fields stripe 23.2.0 does not declare: nickname",
    );
    checker.rejects(
        "stripe",
        &[
            "stripe:customer.subscription.updated",
            "--set-new",
            "data.previous_attributes.plan_name=Pro",
        ],
        "customer.subscription.updated: previous_attributes has fields a subscription lacks: plan_name",
    );
    checker.rejects(
        "stripe",
        &[
            "stripe:invoice.paid",
            "--set",
            "api_version=2025-07-30.basil",
        ],
        "api_version 2025-07-30.basil, but stripe 23.2.0 declares the objects of 2026-11-18.endive",
    );
    let mut event = body(&dry_run(&["stripe:payment_intent.succeeded"])[0]);
    let object = event["data"]["object"].as_object_mut().unwrap();
    object.shift_remove("amount_received");
    object.shift_remove("latest_charge");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("event.json");
    std::fs::write(&file, event.to_string()).unwrap();
    checker.rejects(
        "stripe",
        &[
            "-d",
            &format!("@{}", file.display()),
            "--sign",
            "stripe",
            "-H",
            "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "-H",
            "Content-Type: application/json",
        ],
        "payment_intent.succeeded: payment_intent lacks amount_received, latest_charge",
    );
}

#[test]
fn shopify_api_validates_shopify_samples() {
    let Some(checker) = checker("shopify") else {
        return;
    };
    assert!(checker.check_all("shopify", "shopify", &[]) >= 5);
}

#[test]
fn bolt_verifies_slack_samples_and_echoes_the_challenge() {
    let Some(checker) = checker("bolt") else {
        return;
    };
    checker.check("slack", "slack:url_verification", &[]);
    assert_eq!(checker.check_all("slack", "slack", &[]), 4);
}

#[test]
fn standard_webhooks_verifies_standard_samples() {
    let Some(checker) = checker("standardwebhooks") else {
        return;
    };
    assert_eq!(checker.check_all("standard", "standard", &[]), 3);
}

#[test]
fn the_cloudevents_sdk_reads_both_modes() {
    let Some(checker) = checker("cloudevents") else {
        return;
    };
    for format in ["cloudevents", "cloudevents-structured"] {
        checker.check_all("generic", "cloudevents", &["--format", format]);
        checker.check("cloudevents", "github:push", &["--format", format]);
        checker.check("cloudevents", "slack:slash_command", &["--format", format]);
    }
}

#[test]
fn the_python_slack_sdk_verifies_slack_signatures() {
    let ready = Command::new("python3")
        .args(["-c", "import slack_sdk"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !compat_ready(
        "slack_sdk",
        "python3 with slack_sdk",
        ready,
        "run `pip install -r tests/compat/providers/requirements.txt`",
    ) {
        return;
    }
    for name in [
        "slack:event_callback.app_mention",
        "slack:slash_command",
        "slack:url_verification",
    ] {
        let events = hookctl()
            .args(["send", name, "--secret", "sek", "--dry-run", "-n", "2"])
            .output()
            .unwrap();
        assert!(events.status.success());
        let mut python = Command::new("python3")
            .arg(compat_dir().join("slack_verify.py"))
            .arg("sek")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        python
            .stdin
            .take()
            .unwrap()
            .write_all(&events.stdout)
            .unwrap();
        let out = python.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {text}");
        assert_eq!(text.matches("ok slack_sdk verified").count(), 2, "{text}");
        // A wrong secret is rejected: the check can fail.
        let mut wrong = Command::new("python3")
            .arg(compat_dir().join("slack_verify.py"))
            .arg("other")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        wrong
            .stdin
            .take()
            .unwrap()
            .write_all(&events.stdout)
            .unwrap();
        assert!(!wrong.wait().unwrap().success());
    }
}
