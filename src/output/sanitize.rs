//! Escaping untrusted text (paths, headers, bodies) before it reaches a terminal.
//!
//! A webhook payload can carry escape sequences that recolour, retitle or clear the terminal,
//! or bidi and zero-width characters that make text read differently from what it is. Every
//! such character is replaced with a visible escape: `\x1b` for C0 controls and DEL, `\n`,
//! `\r` and `\t` for those three, and `\u{202e}` for everything else. Backslashes are left
//! alone so JSON escapes stay readable.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes text shown on one line: ids, types, paths, header names and values, notes.
///
/// Newlines and tabs are escaped too, so a value can never break the line it sits on.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    sanitize(text, false)
}

/// Escapes multi-line text such as a body: like [`sanitize_line`], but `\n` and `\t` are kept.
pub fn sanitize_text(text: &str) -> Cow<'_, str> {
    sanitize(text, true)
}

/// Borrows `text` when nothing needs escaping; otherwise builds the escaped copy.
fn sanitize(text: &str, multi_line: bool) -> Cow<'_, str> {
    let Some(first) = text.find(|c| needs_escape(c, multi_line)) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if needs_escape(c, multi_line) {
            push_escape(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// True for characters that must not reach a terminal as they are.
fn needs_escape(c: char, multi_line: bool) -> bool {
    match c {
        '\n' | '\t' => !multi_line,
        // C0 controls and DEL.
        '\0'..='\x1f' | '\x7f' => true,
        // Printable ASCII: the common case, decided without further checks.
        ' '..='~' => false,
        _ => is_unsafe_unicode(c),
    }
}

/// C1 controls, bidi controls and zero-width characters.
fn is_unsafe_unicode(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        // Bidi: LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI; LRM, RLM; ALM.
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{061c}'
        // Zero width: ZWSP, ZWNJ, ZWJ, word joiner, BOM / ZWNBSP.
        | '\u{200b}'..='\u{200d}'
        | '\u{2060}'
        | '\u{feff}')
}

/// Appends the visible form of `c`.
fn push_escape(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // Writing to a String cannot fail.
        '\0'..='\x7f' => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        _ => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        for s in [
            "",
            "hello",
            "/webhooks/stripe?x=1",
            "h\u{e9}llo \u{1f600} \u{4e2d}",
        ] {
            assert!(matches!(sanitize_line(s), Cow::Borrowed(_)), "{s:?}");
            assert!(matches!(sanitize_text(s), Cow::Borrowed(_)), "{s:?}");
        }
        assert!(matches!(sanitize_text("a\n\tb\n"), Cow::Borrowed(_)));
    }

    #[test]
    fn ansi_escape_sequence() {
        assert_eq!(sanitize_line("\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(sanitize_text("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
    }

    #[test]
    fn c0_controls_and_del() {
        assert_eq!(sanitize_text("a\0b\x08c\x7fd"), "a\\x00b\\x08c\\x7fd");
        assert_eq!(sanitize_text("line\r\n"), "line\\r\n");
    }

    #[test]
    fn newline_and_tab_depend_on_mode() {
        assert_eq!(sanitize_line("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(sanitize_text("a\nb\tc"), "a\nb\tc");
    }

    #[test]
    fn c1_controls() {
        assert_eq!(sanitize_line("a\u{9b}31m"), "a\\u{9b}31m");
        assert_eq!(sanitize_line("\u{80}\u{85}"), "\\u{80}\\u{85}");
        // U+00A0 (no-break space) is just past the C1 block and stays.
        assert_eq!(sanitize_line("\u{a0}"), "\u{a0}");
    }

    #[test]
    fn bidi_controls() {
        assert_eq!(
            sanitize_line("invoice\u{202e}fdp.exe"),
            "invoice\\u{202e}fdp.exe"
        );
        for c in [
            '\u{202a}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{061c}',
        ] {
            let s = c.to_string();
            assert_eq!(sanitize_text(&s), format!("\\u{{{:x}}}", u32::from(c)));
        }
    }

    #[test]
    fn zero_width_characters() {
        assert_eq!(sanitize_line("ad\u{200b}min"), "ad\\u{200b}min");
        assert_eq!(sanitize_line("\u{feff}{}"), "\\u{feff}{}");
        assert_eq!(
            sanitize_text("\u{200c}\u{200d}\u{2060}"),
            "\\u{200c}\\u{200d}\\u{2060}"
        );
    }

    #[test]
    fn keeps_surrounding_text_intact() {
        let s = "\u{e9}t\u{e9} \u{1b}[2J fin \u{202e}";
        assert_eq!(sanitize_line(s), "\u{e9}t\u{e9} \\x1b[2J fin \\u{202e}");
    }
}
