//! Terminal output: colour decisions, escaping of untrusted text, semantic styles, the
//! human rendering of an event, and a printer thread that never blocks the receiver.

pub mod color;
pub mod compact;
pub mod diag;
mod json_color;
pub mod pipe;
pub mod pretty;
pub mod printer;
pub mod sanitize;
pub mod style;
pub mod view;

use std::time::Duration;

pub use color::{should_color, ColorChoice};
pub use pretty::{render_event, PrettyOptions};
pub use printer::Printer;

/// A byte count for people: `511 B`, `1.2 KiB`, `3.0 MiB`. Tenths are truncated, not rounded.
pub fn human_bytes(n: usize) -> String {
    match scaled(n) {
        None => format!("{n} B"),
        Some((tenths, unit)) => format!("{}.{} {unit}", tenths / 10, tenths % 10),
    }
}

/// A byte count in at most 8 columns: `624 B`, `1.2 KiB`, `12 KiB`, `1023 KiB`, `3.0 MiB`
/// (tenths only below 10).
pub fn short_bytes(n: usize) -> String {
    match scaled(n) {
        None => format!("{n} B"),
        Some((tenths, unit)) if tenths < 100 => {
            format!("{}.{} {unit}", tenths / 10, tenths % 10)
        }
        Some((tenths, unit)) => format!("{} {unit}", tenths / 10),
    }
}

/// `n` in tenths of the largest binary unit it reaches, and that unit; `None` below 1 KiB.
fn scaled(n: usize) -> Option<(u128, &'static str)> {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if n < 1024 {
        return None;
    }
    let n = n as u128;
    let mut unit = 1024u128;
    let mut index = 0;
    while index + 1 < UNITS.len() && n >= unit * 1024 {
        unit *= 1024;
        index += 1;
    }
    Some((n * 10 / unit, UNITS[index]))
}

/// A duration for people: `350µs`, `12ms`, `1.5s`, `42.0s`, `2m03s`, `1h05m`.
pub fn human_duration(d: Duration) -> String {
    let micros = d.as_micros();
    if micros < 1_000 {
        return format!("{micros}\u{b5}s");
    }
    let millis = d.as_millis();
    if millis < 1_000 {
        return format!("{millis}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = millis / 100;
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    if secs < 3_600 {
        return format!("{}m{:02}s", secs / 60, secs % 60);
    }
    format!("{}h{:02}m", secs / 3_600, secs % 3_600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(511), "511 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1229), "1.2 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1023.9 KiB");
        assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
        assert!(human_bytes(usize::MAX).ends_with(" EiB"));
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(Duration::from_micros(350)), "350\u{b5}s");
        assert_eq!(human_duration(Duration::from_millis(12)), "12ms");
        assert_eq!(human_duration(Duration::from_millis(999)), "999ms");
        assert_eq!(human_duration(Duration::from_millis(1_500)), "1.5s");
        assert_eq!(human_duration(Duration::from_millis(59_990)), "59.9s");
        assert_eq!(human_duration(Duration::from_secs(123)), "2m03s");
        assert_eq!(human_duration(Duration::from_secs(3_900)), "1h05m");
    }
}
