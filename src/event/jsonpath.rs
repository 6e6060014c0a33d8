//! Dot paths into JSON documents: `data.amount`, `data.items.0.qty`.
//!
//! Used by `send --set PATH=VALUE` (an existing field) and `--set-new PATH=VALUE` (a field that
//! may be added) to edit a body before it is sent, and by `--expect body.PATH=` to read one. A path is a list of segments separated by `.`; a segment names an object key, or
//! an array element when the value it applies to is an array and the segment is an index.
//! Keys that themselves contain a `.` cannot be addressed.

use serde_json::{Map, Value};

mod nearest;

pub use nearest::Nearest;

/// Why a path or an assignment cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("path `{0}` has an empty segment")]
    EmptySegment(String),
    #[error("bad assignment `{0}`: expected PATH=VALUE, e.g. data.amount=4200")]
    NotAnAssignment(String),
    #[error("bad assignment `{text}`: {cause}")]
    BadAssignment { text: String, cause: Box<PathError> },
    /// A `--set` path that names a field the document does not have.
    #[error("no field {path}{nearest}")]
    NoField { path: String, nearest: Nearest },
    /// `at` is where the path stops being an object: "the document" or `` `data.items` ``.
    #[error("cannot set `{path}`: {at} {why}")]
    CannotSet {
        path: String,
        at: String,
        why: Blocked,
    },
}

/// What stops a path at one of its segments; worded to follow the part of the path before it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Blocked {
    #[error("has no element {index} (it has {len})")]
    NoElement { index: usize, len: usize },
    #[error("is an array, not an object; use an index from 0 to {}", .0.saturating_sub(1))]
    ArrayNeedsIndex(usize),
    #[error("is {0}, not an object")]
    NotAnObject(&'static str),
}

/// Splits `data.items.0` into its segments. Empty text and empty segments (`a..b`, `.a`, `a.`)
/// are errors.
pub fn parse_path(text: &str) -> Result<Vec<String>, PathError> {
    if text.is_empty() {
        return Err(PathError::Empty);
    }
    let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
    if segments.iter().any(String::is_empty) {
        return Err(PathError::EmptySegment(text.to_owned()));
    }
    Ok(segments)
}

/// Parses a value the way `--set` and `--expect` read one: as JSON when it parses (`true`, `12`,
/// `{"a":1}`, `"\"x\""`), otherwise as the plain string (`usd`, `hello world`, an empty value).
pub fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

/// Parses `"data.amount=4200"` into the path and the value (see [`parse_value`]). The path ends at
/// the first `=`, so values may contain `=`.
pub fn parse_assignment(s: &str) -> Result<(Vec<String>, Value), PathError> {
    let Some((path, value)) = s.split_once('=') else {
        return Err(PathError::NotAnAssignment(s.to_owned()));
    };
    let path = parse_path(path).map_err(|e| PathError::BadAssignment {
        text: s.to_owned(),
        cause: Box::new(e),
    })?;
    Ok((path, parse_value(value)))
}

/// One `--set PATH=VALUE` or `--set-new PATH=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The assignment as it was written, for messages.
    pub text: String,
    pub path: Vec<String>,
    pub value: Value,
    /// `--set-new`: missing object keys on the way are created. Without it the path must
    /// already exist, so a typo is an error instead of a new field.
    pub adds: bool,
}

impl Assignment {
    /// Parses `PATH=VALUE` (see [`parse_assignment`]).
    pub fn parse(text: &str, adds: bool) -> Result<Assignment, PathError> {
        let (path, value) = parse_assignment(text)?;
        Ok(Assignment {
            text: text.to_owned(),
            path,
            value,
            adds,
        })
    }

    /// Stores the value in `root`: with [`set`] when it may add a field, else with
    /// [`replace`].
    pub fn apply(&self, root: &mut Value) -> Result<(), PathError> {
        if self.adds {
            set(root, &self.path, self.value.clone())
        } else {
            replace(root, &self.path, self.value.clone())
        }
    }
}

/// The path as it is written, `data.items.0`.
pub fn display(path: &[String]) -> String {
    path.join(".")
}

/// Stores `value` at `path` under `root`, replacing what was there.
///
/// Missing object keys along the way are created, and so is an object in place of a `null`. A
/// segment applied to an array must be the index of an existing element. Any other value on the
/// way (a number, a string, a boolean, an array with a non-index segment) is an error naming the
/// path and the part of it that is not an object. An empty path replaces `root`.
pub fn set(root: &mut Value, path: &[String], value: Value) -> Result<(), PathError> {
    let Some((last, parents)) = path.split_last() else {
        *root = value;
        return Ok(());
    };
    let fail = |depth: usize, why: Blocked| {
        let at = match depth {
            0 => "the document".to_owned(),
            _ => format!("`{}`", display(&path[..depth])),
        };
        PathError::CannotSet {
            path: display(path),
            at,
            why,
        }
    };
    let mut node = root;
    for (depth, segment) in parents.iter().enumerate() {
        node = match step(node, segment) {
            Ok(child) => child,
            Err(why) => return Err(fail(depth, why)),
        };
    }
    match step(node, last) {
        Ok(slot) => {
            *slot = value;
            Ok(())
        }
        Err(why) => Err(fail(parents.len(), why)),
    }
}

