//! Output that fits a terminal: listen's compact view and its automatic switch, `--json`
//! without the ready record, listen ending when its reader goes away, the aligned result
//! lines of send and replay, `-q`, one line per failure, and errors with hints that fit.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Output, Stdio};

use console::measure_text_width;

use crate::support::{
    dead_url, hookctl, hookctl_std, wait_child, Lines, Listen, Recorder, Spawned,
};

const SECRET: &str = "whsec_compact-view-test";

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `hookctl ARGS`, whatever the exit code.
fn run(args: &[&str]) -> Output {
    hookctl().args(args).output().expect("run hookctl")
}

/// The display column where `needle` starts in `line`.
fn column_of(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {line:?}"));
    measure_text_width(&line[..at])
}

#[test]
fn compact_listen_prints_one_aligned_line_per_event() {
    let mut listen = Listen::start(&["--compact", "--verify", "stripe", "--secret", SECRET]);
    let to = format!("{}/webhook", listen.url);
    let signed = run(&[
        "send",
        "payment_success",
        "--sign",
        "stripe",
        "--secret",
        SECRET,
        "--to",
        &to,
    ]);
    assert!(signed.status.success(), "{}", stderr_of(&signed));
    let forged = run(&[
        "send",
        "order_created",
        "--sign",
        "stripe",
        "--secret",
        "whsec_wrong",
        "--to",
        &to,
    ]);
    assert_eq!(forged.status.code(), Some(3));
    // A hostile type: escaped on the line, which stays one line.
    let hostile = run(&[
        "send",
        "--data",
        "{\"id\":\"evt_hostile\",\"type\":\"x\\u001b[31m\\nred\"}",
        "--to",
        &to,
    ]);
    assert_eq!(hostile.status.code(), Some(3));
    listen
        .stdout
        .wait_for("the third line", |l| l.contains("evt_hostile"));
    assert!(listen.interrupt().success());
    let lines = listen.stdout.rest();
    assert_eq!(lines.len(), 3, "one line per event: {lines:#?}");
    assert!(lines[0].contains(" 200 \u{2713} stripe"), "{}", lines[0]);
    assert!(
        lines[1].contains(" 401 \u{2717} signature does not match"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("x\\x1b[31m\\nred"), "{}", lines[2]);
    assert!(!lines.iter().any(|l| l.contains('\u{1b}')));
    // Status and size line up, whatever the path, type and id.
    let statuses: Vec<usize> = lines
        .iter()
        .zip([" 200 ", " 401 ", " 401 "])
        .map(|(l, s)| column_of(l, s))
        .collect();
    assert!(statuses.iter().all(|&c| c == statuses[0]), "{lines:#?}");
    let err = listen.stderr.rest().join("\n");
    assert!(
        !err.contains("one line per event"),
        "no switch was needed: {err}"
    );
}

#[test]
fn json_starts_with_an_event_unless_the_ready_record_is_asked_for() {
    let mut listen = Listen::start(&["--json"]);
    let sent = run(&["send", "payment_success", "--to", &listen.url]);
    assert!(sent.status.success(), "{}", stderr_of(&sent));
    let first = listen.stdout.wait_for("the first line", |_| true);
    let value: serde_json::Value = serde_json::from_str(&first).unwrap();
    // `listen --json | jq .type` prints the type first, not null.
    assert_eq!(value["kind"], "event", "{first}");
    assert_eq!(value["type"], "payment_success", "{first}");
    assert!(listen.interrupt().success());

    let mut listen = Listen::start(&["--json", "--ready-json"]);
    let first = listen.stdout.wait_for("the ready record", |_| true);
    let ready: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(ready["kind"], "ready", "{first}");
    assert_eq!(ready["url"], listen.url.as_str());
    assert!(listen.interrupt().success());

    let out = run(&["listen", "--ready-json"]);
    assert_eq!(out.status.code(), Some(2), "--ready-json needs --json");
    assert!(stderr_of(&out).contains("--json"), "{}", stderr_of(&out));
}

/// `hookctl listen --json | head -1`: once the reader goes away, listen exits at once and
/// quietly, without waiting for another delivery to find the pipe closed.
#[test]
fn listen_exits_as_soon_as_its_reader_goes_away() {
    for view in [&["--json"][..], &["--compact"][..]] {
        let mut child = hookctl_std()
            .args(["listen", "--port", "0"])
            .args(view)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = Lines::spawn(child.stderr.take().unwrap());
        let line = stderr.wait_for("the listening line", |l| l.starts_with("listening on "));
        let url = line.trim_start_matches("listening on ").to_owned();
        let sent = run(&["send", "payment_success", "--to", &url]);
        assert!(sent.status.success(), "{}", stderr_of(&sent));
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        assert!(first.contains("payment_success"), "{first}");
        // `head -1` exits: the read end closes, and nothing more is sent.
        drop(reader);
        let status = wait_child(&mut child);
        assert_eq!(status.code(), Some(0), "{view:?}");
        let err = stderr.rest().join("\n");
        assert!(!err.contains("error"), "quietly: {err}");
        assert!(err.contains("1 event"), "{err}");
    }
}

#[test]
fn a_non_2xx_answer_is_one_line() {
    let listen = Listen::start(&["--quiet", "--status", "503"]);
    let out = run(&["send", "payment_success", "--to", &listen.url]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout_of(&out), "");
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("hookctl: error: evt_")
            && lines[0].ends_with(": answered 503 Service Unavailable"),
        "{err}"
    );

    // With -v the result line (and the answer's body) is the report, on stdout.
    let out = run(&["-v", "send", "payment_success", "--to", &listen.url]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stderr_of(&out), "");
    let text = stdout_of(&out);
    assert!(text.starts_with("503 Service Unavailable  "), "{text}");
}

