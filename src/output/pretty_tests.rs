//! Tests of [`super`]: pretty.rs.

use super::*;
use crate::event::{Notes, RouteNote};
use bytes::Bytes;

const TERMINAL: PrettyOptions = PrettyOptions {
    verbose: false,
    sanitize: true,
    max_lines: DEFAULT_MAX_LINES,
    max_bytes: DEFAULT_MAX_BYTES,
};

fn rendered(body: &[u8], opts: &PrettyOptions) -> String {
    let mut out = Vec::new();
    render_event(&event(body), opts, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn deep_nesting_cannot_amplify_the_output() {
    // 2 MiB of nested arrays: printed whole this was hundreds of megabytes.
    let depth = 127;
    let unit = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let mut body = String::from("[");
    while body.len() < 2 << 20 {
        body.push_str(&unit);
        body.push(',');
    }
    body.push_str("1]");
    let text = rendered(body.as_bytes(), &TERMINAL);
    assert!(text.len() < 2 * DEFAULT_MAX_BYTES, "{} bytes", text.len());
    assert!(
        text.lines().count() <= DEFAULT_MAX_LINES + 4,
        "{}",
        text.lines().count()
    );
    let note = text.lines().rev().nth(1).unwrap();
    assert!(
        note.contains("MiB of 2.0 MiB not shown") && note.contains("--max-print-lines"),
        "{note}"
    );
    // Indentation stops growing at 32 levels.
    assert!(
        text.lines()
            .all(|l| l.len() < 80 || l.contains("not shown")),
        "a line is too long"
    );
}

#[test]
fn long_text_and_long_strings_are_cut_to_the_limits() {
    let opts = PrettyOptions {
        max_lines: 3,
        max_bytes: 1000,
        ..TERMINAL
    };
    let text = rendered("line\n".repeat(10).as_bytes(), &opts);
    assert_eq!(text.matches("  line\n").count(), 3, "{text}");
    assert!(text.contains("\u{2026} 35 B of 50 B not shown"), "{text}");
    let long = format!("{{\"a\":\"{}\"}}", "x".repeat(5000));
    let text = rendered(long.as_bytes(), &opts);
    assert!(text.len() < 1300, "{}", text.len());
    assert!(text.contains("not shown"), "{text}");
    // Within the limits, nothing is cut and there is no note.
    let text = rendered(b"{\"a\":1}", &opts);
    assert!(!text.contains("not shown"), "{text}");
}

fn event(body: &[u8]) -> Event {
    Event {
        id: "evt_1".into(),
        event_type: Some("payment.succeeded".into()),
        received_at: UNIX_EPOCH + Duration::from_millis(45_296_789),
        method: "POST".into(),
        path: "/hook".into(),
        query: None,
        headers: [("content-type", "application/json")].into_iter().collect(),
        body: Bytes::copy_from_slice(body),
        notes: Notes::default(),
    }
}

fn render(e: &Event, opts: PrettyOptions) -> String {
    colored::control::set_override(false);
    let mut out = Vec::new();
    render_event(e, &opts, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn summary_line_without_notes() {
    let mut e = event(b"{}");
    e.query = Some("a=1".into());
    let out = render(&e, TERMINAL);
    assert_eq!(
        out,
        "12:34:56.789 POST /hook?a=1 payment.succeeded evt_1 2 B\n  {}\n\n"
    );
    e.event_type = None;
    assert!(render(&e, TERMINAL).starts_with("12:34:56.789 POST /hook?a=1 - evt_1 2 B\n"));
}

#[test]
fn summary_line_with_notes() {
    let mut e = event(&[b'x'; 1229]);
    e.notes = Notes {
        status: Some(503),
        verified: Some(Verified {
            ok: false,
            scheme: "stripe".into(),
            reason: "timestamp too old".into(),
        }),
        forward: Some(ForwardNote {
            url: "http://localhost:3000".into(),
            status: Some(200),
            latency_ms: 12.4,
            attempts: 2,
            error: None,
        }),
        error: None,
        routes: None,
        edited_from: None,
    };
    let first = render(&e, TERMINAL).lines().next().unwrap().to_owned();
    assert_eq!(
        first,
        "12:34:56.789 POST /hook payment.succeeded evt_1 1.2 KiB \u{2192} 503 \
         \u{2717} stripe: timestamp too old \u{21e2} 200 12ms (2 attempts)"
    );
    e.notes.verified = Some(Verified {
        ok: true,
        scheme: "github".into(),
        reason: String::new(),
    });
    e.notes.forward = Some(ForwardNote {
        url: "http://localhost:3000".into(),
        status: None,
        latency_ms: f64::NAN,
        attempts: 1,
        error: Some("connection refused".into()),
    });
    let out = render(&e, TERMINAL);
    assert!(
        out.contains("\u{2713} github \u{21e2} error: connection refused 0\u{b5}s\n"),
        "{out}"
    );
}

#[test]
fn verbose_shows_headers() {
    let mut e = event(b"");
    e.headers.push("x-evil", "a\nb\x1b[2J");
    let opts = PrettyOptions {
        verbose: true,
        ..TERMINAL
    };
    let out = render(&e, opts);
    assert!(
        out.contains("\n  content-type: application/json\n  x-evil: a\\nb\\x1b[2J\n"),
        "{out}"
    );
    assert!(out.ends_with("  (empty body)\n\n"));
    assert!(!render(&e, TERMINAL).contains("content-type"));
}

#[test]
fn json_body_is_reindented_verbatim() {
    let e = event(br#"{"n":1.0e10,"big":12345678901234567890,"s":"\u00e9"}"#);
    let out = render(&e, TERMINAL);
    let body: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        body,
        [
            "  {",
            "    \"n\": 1.0e10,",
            "    \"big\": 12345678901234567890,",
            "    \"s\": \"\\u00e9\"",
            "  }",
            "",
        ]
    );
}

#[test]
fn untrusted_text_is_escaped_for_terminals() {
    let mut e = event("{\"a\":\"\u{202e}txt\"}".as_bytes());
    e.path = "/x\x1b[31m".into();
    e.event_type = Some("t\u{202e}".into());
    e.id = "id\u{200b}".into();
    let out = render(&e, TERMINAL);
    for raw in ['\x1b', '\u{202e}', '\u{200b}'] {
        assert!(!out.contains(raw), "{raw:?} in {out}");
    }
    assert!(out.contains("/x\\x1b[31m t\\u{202e} id\\u{200b}"), "{out}");
    assert!(out.contains("\"\\u{202e}txt\""), "{out}");
    let raw = render(&e, PrettyOptions::default());
    assert!(raw.contains('\x1b') && raw.contains('\u{202e}'));
}

#[test]
fn text_body_is_shown_line_by_line() {
    let e = event(b"a=1&b=2\r\nline two\x07\n\ttabbed");
    let out = render(&e, TERMINAL);
    assert!(
        out.ends_with("\n  a=1&b=2\n  line two\\x07\n  \ttabbed\n\n"),
        "{out}"
    );
}

#[test]
fn binary_body_is_a_hex_preview() {
    let mut bytes = vec![0xff, 0x00, b'A', b' '];
    bytes.extend(0..100u8);
    let out = render(&event(&bytes), TERMINAL);
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(lines[0], "  <binary body, 104 bytes>");
    assert!(
        lines[1].starts_with("  0000  ff 00 41 20 00 01"),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with("|..A ............|"), "{}", lines[1]);
    assert!(lines[4].starts_with("  0030  "), "{}", lines[4]);
    assert_eq!(lines[5], "  \u{2026} 40 more bytes");

    let out = render(&event(b"\xfe\x01"), TERMINAL);
    assert!(
        out.contains(&format!("  0000  fe 01{}  |..|\n", " ".repeat(42))),
        "{out}"
    );
    assert!(!out.contains("more bytes"));
}

#[test]
fn clock_is_utc_time_of_day() {
    assert_eq!(clock(UNIX_EPOCH), "00:00:00.000");
    assert_eq!(
        clock(UNIX_EPOCH + Duration::from_millis(86_399_999)),
        "23:59:59.999"
    );
    assert_eq!(clock(UNIX_EPOCH - Duration::from_millis(1)), "23:59:59.999");
}

#[test]
fn summary_line_with_routes() {
    let mut e = event(b"{}");
    let note = |name: &str, ok: bool, status: Option<u16>, error: Option<&str>| RouteNote {
        name: name.into(),
        target: "x".into(),
        ok,
        status,
        latency_ms: 3.0,
        error: error.map(Into::into),
    };
    e.notes.routes = Some(vec![
        note("pay", true, Some(200), None),
        note("bus", true, None, None),
        note("crm", false, None, Some("not published: nack")),
    ]);
    let first = render(&e, TERMINAL).lines().next().unwrap().to_owned();
    assert!(
        first.ends_with(
            "\u{21e2} pay 200 3ms \u{21e2} bus ok 3ms \u{21e2} crm error: not published: nack 3ms"
        ),
        "{first}"
    );
}