/// Stores `value` at `path` under `root`, which must already be there: object keys by name,
/// array elements by index. A missing key is a [`PathError::NoField`] naming the nearest
/// existing path (or the fields there are); a path through a value that is not an object or
/// an array is the same error as for [`set`]. An empty path replaces `root`.
pub fn replace(root: &mut Value, path: &[String], value: Value) -> Result<(), PathError> {
    if let Some(why) = why_missing(root, path) {
        return Err(why);
    }
    let slot = path.iter().try_fold(root, |node, segment| match node {
        Value::Object(map) => map.get_mut(segment),
        Value::Array(items) => items.get_mut(segment.parse::<usize>().ok()?),
        _ => None,
    });
    match slot {
        Some(slot) => {
            *slot = value;
            Ok(())
        }
        // Not reached: the path was found above.
        None => Err(PathError::NoField {
            path: display(path),
            nearest: Nearest::Nothing,
        }),
    }
}

/// Why `path` is not in `root`: the first segment that is missing or cannot be followed;
/// `None` when the path is there.
fn why_missing(root: &Value, path: &[String]) -> Option<PathError> {
    let mut node = root;
    for (depth, segment) in path.iter().enumerate() {
        let blocked = match node {
            Value::Object(map) => match map.get(segment) {
                Some(child) => {
                    node = child;
                    continue;
                }
                None => None,
            },
            Value::Array(items) => match segment.parse::<usize>() {
                Ok(index) => match items.get(index) {
                    Some(child) => {
                        node = child;
                        continue;
                    }
                    None => Some(Blocked::NoElement {
                        index,
                        len: items.len(),
                    }),
                },
                Err(_) => Some(Blocked::ArrayNeedsIndex(items.len())),
            },
            // A `null` stands for an object that is not there yet: `--set-new` creates it.
            Value::Null => None,
            other => Some(Blocked::NotAnObject(kind(other))),
        };
        return Some(match blocked {
            Some(why) => PathError::CannotSet {
                path: display(path),
                at: match depth {
                    0 => "the document".to_owned(),
                    _ => format!("`{}`", display(&path[..depth])),
                },
                why,
            },
            None => PathError::NoField {
                path: display(path),
                nearest: Nearest::find(root, path, depth),
            },
        });
    }
    None
}

/// The child of `node` named by `segment`, created as `null` when `node` is an object (or a
/// `null`, which becomes an object) without that key.
fn step<'a>(node: &'a mut Value, segment: &str) -> Result<&'a mut Value, Blocked> {
    if node.is_null() {
        *node = Value::Object(Map::new());
    }
    match node {
        Value::Object(map) => Ok(map.entry(segment).or_insert(Value::Null)),
        Value::Array(items) => {
            let len = items.len();
            match segment.parse::<usize>() {
                Ok(index) => items
                    .get_mut(index)
                    .ok_or(Blocked::NoElement { index, len }),
                Err(_) => Err(Blocked::ArrayNeedsIndex(len)),
            }
        }
        other => Err(Blocked::NotAnObject(kind(other))),
    }
}

/// The value at `path` under `root`: object keys by name, array elements by index.
pub fn get<'a>(root: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(root, |node, segment| match node {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}

