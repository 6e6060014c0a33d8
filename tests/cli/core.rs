//! Issue 2, the core: `listen` receives, prints and captures; `send` builds and delivers;
//! `replay` resends captures byte for byte. Every test drives the real binary on loopback.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hookctl::event::Event;
use serde_json::{json, Value};

use crate::support::{
    authority, dead_url, end_to_end_headers, hookctl, hookctl_std, ok_reply, raw_request,
    read_capture, signal, status_reply, wait_child, Listen, Recorder, WAIT,
};

// ---------------------------------------------------------------------------------------------
// helpers

/// A capture line for a hand-made event.
fn capture_line(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    Event::from_parts(
        method,
        path,
        query.map(str::to_owned),
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Bytes::copy_from_slice(body),
        SystemTime::now(),
    )
    .to_json_line()
}

/// A capture line for a JSON event of type `event_type`.
fn typed_line(event_type: &str, n: u32) -> String {
    let body = json!({ "id": format!("evt_{n}"), "type": event_type }).to_string();
    capture_line(
        "POST",
        "/hook",
        None,
        &[("content-type", "application/json")],
        body.as_bytes(),
    )
}

fn write_file(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls until `path` holds at least `n` lines (bounded by WAIT).
fn wait_for_lines(path: &Path, n: usize) -> Vec<Event> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let events = read_capture(path);
        if events.len() >= n {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} has {} lines, expected {n}",
            path.display(),
            events.len()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn send_data(url: &str, body: &str) {
    hookctl()
        .args(["send", "--to", url, "--data", body])
        .assert()
        .success();
}

fn body_json_opt(e: &Event) -> Option<Value> {
    serde_json::from_slice(&e.body).ok()
}

fn body_json(e: &Event) -> Value {
    serde_json::from_slice(&e.body).expect("JSON body")
}

// ---------------------------------------------------------------------------------------------
// listen

#[test]
fn listen_accepts_any_method_on_any_path_with_a_json_ack() {
    // End to end: the binary itself.
    let mut listen = Listen::spawn(&["--quiet"]);
    for (method, path) in [
        ("POST", "/webhook"),
        ("PUT", "/a/b/c"),
        ("DELETE", "/"),
        ("PATCH", "/x?y=1"),
        ("GET", "/get"),
    ] {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let mut stream = TcpStream::connect(authority(&listen.url)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        stream.write_all(req.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(
            response.starts_with("HTTP/1.1 200 "),
            "{method} {path}: {response}"
        );
        assert!(
            response.contains("application/json"),
            "{method} {path}: {response}"
        );
        let body = response.split("\r\n\r\n").nth(1).unwrap();
        let ack: Value = serde_json::from_str(body).expect("JSON ack");
        assert_eq!(ack["received"], json!(true), "{body}");
        assert!(body.len() < 200, "the ack should be small: {body}");
    }
    assert!(listen.interrupt().success());
    let summary = listen.stderr.rest().join("\n");
    assert!(summary.contains("5 events"), "{summary}");
}

#[test]
fn listen_pretty_prints_json_text_and_binary_bodies() {
    let mut listen = Listen::start(&[]);
    assert!(
        listen.stdout.seen.is_empty(),
        "nothing on stdout before the first request"
    );
    let url = format!("{}/hooks/in?source=test", listen.url);
    send_data(&url, r#"{"id":"evt_pretty","type":"thing.done","n":[1,2]}"#);
    let summary = listen
        .stdout
        .wait_for("the JSON summary line", |l| l.contains("evt_pretty"));
    let fields: Vec<&str> = summary.split_whitespace().collect();
    assert_eq!(
        fields[1..],
        [
            "POST",
            "/hooks/in?source=test",
            "thing.done",
            "evt_pretty",
            "49",
            "B",
            "\u{2192}",
            "200"
        ],
        "{summary}"
    );
    listen
        .stdout
        .wait_for("the indented key", |l| l == r#"    "id": "evt_pretty","#);
    listen.stdout.wait_for("the closing brace", |l| l == "  }");

    send_data(&listen.url, "plain words here");
    listen
        .stdout
        .wait_for("the text body", |l| l == "  plain words here");

    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::write(&bin, b"\xff\x00\x01bin").unwrap();
    hookctl()
        .args(["send", "--to", &listen.url])
        .arg("--data")
        .arg(format!("@{}", bin.display()))
        .assert()
        .success();
    listen
        .stdout
        .wait_for("the binary label", |l| l.contains("<binary body, 6 bytes>"));
    listen
        .stdout
        .wait_for("the hex row", |l| l.contains("0000  ff 00 01 62 69 6e"));
    assert!(listen.interrupt().success());
}

#[test]
fn listen_verbose_shows_headers() {
    let mut listen = Listen::start(&["-v"]);
    hookctl()
        .args(["send", "--to", &listen.url, "--data", "{}"])
        .args(["-H", "X-Custom-Thing: hello-there"])
        .assert()
        .success();
    assert!(listen.interrupt().success());
    let out = listen.stdout.rest();
    for header in [
        "  content-type: application/json",
        "  x-custom-thing: hello-there",
        "  user-agent: hookctl/0.1.0",
    ] {
        assert!(out.iter().any(|l| l == header), "{header}: {out:#?}");
    }

    // Without -v, headers are not shown.
    let mut quiet = Listen::start(&[]);
    hookctl()
        .args(["send", "--to", &quiet.url, "--data", "{}"])
        .args(["-H", "X-Custom-Thing: hello-there"])
        .assert()
        .success();
    assert!(quiet.interrupt().success());
    let out = quiet.stdout.rest();
    assert!(out.iter().any(|l| l.contains(" POST / ")), "{out:#?}");
    assert!(
        !out.iter().any(|l| l.contains("x-custom-thing")),
        "{out:#?}"
    );
}

/// Escaping control and bidi characters applies only when stdout is a terminal; that is
/// covered by the unit tests in src/output. A pipe gets the payload's bytes unchanged.
#[test]
fn listen_writes_raw_payload_bytes_to_a_pipe() {
    // End to end: the binary's stdout is a pipe.
    let mut listen = Listen::spawn(&[]);
    let text = "red \u{1b}[31mALERT\u{1b}[0m and \u{202e}reversed";
    send_data(&listen.url, text);
    listen
        .stdout
        .wait_for("the raw text", |l| l == format!("  {text}"));
    let json_body = "{\"note\":\"\u{202e}gnp.exe\"}";
    send_data(&listen.url, json_body);
    listen.stdout.wait_for("the raw bidi in JSON", |l| {
        l == "    \"note\": \"\u{202e}gnp.exe\""
    });
    assert!(listen.interrupt().success());
}

#[test]
fn capture_line_is_written_before_the_sender_gets_its_2xx() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("a.jsonl");
    let listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    for n in 1..=3 {
        let body = format!(r#"{{"id":"evt_{n}","type":"t"}}"#);
        send_data(&listen.url, &body);
        // No waiting: the file must already hold the line.
        let events = read_capture(&capture);
        assert_eq!(events.len(), n, "after send #{n}");
        assert_eq!(events[n - 1].id, format!("evt_{n}"));
        assert_eq!(&events[n - 1].body[..], body.as_bytes());
        assert_eq!(events[n - 1].notes.status, Some(200));
    }
    let text = std::fs::read_to_string(&capture).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn two_listens_append_whole_lines_to_one_capture() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("shared.jsonl");
    let path = capture.to_str().unwrap();
    // Two processes: the capture lock works across them.
    let a = Listen::spawn(&["--quiet", "--capture", path]);
    let b = Listen::spawn(&["--quiet", "--capture", path]);
    let senders: Vec<_> = [&a.url, &b.url]
        .iter()
        .map(|url| {
            hookctl_std()
                .args(["send", "payment_success", "--to", url])
                .args(["--count", "200", "--concurrency", "8"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in senders {
        let status = wait_child(&mut child);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "{err}");
        assert!(err.contains("200 2xx"), "{err}");
    }
    let text = std::fs::read(&capture).unwrap();
    assert!(text.ends_with(b"\n"));
    let mut ids = std::collections::HashSet::new();
    let mut lines = 0;
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let event = Event::from_json_line(line)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)))
            .expect("an event record");
        assert_eq!(event.event_type.as_deref(), Some("payment_success"));
        ids.insert(event.id);
        lines += 1;
    }
    assert_eq!(lines, 400);
    assert_eq!(ids.len(), 400, "every delivery captured exactly once");
}

#[test]
fn listen_json_prints_only_ndjson_capture_records() {
    let mut listen = Listen::start(&["--json"]);
    send_data(&listen.url, r#"{"id":"evt_j1","type":"a"}"#);
    send_data(&format!("{}/p?q=1", listen.url), "not json at all");
    listen
        .stdout
        .wait_for("the second event", |l| l.contains("not json"));
    assert!(listen.interrupt().success());
    let out = listen.stdout.rest();
    let mut events = Vec::new();
    for line in &out {
        let value: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"));
        match Event::from_json_line(line.as_bytes()).expect("a capture record") {
            Some(event) => events.push(event),
            None => assert_eq!(value["kind"], json!("ready"), "{line}"),
        }
    }
    assert_eq!(events.len(), 2, "{out:#?}");
    assert_eq!(events[0].id, "evt_j1");
    assert_eq!(&events[1].body[..], b"not json at all");
    assert_eq!(events[1].path, "/p");
    assert_eq!(events[1].query.as_deref(), Some("q=1"));
    let err = listen.stderr.rest().join("\n");
    assert!(err.contains("listening on"), "{err}");
    assert!(err.contains("2 events"), "diagnostics go to stderr: {err}");
}

#[test]
fn max_body_refuses_large_bodies_with_content_length() {
    let mut listen = Listen::start(&["--quiet", "--max-body", "1KiB"]);
    // The head alone is enough: the body is refused without being read.
    let head = raw_request(
        &listen.url,
        b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    listen.stderr.wait_for("the refusal", |l| {
        l.contains("refused POST /big") && l.contains("--max-body")
    });
    // Exactly the limit is fine, and `send` reports the 413 for one byte more.
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok");
    std::fs::write(&ok, vec![b'a'; 1024]).unwrap();
    hookctl()
        .args(["send", "--to", &listen.url])
        .arg("--data")
        .arg(format!("@{}", ok.display()))
        .assert()
        .success();
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'a'; 1025]).unwrap();
    hookctl()
        .args(["send", "--to", &listen.url])
        .arg("--data")
        .arg(format!("@{}", big.display()))
        .assert()
        .code(3)
        .stderr(predicates::str::contains("413"));
    assert!(listen.interrupt().success());
    let err = listen.stderr.rest().join("\n");
    assert!(
        err.contains("1 event ("),
        "only the accepted body counts: {err}"
    );
}

#[test]
fn max_body_refuses_large_chunked_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&[
        "--quiet",
        "--max-body",
        "1KiB",
        "--capture",
        capture.to_str().unwrap(),
    ]);
    let mut req =
        b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"200\r\n");
        req.extend_from_slice(&[b'z'; 0x200]);
        req.extend_from_slice(b"\r\n");
    }
    // No final chunk: the limit is hit while the body is still arriving.
    let head = raw_request(&listen.url, &req);
    assert!(head.starts_with("HTTP/1.1 413 "), "{head}");
    listen.stderr.wait_for("the refusal", |l| {
        l.contains("refused POST /chunked") && l.contains("1024 bytes")
    });
    // A small chunked body is still accepted.
    let head = raw_request(
        &listen.url,
        b"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(listen.interrupt().success());
    let events = read_capture(&capture);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].path, "/small");
    assert_eq!(&events[0].body[..], b"hello");
}

