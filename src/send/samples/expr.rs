//! The template language of document samples (built-in provider samples and the user's own):
//! `{{...}}` expressions inside JSON strings and header values.
//!
//! | expression | gives |
//! |---|---|
//! | `{{event_id}}` | the event's id |
//! | `{{now}}`, `{{now -30}}` | unix seconds (a JSON number when it is the whole string) |
//! | `{{time}}`, `{{time 60}}` | RFC 3339 UTC time, offset in seconds |
//! | `{{date}}`, `{{date 86400}}` | `YYYY-MM-DD` |
//! | `{{id "ch"}}`, `{{id "ch" "2"}}` | `ch_` and 24 letters and digits; the same prefix (and salt) gives the same id everywhere in one event, and in every step of one flow |
//! | `{{uuid}}`, `{{uuid "name"}}` | a UUID, the same for the same name |
//! | `{{hex 40 "sha"}}` | hex digits |
//! | `{{number 9 "repo"}}` | a number with that many digits (a JSON number when it is the whole string) |
//! | `{{topic}}`, `{{topic_base}}` | the event part of the sample's name (`pull_request.opened`), and its part before the first dot (`pull_request`) |
//! | `{{"{{"}}` | literal text, for braces that are not an expression |
//! | `{{ref "STEP" "PATH"}}` | in a flow: a field of an earlier step's body (STEP is its name or 1-based number, PATH a dot path) |
//!
//! Every derived value is a pure function of a key and the creation time, so a fresh key gives
//! fresh values and `--seed` makes them repeatable.

use serde_json::Value;

use super::template;

/// One parsed `{{...}}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    EventId,
    Now(i64),
    Time(i64),
    Date(i64),
    Id {
        prefix: String,
        salt: String,
    },
    Uuid(String),
    Hex {
        len: usize,
        salt: String,
    },
    Number {
        digits: usize,
        salt: String,
    },
    Topic,
    TopicBase,
    Ref {
        step: String,
        path: String,
    },
    /// `{{"text"}}`: the text itself, e.g. `{{"{{"}}` for literal braces.
    Literal(String),
}

/// A piece of a templated string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Expr(Expr),
}

/// Why a templated string does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("`{{{{` is not closed by `}}}}`")]
    Unclosed,
    #[error("unknown template expression `{{{{{0}}}}}`; known: event_id, now, time, date, id, uuid, hex, number, topic, topic_base, ref")]
    Unknown(String),
    #[error("bad template expression `{{{{{text}}}}}`: {why}")]
    Bad { text: String, why: &'static str },
}

/// Splits `text` into literal text and expressions.
pub fn parse(text: &str) -> Result<Vec<Piece>, ExprError> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            pieces.push(Piece::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(ExprError::Unclosed)?;
        pieces.push(Piece::Expr(parse_expr(after[..end].trim())?));
        rest = &after[end + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_owned()));
    }
    Ok(pieces)
}

/// Whether `text` holds any `{{`.
pub fn is_templated(text: &str) -> bool {
    text.contains("{{")
}

fn parse_expr(text: &str) -> Result<Expr, ExprError> {
    let words = words(text).ok_or(ExprError::Bad {
        text: text.to_owned(),
        why: "a quoted argument is not closed",
    })?;
    let bad = |why| ExprError::Bad {
        text: text.to_owned(),
        why,
    };
    let offset = |i: usize| -> Result<i64, ExprError> {
        match words.get(i) {
            None => Ok(0),
            Some(w) => w
                .parse()
                .map_err(|_| bad("the offset is a whole number of seconds, e.g. -30")),
        }
    };
    let salt = |i: usize, default: &str| words.get(i).cloned().unwrap_or_else(|| default.into());
    let size = |max: usize| -> Result<usize, ExprError> {
        words
            .get(1)
            .and_then(|w| w.parse().ok())
            .filter(|n| (1..=max).contains(n))
            .ok_or(bad(
                "give a length first, e.g. {{hex 40 \"sha\"}} (1-64; number: 1-18)",
            ))
    };
    let Some(name) = words.first() else {
        return Err(bad("it is empty"));
    };
    if text.starts_with('"') {
        return match words.as_slice() {
            [literal] => Ok(Expr::Literal(literal.clone())),
            _ => Err(bad("a quoted literal stands alone, e.g. {{\"{{\"}}")),
        };
    }
    let expr = match name.as_str() {
        "event_id" => Expr::EventId,
        "now" => Expr::Now(offset(1)?),
        "time" => Expr::Time(offset(1)?),
        "date" => Expr::Date(offset(1)?),
        "id" => {
            let prefix = words
                .get(1)
                .filter(|p| {
                    !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                })
                .ok_or(bad("give the id's prefix, e.g. {{id \"ch\"}}"))?;
            let salt = match words.get(2) {
                Some(extra) => format!("{prefix}/{extra}"),
                None => prefix.clone(),
            };
            Expr::Id {
                prefix: prefix.clone(),
                salt,
            }
        }
        "uuid" => Expr::Uuid(salt(1, "uuid")),
        "hex" => Expr::Hex {
            len: size(64)?,
            salt: salt(2, "hex"),
        },
        "number" => Expr::Number {
            digits: size(18)?,
            salt: salt(2, "number"),
        },
        "topic" => Expr::Topic,
        "topic_base" => Expr::TopicBase,
        "ref" => match (words.get(1), words.get(2)) {
            (Some(step), Some(path)) if !step.is_empty() && !path.is_empty() => Expr::Ref {
                step: step.clone(),
                path: path.clone(),
            },
            _ => {
                return Err(bad(
                    "write {{ref \"STEP\" \"PATH\"}}, e.g. {{ref \"1\" \"data.object.id\"}}",
                ))
            }
        },
        _ => return Err(ExprError::Unknown(text.to_owned())),
    };
    let most = match expr {
        Expr::EventId | Expr::Topic | Expr::TopicBase | Expr::Literal(_) => 1,
        Expr::Now(_) | Expr::Time(_) | Expr::Date(_) | Expr::Uuid(_) => 2,
        _ => 3,
    };
    if words.len() > most {
        return Err(bad("it has too many arguments"));
    }
    Ok(expr)
}

