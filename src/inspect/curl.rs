//! "Copy as curl": a bash command that sends an event's request again, byte for byte.
//!
//! - the method with `-X`, the exact request target with `--path-as-is` and `--globoff`;
//! - every end-to-end header with `-H`, in order; curl's own `User-Agent`, `Accept`,
//!   `Content-Type` and `Expect` are switched off (`-H 'Accept:'`) unless the event has them,
//!   and an empty value is written `-H 'Name;'`, curl's way to send one;
//! - the body on stdin (`--data-binary @-`): printed from a single-quoted string when it is
//!   text, decoded from base64 (`base64 -d`) when it holds bytes a terminal or clipboard
//!   would not carry (NUL, controls other than tab and newline, invalid UTF-8).
//!
//! Text is quoted with single quotes; a value with bytes that are not printable ASCII or
//! UTF-8 uses bash's `$'…'` with `\xHH` escapes.

use base64::Engine as _;

use crate::event::{is_hop_by_hop, Event};

/// Headers curl adds by itself, switched off when the event did not carry them.
const CURL_DEFAULTS: &[&str] = &["User-Agent", "Accept", "Content-Type", "Expect"];

/// The command for `event`, sent to `base` (`http://host:port`, without a path).
pub fn render(event: &Event, base: &str) -> String {
    let url = format!("{}{}", base.trim_end_matches('/'), event.path_and_query());
    let mut args: Vec<String> = vec![format!(
        "curl --silent --show-error --path-as-is --globoff -X {} {}",
        quote(event.method.as_bytes()),
        quote(url.as_bytes())
    )];
    for name in CURL_DEFAULTS {
        if !event.headers.contains(name) {
            args.push(format!("-H {}", quote(format!("{name}:").as_bytes())));
        }
    }
    for (name, value) in event.headers.iter_bytes() {
        if is_hop_by_hop(name) {
            continue;
        }
        let mut header = name.as_bytes().to_vec();
        if value.is_empty() {
            header.push(b';');
        } else {
            header.extend_from_slice(b": ");
            header.extend_from_slice(value);
        }
        args.push(format!("-H {}", quote(&header)));
    }
    if event.body.is_empty() {
        return args.join(" \\\n  ");
    }
    args.push("--data-binary @-".into());
    let curl = args.join(" \\\n  ");
    match printable_text(&event.body) {
        Some(text) => format!("printf '%s' {} | {curl}", quote(text.as_bytes())),
        None => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&event.body);
            let wrapped: Vec<&str> = b64
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                .collect();
            format!(
                "base64 -d <<'HOOKCTL_BODY' | {curl}\n{}\nHOOKCTL_BODY",
                wrapped.join("\n")
            )
        }
    }
}

/// The body as text when it is UTF-8 with no controls but tab and newline, and no bidi
/// controls (which would make the command read differently from what it runs).
fn printable_text(body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(body).ok()?;
    text.chars()
        .all(|c| c == '\n' || c == '\t' || !(c.is_control() || is_bidi(c)))
        .then_some(text)
}

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A bash word holding exactly `bytes`.
pub fn quote(bytes: &[u8]) -> String {
    if let Some(text) = printable_text(bytes).filter(|t| !t.contains('\t')) {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('\'');
        out.push_str(&text.replace('\'', "'\\''"));
        out.push('\'');
        return out;
    }
    let mut out = String::from("$'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::SystemTime;

    fn event(headers: crate::event::Headers, body: &[u8]) -> Event {
        Event::from_parts(
            "POST",
            "/p/../a b",
            Some("x='1'".into()),
            headers,
            Bytes::copy_from_slice(body),
            SystemTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn text_bodies_are_printed_and_headers_kept_in_order() {
        let mut headers = crate::event::Headers::new();
        headers.push("content-type", "application/json");
        headers.push("host", "example.com");
        headers.push("x-empty", "");
        headers.push("x-quote", "it's");
        let e = event(headers, b"{\"a\":\"it's\"}\n");
        assert_eq!(
            render(&e, "http://127.0.0.1:9/"),
            "printf '%s' '{\"a\":\"it'\\''s\"}\n' | curl --silent --show-error --path-as-is --globoff -X 'POST' 'http://127.0.0.1:9/p/../a b?x='\\''1'\\''' \\\n  -H 'User-Agent:' \\\n  -H 'Accept:' \\\n  -H 'Expect:' \\\n  -H 'content-type: application/json' \\\n  -H 'x-empty;' \\\n  -H 'x-quote: it'\\''s' \\\n  --data-binary @-"
        );
    }

    #[test]
    fn binary_bodies_and_header_bytes_are_escaped() {
        let mut headers = crate::event::Headers::new();
        headers.push_bytes("x-raw", b"a\xffb'");
        let e = event(headers, b"\x00\x01bin\xff");
        let curl = render(&e, "http://h");
        assert!(
            curl.starts_with("base64 -d <<'HOOKCTL_BODY' | curl"),
            "{curl}"
        );
        assert!(curl.ends_with("\nAAFiaW7/\nHOOKCTL_BODY"), "{curl}");
        assert!(curl.contains("-H $'x-raw: a\\xffb\\''"), "{curl}");
        assert!(curl.contains("'Content-Type:'"));
    }

    #[test]
    fn quoting_covers_every_byte() {
        assert_eq!(quote(b"plain"), "'plain'");
        assert_eq!(quote(b"a\tb"), "$'a\\x09b'");
        assert_eq!(quote(b"\x1b[31m"), "$'\\x1b[31m'");
        assert_eq!(quote("é".as_bytes()), "'é'");
        assert_eq!(
            quote("\u{202e}gnp.exe".as_bytes()),
            "$'\\xe2\\x80\\xaegnp.exe'"
        );
    }
}
