//! Re-indenting and colouring JSON without parsing it into values.
//!
//! A body is shown exactly as it was sent: numbers such as `1.0e10` or `12345678901234567890`
//! and string escapes such as `\u00e9` keep their original spelling. The document is validated
//! once by serde_json, then the original text is walked token by token and only the
//! whitespace between tokens is replaced.

use std::borrow::Cow;
use std::io::Write as _;

use serde::de::IgnoredAny;

use super::sanitize::sanitize_line;
use super::style;

/// What a token is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A string followed by `:`.
    Key,
    /// Any other string.
    String,
    Number,
    /// `true`, `false` or `null`.
    Literal,
    /// Anything else; only reachable for input that is not JSON.
    Other,
}

/// True when `bytes` is one complete JSON document (any value, surrounding whitespace allowed).
pub(crate) fn is_json(bytes: &[u8]) -> bool {
    serde_json::from_slice::<IgnoredAny>(bytes).is_ok()
}

/// Appends `json` re-indented by two spaces per level and syntax-coloured, every line starting
/// with `indent` and the last one ending in a newline.
///
/// `json` should have passed [`is_json`]; other text is still written without panicking, just
/// not laid out sensibly. With `sanitize`, characters unsafe for a terminal inside strings
/// (raw C1, bidi and zero-width characters) are escaped as `\u{…}`.
///
/// Writing stops once `budget` is spent; the result is then where in `json` it stopped.
pub(crate) fn write_json(
    json: &str,
    indent: &str,
    sanitize: bool,
    budget: &mut Budget,
    out: &mut Vec<u8>,
) -> Option<usize> {
    // Without colour a token is its text: no styled string to build for every token.
    let colour = style::enabled();
    reindent(
        json,
        indent,
        sanitize,
        budget,
        out,
        &mut |out, kind, text| {
            if !colour {
                out.extend_from_slice(text.as_bytes());
                return;
            }
            let painted = match kind {
                Kind::Key => style::json_key(text),
                Kind::String => style::json_string(text),
                Kind::Number => style::json_number(text),
                Kind::Literal => style::json_literal(text),
                Kind::Other => {
                    out.extend_from_slice(text.as_bytes());
                    return;
                }
            };
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{painted}");
        },
    )
}

/// The layout walk behind [`write_json`]; `paint` writes one token of a given kind.
fn reindent(
    json: &str,
    indent: &str,
    sanitize: bool,
    budget: &mut Budget,
    out: &mut Vec<u8>,
    paint: &mut dyn FnMut(&mut Vec<u8>, Kind, &str),
) -> Option<usize> {
    let bytes = json.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    out.extend_from_slice(indent.as_bytes());
    while let Some(&b) = bytes.get(i) {
        if budget.spent(out) {
            out.push(b'\n');
            return Some(i);
        }
        match b {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'{' | b'[' => {
                let close = if b == b'{' { b'}' } else { b']' };
                let next = skip_whitespace(bytes, i + 1);
                out.push(b);
                if bytes.get(next) == Some(&close) {
                    out.push(close);
                    i = next + 1;
                } else {
                    depth += 1;
                    new_line(out, indent, depth, budget);
                    i += 1;
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                new_line(out, indent, depth, budget);
                out.push(b);
                i += 1;
            }
            b',' => {
                out.push(b',');
                new_line(out, indent, depth, budget);
                i += 1;
            }
            b':' => {
                out.extend_from_slice(b": ");
                i += 1;
            }
            b'"' => {
                let end = string_end(bytes, i);
                let kind = if bytes.get(skip_whitespace(bytes, end)) == Some(&b':') {
                    Kind::Key
                } else {
                    Kind::String
                };
                token(json, i, end, kind, sanitize, budget, out, paint);
                i = end;
            }
            _ => {
                let end = scalar_end(bytes, i);
                let kind = match b {
                    b'-' | b'0'..=b'9' => Kind::Number,
                    b't' | b'f' | b'n' => Kind::Literal,
                    _ => Kind::Other,
                };
                token(json, i, end, kind, sanitize, budget, out, paint);
                i = end;
            }
        }
    }
    out.push(b'\n');
    None
}

/// Paints `json[start..end]`, sanitised when asked, or as much of it as `budget` has room for.
#[allow(clippy::too_many_arguments)]
fn token(
    json: &str,
    start: usize,
    end: usize,
    kind: Kind,
    sanitize: bool,
    budget: &mut Budget,
    out: &mut Vec<u8>,
    paint: &mut dyn FnMut(&mut Vec<u8>, Kind, &str),
) {
    // Tokens start and end next to ASCII delimiters, so these are character boundaries; the
    // fallback only guards against a logic error.
    let text = json.get(start..end).unwrap_or_default();
    let text = budget.cut(text, out);
    let text = if sanitize {
        sanitize_line(text)
    } else {
        Cow::Borrowed(text)
    };
    paint(out, kind, &text);
}

/// Starts a new line at `depth` levels of two spaces after `indent`; past [`MAX_INDENT`]
/// levels lines stop moving right.
fn new_line(out: &mut Vec<u8>, indent: &str, depth: usize, budget: &mut Budget) {
    budget.lines += 1;
    out.push(b'\n');
    out.extend_from_slice(indent.as_bytes());
    for _ in 0..depth.min(MAX_INDENT) {
        out.extend_from_slice(b"  ");
    }
}

/// The deepest indentation shown: a body of deeply nested arrays would otherwise print more
/// spaces than text.
const MAX_INDENT: usize = 32;

/// How much of one body may be printed: lines and bytes, counted from where the body starts
/// in the output.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    start: usize,
    pub(crate) lines: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Budget {
    /// A budget for a body written into `out` from its current end.
    pub(crate) fn new(out: &[u8], max_lines: usize, max_bytes: usize) -> Budget {
        Budget {
            start: out.len(),
            lines: 0,
            max_lines,
            max_bytes,
        }
    }

    /// True once the lines or bytes are used up.
    pub(crate) fn spent(&self, out: &[u8]) -> bool {
        self.lines >= self.max_lines || out.len() - self.start >= self.max_bytes
    }

    /// `text`, or its head that still fits (cut at a character boundary).
    pub(crate) fn cut<'a>(&self, text: &'a str, out: &[u8]) -> &'a str {
        let room = self.max_bytes.saturating_sub(out.len() - self.start);
        if text.len() <= room {
            return text;
        }
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }
}

/// The index of the first non-whitespace byte at or after `i`.
fn skip_whitespace(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index just past the string starting with the quote at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index just past a number or literal starting at `start`.
fn scalar_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        if matches!(
            b,
            b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b'"' | b'{' | b'}' | b'[' | b']'
        ) {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
#[path = "json_color_tests.rs"]
mod tests;
