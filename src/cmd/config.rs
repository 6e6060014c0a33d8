//! `hookctl config show`: every setting of a command, its value and where it came from, worked
//! out by the same code that applies a profile to a real run.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{json, Map, Value as Json};

use crate::cli::{ConfigAction, ConfigArgs, ConfigShowArgs};
use crate::cmd::profile::{self, Failure, Plan};
use crate::config::{self, Chosen};
use crate::exit::{CodedError, Exit};
use crate::output::diag::Diag;

/// The commands shown when none is named.
const SHOWN_BY_DEFAULT: &[&str] = &["listen", "send", "replay"];

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag,
    /// A positional argument on the command line (replay's FILE).
    Argument,
    Env(String),
    File {
        path: PathBuf,
        shown: String,
        line: usize,
        table: String,
        env: Vec<String>,
    },
    Default,
}

/// One setting in effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: String,
    pub value: Json,
    pub source: Source,
}

pub fn run(args: ConfigArgs) -> anyhow::Result<Exit> {
    match args.action {
        ConfigAction::Show(show) => show_settings(show),
    }
}

/// `hookctl config show`.
fn show_settings(args: ConfigShowArgs) -> anyhow::Result<Exit> {
    let cwd = std::env::current_dir()?;
    let env = |name: &str| std::env::var(name).ok();
    let mut request = args.request.clone().unwrap_or_default();
    let top = profile::built();
    let (names, flags): (Vec<String>, Vec<OsString>) = match args.command.split_first() {
        Some((name, flags)) => (vec![name.to_string_lossy().into_owned()], flags.to_vec()),
        None => (
            SHOWN_BY_DEFAULT.iter().map(|s| s.to_string()).collect(),
            Vec::new(),
        ),
    };
    let mut subs = Vec::new();
    for name in &names {
        let Some(sub) = profile::configurable(&top).find(|c| c.get_name() == name) else {
            let known: Vec<&str> = profile::configurable(&top).map(Command::get_name).collect();
            return Err(usage(format!(
                "config show: `{name}` is not a command a profile can set{}; use one of {}",
                config::nearest(name, known.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default(),
                known.join(", ")
            )));
        };
        subs.push(sub);
    }
    if let [sub] = subs.as_slice() {
        // `config show listen --profile dev`: the global flags can come after the command too.
        let argv: Vec<OsString> = std::iter::once(OsString::from(sub.get_name()))
            .chain(flags.iter().cloned())
            .collect();
        let (matches, _) = profile::parse_lenient((*sub).clone(), &argv).map_err(failure)?;
        let given = profile::request(&matches);
        let on_line = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        if on_line("config") {
            request.file = given.file;
        }
        if on_line("profile") {
            request.profile = given.profile;
        }
    }
    let chosen = config::choose(&request, &cwd, &profile::schema(&top)).map_err(usage)?;
    let mut sections = Vec::new();
    for (name, sub) in names.iter().zip(subs) {
        let (settings, warnings) = settings(sub, &flags, chosen.as_ref(), &env)?;
        for warning in warnings {
            Diag::stderr().warn(warning);
        }
        sections.push((name.clone(), settings));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let record = json_record(chosen.as_ref(), &sections);
        writeln!(out, "{record}")?;
    } else {
        write_text(&mut out, &request, &cwd, chosen.as_ref(), &sections)?;
    }
    out.flush()?;
    Ok(Exit::Ok)
}

fn usage(message: impl std::fmt::Display) -> anyhow::Error {
    CodedError::error(Exit::Usage, message.to_string())
}

/// The settings in effect for `sub` given `flags`, and the warnings applying the profile gave.
pub fn settings(
    sub: &Command,
    flags: &[OsString],
    chosen: Option<&Chosen>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<(Vec<Setting>, Vec<String>)> {
    let name = OsString::from(sub.get_name());
    let argv: Vec<OsString> = std::iter::once(name.clone())
        .chain(flags.iter().cloned())
        .collect();
    let (matches, _) = profile::parse_lenient(sub.clone(), &argv).map_err(failure)?;
    let plan = match chosen {
        Some(chosen) => profile::plan(sub, &matches, chosen, env).map_err(usage)?,
        None => Plan::default(),
    };
    let argv: Vec<OsString> = std::iter::once(name)
        .chain(plan.tokens())
        .chain(flags.iter().cloned())
        .collect();
    let (matches, _) = profile::parse_lenient(sub.clone(), &argv).map_err(failure)?;
    let file = chosen.map(|c| &c.file);
    let settings = sub
        .get_arguments()
        .filter(|a| profile::settable(a) || a.is_positional())
        .filter_map(|arg| {
            let id = arg.get_id().as_str();
            let source = match plan.get(id) {
                Some(applied) => Source::File {
                    path: file.map(|f| f.path.clone()).unwrap_or_default(),
                    shown: file.map(|f| f.shown.clone()).unwrap_or_default(),
                    line: applied.line,
                    table: applied.table.clone(),
                    env: applied.env.clone(),
                },
                None => match matches.value_source(id)? {
                    ValueSource::CommandLine if arg.is_positional() => Source::Argument,
                    ValueSource::CommandLine => Source::Flag,
                    ValueSource::EnvVariable => Source::Env(
                        arg.get_env()
                            .map(|e| e.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                    ),
                    _ => Source::Default,
                },
            };
            Some(Setting {
                key: arg.get_long().map_or_else(|| id.to_owned(), str::to_owned),
                value: value_of(arg, &matches)?,
                source,
            })
        })
        .collect();
    Ok((settings, plan.warnings))
}

fn failure(f: Failure) -> anyhow::Error {
    match f {
        Failure::Clap(e) => usage(format!("config show: {}", profile::clap_message(&e))),
        Failure::Profile(e) => usage(e),
    }
}

/// A setting's value as the command line spelled it: true/false for a switch, a count, a
/// string, or an array for a repeatable flag. Secrets are `***`.
fn value_of(arg: &Arg, matches: &ArgMatches) -> Option<Json> {
    let id = arg.get_id().as_str();
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => return Some(Json::Bool(matches.get_flag(id))),
        ArgAction::Count => return Some(Json::from(matches.get_count(id))),
        _ => {}
    }
    let occurrences: Vec<Vec<String>> = matches
        .get_raw_occurrences(id)?
        .map(|values| {
            values
                .map(|v| {
                    if arg.is_hide_env_values_set() {
                        "***".to_owned()
                    } else {
                        v.to_string_lossy().into_owned()
                    }
                })
                .collect()
        })
        .collect();
    let repeatable = matches!(arg.get_action(), ArgAction::Append);
    let per_occurrence = arg.get_num_args().map_or(1, |n| n.max_values());
    let one = |values: Vec<String>| match values.as_slice() {
        [single] if per_occurrence <= 1 => Json::from(single.clone()),
        _ => Json::from(values),
    };
    Some(match (repeatable, occurrences.len()) {
        (false, 1) => one(occurrences.into_iter().next().unwrap_or_default()),
        (_, _) => Json::Array(occurrences.into_iter().map(one).collect()),
    })
}

fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

fn json_record(chosen: Option<&Chosen>, sections: &[(String, Vec<Setting>)]) -> Json {
    let file =
        chosen.map(|c| json!({"path": absolute(&c.file.path), "origin": c.file_origin.key()}));
    let profile = chosen
        .and_then(|c| c.profile.as_ref())
        .map(|(p, origin)| json!({"name": p.name, "origin": origin.key()}));
    let mut commands = Map::new();
    for (name, settings) in sections {
        let rows = settings
            .iter()
            .map(|s| json!({"key": s.key, "value": s.value, "source": source_json(&s.source)}))
            .collect();
        commands.insert(name.clone(), Json::Array(rows));
    }
    json!({
        "kind": "config",
        "file": file,
        "profile": profile,
        "profiles": chosen.map(|c| c.file.profile_names()).unwrap_or_default(),
        "commands": commands,
    })
}

fn source_json(source: &Source) -> Json {
    match source {
        Source::Flag => json!({"kind": "flag"}),
        Source::Argument => json!({"kind": "argument"}),
        Source::Env(var) => json!({"kind": "env", "var": var}),
        Source::File {
            path,
            line,
            table,
            env,
            ..
        } => {
            let mut record =
                json!({"kind": "file", "path": absolute(path), "line": line, "table": table});
            if !env.is_empty() {
                record["env"] = Json::from(env.clone());
            }
            record
        }
        Source::Default => json!({"kind": "default"}),
    }
}

fn write_text(
    out: &mut impl Write,
    request: &config::Request,
    cwd: &Path,
    chosen: Option<&Chosen>,
    sections: &[(String, Vec<Setting>)],
) -> std::io::Result<()> {
    match chosen {
        Some(c) => {
            let how = match c.file_origin {
                config::FileOrigin::WorkingDir => c.file_origin.to_string(),
                origin => format!("from {origin}"),
            };
            writeln!(out, "file:    {} ({how})", absolute(&c.file.path))?;
            match &c.profile {
                Some((p, config::ProfileOrigin::Default)) => {
                    writeln!(out, "profile: {} (none was named)", p.name)?
                }
                Some((p, origin)) => writeln!(out, "profile: {} (from {origin})", p.name)?,
                None => writeln!(out, "profile: none")?,
            }
            let names = c.file.profile_names();
            writeln!(
                out,
                "profiles in the file: {}",
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            )?;
        }
        None if request.file.is_none() => {
            writeln!(
                out,
                "file:    none ({} not found in {})",
                config::FILE_NAME,
                cwd.display()
            )?;
            writeln!(out, "profile: none")?;
        }
        None => writeln!(out, "file:    none")?,
    }
    for (name, settings) in sections {
        writeln!(out, "\n{name}:")?;
        let rendered: Vec<(String, String, String)> = settings
            .iter()
            .map(|s| (s.key.clone(), text_value(&s.value), text_source(&s.source)))
            .collect();
        let key_width = rendered.iter().map(|r| r.0.len()).max().unwrap_or(0);
        let value_width = rendered
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(0)
            .min(40);
        for (key, value, source) in rendered {
            writeln!(out, "  {key:<key_width$}  {value:<value_width$}  {source}")?;
        }
    }
    Ok(())
}

/// A string as it is; a repeatable flag's values as a JSON array, which stays unambiguous
/// when a value holds spaces or commas.
fn text_value(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn text_source(source: &Source) -> String {
    match source {
        Source::Flag => "flag".to_owned(),
        Source::Argument => "argument".to_owned(),
        Source::Env(var) => format!("env {var}"),
        Source::File {
            shown,
            line,
            table,
            env,
            ..
        } => {
            let place = format!("{shown}:{line} {table}");
            if env.is_empty() {
                place
            } else {
                format!("env {} named at {place}", env.join(", "))
            }
        }
        Source::Default => "default".to_owned(),
    }
}
