//! Signatures: `send --sign` against published vectors, `listen --verify` round trips for every
//! scheme, key rotation, expiry and `replay --resign`, the offline `verify` command and its
//! explanations, and the promise that no secret is ever printed or captured.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use hookctl::event::Event;
use predicates::prelude::PredicateBooleanExt as _;
use serde_json::Value;
use sha2::Sha256;

use crate::support::{hookctl, Listen, Recorder, WAIT};

/// A Standard Webhooks secret: `whsec_` + base64("TOP-SECRET-XYZ-0123456789").
const STANDARD_SECRET: &str = "whsec_VE9QLVNFQ1JFVC1YWVotMDEyMzQ1Njc4OQ==";
/// A raw secret for the schemes that use the secret's bytes as they are.
const RAW_SECRET: &str = "TOP-SECRET-XYZ-stripe-raw";
/// Another valid secret, for wrong-secret and key-rotation tests.
const OTHER_SECRET: &str = "whsec_b3RoZXItc2VjcmV0LWtleS0wMQ==";
/// The generic-hmac options used throughout.
const HMAC_ARGS: &[&str] = &[
    "--signature-header",
    "X-Sig",
    "--encoding",
    "base64",
    "--prefix",
    "sha256=",
];
/// Every scheme `send --sign` and `listen --verify` know.
const SCHEMES: &[&str] = &["standard", "stripe", "github", "shopify", "slack", "hmac"];

// ---------------------------------------------------------------------------------------------
// helpers

/// Seconds since the Unix epoch, now.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The secret a scheme is tested with (standard needs base64).
fn secret_for(scheme: &str) -> &'static str {
    if scheme == "standard" {
        STANDARD_SECRET
    } else {
        RAW_SECRET
    }
}

/// Extra arguments a scheme needs (only `hmac` needs any).
fn scheme_extra(scheme: &str) -> Vec<&'static str> {
    if scheme == "hmac" {
        HMAC_ARGS.to_vec()
    } else {
        Vec::new()
    }
}

/// The published vectors.
fn vectors() -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signature-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("read the signature vectors fixture");
    let doc: Value = serde_json::from_str(&text).expect("vectors are JSON");
    doc["vectors"].as_array().expect("a vectors array").clone()
}

/// stdout as text.
fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses one capture line.
fn parse_event(line: &str) -> Event {
    Event::from_json_line(line.as_bytes())
        .unwrap_or_else(|e| panic!("not a capture line ({e}): {line}"))
        .expect("an event record")
}

/// Every header called `name` (case-insensitive).
fn headers_named<'e>(event: &'e Event, name: &str) -> Vec<&'e str> {
    event.headers.get_all(name).collect()
}