#[test]
fn quiet_keeps_the_summary_and_the_errors() {
    let listen = Listen::start(&["--quiet"]);
    let out = run(&[
        "-q",
        "send",
        "payment_success",
        "--count",
        "3",
        "--to",
        &listen.url,
    ]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "");
    let err = stderr_of(&out);
    assert!(
        err.starts_with("sent 3 events in ") && err.contains("3 2xx, 0 non-2xx, 0 failed"),
        "{err}"
    );
    let out = run(&["-q", "send", "payment_success", "--to", &listen.url]);
    assert!(
        stderr_of(&out).starts_with("sent 1 event in "),
        "{}",
        stderr_of(&out)
    );

    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let dry = run(&["send", "payment_success", "--count", "2", "--dry-run"]);
    std::fs::write(&capture, &dry.stdout).unwrap();
    let out = hookctl()
        .args(["-q", "replay"])
        .arg(&capture)
        .args(["--to", &listen.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), "");
    assert!(
        stderr_of(&out).starts_with("sent 2 events in "),
        "{}",
        stderr_of(&out)
    );

    // Errors stay: one line each, then the summary.
    let out = hookctl()
        .args(["-q", "replay"])
        .arg(&capture)
        .args(["--to", &dead_url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("hookctl: error: evt_"))
            .count(),
        2,
        "{err}"
    );
    assert!(err.contains("0 2xx, 0 non-2xx, 2 failed"), "{err}");
}

