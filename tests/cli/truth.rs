//! Issue 22, "the README tells the truth": `--set` only changes fields that exist (`--set-new`
//! adds them), the id `send` prints is the id the receiver records, `verify` measures a
//! capture against when it was received, `replay` picks events by id and every field, and
//! signature ages read as people write them.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookctl::event::{Event, Headers};
use serde_json::{json, Value};

use crate::support::{hookctl, Listen, Recorder};

const SECRET: &str = "whsec_VE9QLVNFQ1JFVC1YWVotMDEyMzQ1Njc4OQ==";
const DAY: i64 = 86_400;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn parse_event(line: &str) -> Event {
    Event::from_json_line(line.as_bytes())
        .unwrap_or_else(|e| panic!("not a capture line ({e}): {line}"))
        .expect("an event record")
}

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `hookctl send --dry-run ARGS`: the one capture line it prints.
fn dry_run(args: &[&str]) -> String {
    let out = hookctl()
        .args(["send", "--dry-run"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "send {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

fn body_of(line: &str) -> Value {
    serde_json::from_slice(&parse_event(line).body).unwrap()
}

// ---------------------------------------------------------------------------------------------
// --set and --set-new

#[test]
fn set_on_a_field_the_sample_lacks_is_an_error_naming_the_nearest() {
    let out = hookctl()
        .args(["send", "payment_success", "--set", "data.amout=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "");
    assert_eq!(
        stderr(&out),
        "hookctl: error: --set data.amout=1: no field data.amout in payment_success; did you \
         mean data.amount? (use --set-new to add a field)\n"
    );
    // What the README used to show, and what it shows now.
    let out = hookctl()
        .args([
            "send",
            "order_created",
            "--dry-run",
            "--set",
            "data.items.0.qty=2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("did you mean data.line_items.0.quantity?"),
        "{}",
        stderr(&out)
    );
    let line = dry_run(&["order_created", "--set", "data.line_items.0.quantity=2"]);
    assert_eq!(
        body_of(&line)["data"]["line_items"][0]["quantity"],
        json!(2)
    );
    // Nothing close: the fields there are.
    let out = hookctl()
        .args(["send", "payment_success", "--dry-run"])
        .args(["--set", "data.metadata.campaign=spring"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "hookctl: error: --set data.metadata.campaign=spring: no field data.metadata.campaign \
         in payment_success; data.metadata has order_id, sku (use --set-new to add a field)\n"
    );
    let line = dry_run(&[
        "payment_success",
        "--set-new",
        "data.metadata.campaign=spring",
    ]);
    assert_eq!(
        body_of(&line)["data"]["metadata"]["campaign"],
        json!("spring")
    );
}

#[test]
fn set_edits_a_data_body_the_same_way() {
    let line = dry_run(&["--data", r#"{"order": {"qty": 1}}"#, "--set", "order.qty=2"]);
    assert_eq!(body_of(&line), json!({"order": {"qty": 2}}));
    let line = dry_run(&["--data", r#"{"order": {}}"#, "--set-new", "order.note=gift"]);
    assert_eq!(body_of(&line), json!({"order": {"note": "gift"}}));
    for (data, set, why) in [
        (
            r#"{"order": {"qty": 1}}"#,
            "order.qtx=2",
            "--set order.qtx=2: no field order.qtx in the --data body; did you mean order.qty? \
             (use --set-new to add a field)",
        ),
        (
            "qty=1",
            "qty=2",
            "--set and --set-new edit JSON, and the --data body is not JSON: ",
        ),
    ] {
        let out = hookctl()
            .args(["send", "--dry-run", "--data", data, "--set", set])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{set}");
        assert_eq!(stdout(&out), "");
        assert!(
            stderr(&out).starts_with(&format!("hookctl: error: {why}")),
            "{}",
            stderr(&out)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// send --data: the id printed is the id recorded

/// Sends `args` to an in-process `listen --json` and returns (the id `send --json` printed,
/// the event listen recorded).
fn sent_and_recorded(args: &[&str]) -> (String, Event) {
    let mut listen = Listen::start(&["--json"]);
    let out = hookctl()
        .arg("send")
        .args(args)
        .args(["--to", &listen.url, "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["kind"] == "result")
        .unwrap_or_else(|| panic!("no result record: {}", stdout(&out)));
    let line = listen
        .stdout
        .wait_for("the event", |l| l.contains(r#""kind":"event""#));
    listen.interrupt();
    (
        result["id"].as_str().unwrap().to_owned(),
        parse_event(&line),
    )
}

#[test]
fn the_id_send_prints_is_the_id_listen_records() {
    // No id anywhere: send shows the receiver its id in X-Hookctl-Id.
    let (printed, recorded) = sent_and_recorded(&["--data", r#"{"a":1}"#]);
    assert!(printed.starts_with("evt_"), "{printed}");
    assert_eq!(recorded.id, printed);
    assert_eq!(recorded.header("x-hookctl-id"), Some(printed.as_str()));
    assert_eq!(&recorded.body[..], br#"{"a":1}"#, "the body is untouched");

    // The body's own id needs no header.
    let (printed, recorded) = sent_and_recorded(&["--data", r#"{"id":"mine_1","a":1}"#]);
    assert_eq!(
        (printed.as_str(), recorded.id.as_str()),
        ("mine_1", "mine_1")
    );
    assert_eq!(recorded.header("x-hookctl-id"), None);

    // An id pinned with --id wins over the body's, and the receiver is told.
    let args = ["--data", r#"{"id":"mine_1"}"#, "--id", "evt_pinned"];
    let (printed, recorded) = sent_and_recorded(&args);
    assert_eq!(
        (printed.as_str(), recorded.id.as_str()),
        ("evt_pinned", "evt_pinned")
    );

    // A scheme's own id header is enough: Standard Webhooks' webhook-id.
    let args = [
        "--data",
        r#"{"a":1}"#,
        "--sign",
        "standard",
        "--secret",
        SECRET,
    ];
    let (printed, recorded) = sent_and_recorded(&args);
    assert_eq!(recorded.id, printed);
    assert_eq!(recorded.header("webhook-id"), Some(printed.as_str()));
    assert_eq!(recorded.header("x-hookctl-id"), None);

    // An id header given with -H is the id.
    let args = ["payment_success", "-H", "webhook-id: msg_from_header"];
    let (printed, recorded) = sent_and_recorded(&args);
    assert_eq!(
        (printed.as_str(), recorded.id.as_str()),
        ("msg_from_header", "msg_from_header")
    );
}

#[test]
fn replay_new_ids_are_the_ids_the_receiver_records() {
    let dir = tempfile::tempdir().unwrap();
    let line = dry_run(&["--data", r#"{"id":"evt_old","type":"t"}"#]);
    let file = write_lines(dir.path(), "c.jsonl", &[line]);
    let rec = Recorder::ok();
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &rec.url, "--new-ids", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    let seen = rec.next().event;
    assert_ne!(seen.id, "evt_old");
    assert_eq!(json!(seen.id), result["id"]);
}

// ---------------------------------------------------------------------------------------------
// verify: against received_at, or --now; ages for people

/// A capture line signed (Standard Webhooks) at `signed`, received at `received`.
fn signed_line(signed: i64, received: i64) -> String {
    let line = dry_run(&[
        "payment_success",
        "--sign",
        "standard",
        "--secret",
        SECRET,
        "--timestamp",
        &signed.to_string(),
    ]);
    let mut event = parse_event(&line);
    event.received_at = UNIX_EPOCH + Duration::from_secs(received as u64);
    event.to_json_line()
}

fn verify(file: &Path, extra: &[&str]) -> Output {
    hookctl()
        .arg("verify")
        .arg(file)
        .args(["--scheme", "standard", "--secret", SECRET])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn verify_measures_against_received_at_and_now_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let then = now() - 26 * DAY - 3600;
    let file = write_lines(dir.path(), "old.jsonl", &[signed_line(then, then)]);
    // Received as soon as it was signed, 26 days ago: valid, as it was then.
    let out = verify(&file, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("✓ valid"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("1 valid, 0 invalid"),
        "{}",
        stderr(&out)
    );
    // Against the current time it is 26 days too old, said in days.
    let out = verify(&file, &["--now"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stdout(&out).contains(
            "timestamp is 26 days old (tolerance 5m); re-sign (replay --resign) or check the clock"
        ),
        "{}",
        stdout(&out)
    );
    let out = verify(&file, &["--now", "--json"]);
    let record: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(record["ok"], json!(false));
    assert_eq!(record["checked_against"], "now");

    // Received ten minutes after it was signed: stale on arrival, whenever it is checked.
    let late = write_lines(dir.path(), "late.jsonl", &[signed_line(then, then + 600)]);
    let out = verify(&late, &["--json"]);
    assert_eq!(out.status.code(), Some(4));
    let record: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(record["checked_against"], "received_at");
    assert_eq!(
        record["reason"],
        "timestamp was 10m old when the event was received (tolerance 5m); it was sent late \
         (queued or retried without re-signing) or the sender's clock is behind"
    );
    assert_eq!(
        verify(&late, &["--tolerance", "15m"]).status.code(),
        Some(0)
    );
    // Signed ahead of its arrival.
    let early = write_lines(dir.path(), "early.jsonl", &[signed_line(then + 7200, then)]);
    let out = verify(&early, &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stdout(&out).contains("timestamp was 2h in the future when the event was received"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn listen_and_replay_give_signature_ages_in_days() {
    let dir = tempfile::tempdir().unwrap();
    let then = now() - 26 * DAY - 60;
    let file = write_lines(dir.path(), "old.jsonl", &[signed_line(then, then)]);
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&[
        "--quiet",
        "--verify",
        "standard",
        "--secret",
        SECRET,
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &listen.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(": the event's signature is 26 days old; receivers that check"),
        "{}",
        stderr(&out)
    );
    listen.interrupt();
    let recorded = parse_event(std::fs::read_to_string(&capture).unwrap().trim());
    let verified = recorded.notes.verified.expect("a verdict");
    assert_eq!(
        verified.reason,
        "timestamp is 26 days old (tolerance 5m); re-sign (replay --resign) or check the clock"
    );
}

#[test]
fn a_re_signed_dry_run_verifies_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let then = now() - 3 * DAY;
    let file = write_lines(dir.path(), "old.jsonl", &[signed_line(then, then)]);
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--dry-run", "--resign", "standard", "--secret", SECRET])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let resigned = write_lines(dir.path(), "new.jsonl", &[stdout(&out).trim().to_owned()]);
    let received = parse_event(stdout(&out).trim()).received_at;
    let age = SystemTime::now().duration_since(received).unwrap();
    assert!(
        age < Duration::from_secs(60),
        "received_at is the signing time"
    );
    assert_eq!(verify(&resigned, &[]).status.code(), Some(0));
    assert_eq!(verify(&resigned, &["--now"]).status.code(), Some(0));
}

// ---------------------------------------------------------------------------------------------
// replay --id and --filter

/// A capture of five events that differ in every field a filter can test.
fn varied_capture(dir: &Path) -> PathBuf {
    let rows = [
        (
            "evt_1",
            "payment_success",
            "POST",
            "/hooks/stripe",
            Some(200),
            "prod-eu",
        ),
        (
            "evt_2",
            "payment_failed",
            "POST",
            "/hooks/stripe",
            Some(503),
            "prod-us",
        ),
        ("evt_3", "push", "PUT", "/hooks/github", Some(500), "ci-42"),
        (
            "evt_10",
            "order_created",
            "POST",
            "/orders",
            Some(404),
            "ci-43",
        ),
        (
            "evt_11",
            "payment_success",
            "POST",
            "/hooks/stripe",
            None,
            "prod-eu",
        ),
    ];
    let lines: Vec<String> = rows
        .iter()
        .map(|&(id, event_type, method, path, status, env)| {
            let mut headers = Headers::new();
            headers.push("X-Env", env);
            let body = json!({"id": id, "type": event_type}).to_string();
            let mut event =
                Event::from_parts(method, path, None, headers, Bytes::from(body), UNIX_EPOCH);
            event.notes.status = status;
            event.to_json_line()
        })
        .collect();
    write_lines(dir, "varied.jsonl", &lines)
}

/// The ids `replay FILE --dry-run ARGS` would send.
fn replayed(file: &Path, args: &[&str]) -> Vec<String> {
    let out = hookctl()
        .arg("replay")
        .arg(file)
        .arg("--dry-run")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out).lines().map(|l| parse_event(l).id).collect()
}

#[test]
fn replay_filters_on_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = varied_capture(dir.path());
    let cases: &[(&[&str], &[&str])] = &[
        (&["--filter", "id=evt_2"], &["evt_2"]),
        (&["--filter", "id=evt_1*"], &["evt_1", "evt_10", "evt_11"]),
        (
            &["--filter", "type=payment_*"],
            &["evt_1", "evt_2", "evt_11"],
        ),
        (&["--filter", "path=/hooks/github"], &["evt_3"]),
        (
            &["--filter", "path=/hooks/*"],
            &["evt_1", "evt_2", "evt_3", "evt_11"],
        ),
        (&["--filter", "method=put"], &["evt_3"]),
        (&["--filter", "status=5xx"], &["evt_2", "evt_3"]),
        (&["--filter", "status=200"], &["evt_1"]),
        (&["--filter", "status=4*"], &["evt_10"]),
        (
            &["--filter", "header.x-env=prod-*"],
            &["evt_1", "evt_2", "evt_11"],
        ),
        (&["--filter", "header.X-ENV=ci-42"], &["evt_3"]),
        // The same key: alternatives. Different keys: all must hold.
        (
            &["--filter", "type=push", "--filter", "type=order_*"],
            &["evt_3", "evt_10"],
        ),
        (
            &["--filter", "type=payment_*", "--filter", "status=5xx"],
            &["evt_2"],
        ),
        (
            &["--filter", "type=payment_*,header.x-env=prod-eu"],
            &["evt_1", "evt_11"],
        ),
        (
            &["--filter", "status=5xx", "--filter", "status=404"],
            &["evt_2", "evt_3", "evt_10"],
        ),
    ];
    for (args, want) in cases {
        assert_eq!(replayed(&file, args), *want, "{args:?}");
    }
}

#[test]
fn replay_id_picks_events_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let file = varied_capture(dir.path());
    assert_eq!(replayed(&file, &["--id", "evt_10"]), ["evt_10"]);
    // In file order, whatever the order asked; --id is exact, not a glob.
    assert_eq!(
        replayed(&file, &["--id", "evt_3", "--id", "evt_1"]),
        ["evt_1", "evt_3"]
    );
    assert_eq!(
        replayed(
            &file,
            &["--id", "evt_1", "--id", "evt_2", "--filter", "status=5xx"]
        ),
        ["evt_2"]
    );

    // One event from a history file, really sent.
    let rec = Recorder::ok();
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &rec.url, "--id", "evt_3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let seen = rec.next().event;
    assert_eq!((seen.id.as_str(), seen.method.as_str()), ("evt_3", "PUT"));
    assert!(rec.drain().is_empty(), "only the one event");

    // An id that is not there is an error, after the ones that are were sent.
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--dry-run", "--id", "evt_2", "--id", "evt_nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        format!(
            "hookctl: error: {}: no event with id evt_nope\n",
            file.display()
        )
    );
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &rec.url, "--id", "evt_gone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(": no event with id evt_gone"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn replay_refuses_an_unknown_filter_key_listing_the_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let file = varied_capture(dir.path());
    let keys = "use id=, type=, path=, method=, status=, header.NAME= or body.PATH=";
    for (filter, want) in [
        (
            "kind=event",
            format!("bad --filter `kind=event`: unknown field `kind`; {keys}"),
        ),
        (
            "evt_1",
            format!("bad --filter `evt_1`: expected KEY=VALUE; {keys}"),
        ),
        (
            "status=failed",
            "bad --filter `status=failed`: `failed` is not a status; use e.g. 500, 5xx or 4*"
                .to_owned(),
        ),
    ] {
        let out = hookctl()
            .arg("replay")
            .arg(&file)
            .args(["--dry-run", "--filter", filter])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{filter}");
        assert_eq!(stdout(&out), "");
        assert_eq!(stderr(&out), format!("hookctl: error: {want}\n"));
    }
}

#[test]
fn replay_help_shows_how_to_replay_one_event() {
    let out = hookctl().args(["replay", "--help"]).output().unwrap();
    let help = stdout(&out);
    assert!(
        help.contains("hookctl replay events.jsonl --id evt_"),
        "{help}"
    );
    assert!(help.contains("--id <ID>"), "{help}");
}

#[test]
fn the_readme_set_examples_do_what_it_says() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("the README");
    let lines: Vec<&str> = readme.lines().collect();
    let mut checked = 0;
    for (n, line) in lines.iter().enumerate() {
        let Some(start) = line.find("hookctl send ") else {
            continue;
        };
        let command = line[start..].split(['#', '`']).next().unwrap_or_default();
        if !command.contains("--set") {
            continue;
        }
        let mut words = command.split_whitespace().skip(2);
        let mut args = vec!["send".to_owned(), "--dry-run".to_owned()];
        while let Some(word) = words.next() {
            match word {
                "--to" => {
                    words.next();
                }
                other => args.push(other.to_owned()),
            }
        }
        let out = hookctl().args(&args).output().unwrap();
        // A console example shows the error it prints on the next line.
        match lines
            .get(n + 1)
            .filter(|next| next.starts_with("hookctl: error: "))
        {
            Some(error) => {
                assert_eq!(out.status.code(), Some(1), "README line {}", n + 1);
                assert_eq!(stderr(&out), format!("{error}\n"), "README line {}", n + 1);
            }
            None => assert!(
                out.status.success(),
                "README line {}: {command}: {}",
                n + 1,
                stderr(&out)
            ),
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} README examples use --set");
}
