//! `listen` as a test double for CI: `--expect`, `--count`, `--timeout`, `--ready-file`, the
//! `--json` ready record, the health endpoint, simulated responses and run tags, plus the
//! README recipe script in tests/fixtures/ci-recipe.sh.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use predicates::prelude::PredicateBooleanExt;

use crate::support::{hookctl, hookctl_std, read_capture, wait_child, Listen, WAIT};

/// What a hand-written HTTP/1.1 client got back.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
    elapsed: Duration,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request over a fresh connection (`Connection: close`) and reads the whole answer,
/// timing it from the first byte written to the last byte read.
fn request(base: &str, method: &str, path: &str, extra: &[(&str, &str)], body: &str) -> Answer {
    let authority = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(authority).expect("connect to listen");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let started = Instant::now();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let elapsed = started.elapsed();
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete HTTP answer");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
        elapsed,
    }
}

/// A POST of a small typed event to `base`/webhook.
fn post(base: &str, event_type: &str) -> Answer {
    let body = format!(r#"{{"id":"evt_raw","type":"{event_type}"}}"#);
    request(base, "POST", "/webhook", &[], &body)
}

/// `hookctl send ARGS --to URL`, returning its output (whatever the exit code).
fn send(url: &str, args: &[&str]) -> Output {
    hookctl()
        .arg("send")
        .args(args)
        .args(["--to", url])
        .output()
        .expect("run hookctl send")
}

fn assert_sent(out: &Output) {
    assert!(
        out.status.success(),
        "send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Waits for a listen child to exit on its own; returns its code and all of its stderr.
fn finish(listen: &mut Listen) -> (Option<i32>, String) {
    let code = listen.wait().code();
    (code, listen.stderr.rest().join("\n"))
}

/// The `status` field of every captured event, in order.
fn captured_statuses(path: &Path) -> Vec<u16> {
    read_capture(path)
        .iter()
        .map(|e| e.notes.status.expect("captured status"))
        .collect()
}

/// The `status` of each `result` record in `send --json` output.
fn result_statuses(stdout: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "result")
        .map(|v| v["status"].as_u64().expect("result status") as u16)
        .collect()
}

/// The event every predicate test sends: PUT /hooks/stripe, X-Env: ci-42, amount 4100.
fn send_probe(url: &str) {
    assert_sent(&send(
        &format!("{url}/hooks/stripe"),
        &[
            "payment_success",
            "-X",
            "PUT",
            "-H",
            "X-Env: ci-42",
            "--set",
            "data.amount=4100",
        ],
    ));
}

/// Runs `listen --port 0 --timeout 1s ARGS` (bounded even if it wrongly starts) and asserts
/// that it fails with `code` and `why` on stderr.
fn listen_refuses(args: &[&str], code: i32, why: &str) -> assert_cmd::assert::Assert {
    hookctl()
        .args(["listen", "--port", "0", "--timeout", "1s"])
        .args(args)
        .timeout(WAIT)
        .assert()
        .code(code)
        .stderr(predicates::str::contains("error: "))
        .stderr(predicates::str::contains(why))
}

#[test]
fn each_predicate_kind_matches_and_exits_0() {
    let hits = [
        "type=payment_*",
        "path=/hooks/*",
        "method=put",
        "header.X-ENV=ci-*",
        "body.data.amount=4100",
        "body.data.currency=usd",
        "type=payment_success,path=/hooks/stripe,method=PUT,header.x-env=ci-42,body.data.amount=4100",
    ];
    std::thread::scope(|s| {
        for expr in hits {
            s.spawn(move || {
                let mut listen = Listen::start(&["--expect", expr, "--timeout", "30s"]);
                let started = Instant::now();
                send_probe(&listen.url);
                let (code, stderr) = finish(&mut listen);
                assert_eq!(code, Some(0), "{expr}: {stderr}");
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "{expr}: exit must not wait for the 30s timeout"
                );
                assert!(!stderr.contains("timed out"), "{expr}: {stderr}");
            });
        }
    });
}

#[test]
fn each_predicate_kind_unmatched_times_out_with_exit_4_and_the_closest_event() {
    let misses = [
        (
            "type=payment_failed",
            "type is payment_success, not payment_failed",
        ),
        ("path=/other/*", "path is /hooks/stripe, not /other/*"),
        ("method=POST", "method is PUT, not POST"),
        ("header.x-env=prod*", "header x-env is ci-42, not prod*"),
        ("header.x-missing=*", "header x-missing is missing"),
        (
            "type=payment_success,body.data.amount=4200",
            "(payment_success): 1/2 predicates held; body.data.amount is 4100, not 4200",
        ),
    ];
    std::thread::scope(|s| {
        for (expr, why) in misses {
            s.spawn(move || {
                let mut listen = Listen::start(&["--expect", expr, "--timeout", "1s"]);
                send_probe(&listen.url);
                let (code, stderr) = finish(&mut listen);
                assert_eq!(code, Some(4), "{expr}: {stderr}");
                assert!(
                    stderr.contains("timed out waiting for expected events"),
                    "{stderr}"
                );
                assert!(
                    stderr.contains(&format!(
                        "expectation #1 `{expr}` was not met; closest events:"
                    )),
                    "{expr}: {stderr}"
                );
                assert!(stderr.contains(why), "{expr}: want {why:?} in {stderr}");
            });
        }
    });
}

#[test]
fn no_events_at_all_is_reported_as_such() {
    let mut listen = Listen::start(&["--expect", "type=payment_success", "--timeout", "300ms"]);
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("expectation #1 `type=payment_success` was not met; no events arrived"),
        "{stderr}"
    );
}

