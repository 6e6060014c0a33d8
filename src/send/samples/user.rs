//! The user's own samples and flows: JSON or YAML files in a folder (`./hookctl/samples`,
//! `--samples DIR` or `HOOKCTL_SAMPLES`), in the same template language as the built-in ones.
//!
//! A sample file:
//!
//! ```yaml
//! name: acme:order.created        # optional; the file name without its extension otherwise
//! description: An order was placed
//! provider: stripe                # optional: the provider's headers, id shape and signature
//! headers: { X-Acme-Topic: "{{topic}}" }
//! body:
//!   id: "{{event_id}}"
//!   order: "{{id \"ord\"}}"
//! ```
//!
//! A flow file has `flow:` instead of `body:`, a list of steps, each either
//! `{sample: NAME, name: ..., gap: 1s}` or an inline sample (`name`, `provider`, `headers`,
//! `body`, `gap`); a later step reads an earlier one with `{{ref "STEP" "PATH"}}`.
//!
//! Every error names the file and line: `hookctl/samples/order.yaml:7: ...`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::document::{DocError, Document};
use super::flows::{Flow, Step};
use super::{providers, Catalogue, Sample};

/// The folder read when none is named.
pub const DEFAULT_DIR: &str = "hookctl/samples";

/// A user file larger than this is refused.
const MAX_FILE_BYTES: u64 = 1 << 20;

/// An error in the user's samples, pointing at the file and line.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("cannot read the samples folder {}: {cause}", dir.display())]
    Folder { dir: PathBuf, cause: std::io::Error },
    #[error("{}:{line}: {what}", file.display())]
    File {
        file: PathBuf,
        line: usize,
        what: String,
    },
}

/// Where the user's samples are read from, and whether the folder must exist.
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    /// Named by the user (`--samples`, `HOOKCTL_SAMPLES`): a missing folder is an error.
    pub explicit: bool,
}

/// Reads every `*.json`, `*.yaml` and `*.yml` file in `source.dir` (in name order) into
/// `catalogue`. A missing default folder adds nothing.
pub fn load(catalogue: &mut Catalogue, source: &Source) -> Result<(), UserError> {
    let entries = match std::fs::read_dir(&source.dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !source.explicit => return Ok(()),
        Err(cause) => {
            return Err(UserError::Folder {
                dir: source.dir.clone(),
                cause,
            })
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("json" | "yaml" | "yml")
                )
        })
        .collect();
    files.sort();
    let mut samples = Vec::new();
    let mut flows = Vec::new();
    for file in files {
        let text = read(&file)?;
        let at = |line: usize, what: String| UserError::File {
            file: file.clone(),
            line,
            what,
        };
        let doc = parse(&file, &text).map_err(|(line, what)| at(line, what))?;
        let near = |needle: Option<&str>| needle.map_or(1, |n| line_of(&text, n));
        let name = match doc.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(_) => return Err(at(near(Some("name")), "`name` is not a string".into())),
            None => file
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned(),
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(at(
                near(Some("name")),
                format!("the name {name:?} is empty or holds spaces"),
            ));
        }
        let taken = catalogue.contains(&name)
            || samples.iter().any(|s: &&Sample| s.name == name)
            || flows.iter().any(|f: &&Flow| f.name == name);
        if taken {
            return Err(at(
                near(Some(&name)),
                format!("`{name}` is already a sample or flow; give this one another name"),
            ));
        }
        let description = doc
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("(your sample)")
            .to_owned();
        if let Some(steps) = doc.get("flow") {
            let flow = flow(&name, description, steps, catalogue, &samples)
                .map_err(|e| at(near(e.near.as_deref()), e.what))?;
            check_flow(&flow).map_err(|e| at(near(e.near.as_deref()), e.what))?;
            flows.push(&*Box::leak(Box::new(flow)));
        } else {
            let sample =
                sample(name, description, &doc).map_err(|e| at(near(e.near.as_deref()), e.what))?;
            check_sample(&sample).map_err(|e| at(near(e.near.as_deref()), e.what))?;
            // Samples live for the whole run, like the built-in ones.
            samples.push(&*Box::leak(Box::new(sample)));
        }
    }
    catalogue.add_user(source.dir.clone(), samples, flows);
    Ok(())
}

fn read(file: &Path) -> Result<String, UserError> {
    let error = |what: String| UserError::File {
        file: file.to_owned(),
        line: 1,
        what,
    };
    let size = std::fs::metadata(file)
        .map_err(|e| error(format!("cannot read it: {e}")))?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(error(format!(
            "it is {size} bytes; a sample file may have 1 MiB at most"
        )));
    }
    std::fs::read_to_string(file).map_err(|e| error(format!("cannot read it: {e}")))
}

/// The file's top-level object, or `(line, what is wrong)`.
fn parse(file: &Path, text: &str) -> Result<Map<String, Value>, (usize, String)> {
    let value: Value = if file.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| (e.line().max(1), format!("not valid JSON: {e}")))?
    } else {
        serde_yaml_ng::from_str(text).map_err(|e| {
            let line = e.location().map_or(1, |l| l.line());
            (line, format!("not valid YAML: {e}"))
        })?
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err((
            1,
            "a sample file holds an object with `body` (or `flow`)".to_owned(),
        )),
    }
}