#[test]
fn listen_port_in_use_exits_1() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    hookctl()
        .args(["listen", "--port", &port])
        .timeout(WAIT)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("already in use"))
        .stderr(predicates::str::contains(port.as_str()));
}

#[test]
fn listen_bad_host_exits_1_with_one_line() {
    for (host, says) in [
        ("203.0.113.1", "not on this machine"),
        ("nosuch.invalid", "cannot resolve --host"),
    ] {
        let out = hookctl()
            .args(["listen", "--port", "0", "--host", host])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{host}");
        let err = stderr_of(&out);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{host}: {err}");
        assert!(lines[0].starts_with("hookctl: error: "), "{err}");
        assert!(lines[0].contains(host) && lines[0].contains(says), "{err}");
    }
}

#[test]
fn listen_capture_that_cannot_be_opened_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("no-such-dir").join("c.jsonl");
    hookctl()
        .args(["listen", "--port", "0", "--capture"])
        .arg(&capture)
        .timeout(WAIT)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("cannot open capture file"))
        .stderr(predicates::str::contains(capture.to_str().unwrap()));
}

fn stops_cleanly_on(sig: &str) {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::spawn(&["--quiet", "--capture", capture.to_str().unwrap()]);
    send_data(&listen.url, "12345");
    send_data(&listen.url, "1234567");
    signal(listen.pid(), sig);
    let status = listen.wait();
    assert_eq!(status.code(), Some(0), "SIG{sig}");
    let err = listen.stderr.rest();
    let last = err.last().expect("a summary line");
    assert!(
        last.starts_with("2 events (12 B) in ") && !last.contains('\n'),
        "SIG{sig}: {err:#?}"
    );
    let events = read_capture(&capture);
    assert_eq!(events.len(), 2);
    assert_eq!(&events[1].body[..], b"1234567");
}

