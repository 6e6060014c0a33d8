//! CI expectations for `listen --expect EXPR`.
//!
//! An expression is a comma-separated list of predicates that must all hold:
//!
//! * `type=GLOB` matches the event type. An event without a type counts as having the empty
//!   type, so `type=*` matches every event, `type=?*` only typed ones and `type=` only untyped.
//! * `id=GLOB` matches the event id.
//! * `path=GLOB` matches the request path (without the query string).
//! * `method=NAME` compares the HTTP method, ignoring case.
//! * `status=GLOB` matches the status listen answered with, as digits: `500`, `5*`, or `5xx`
//!   for a class. An event without a status (one sent by `send --dry-run`) has the status `""`.
//! * `header.NAME=GLOB` matches any header called NAME (name ignoring case, value by glob); a
//!   missing header never matches.
//! * `body.PATH=VALUE` reads a dot path from the JSON body (see [`crate::event::jsonpath`]) and
//!   compares it as JSON. VALUE is JSON when it parses and a plain string otherwise, so
//!   `body.data.currency=usd` works and `body.data.amount=4200` does not match `"4200"`. Numbers
//!   compare by value: `4200` matches `4200.0`. A body that is not JSON fails every `body.`
//!   predicate.
//!
//! Globs use the `glob` crate's syntax (`*`, `?`, `[abc]`), and `*` also matches `/`.
//!
//! Splitting: a comma ends a predicate only when what follows it looks like the next one: a key
//! made of letters, digits, `_`, `-` or `.`, then `=`. Every other comma belongs to the value,
//! so `type=a,b` is one glob and `body.items=[1,2]` one JSON value. A value that starts with
//! `[`, `{` or `"` is read up to its closing bracket or quote first, so commas inside it never
//! split, even `body.note="x,y=z"`. A key-like typo after a comma is reported as an unknown
//! field rather than swallowed into the previous value. The catch: a value with a comma followed
//! by `word=` is split there (a Stripe signature glob `t=*,v1=*` errors with "unknown field
//! `v1`"); use a narrower glob such as `*v1=*`. Spaces around predicates, keys and values are
//! ignored, and keys are lowercase (`header.NAME` is matched ignoring case).

use crate::error::ConfigError;
use std::cell::OnceCell;
use std::fmt;
use std::str::FromStr;

use glob::Pattern;
use serde_json::Value;

use crate::event::jsonpath;
use crate::event::Event;

mod filter;

pub use filter::Filter;

/// Candidates kept per unmet expectation for the timeout report.
const CANDIDATES: usize = 3;
/// Longest value quoted in a miss description before it is cut.
const MAX_SHOWN: usize = 60;

/// One `--expect` expression: predicates that must all hold for one event.
#[derive(Debug, Clone)]
pub struct Expectation {
    text: String,
    predicates: Vec<Predicate>,
}

#[derive(Debug, Clone)]
enum Predicate {
    Id(Pattern),
    /// The value as written (`5xx`), and the glob it stands for (`5??`).
    Status(String, Pattern),
    Type(Pattern),
    Path(Pattern),
    Method(String),
    Header(String, Pattern),
    Body(Vec<String>, Value),
}

/// How close an event came to an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closeness {
    /// Predicates the event satisfied.
    pub satisfied: usize,
    /// Predicates in the expectation.
    pub total: usize,
    /// For each unsatisfied predicate, what the event had instead.
    pub misses: Vec<String>,
}

impl FromStr for Expectation {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(ConfigError::EmptyExpectation);
        }
        let predicates = split(text)
            .into_iter()
            .map(|part| {
                parse_predicate(part.trim()).map_err(|e| ConfigError::Expectation {
                    part: part.trim().to_owned(),
                    cause: Box::new(e),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Expectation {
            text: text.to_owned(),
            predicates,
        })
    }
}

/// Splits an expression into predicate texts (see the module documentation).
fn split(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let skip = json_value_end(rest).unwrap_or(0);
        let next = rest[skip..]
            .match_indices(',')
            .map(|(i, _)| skip + i)
            .find(|&i| starts_predicate(&rest[i + 1..]));
        match next {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 1..];
            }
            None => {
                parts.push(rest);
                return parts;
            }
        }
    }
}

/// True when `s` starts (after spaces) with `KEY=`, or holds nothing, so that a trailing comma
/// gives an empty predicate instead of joining the value.
fn starts_predicate(s: &str) -> bool {
    let s = s.trim_start();
    let key = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        .unwrap_or(s.len());
    s.is_empty() || (key > 0 && s[key..].starts_with('='))
}