/// Complete capture lines in `path`, polling until there are at least `n` (bounded).
fn wait_capture(path: &Path, n: usize) -> Vec<Event> {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        let events: Vec<Event> = complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(parse_event)
            .collect();
        if events.len() >= n {
            return events;
        }
        assert!(
            Instant::now() < deadline,
            "{} has {} of {n} events: {text}",
            path.display(),
            events.len()
        );
        // Files have no blocking wait-with-timeout; poll with a deadline.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `send ARGS` to `url`, signing with `scheme` and `secret`.
fn send_signed(url: &str, scheme: &str, secret: &str, extra: &[&str]) -> Output {
    hookctl()
        .args(["send", "payment_success", "--to", url, "--sign", scheme])
        .args(scheme_extra(scheme))
        .args(["--secret", secret])
        .args(extra)
        .output()
        .unwrap()
}

/// A verifying listener capturing to `capture`.
fn verifying_listen(scheme: &str, secrets: &[&str], capture: &Path, extra: &[&str]) -> Listen {
    let mut args: Vec<String> = vec!["--verify".into(), scheme.into()];
    args.extend(scheme_extra(scheme).into_iter().map(String::from));
    for s in secrets {
        args.push("--secret".into());
        args.push((*s).into());
    }
    args.push("--capture".into());
    args.push(capture.to_str().unwrap().into());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Listen::start(&refs)
}

/// The verification note of a captured event.
fn verified(event: &Event) -> hookctl::event::Verified {
    event
        .notes
        .verified
        .clone()
        .unwrap_or_else(|| panic!("no verified note on {}", event.to_json_line()))
}

/// Writes `lines` as a capture file in `dir` and returns its path.
fn write_capture(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

/// `send --dry-run` with a signature: the capture lines it prints.
fn signed_dry_run(args: &[&str]) -> Vec<String> {
    let out = hookctl()
        .args(["send", "--dry-run"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "dry run failed: {}", stderr(&out));
    stdout(&out).lines().map(str::to_owned).collect()
}

/// `hookctl verify FILE --scheme S --secret X ARGS`.
fn verify_file(file: &Path, scheme: &str, secret: &str, extra: &[&str]) -> Output {
    hookctl()
        .arg("verify")
        .arg(file)
        .args(["--scheme", scheme, "--secret", secret])
        .args(extra)
        .output()
        .unwrap()
}

/// The age in "timestamp is 26 days old (...)" (or "was ... old", "... in the future"), in
/// seconds: the human form read back, so only as exact as its smallest unit.
fn age_in(reason: &str) -> i64 {
    let rest = reason
        .split_once("timestamp is ")
        .or_else(|| reason.split_once("timestamp was "))
        .unwrap_or_else(|| panic!("no age in {reason:?}"))
        .1;
    let mut secs = 0;
    let mut words = rest.split(' ').peekable();
    while let Some(word) = words.next() {
        if word == "old" || word == "in" {
            return secs;
        }
        let split = word
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(word.len());
        let (number, unit) = word.split_at(split);
        let n: i64 = number
            .parse()
            .unwrap_or_else(|_| panic!("no age in {reason:?}"));
        let unit = match unit {
            "" => words.next().unwrap_or_default(),
            unit => unit,
        };
        secs += n * match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "day" | "days" => 86_400,
            _ => panic!("unit {unit:?} in {reason:?}"),
        };
    }
    panic!("no age in {reason:?}")
}

// ---------------------------------------------------------------------------------------------
// send --sign: known vectors and reproducibility

#[test]
fn dry_run_signatures_match_the_published_vectors() {
    let mut checked = Vec::new();
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap();
        let scheme = match vector["scheme"].as_str().unwrap() {
            "standard-webhooks" | "svix" => "standard",
            other => other,
        };
        let secret = vector["secret"].as_str().unwrap();
        let payload = vector["payload"].as_str().unwrap();
        let id = vector["id"].as_str().unwrap_or("evt_vector");
        let ts = vector["timestamp"]
            .as_i64()
            .unwrap_or(1_700_000_000)
            .to_string();
        let args = [
            "--data",
            payload,
            "--sign",
            scheme,
            "--secret",
            secret,
            "--id",
            id,
            "--timestamp",
            &ts,
        ];
        let first = signed_dry_run(&args);
        let second = signed_dry_run(&args);
        assert_eq!(first, second, "{name}: dry run is not reproducible");
        assert_eq!(first.len(), 1, "{name}: {first:?}");
        let event = parse_event(&first[0]);
        assert_eq!(event.body, payload.as_bytes(), "{name}: body changed");
        for (header, expected) in vector["expected_headers"].as_object().unwrap() {
            let expected = expected.as_str().unwrap();
            let (header, expected) = match (scheme, header.to_ascii_lowercase().as_str()) {
                // hookctl writes Svix messages with the webhook-* names.
                (_, h) if h.starts_with("svix-") => {
                    (h.replacen("svix-", "webhook-", 1), expected.to_owned())
                }
                // The legacy SHA-1 header is not sent.
                ("github", "x-hub-signature") => continue,
                // Only the v1 part of Stripe's header is produced; v0 is legacy.
                ("stripe", _) => (
                    header.clone(),
                    expected
                        .split(',')
                        .filter(|p| !p.starts_with("v0="))
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                _ => (header.clone(), expected.to_owned()),
            };
            assert_eq!(
                headers_named(&event, &header),
                vec![expected.as_str()],
                "{name}: header {header} in {}",
                first[0]
            );
        }
        checked.push(scheme.to_owned());
    }
    for scheme in ["standard", "stripe", "github", "shopify", "slack"] {
        assert!(
            checked.iter().any(|s| s == scheme),
            "no vector for {scheme}"
        );
    }
}

#[test]
fn pinned_id_and_timestamp_make_every_scheme_reproducible() {
    for scheme in SCHEMES {
        let mut args = vec![
            "payment_success",
            "--sign",
            scheme,
            "--secret",
            secret_for(scheme),
            "--id",
            "evt_pinned_1",
            "--timestamp",
            "1700000000",
        ];
        args.extend(scheme_extra(scheme));
        let first = signed_dry_run(&args);
        let second = signed_dry_run(&args);
        assert_eq!(
            first, second,
            "{scheme}: dry run is not byte-for-byte reproducible"
        );
        let event = parse_event(&first[0]);
        assert_eq!(event.id, "evt_pinned_1", "{scheme}");
        // A different timestamp changes the signature for schemes that sign one, so the
        // pinning is what makes the output stable.
        let mut later = args.clone();
        let pos = later.iter().position(|a| *a == "1700000000").unwrap();
        later[pos] = "1700000001";
        let other = signed_dry_run(&later);
        assert_ne!(first, other, "{scheme}: the timestamp is not used");
    }
}

#[test]
fn github_signing_adds_event_and_delivery_headers() {
    let lines = signed_dry_run(&[
        "order_shipped",
        "--sign",
        "github",
        "--secret",
        RAW_SECRET,
        "--id",
        "delivery-42",
        "--timestamp",
        "1700000000",
    ]);
    let event = parse_event(&lines[0]);
    assert_eq!(event.header("X-GitHub-Event"), Some("order_shipped"));
    assert_eq!(event.header("X-GitHub-Delivery"), Some("delivery-42"));
    let mut mac = Hmac::<Sha256>::new_from_slice(RAW_SECRET.as_bytes()).unwrap();
    mac.update(&event.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(event.header("X-Hub-Signature-256"), Some(expected.as_str()));
}

#[test]
fn generic_hmac_signs_with_the_chosen_header_encoding_and_prefix() {
    let lines = signed_dry_run(&[
        "--data",
        "{\"hello\":\"world\"}",
        "--sign",
        "hmac",
        "--signature-header",
        "X-Sig",
        "--encoding",
        "base64",
        "--prefix",
        "sha256=",
        "--secret",
        RAW_SECRET,
    ]);
    let event = parse_event(&lines[0]);
    let mut mac = Hmac::<Sha256>::new_from_slice(RAW_SECRET.as_bytes()).unwrap();
    mac.update(b"{\"hello\":\"world\"}");
    let expected = format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert_eq!(headers_named(&event, "x-sig"), vec![expected.as_str()]);

    // Round trip through a verifying listener with the same options.
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("hmac", &[RAW_SECRET], &capture, &[]);
    let out = send_signed(&listen.url, "hmac", RAW_SECRET, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = wait_capture(&capture, 1);
    assert!(verified(&events[0]).ok, "{:?}", verified(&events[0]));
    assert!(events[0].header("X-Sig").unwrap().starts_with("sha256="));
    // The same listener rejects a hex signature: the encoding is part of the scheme.
    let out = hookctl()
        .args(["send", "payment_success", "--to", &listen.url])
        .args([
            "--sign",
            "hmac",
            "--signature-header",
            "X-Sig",
            "--prefix",
            "sha256=",
        ])
        .args(["--secret", RAW_SECRET])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let events = wait_capture(&capture, 2);
    let note = verified(&events[1]);
    assert!(!note.ok);
    assert!(note.reason.contains("X-Sig"), "{}", note.reason);
    listen.interrupt();
}

#[test]
fn hmac_without_a_header_name_is_an_error() {
    hookctl()
        .args([
            "send",
            "payment_success",
            "--sign",
            "hmac",
            "--secret",
            RAW_SECRET,
        ])
        .arg("--dry-run")
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "the hmac scheme needs a header name",
        ));
}

// ---------------------------------------------------------------------------------------------
// listen --verify

#[test]
fn every_scheme_round_trips_through_a_verifying_listener() {
    for scheme in SCHEMES {
        let dir = tempfile::tempdir().unwrap();
        let capture = dir.path().join("c.jsonl");
        let secret = secret_for(scheme);
        let mut listen = verifying_listen(scheme, &[secret], &capture, &[]);
        let out = send_signed(&listen.url, scheme, secret, &[]);
        assert!(
            out.status.success(),
            "{scheme}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert!(
            stdout(&out).starts_with("200"),
            "{scheme}: {}",
            stdout(&out)
        );
        let events = wait_capture(&capture, 1);
        let note = verified(&events[0]);
        assert!(note.ok, "{scheme}: {note:?}");
        assert_eq!(note.scheme, *scheme);
        assert_eq!(events[0].notes.status, Some(200));
        // The pretty output marks the delivery verified.
        let line = listen
            .stdout
            .wait_for("the delivery line", |l| l.contains(&events[0].id));
        assert!(
            line.contains(&format!("\u{2713} {scheme}")),
            "{scheme}: {line}"
        );
        listen.interrupt();
        // What listen captured still verifies offline.
        let out = verify_file(&capture, scheme, secret, &scheme_extra(scheme));
        assert_eq!(out.status.code(), Some(0), "{scheme}: {}", stdout(&out));
    }
}

#[test]
fn hookctl_secret_env_works_on_both_sides() {
    for scheme in ["standard", "stripe"] {
        let secret = secret_for(scheme);
        let dir = tempfile::tempdir().unwrap();
        let capture = dir.path().join("c.jsonl");
        let capture_arg = capture.to_str().unwrap();
        let mut listen = Listen::spawn_with(
            &["--verify", scheme, "--capture", capture_arg, "--json"],
            |cmd| {
                cmd.env("HOOKCTL_SECRET", secret);
            },
        );
        hookctl()
            .env("HOOKCTL_SECRET", secret)
            .args([
                "send",
                "payment_success",
                "--to",
                &listen.url,
                "--sign",
                scheme,
            ])
            .assert()
            .success();
        let events = wait_capture(&capture, 1);
        assert!(
            verified(&events[0]).ok,
            "{scheme}: {:?}",
            verified(&events[0])
        );
        // The --json stream carries the same verified record.
        let line = listen
            .stdout
            .wait_for("the event line", |l| l.contains("\"kind\":\"event\""));
        let record: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(record["verified"]["ok"], Value::Bool(true), "{line}");
        assert_eq!(record["verified"]["scheme"], scheme, "{line}");
        // A different secret in the environment is rejected.
        let out = hookctl()
            .env("HOOKCTL_SECRET", OTHER_SECRET)
            .args([
                "send",
                "payment_success",
                "--to",
                &listen.url,
                "--sign",
                scheme,
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{scheme}: {}", stderr(&out));
        listen.interrupt();
        // verify reads the secret from the environment too.
        let verify_oks = |secret: &str| {
            let out = hookctl()
                .env("HOOKCTL_SECRET", secret)
                .arg("verify")
                .arg(&capture)
                .args(["--scheme", scheme, "--json"])
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(4), "one of two events fails");
            stdout(&out)
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()["ok"] == Value::Bool(true))
                .collect::<Vec<bool>>()
        };
        assert_eq!(verify_oks(secret), vec![true, false]);
        assert_eq!(verify_oks(OTHER_SECRET), vec![false, true]);
    }
}

#[test]
fn wrong_secret_gets_401_and_a_mismatch_reason() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("stripe", &[RAW_SECRET], &capture, &["--json"]);
    let out = send_signed(&listen.url, "stripe", OTHER_SECRET, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    // One line for the failure, on stderr.
    assert_eq!(stdout(&out), "");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("answered 401"), "{}", stderr(&out));
    let events = wait_capture(&capture, 1);
    let note = verified(&events[0]);
    assert!(!note.ok);
    assert_eq!(note.scheme, "stripe");
    assert!(note.reason.contains("does not match"), "{}", note.reason);
    assert_eq!(events[0].notes.status, Some(401));
    let line = listen
        .stdout
        .wait_for("the event line", |l| l.contains("\"kind\":\"event\""));
    let record: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["verified"]["ok"], Value::Bool(false), "{line}");
    assert!(
        record["verified"]["reason"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{line}"
    );
    assert_eq!(record["status"], 401, "{line}");
    listen.interrupt();
}

#[test]
fn unsigned_delivery_is_rejected_with_the_missing_header() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("github", &[RAW_SECRET], &capture, &[]);
    let out = hookctl()
        .args(["send", "payment_success", "--to", &listen.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let events = wait_capture(&capture, 1);
    let note = verified(&events[0]);
    assert!(!note.ok);
    assert!(
        note.reason
            .contains("missing the X-Hub-Signature-256 header"),
        "{}",
        note.reason
    );
    let line = listen
        .stdout
        .wait_for("the delivery line", |l| l.contains(&events[0].id));
    assert!(line.contains("\u{2717} github: missing"), "{line}");
    listen.interrupt();
}

#[test]
fn warn_mode_answers_200_and_still_reports() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen(
        "standard",
        &[STANDARD_SECRET],
        &capture,
        &["--verify-mode", "warn"],
    );
    let out = send_signed(&listen.url, "standard", OTHER_SECRET, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("200"), "{}", stdout(&out));
    let events = wait_capture(&capture, 1);
    let note = verified(&events[0]);
    assert!(!note.ok, "{note:?}");
    assert!(note.reason.contains("does not match"), "{}", note.reason);
    assert_eq!(events[0].notes.status, Some(200));
    let line = listen
        .stdout
        .wait_for("the delivery line", |l| l.contains(&events[0].id));
    assert!(
        line.contains("\u{2717} standard: signature does not match"),
        "{line}"
    );
    listen.interrupt();
}

#[test]
fn key_rotation_accepts_either_secret() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("standard", &[STANDARD_SECRET, OTHER_SECRET], &capture, &[]);
    for secret in [STANDARD_SECRET, OTHER_SECRET] {
        let out = send_signed(&listen.url, "standard", secret, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = send_signed(&listen.url, "standard", "whsec_dGhpcmQtc2VjcmV0", &[]);
    assert_eq!(out.status.code(), Some(3), "a third secret must be refused");
    let events = wait_capture(&capture, 3);
    let notes: Vec<_> = events.iter().map(verified).collect();
    assert!(notes[0].ok && notes[1].ok && !notes[2].ok, "{notes:?}");
    assert!(notes[0].reason.contains("#1"), "{:?}", notes[0]);
    assert!(notes[1].reason.contains("#2"), "{:?}", notes[1]);
    listen.interrupt();
}

// ---------------------------------------------------------------------------------------------
// expiry and replay --resign

/// Two stripe events signed an hour ago, as a capture file.
fn expired_stripe_capture(dir: &Path) -> (PathBuf, i64) {
    let old = now() - 3600;
    let lines = signed_dry_run(&[
        "payment_success",
        "--sign",
        "stripe",
        "--secret",
        RAW_SECRET,
        "--timestamp",
        &old.to_string(),
        "--count",
        "2",
    ]);
    assert_eq!(lines.len(), 2);
    (write_capture(dir, "old.jsonl", &lines), old)
}

#[test]
fn expired_signatures_are_rejected_and_resigning_fixes_them() {
    let dir = tempfile::tempdir().unwrap();
    let (old_capture, _) = expired_stripe_capture(dir.path());
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("stripe", &[RAW_SECRET], &capture, &[]);

    // As-is: rejected for age, with a single warning however many events are stale.
    let out = hookctl()
        .arg("replay")
        .arg(&old_capture)
        .args(["--to", &listen.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let warnings: Vec<_> = stderr(&out)
        .lines()
        .filter(|l| l.contains("warning") && l.contains("old"))
        .map(str::to_owned)
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(warnings[0].contains("--resign"), "{}", warnings[0]);
    let events = wait_capture(&capture, 2);
    for event in &events {
        let note = verified(event);
        assert!(!note.ok);
        assert!(note.reason.contains("tolerance"), "{}", note.reason);
        let age = age_in(&note.reason);
        assert!((3590..3700).contains(&age), "{}", note.reason);
        assert_eq!(event.notes.status, Some(401));
    }

    // Re-signed: accepted, and no stale-signature warning.
    let out = hookctl()
        .arg("replay")
        .arg(&old_capture)
        .args([
            "--to",
            &listen.url,
            "--resign",
            "stripe",
            "--secret",
            RAW_SECRET,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let events = wait_capture(&capture, 4);
    for event in &events[2..] {
        assert!(verified(event).ok, "{:?}", verified(event));
        assert_eq!(headers_named(event, "stripe-signature").len(), 1);
    }
    listen.interrupt();
}

#[test]
fn old_standard_signature_is_rejected_unless_the_tolerance_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let old = (now() - 900).to_string();
    let line = signed_dry_run(&[
        "--data",
        "{\"type\":\"ping\"}",
        "--sign",
        "standard",
        "--secret",
        STANDARD_SECRET,
        "--id",
        "msg_old_1",
        "--timestamp",
        &old,
    ]);
    let file = write_capture(dir.path(), "old.jsonl", &line);
    let mut listen = verifying_listen("standard", &[STANDARD_SECRET], &capture, &[]);
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &listen.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let events = wait_capture(&capture, 1);
    let reason = verified(&events[0]).reason;
    assert!(reason.contains("old (tolerance 5m)"), "{reason}");
    assert!((890..1000).contains(&age_in(&reason)), "{reason}");
    listen.interrupt();

    // A wider --tolerance accepts it.
    let capture = dir.path().join("c2.jsonl");
    let mut listen = verifying_listen(
        "standard",
        &[STANDARD_SECRET],
        &capture,
        &["--tolerance", "1h"],
    );
    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &listen.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(verified(&wait_capture(&capture, 1)[0]).ok);
    listen.interrupt();
}

#[test]
fn resign_keeps_the_event_id_and_new_ids_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let old = now() - 3600;
    let lines = signed_dry_run(&[
        "payment_success",
        "--sign",
        "standard",
        "--secret",
        STANDARD_SECRET,
        "--id",
        "evt_keep_me",
        "--timestamp",
        &old.to_string(),
    ]);
    let file = write_capture(dir.path(), "old.jsonl", &lines);
    let old_event = parse_event(&lines[0]);
    let capture = dir.path().join("c.jsonl");
    let mut listen = verifying_listen("standard", &[STANDARD_SECRET], &capture, &[]);
    let resign = ["--resign", "standard", "--secret", STANDARD_SECRET];

    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &listen.url])
        .args(resign)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let kept = wait_capture(&capture, 1).remove(0);
    assert!(verified(&kept).ok, "{:?}", verified(&kept));
    assert_eq!(kept.id, "evt_keep_me");
    assert_eq!(headers_named(&kept, "webhook-id"), vec!["evt_keep_me"]);
    let ts: i64 = kept.header("webhook-timestamp").unwrap().parse().unwrap();
    assert!((ts - now()).abs() < 120, "timestamp {ts} is not fresh");
    assert_eq!(headers_named(&kept, "webhook-signature").len(), 1);
    assert_ne!(
        kept.header("webhook-signature"),
        old_event.header("webhook-signature")
    );

    let out = hookctl()
        .arg("replay")
        .arg(&file)
        .args(["--to", &listen.url, "--new-ids"])
        .args(resign)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let renewed = wait_capture(&capture, 2).remove(1);
    assert!(verified(&renewed).ok, "{:?}", verified(&renewed));
    assert_ne!(renewed.id, "evt_keep_me");
    assert_eq!(
        headers_named(&renewed, "webhook-id"),
        vec![renewed.id.as_str()]
    );
    listen.interrupt();
}

#[test]
fn resign_replaces_every_old_signature_header() {
    let dir = tempfile::tempdir().unwrap();
    // A GitHub capture with a stale SHA-256 and a legacy SHA-1 signature, and a Svix capture.
    let github = serde_json::json!({
        "v": 1, "kind": "event", "id": "gh-1", "type": "push",
        "received_at": "2024-01-01T00:00:00.000Z", "method": "POST", "path": "/hook",
        "headers": [
            ["content-type", "application/json"],
            ["X-GitHub-Event", "push"],
            ["X-GitHub-Delivery", "gh-1"],
            ["X-Hub-Signature", "sha1=0000000000000000000000000000000000000000"],
            ["X-Hub-Signature-256", "sha256=00"],
        ],
        "body": "{\"ref\":\"main\"}",
    });
    let svix = serde_json::json!({
        "v": 1, "kind": "event", "id": "msg_svix_1", "type": null,
        "received_at": "2024-01-01T00:00:00.000Z", "method": "POST", "path": "/hook",
        "headers": [
            ["svix-id", "msg_svix_1"],
            ["svix-timestamp", "1614265330"],
            ["svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="],
        ],
        "body": "{\"test\": 2432232314}",
    });
    for (scheme, secret, line, stale) in [
        ("github", RAW_SECRET, github, &["x-hub-signature"][..]),
        (
            "standard",
            STANDARD_SECRET,
            svix,
            &["svix-id", "svix-timestamp", "svix-signature"][..],
        ),
    ] {
        let file = write_capture(dir.path(), "in.jsonl", &[line.to_string()]);
        let out = hookctl()
            .arg("replay")
            .arg(&file)
            .args(["--dry-run", "--resign", scheme, "--secret", secret])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let event = parse_event(stdout(&out).trim());
        for name in stale {
            assert!(
                headers_named(&event, name).is_empty(),
                "{scheme}: stale {name} kept: {}",
                stdout(&out)
            );
        }
        let resigned = write_capture(dir.path(), "out.jsonl", &[stdout(&out).trim().to_owned()]);
        let check = verify_file(&resigned, scheme, secret, &[]);
        assert_eq!(check.status.code(), Some(0), "{scheme}: {}", stdout(&check));
        assert_eq!(
            event.id,
            line["id"].as_str().unwrap(),
            "{scheme}: id changed"
        );
    }
}

#[test]
fn replay_as_is_warns_once_about_old_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (old_capture, _) = expired_stripe_capture(dir.path());
    let recorder = Recorder::ok();
    let out = hookctl()
        .arg("replay")
        .arg(&old_capture)
        .args(["--to", &recorder.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warnings: Vec<_> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings[0].contains("signature is"), "{err}");
    // Sent as-is: both signatures arrive unchanged.
    let sent: Vec<String> = std::fs::read_to_string(&old_capture)
        .unwrap()
        .lines()
        .map(|l| {
            parse_event(l)
                .header("stripe-signature")
                .unwrap()
                .to_owned()
        })
        .collect();
    let seen: Vec<String> = recorder
        .take(2)
        .iter()
        .map(|s| s.event.header("stripe-signature").unwrap().to_owned())
        .collect();
    assert_eq!(seen, sent);
}

#[test]
fn new_ids_also_renew_provider_delivery_id_headers() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in ["github", "shopify"] {
        let file = fresh_capture(dir.path(), scheme, RAW_SECRET);
        let out = hookctl()
            .arg("replay")
            .arg(&file)
            .args([
                "--dry-run",
                "--new-ids",
                "--resign",
                scheme,
                "--secret",
                RAW_SECRET,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let old: Vec<Event> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(parse_event)
            .collect();
        for (line, before) in stdout(&out).lines().zip(&old) {
            let after = parse_event(line);
            assert_ne!(after.id, before.id, "{scheme}");
            for name in ["X-GitHub-Delivery", "X-Shopify-Webhook-Id"] {
                if let Some(value) = after.header(name) {
                    assert_eq!(value, after.id, "{scheme}: {name} kept the old id: {line}");
                }
            }
        }
    }
}

#[test]
fn resign_refuses_an_unusable_secret_before_sending() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh_capture(dir.path(), "standard", STANDARD_SECRET);
    let recorder = Recorder::ok();
    for dry in [true, false] {
        let mut cmd = hookctl();
        cmd.arg("replay").arg(&file).args(["--to", &recorder.url]);
        cmd.args(["--resign", "standard", "--secret", "whsec_!!not-base64"]);
        if dry {
            cmd.arg("--dry-run");
        }
        cmd.assert()
            .code(1)
            .stdout("")
            .stderr(predicates::str::contains("not valid base64"));
    }
    assert!(recorder.drain().is_empty(), "events were sent");
}

// ---------------------------------------------------------------------------------------------
// hookctl verify

/// Two freshly signed events of `scheme` as a capture file.
fn fresh_capture(dir: &Path, scheme: &str, secret: &str) -> PathBuf {
    let mut args = vec!["payment_success", "--sign", scheme, "--secret", secret];
    args.extend(scheme_extra(scheme));
    args.extend(["--count", "2"]);
    let lines = signed_dry_run(&args);
    write_capture(dir, &format!("{scheme}.jsonl"), &lines)
}

#[test]
fn verify_exits_0_when_every_signature_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    for scheme in SCHEMES {
        let file = fresh_capture(dir.path(), scheme, secret_for(scheme));
        let mut extra = scheme_extra(scheme);
        extra.push("--json");
        let json = verify_file(&file, scheme, secret_for(scheme), &extra);
        assert_eq!(json.status.code(), Some(0), "{scheme}: {}", stdout(&json));
        let records: Vec<Value> = stdout(&json)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(records.len(), 2, "{scheme}: {}", stdout(&json));
        for (n, record) in records.iter().enumerate() {
            assert_eq!(record["kind"], "verification");
            assert_eq!(record["ok"], Value::Bool(true), "{record}");
            assert_eq!(record["scheme"], *scheme);
            assert_eq!(record["line"], n as u64 + 1);
        }
        let pretty = verify_file(&file, scheme, secret_for(scheme), &scheme_extra(scheme));
        assert_eq!(pretty.status.code(), Some(0));
        assert_eq!(stdout(&pretty).lines().count(), 2, "{}", stdout(&pretty));
        assert!(stdout(&pretty).lines().all(|l| l.contains("valid")));
        assert!(
            stderr(&pretty).contains("2 valid, 0 invalid"),
            "{}",
            stderr(&pretty)
        );
    }
}

#[test]
fn verify_explains_a_missing_header() {
    let dir = tempfile::tempdir().unwrap();
    // Signed for GitHub, checked as Stripe: the hint names the right scheme.
    let file = fresh_capture(dir.path(), "github", RAW_SECRET);
    let out = verify_file(&file, "stripe", RAW_SECRET, &[]);
    assert_eq!(out.status.code(), Some(4));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        assert!(line.contains("invalid"), "{line}");
        assert!(
            line.contains("missing the Stripe-Signature header"),
            "{line}"
        );
        assert!(line.contains("try the github scheme"), "{line}");
    }
    assert!(
        stderr(&out).contains("0 valid, 2 invalid"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_says_how_far_outside_the_tolerance_a_timestamp_is() {
    let dir = tempfile::tempdir().unwrap();
    let old = now() - 1000;
    let future = now() + 2000;
    let mut lines = Vec::new();
    for ts in [old, future] {
        lines.extend(signed_dry_run(&[
            "payment_success",
            "--sign",
            "standard",
            "--secret",
            STANDARD_SECRET,
            "--timestamp",
            &ts.to_string(),
        ]));
    }
    let file = write_capture(dir.path(), "ts.jsonl", &lines);
    // The events were signed as they were "received" (a dry run): only --now finds them off.
    let out = verify_file(&file, "standard", STANDARD_SECRET, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = verify_file(&file, "standard", STANDARD_SECRET, &["--json", "--now"]);
    assert_eq!(out.status.code(), Some(4));
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let past = records[0]["reason"].as_str().unwrap();
    assert_eq!(records[0]["ok"], Value::Bool(false));
    assert!(past.contains(" old (tolerance 5m)"), "{past}");
    assert!((960..1100).contains(&age_in(past)), "{past}");
    assert_eq!(records[0]["checked_against"], "now");
    let ahead = records[1]["reason"].as_str().unwrap();
    assert!(ahead.contains(" in the future (tolerance 5m)"), "{ahead}");
    assert!((1900..2010).contains(&age_in(ahead)), "{ahead}");
    // --tolerance 0 disables the check.
    let out = verify_file(
        &file,
        "standard",
        STANDARD_SECRET,
        &["--tolerance", "0", "--now"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn verify_reports_a_mismatch_without_a_reserialisation_hint() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh_capture(dir.path(), "shopify", RAW_SECRET);
    let out = verify_file(&file, "shopify", "not-the-secret", &[]);
    assert_eq!(out.status.code(), Some(4));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    for line in text.lines() {
        assert!(line.contains("signature does not match"), "{line}");
        assert!(line.contains("wrong secret"), "{line}");
        assert!(!line.contains("re-serialisation"), "{line}");
    }
}

/// Signs `signed_body` with stripe, then stores `stored_body` in its place.
fn swapped_body_capture(dir: &Path, signed_body: &str, stored_body: &str) -> PathBuf {
    let lines = signed_dry_run(&[
        "--data",
        signed_body,
        "--sign",
        "stripe",
        "--secret",
        RAW_SECRET,
    ]);
    let mut record: Value = serde_json::from_str(&lines[0]).unwrap();
    record["body"] = Value::String(stored_body.to_owned());
    write_capture(dir, "swapped.jsonl", &[record.to_string()])
}

#[test]
fn verify_recognises_a_reserialised_body() {
    let dir = tempfile::tempdir().unwrap();
    let value = serde_json::json!({"id": "evt_1", "type": "ping", "data": {"n": [1, 2.5, "x"]}});
    let compact = serde_json::to_string(&value).unwrap();
    let pretty = serde_json::to_string_pretty(&value).unwrap();

    // Signed over the compact bytes, stored pretty-printed (as a proxy that re-indents would).
    let file = swapped_body_capture(dir.path(), &compact, &pretty);
    let out = verify_file(&file, "stripe", RAW_SECRET, &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stdout(&out).contains("matches its compact JSON re-serialisation"),
        "{}",
        stdout(&out)
    );

    // Signed over pretty bytes, stored compact (as a parse-and-serialise step would).
    let file = swapped_body_capture(dir.path(), &pretty, &compact);
    let out = verify_file(&file, "stripe", RAW_SECRET, &["--json"]);
    assert_eq!(out.status.code(), Some(4));
    let record: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(record["ok"], Value::Bool(false));
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.contains("matches its pretty JSON re-serialisation"),
        "{reason}"
    );
    assert!(reason.contains("raw bytes"), "{reason}");

    // With the wrong secret as well, nothing matches and no re-serialisation is claimed.
    let out = verify_file(&file, "stripe", "another", &[]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        !stdout(&out).contains("re-serialisation"),
        "{}",
        stdout(&out)
    );
}

/// A capture line carrying a vector's headers and `body`.
fn vector_line(vector: &Value, body: &str) -> String {
    let headers: Vec<(String, String)> = vector["expected_headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    serde_json::json!({
        "v": 1, "kind": "event", "id": vector["name"], "type": null,
        "received_at": "2024-01-01T00:00:00.000Z", "method": "POST", "path": "/hook",
        "headers": headers, "body": body,
    })
    .to_string()
}

#[test]
fn verify_accepts_every_published_vector() {
    let dir = tempfile::tempdir().unwrap();
    for vector in vectors() {
        let name = vector["name"].as_str().unwrap();
        let scheme = vector["scheme"].as_str().unwrap();
        let secret = vector["secret"].as_str().unwrap();
        let payload = vector["payload"].as_str().unwrap();
        let file = write_capture(dir.path(), "v.jsonl", &[vector_line(&vector, payload)]);
        // The vectors are years old: --tolerance 0 leaves the timestamp unchecked.
        let out = verify_file(&file, scheme, secret, &["--tolerance", "0"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stdout(&out));
        if vector["timestamp"].is_i64() {
            let out = verify_file(&file, scheme, secret, &[]);
            assert_eq!(out.status.code(), Some(4), "{name}: {}", stdout(&out));
            assert!(
                stdout(&out).contains(" old when the event was received (tolerance 5m)"),
                "{name}: {}",
                stdout(&out)
            );
        }
        let tampered = format!("{payload} ");
        let file = write_capture(dir.path(), "v.jsonl", &[vector_line(&vector, &tampered)]);
        let out = verify_file(&file, scheme, secret, &["--tolerance", "0"]);
        assert_eq!(out.status.code(), Some(4), "{name}: {}", stdout(&out));
        assert!(
            stdout(&out).contains("does not match"),
            "{name}: {}",
            stdout(&out)
        );
    }
}

#[test]
fn verify_recognises_a_compacted_stripe_payload() {
    // Stripe's published payload is pretty-printed with a trailing newline; a proxy that
    // parses and re-serialises it compactly breaks the signature.
    let dir = tempfile::tempdir().unwrap();
    let vector = vectors()
        .into_iter()
        .find(|v| v["name"] == "stripe-1")
        .expect("the stripe-1 vector");
    let payload: Value = serde_json::from_str(vector["payload"].as_str().unwrap()).unwrap();
    let compact = serde_json::to_string(&payload).unwrap();
    let file = write_capture(dir.path(), "c.jsonl", &[vector_line(&vector, &compact)]);
    let out = verify_file(&file, "stripe", "webhook_secret", &["--tolerance", "0"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stdout(&out).contains("matches its pretty JSON re-serialisation"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_explains_an_unusable_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = fresh_capture(dir.path(), "standard", STANDARD_SECRET);
    let bad = "whsec_TOP-SECRET-XYZ!!not*base64";
    let out = verify_file(&file, "standard", bad, &[]);
    assert_eq!(out.status.code(), Some(4));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.contains(
            "unusable secret: secret starts with whsec_ but the rest is not valid base64"
        ),
        "{text}"
    );
    assert!(!text.contains(bad) && !stderr(&out).contains(bad));
    // Signing with it is refused up front.
    hookctl()
        .args([
            "send",
            "payment_success",
            "--sign",
            "standard",
            "--secret",
            bad,
        ])
        .arg("--dry-run")
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not valid base64"))
        .stderr(predicates::str::contains(bad).not());
}

#[test]
fn verify_checks_each_line_of_a_mixed_capture() {
    let dir = tempfile::tempdir().unwrap();
    let good = signed_dry_run(&["payment_success", "--sign", "slack", "--secret", RAW_SECRET]);
    let bad = signed_dry_run(&["payment_success", "--sign", "slack", "--secret", "other"]);
    let unsigned = signed_dry_run(&["payment_success"]);
    let file = write_capture(
        dir.path(),
        "mixed.jsonl",
        &[good[0].clone(), bad[0].clone(), unsigned[0].clone()],
    );
    let out = verify_file(&file, "slack", RAW_SECRET, &["--json"]);
    assert_eq!(out.status.code(), Some(4));
    let records: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let oks: Vec<_> = records.iter().map(|r| r["ok"].as_bool().unwrap()).collect();
    assert_eq!(oks, vec![true, false, false]);
    assert_eq!(records[0]["id"], parse_event(&good[0]).id);
    assert!(records[1]["reason"]
        .as_str()
        .unwrap()
        .contains("does not match"));
    assert!(records[2]["reason"]
        .as_str()
        .unwrap()
        .contains("missing the X-Slack-Signature header"));
    assert!(
        stderr(&out).contains("1 valid, 2 invalid"),
        "{}",
        stderr(&out)
    );
    // --quiet shows only the failures; - reads the capture from stdin.
    let out = hookctl()
        .args([
            "-q", "verify", "-", "--scheme", "slack", "--secret", RAW_SECRET,
        ])
        .write_stdin(std::fs::read(&file).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("-:2") && lines[0].contains("does not match"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("-:3") && lines[1].contains("missing"),
        "{lines:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// configuration errors

#[test]
fn missing_secret_is_an_error_naming_both_ways_to_give_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_capture(dir.path(), "e.jsonl", &signed_dry_run(&["payment_success"]));
    let file = file.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["send", "payment_success", "--sign", "stripe", "--dry-run"],
        vec!["listen", "--port", "0", "--verify", "stripe"],
        vec!["replay", file, "--resign", "stripe", "--dry-run"],
        vec!["verify", file, "--scheme", "stripe"],
    ];
    for args in runs {
        hookctl()
            .args(&args)
            .timeout(WAIT)
            .assert()
            .code(1)
            .stderr(predicates::str::contains(
                "a signing secret is needed: pass --secret or set HOOKCTL_SECRET",
            ));
    }
}

#[test]
fn unknown_scheme_is_an_error_listing_the_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_capture(dir.path(), "e.jsonl", &signed_dry_run(&["payment_success"]));
    let file = file.to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["send", "payment_success", "--sign", "paypal", "--dry-run"],
        vec!["listen", "--port", "0", "--verify", "paypal"],
        vec!["replay", file, "--resign", "paypal", "--dry-run"],
        vec!["verify", file, "--scheme", "paypal"],
    ];
    for args in runs {
        hookctl()
            .args(&args)
            .args(["--secret", RAW_SECRET])
            .timeout(WAIT)
            .assert()
            .code(1)
            .stderr(predicates::str::contains(
                "unknown signature scheme `paypal`; expected one of: \
                 standard, stripe, github, shopify, slack, hmac",
            ));
    }
}

// ---------------------------------------------------------------------------------------------
// secrets never leak

/// Substrings that would reveal one of the test secrets: the raw text, the base64 form and the
/// decoded bytes of the standard secret.
const LEAKS: &[&str] = &[
    "TOP-SECRET",
    "VE9QLVNFQ1JFVC1Y",
    "b3RoZXItc2VjcmV0",
    "other-secret",
];

fn assert_no_secret(what: &str, text: &str) {
    for leak in LEAKS {
        assert!(
            !text.contains(leak),
            "{what} reveals a secret ({leak}): {text}"
        );
    }
}

/// Every stdout and stderr of `out`, checked.
fn check_output(what: &str, out: &Output) {
    assert_no_secret(&format!("{what} stdout"), &stdout(out));
    assert_no_secret(&format!("{what} stderr"), &stderr(out));
}

#[test]
fn no_secret_appears_in_any_output_or_capture() {
    let dir = tempfile::tempdir().unwrap();
    for (scheme, secret) in [("standard", STANDARD_SECRET), ("stripe", RAW_SECRET)] {
        for listen_flags in [&["-v"][..], &["--json"][..]] {
            let capture = dir
                .path()
                .join(format!("{scheme}{}.jsonl", listen_flags[0]));
            let mut listen = verifying_listen(scheme, &[secret], &capture, listen_flags);
            let url = listen.url.clone();
            // Good and bad signatures, pretty, verbose and JSON reports.
            for (flags, key) in [
                (&["-v"][..], secret),
                (&["--json"][..], secret),
                (&["-v"][..], OTHER_SECRET),
                (&["--json"][..], OTHER_SECRET),
            ] {
                let out = send_signed(&url, scheme, key, flags);
                check_output("send", &out);
            }
            let sent = wait_capture(&capture, 4);
            assert_eq!(sent.iter().filter(|e| verified(e).ok).count(), 2);
            // Replay a copy, so the replay never reads the lines it causes.
            let snapshot = dir.path().join("snapshot.jsonl");
            std::fs::copy(&capture, &snapshot).unwrap();
            // Replay, re-signed and as-is, verbose and JSON, real and dry.
            for flags in [
                &["-v", "--resign", scheme, "--secret", secret][..],
                &["--json", "--resign", scheme, "--secret", secret][..],
                &["--dry-run", "--resign", scheme, "--secret", secret][..],
                &["-v", "--resign", scheme, "--secret", OTHER_SECRET][..],
            ] {
                let out = hookctl()
                    .arg("replay")
                    .arg(&snapshot)
                    .args(["--to", &url])
                    .args(flags)
                    .output()
                    .unwrap();
                check_output("replay", &out);
            }
            let status = listen.interrupt();
            assert!(status.success());
            assert_no_secret("listen stdout", &listen.stdout.rest().join("\n"));
            assert_no_secret("listen stderr", &listen.stderr.rest().join("\n"));
            let captured = std::fs::read_to_string(&capture).unwrap();
            assert!(captured.lines().count() >= 8, "{captured}");
            assert_no_secret("capture", &captured);
            // Offline checks with the right, a wrong and an unusable secret.
            for key in [secret, OTHER_SECRET, "whsec_TOP-SECRET-!!"] {
                for flags in [&["-v"][..], &["--json"][..]] {
                    let out = verify_file(&capture, scheme, key, flags);
                    assert_eq!(
                        out.status.code(),
                        Some(4),
                        "some events have bad signatures"
                    );
                    check_output("verify", &out);
                }
            }
        }
    }
    // Help never shows the value of HOOKCTL_SECRET, and neither does a failing run.
    for args in [
        &["send", "--help"][..],
        &["verify", "/nonexistent.jsonl", "--scheme", "stripe"][..],
        &["send", "payment_success", "--sign", "standard", "--dry-run"][..],
    ] {
        let out = hookctl()
            .env("HOOKCTL_SECRET", "whsec_TOP-SECRET-!!")
            .args(args)
            .output()
            .unwrap();
        check_output(&args.join(" "), &out);
    }
}