#[test]
fn listen_sigint_exits_0_with_a_summary() {
    stops_cleanly_on("INT");
}

#[test]
fn listen_sigterm_exits_0_with_a_summary() {
    stops_cleanly_on("TERM");
}

#[test]
fn health_endpoint_is_not_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&["--capture", capture.to_str().unwrap()]);
    let head = raw_request(
        &listen.url,
        b"GET /_hookctl/health HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert!(listen.interrupt().success());
    assert!(read_capture(&capture).is_empty());
    let out = listen.stdout.rest();
    assert!(out.is_empty(), "health checks are not printed: {out:#?}");
    let err = listen.stderr.rest().join("\n");
    assert!(err.contains("0 events"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// send

#[test]
fn send_defaults_to_localhost_3000_webhook() {
    hookctl()
        .args(["send", "--help"])
        .assert()
        .success()
        .stdout(predicates::str::contains("http://127.0.0.1:3000/webhook"));
    let out = hookctl()
        .args(["send", "payment_success", "--dry-run"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let event = Event::from_json_line(stdout_of(&out).trim().as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(event.path, "/webhook");
    assert_eq!(event.method, "POST");
}

#[test]
fn send_list_shows_all_samples() {
    let out = hookctl().args(["send", "--list"]).output().unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8, "{text}");
    for name in [
        "payment_success",
        "payment_failed",
        "refund_created",
        "order_created",
        "order_shipped",
        "sensor_reading",
        "pipeline_succeeded",
        "pipeline_failed",
    ] {
        let line = lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing: {text}"));
        assert!(
            line.len() > name.len() + 10,
            "{name} has a description: {line}"
        );
    }
}

#[test]
fn send_unknown_sample_suggests_the_closest() {
    hookctl()
        .args(["send", "payment_sucess", "--dry-run"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("did you mean `payment_success`"));
}

#[test]
fn send_refuses_a_header_value_http_cannot_carry() {
    hookctl()
        .args(["send", "payment_success", "--dry-run", "-H", "X-A: a\u{1}b"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains(
            "invalid header value \"a\\u{1}b\" in \"X-A: a\\u{1}b\"; use visible ASCII",
        ));
}

#[test]
fn each_send_has_a_fresh_id_and_timestamp() {
    let dry = || {
        let out = hookctl()
            .args(["send", "order_created", "--dry-run"])
            .output()
            .unwrap();
        assert!(out.status.success());
        Event::from_json_line(stdout_of(&out).trim().as_bytes())
            .unwrap()
            .unwrap()
    };
    let (a, b) = (dry(), dry());
    assert_ne!(a.id, b.id);
    assert_ne!(a.body, b.body);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for e in [&a, &b] {
        assert_eq!(body_json(e)["id"], json!(e.id));
        let created = body_json(e)["created"].as_i64().unwrap();
        assert!((now - created).abs() < 60, "created {created} is now");
        let at = e.received_at.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        assert!((now - at).abs() < 60, "received_at is now");
    }
    // Within one run too.
    let out = hookctl()
        .args(["send", "order_created", "--dry-run", "--count", "3"])
        .output()
        .unwrap();
    let ids: std::collections::HashSet<String> = stdout_of(&out)
        .lines()
        .map(|l| Event::from_json_line(l.as_bytes()).unwrap().unwrap().id)
        .collect();
    assert_eq!(ids.len(), 3);
}

#[test]
fn send_set_overrides_sample_fields() {
    let out = hookctl()
        .args(["send", "payment_success", "--dry-run"])
        .args(["--set", "data.amount=4321"])
        .args(["--set-new", "data.flag=true"])
        .args(["--set-new", r#"data.obj={"a":1}"#])
        .args(["--set-new", "data.note=hello"])
        .args(["--set-new", "data.metadata.brand_new.deep=x"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let event = Event::from_json_line(stdout_of(&out).trim().as_bytes())
        .unwrap()
        .unwrap();
    let body = body_json(&event);
    assert_eq!(body["data"]["amount"], json!(4321));
    assert_eq!(body["data"]["flag"], json!(true));
    assert_eq!(body["data"]["obj"], json!({"a": 1}));
    assert_eq!(body["data"]["note"], json!("hello"));
    assert_eq!(body["data"]["metadata"]["brand_new"]["deep"], json!("x"));
    assert_eq!(body["data"]["currency"], json!("usd"), "the rest is kept");

    hookctl()
        .args(["send", "payment_success", "--dry-run"])
        .args(["--set", "data.amount.cents=1"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicates::str::contains("data.amount.cents"))
        .stderr(predicates::str::contains("is a number, not an object"));
}

#[test]
fn send_data_is_sent_byte_exact() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();

    let inline = "{ \"a\" :  1 ,\n\t\"b\": [ ] }  ";
    hookctl()
        .args(["send", "--to", &rec.url, "--data", inline])
        .assert()
        .success();
    assert_eq!(&rec.next().event.body[..], inline.as_bytes());

    let file_bytes = b"\xff\xfe{\"x\": 1}\r\n\t\x00end\n".to_vec();
    let file = dir.path().join("body.bin");
    std::fs::write(&file, &file_bytes).unwrap();
    hookctl()
        .args(["send", "--to", &rec.url])
        .arg("--data")
        .arg(format!("@{}", file.display()))
        .assert()
        .success();
    let seen = rec.next().event;
    assert_eq!(&seen.body[..], &file_bytes[..]);
    assert_eq!(
        seen.header("content-type"),
        Some("application/octet-stream")
    );

    let stdin = "  {\"from\": \"stdin\",\n \"caf\u{e9}\": \"\u{2713}\"}\n\n";
    hookctl()
        .args(["send", "--to", &rec.url, "--data", "-"])
        .write_stdin(stdin)
        .assert()
        .success();
    assert_eq!(&rec.next().event.body[..], stdin.as_bytes());
}

#[test]
fn send_prints_status_and_latency_and_verbose_body() {
    let rec = Recorder::start(|_, _| (crate::support::status_reply(201, &[]), None::<Duration>));
    let out = hookctl()
        .args(["send", "payment_success", "--to", &rec.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let line = text.lines().next().unwrap_or_default();
    assert!(line.starts_with("201 Created  "), "{text}");
    assert!(
        line.contains("ms  ") || line.contains("\u{b5}s  "),
        "latency shown: {text}"
    );
    assert!(line.contains("payment_success"), "{text}");
    assert!(
        !text.contains(r#""status":201"#),
        "no body without -v: {text}"
    );

    let out = hookctl()
        .args(["send", "payment_success", "--to", &rec.url, "-v"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    assert!(text.starts_with("201 Created  "), "{text}");
    assert!(text.contains(r#"{"status":201}"#), "body with -v: {text}");
}

#[test]
fn send_exits_3_on_a_non_2xx_answer() {
    let listen = Listen::start(&["--quiet", "--status", "500"]);
    let out = hookctl()
        .args(["send", "payment_success", "--to", &listen.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(err.contains("answered 500 Internal Server Error"), "{err}");
    // One line for the failure, on stderr; no result line besides it.
    assert_eq!(stdout_of(&out), "");

    let rec = Recorder::start(|_, _| (status_reply(404, &[]), None));
    hookctl()
        .args(["send", "--to", &rec.url, "--data", "{}"])
        .assert()
        .code(3)
        .stderr(predicates::str::contains("answered 404 Not Found"));
}

#[test]
fn send_to_an_unreachable_target_exits_3_with_one_line() {
    let url = dead_url();
    let out = hookctl()
        .args(["send", "payment_success", "--to", &url])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("cannot connect"), "{err}");
    assert!(lines[0].contains(&url), "{err}");
    assert!(lines[0].contains("hookctl listen"), "{err}");
}

#[test]
fn send_dry_run_prints_the_capture_line_and_sends_nothing() {
    let rec = Recorder::ok();
    let url = format!("{}/dry/path?x=1", rec.url);
    let out = hookctl()
        .args(["send", "refund_created", "--dry-run", "--to", &url])
        .args(["-H", "X-Extra: 1"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = stdout_of(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let value: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(value["v"], json!(1));
    assert_eq!(value["kind"], json!("event"));
    let event = Event::from_json_line(text.trim().as_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(event.event_type.as_deref(), Some("refund_created"));
    assert_eq!(event.path, "/dry/path");
    assert_eq!(event.query.as_deref(), Some("x=1"));
    assert_eq!(event.header("x-extra"), Some("1"));
    assert!(rec.drain().is_empty(), "a dry run sends nothing");
}

// ---------------------------------------------------------------------------------------------
// replay

#[test]
fn replay_resends_method_path_query_headers_and_exact_body() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let body = b"\x00\xffraw\r\n bytes ".to_vec();
    let lines = [
        capture_line(
            "PUT",
            "/orig/path",
            Some("a=1&b=two%20words"),
            &[
                ("content-type", "application/octet-stream"),
                ("x-dup", "1"),
                ("x-dup", "2"),
                ("x-signature", "abc=="),
            ],
            &body,
        ),
        capture_line("DELETE", "/second", None, &[], b""),
    ];
    let file = write_file(dir.path(), "c.jsonl", &lines);
    hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url])
        .assert()
        .success();
    let seen = rec.take(2);
    let first = &seen[0].event;
    assert_eq!(first.method, "PUT");
    assert_eq!(first.path, "/orig/path");
    assert_eq!(first.query.as_deref(), Some("a=1&b=two%20words"));
    assert_eq!(&first.body[..], &body[..]);
    let dups: Vec<&str> = first.headers.get_all("x-dup").collect();
    assert_eq!(dups, ["1", "2"]);
    assert_eq!(first.header("x-signature"), Some("abc=="));
    assert_eq!(seen[1].event.method, "DELETE");
    assert_eq!(seen[1].event.path, "/second");
    assert!(seen[1].event.body.is_empty());

    // --to with a path replaces the captured path (the query stays).
    hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &format!("{}/new/place", rec.url)])
        .assert()
        .success();
    let seen = rec.take(2);
    assert_eq!(seen[0].event.path, "/new/place");
    assert_eq!(seen[0].event.query.as_deref(), Some("a=1&b=two%20words"));
    assert_eq!(seen[1].event.path, "/new/place");
}

#[test]
fn replay_reads_stdin() {
    let rec = Recorder::ok();
    let input = format!(
        "{}\n{}\n",
        typed_line("payment_success", 1),
        typed_line("order_created", 2)
    );
    hookctl()
        .args(["replay", "-", "--to", &rec.url])
        .write_stdin(input)
        .assert()
        .success();
    let seen = rec.take(2);
    assert_eq!(seen[0].event.id, "evt_1");
    assert_eq!(seen[1].event.id, "evt_2");
}

#[test]
fn replay_recomputes_hop_by_hop_headers() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let line = capture_line(
        "POST",
        "/hop",
        None,
        &[
            ("Host", "evil.example:1"),
            ("Content-Length", "999"),
            ("Connection", "close"),
            ("Transfer-Encoding", "chunked"),
            ("Keep-Alive", "timeout=5"),
            ("x-kept", "yes"),
        ],
        b"{\"short\":true}",
    );
    let file = write_file(dir.path(), "c.jsonl", &[line.clone(), line]);
    hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url])
        .assert()
        .success();
    for seen in rec.take(2) {
        let e = seen.event;
        assert_eq!(&e.body[..], b"{\"short\":true}");
        assert_eq!(e.header("host"), Some(authority(&rec.url)));
        assert_eq!(e.header("content-length"), Some("14"));
        assert_eq!(e.header("transfer-encoding"), None);
        assert_eq!(e.header("keep-alive"), None);
        assert_eq!(e.header("x-kept"), Some("yes"));
        let hosts = e.headers.get_all("host").count();
        assert_eq!(hosts, 1);
    }
}

#[test]
fn replay_filter_selects_by_type() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.jsonl",
        &[
            typed_line("payment_success", 1),
            typed_line("order_created", 2),
            typed_line("payment_failed", 3),
            capture_line("POST", "/untyped", None, &[], b"text"),
            typed_line("refund_created", 5),
        ],
    );
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url, "--filter", "type=payment_*"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(stderr_of(&out).contains("2 2xx, 0 non-2xx, 0 failed, 3 skipped"));
    let ids: Vec<String> = rec.take(2).into_iter().map(|s| s.event.id).collect();
    assert_eq!(ids, ["evt_1", "evt_3"]);

    hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url])
        .args(["--filter", "type=payment_*", "--filter", "type=order_*"])
        .assert()
        .success();
    let ids: Vec<String> = rec.take(3).into_iter().map(|s| s.event.id).collect();
    assert_eq!(ids, ["evt_1", "evt_2", "evt_3"]);
    assert!(rec.drain().is_empty());

    hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url, "--filter", "payment_*"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(
            "bad --filter `payment_*`: expected KEY=VALUE; use id=, type=",
        ));
}

#[test]
fn replay_stops_at_a_malformed_line() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.jsonl",
        &[
            typed_line("a", 1),
            typed_line("b", 2),
            "{\"body\": oops".to_owned(),
            typed_line("c", 4),
        ],
    );
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("{}:3: invalid JSON", file.display())),
        "{err}"
    );
    let ids: Vec<String> = rec.drain().into_iter().map(|s| s.event.id).collect();
    assert_eq!(ids, ["evt_1", "evt_2"], "nothing after the bad line");
}

#[test]
fn replay_skip_invalid_reports_and_goes_on() {
    let rec = Recorder::ok();
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.jsonl",
        &[
            typed_line("a", 1),
            r#"{"path":"no-slash"}"#.to_owned(),
            typed_line("c", 3),
        ],
    );
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url, "--skip-invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("{}:2: ", file.display())) && err.contains("must start with '/'"),
        "{err}"
    );
    assert!(err.contains("sent 2 events"), "{err}");
    assert!(err.contains("1 skipped"), "{err}");
    let ids: Vec<String> = rec.take(2).into_iter().map(|s| s.event.id).collect();
    assert_eq!(ids, ["evt_1", "evt_3"]);
}

#[test]
fn replay_summary_counts_and_exit_codes() {
    // The second request is answered 500.
    let rec = Recorder::start(|n, _| {
        if n == 1 {
            (status_reply(500, &[]), None)
        } else {
            (ok_reply(), None)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(
        dir.path(),
        "c.jsonl",
        &[
            typed_line("a", 1),
            typed_line("b", 2),
            typed_line("c", 3),
            typed_line("skip_me", 4),
        ],
    );
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &rec.url])
        .args(["--filter", "type=[abc]"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(
        err.contains("sent 3 events") && err.contains("2 2xx, 1 non-2xx, 0 failed, 1 skipped"),
        "{err}"
    );
    assert!(err.contains("answered 500"), "{err}");
    assert_eq!(rec.take(3).len(), 3);

    // Nothing answers: failed.
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &dead_url()])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = stderr_of(&out);
    assert!(
        err.contains("0 2xx, 0 non-2xx, 4 failed, 0 skipped"),
        "{err}"
    );
    assert!(err.contains("cannot connect"), "{err}");

    // All 2xx: exit 0.
    let ok = Recorder::ok();
    let out = hookctl()
        .args(["replay"])
        .arg(&file)
        .args(["--to", &ok.url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr_of(&out).contains("4 2xx, 0 non-2xx, 0 failed, 0 skipped"));
}

#[test]
fn round_trip_listen_send_replay_listen_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    let a_path = dir.path().join("a.jsonl");
    let b_path = dir.path().join("b.jsonl");
    let a = Listen::start(&["--quiet", "--capture", a_path.to_str().unwrap()]);

    let binary = dir.path().join("binary.bin");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary \x80").unwrap();
    let binary_arg = format!("@{}", binary.display());
    let pretty = "{\n  \"type\": \"pretty.multi_line\",\n  \"list\": [\n    1,\n    2\n  ]\n}\n";
    let unicode = "{\"type\":\"unicode\",\"text\":\"caf\u{e9} \u{2603} \u{1f600} \u{202e}\"}";
    let with_query = format!("{}/with/query?x=1&y=%20z&flag", a.url);
    let sends: Vec<Vec<String>> = vec![
        vec!["payment_success".into()],
        vec!["--data".into(), binary_arg],
        vec!["--data".into(), pretty.into()],
        vec!["--data".into(), unicode.into()],
        vec!["--data".into(), String::new(), "-X".into(), "PUT".into()],
        vec![
            "order_shipped".into(),
            "--to".into(),
            with_query,
            "-H".into(),
            "X-Dup: one".into(),
            "-H".into(),
            "X-Dup: two".into(),
            "-H".into(),
            "X-Unicode: caf\u{e9}".into(),
        ],
    ];
    for args in &sends {
        let mut cmd = hookctl();
        cmd.arg("send");
        if !args.iter().any(|a| a == "--to") {
            cmd.args(["--to", &format!("{}/hook", a.url)]);
        }
        cmd.args(args).assert().success();
    }
    let original = read_capture(&a_path);
    assert_eq!(original.len(), sends.len());

    let b = Listen::start(&["--quiet", "--capture", b_path.to_str().unwrap()]);
    let out = hookctl()
        .args(["replay"])
        .arg(&a_path)
        .args(["--to", &b.url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let replayed = wait_for_lines(&b_path, original.len());
    assert_eq!(replayed.len(), original.len());

    for (o, r) in original.iter().zip(&replayed) {
        assert_eq!(r.body, o.body, "body of {}", o.id);
        assert_eq!(r.method, o.method);
        assert_eq!(r.path, o.path);
        assert_eq!(r.query, o.query);
        // The id is derived from the body (or a header) when it carries one; a body without
        // an id gets a fresh one from each listen, as nothing in the request names it.
        if body_json_opt(o).is_some_and(|v| v.get("id").is_some()) {
            assert_eq!(r.id, o.id);
        }
        assert_eq!(r.event_type, o.event_type);
        assert_eq!(
            end_to_end_headers(r),
            end_to_end_headers(o),
            "headers of {}",
            o.id
        );
    }
    // Spot checks that the interesting cases were really there.
    assert!(original.iter().any(|e| e.body_text().is_none()));
    assert!(original
        .iter()
        .any(|e| e.body.is_empty() && e.method == "PUT"));
    assert!(original.iter().any(|e| &e.body[..] == pretty.as_bytes()));
    assert!(original
        .iter()
        .any(|e| e.query.as_deref() == Some("x=1&y=%20z&flag")));
    // Apart from received_at, hop-by-hop headers and fresh ids, the capture records match.
    let strip = |e: &Event| {
        let mut e = e.clone();
        e.received_at = UNIX_EPOCH;
        e.headers = end_to_end_headers(&e);
        e
    };
    for (o, r) in original.iter().zip(&replayed) {
        let (o, mut r) = (strip(o), strip(r));
        if body_json_opt(&o).is_none_or(|v| v.get("id").is_none()) {
            r.id = o.id.clone();
        }
        assert_eq!(o, r);
    }
}

/// Sends raw requests to a fresh `listen --capture` and returns the capture file's events.
fn capture_raw_requests(dir: &Path, requests: &[&[u8]]) -> std::path::PathBuf {
    let capture = dir.join("raw.jsonl");
    let mut listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    for request in requests {
        let head = raw_request(&listen.url, request);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    }
    assert!(listen.interrupt().success());
    assert_eq!(read_capture(&capture).len(), requests.len());
    capture
}

#[test]
fn replay_keeps_the_exact_request_target() {
    let dir = tempfile::tempdir().unwrap();
    let capture = capture_raw_requests(
        dir.path(),
        &[
            b"POST /p{q}'|^ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
            b"POST /q?x='1'&z={}|^` HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
        ],
    );
    let original = read_capture(&capture);
    assert_eq!(original[0].path, "/p{q}'|^");
    assert_eq!(original[1].query.as_deref(), Some("x='1'&z={}|^`"));
    let rec = Recorder::ok();
    hookctl()
        .arg("replay")
        .arg(&capture)
        .args(["--to", &rec.url])
        .assert()
        .success();
    let seen = rec.take(2);
    assert_eq!(seen[0].event.path, original[0].path);
    assert_eq!(seen[1].event.query, original[1].query);
}

#[test]
fn replay_adds_no_headers_the_capture_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let capture = capture_raw_requests(
        dir.path(),
        &[b"POST /bare HTTP/1.1\r\nHost: x\r\nX-Only: 1\r\nContent-Length: 2\r\n\r\n{}"],
    );
    let original = read_capture(&capture);
    let rec = Recorder::ok();
    hookctl()
        .arg("replay")
        .arg(&capture)
        .args(["--to", &rec.url])
        .assert()
        .success();
    let seen = rec.next().event;
    assert_eq!(end_to_end_headers(&seen), end_to_end_headers(&original[0]));
}

#[test]
fn missing_input_files_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    hookctl()
        .arg("replay")
        .arg(&missing)
        .args(["--to", &dead_url()])
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "cannot open {}",
            missing.display()
        )));
    hookctl()
        .args(["send", "--to", &dead_url()])
        .arg("--data")
        .arg(format!("@{}", missing.display()))
        .assert()
        .code(1)
        .stderr(predicates::str::contains(format!(
            "cannot read --data file {}",
            missing.display()
        )));
}

/// `OPTIONS *` and `CONNECT host:port` have no path: they are refused, not captured, so every
/// line of a capture can be replayed.
#[test]
fn listen_refuses_targets_that_are_not_paths() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let mut listen = Listen::start(&["--quiet", "--capture", capture.to_str().unwrap()]);
    for (target, shown) in [
        ("OPTIONS *", "OPTIONS *"),
        ("CONNECT a.example:443", "CONNECT a.example:443"),
    ] {
        let request = format!("{target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        let head = raw_request(&listen.url, request.as_bytes());
        assert!(head.starts_with("HTTP/1.1 400 "), "{target}: {head}");
        listen.stderr.wait_for("the refusal", |l| {
            l.starts_with(&format!("hookctl: refused {shown}")) && l.contains("not a path")
        });
    }
    send_data(&listen.url, "{}");
    assert!(listen.interrupt().success());
    assert_eq!(read_capture(&capture).len(), 1);
    hookctl()
        .arg("replay")
        .arg(&capture)
        .arg("--dry-run")
        .assert()
        .success();
}