#[test]
fn bad_expectations_are_errors_before_listening() {
    for (expr, why) in [
        (
            "amount=4200",
            "bad --expect `amount=4200`: unknown field `amount`",
        ),
        ("type=[", "invalid glob"),
        ("method=P O", "is not an HTTP method"),
    ] {
        listen_refuses(&["--expect", expr], 1, why)
            .stderr(predicates::str::contains("listening").not());
    }
}

#[test]
fn count_combined_with_expect_is_rejected() {
    listen_refuses(
        &["--expect", "type=a", "--count", "2"],
        1,
        "--count cannot be combined with --expect; repeat --expect",
    );
}

#[test]
fn one_event_meets_only_the_first_of_two_expectations() {
    let both = [
        "--expect",
        "type=payment_*",
        "--expect",
        "type=payment_success",
    ];
    let mut listen = Listen::start(&[&both[..], &["--timeout", "1s"]].concat());
    assert_sent(&send(&listen.url, &["payment_success"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(!stderr.contains("expectation #1"), "{stderr}");
    assert!(
        stderr.contains("expectation #2 `type=payment_success` was not met")
            && stderr.contains("matched, but was counted for an earlier expectation"),
        "{stderr}"
    );

    // A second matching event meets the second expectation.
    let mut listen = Listen::start(&[&both[..], &["--timeout", "30s"]].concat());
    assert_sent(&send(&listen.url, &["payment_success"]));
    assert_sent(&send(&listen.url, &["payment_success"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn count_exits_0_after_exactly_n_events() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--count",
        "3",
        "--timeout",
        "2m",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    // Each send only returns once answered, so had listen stopped after 2, the third would fail.
    for kind in ["payment_success", "order_created", "refund_created"] {
        assert_sent(&send(&listen.url, &[kind]));
    }
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("3 events"), "{stderr}");
    assert_eq!(read_capture(&capture).len(), 3);
}

#[test]
fn count_unmet_at_timeout_exits_4() {
    let mut listen = Listen::start(&["--count", "3", "--timeout", "1s"]);
    assert_sent(&send(&listen.url, &["payment_success"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("expected 3 events, received 1"), "{stderr}");
}

#[test]
fn timeout_alone_exits_0() {
    let started = Instant::now();
    let mut listen = Listen::start(&["--timeout", "500ms"]);
    assert_sent(&send(&listen.url, &["payment_success"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("1 event"), "{stderr}");
    assert!(!stderr.contains("timed out"), "{stderr}");
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[test]
fn bad_timeout_is_a_usage_error() {
    hookctl()
        .args(["listen", "--port", "0", "--timeout", "soon"])
        .timeout(WAIT)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("invalid duration"));
}

/// A listen child spawned without waiting for its announcement; killed on drop.
struct Bare(Child);

impl Drop for Bare {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls for a non-empty file, with a deadline.
fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.is_empty() {
                return text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        // A file appearing has no portable blocking wait; poll it.
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn ready_file_holds_the_real_url_once_connections_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("url");
    let child = hookctl_std()
        .args(["listen", "--port", "0", "--count", "1", "--ready-file"])
        .arg(&ready)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Bare(child);
    let text = wait_for_file(&ready);
    // Connect at once: no retry, no sleep.
    let url = text.trim_end();
    assert_eq!(text, format!("{url}\n"));
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a loopback URL: {text:?}"));
    assert_ne!(port, 0);
    let health = request(url, "GET", "/_hookctl/health", &[], "");
    assert_eq!(health.status, 200);
    assert_eq!(post(url, "payment_success").status, 200);
    assert!(wait_child(&mut child.0).success());
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(leftovers, [ready], "no temporary file is left behind");
}

#[test]
fn ready_file_that_cannot_be_written_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("no/such/dir/url");
    hookctl()
        .args(["listen", "--port", "0", "--timeout", "5s", "--ready-file"])
        .arg(&ready)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot write --ready-file"));
}

#[test]
fn json_starts_with_the_ready_record_then_events() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--json",
        "--ready-json",
        "--count",
        "2",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let first = listen.stdout.wait_for("the ready record", |_| true);
    let ready: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(ready["kind"], "ready", "{first}");
    assert_eq!(ready["url"], listen.url.as_str());
    assert_sent(&send(&listen.url, &["payment_success"]));
    assert_sent(&send(&listen.url, &["order_created"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    let lines = listen.stdout.rest();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let types: Vec<serde_json::Value> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .inspect(|v| assert_eq!(v["kind"], "event", "{v}"))
        .map(|v| v["type"].clone())
        .collect();
    assert_eq!(types, ["payment_success", "order_created"]);
    assert_eq!(read_capture(&capture).len(), 2);
}

#[test]
fn health_answers_200_and_is_not_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    for json in [true, false] {
        let mut args = vec!["--count", "1", "--capture", capture.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let mut listen = Listen::start(&args);
        for method in ["GET", "HEAD"] {
            let health = request(&listen.url, method, "/_hookctl/health", &[], "");
            assert_eq!(health.status, 200, "{method}");
        }
        let get = request(&listen.url, "GET", "/_hookctl/health", &[], "");
        assert!(get.body.contains("ok"), "{}", get.body);
        let other = request(&listen.url, "POST", "/_hookctl/other", &[], "{}");
        assert_eq!(other.status, 404);
        assert!(
            other.body.contains("reserved for hookctl"),
            "{}",
            other.body
        );
        // Had the health checks counted, --count 1 would have ended listen already.
        assert_sent(&send(&listen.url, &["payment_success"]));
        let (code, stderr) = finish(&mut listen);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stderr.contains("1 event "), "{stderr}");
        let stdout = listen.stdout.rest().join("\n");
        assert!(!stdout.contains("_hookctl"), "{stdout}");
    }
    let captured = read_capture(&capture);
    assert_eq!(captured.len(), 2, "one event per run, no health checks");
    assert!(
        captured.iter().all(|e| e.path == "/" && e.method == "POST"),
        "{captured:?}"
    );
}

#[test]
fn status_sequence_repeats_its_last_status() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--respond",
        "500,500,200",
        "--count",
        "5",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let seen: Vec<u16> = (0..4)
        .map(|_| post(&listen.url, "payment_success").status)
        .collect();
    assert_eq!(seen, [500, 500, 200, 200]);
    // hookctl send sees the repeated last status too.
    let out = send(&listen.url, &["payment_success", "--json"]);
    assert_sent(&out);
    assert_eq!(result_statuses(&out.stdout), [200]);
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(captured_statuses(&capture), [500, 500, 200, 200, 200]);
}

#[test]
fn fixed_status_answers_every_delivery() {
    let mut listen = Listen::start(&["--status", "503", "--count", "2"]);
    for _ in 0..2 {
        let answer = post(&listen.url, "payment_success");
        assert_eq!(answer.status, 503);
        assert_eq!(answer.header("retry-after"), Some("1"), "the default");
    }
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn status_and_respond_conflict() {
    listen_refuses(
        &["--status", "500", "--respond", "500,200"],
        2,
        "cannot be used with",
    );
}

#[test]
fn invalid_statuses_and_rates_are_errors() {
    for (args, why) in [
        (&["--status", "42"][..], "42 is not an HTTP status"),
        (&["--respond", "200,1000"][..], "1000 is not an HTTP status"),
        (&["--response-header", "nocolon"][..], "invalid header"),
        (
            &["--response-header", "X-A: a\u{1}b"][..],
            "invalid header value \"a\\u{1}b\" in \"X-A: a\\u{1}b\"; use visible ASCII",
        ),
    ] {
        listen_refuses(args, 1, why);
    }
    listen_refuses(
        &["--fail-rate", "1.5"],
        2,
        "invalid ratio \"1.5\"; use a number from 0 to 1",
    );
}

/// One run of `listen --fail-rate 0.3 --seed 42` answering 50 `send`s: the statuses the sender
/// saw, and the ones captured.
fn fail_rate_run() -> (Vec<u16>, Vec<u16>) {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--fail-rate",
        "0.3",
        "--seed",
        "42",
        "--count",
        "50",
        "--quiet",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let out = send(&listen.url, &["payment_success", "--count", "50", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "some deliveries failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    (result_statuses(&out.stdout), captured_statuses(&capture))
}

#[test]
fn seeded_fail_rate_repeats_across_runs() {
    let (client_a, captured_a) = fail_rate_run();
    let (client_b, captured_b) = fail_rate_run();
    assert_eq!(client_a.len(), 50);
    assert_eq!(
        client_a, captured_a,
        "the capture records what was answered"
    );
    assert_eq!(client_b, captured_b);
    assert_eq!(client_a, client_b, "same seed, same sequence");
    let failures = client_a.iter().filter(|&&s| s == 500).count();
    assert!((5..=28).contains(&failures), "{failures} of 50 failed");
    assert!(client_a.iter().all(|&s| s == 500 || s == 200));
}

#[test]
fn delay_holds_the_answer() {
    let mut listen = Listen::start(&["--delay", "300ms", "--count", "1"]);
    let answer = post(&listen.url, "payment_success");
    assert_eq!(answer.status, 200);
    assert!(
        answer.elapsed >= Duration::from_millis(300),
        "{:?}",
        answer.elapsed
    );
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn rate_limit_answers_carry_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--status",
        "429",
        "--retry-after",
        "7",
        "--count",
        "1",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let answer = post(&listen.url, "payment_success");
    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("7"));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(captured_statuses(&capture), [429]);
}

#[test]
fn response_body_and_headers_reach_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("answer.xml");
    std::fs::write(&file, "<ok from=\"file\"/>").unwrap();
    let at_file = format!("@{}", file.display());
    for (body, want) in [
        ("plain text, thanks", "plain text, thanks"),
        (at_file.as_str(), "<ok from=\"file\"/>"),
    ] {
        let mut listen = Listen::start(&[
            "--response-body",
            body,
            "--response-header",
            "X-Test-Run: 42",
            "--response-header",
            "Cache-Control: no-store",
            "--count",
            "1",
        ]);
        let answer = post(&listen.url, "payment_success");
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body, want);
        assert_eq!(answer.header("x-test-run"), Some("42"));
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        let (code, stderr) = finish(&mut listen);
        assert_eq!(code, Some(0), "{stderr}");
    }
}

#[test]
fn missing_response_body_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = format!("@{}", dir.path().join("nope.json").display());
    listen_refuses(
        &["--response-body", &missing],
        1,
        "cannot read --response-body file",
    );
}

#[test]
fn only_tag_counts_prints_and_captures_only_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let mut listen = Listen::start(&[
        "--only-tag",
        "run-A",
        "--count",
        "1",
        "--json",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    // The other run's delivery is answered normally but not counted: listen keeps going.
    let other = send(&listen.url, &["order_created", "--tag", "run-B", "--json"]);
    assert_sent(&other);
    assert_eq!(result_statuses(&other.stdout), [200]);
    let untagged = post(&listen.url, "order_created");
    assert_eq!(untagged.status, 200);
    assert_sent(&send(&listen.url, &["payment_success", "--tag", "run-A"]));
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("1 event "), "{stderr}");
    let captured = read_capture(&capture);
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].event_type.as_deref(), Some("payment_success"));
    assert_eq!(captured[0].header("x-hookctl-tag"), Some("run-A"));
    let stdout = listen.stdout.rest();
    assert_eq!(stdout.len(), 1, "run A only: {stdout:#?}");
    assert!(!stdout.join("\n").contains("run-B"));
}

#[test]
fn replay_tag_replaces_the_captured_tag() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let second = dir.path().join("second.jsonl");
    let mut listen = Listen::start(&["--count", "1", "--capture", first.to_str().unwrap()]);
    assert_sent(&send(&listen.url, &["payment_success", "--tag", "old-run"]));
    assert_eq!(finish(&mut listen).0, Some(0));

    let mut listen = Listen::start(&[
        "--only-tag",
        "new-run",
        "--count",
        "1",
        "--capture",
        second.to_str().unwrap(),
    ]);
    hookctl()
        .arg("replay")
        .arg(&first)
        .args(["--to", &listen.url, "--tag", "new-run"])
        .assert()
        .success();
    let (code, stderr) = finish(&mut listen);
    assert_eq!(code, Some(0), "{stderr}");
    let captured = read_capture(&second);
    assert_eq!(captured.len(), 1);
    let tags: Vec<&str> = captured[0].headers.get_all("x-hookctl-tag").collect();
    assert_eq!(tags, ["new-run"]);
}

/// Runs tests/fixtures/ci-recipe.sh with bash, the binary under test and `vars`.
fn run_recipe(dir: &Path, vars: &[(&str, &str)]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ci-recipe.sh");
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(script)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("HOOKCTL", crate::support::bin())
        .env("DIR", dir)
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < WAIT, "the recipe took too long");
    out
}

#[test]
fn readme_recipe_passes_when_the_event_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_recipe(dir.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let captured = read_capture(&dir.path().join("events.jsonl"));
    assert_eq!(captured.len(), 1, "{stderr}");
    assert_eq!(captured[0].event_type.as_deref(), Some("payment_success"));
    assert_eq!(captured[0].notes.status, Some(200));
}

#[test]
fn readme_recipe_fails_with_4_when_the_event_never_comes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_recipe(dir.path(), &[("EVENT", "order_created"), ("TIMEOUT", "1s")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("expectation #1 `type=payment_success` was not met"),
        "{stderr}"
    );
    assert!(stderr.contains("type is order_created"), "{stderr}");
    let captured = read_capture(&dir.path().join("events.jsonl"));
    assert_eq!(captured.len(), 1);
}
