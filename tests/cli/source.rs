//! `listen --source`: relayed events go through listen's pipeline like local deliveries.
//!
//! The first tests run against an in-test Server-Sent Events server that the test drives by
//! hand (it sees each subscription's request and writes the stream), for smee's format and for
//! reconnects; smee.io itself is not reachable from here.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::SystemTime;

use bytes::Bytes;
use hookctl::event::{Event, Headers};
use serde_json::{json, Value};

use crate::support::{hookctl, hookctl_std, read_head, Lines, Listen, WAIT};

/// An SSE server on 127.0.0.1:0: each subscription arrives as an [`SseConn`], for the test to
/// answer.
pub struct SseServer {
    pub url: String,
    conns: mpsc::Receiver<SseConn>,
}

/// One subscription request, and its connection.
pub struct SseConn {
    pub head: String,
    stream: TcpStream,
}

impl SseServer {
    pub fn start() -> SseServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, conns) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { break };
                stream.set_read_timeout(Some(WAIT)).unwrap();
                let head = read_head(&mut stream);
                if tx.send(SseConn { head, stream }).is_err() {
                    break;
                }
            }
        });
        SseServer { url, conns }
    }

    /// The next subscription (bounded by WAIT).
    pub fn next(&self) -> SseConn {
        self.conns
            .recv_timeout(WAIT)
            .expect("listen subscribed to the SSE server")
    }
}

impl SseConn {
    /// The request target.
    pub fn target(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("")
    }

    /// A request header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Answers 200 with an event stream (read until the connection closes).
    pub fn accept(&mut self) {
        self.send(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
        );
    }

    pub fn send(&mut self, text: &str) {
        self.stream.write_all(text.as_bytes()).unwrap();
        self.stream.flush().unwrap();
    }

    /// An SSE event.
    pub fn event(&mut self, id: Option<u64>, name: Option<&str>, data: &str) {
        let mut text = String::new();
        if let Some(id) = id {
            text.push_str(&format!("id: {id}\n"));
        }
        if let Some(name) = name {
            text.push_str(&format!("event: {name}\n"));
        }
        text.push_str(&format!("data: {data}\n\n"));
        self.send(&text);
    }

    /// A hookctl `capture` event: the capture line of `event` with its `seq`.
    pub fn capture(&mut self, seq: u64, event: &Event) {
        let line = event.to_json_line();
        let line = format!("{},\"seq\":{seq}}}", &line[..line.len() - 1]);
        self.event(Some(seq), Some("capture"), &line);
    }
}

/// A POST with a JSON body and an id header, as a provider would send it.
pub fn provider_event(n: u64) -> Event {
    let mut headers = Headers::new();
    headers.push("content-type", "application/json");
    headers.push("webhook-id", &format!("msg_{n}"));
    let body = format!("{{ \"type\": \"order.paid\", \"n\": {n}, \"amount\": 1.0e2 }}");
    Event::from_parts(
        "POST",
        "/hooks/sub",
        Some(format!("n={n}")),
        headers,
        Bytes::from(body),
        SystemTime::now(),
    )
}

