//! The delivery engine behind `send`, `replay` and `listen --forward-to`: retries, backoff,
//! Retry-After, timeouts, dead letters, concurrency, rate, `--json`, the summary, Ctrl-C,
//! `--speed`, `--follow`, and forwarding.

use std::io::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use hookctl::event::Event;
use hookctl::listen::server::Reply;
use hookctl::signature::{self, Scheme, Secret, Verdict};
use serde_json::Value;

use crate::support::{
    dead_url, end_to_end_headers, hookctl, ok_reply, read_capture, spawn_hookctl, status_reply,
    Listen, Recorder, Seen, WAIT,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One capture line for a hand-made event `n`, with `pad` extra bytes in its body.
fn event_line(name: &str, at: SystemTime, pad: usize) -> String {
    let body = format!(
        r#"{{"id":"{name}","type":"test.event","pad":"{}"}}"#,
        "x".repeat(pad)
    );
    let event = Event::from_parts(
        "POST",
        "/hooks",
        None,
        [("content-type", "application/json"), ("webhook-id", name)]
            .into_iter()
            .collect(),
        Bytes::from(body),
        at,
    );
    assert_eq!(event.id, name);
    event.to_json_line() + "\n"
}

/// Writes a capture of `n` events received now; returns their ids in file order.
fn write_capture(path: &Path, n: usize) -> Vec<String> {
    let now = SystemTime::now();
    let ids: Vec<String> = (0..n).map(|i| format!("evt_{i:03}")).collect();
    let text: String = ids.iter().map(|id| event_line(id, now, 0)).collect();
    std::fs::write(path, text).unwrap();
    ids
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every stdout line, each parsed as JSON (panics on anything else).
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect()
}

fn gap(a: &Seen, b: &Seen) -> Duration {
    b.at.duration_since(a.at)
}

fn run(args: &[&str]) -> Output {
    hookctl().args(args).timeout(WAIT).output().unwrap()
}

fn standard_verdict(event: &Event) -> Verdict {
    signature::verify(
        &Scheme::Standard,
        &[Secret::new(SECRET)],
        &event.headers,
        &event.body,
        hookctl::send::compose::unix_now(),
        300,
    )
}

fn timestamp(event: &Event) -> i64 {
    event.header("webhook-timestamp").unwrap().parse().unwrap()
}

#[test]
fn retries_until_success_keep_the_event_id_and_back_off_within_bounds() {
    let rec = Recorder::start(|n, _| {
        let reply = if n < 2 {
            status_reply(500, &[])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let to = format!("{}/webhook", rec.url);
    let out = run(&[
        "send",
        "payment_success",
        "--to",
        &to,
        "--sign",
        "standard",
        "--secret",
        SECRET,
        "--retries",
        "3",
        "--backoff",
        "100ms",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(3);
    assert!(rec.drain().is_empty(), "no attempt after the 200");
    let id = &seen[0].event.id;
    for s in &seen {
        assert_eq!(&s.event.id, id);
        assert_eq!(s.event.header("webhook-id"), Some(id.as_str()));
    }
    // Full jitter: attempt k waits at most backoff * 2^(k-1); allow 500ms of slack.
    assert!(gap(&seen[0], &seen[1]) <= Duration::from_millis(100 + 500));
    assert!(gap(&seen[1], &seen[2]) <= Duration::from_millis(200 + 500));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["kind"], "result");
    assert_eq!(lines[0]["id"], id.as_str());
    assert_eq!(lines[0]["attempts"], 3);
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["kind"], "summary");
    assert_eq!(lines[1]["retries"], 2);
}

#[test]
fn retry_after_in_seconds_is_honoured() {
    let rec = Recorder::start(|n, _| {
        let reply = if n == 0 {
            status_reply(429, &[("retry-after", "1")])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &rec.url,
        "--retries",
        "2",
        "--backoff",
        "1ms",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(2);
    assert!(
        gap(&seen[0], &seen[1]) >= Duration::from_millis(900),
        "retried after {:?}, before Retry-After: 1",
        gap(&seen[0], &seen[1])
    );
    assert_eq!(seen[0].event.id, seen[1].event.id);
    assert_eq!(json_lines(&out)[0]["attempts"], 2);
}

#[test]
fn retry_after_as_an_http_date_is_honoured() {
    let rec = Recorder::start(|n, _| {
        let reply = if n == 0 {
            let when = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            status_reply(503, &[("retry-after", &when)])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &rec.url,
        "--retries",
        "1",
        "--backoff",
        "1ms",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(2);
    let waited = gap(&seen[0], &seen[1]);
    // The date has whole seconds, so "2s ahead" can mean just over 1s.
    assert!(
        waited >= Duration::from_millis(900),
        "retried after {waited:?}"
    );
    assert!(waited <= Duration::from_secs(4), "retried after {waited:?}");
}

/// 503 + Retry-After: 1, then 200: two attempts at least a second apart.
fn slow_retry_recorder() -> Recorder {
    Recorder::start(|n, _| {
        let reply = if n == 0 {
            status_reply(503, &[("retry-after", "1")])
        } else {
            ok_reply()
        };
        (reply, None)
    })
}

#[test]
fn replay_resign_signs_every_attempt_afresh() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let ids = write_capture(&file, 1);
    let rec = slow_retry_recorder();
    let out = run(&[
        "replay",
        file.to_str().unwrap(),
        "--to",
        &rec.url,
        "--resign",
        "standard",
        "--secret",
        SECRET,
        "--retries",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(2);
    for s in &seen {
        assert_eq!(s.event.id, ids[0]);
        assert!(
            matches!(standard_verdict(&s.event), Verdict::Valid { .. }),
            "attempt carries a valid signature: {:?}",
            s.event.headers
        );
    }
    assert!(
        timestamp(&seen[1].event) > timestamp(&seen[0].event),
        "the retry was signed with a fresh timestamp"
    );
}

#[test]
fn send_sign_signs_every_attempt_afresh() {
    let rec = slow_retry_recorder();
    let out = run(&[
        "send",
        "payment_success",
        "--to",
        &rec.url,
        "--sign",
        "standard",
        "--secret",
        SECRET,
        "--retries",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(2);
    assert!(matches!(
        standard_verdict(&seen[1].event),
        Verdict::Valid { .. }
    ));
    assert!(
        timestamp(&seen[1].event) > timestamp(&seen[0].event),
        "the retry was signed with a fresh timestamp"
    );
}

#[test]
fn a_400_is_never_retried() {
    let rec = Recorder::start(|_, _| (status_reply(400, &[]), None));
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &rec.url,
        "--retries",
        "3",
        "--backoff",
        "1ms",
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("400 Bad Request"), "{}", stderr(&out));
    rec.next();
    assert!(rec.drain().is_empty(), "a 400 was retried");
}

#[test]
fn exhausted_retries_go_to_the_dead_letter_file_which_replays() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.jsonl");
    let failing = Recorder::start(|_, _| (status_reply(503, &[]), None));
    let out = run(&[
        "send",
        "payment_failed",
        "--to",
        &format!("{}/hooks", failing.url),
        "--retries",
        "2",
        "--backoff",
        "10ms",
        "--dead-letter",
        dead.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("503 Service Unavailable"), "{err}");
    assert!(err.contains("written to"), "{err}");
    let seen = failing.take(3);
    assert!(failing.drain().is_empty(), "more than 1 + 2 retries");
    let letters = read_capture(&dead);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].id, seen[0].event.id);
    assert_eq!(letters[0].body, seen[0].event.body);
    let why = letters[0].notes.error.as_deref().unwrap_or_default();
    assert!(why.contains("503"), "dead letter error: {why:?}");

    let healthy = Recorder::ok();
    let out = run(&["replay", dead.to_str().unwrap(), "--to", &healthy.url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let again = healthy.next();
    assert_eq!(again.event.id, seen[0].event.id);
    assert_eq!(again.event.body, seen[0].event.body);
    assert_eq!(again.event.path, "/hooks");
}

#[test]
fn connection_refused_counts_attempts_and_says_so_once() {
    let url = dead_url();
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &url,
        "--retries",
        "2",
        "--backoff",
        "10ms",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["attempts"], 3);
    assert_eq!(lines[0]["status"], Value::Null);
    assert!(lines[0]["error"]
        .as_str()
        .unwrap()
        .contains("cannot connect"));
    assert_eq!(lines[1]["failed"], 1);

    let out = run(&["send", "order_created", "--to", &url, "--retries", "1"]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    let mentions = err.lines().filter(|l| l.contains("cannot connect")).count();
    assert_eq!(mentions, 1, "{err}");
    assert!(err.contains(&url), "{err}");
}

#[test]
fn a_slow_answer_times_out() {
    let rec = Recorder::start(|_, _| (ok_reply(), Some(Duration::from_secs(2))));
    let started = Instant::now();
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &rec.url,
        "--timeout",
        "300ms",
    ]);
    assert!(started.elapsed() < Duration::from_millis(1800));
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(
        err.contains("no answer") && err.contains("within 300ms"),
        "{err}"
    );
    assert!(err.contains("--timeout"), "{err}");
}

#[test]
fn a_timed_out_attempt_is_retried() {
    let rec = Recorder::start(|n, _| {
        let delay = (n == 0).then_some(Duration::from_secs(1));
        (ok_reply(), delay)
    });
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &rec.url,
        "--timeout",
        "200ms",
        "--retries",
        "1",
        "--backoff",
        "1ms",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(2);
    assert_eq!(seen[0].event.id, seen[1].event.id);
    let result = &json_lines(&out)[0];
    assert_eq!(
        (result["attempts"].as_u64(), result["ok"].as_bool()),
        (Some(2), Some(true))
    );
}

#[test]
fn concurrency_caps_deliveries_in_flight() {
    let rec = Recorder::start(|_, _| (ok_reply(), Some(Duration::from_millis(200))));
    let out = run(&[
        "send",
        "sensor_reading",
        "--to",
        &rec.url,
        "--count",
        "20",
        "--concurrency",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(rec.take(20).len(), 20);
    let max = rec.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=4).contains(&max), "max in flight {max}");
    assert!(stderr(&out).contains("may have arrived out of order"));
}

#[test]
fn default_concurrency_keeps_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let ids = write_capture(&file, 8);
    let rec = Recorder::start(|_, _| (ok_reply(), Some(Duration::from_millis(20))));
    let out = run(&["replay", file.to_str().unwrap(), "--to", &rec.url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let order: Vec<String> = rec.take(8).into_iter().map(|s| s.event.id).collect();
    assert_eq!(order, ids);
    assert_eq!(
        rec.max_in_flight.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert!(!stderr(&out).contains("out of order"));
}

#[test]
fn rate_caps_throughput_whatever_the_concurrency() {
    let rec = Recorder::ok();
    let started = Instant::now();
    let out = run(&[
        "send",
        "sensor_reading",
        "--to",
        &rec.url,
        "--count",
        "10",
        "--rate",
        "20/s",
        "--concurrency",
        "4",
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // 10 starts at 20/s: 9 periods of 50ms.
    assert!(took >= Duration::from_millis(400), "took {took:?}");
    let seen = rec.take(10);
    let span = gap(&seen[0], &seen[9]);
    assert!(
        span >= Duration::from_millis(400),
        "arrivals spanned {span:?}"
    );
}

#[test]
fn rate_caps_a_burst_after_an_idle_gap() {
    // Four events: one, then three at once 4s later. --speed 4 makes that a 1s pause,
    // and --rate 4/s must still space the three by about 250ms.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let t0 = SystemTime::now() - Duration::from_secs(60);
    let later = t0 + Duration::from_secs(4);
    let text = event_line("evt_a", t0, 0)
        + &event_line("evt_b", later, 0)
        + &event_line("evt_c", later, 0)
        + &event_line("evt_d", later, 0);
    std::fs::write(&file, text).unwrap();
    let rec = Recorder::ok();
    let out = run(&[
        "replay",
        file.to_str().unwrap(),
        "--to",
        &rec.url,
        "--speed",
        "4",
        "--rate",
        "4/s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(4);
    let burst = gap(&seen[1], &seen[3]);
    assert!(
        burst >= Duration::from_millis(400),
        "three events went out within {burst:?} at --rate 4/s"
    );
}

#[test]
fn json_prints_results_then_one_summary() {
    let rec = Recorder::start(|n, _| {
        let reply = if n == 2 {
            status_reply(500, &[])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let out = run(&[
        "send",
        "payment_success",
        "--to",
        &rec.url,
        "--count",
        "5",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6, "{lines:?}");
    let (summary, results) = lines.split_last().unwrap();
    assert!(results.iter().all(|r| r["kind"] == "result"), "{results:?}");
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["sent"], 5);
    assert_eq!(summary["succeeded"], 4);
    assert_eq!(summary["rejected"], 1);
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["interrupted"], false);
    for key in ["p50", "p90", "p99", "max"] {
        assert!(summary["latency_ms"][key].is_number(), "{summary}");
    }
    assert_eq!(results.iter().filter(|r| r["ok"] == true).count(), 4);
    let failed: Vec<_> = results.iter().filter(|r| r["ok"] == false).collect();
    assert_eq!(failed[0]["status"], 500);
    assert!(failed[0]["error"].as_str().unwrap().contains("500"));
    // --count sends fresh ids.
    let mut sent: Vec<String> = rec.take(5).into_iter().map(|s| s.event.id).collect();
    let mut reported: Vec<String> = results
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    sent.sort();
    sent.dedup();
    reported.sort();
    assert_eq!(sent.len(), 5, "ids repeat");
    assert_eq!(sent, reported);
}

#[test]
fn summary_on_stderr_has_counts_and_percentiles() {
    let rec = Recorder::start(|n, _| {
        let reply = if n == 0 {
            status_reply(422, &[])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let out = run(&["send", "order_shipped", "--to", &rec.url, "--count", "4"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        out.stdout.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = stderr(&out);
    for part in [
        "sent 4 events",
        "3 2xx",
        "1 non-2xx",
        "0 failed",
        "/s)",
        "p50 ",
        "p90 ",
        "p99 ",
        "max ",
        "422 Unprocessable Entity",
    ] {
        assert!(err.contains(part), "missing {part:?} in {err}");
    }
}

#[test]
fn ctrl_c_finishes_the_attempt_in_flight_and_exits_130() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    write_capture(&file, 30);
    let rec = Recorder::start(|_, _| (ok_reply(), Some(Duration::from_millis(300))));
    let mut child = spawn_hookctl(&[
        "replay",
        file.to_str().unwrap(),
        "--to",
        &rec.url,
        "--concurrency",
        "1",
        "--json",
    ]);
    rec.take(2);
    let status = child.interrupt();
    assert_eq!(status.code(), Some(130));
    let err = child.stderr.rest().join("\n");
    assert!(err.contains("interrupted"), "{err}");
    let lines: Vec<Value> = child
        .stdout
        .rest()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let (summary, results) = lines.split_last().unwrap();
    assert_eq!(summary["kind"], "summary");
    assert_eq!(summary["interrupted"], true);
    let sent = summary["sent"].as_u64().unwrap();
    assert!((2..30).contains(&sent), "sent {sent}");
    // The attempt in flight at Ctrl-C was allowed to finish with its 200.
    assert_eq!(results.len() as u64, sent);
    assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
    assert!(rec.drain().len() < 28, "kept sending after Ctrl-C");
}

#[test]
fn speed_keeps_the_original_gaps_divided() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let t0 = SystemTime::now() - Duration::from_secs(3600);
    let offsets = [0, 0, 1, 3];
    let text: String = offsets
        .iter()
        .enumerate()
        .map(|(i, s)| event_line(&format!("evt_{i}"), t0 + Duration::from_secs(*s), 0))
        .collect();
    std::fs::write(&file, text).unwrap();
    let rec = Recorder::ok();
    let out = run(&[
        "replay",
        file.to_str().unwrap(),
        "--to",
        &rec.url,
        "--speed",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = rec.take(4);
    let gaps: Vec<f64> = seen
        .windows(2)
        .map(|w| gap(&w[0], &w[1]).as_secs_f64())
        .collect();
    assert!(gaps[0] <= 0.2, "{gaps:?}");
    assert!((0.2..=0.6).contains(&gaps[1]), "{gaps:?}");
    assert!((0.4..=0.9).contains(&gaps[2]), "{gaps:?}");
}

#[test]
fn follow_picks_up_appends_rotation_and_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.jsonl");
    let now = SystemTime::now();
    std::fs::write(&file, event_line("evt_first", now, 0)).unwrap();
    let rec = Recorder::ok();
    let mut child = spawn_hookctl(&[
        "replay",
        file.to_str().unwrap(),
        "--follow",
        "--to",
        &rec.url,
    ]);
    assert_eq!(rec.next().event.id, "evt_first");

    append(&file, &event_line("evt_appended", now, 0));
    assert_eq!(rec.next().event.id, "evt_appended");

    std::fs::rename(&file, dir.path().join("live.jsonl.1")).unwrap();
    // Long, so that the line written after the truncation is shorter than the file was.
    std::fs::write(&file, event_line("evt_rotated", now, 2000)).unwrap();
    assert_eq!(rec.next().event.id, "evt_rotated");

    std::fs::write(&file, event_line("evt_truncated", now, 0)).unwrap();
    assert_eq!(rec.next().event.id, "evt_truncated");

    let status = child.interrupt();
    assert_eq!(status.code(), Some(130));
    assert!(rec.drain().is_empty());
}

#[test]
fn follow_from_end_skips_existing_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.jsonl");
    let now = SystemTime::now();
    std::fs::write(
        &file,
        event_line("evt_old_1", now, 0) + &event_line("evt_old_2", now, 0),
    )
    .unwrap();
    let rec = Recorder::ok();
    let mut child = spawn_hookctl(&[
        "replay",
        file.to_str().unwrap(),
        "--follow",
        "--from-end",
        "--to",
        &rec.url,
    ]);
    // Nothing says when the file has been opened, so append until a line comes through.
    let deadline = Instant::now() + WAIT;
    let mut seen = Vec::new();
    for i in 0.. {
        assert!(Instant::now() < deadline, "no appended line was replayed");
        append(&file, &event_line(&format!("evt_new_{i}"), now, 0));
        if let Some(s) = rec.next_within(Duration::from_millis(300)) {
            seen.push(s.event.id);
            break;
        }
    }
    append(&file, &event_line("evt_last", now, 0));
    loop {
        let id = rec.next().event.id;
        seen.push(id.clone());
        if id == "evt_last" {
            break;
        }
    }
    assert!(
        seen.iter().all(|id| !id.starts_with("evt_old")),
        "existing lines were replayed: {seen:?}"
    );
    assert_eq!(child.interrupt().code(), Some(130));
}

#[test]
fn forward_relays_byte_exact_and_answers_with_the_apps_response() {
    let app = Recorder::start(|_, _| {
        let reply = Reply::bytes(418, Bytes::from_static(b"short and stout"))
            .with_header("content-type", "text/plain");
        (reply, None)
    });
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let body_file = dir.path().join("body.bin");
    let body: &[u8] = b"\x00\xffnot utf8\r\n{\"a\": 1}  ";
    std::fs::write(&body_file, body).unwrap();
    let listen = Listen::start(&[
        "--forward-to",
        &app.url,
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let out = run(&[
        "-v",
        "send",
        "--data",
        &format!("@{}", body_file.display()),
        "-X",
        "PUT",
        "-H",
        "X-Custom: one",
        "-H",
        "X-Custom: two",
        "-H",
        "Content-Type: application/octet-stream",
        "--to",
        &format!("{}/hooks/in?a=1&b=two%20words", listen.url),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("418"), "{stdout}");
    assert!(stdout.contains("short and stout"), "{stdout}");

    let relayed = app.next().event;
    assert_eq!(relayed.method, "PUT");
    assert_eq!(relayed.path, "/hooks/in");
    assert_eq!(relayed.query.as_deref(), Some("a=1&b=two%20words"));
    assert_eq!(&relayed.body[..], body);
    let captured = read_capture(&capture);
    assert_eq!(captured.len(), 1);
    assert_eq!(&captured[0].body[..], body);
    assert_eq!(
        end_to_end_headers(&relayed),
        end_to_end_headers(&captured[0])
    );
    let customs: Vec<_> = relayed.headers.get_all("x-custom").collect();
    assert_eq!(customs, ["one", "two"]);
    let forward = captured[0].notes.forward.as_ref().expect("forward note");
    assert_eq!(forward.status, Some(418));
    assert_eq!(forward.attempts, 1);
    assert_eq!(forward.url, app.url);
    assert_eq!(captured[0].notes.status, Some(418));
}

#[test]
fn forward_to_with_a_path_replaces_the_path() {
    let app = Recorder::start(|_, _| (status_reply(201, &[]), None));
    let listen = Listen::start(&["--forward-to", &format!("{}/app/hook", app.url)]);
    let out = run(&[
        "send",
        "order_created",
        "--to",
        &format!("{}/orig/path?x=1", listen.url),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["status"], 201);
    let relayed = app.next().event;
    assert_eq!(relayed.path, "/app/hook");
    assert_eq!(relayed.query.as_deref(), Some("x=1"));
}

#[test]
fn forward_retries_a_failing_app() {
    let app = Recorder::start(|n, _| {
        let reply = if n == 0 {
            status_reply(503, &[])
        } else {
            ok_reply()
        };
        (reply, None)
    });
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let listen = Listen::start(&[
        "--forward-to",
        &app.url,
        "--forward-retries",
        "2",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let out = run(&["send", "order_created", "--to", &listen.url, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["status"], 200);
    let seen = app.take(2);
    assert_eq!(seen[0].event.id, seen[1].event.id);
    let forward = read_capture(&capture)[0].notes.forward.clone().unwrap();
    assert_eq!((forward.status, forward.attempts), (Some(200), 2));
}

#[test]
fn forward_to_a_dead_app_answers_502() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("cap.jsonl");
    let app = dead_url();
    let mut listen = Listen::start(&["--forward-to", &app, "--capture", capture.to_str().unwrap()]);
    let out = run(&["send", "order_created", "--to", &listen.url, "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let result = &json_lines(&out)[0];
    assert_eq!(result["status"], 502);
    assert!(result["error"]
        .as_str()
        .unwrap()
        .contains("502 Bad Gateway"));
    let line = listen
        .stdout
        .wait_for("the event line", |l| l.contains("→ 502"));
    assert!(line.contains("cannot connect"), "{line}");
    let forward = read_capture(&capture)[0].notes.forward.clone().unwrap();
    assert_eq!(forward.status, None);
    assert!(forward.error.unwrap().contains("cannot connect"));
}

#[test]
fn forward_failure_is_reported_on_stderr_even_when_quiet() {
    let mut listen = Listen::start(&["--quiet", "--forward-to", &dead_url()]);
    let out = run(&["send", "order_created", "--to", &listen.url]);
    assert_eq!(out.status.code(), Some(3));
    listen
        .stderr
        .wait_for("a forward failure report", |l| l.contains("cannot connect"));
}

#[test]
fn exit_on_forward_failure_stops_listen_with_3() {
    // End to end: the binary's exit code.
    let mut listen = Listen::spawn(&["--forward-to", &dead_url(), "--exit-on-forward-failure"]);
    let out = run(&["send", "order_created", "--to", &listen.url]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("502"), "{}", stderr(&out));
    let status = listen.wait();
    assert_eq!(status.code(), Some(3));
    let err = listen.stderr.rest().join("\n");
    assert!(
        err.contains("hookctl: error: forwarding failed") && err.contains("cannot connect"),
        "{err}"
    );
}

#[test]
fn ack_first_answers_at_once_and_still_forwards() {
    let app = Recorder::start(|_, _| (status_reply(201, &[]), Some(Duration::from_secs(2))));
    let mut listen = Listen::start(&["--forward-to", &app.url, "--ack-first"]);
    let started = Instant::now();
    let out = run(&["send", "order_created", "--to", &listen.url, "--json"]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_lines(&out)[0]["status"], 200);
    assert!(
        took < Duration::from_millis(1500),
        "answered after {took:?}"
    );
    let relayed = app.next().event;
    assert_eq!(json_lines(&out)[0]["id"], relayed.id.as_str());
    let line = listen
        .stderr
        .wait_for("the background forward report", |l| l.contains("forwarded"));
    assert!(line.contains("201"), "{line}");
}

#[test]
fn follow_reports_each_result_without_waiting_for_the_next_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("live.jsonl");
    std::fs::write(&file, event_line("evt_only", SystemTime::now(), 0)).unwrap();
    let rec = Recorder::ok();
    let mut child = spawn_hookctl(&[
        "replay",
        file.to_str().unwrap(),
        "--follow",
        "--concurrency",
        "2",
        "--json",
        "--to",
        &rec.url,
    ]);
    assert_eq!(rec.next().event.id, "evt_only");
    let line = child
        .stdout
        .wait_for("the result line", |l| l.contains(r#""kind":"result""#));
    assert!(line.contains("evt_only"), "{line}");
    assert_eq!(child.interrupt().code(), Some(130));
}

#[test]
fn quiet_json_prints_only_failed_results_and_the_summary() {
    let rec = Recorder::ok();
    let to = format!("{}/webhook", rec.url);
    let out = run(&[
        "send",
        "payment_success",
        "--count",
        "3",
        "--to",
        &to,
        "--json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    rec.take(3);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["kind"], "summary");
    assert_eq!(lines[0]["succeeded"], 3);

    let dead = dead_url();
    let out = run(&[
        "send",
        "payment_success",
        "--count",
        "2",
        "--to",
        &dead,
        "--json",
        "-q",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[..2]
        .iter()
        .all(|l| l["kind"] == "result" && l["ok"] == false));
    assert_eq!(lines[2]["kind"], "summary");
    assert_eq!(lines[2]["failed"], 2);
}
