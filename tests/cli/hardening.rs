//! Issue 21, hardening: nothing acknowledged is lost; slow and stalled clients, connection caps.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{authority, hookctl_via, raw_request, read_capture, read_head, Listen, WAIT};

/// POSTs `body` on a fresh connection and returns the status code.
fn post(listen: &Listen, body: &str) -> u16 {
    let request = format!(
        "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let head = raw_request(&listen.url, request.as_bytes());
    head.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// Every line of the capture parses, and the bodies are these, in order.
fn assert_whole_lines(path: &std::path::Path, bodies: &[String]) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn tail: {text:?}"
    );
    let read: Vec<String> = read_capture(path)
        .into_iter()
        .map(|e| String::from_utf8(e.body.to_vec()).unwrap())
        .collect();
    assert_eq!(read, bodies);
}

#[cfg(target_os = "linux")]
#[test]
fn a_write_cut_by_the_file_size_limit_leaves_no_torn_line() {
    if which("prlimit").is_none() {
        panic!("this test needs prlimit (util-linux)");
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    // Room for a few lines: each is about 800 bytes.
    let mut listen = Listen::spawn_command(
        hookctl_via("prlimit", &["--fsize=3000:unlimited", "--"]),
        &["--quiet", "--capture", capture.to_str().unwrap()],
        |_| {},
    );
    let mut acked = Vec::new();
    let mut refused = 0;
    for n in 0..10 {
        let body = format!("{n:03}{}", "x".repeat(500));
        match post(&listen, &body) {
            200 => acked.push(body),
            500 => refused += 1,
            other => panic!("unexpected {other}"),
        }
        if refused > 0 {
            break;
        }
    }
    assert!(refused == 1 && !acked.is_empty(), "acked {}", acked.len());
    listen
        .stderr
        .wait_for("the capture error", |l| l.contains("answered 500"));
    // Every acknowledged event is readable, and nothing of the refused one is there.
    assert_whole_lines(&capture, &acked);
    // With the limit raised, the next event goes on a line of its own.
    let raised = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &listen.pid().to_string(),
            "--fsize=unlimited:unlimited",
        ])
        .status()
        .unwrap();
    assert!(raised.success());
    let body = "after the limit".to_owned();
    assert_eq!(post(&listen, &body), 200);
    acked.push(body);
    assert_whole_lines(&capture, &acked);
    assert!(listen.interrupt().success());
}

#[test]
fn a_capture_file_deleted_while_listening_is_opened_again() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    assert_eq!(post(&listen, "first"), 200);
    std::fs::remove_file(&capture).unwrap();
    assert_eq!(post(&listen, "second"), 200);
    listen.stderr.wait_for("the reopen warning", |l| {
        l.starts_with("hookctl: warning: capture file") && l.contains("deleted or replaced")
    });
    assert_whole_lines(&capture, &["second".to_owned()]);
    // Replaced by another file (rotated): the same.
    std::fs::rename(&capture, dir.path().join("old.jsonl")).unwrap();
    std::fs::write(&capture, "").unwrap();
    assert_eq!(post(&listen, "third"), 200);
    assert_whole_lines(&capture, &["third".to_owned()]);
    assert!(listen.interrupt().success());
}

/// The path of `program` on PATH.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| std::path::Path::new(dir).join(program))
        .find(|p| p.is_file())
}

/// Connects to a listen and sets a bounded read timeout.
fn connect(listen: &Listen, read_timeout: Duration) -> TcpStream {
    let stream = TcpStream::connect(authority(&listen.url)).expect("connect");
    stream.set_read_timeout(Some(read_timeout)).unwrap();
    stream
}

#[test]
fn a_stalled_body_gets_408_after_the_body_timeout() {
    let mut listen = Listen::start(&["--quiet", "--body-timeout", "200ms"]);
    let mut stream = connect(&listen, WAIT);
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
        .unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    listen.stderr.wait_for("the refusal", |l| {
        l.contains("refused POST /slow") && l.contains("--body-timeout (200ms); answered 408")
    });
    assert!(listen.interrupt().success());
}

