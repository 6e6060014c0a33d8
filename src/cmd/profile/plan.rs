//! What a profile sets for one command: its values as command-line words, each checked by
//! the flag's own parser, for the flags the user left to it.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, ValueHint};

use crate::config::{Chosen, FileOrigin, ProfileError, Value};

use super::clap_message;
use super::keys::{keys_of, settable};

/// One flag set from the file.
#[derive(Debug, Clone)]
pub struct Applied {
    /// clap's id of the flag.
    pub id: String,
    /// The key as written (the flag's long name).
    pub key: String,
    pub line: usize,
    /// The table it was in, e.g. `[profile.dev.listen]`.
    pub table: String,
    /// The variables it was read from (`KEY-env`), if any.
    pub env: Vec<String>,
    /// What goes on the command line.
    pub tokens: Vec<OsString>,
}

/// What a profile sets for one command, once the user's own flags are taken into account.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub applied: Vec<Applied>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn tokens(&self) -> Vec<OsString> {
        self.applied
            .iter()
            .flat_map(|a| a.tokens.iter().cloned())
            .collect()
    }

    pub fn get(&self, id: &str) -> Option<&Applied> {
        self.applied.iter().find(|a| a.id == id)
    }
}

/// The profile's values for the flags of `sub` that `matches` (the user's command line) left
/// to it: not given, not set by their environment variable, not in conflict with a flag that
/// was. Each value is checked by the flag's own parser, so a bad one is reported at its line.
pub fn plan(
    sub: &Command,
    matches: &ArgMatches,
    chosen: &Chosen,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, ProfileError> {
    let mut plan = Plan::default();
    let Some((profile, _)) = &chosen.profile else {
        return Ok(plan);
    };
    let shown = chosen.file.shown.as_str();
    let keys = keys_of(sub);
    let user_set = |arg: &Arg| {
        matches!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    let given: Vec<&Arg> = sub.get_arguments().filter(|a| user_set(a)).collect();
    if given.iter().any(|a| a.is_exclusive_set()) {
        return Ok(plan);
    }
    for entry in profile.entries_for(&keys) {
        let arg = sub
            .get_arguments()
            .find(|a| settable(a) && a.get_long() == Some(entry.key.as_str()))
            .expect("entries_for keeps the command's keys");
        if user_set(arg) || given.iter().any(|g| in_conflict(sub, arg, g)) {
            continue;
        }
        let key = keys.key(&entry.key).expect("a key of this command");
        let resolved = entry.resolve(shown, key.shape, env)?;
        for var in &resolved.unset {
            plan.warnings.push(format!(
                "{shown}:{}: {}-env names {var}, which is not set; --{} is not taken from the file",
                entry.line, entry.key, entry.key
            ));
        }
        let Some(value) = resolved.value else {
            continue;
        };
        let literal = resolved.env.is_empty();
        let tokens = tokens(arg, key.secret, &value, path_base(arg, chosen, literal)).map_err(
            |message| ProfileError::Value {
                shown: shown.to_owned(),
                line: entry.line,
                message,
            },
        )?;
        plan.applied.push(Applied {
            id: arg.get_id().to_string(),
            key: entry.key.clone(),
            line: entry.line,
            table: match &entry.command {
                Some(command) => format!("[profile.{}.{command}]", profile.name),
                None => format!("[profile.{}]", profile.name),
            },
            env: resolved.env,
            tokens,
        });
    }
    Ok(plan)
}

/// The command-line words for `value`, checked by `arg`'s own parser. `Err` is the flag's
/// message for a bad value (without the value itself, for a secret).
fn tokens(
    arg: &Arg,
    secret: bool,
    value: &Value,
    path_base: Option<&Path>,
) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().expect("settable flags are long");
    let flag = || OsString::from(format!("--{long}"));
    Ok(match value {
        Value::Switch(on) => on.then(flag).into_iter().collect(),
        Value::Count(n) => (0..*n).map(|_| flag()).collect(),
        Value::Occurrences(occurrences) => {
            let tokens = occurrences
                .iter()
                .map(|values| rebase(values, path_base))
                .flat_map(|values| occurrence_tokens(long, &values))
                .collect::<Vec<_>>();
            check_values(arg, &tokens).map_err(|e| {
                if secret {
                    format!("invalid value for --{long}")
                } else {
                    clap_message(&e)
                }
            })?;
            tokens
        }
    })
}

/// The directory that relative paths written in the file are relative to: the file's own,
/// for a literal value of a flag that takes a path, when the file is not in the working
/// directory. `None` when values are taken as they are.
fn path_base<'a>(arg: &Arg, chosen: &'a Chosen, literal: bool) -> Option<&'a Path> {
    let takes_path = matches!(
        arg.get_value_hint(),
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
    );
    if !literal || !takes_path || chosen.file_origin == FileOrigin::WorkingDir {
        return None;
    }
    chosen
        .file
        .path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
}

/// `values` with each relative path (other than `-`, standard input) put under `base`.
fn rebase(values: &[String], base: Option<&Path>) -> Vec<String> {
    values
        .iter()
        .map(|value| match base {
            Some(base) if value != "-" && Path::new(value).is_relative() => {
                base.join(value).display().to_string()
            }
            _ => value.clone(),
        })
        .collect()
}

/// `--long=value` for one value (safe for values that start with `-`, and for empty ones);
/// `--long V1 V2` for an occurrence of several.
fn occurrence_tokens(long: &str, values: &[String]) -> Vec<OsString> {
    match values {
        [one] => vec![OsString::from(format!("--{long}={one}"))],
        many => std::iter::once(OsString::from(format!("--{long}")))
            .chain(many.iter().map(OsString::from))
            .collect(),
    }
}

/// True when `a` and `b` cannot be given together.
fn in_conflict(sub: &Command, a: &Arg, b: &Arg) -> bool {
    sub.get_arg_conflicts_with(a)
        .iter()
        .any(|c| c.get_id() == b.get_id())
        || sub
            .get_arg_conflicts_with(b)
            .iter()
            .any(|c| c.get_id() == a.get_id())
}

/// Parses `tokens` with a command that has only a copy of `arg` (its parser, value names,
/// delimiter and arity), so the file's values meet the flag's own checks and messages without
/// the rest of the command line.
fn check_values(arg: &Arg, tokens: &[OsString]) -> Result<(), clap::Error> {
    let long = arg.get_long().expect("settable flags are long");
    let mut probe = Arg::new(arg.get_id().clone())
        .long(long.to_owned())
        .action(ArgAction::Append)
        .value_parser(arg.get_value_parser().clone())
        .allow_hyphen_values(arg.is_allow_hyphen_values_set());
    if let Some(range) = arg.get_num_args() {
        probe = probe.num_args(range);
    }
    if let Some(delimiter) = arg.get_value_delimiter() {
        probe = probe.value_delimiter(delimiter);
    }
    if let Some(names) = arg.get_value_names() {
        probe = probe.value_names(names.iter().cloned());
    }
    Command::new("hookctl")
        .no_binary_name(true)
        .disable_help_flag(true)
        .color(clap::ColorChoice::Never)
        .arg(probe)
        .try_get_matches_from(tokens)
        .map(|_| ())
}