/// What kind of JSON value this is, with its article: "a number", "an array", "null".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Vec<String> {
        parse_path(text).unwrap()
    }

    #[test]
    fn assignment_values_are_json_when_they_parse() {
        let cases = [
            ("a=true", json!(true)),
            ("a=12", json!(12)),
            ("a=4.5", json!(4.5)),
            (r#"a={"a":1}"#, json!({"a": 1})),
            (r#"a="x""#, json!("x")),
            ("a=null", Value::Null),
            ("a=usd", json!("usd")),
            ("a=hello world", json!("hello world")),
            ("a=", json!("")),
            ("a=b=c", json!("b=c")),
        ];
        for (text, want) in cases {
            let (p, v) = parse_assignment(text).unwrap();
            assert_eq!(p, ["a"], "{text}");
            assert_eq!(v, want, "{text}");
        }
        let (p, _) = parse_assignment("data.items.0.qty=3").unwrap();
        assert_eq!(p, ["data", "items", "0", "qty"]);
    }

    #[test]
    fn bad_assignments_name_the_input() {
        for bad in ["amount", "=4", "data..x=1", ".a=1", "a.=1"] {
            let err = parse_assignment(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
    }

    #[test]
    fn set_replaces_and_creates_objects() {
        let mut doc = json!({"data": {"amount": 4200, "currency": "usd"}});
        set(&mut doc, &path("data.amount"), json!(99)).unwrap();
        set(&mut doc, &path("data.metadata.order.id"), json!("o1")).unwrap();
        set(&mut doc, &path("top"), json!(true)).unwrap();
        assert_eq!(
            doc,
            json!({"data": {"amount": 99, "currency": "usd", "metadata": {"order": {"id": "o1"}}}, "top": true})
        );
        let mut doc = json!({"data": null});
        set(&mut doc, &path("data.x"), json!(1)).unwrap();
        assert_eq!(doc, json!({"data": {"x": 1}}));
    }

    #[test]
    fn set_keeps_key_order_and_appends_new_keys() {
        let mut doc = json!({"id": "e", "type": "t", "created": 1});
        set(&mut doc, &path("type"), json!("u")).unwrap();
        set(&mut doc, &path("extra"), json!(2)).unwrap();
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(text, r#"{"id":"e","type":"u","created":1,"extra":2}"#);
    }

    #[test]
    fn set_through_a_non_object_names_the_path() {
        let mut doc = json!({"data": {"amount": 4200, "name": "x", "items": [{"qty": 1}]}});
        let err = set(&mut doc, &path("data.amount.x"), json!(1))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "cannot set `data.amount.x`: `data.amount` is a number, not an object"
        );
        let err = set(&mut doc, &path("data.name.first.x"), json!(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`data.name` is a string, not an object"),
            "{err}"
        );
        let err = set(&mut doc, &path("data.items.x"), json!(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot set `data.items.x`: `data.items` is an array"),
            "{err}"
        );
        let err = set(&mut doc, &path("data.items.3.qty"), json!(1))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`data.items` has no element 3 (it has 1)"),
            "{err}"
        );
        let mut list = json!([1, 2]);
        let err = set(&mut list, &path("a"), json!(1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("the document is an array"), "{err}");
        // Nothing was changed by the failed attempts.
        assert_eq!(doc["data"]["amount"], json!(4200));
        assert_eq!(doc["data"]["items"], json!([{"qty": 1}]));
    }

    #[test]
    fn set_indexes_existing_array_elements() {
        let mut doc = json!({"items": [{"qty": 1}, {"qty": 2}]});
        set(&mut doc, &path("items.1.qty"), json!(5)).unwrap();
        set(&mut doc, &path("items.0"), json!("x")).unwrap();
        assert_eq!(doc, json!({"items": ["x", {"qty": 5}]}));
    }

    #[test]
    fn get_reads_objects_and_arrays() {
        let doc = json!({"data": {"amount": 4200, "items": [{"qty": 3}]}});
        assert_eq!(get(&doc, &path("data.amount")), Some(&json!(4200)));
        assert_eq!(get(&doc, &path("data.items.0.qty")), Some(&json!(3)));
        assert_eq!(get(&doc, &path("data.items.1")), None);
        assert_eq!(get(&doc, &path("data.amount.x")), None);
        assert_eq!(get(&doc, &path("nope")), None);
        assert_eq!(get(&doc, &[]), Some(&doc));
    }

    #[test]
    fn replace_only_changes_what_is_there() {
        let mut doc = json!({"data": {"amount": 4200, "items": [{"qty": 1}], "meta": null}});
        replace(&mut doc, &path("data.amount"), json!(99)).unwrap();
        replace(&mut doc, &path("data.items.0.qty"), json!(5)).unwrap();
        replace(&mut doc, &path("data.meta"), json!({"a": 1})).unwrap();
        let want = json!({"data": {"amount": 99, "items": [{"qty": 5}], "meta": {"a": 1}}});
        assert_eq!(doc, want);

        let err = replace(&mut doc, &path("data.amout"), json!(1)).unwrap_err();
        assert_eq!(
            err,
            PathError::NoField {
                path: "data.amout".into(),
                nearest: Nearest::Path("data.amount".into()),
            }
        );
        assert_eq!(
            err.to_string(),
            "no field data.amout; did you mean data.amount?"
        );
        let mut with_null = json!({"data": {"meta": null}});
        let err = replace(&mut with_null, &path("data.meta.x"), json!(1)).unwrap_err();
        assert_eq!(err.to_string(), "no field data.meta.x");
        // Through a scalar or past an array's end: the same errors as `set`.
        let err = replace(&mut doc, &path("data.amount.x"), json!(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot set `data.amount.x`: `data.amount` is a number, not an object"
        );
        let err = replace(&mut doc, &path("data.items.3.qty"), json!(1)).unwrap_err();
        assert!(
            err.to_string()
                .contains("`data.items` has no element 3 (it has 1)"),
            "{err}"
        );
        let err = replace(&mut doc, &path("data.items.first"), json!(1)).unwrap_err();
        assert!(err.to_string().contains("is an array"), "{err}");
        assert_eq!(doc, want, "nothing changed by the failed attempts");
    }

    #[test]
    fn assignments_add_fields_only_when_asked() {
        let mut doc = json!({"data": {"amount": 1}});
        let strict = Assignment::parse("data.note=hi", false).unwrap();
        assert!(matches!(
            strict.apply(&mut doc),
            Err(PathError::NoField { .. })
        ));
        let adding = Assignment::parse("data.note=hi", true).unwrap();
        assert_eq!(adding.text, "data.note=hi");
        adding.apply(&mut doc).unwrap();
        strict.apply(&mut doc).unwrap();
        assert_eq!(doc, json!({"data": {"amount": 1, "note": "hi"}}));
    }
}