/// A sample from its document.
fn sample(name: String, description: String, doc: &Map<String, Value>) -> Result<Sample, DocError> {
    for key in doc.keys() {
        if ![
            "name",
            "description",
            "provider",
            "headers",
            "encoding",
            "body",
            "gap",
            "sample",
        ]
        .contains(&key.as_str())
        {
            return Err(DocError {
                what: format!(
                    "unknown key `{key}`; a sample has name, description, provider, headers, encoding and body"
                ),
                near: Some(key.clone()),
            });
        }
    }
    let provider = match doc.get("provider") {
        None => None,
        Some(Value::String(p)) => Some(providers::find(p).ok_or_else(|| DocError {
            what: format!(
                "unknown provider `{p}`; known: {}",
                providers::ALL.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
            ),
            near: Some(p.clone()),
        })?),
        Some(_) => {
            return Err(DocError {
                what: "`provider` is a string".into(),
                near: Some("provider".into()),
            })
        }
    };
    let document = Document::from_value(doc, &providers::fragment)?;
    Ok(Sample::document(name, description, provider, document))
}

/// A standalone sample must build on its own (no `{{ref}}`).
fn check_sample(sample: &Sample) -> Result<(), DocError> {
    sample
        .build_step("evt_check", "evt_check", 0, &[])
        .map(|_| ())
        .map_err(|e| DocError {
            what: e.to_string(),
            near: Some("{{ref".into()),
        })
}

fn flow(
    name: &str,
    description: String,
    steps: &Value,
    catalogue: &Catalogue,
    user: &[&'static Sample],
) -> Result<Flow, DocError> {
    let err = |what: String, near: Option<&str>| DocError {
        what,
        near: near.map(str::to_owned),
    };
    let Value::Array(items) = steps else {
        return Err(err("`flow` is a list of steps".into(), Some("flow")));
    };
    if items.is_empty() {
        return Err(err("the flow has no steps".into(), Some("flow")));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(step) = item else {
            return Err(err(
                format!("step {} is not an object", i + 1),
                Some("flow"),
            ));
        };
        let gap = match step.get("gap") {
            None => Duration::from_millis(if i == 0 { 0 } else { 500 }),
            Some(Value::String(text)) => humantime::parse_duration(text)
                .ok()
                .filter(|d| *d <= Duration::from_secs(3600))
                .ok_or_else(|| {
                    err(
                        format!("gap `{text}` is not a duration up to 1h, e.g. 500ms or 2s"),
                        Some(text),
                    )
                })?,
            Some(_) => {
                return Err(err(
                    "`gap` is a duration such as \"2s\"".into(),
                    Some("gap"),
                ))
            }
        };
        let sample: &'static Sample = match step.get("sample") {
            Some(Value::String(wanted)) => catalogue
                .sample(wanted)
                .or_else(|| user.iter().copied().find(|s| s.name == *wanted))
                .ok_or_else(|| {
                    err(
                        format!("step {}: no sample is called `{wanted}` (flows can use built-in samples and the ones in earlier files)", i + 1),
                        Some(wanted),
                    )
                })?,
            Some(_) => return Err(err("`sample` is a sample's name".into(), Some("sample"))),
            None => {
                let step_name = step
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{name}#{}", i + 1), str::to_owned);
                &*Box::leak(Box::new(sample(step_name, String::new(), step)?))
            }
        };
        let step_name = step
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| sample.name.clone(), str::to_owned);
        out.push(Step {
            name: step_name,
            sample,
            gap,
        });
    }
    Ok(Flow {
        name: name.to_owned(),
        description,
        steps: out,
    })
}

/// Every `{{ref}}` of a flow must point at an earlier step's field.
fn check_flow(flow: &Flow) -> Result<(), DocError> {
    let mut n = 0_u64;
    flow.build("evt_check", 0, None, |_| {
        n += 1;
        format!("evt_check{n}")
    })
    .map(|_| ())
    .map_err(|e| DocError {
        what: e.to_string(),
        near: Some("{{ref".into()),
    })
}

/// The 1-based line where `needle` first appears (as written, or JSON-escaped), else 1.
fn line_of(text: &str, needle: &str) -> usize {
    let escaped = serde_json::to_string(needle).unwrap_or_default();
    let escaped = escaped.trim_matches('"');
    [needle, escaped]
        .iter()
        .filter(|n| !n.is_empty())
        .find_map(|n| text.find(n))
        .map_or(1, |at| text[..at].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_as_written_or_escaped() {
        let text = "{\n  \"body\": {\n    \"a\": \"{{nope \\\"x\\\"}}\"\n  }\n}\n";
        assert_eq!(line_of(text, "{{nope \"x\"}}"), 3);
        assert_eq!(line_of(text, "missing"), 1);
    }
}