fn json_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Waits for the next `n` events on a `--json` stdout.
fn events(listen: &mut Listen, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            json_line(
                &listen
                    .stdout
                    .wait_for("an event", |l| l.contains("\"kind\":\"event\"")),
            )
        })
        .collect()
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[test]
fn smee_messages_are_rebuilt_with_the_exact_body_text_and_a_warning() {
    let server = SseServer::start();
    let source = format!("{}/abc", server.url);
    let mut listen = Listen::start(&[
        "--source",
        &source,
        "--json",
        "--verify",
        "github",
        "--verify-mode",
        "warn",
        "--secret",
        "It's a Secret to Everybody",
    ]);
    let mut conn = server.next();
    // Not smee.io by host: hookctl's format is asked for, and smee's is read by event name.
    assert_eq!(conn.target(), "/abc?format=capture");
    assert_eq!(conn.header("accept"), Some("text/event-stream"));
    conn.accept();
    conn.event(None, Some("ready"), "{}");
    // The body as smee's server re-encoded it, spacing and escapes included; signed over
    // exactly that text, it verifies.
    let smee_body = r#"{"action":"opened","n":1.0e2,"s":"\u00e9"}"#;
    let message = format!(
        r#"{{"host":"smee.io","content-type":"application/json","x-github-event":"issues","x-hub-signature-256":"{}","content-length":"999","body":{smee_body},"query":{{"a":"1"}},"timestamp":1765000000000}}"#,
        github_signature("It's a Secret to Everybody", smee_body.as_bytes())
    );
    conn.event(None, None, &message);
    let first = &events(&mut listen, 1)[0];
    assert_eq!(first["body"], smee_body);
    assert_eq!(first["method"], "POST");
    assert_eq!(first["query"], "a=1");
    assert_eq!(first["type"], "issues");
    assert_eq!(first["verified"]["ok"], true, "{first}");
    let names: Vec<&str> = first["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"content-length"), "{names:?}");
    // The provider signed its own (pretty) body; smee delivered it re-encoded: the explainer
    // names smee as the cause.
    let original = "{\n  \"action\": \"closed\"\n}";
    let message = format!(
        r#"{{"content-type":"application/json","x-hub-signature-256":"{}","body":{{"action":"closed"}}}}"#,
        github_signature("It's a Secret to Everybody", original.as_bytes())
    );
    conn.event(None, Some("message"), &message);
    let second = &events(&mut listen, 1)[0];
    assert_eq!(second["verified"]["ok"], false);
    let reason = second["verified"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("matches its pretty JSON re-serialisation"),
        "{reason}"
    );
    assert!(
        reason.contains("this event came through smee, which parses and re-encodes JSON bodies"),
        "{reason}"
    );
    assert_eq!(listen.interrupt().code(), Some(0));
    let stderr = listen.stderr.rest();
    let warnings = stderr
        .iter()
        .filter(|l| l.contains("is a smee channel: smee parses and re-encodes JSON bodies, so signatures may not verify"))
        .count();
    assert_eq!(warnings, 1, "{stderr:#?}");
}

#[test]
fn a_reconnect_resumes_after_the_last_event_without_duplicates() {
    let server = SseServer::start();
    let source = format!("{}/ch_1", server.url);
    let mut listen = Listen::start(&["--source", &source, "--token", "tok-SECRET", "--json"]);
    let mut conn = server.next();
    assert_eq!(conn.header("authorization"), Some("Bearer tok-SECRET"));
    assert_eq!(conn.header("last-event-id"), None);
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_1","last":0}"#);
    conn.send(": ping\n\n");
    conn.capture(1, &provider_event(1));
    conn.capture(2, &provider_event(2));
    let got = events(&mut listen, 2);
    assert_eq!(
        got[0]["body"],
        "{ \"type\": \"order.paid\", \"n\": 1, \"amount\": 1.0e2 }"
    );
    assert_eq!(got[0]["path"], "/hooks/sub");
    assert_eq!(got[0]["query"], "n=1");
    assert_eq!(got[1]["id"], "msg_2");
    // The relay restarts: the stream closes.
    drop(conn);
    listen.stderr.wait_for("the disconnection", |l| {
        l.starts_with(&format!(
            "disconnected from {source}: the relay closed the stream; retrying in"
        ))
    });
    let mut conn = server.next();
    assert_eq!(conn.header("last-event-id"), Some("2"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_1","last":3}"#);
    listen
        .stderr
        .wait_for("the resume", |l| l == "resumed after #2: 1 missed event");
    // A relay that sends #2 again: it is dropped, #3 comes next.
    conn.capture(2, &provider_event(2));
    conn.capture(3, &provider_event(3));
    let got = events(&mut listen, 1);
    assert_eq!(got[0]["id"], "msg_3");
    assert_eq!(listen.interrupt().code(), Some(0));
    let stderr = listen.stderr.rest();
    assert!(
        stderr
            .iter()
            .any(|l| l == &format!("connected to {source}")),
        "{stderr:#?}"
    );
    assert!(stderr.iter().all(|l| !l.contains("SECRET")), "{stderr:#?}");
    assert!(
        stderr.last().unwrap().starts_with("3 events"),
        "{stderr:#?}"
    );
}

#[test]
fn a_restart_resumes_from_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let capture_arg = capture.to_str().unwrap();
    let server = SseServer::start();
    let source = format!("{}/ch_2?token=url-SECRET", server.url);
    let shown = format!("{}/ch_2", server.url);
    let mut listen = Listen::start(&["--source", &source, "--json", "--capture", capture_arg]);
    let mut conn = server.next();
    assert_eq!(conn.header("authorization"), Some("Bearer url-SECRET"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_2","last":0}"#);
    conn.capture(7, &provider_event(7));
    conn.capture(8, &provider_event(8));
    events(&mut listen, 2);
    assert_eq!(listen.interrupt().code(), Some(0));
    let state = std::fs::read_to_string(format!("{capture_arg}.source-state")).unwrap();
    assert_eq!(
        json_line(&state),
        json!({"v": 1, "sources": {shown.clone(): 8}})
    );
    drop(conn);

    let mut listen = Listen::start(&["--source", &source, "--json", "--capture", capture_arg]);
    let mut conn = server.next();
    assert_eq!(conn.header("last-event-id"), Some("8"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_2","last":9}"#);
    conn.capture(8, &provider_event(8));
    conn.capture(9, &provider_event(9));
    assert_eq!(events(&mut listen, 1)[0]["id"], "msg_9");
    assert_eq!(listen.interrupt().code(), Some(0));
    let ids: Vec<String> = crate::support::read_capture(&capture)
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, ["msg_7", "msg_8", "msg_9"]);
}

#[test]
fn a_refused_token_stops_listen_with_a_clear_error() {
    let server = SseServer::start();
    let source = format!("{}/ch_3", server.url);
    let mut listen = Listen::start(&["--source", &source, "--token", "wrong-SECRET"]);
    let mut conn = server.next();
    conn.send("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(listen.wait().code(), Some(1));
    let stderr = listen.stderr.rest();
    let expected = format!(
        "hookctl: error: {source} refused the token (401 Unauthorized): pass the channel's token with --token or HOOKCTL_SOURCE_TOKEN"
    );
    assert!(stderr.contains(&expected), "{stderr:#?}");
    assert!(stderr.iter().all(|l| !l.contains("SECRET")), "{stderr:#?}");
}

#[test]
fn a_relay_that_is_down_is_retried_until_listen_is_stopped() {
    let source = format!("{}/ch_4", crate::support::dead_url());
    let mut listen = Listen::start(&["--source", &source]);
    let line = listen
        .stderr
        .wait_for("the retry", |l| l.starts_with("cannot connect to"));
    assert!(
        line.starts_with(&format!(
            "cannot connect to {source}: connection refused; retrying in "
        )),
        "{line}"
    );
    assert_eq!(listen.interrupt().code(), Some(0));
}

#[test]
fn expectations_time_out_while_the_relay_is_unreachable() {
    let source = format!("{}/ch_8", crate::support::dead_url());
    let out = hookctl()
        .args([
            "listen",
            "--no-port",
            "--source",
            &source,
            "--expect",
            "type=x",
            "--timeout",
            "1500ms",
        ])
        .assert()
        .code(4);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains(&format!(
            "cannot connect to {source}: connection refused; retrying in "
        )),
        "{stderr}"
    );
    assert!(stderr.contains("0 events (0 B) in "), "{stderr}");
    assert!(
        stderr.contains("timed out waiting for expected events:"),
        "{stderr}"
    );
}

#[test]
fn a_fresh_start_resumes_from_where_it_joined_after_a_reconnect() {
    let server = SseServer::start();
    let source = format!("{}/ch_9", server.url);
    let mut listen = Listen::start(&["--source", &source, "--json"]);
    let mut conn = server.next();
    assert_eq!(conn.header("last-event-id"), None);
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_9","last":41}"#);
    drop(conn);
    // Events 42.. that reach the relay while listen reconnects are asked for, not lost.
    let mut conn = server.next();
    assert_eq!(conn.header("last-event-id"), Some("41"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_9","last":42}"#);
    conn.capture(42, &provider_event(42));
    assert_eq!(events(&mut listen, 1)[0]["id"], "msg_42");
    listen
        .stderr
        .wait_for("the resume", |l| l == "resumed after #41: 1 missed event");
    assert_eq!(listen.interrupt().code(), Some(0));
}

/// An event listen could not keep (the broker refused it) is fetched again, not skipped.
#[cfg(feature = "amqp")]
#[test]
fn an_event_that_could_not_be_published_is_fetched_again() {
    let Ok(amqp) = std::env::var("HOOKCTL_TEST_AMQP_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "HOOKCTL_TEST_AMQP_URL is needed in CI"
        );
        eprintln!("skipped: set HOOKCTL_TEST_AMQP_URL to run against a broker");
        return;
    };
    let server = SseServer::start();
    let source = format!("{}/ch_10", server.url);
    // No queue is bound to this exchange: every publish is unroutable, answered 503.
    let exchange = format!("source-unroutable-{}", std::process::id());
    let mut listen = Listen::start(&[
        "--source",
        &source,
        "--publish",
        &amqp,
        "--exchange",
        &exchange,
    ]);
    let mut conn = server.next();
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_10","last":0}"#);
    conn.capture(1, &provider_event(1));
    let line = listen
        .stderr
        .wait_for("the refetch", |l| l.starts_with("disconnected from"));
    assert!(
        line.starts_with(&format!(
            "disconnected from {source}: event #1 could not be kept (not published: "
        )),
        "{line}"
    );
    assert!(line.contains("; retrying in "), "{line}");
    let conn = server.next();
    assert_eq!(conn.header("last-event-id"), Some("0"));
    assert_eq!(listen.interrupt().code(), Some(0));
}

#[test]
fn a_stream_that_is_not_an_event_stream_is_an_error() {
    let server = SseServer::start();
    let source = format!("{}/page", server.url);
    let mut listen = Listen::start(&["--source", &source]);
    server
        .next()
        .send("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi");
    assert_eq!(listen.wait().code(), Some(1));
    let stderr = listen.stderr.rest();
    assert!(
        stderr.iter().any(|l| l.starts_with(&format!(
            "hookctl: error: {source} is not an event stream (it answered with content type text/html)"
        ))),
        "{stderr:#?}"
    );
}

#[test]
fn no_port_subscribes_without_a_local_port() {
    let dir = tempfile::tempdir().unwrap();
    let ready = dir.path().join("ready");
    let server = SseServer::start();
    let source = format!("{}/ch_5", server.url);
    let mut child = hookctl_std()
        .args([
            "listen",
            "--no-port",
            "--source",
            &source,
            "--json",
            "--ready-json",
            "--ready-file",
        ])
        .arg(&ready)
        .env("HOOKCTL_SOURCE_TOKEN", "env-SECRET")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Lines::spawn(child.stdout.take().unwrap());
    let mut stderr = Lines::spawn(child.stderr.take().unwrap());
    let mut conn = server.next();
    assert_eq!(conn.header("authorization"), Some("Bearer env-SECRET"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_5","last":0}"#);
    let first = json_line(&stdout.wait_for("the ready record", |_| true));
    assert_eq!(first["kind"], "ready");
    assert_eq!(first["sources"], json!([source]));
    assert!(first.get("url").is_none(), "{first}");
    assert_eq!(
        std::fs::read_to_string(&ready).unwrap(),
        format!("{source}\n")
    );
    conn.capture(1, &provider_event(1));
    let event = json_line(&stdout.wait_for("an event", |_| true));
    assert_eq!(event["id"], "msg_1");
    crate::support::signal(child.id(), "INT");
    assert_eq!(crate::support::wait_child(&mut child).code(), Some(0));
    let lines = stderr.rest();
    assert_eq!(lines[0], format!("subscribed to {source}"));
    assert!(
        lines.iter().all(|l| !l.starts_with("listening on")),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains("SECRET")), "{lines:#?}");
}

/// `hookctl listen ARGS`, expected to fail with `code` at once; its stderr.
fn listen_fails(args: &[&str], code: i32) -> String {
    let out = hookctl().arg("listen").args(args).assert().code(code);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

#[test]
fn bad_source_flags_are_usage_errors() {
    let err = listen_fails(&["--no-port"], 2);
    assert!(err.contains("--source <URL>"), "{err}");
    let err = listen_fails(
        &["--port", "0", "--source", "ftp://relay.test/x?token=SECRET"],
        1,
    );
    assert_eq!(
        err,
        "hookctl: error: invalid --source \"ftp://relay.test/x\": only http:// and https:// URLs with a host are supported\n"
    );
    let twice = [
        "--port",
        "0",
        "--source",
        "http://r.test/a",
        "--source",
        "http://r.test/a?token=x",
    ];
    let err = listen_fails(&twice, 1);
    assert_eq!(
        err,
        "hookctl: error: --source http://r.test/a is given twice\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::write(&state, "not json").unwrap();
    let state_arg = state.to_str().unwrap();
    let err = listen_fails(
        &[
            "--port",
            "0",
            "--source",
            "http://r.test/a",
            "--source-state",
            state_arg,
        ],
        1,
    );
    assert!(
        err.starts_with(&format!(
            "hookctl: error: {state_arg}: not a hookctl source state file"
        )),
        "{err}"
    );
}

#[test]
fn relayed_events_are_forwarded_captured_and_counted_like_local_ones() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("events.jsonl");
    let app = crate::support::Recorder::ok();
    let server = SseServer::start();
    let source = format!("{}/ch_6", server.url);
    let mut listen = Listen::start(&[
        "--source",
        &source,
        "--forward-to",
        &app.url,
        "--capture",
        capture.to_str().unwrap(),
        "--expect",
        "type=order.paid,body.n=2",
        "--timeout",
        "30s",
    ]);
    let mut conn = server.next();
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_6","last":0}"#);
    conn.capture(1, &provider_event(1));
    conn.capture(2, &provider_event(2));
    // The expectation is met by the second relayed event: listen exits 0 on its own.
    assert_eq!(listen.wait().code(), Some(0));
    let got = app.take(2);
    for (n, seen) in (1..).zip(&got) {
        let sent = provider_event(n);
        assert_eq!(seen.event.method, "POST");
        assert_eq!(seen.event.path, "/hooks/sub");
        assert_eq!(seen.event.query, sent.query);
        assert_eq!(seen.event.body, sent.body);
        assert_eq!(seen.event.header("webhook-id"), sent.header("webhook-id"));
    }
    let captured = crate::support::read_capture(&capture);
    assert_eq!(captured.len(), 2);
    assert_eq!(captured[1].body, provider_event(2).body);
    assert_eq!(
        captured[1].notes.forward.as_ref().unwrap().status,
        Some(200)
    );
}

#[test]
fn a_gap_is_reported_and_the_resume_point_moves_past_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let server = SseServer::start();
    let source = format!("{}/ch_7", server.url);
    std::fs::write(&state, format!(r#"{{"v":1,"sources":{{"{source}":0}}}}"#)).unwrap();
    let mut listen = Listen::start(&[
        "--source",
        &source,
        "--json",
        "--source-state",
        state.to_str().unwrap(),
    ]);
    let mut conn = server.next();
    assert_eq!(conn.header("last-event-id"), Some("0"));
    conn.accept();
    conn.event(None, Some("ready"), r#"{"channel":"ch_7","last":15}"#);
    conn.send("id: 14\nevent: gap\ndata: {\"after\":0,\"next\":15,\"missed\":14}\n\n");
    conn.capture(15, &provider_event(15));
    assert_eq!(events(&mut listen, 1)[0]["id"], "msg_15");
    listen
        .stderr
        .wait_for("the resume", |l| l == "resumed after #0: 15 missed events");
    let warning = listen.stderr.wait_for("the gap", |l| l.contains("dropped"));
    assert_eq!(
        warning,
        format!("hookctl: warning: {source}: 14 event(s) after #0 were dropped by the relay's retention before this listen got them; going on from #15")
    );
    assert_eq!(listen.interrupt().code(), Some(0));
    let saved = std::fs::read_to_string(&state).unwrap();
    assert_eq!(json_line(&saved)["sources"][&source], 15);
}

#[path = "source/relay.rs"]
pub mod relay;
