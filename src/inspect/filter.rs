//! The inspector's search box: space-separated terms that must all hold.
//!
//! - `type=GLOB`, `path=GLOB`, `method=M`, `header.NAME=GLOB`, `body.PATH=JSON`: the same
//!   predicates as `listen --expect` (one per term);
//! - `status=200`, `status=4xx`, `status=none`: how listen answered;
//! - `verified=yes|no`, `forward=ok|failed`, `edited=yes|no`;
//! - anything else (quoted with `"` to hold spaces): text the body contains, ignoring case.

use crate::event::Event;
use crate::listen::expect::Expectation;

/// A parsed search.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    terms: Vec<Term>,
}

#[derive(Debug, Clone)]
enum Term {
    Expect(Expectation),
    Status(StatusTerm),
    Verified(bool),
    Forward(bool),
    Edited(bool),
    /// Lower-cased text.
    Text(String),
}

#[derive(Debug, Clone, Copy)]
enum StatusTerm {
    Exact(u16),
    Class(u16),
    None,
}

/// Why a search cannot be used; shown under the search box.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{term}: {why}")]
    Term { term: String, why: String },
    #[error("a quote is not closed")]
    Unclosed,
}

const EXPECT_KEYS: &[&str] = &["type", "path", "method"];

impl Filter {
    /// Parses the search text; empty text matches everything.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        let mut terms = Vec::new();
        for word in words(text)? {
            terms.push(term(&word)?);
        }
        Ok(Filter { terms })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, e: &Event) -> bool {
        self.terms.iter().all(|t| t.matches(e))
    }

    /// False when a capture line cannot hold a match, judged from its raw text without
    /// parsing it: a text term that is plain ASCII (no quote, backslash, slash or control,
    /// which JSON may escape) appears as it is in the line of a body that matches, unless the
    /// body is in base64.
    pub fn may_match_line(&self, line: &[u8]) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Text(text) if is_verbatim_in_json(text) => {
                contains_ignoring_case(line, text)
                    || memchr::memmem::find(line, b"\"body_base64\"").is_some()
            }
            _ => true,
        })
    }
}

/// True when JSON writes `text` as it is inside a string.
fn is_verbatim_in_json(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_control() && !matches!(b, b'"' | b'\\' | b'/'))
}

fn term(word: &str) -> Result<Term, FilterError> {
    let bad = |why: &str| FilterError::Term {
        term: word.to_owned(),
        why: why.to_owned(),
    };
    let yes_no = |v: &str| match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "ok" | "1" => Ok(true),
        "no" | "false" | "failed" | "0" => Ok(false),
        _ => Err(bad("expected yes or no")),
    };
    let Some((key, value)) = word.split_once('=') else {
        return Ok(Term::Text(word.to_lowercase()));
    };
    let key_lower = key.to_ascii_lowercase();
    match key_lower.as_str() {
        k if EXPECT_KEYS.contains(&k) || k.starts_with("header.") || k.starts_with("body.") => word
            .parse::<Expectation>()
            .map(Term::Expect)
            .map_err(|e| bad(&e.to_string())),
        "status" => {
            let v = value.to_ascii_lowercase();
            let status = if v == "none" {
                StatusTerm::None
            } else if let Some(class) = v.strip_suffix("xx") {
                match class.parse::<u16>() {
                    Ok(c @ 1..=9) => StatusTerm::Class(c),
                    _ => return Err(bad("expected a status such as 200, 4xx or none")),
                }
            } else {
                match v.parse::<u16>() {
                    Ok(s @ 100..=999) => StatusTerm::Exact(s),
                    _ => return Err(bad("expected a status such as 200, 4xx or none")),
                }
            };
            Ok(Term::Status(status))
        }
        "verified" => yes_no(value).map(Term::Verified),
        "forward" => yes_no(value).map(Term::Forward),
        "edited" => yes_no(value).map(Term::Edited),
        _ => Ok(Term::Text(word.to_lowercase())),
    }
}

/// Splits on spaces, keeping `"quoted text"` (and `key="quoted"`) together.
fn words(text: &str) -> Result<Vec<String>, FilterError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                }
                any = false;
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(FilterError::Unclosed);
    }
    if any {
        words.push(word);
    }
    Ok(words)
}

