//! Tests of [`super`]: view.rs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::*;
use crate::event::Headers;
use crate::output::pretty::{DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES};

fn config(choice: ViewChoice, width: Width) -> ViewConfig {
    ViewConfig {
        options: PrettyOptions {
            verbose: false,
            sanitize: true,
            max_lines: DEFAULT_MAX_LINES,
            max_bytes: DEFAULT_MAX_BYTES,
        },
        choice,
        width,
    }
}

/// An event that arrived `ms` milliseconds into the day, with a JSON body `wide` characters
/// wide.
fn event(ms: u64, wide: usize) -> Event {
    let body = format!("{{\"id\":\"evt_{ms}\",\"note\":\"{}\"}}", "n".repeat(wide));
    let mut e = Event::from_parts(
        "POST",
        "/webhook",
        None,
        Headers::new(),
        Bytes::from(body),
        UNIX_EPOCH + Duration::from_millis(ms),
    );
    e.notes.status = Some(200);
    e
}

/// Renders each event; returns the output (colour codes left out) and the notes, each as
/// a line.
fn run(view_config: ViewConfig, events: &[Event]) -> (String, String) {
    let mut view = View::new(view_config, 0);
    let mut out = Vec::new();
    let mut notes = String::new();
    for e in events {
        if let Some(note) = view.render(e, None, &mut out) {
            notes.push_str(&note);
            notes.push('\n');
        }
    }
    let out = console::strip_ansi_codes(&String::from_utf8(out).unwrap()).into_owned();
    (out, notes)
}

#[test]
fn full_view_while_it_fits_and_events_come_slowly() {
    let events: Vec<Event> = (0..10).map(|i| event(i * 300, 10)).collect();
    let (out, notices) = run(config(ViewChoice::Auto, Width::Columns(100)), &events);
    assert_eq!(notices, "");
    assert_eq!(out.matches("\"note\":").count(), 10, "{out}");
}

#[test]
fn switches_once_when_more_than_five_arrive_within_a_second() {
    // Five within a second is still readable; the sixth within the same second is not.
    let events: Vec<Event> = (0..12).map(|i| event(10_000 + i * 150, 10)).collect();
    let (out, notices) = run(config(ViewChoice::Auto, Width::Columns(200)), &events);
    assert_eq!(out.matches("\"note\":").count(), 5, "{out}");
    let compact: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("/webhook"))
        .skip(5)
        .collect();
    assert_eq!(compact.len(), 7, "{out}");
    assert_eq!(notices.lines().count(), 1, "said once: {notices}");
    assert!(
        notices == "switched to one line per event (over 5 a second); --full shows bodies\n",
        "{notices}"
    );
    // Arrivals out of order are measured by the span they cover.
    let mut shuffled: Vec<Event> = (0..6).map(|i| event(5_000 + i * 100, 10)).collect();
    shuffled.swap(0, 5);
    let (_, notices) = run(config(ViewChoice::Auto, Width::Columns(200)), &shuffled);
    assert!(notices.contains("over 5 a second"), "{notices}");
}

#[test]
fn switches_when_an_event_is_wider_than_the_terminal() {
    let events = [event(0, 10), event(5_000, 200), event(10_000, 10)];
    let (out, notices) = run(config(ViewChoice::Auto, Width::Columns(80)), &events);
    // The first fits; the wide one and everything after it are one line each.
    assert_eq!(out.matches("\"note\":").count(), 1, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("00:00:")).count(),
        3,
        "{out}"
    );
    assert!(
        out.lines().all(|l| console::measure_text_width(l) <= 80),
        "{out}"
    );
    assert!(
        notices.contains("(2") && notices.contains(" columns > 80)"),
        "{notices}"
    );
}

#[test]
fn chosen_views_never_switch() {
    let fast: Vec<Event> = (0..10).map(|i| event(i * 10, 200)).collect();
    let (out, notices) = run(config(ViewChoice::Full, Width::Columns(80)), &fast);
    assert_eq!(notices, "");
    assert_eq!(out.matches("\"note\":").count(), 10);
    let (out, notices) = run(config(ViewChoice::Compact, Width::Unlimited), &fast);
    assert_eq!(notices, "");
    assert_eq!(out.lines().count(), 10, "{out}");
    // Without a terminal the auto view only watches the rate.
    let (_, notices) = run(config(ViewChoice::Auto, Width::Unlimited), &fast[..3]);
    assert_eq!(notices, "");
    let _ = SystemTime::now();
}