#[test]
fn stalled_headers_are_dropped_after_the_header_timeout() {
    let mut listen = Listen::start(&["--quiet", "--header-timeout", "200ms"]);
    let mut stream = connect(&listen, WAIT);
    stream
        .write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut rest = Vec::new();
    // The server closes the connection: the read ends (with or without a 408 first).
    let _ = stream.read_to_end(&mut rest);
    let text = String::from_utf8_lossy(&rest);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    assert!(listen.interrupt().success());
}

#[test]
fn past_max_connections_clients_wait_in_a_bounded_queue_then_get_503() {
    let mut listen = Listen::start(&["--quiet", "--max-connections", "2"]);
    // Two idle connections hold both slots.
    let first = connect(&listen, WAIT);
    let _second = connect(&listen, WAIT);
    // The third waits for a slot; 8 places per slot make a queue of 16.
    let mut third = connect(&listen, WAIT);
    third
        .write_all(b"POST /third HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    let _queued: Vec<TcpStream> = (0..15).map(|_| connect(&listen, WAIT)).collect();
    // With the slots and the queue full, the next one is answered 503 at once.
    let mut refused = connect(&listen, WAIT);
    let mut answer = String::new();
    refused.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after: 1\r\n"), "{answer}");
    assert!(
        answer.ends_with("{\"error\":\"too many connections; retry in a second\"}"),
        "{answer}"
    );
    listen.stderr.wait_for("the refusal notice", |l| {
        l.starts_with(
            "hookctl: warning: 1 connection(s) refused with 503: --max-connections (2) reached",
        )
    });
    // A slot frees up: the first in the queue is served.
    drop(first);
    let head = read_head(&mut third);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(listen.interrupt().success());
}

#[test]
fn limits_are_range_checked() {
    for (flag, value) in [
        ("--max-connections", "0"),
        ("--max-connections", "-1"),
        ("--max-connections", "1e308"),
        ("--header-timeout", "1e30"),
        ("--body-timeout", "NaN"),
    ] {
        let out = crate::support::hookctl()
            .args(["listen", "--port", "0", &format!("{flag}={value}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag) && err.lines().count() <= 6, "{err}");
    }
}

/// Every numeric flag, fed extreme values: a one-line error with exit code 2 when the value is
/// out of range, and never a panic. Each command is set up to end quickly when the value is
/// accepted (a capture or file that cannot be opened, a target that refuses).
#[test]
fn extreme_numbers_never_panic() {
    let dead = crate::support::dead_url();
    let missing = "/nonexistent-hookctl-dir/x.jsonl";
    let listen = ["listen", "--port", "0", "--capture", missing];
    let send = ["send", "payment_success", "--to", dead.as_str()];
    let replay = ["replay", missing, "--to", dead.as_str()];
    let verify = ["verify", missing, "--scheme", "github", "--secret", "s"];
    let commands: [(&[&str], &[&str]); 5] = [
        (
            &listen,
            &[
                "--port",
                "--max-print-lines",
                "--max-print-bytes",
                "--max-body",
                "--header-timeout",
                "--body-timeout",
                "--max-connections",
                "--count",
                "--timeout",
                "--status",
                "--fail-rate",
                "--seed",
                "--delay",
                "--tolerance",
                "--forward-timeout",
                "--forward-retries",
            ],
        ),
        (
            &send,
            &[
                "--timeout",
                "--retries",
                "--backoff",
                "--concurrency",
                "--rate",
                "--count",
                "--timestamp",
            ],
        ),
        (&replay, &["--timeout", "--retries", "--speed", "--rate"]),
        (&verify, &["--tolerance"]),
        (
            &["relay", "amqp://127.0.0.1:1/", "--queue", "q"],
            &["--count"],
        ),
    ];
    for (command, flags) in commands {
        for flag in flags {
            for value in [
                "0",
                "-1",
                "NaN",
                "inf",
                "1e308",
                "1e-308",
                "99999999999999999999",
            ] {
                let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
                args.push(format!("{flag}={value}"));
                if *flag == "--forward-retries" || *flag == "--forward-timeout" {
                    args.extend(["--forward-to".to_owned(), dead.clone()]);
                }
                let out = crate::support::hookctl()
                    .args(&args)
                    .timeout(WAIT)
                    .output()
                    .unwrap();
                let err = String::from_utf8_lossy(&out.stderr);
                let code = out.status.code();
                assert!(
                    matches!(code, Some(1..=4)) && !err.contains("panicked"),
                    "{args:?}: exit {code:?}\n{err}"
                );
                if code == Some(2) {
                    assert!(err.starts_with("error: "), "{args:?}: {err}");
                }
            }
        }
    }
}

#[test]
fn listening_on_every_interface_warns_once() {
    let mut listen = Listen::spawn(&["--quiet", "--host", "0.0.0.0"]);
    listen.stderr.wait_for("the warning", |l| {
        l == "hookctl: warning: listening on every network interface (0.0.0.0): anyone who can reach this machine can send events; add --verify SCHEME to refuse unsigned ones"
    });
    assert!(listen.interrupt().success());
    let mut local = Listen::start(&["--quiet"]);
    assert!(local.interrupt().success());
    let said = local.stderr.rest().join("\n");
    assert!(!said.contains("every network interface"), "{said}");
}

/// A capture of three events: one that failed verification when captured, one that passed,
/// and one with no verdict.
fn verdict_capture(dir: &std::path::Path) -> std::path::PathBuf {
    let lines: Vec<String> = [
        ("forged", Some(false)),
        ("good", Some(true)),
        ("plain", None),
    ]
    .into_iter()
    .map(|(id, ok)| {
        let mut event = hookctl::event::Event::from_parts(
            "POST",
            "/hook",
            None,
            [("webhook-id", id)].into_iter().collect(),
            bytes::Bytes::from_static(b"{}"),
            std::time::SystemTime::now(),
        );
        event.notes.verified = ok.map(|ok| hookctl::event::Verified {
            ok,
            scheme: "github".into(),
            reason: "test".into(),
        });
        event.to_json_line() + "\n"
    })
    .collect();
    let path = dir.join("verdicts.jsonl");
    std::fs::write(&path, lines.concat()).unwrap();
    path
}

#[test]
fn resign_skips_events_that_failed_verification_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let capture = verdict_capture(dir.path());
    let app = crate::support::Recorder::ok();
    let replay = |extra: &[&str]| {
        crate::support::hookctl()
            .arg("replay")
            .arg(&capture)
            .args(["--to", &app.url, "--resign", "github", "--secret", "s3cret"])
            .args(extra)
            .timeout(WAIT)
            .output()
            .unwrap()
    };
    let out = replay(&[]);
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hookctl: warning: 1 event not sent: it failed signature verification when captured, and --resign would make it valid (--resign-unverified sends them anyway)"),
        "{err}"
    );
    assert!(err.contains("1 skipped"), "{err}");
    let ids: Vec<String> = (0..2).map(|_| app.next().event.id).collect();
    assert_eq!(ids, ["good", "plain"]);
    // Replay has exited: every request it made was answered, so it is in the channel.
    assert!(app.next_within(Duration::ZERO).is_none());

    let out = replay(&["--resign-unverified"]);
    assert_eq!(out.status.code(), Some(0));
    let ids: Vec<String> = (0..3).map(|_| app.next().event.id).collect();
    assert_eq!(ids, ["forged", "good", "plain"]);
}

#[test]
fn replay_follow_dry_run_shows_each_event_as_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("live.jsonl");
    std::fs::write(&capture, "{\"id\":\"evt_one\",\"body\":\"1\"}\n").unwrap();
    let mut child = crate::support::hookctl_std()
        .args(["replay", "--follow", "--dry-run"])
        .arg(&capture)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = crate::support::Lines::spawn(child.stdout.take().unwrap());
    stdout.wait_for("the first event", |l| l.contains("\"id\":\"evt_one\""));
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&capture)
        .unwrap();
    file.write_all(b"{\"id\":\"evt_two\",\"body\":\"2\"}\n")
        .unwrap();
    stdout.wait_for("the appended event", |l| l.contains("\"id\":\"evt_two\""));
    crate::support::signal(child.id(), "INT");
    let status = crate::support::wait_child(&mut child);
    assert_eq!(status.code(), Some(130), "{status:?}");
}

