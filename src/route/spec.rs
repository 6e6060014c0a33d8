//! A route as given on the command line: `[first:][NAME:]EXPR TARGET`.
//!
//! EXPR is `--expect`'s predicate syntax (see [`crate::listen::expect`]); `*` matches every
//! event. A leading `first:` makes the route first-match: an event it takes goes to no later
//! route. A leading `NAME:` names it (letters, digits, `_`, `-`) for the output, the capture and
//! `--expect route.NAME=…`; unnamed routes are called by their number, from 1. TARGET is an
//! `http://` or `https://` URL, `amqp://…`, `kafka://…`, `file:PATH` or `drop`.

use std::path::PathBuf;

use crate::error::ConfigError;
use crate::listen::expect::Expectation;

/// The most routes one run takes.
pub const MAX_ROUTES: usize = 100;

/// Where a route sends its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// An app, delivered to with the forwarding retries and timeout.
    Http(String),
    /// RabbitMQ (`amqp://`) or Kafka (`kafka://`), published to with confirms.
    Broker(String),
    /// A capture file, appended to through the capture writer.
    File(PathBuf),
    /// Taken, and sent nowhere.
    Drop,
}

impl TargetSpec {
    pub fn parse(text: &str) -> Result<TargetSpec, String> {
        let lower = text.to_ascii_lowercase();
        if text == "drop" {
            Ok(TargetSpec::Drop)
        } else if let Some(path) = text.strip_prefix("file:") {
            if path.is_empty() {
                return Err("file: needs a path, e.g. file:payments.jsonl".into());
            }
            Ok(TargetSpec::File(PathBuf::from(path)))
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(TargetSpec::Http(text.to_owned()))
        } else if crate::bridge::kind(text).is_ok() {
            Ok(TargetSpec::Broker(text.to_owned()))
        } else {
            Err(format!(
                "unknown target {text:?}; use an http(s):// URL, amqp://…, kafka://…, file:PATH or drop"
            ))
        }
    }
}

/// One parsed route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub name: String,
    /// An event this route takes goes to no later route.
    pub first: bool,
    pub matcher: Expectation,
    pub target: TargetSpec,
}

impl RouteSpec {
    /// Parses route number `number` (from 1) from its two command-line values.
    pub fn parse(expr: &str, target: &str, number: usize) -> Result<RouteSpec, String> {
        let bad = |why: String| format!("bad --route `{expr}`: {why}");
        let mut rest = expr.trim();
        let mut first = false;
        let mut name = None;
        while let Some((head, tail)) = rest.split_once(':') {
            let head = head.trim();
            let word = !head.is_empty()
                && head
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
            if !word {
                break;
            }
            if head == "first" && !first {
                first = true;
            } else if name.is_none() {
                name = Some(head.to_owned());
            } else {
                break;
            }
            rest = tail.trim_start();
        }
        let text = if rest.trim() == "*" { "type=*" } else { rest };
        let matcher = text.parse::<Expectation>().map_err(|e| {
            bad(match e {
                ConfigError::Expectation { part, cause } => format!("`{part}`: {cause}"),
                ConfigError::EmptyExpectation => {
                    "the expression is empty; use e.g. type=payment_* (or * for every event)".into()
                }
                other => other.to_string(),
            })
        })?;
        let target = TargetSpec::parse(target).map_err(bad)?;
        Ok(RouteSpec {
            name: name.unwrap_or_else(|| number.to_string()),
            first,
            matcher,
            target,
        })
    }

    /// Parses the `--route` values, taken in pairs, and checks the names are unique.
    pub fn parse_all(values: &[String]) -> Result<Vec<RouteSpec>, String> {
        if values.len() / 2 > MAX_ROUTES {
            return Err(format!("at most {MAX_ROUTES} --route options are allowed"));
        }
        let mut routes: Vec<RouteSpec> = Vec::new();
        for (i, pair) in values.chunks(2).enumerate() {
            let [expr, target] = pair else {
                return Err("--route takes two values: EXPR TARGET".into());
            };
            let route = RouteSpec::parse(expr, target, i + 1)?;
            if routes.iter().any(|r| r.name == route.name) {
                return Err(format!(
                    "two routes are called {:?}; give each its own name (NAME:EXPR)",
                    route.name
                ));
            }
            routes.push(route);
        }
        Ok(routes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_first_and_targets() {
        let r = RouteSpec::parse("pay:type=payment_*", "http://127.0.0.1:1", 1).unwrap();
        assert_eq!((r.name.as_str(), r.first), ("pay", false));
        assert_eq!(r.target, TargetSpec::Http("http://127.0.0.1:1".into()));
        let r = RouteSpec::parse("first: pay: type=a", "drop", 2).unwrap();
        assert_eq!((r.name.as_str(), r.first), ("pay", true));
        let r = RouteSpec::parse("first:*", "file:all.jsonl", 3).unwrap();
        assert_eq!((r.name.as_str(), r.first), ("3", true));
        assert_eq!(r.target, TargetSpec::File("all.jsonl".into()));
        let r = RouteSpec::parse("header.x-a=b:c", "kafka://h:1/t", 4).unwrap();
        assert_eq!(r.name, "4", "a colon inside a predicate is not a name");
        assert_eq!(r.target, TargetSpec::Broker("kafka://h:1/t".into()));
        let e = RouteSpec::parse("pay:", "drop", 1).unwrap_err();
        assert!(
            e.starts_with("bad --route `pay:`: the expression is empty"),
            "{e}"
        );
        let e = RouteSpec::parse("colour=red", "drop", 1).unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
        let e = RouteSpec::parse("*", "ftp://x", 1).unwrap_err();
        assert!(e.contains("unknown target \"ftp://x\""), "{e}");
        let e = RouteSpec::parse("*", "file:", 1).unwrap_err();
        assert!(e.contains("file: needs a path"), "{e}");
        let two = ["a:*", "drop", "a:type=x", "drop"].map(String::from);
        let e = RouteSpec::parse_all(&two).unwrap_err();
        assert!(e.contains("two routes are called \"a\""), "{e}");
    }
}