/// Writes a capture whose events have types and ids of different lengths.
fn mixed_capture(path: &Path) {
    let lines: Vec<String> = [
        ("evt_1", "a"),
        ("evt_0123456789abcdefghij", "payment_intent.succeeded"),
        ("evt_\u{65e5}\u{672c}", "order_created"),
    ]
    .iter()
    .map(|(id, t)| {
        let body = serde_json::json!({ "id": id, "type": t }).to_string();
        serde_json::json!({ "v": 1, "kind": "event", "body": body }).to_string()
    })
    .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

#[test]
fn send_and_replay_result_lines_line_up() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("mixed.jsonl");
    mixed_capture(&capture);
    let out = hookctl()
        .args(["-v", "replay"])
        .arg(&capture)
        .args(["--to", &rec.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("200 OK")).collect();
    assert_eq!(lines.len(), 3, "{text}");
    let types: Vec<usize> = lines
        .iter()
        .zip(["  a ", "  payment_intent", "  order_created"])
        .map(|(l, t)| column_of(l, t))
        .collect();
    let ids: Vec<usize> = lines.iter().map(|l| column_of(l, "evt_")).collect();
    assert!(types.iter().all(|&c| c == types[0]), "{text}");
    assert!(ids.iter().all(|&c| c == ids[0]), "{text}");
}

#[test]
fn a_filter_that_selects_nothing_says_so_in_the_summary() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("mixed.jsonl");
    mixed_capture(&capture);
    let out = hookctl()
        .arg("replay")
        .arg(&capture)
        .args(["--to", &rec.url, "--filter", "type=nothing_*"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("sent 0 events")
            && err.contains("3 skipped (3 not selected by --filter/--id)"),
        "{err}"
    );
    assert!(rec.drain().is_empty());
}

#[test]
fn errors_are_one_line_red_on_request_with_hints_that_fit() {
    let dead = dead_url();
    // Refused: is anything listening there?
    let out = run(&[
        "--color",
        "always",
        "send",
        "payment_success",
        "--to",
        &dead,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hookctl: \u{1b}[1;31merror:\u{1b}[0m evt_"),
        "red label: {err:?}"
    );
    assert!(err.contains("is anything listening there?"), "{err}");
    // Not a terminal, no --color: no colour.
    let out = run(&["send", "payment_success", "--to", &dead]);
    assert!(
        stderr_of(&out).starts_with("hookctl: error: evt_"),
        "{}",
        stderr_of(&out)
    );

    // A name that does not resolve is not a refused connection.
    let out = run(&[
        "send",
        "payment_success",
        "--to",
        "http://hookctl-test.invalid:9/",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.starts_with("hookctl: error: evt_"), "{err}");
    assert!(err.contains("cannot resolve"), "{err}");
    assert!(!err.contains("listening"), "{err}");

    // A down app behind --forward-to: the hint is about the app, not about hookctl listen.
    let mut listen = Listen::start(&["--quiet", "--forward-to", &dead]);
    let out = run(&["send", "payment_success", "--to", &listen.url]);
    assert_eq!(out.status.code(), Some(3));
    let line = listen
        .stderr
        .wait_for("the forward failure", |l| l.contains("forward of"));
    assert!(
        line.starts_with("hookctl: error: forward of evt_"),
        "{line}"
    );
    assert!(line.contains("is your app running"), "{line}");
    assert!(!line.contains("hookctl listen"), "{line}");
    assert!(listen.interrupt().success());

    // A bad flag value is one line too.
    let out = run(&["replay", "/nonexistent/captures.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("hookctl: error: cannot open"), "{err}");
}

/// `hookctl listen ARGS` in a real terminal `columns` wide (util-linux `script` gives it a
/// pseudo-terminal, `stty` its size); returns the URL and the terminal's lines. `None` (the
/// test is skipped, and says so) where `script` is not installed.
fn listen_in_terminal(columns: u16, args: &str) -> Option<(String, Spawned)> {
    if which("script").is_none() {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let command = format!(
        "stty cols {columns} rows 50; exec {} listen --port 0 {args}",
        crate::support::bin().display()
    );
    let mut cmd = std::process::Command::new("script");
    cmd.env_clear()
        .env("NO_COLOR", "1")
        .env("RUST_BACKTRACE", "0")
        .env("HOME", std::env::temp_dir())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["-qfec", &command, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn script");
    let mut stdout = Lines::spawn(child.stdout.take().unwrap());
    let stderr = Lines::spawn(child.stderr.take().unwrap());
    let line = stdout.wait_for("the listening line", |l| l.contains("listening on "));
    let url = line
        .trim()
        .trim_start_matches("listening on ")
        .trim()
        .to_owned();
    Some((
        url,
        Spawned {
            child,
            stdout,
            stderr,
        },
    ))
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

#[test]
fn a_narrow_terminal_switches_to_the_compact_view_once() {
    let Some((url, mut term)) = listen_in_terminal(60, "--count 2") else {
        return;
    };
    for _ in 0..2 {
        let out = run(&["send", "payment_success", "--to", &format!("{url}/webhook")]);
        assert!(out.status.success(), "{}", stderr_of(&out));
    }
    let status = term.wait();
    assert!(status.success(), "{status:?}");
    let screen: Vec<String> = term
        .stdout
        .rest()
        .into_iter()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    let notes: Vec<&String> = screen
        .iter()
        .filter(|l| l.contains("switched to one line per event"))
        .collect();
    assert_eq!(notes.len(), 1, "{screen:#?}");
    assert!(notes[0].contains(" columns > 60)"), "{}", notes[0]);
    let events: Vec<&String> = screen
        .iter()
        .filter(|l| l.contains(" evt_") && l.ends_with(" 200"))
        .collect();
    assert_eq!(events.len(), 2, "{screen:#?}");
    assert!(
        events.iter().all(|l| measure_text_width(l) <= 60),
        "{screen:#?}"
    );
    assert!(
        !screen.iter().any(|l| l.contains("\"data\"")),
        "no body was printed: {screen:#?}"
    );
}

#[test]
fn fast_deliveries_switch_to_the_compact_view_once() {
    let Some((url, mut term)) = listen_in_terminal(200, "--count 12") else {
        return;
    };
    let out = run(&["send", "sensor_reading", "--count", "12", "--to", &url]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let status = term.wait();
    assert!(status.success(), "{status:?}");
    let screen = term.stdout.rest();
    let notes: Vec<&String> = screen
        .iter()
        .filter(|l| l.contains("switched to one line per event"))
        .collect();
    assert_eq!(notes.len(), 1, "{screen:#?}");
    assert!(notes[0].contains("(over 5 a second)"), "{}", notes[0]);
    assert!(notes[0].contains("--full"), "{}", notes[0]);

    // --full keeps every body.
    let Some((url, mut term)) = listen_in_terminal(200, "--full --count 12") else {
        return;
    };
    let out = run(&["send", "sensor_reading", "--count", "12", "--to", &url]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(term.wait().success());
    let screen = term.stdout.rest();
    assert!(!screen.iter().any(|l| l.contains("one line per event")));
    assert_eq!(
        screen.iter().filter(|l| l.contains("\"type\":")).count(),
        12,
        "{screen:#?}"
    );
}

#[test]
fn compact_and_full_and_json_conflict() {
    for args in [
        &["listen", "--compact", "--full"][..],
        &["listen", "--compact", "--json"][..],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr_of(&out).contains("cannot be used with"),
            "{}",
            stderr_of(&out)
        );
    }
}