#[test]
fn a_client_that_half_closes_still_gets_its_answer_and_the_capture_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    // A delay keeps the answer pending while the client's EOF arrives.
    let mut listen = Listen::start(&[
        "--quiet",
        "--delay",
        "100ms",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let mut stream = connect(&listen, WAIT);
    stream
        .write_all(b"POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let head = read_head(&mut stream);
    assert!(head.starts_with("HTTP/1.1 200"), "{head:?}");
    assert!(listen.interrupt().success());
    let events = read_capture(&capture);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].notes.status, Some(200));
}

/// An id that would retitle the terminal, in every stderr message that quotes request text.
#[test]
fn request_text_on_stderr_is_escaped() {
    let evil = "evt_\u{1b}]0;PWNED\u{7}";
    let escaped = "evt_\\x1b]0;PWNED\\x07";
    let dir = tempfile::tempdir().unwrap();
    // --expect's timeout report quotes the closest event's id.
    let mut listen = Listen::start(&["--quiet", "--expect", "type=never", "--timeout", "500ms"]);
    let body = format!(
        "{{\"id\":\"{evt}\",\"type\":\"x\"}}",
        evt = evil
            .replace('\u{1b}', "\\u001b")
            .replace('\u{7}', "\\u0007")
    );
    assert_eq!(post(&listen, &body), 200);
    let code = listen.wait().code();
    assert_eq!(code, Some(4));
    let said = listen.stderr.rest().join("\n");
    assert!(said.contains(escaped) && !said.contains('\u{1b}'), "{said}");
    // A forward that fails names the event.
    let mut listen = Listen::start(&["--quiet", "--forward-to", &crate::support::dead_url()]);
    assert_eq!(post(&listen, &body), 502);
    let line = listen
        .stderr
        .wait_for("the forward failure", |l| l.contains("forward of"));
    assert!(line.contains(escaped) && !line.contains('\u{1b}'), "{line}");
    assert!(listen.interrupt().success());
    // A capture that cannot be written names the event.
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    std::fs::remove_file(&capture).unwrap();
    std::fs::create_dir(&capture).unwrap();
    assert_eq!(post(&listen, &body), 500);
    let line = listen
        .stderr
        .wait_for("the capture failure", |l| l.contains("cannot write"));
    assert!(line.contains(escaped) && !line.contains('\u{1b}'), "{line}");
    assert!(listen.interrupt().success());
}

