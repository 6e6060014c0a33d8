//! From a profile to the values of one command's flags: which entries apply, and what each
//! one's value is once its shape is checked and its environment variables are read.

use super::error::ProfileError;
use super::file::{Entry, Profile, Raw};
use super::schema::{CommandKeys, Shape};

/// A flag's value from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Switch(bool),
    Count(u8),
    /// One inner list per occurrence of the flag.
    Occurrences(Vec<Vec<String>>),
}

/// An entry's value, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `None` when every variable it names is unset.
    pub value: Option<Value>,
    /// The variables named with `KEY-env` (empty for a literal value).
    pub env: Vec<String>,
    /// The ones among them that are unset or empty.
    pub unset: Vec<String>,
}

impl Profile {
    /// The entries that set `command`'s flags: the profile's shared keys that are flags of
    /// `command`, with the keys of its `[profile.NAME.COMMAND]` table taking their place.
    pub fn entries_for<'a>(&'a self, command: &CommandKeys) -> Vec<&'a Entry> {
        let own = |e: &&Entry| e.command.as_deref() == Some(command.command.as_str());
        let mut entries: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.command.is_none() && command.key(&e.key).is_some())
            .filter(|shared| !self.entries.iter().filter(own).any(|e| e.key == shared.key))
            .collect();
        entries.extend(self.entries.iter().filter(own));
        entries
    }
}

impl Entry {
    /// The value for a flag of `shape`, reading `KEY-env` variables through `env`. `shown`
    /// names the file in errors.
    pub fn resolve(
        &self,
        shown: &str,
        shape: Shape,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, ProfileError> {
        let err = |message: String| ProfileError::Type {
            shown: shown.to_owned(),
            line: self.line,
            key: if self.from_env {
                format!("{}-env", self.key)
            } else {
                self.key.clone()
            },
            message,
        };
        if self.from_env {
            return self.read_variables(shape, env).map_err(err);
        }
        let value = match (shape, &self.value) {
            (Shape::Switch, Raw::Bool(b)) => Value::Switch(*b),
            (Shape::Switch, other) => {
                return Err(err(format!(
                    "is a switch: write {} = true or false, not {}",
                    self.key,
                    describe(other)
                )))
            }
            (Shape::Count, Raw::Int(n)) if (0..=255).contains(n) => Value::Count(*n as u8),
            (Shape::Count, Raw::Bool(b)) => Value::Count(u8::from(*b)),
            (Shape::Count, _) => {
                return Err(err("takes a count from 0 to 255, e.g. 2".to_owned()));
            }
            (Shape::One, raw) => Value::Occurrences(vec![vec![scalar(raw)
                .ok_or_else(|| err(format!("takes one value, not {}", describe(raw))))?]]),
            (Shape::Many { per_occurrence }, Raw::Array(items)) => Value::Occurrences(
                items
                    .iter()
                    .map(|item| occurrence(item, per_occurrence))
                    .collect::<Option<_>>()
                    .ok_or_else(|| err(many_hint(per_occurrence)))?,
            ),
            (Shape::Many { per_occurrence }, raw) => {
                Value::Occurrences(vec![occurrence(raw, per_occurrence)
                    .ok_or_else(|| err(many_hint(per_occurrence)))?])
            }
        };
        Ok(Resolved {
            value: Some(value),
            env: Vec::new(),
            unset: Vec::new(),
        })
    }

    /// `KEY-env = "VAR"` (or an array of them for a repeatable flag): one value per variable.
    fn read_variables(
        &self,
        shape: Shape,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Resolved, String> {
        let names: Vec<String> = match (&self.value, shape) {
            (_, Shape::Switch | Shape::Count) => {
                return Err(format!(
                    "cannot come from a variable: --{} takes no value; write {} = true",
                    self.key, self.key
                ))
            }
            (Raw::Str(name), _) => vec![name.clone()],
            (Raw::Array(items), Shape::Many { .. }) => items
                .iter()
                .map(|item| match item {
                    Raw::Str(name) => Some(name.clone()),
                    _ => None,
                })
                .collect::<Option<_>>()
                .ok_or("takes names of environment variables, as strings")?,
            _ => return Err("takes the name of an environment variable".to_owned()),
        };
        if let Some(bad) = names.iter().find(|n| !valid_variable_name(n)) {
            return Err(format!("{bad:?} is not an environment variable name"));
        }
        let mut values = Vec::new();
        let mut unset = Vec::new();
        for name in &names {
            match env(name).filter(|v| !v.is_empty()) {
                Some(v) => values.push(vec![v]),
                None => unset.push(name.clone()),
            }
        }
        Ok(Resolved {
            value: (!values.is_empty()).then_some(Value::Occurrences(values)),
            env: names,
            unset,
        })
    }
}

fn many_hint(per_occurrence: usize) -> String {
    if per_occurrence > 1 {
        format!(
            "takes an array with one entry per use of the flag, each an array of its {per_occurrence} values"
        )
    } else {
        "takes a value or an array of values".to_owned()
    }
}

/// One occurrence of a repeatable flag: a scalar, or (for a flag taking several values each
/// time) an array of scalars.
fn occurrence(raw: &Raw, per_occurrence: usize) -> Option<Vec<String>> {
    match raw {
        Raw::Array(values) if per_occurrence > 1 => values.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

/// A scalar as the command line would spell it.
fn scalar(raw: &Raw) -> Option<String> {
    match raw {
        Raw::Str(s) => Some(s.clone()),
        Raw::Int(n) => Some(n.to_string()),
        Raw::Float(f) => Some(f.clone()),
        Raw::Bool(b) => Some(b.to_string()),
        Raw::Array(_) | Raw::Other(_) => None,
    }
}

fn describe(raw: &Raw) -> String {
    match raw {
        Raw::Bool(b) => b.to_string(),
        Raw::Int(n) => n.to_string(),
        Raw::Float(f) => f.clone(),
        Raw::Str(s) => format!("{s:?}"),
        Raw::Array(_) => "an array".to_owned(),
        Raw::Other(kind) => format!("a {kind}"),
    }
}

/// Letters, digits and underscores, not starting with a digit.
fn valid_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
