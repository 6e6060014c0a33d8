//! A sample written as a document: a body (and headers) whose strings may hold `{{...}}`
//! expressions ([`super::expr`]), parsed once and rendered per event.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::expr::{self, EvalError, ExprError, Piece, Scope};

/// A parsed sample document.
#[derive(Debug)]
pub struct Document {
    body: Node,
    headers: Vec<(String, Vec<Piece>)>,
    encoding: Encoding,
}

/// How the body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    /// `application/x-www-form-urlencoded`: the body is an object of fields, as Slack sends
    /// slash commands.
    Form,
}

/// The body, with its templated strings parsed.
#[derive(Debug)]
enum Node {
    Literal(Value),
    Text(Vec<Piece>),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// What is wrong with a document, and the text it is about (to find its line in a file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub struct DocError {
    pub what: String,
    /// The offending text (a template string, a key), when there is one.
    pub near: Option<String>,
}

impl DocError {
    fn new(what: impl Into<String>, near: Option<&str>) -> DocError {
        DocError {
            what: what.into(),
            near: near.map(str::to_owned),
        }
    }
}

impl Document {
    /// Reads `{"body": ..., "headers": {...}, "encoding": "json"|"form"}`. A string that is
    /// exactly `{{include "NAME"}}` is replaced by `include(NAME)` before parsing.
    pub fn from_value(
        doc: &Map<String, Value>,
        include: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<Document, DocError> {
        let body = doc
            .get("body")
            .ok_or_else(|| DocError::new("the sample has no `body`", None))?;
        let encoding = match doc.get("encoding").map(|e| e.as_str()) {
            None | Some(Some("json")) => Encoding::Json,
            Some(Some("form")) => Encoding::Form,
            _ => {
                return Err(DocError::new(
                    "`encoding` is \"json\" (the default) or \"form\"",
                    Some("encoding"),
                ))
            }
        };
        if encoding == Encoding::Form
            && !body
                .as_object()
                .is_some_and(|m| m.values().all(|v| v.is_string()))
        {
            return Err(DocError::new(
                "a form-encoded body is an object of string fields",
                Some("body"),
            ));
        }
        let headers = match doc.get("headers") {
            None => Vec::new(),
            Some(Value::Object(map)) => map
                .iter()
                .map(|(name, value)| {
                    if !is_header_name(name) {
                        return Err(DocError::new(
                            format!("`{name}` is not a valid header name"),
                            Some(name),
                        ));
                    }
                    let text = value.as_str().ok_or_else(|| {
                        DocError::new(format!("header `{name}` is not a string"), Some(name))
                    })?;
                    if text.bytes().any(|b| b == b'\r' || b == b'\n') {
                        return Err(DocError::new(
                            format!("header `{name}` holds a line break"),
                            Some(name),
                        ));
                    }
                    Ok((name.clone(), parse_text(text)?))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(DocError::new(
                    "`headers` is an object of header names and values",
                    Some("headers"),
                ))
            }
        };
        Ok(Document {
            body: node(body, include, 0)?,
            headers,
            encoding,
        })
    }

    /// The body rendered in `scope`.
    pub(super) fn body(&self, scope: &Scope<'_>) -> Result<Value, EvalError> {
        render(&self.body, scope)
    }

    /// The document's own headers rendered in `scope`.
    pub(super) fn headers(&self, scope: &Scope<'_>) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|(name, pieces)| Some((name.clone(), scope.render_text(pieces).ok()?)))
            .collect()
    }

    /// The bytes on the wire for `body`.
    pub(super) fn encode(&self, body: &Value) -> Bytes {
        match (self.encoding, body) {
            (Encoding::Form, Value::Object(fields)) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                for (name, value) in fields {
                    match value {
                        Value::String(s) => form.append_pair(name, s),
                        other => form.append_pair(name, &other.to_string()),
                    };
                }
                Bytes::from(form.finish())
            }
            _ => Bytes::from(body.to_string()),
        }
    }

    /// Whether the body is form-encoded.
    pub fn is_form(&self) -> bool {
        self.encoding == Encoding::Form
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_text(text: &str) -> Result<Vec<Piece>, DocError> {
    expr::parse(text).map_err(|e: ExprError| DocError::new(e.to_string(), Some(text)))
}

/// Fragments may include fragments; this many levels at most.
const MAX_INCLUDE_DEPTH: usize = 8;

fn node(
    value: &Value,
    include: &dyn Fn(&str) -> Option<Value>,
    depth: usize,
) -> Result<Node, DocError> {
    Ok(match value {
        Value::String(text) if expr::is_templated(text) => {
            if let Some(name) = included_name(text) {
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(DocError::new("includes nest too deeply", Some(text)));
                }
                let fragment = include(&name).ok_or_else(|| {
                    DocError::new(
                        format!("no built-in fragment is called `{name}`"),
                        Some(text),
                    )
                })?;
                return node(&fragment, include, depth + 1);
            }
            Node::Text(parse_text(text)?)
        }
        Value::Array(items) => Node::Array(
            items
                .iter()
                .map(|v| node(v, include, depth))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Node::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), node(v, include, depth)?)))
                .collect::<Result<_, DocError>>()?,
        ),
        other => Node::Literal(other.clone()),
    })
}

/// `NAME` when `text` is exactly `{{include "NAME"}}`.
fn included_name(text: &str) -> Option<String> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    let name = inner.strip_prefix("include")?.trim();
    Some(name.strip_prefix('"')?.strip_suffix('"')?.to_owned())
}

fn render(node: &Node, scope: &Scope<'_>) -> Result<Value, EvalError> {
    Ok(match node {
        Node::Literal(v) => v.clone(),
        Node::Text(pieces) => scope.render(pieces)?,
        Node::Array(items) => Value::Array(
            items
                .iter()
                .map(|n| render(n, scope))
                .collect::<Result<_, _>>()?,
        ),
        Node::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, n)| Ok((k.clone(), render(n, scope)?)))
                .collect::<Result<_, EvalError>>()?,
        ),
    })
}