/// A `user:password@` in a URL is sent as Basic credentials and never shown: not in the
/// capture, not in `--json`, not on stderr.
#[test]
fn credentials_in_urls_are_used_but_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let app = crate::support::Recorder::ok();
    let with_secret = app.url.replace("http://", "http://user:s3cr%40t@");
    let mut listen = Listen::start(&[
        "--json",
        "--capture",
        capture.to_str().unwrap(),
        "--forward-to",
        &format!("{with_secret}/app"),
    ]);
    assert_eq!(post(&listen, "{}"), 200);
    let seen = app.next().event;
    // base64 of "user:s3cr@t"
    assert_eq!(seen.header("authorization"), Some("Basic dXNlcjpzM2NyQHQ="));
    let line = listen
        .stdout
        .wait_for("the event", |l| l.contains("\"kind\":\"event\""));
    let shown = app.url.replace("http://", "http://***@");
    assert!(line.contains(&format!("\"url\":\"{shown}/app\"")), "{line}");
    assert!(listen.interrupt().success());
    // A forward that fails names the target without its password.
    let dead = crate::support::dead_url().replace("http://", "http://user:s3cr%40t@");
    let mut failing = Listen::start(&["--quiet", "--forward-to", &dead]);
    assert_eq!(post(&failing, "{}"), 502);
    failing
        .stderr
        .wait_for("the failure", |l| l.contains("forward of"));
    assert!(failing.interrupt().success());
    let everything = [
        std::fs::read_to_string(&capture).unwrap(),
        listen.stdout.rest().join("\n"),
        listen.stderr.rest().join("\n"),
        failing.stderr.rest().join("\n"),
    ]
    .join("\n");
    assert!(!everything.contains("s3cr"), "{everything}");
    // An invalid URL with credentials is refused without echoing them.
    let out = crate::support::hookctl()
        .args(["send", "payment_success", "--to", "ftp://user:s3cret@x/"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ftp://***@x/") && !err.contains("s3cret"),
        "{err}"
    );
}