/// Space-separated words; `"..."` quotes one (with `\"` and `\\` escapes).
fn words(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut word = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => word.push(chars.next()?),
                    other => word.push(other),
                }
            }
            out.push(word);
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    Some(out)
}

/// What expressions are evaluated against.
pub enum Scope<'a> {
    /// Real values: the event id, the key every derived value comes from (the event id, or a
    /// flow's shared key), the creation time, and the bodies of a flow's earlier steps.
    Real {
        id: &'a str,
        key: &'a str,
        created: i64,
        topic: &'a str,
        steps: &'a [(String, Value)],
    },
    /// Placeholders for a [`template::Template`].
    Placeholders { topic: &'a str },
}

/// Why an expression cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("{{{{ref}}}} refers to an earlier step of a flow, and this is not a flow step")]
    RefOutsideFlow,
    #[error("{{{{ref \"{step}\" ...}}}}: no earlier step is called `{step}`")]
    NoSuchStep { step: String },
    #[error("{{{{ref \"{step}\" \"{path}\"}}}}: that step's body has no field at `{path}`")]
    NoSuchField { step: String, path: String },
}

/// A value in the making: text, or a JSON number when an expression stands alone.
enum Out {
    Text(String),
    Number(serde_json::Number),
    Json(Value),
}