/// When the value of the predicate at the start of `part` begins with `[`, `{` or `"`, the
/// byte offset just past its balanced end.
fn json_value_end(part: &str) -> Option<usize> {
    let eq = part.find('=')?;
    let value = &part[eq + 1..];
    let start = eq + 1 + (value.len() - value.trim_start().len());
    if !part[start..].starts_with(['[', '{', '"']) {
        return None;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, c) in part[start..].char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else {
            match c {
                '"' => in_string = true,
                '[' | '{' => depth += 1,
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if depth == 0 && !in_string {
            return Some(start + i + c.len_utf8());
        }
    }
    None
}

fn parse_predicate(part: &str) -> Result<Predicate, ConfigError> {
    if part.is_empty() {
        return Err(ConfigError::EmptyPredicate);
    }
    let Some((key, value)) = part.split_once('=') else {
        return Err(ConfigError::NotKeyValue);
    };
    let (key, value) = (key.trim(), value.trim());
    let glob = |v: &str| {
        Pattern::new(v).map_err(|cause| ConfigError::Glob {
            glob: v.to_owned(),
            cause,
        })
    };
    match key {
        "id" => Ok(Predicate::Id(glob(value)?)),
        "status" => Ok(Predicate::Status(
            value.to_owned(),
            glob(&status_glob(value)?)?,
        )),
        "type" => Ok(Predicate::Type(glob(value)?)),
        "path" => Ok(Predicate::Path(glob(value)?)),
        "method" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(Predicate::Method(value.to_ascii_uppercase()))
        }
        "method" => Err(ConfigError::Method(value.to_owned())),
        _ => {
            if let Some(name) = key.strip_prefix("header.").filter(|n| !n.is_empty()) {
                Ok(Predicate::Header(name.to_ascii_lowercase(), glob(value)?))
            } else if let Some(path) = key.strip_prefix("body.") {
                let path = jsonpath::parse_path(path)
                    .map_err(|_| ConfigError::BodyPath(key.to_owned()))?;
                Ok(Predicate::Body(path, jsonpath::parse_value(value)))
            } else {
                Err(ConfigError::UnknownField(key.to_owned()))
            }
        }
    }
}

/// The glob a `status=` value stands for: digits and glob characters, with `x` for any digit
/// (`5xx` is `5??`).
fn status_glob(value: &str) -> Result<String, ConfigError> {
    let glob = value.replace(['x', 'X'], "?");
    let valid = !glob.is_empty()
        && glob
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '*' | '?' | '[' | ']' | '!' | '-'));
    if valid {
        Ok(glob)
    } else {
        Err(ConfigError::Status(value.to_owned()))
    }
}

/// An event with its body parsed at most once, on first use.
struct Subject<'a> {
    event: &'a Event,
    body: OnceCell<Option<Value>>,
}

impl<'a> Subject<'a> {
    fn new(event: &'a Event) -> Self {
        Subject {
            event,
            body: OnceCell::new(),
        }
    }

    fn body(&self) -> Option<&Value> {
        self.body
            .get_or_init(|| serde_json::from_slice(&self.event.body).ok())
            .as_ref()
    }
}

impl Predicate {
    /// `None` when the event satisfies the predicate, else what it had instead.
    fn miss(&self, s: &Subject<'_>) -> Option<String> {
        let e = s.event;
        match self {
            Predicate::Id(p) => {
                (!p.matches(&e.id)).then(|| format!("id is {}, not {p}", shorten(&e.id)))
            }
            Predicate::Status(shown, p) => {
                let have = e.notes.status.map(|s| s.to_string());
                (!p.matches(have.as_deref().unwrap_or(""))).then(|| match have {
                    Some(status) => format!("status is {status}, not {shown}"),
                    None => format!("status is missing, not {shown}"),
                })
            }
            Predicate::Type(p) => {
                let have = e.event_type.as_deref().unwrap_or("");
                (!p.matches(have)).then(|| match &e.event_type {
                    Some(t) => format!("type is {}, not {p}", shorten(t)),
                    None => format!("type is missing, not {p}"),
                })
            }
            Predicate::Path(p) => {
                (!p.matches(&e.path)).then(|| format!("path is {}, not {p}", shorten(&e.path)))
            }
            Predicate::Method(m) => (!e.method.eq_ignore_ascii_case(m))
                .then(|| format!("method is {}, not {m}", shorten(&e.method))),
            Predicate::Header(name, p) => {
                let mut values = e.headers.get_all(name);
                let first = values.clone().next();
                if values.any(|v| p.matches(v)) {
                    return None;
                }
                Some(match first {
                    Some(v) => format!("header {name} is {}, not {p}", shorten(v)),
                    None => format!("header {name} is missing"),
                })
            }
            Predicate::Body(path, want) => {
                let shown = jsonpath::display(path);
                let Some(body) = s.body() else {
                    return Some("body is not JSON".into());
                };
                match jsonpath::get(body, path) {
                    Some(have) if json_eq(have, want) => None,
                    Some(have) => Some(format!(
                        "body.{shown} is {}, not {}",
                        shorten(&have.to_string()),
                        shorten(&want.to_string())
                    )),
                    None => Some(format!("body.{shown} is missing")),
                }
            }
        }
    }
}