#[test]
fn ctrl_c_does_not_wait_for_connections_queued_for_a_slot() {
    let mut listen = Listen::start(&["--quiet", "--max-connections", "1"]);
    // One keep-alive connection holds the only slot once it has been answered.
    let mut holder = connect(&listen, WAIT);
    holder
        .write_all(b"POST /h HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        .unwrap();
    assert!(read_head(&mut holder).starts_with("HTTP/1.1 200"));
    // Eight wait for it; a ninth is refused, which shows all eight are queued.
    let _queued: Vec<TcpStream> = (0..8).map(|_| connect(&listen, WAIT)).collect();
    let mut refused = connect(&listen, WAIT);
    let mut answer = String::new();
    refused.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    // Bounded by design rather than measured: the queue would otherwise hold shutdown for its
    // 10 s drain timeout.
    let started = std::time::Instant::now();
    assert!(listen.interrupt().success());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Header bytes that are not UTF-8 are captured exactly and replay sends the same bytes.
#[test]
fn header_bytes_that_are_not_utf8_are_kept_and_replayed_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    let head = raw_request(
        &listen.url,
        b"POST /bin HTTP/1.1\r\nHost: x\r\nX-Bin: a\xff\xfeb\r\nX-Text: caf\xc3\xa9\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(listen.interrupt().success());
    let line = std::fs::read_to_string(&capture).unwrap();
    // The text, with U+FFFD, then the exact bytes in base64; UTF-8 text stays a plain pair.
    assert!(
        line.contains("[\"x-bin\",\"a\u{fffd}\u{fffd}b\",\"Yf/+Yg==\"]"),
        "{line}"
    );
    assert!(line.contains("[\"x-text\",\"caf\u{e9}\"]"), "{line}");
    let app = crate::support::Recorder::ok();
    crate::support::hookctl()
        .arg("replay")
        .arg(&capture)
        .args(["--to", &app.url])
        .assert()
        .success();
    let seen = app.next().event;
    let sent: Vec<(&str, &[u8])> = seen
        .headers
        .iter_bytes()
        .filter(|(name, _)| name.starts_with("x-"))
        .collect();
    assert_eq!(
        sent,
        [
            ("x-bin", &b"a\xff\xfeb"[..]),
            ("x-text", "caf\u{e9}".as_bytes())
        ]
    );
}

/// Out of file descriptors, listen says so once a second at most, and serves again as soon
/// as descriptors free up.
#[cfg(target_os = "linux")]
#[test]
fn running_out_of_file_descriptors_is_reported_once_a_second_and_recovered_from() {
    let mut listen = Listen::spawn_command(
        hookctl_via("prlimit", &["--nofile=24:24", "--"]),
        &["--quiet"],
        |_| {},
    );
    // More idle connections than descriptors: accepting fails for the rest.
    let started = std::time::Instant::now();
    let held: Vec<TcpStream> = (0..40).map(|_| connect(&listen, WAIT)).collect();
    listen.stderr.wait_for("the accept failure", |l| {
        l.starts_with("hookctl: warning: cannot accept connections:")
            && l.contains("raise the file limit (ulimit -n)")
    });
    // Descriptors free up: the connections waiting in the kernel's queue are served.
    drop(held);
    let head = raw_request(
        &listen.url,
        b"GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(listen.interrupt().success());
    let elapsed = started.elapsed().as_secs() + 1;
    let said = listen.stderr.rest();
    let warnings = said
        .iter()
        .filter(|l| l.contains("cannot accept connections"))
        .count() as u64;
    // The first warning, then at most one a second.
    assert!(
        warnings <= elapsed + 1,
        "{warnings} warnings in {elapsed}s: {said:#?}"
    );
}
