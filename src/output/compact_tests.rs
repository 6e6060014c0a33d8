//! Tests of [`super`]: compact.rs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::*;
use crate::event::{Event, ForwardNote, Headers, Verified};

fn event(path: &str, body: &str, id: &str, event_type: Option<&str>) -> Event {
    let at = UNIX_EPOCH + Duration::from_millis(50_587_412);
    let mut e = Event::from_parts(
        "POST",
        path,
        None,
        Headers::new(),
        Bytes::from(body.to_owned()),
        at,
    );
    e.id = id.to_owned();
    e.event_type = event_type.map(str::to_owned);
    e.notes.status = Some(200);
    e
}

/// The line for `e`, colour codes left out (another test may switch colour on).
fn line(e: &Event, layout: &Layout) -> String {
    let mut out = Vec::new();
    render_compact(e, layout, &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "{text:?}"
    );
    console::strip_ansi_codes(text.trim_end_matches('\n')).into_owned()
}

#[test]
fn one_line_with_every_column() {
    let mut e = event("/webhook", "{}", "evt_1", Some("payment_success"));
    e.notes.verified = Some(Verified {
        ok: true,
        scheme: "stripe".into(),
        reason: String::new(),
    });
    e.notes.forward = Some(ForwardNote {
        url: "http://127.0.0.1:8080".into(),
        status: Some(201),
        latency_ms: 12.0,
        attempts: 1,
        error: None,
    });
    let text = line(&e, &Layout::new(None, 0));
    assert_eq!(
        text,
        "14:03:07.412 POST   /webhook         payment_success        evt_1                             2 B 200 \u{2713} stripe \u{21e2} 201 12ms"
    );
}

#[test]
fn columns_line_up_across_events_whatever_their_text() {
    let layout = Layout::new(Some(100), 0);
    let events = [
        event("/a", "{}", "evt_short", Some("a")),
        event(
            "/a/very/long/path/that/goes/on/and/on",
            &"x".repeat(5000),
            "evt_0123456789abcdefghijklmnopqrstuvwxyz",
            Some("customer.subscription.trial_will_end"),
        ),
        // Wide characters take two columns each; escapes are measured as shown.
        event("/\u{65e5}\u{672c}\u{8a9e}", "", "evt_\u{1b}[2J", None),
    ];
    let lines: Vec<String> = events.iter().map(|e| line(e, &layout)).collect();
    for text in &lines {
        assert!(measure_text_width(text) <= 100, "{text}");
        assert!(!text.contains('\u{1b}'), "escaped: {text:?}");
    }
    // The size column ends at the same display column on every line.
    let size_end = |text: &str, size: &str| {
        let at = text.find(size).unwrap() + size.len();
        measure_text_width(&text[..at])
    };
    let ends = [
        size_end(&lines[0], "2 B"),
        size_end(&lines[1], "4.8 KiB"),
        size_end(&lines[2], "0 B"),
    ];
    assert!(ends.iter().all(|&e| e == ends[0]), "{ends:?}\n{lines:#?}");
    assert!(
        lines[1].contains("\u{2026}"),
        "long values are cut: {}",
        lines[1]
    );
    assert!(lines[2].contains("evt_\\x1b[2J"), "{}", lines[2]);
}

#[test]
fn narrow_terminals_shrink_the_columns_down_to_their_smallest() {
    let wide = Layout::new(Some(200), 0);
    assert_eq!((wide.path, wide.event_type, wide.id), (16, 22, 28));
    let eighty = Layout::new(Some(80), 0);
    assert_eq!(eighty.fixed_part(), 80);
    // The path goes down to 8 first, then the milliseconds, then the type to 16 and the id.
    assert_eq!(
        (
            eighty.time,
            eighty.method,
            eighty.path,
            eighty.event_type,
            eighty.id
        ),
        (8, 6, 8, 16, 25),
        "{eighty:?}"
    );
    let hundred = Layout::new(Some(100), 0);
    assert_eq!(
        (hundred.time, hundred.path, hundred.id),
        (12, 15, 28),
        "{hundred:?}"
    );
    // Room kept for verification and forwarding comes out of the variable columns.
    let with_tail = Layout::new(Some(80), 20);
    assert!(with_tail.id < eighty.id, "{with_tail:?} {eighty:?}");
    assert!(with_tail.fixed_part() + 20 <= 80, "{with_tail:?}");
    // Narrower still: the type and id go down to 10 and 12, then the method goes.
    let sixty_six = Layout::new(Some(66), 0);
    assert_eq!(
        (sixty_six.method, sixty_six.event_type),
        (6, 10),
        "{sixty_six:?}"
    );
    assert_eq!(sixty_six.fixed_part(), 66, "{sixty_six:?}");
    let sixty = Layout::new(Some(60), 0);
    assert_eq!((sixty.time, sixty.method), (8, 0));
    assert!(sixty.fixed_part() <= 60, "{sixty:?}");
    let e = event(
        "/webhook",
        "{}",
        "evt_0123456789abcdef",
        Some("payment_success"),
    );
    let text = line(&e, &sixty);
    assert!(measure_text_width(&text) <= 60, "{text}");
    assert!(text.starts_with("14:03:07 /webhook"), "{text}");
    let tiny = Layout::new(Some(20), 0);
    assert_eq!((tiny.path, tiny.event_type, tiny.id), (8, 10, 12));
}

#[test]
fn a_failed_verification_is_cut_to_the_terminal() {
    let mut e = event("/webhook", "{}", "evt_1", Some("payment_success"));
    e.notes.status = Some(401);
    e.notes.verified = Some(Verified {
        ok: false,
        scheme: "stripe".into(),
        reason: "no signature matches: the body was changed after signing, or the secret is wrong"
            .into(),
    });
    let text = line(&e, &Layout::new(Some(100), 30));
    assert_eq!(measure_text_width(&text), 100, "{text}");
    assert!(
        text.contains(" 401 \u{2717} no signature matches"),
        "{text}"
    );
    assert!(text.ends_with('\u{2026}'), "{text}");
    // Without a terminal nothing is cut.
    let text = line(&e, &Layout::new(None, 12));
    assert!(text.ends_with("or the secret is wrong"), "{text}");
}

#[test]
fn forward_failures_and_missing_statuses_show() {
    let mut e = event("/webhook", "{}", "evt_1", None);
    e.notes.status = None;
    e.notes.forward = Some(ForwardNote {
        url: "http://127.0.0.1:9".into(),
        status: None,
        latency_ms: 1.0,
        attempts: 2,
        error: Some("cannot connect".into()),
    });
    let text = line(&e, &Layout::new(None, 0));
    assert!(
        text.contains(" -   \u{21e2} error: cannot connect 1ms (2 attempts)"),
        "{text}"
    );
    let _ = SystemTime::now();
}

#[test]
fn sizes_fit_eight_columns() {
    assert_eq!(short_bytes(624), "624 B");
    assert_eq!(short_bytes(1023), "1023 B");
    assert_eq!(short_bytes(1229), "1.2 KiB");
    assert_eq!(short_bytes(12 * 1024 + 900), "12 KiB");
    assert_eq!(short_bytes(1024 * 1024 - 1), "1023 KiB");
    assert_eq!(short_bytes(3 << 20), "3.0 MiB");
    assert!(short_bytes(usize::MAX).width() <= 8);
}

#[test]
fn widest_line_ignores_colour() {
    colored::control::set_override(true);
    let styled = format!("{}\n{}\n", style::error("abc"), "\u{65e5}\u{672c}");
    colored::control::unset_override();
    assert_eq!(widest_line(styled.as_bytes()), 4);
}