impl Scope<'_> {
    fn topic(&self) -> &str {
        match self {
            Scope::Real { topic, .. } | Scope::Placeholders { topic } => topic,
        }
    }

    fn eval(&self, expr: &Expr, alone: bool) -> Result<Out, EvalError> {
        use template::placeholder as ph;
        let real = match self {
            Scope::Real {
                id,
                key,
                created,
                steps,
                ..
            } => Some((*id, *key, *created, *steps)),
            Scope::Placeholders { .. } => None,
        };
        let text = |s: String| Ok(Out::Text(s));
        match (expr, real) {
            (Expr::EventId, Some((id, ..))) => text(id.to_owned()),
            (Expr::EventId, None) => text(ph("I")),
            (Expr::Now(offset), Some((_, _, created, _))) => {
                let at = created.saturating_add(*offset);
                if alone {
                    Ok(Out::Number(at.into()))
                } else {
                    text(at.to_string())
                }
            }
            (Expr::Now(offset), None) => {
                text(ph(&format!("{}{offset}", if alone { "N" } else { "u" })))
            }
            (Expr::Time(offset), Some((_, _, created, _))) => {
                text(template::time(created, *offset))
            }
            (Expr::Time(offset), None) => text(ph(&format!("T{offset}"))),
            (Expr::Date(offset), Some((_, _, created, _))) => {
                text(template::date(created, *offset))
            }
            (Expr::Date(offset), None) => text(ph(&format!("D{offset}"))),
            (Expr::Id { prefix, salt }, Some((_, key, ..))) => {
                text(format!("{prefix}_{}", template::alnum(key, salt, 24)))
            }
            (Expr::Id { prefix, salt }, None) => {
                text(format!("{prefix}_{}", ph(&format!("a24:{salt}"))))
            }
            (Expr::Uuid(salt), Some((_, key, ..))) => text(template::uuid(key, salt)),
            (Expr::Uuid(salt), None) => text(ph(&format!("U:{salt}"))),
            (Expr::Hex { len, salt }, Some((_, key, ..))) => text(template::hex(key, salt, *len)),
            (Expr::Hex { len, salt }, None) => text(ph(&format!("h{len}:{salt}"))),
            (Expr::Number { digits, salt }, Some((_, key, ..))) => {
                let n = template::number(key, salt, *digits);
                if alone {
                    Ok(Out::Number(n.into()))
                } else {
                    text(n.to_string())
                }
            }
            (Expr::Number { digits, salt }, None) => {
                let kind = if alone { "n" } else { "m" };
                text(ph(&format!("{kind}{digits}:{salt}")))
            }
            (Expr::Literal(literal), _) => text(literal.clone()),
            (Expr::Topic, _) => text(self.topic().to_owned()),
            (Expr::TopicBase, _) => text(self.topic().split('.').next().unwrap_or("").to_owned()),
            (Expr::Ref { step, path }, Some((.., steps))) => {
                let found = steps
                    .iter()
                    .enumerate()
                    .find(|(i, (name, _))| name == step || (i + 1).to_string() == *step)
                    .ok_or_else(|| EvalError::NoSuchStep { step: step.clone() })?;
                let value = path
                    .split('.')
                    .try_fold(&found.1 .1, |v, segment| match v {
                        Value::Object(map) => map.get(segment),
                        Value::Array(items) => {
                            segment.parse::<usize>().ok().and_then(|i| items.get(i))
                        }
                        _ => None,
                    })
                    .ok_or_else(|| EvalError::NoSuchField {
                        step: step.clone(),
                        path: path.clone(),
                    })?;
                Ok(match value {
                    Value::String(s) if !alone => Out::Text(s.clone()),
                    other if alone => Out::Json(other.clone()),
                    other => Out::Text(other.to_string()),
                })
            }
            (Expr::Ref { .. }, None) => Err(EvalError::RefOutsideFlow),
        }
    }

    /// The value of parsed `pieces`: a string, or the expression's own JSON value when one
    /// expression stands alone (numbers for `now` and `number`, any value for `ref`).
    pub fn render(&self, pieces: &[Piece]) -> Result<Value, EvalError> {
        if let [Piece::Expr(expr)] = pieces {
            return Ok(match self.eval(expr, true)? {
                Out::Text(s) => Value::String(s),
                Out::Number(n) => Value::Number(n),
                Out::Json(v) => v,
            });
        }
        Ok(Value::String(self.render_text(pieces)?))
    }

    /// The text of parsed `pieces` (for header values).
    pub fn render_text(&self, pieces: &[Piece]) -> Result<String, EvalError> {
        let mut out = String::new();
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Expr(expr) => match self.eval(expr, false)? {
                    Out::Text(s) => out.push_str(&s),
                    Out::Number(n) => out.push_str(&n.to_string()),
                    Out::Json(v) => out.push_str(&v.to_string()),
                },
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expressions_between_text() {
        let pieces = parse("ch_{{ id \"ch\" }} at {{now -5}}").unwrap();
        assert_eq!(
            pieces,
            [
                Piece::Text("ch_".into()),
                Piece::Expr(Expr::Id {
                    prefix: "ch".into(),
                    salt: "ch".into()
                }),
                Piece::Text(" at ".into()),
                Piece::Expr(Expr::Now(-5)),
            ]
        );
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let cases = [
            ("{{now", "`{{` is not closed by `}}`"),
            ("{{nope}}", "unknown template expression `{{nope}}`"),
            ("{{now soon}}", "the offset is a whole number of seconds"),
            ("{{id}}", "give the id's prefix"),
            ("{{hex 99}}", "give a length first"),
            ("{{uuid \"a}}", "a quoted argument is not closed"),
            ("{{event_id 3}}", "it has too many arguments"),
            ("{{ref \"1\"}}", "write {{ref \"STEP\" \"PATH\"}}"),
        ];
        for (text, want) in cases {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(want), "{text}: {error}");
        }
    }

    #[test]
    fn a_lone_expression_keeps_its_json_type() {
        let steps = [(
            "first".to_owned(),
            serde_json::json!({"data": {"n": 5, "s": "x"}}),
        )];
        let scope = Scope::Real {
            id: "evt_1",
            key: "k",
            created: 100,
            topic: "pull_request.opened",
            steps: &steps,
        };
        let render = |t: &str| scope.render(&parse(t).unwrap()).unwrap();
        assert_eq!(render("{{now 5}}"), 105);
        assert_eq!(render("t={{now}}"), "t=100");
        assert_eq!(render("{{ref \"first\" \"data.n\"}}"), 5);
        assert_eq!(render("{{ref \"1\" \"data.s\"}}!"), "x!");
        assert_eq!(render("{{topic_base}}"), "pull_request");
        assert_eq!(render("{{id \"ch\"}}"), render("{{id \"ch\"}}"));
        assert_ne!(render("{{id \"ch\"}}"), render("{{id \"ch\" \"2\"}}"));
        let n = render("{{number 9 \"repo\"}}").as_u64().unwrap();
        assert!((100_000_000..1_000_000_000).contains(&n));
        let missing = scope.render(&parse("{{ref \"first\" \"data.zz\"}}").unwrap());
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("no field at `data.zz`"));
        let outside = Scope::Real {
            id: "evt_1",
            key: "k",
            created: 0,
            topic: "",
            steps: &[],
        };
        assert!(outside
            .render(&parse("{{ref \"x\" \"y\"}}").unwrap())
            .is_err());
    }
}