/// JSON equality where numbers compare by value (`4200` equals `4200.0`).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(x), Some(y), _, _) => x == y,
                (_, _, Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// `text`, cut to [`MAX_SHOWN`] characters with an ellipsis.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

impl Expectation {
    /// True when the event satisfies every predicate.
    pub fn matches(&self, e: &Event) -> bool {
        let subject = Subject::new(e);
        self.predicates.iter().all(|p| p.miss(&subject).is_none())
    }

    /// The expression as it was given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How close the event came: predicates satisfied and what each miss had instead.
    pub fn explain(&self, e: &Event) -> Closeness {
        self.closeness(&Subject::new(e))
    }

    fn closeness(&self, subject: &Subject<'_>) -> Closeness {
        let misses: Vec<String> = self
            .predicates
            .iter()
            .filter_map(|p| p.miss(subject))
            .collect();
        Closeness {
            satisfied: self.predicates.len() - misses.len(),
            total: self.predicates.len(),
            misses,
        }
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Closeness {
    /// True when every predicate held.
    pub fn is_match(&self) -> bool {
        self.misses.is_empty()
    }
}

/// What the report keeps of an event that came close to an unmet expectation.
#[derive(Debug, Clone)]
struct Candidate {
    id: String,
    event_type: Option<String>,
    closeness: Closeness,
}

#[derive(Debug)]
struct Slot {
    expectation: Expectation,
    met_by: Option<String>,
    closest: Vec<Candidate>,
}

/// Tracks what `listen` is waiting for: a set of expectations, or a number of events.
///
/// Each event satisfies at most one expectation, the first unmet one it matches, so repeating an
/// `--expect` requires that many matching events. With expectations, `count` is ignored (repeat
/// an expectation instead); the CLI should reject the combination. With no expectations, the
/// tracker is done after `count` events, and never when `count` is `None`.
#[derive(Debug)]
pub struct Tracker {
    slots: Vec<Slot>,
    count: Option<u64>,
    seen: u64,
}

impl Tracker {
    /// A tracker for `expectations`; `count` only matters when there are none.
    pub fn new(expectations: Vec<Expectation>, count: Option<u64>) -> Tracker {
        let slots = expectations
            .into_iter()
            .map(|expectation| Slot {
                expectation,
                met_by: None,
                closest: Vec::new(),
            })
            .collect();
        Tracker {
            slots,
            count,
            seen: 0,
        }
    }

    /// Records an event; returns true when everything is now satisfied.
    pub fn observe(&mut self, e: &Event) -> bool {
        self.seen += 1;
        let subject = Subject::new(e);
        let mut consumed = false;
        for slot in self.slots.iter_mut().filter(|s| s.met_by.is_none()) {
            let closeness = slot.expectation.closeness(&subject);
            if !consumed && closeness.is_match() {
                slot.met_by = Some(e.id.clone());
                consumed = true;
            } else {
                slot.remember(e, closeness);
            }
        }
        self.is_done()
    }

    /// True when every expectation is met, or (without expectations) `count` events arrived.
    pub fn is_done(&self) -> bool {
        if self.slots.is_empty() {
            self.count.is_some_and(|n| self.seen >= n)
        } else {
            self.slots.iter().all(|s| s.met_by.is_some())
        }
    }

    /// Events observed so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Lines for the timeout report: one per unmet expectation (or the missing event count),
    /// each followed by indented lines for the closest events seen.
    pub fn unmet_report(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.slots.is_empty() {
            if let Some(n) = self.count.filter(|&n| self.seen < n) {
                lines.push(format!("expected {n} events, received {}", self.seen));
            }
            return lines;
        }
        for (index, slot) in self.slots.iter().enumerate() {
            if slot.met_by.is_some() {
                continue;
            }
            let head = format!(
                "expectation #{} `{}` was not met",
                index + 1,
                slot.expectation
            );
            if slot.closest.is_empty() {
                lines.push(format!("{head}; no events arrived"));
                continue;
            }
            lines.push(format!("{head}; closest events:"));
            for c in &slot.closest {
                let what = format!(
                    "{} ({})",
                    c.id,
                    c.event_type.as_deref().unwrap_or("no type")
                );
                let why = if c.closeness.is_match() {
                    "matched, but was counted for an earlier expectation".to_owned()
                } else {
                    c.closeness.misses.join("; ")
                };
                let (ok, total) = (c.closeness.satisfied, c.closeness.total);
                lines.push(format!("  {what}: {ok}/{total} predicates held; {why}"));
            }
        }
        lines
    }
}

impl Slot {
    /// Keeps the event if it is among the [`CANDIDATES`] closest; earlier events win ties.
    fn remember(&mut self, e: &Event, closeness: Closeness) {
        let better = |c: &Candidate| c.closeness.satisfied < closeness.satisfied;
        let at = self
            .closest
            .iter()
            .position(better)
            .unwrap_or(self.closest.len());
        if at < CANDIDATES {
            let (id, event_type) = (shorten(&e.id), e.event_type.as_deref().map(shorten));
            self.closest.insert(
                at,
                Candidate {
                    id,
                    event_type,
                    closeness,
                },
            );
            self.closest.truncate(CANDIDATES);
        }
    }
}

#[cfg(test)]
#[path = "expect_tests.rs"]
mod tests;