impl Term {
    fn matches(&self, e: &Event) -> bool {
        match self {
            Term::Expect(x) => x.matches(e),
            Term::Status(s) => match (s, e.notes.status) {
                (StatusTerm::None, status) => status.is_none(),
                (StatusTerm::Exact(want), Some(got)) => *want == got,
                (StatusTerm::Class(class), Some(got)) => got / 100 == *class,
                (_, None) => false,
            },
            Term::Verified(ok) => e.notes.verified.as_ref().is_some_and(|v| v.ok == *ok),
            Term::Forward(ok) => e.notes.forward.as_ref().is_some_and(|f| {
                let good = f.error.is_none() && f.status.is_some_and(|s| s < 400);
                good == *ok
            }),
            Term::Edited(yes) => e.notes.edited_from.is_some() == *yes,
            Term::Text(text) => contains_ignoring_case(&e.body, text),
        }
    }
}

/// True when `haystack` (as lossy UTF-8) contains `needle` (lower-case), ignoring case.
fn contains_ignoring_case(haystack: &[u8], needle: &str) -> bool {
    if needle.is_ascii() {
        let needle = needle.as_bytes();
        if needle.is_empty() {
            return true;
        }
        return haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
    }
    String::from_utf8_lossy(haystack)
        .to_lowercase()
        .contains(needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::SystemTime;

    fn event(path: &str, headers: &[(&str, &str)], body: &str, status: Option<u16>) -> Event {
        let mut e = Event::from_parts(
            "POST",
            path,
            None,
            headers.iter().copied().collect(),
            Bytes::from(body.to_owned()),
            SystemTime::UNIX_EPOCH,
        );
        e.notes.status = status;
        e
    }

    #[test]
    fn terms_combine_with_and() {
        let paid = event(
            "/stripe",
            &[("x-env", "prod")],
            r#"{"type":"payment.succeeded","amount":4200,"note":"Café au lait"}"#,
            Some(200),
        );
        let failed = event("/gh", &[], r#"{"type":"payment.failed"}"#, Some(503));
        let m = |q: &str| {
            let f = Filter::parse(q).unwrap();
            (f.matches(&paid), f.matches(&failed))
        };
        assert_eq!(m(""), (true, true));
        assert_eq!(m("type=payment.*"), (true, true));
        assert_eq!(m("type=payment.* status=5xx"), (false, true));
        assert_eq!(m("status=200"), (true, false));
        assert_eq!(m("path=/gh"), (false, true));
        assert_eq!(m("header.x-env=prod"), (true, false));
        assert_eq!(m("AMOUNT"), (true, false));
        assert_eq!(m("café"), (true, false));
        assert_eq!(m("\"au lait\""), (true, false));
        assert_eq!(m("payment.failed"), (false, true));
        assert_eq!(m("body.amount=4200"), (true, false));
        assert_eq!(m("verified=no"), (false, false));
        assert_eq!(m("edited=no"), (true, true));
    }

    #[test]
    fn lines_without_the_text_are_skipped_unparsed() {
        let f = Filter::parse("Needle type=a").unwrap();
        assert!(f.may_match_line(br#"{"body":"a needle here"}"#));
        assert!(!f.may_match_line(br#"{"body":"nothing"}"#));
        assert!(f.may_match_line(br#"{"body_base64":"bmVlZGxl"}"#));
        // Text JSON might escape is always parsed.
        assert!(Filter::parse("a/b").unwrap().may_match_line(b"{}"));
        assert!(Filter::parse("caf\u{e9}").unwrap().may_match_line(b"{}"));
    }

    #[test]
    fn bad_terms_say_what_is_wrong() {
        let err = Filter::parse("status=abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "status=abc: expected a status such as 200, 4xx or none"
        );
        assert_eq!(Filter::parse("\"open").unwrap_err(), FilterError::Unclosed);
        assert!(Filter::parse("verified=maybe").is_err());
        assert!(Filter::parse("type=[").is_err());
    }
}
