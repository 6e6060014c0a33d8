//! The project file on the command line. The command line is parsed once; for every flag of
//! the chosen command that neither the command line nor its environment variable set, the
//! profile's value is put in as `--flag=value` and the command line is parsed again, so a
//! value from the file goes through the flag's own parser and range checks. Precedence:
//! flag > environment variable > hookctl.toml > built-in default.
//!
//! Nothing here lists fields: the keys are the long flags clap knows, so a flag added to any
//! command can be set from the file at once.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command as Sub, ConfigAction};
use crate::config::{
    self, Chosen, CommandKeys, FileOrigin, Key, ProfileError, ProfileOrigin, Request, Schema,
    Shape, Value,
};
use crate::output::diag::Diag;

/// Subcommands whose flags a profile does not set.
const NOT_CONFIGURABLE: &[&str] = &["completions", "config", "help"];

/// Why the command line could not be turned into a [`Cli`].
#[derive(Debug)]
pub enum Failure {
    /// The command line itself (including --help and --version): clap prints it and exits.
    Clap(clap::Error),
    /// The project file or its profile: a usage error (exit 2).
    Profile(ProfileError),
}

/// Parses `argv` (program name first), applying the project file's profile. Warnings (a
/// `KEY-env` variable that is not set) go to stderr.
pub fn parse_args(argv: Vec<OsString>) -> Result<Cli, Failure> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let env = |name: &str| std::env::var(name).ok();
    let parsed = parse_with(argv, &cwd, &env)?;
    for warning in &parsed.warnings {
        Diag::stderr().warn(warning);
    }
    Ok(parsed.cli)
}

/// A parsed command line and what applying the profile had to say.
#[derive(Debug)]
pub struct Parsed {
    pub cli: Cli,
    pub warnings: Vec<String>,
}

/// [`parse_args`] with the working directory and the environment given.
pub fn parse_with(
    argv: Vec<OsString>,
    cwd: &std::path::Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, Failure> {
    let (matches, strict) = parse_lenient(Cli::command(), &argv)?;
    let request = request(&matches);
    let done = |matches: ArgMatches, warnings: Vec<String>| -> Result<Parsed, Failure> {
        let mut cli = Cli::from_arg_matches(&matches).map_err(Failure::Clap)?;
        if let Sub::Config(config) = &mut cli.command {
            let ConfigAction::Show(show) = &mut config.action;
            show.request = Some(request.clone());
        }
        Ok(Parsed { cli, warnings })
    };
    let Some((name, sub_matches)) = matches.subcommand() else {
        return match strict {
            Some(e) => Err(Failure::Clap(e)),
            None => done(matches, Vec::new()),
        };
    };
    if NOT_CONFIGURABLE.contains(&name) {
        return match strict {
            Some(e) => Err(Failure::Clap(e)),
            None => done(matches, Vec::new()),
        };
    }
    let top = built();
    let sub = top
        .find_subcommand(name)
        .expect("the parsed subcommand exists");
    let chosen = config::choose(&request, cwd, &schema(&top)).map_err(Failure::Profile)?;
    let plan = match &chosen {
        Some(chosen) => plan(sub, sub_matches, chosen, env).map_err(Failure::Profile)?,
        None => Plan::default(),
    };
    if plan.applied.is_empty() {
        return match strict {
            Some(e) => Err(Failure::Clap(e)),
            None => done(matches, plan.warnings),
        };
    }
    let argv = inject(&top, &argv, name, plan.tokens());
    match Cli::command().try_get_matches_from(&argv) {
        Ok(matches) => done(matches, plan.warnings),
        // The user's own mistake, which the file did not cause: clap says it as usual.
        Err(e)
            if strict
                .as_ref()
                .is_some_and(|s| s.to_string() == e.to_string()) =>
        {
            Err(Failure::Clap(e))
        }
        Err(e) => {
            let chosen = chosen.expect("a plan comes from a profile");
            Err(Failure::Profile(ProfileError::Apply {
                shown: chosen.file.shown.clone(),
                profile: chosen.profile.map(|(p, _)| p.name).unwrap_or_default(),
                message: clap_message(&e),
            }))
        }
    }
}

/// Parses `argv` with `command`. A missing required argument, which the profile may supply,
/// is kept aside with the matches parsed anyway; any other error is returned.
pub fn parse_lenient(
    command: Command,
    argv: &[OsString],
) -> Result<(ArgMatches, Option<clap::Error>), Failure> {
    match command.clone().try_get_matches_from(argv) {
        Ok(matches) => Ok((matches, None)),
        Err(e) if e.kind() == ErrorKind::MissingRequiredArgument => {
            match command.ignore_errors(true).try_get_matches_from(argv) {
                Ok(matches) => Ok((matches, Some(e))),
                Err(_) => Err(Failure::Clap(e)),
            }
        }
        Err(e) => Err(Failure::Clap(e)),
    }
}

/// The whole command line definition, built (global flags propagated, every setting final).
pub fn built() -> Command {
    let mut command = Cli::command();
    command.build();
    command
}

/// Which file and profile `matches` ask for, and how.
pub fn request(matches: &ArgMatches) -> Request {
    let from_env = |id: &str| matches.value_source(id) == Some(ValueSource::EnvVariable);
    Request {
        file: matches.get_one::<PathBuf>("config").map(|path| {
            let origin = if from_env("config") {
                FileOrigin::Env
            } else {
                FileOrigin::Flag
            };
            (path.clone(), origin)
        }),
        profile: matches.get_one::<String>("profile").map(|name| {
            let origin = if from_env("profile") {
                ProfileOrigin::Env
            } else {
                ProfileOrigin::Flag
            };
            (name.clone(), origin)
        }),
    }
}

/// The keys of every configurable command: its long flags.
pub fn schema(top: &Command) -> Schema {
    Schema {
        commands: configurable(top).map(keys_of).collect(),
    }
}

/// The subcommands a profile can configure.
pub fn configurable(top: &Command) -> impl Iterator<Item = &Command> {
    top.get_subcommands()
        .filter(|s| !NOT_CONFIGURABLE.contains(&s.get_name()))
}

fn keys_of(sub: &Command) -> CommandKeys {
    CommandKeys {
        command: sub.get_name().to_owned(),
        keys: sub
            .get_arguments()
            .filter(|a| settable(a))
            .map(|a| Key {
                name: a.get_long().expect("settable flags are long").to_owned(),
                shape: shape(a),
                secret: a.is_hide_env_values_set(),
            })
            .collect(),
    }
}

/// A command's own long flag: not a positional argument, not a global flag (colour,
/// verbosity, the profile itself), not --help.
pub fn settable(arg: &Arg) -> bool {
    arg.get_long().is_some()
        && !arg.is_positional()
        && !arg.is_global_set()
        && !matches!(
            arg.get_action(),
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version
        )
}

fn shape(arg: &Arg) -> Shape {
    let per_occurrence = arg.get_num_args().map_or(1, |n| n.max_values().max(1));
    match arg.get_action() {
        ArgAction::SetTrue | ArgAction::SetFalse => Shape::Switch,
        ArgAction::Count => Shape::Count,
        ArgAction::Append => Shape::Many {
            per_occurrence: per_occurrence.min(64),
        },
        _ if per_occurrence > 1 => Shape::Many {
            per_occurrence: per_occurrence.min(64),
        },
        _ => Shape::One,
    }
}

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
        let long = &entry.key;
        let tokens: Vec<OsString> = match &value {
            Value::Switch(on) => on
                .then(|| OsString::from(format!("--{long}")))
                .into_iter()
                .collect(),
            Value::Count(n) => (0..*n)
                .map(|_| OsString::from(format!("--{long}")))
                .collect(),
            Value::Occurrences(occurrences) => {
                let tokens = occurrences
                    .iter()
                    .flat_map(|values| occurrence_tokens(long, values))
                    .collect::<Vec<_>>();
                check_values(arg, &tokens).map_err(|e| ProfileError::Value {
                    shown: shown.to_owned(),
                    line: entry.line,
                    message: if key.secret {
                        format!("invalid value for --{long}")
                    } else {
                        clap_message(&e)
                    },
                })?;
                tokens
            }
        };
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

/// clap's message for `e` on one line, without its `error:` prefix and help footer.
pub fn clap_message(e: &clap::Error) -> String {
    e.to_string()
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")
        })
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `argv` with `tokens` placed right after the subcommand's name, so they read as that
/// command's flags whatever follows (a `--`, positional arguments).
fn inject(top: &Command, argv: &[OsString], name: &str, tokens: Vec<OsString>) -> Vec<OsString> {
    let at = subcommand_index(top, argv, name).map_or_else(
        || argv.iter().position(|a| a == "--").unwrap_or(argv.len()),
        |i| i + 1,
    );
    let mut out = argv[..at].to_vec();
    out.extend(tokens);
    out.extend_from_slice(&argv[at..]);
    out
}

/// Where the subcommand's name is in `argv`: the first word that is neither a top-level
/// option nor an option's value.
fn subcommand_index(top: &Command, argv: &[OsString], name: &str) -> Option<usize> {
    let takes_value = |arg: &Arg| arg.get_action().takes_values();
    let mut i = 1;
    while i < argv.len() {
        let word = argv[i].to_str()?;
        if word == "--" {
            return None;
        }
        if let Some(long) = word.strip_prefix("--") {
            let valued = top
                .get_arguments()
                .any(|a| a.get_long() == Some(long) && takes_value(a));
            if valued {
                i += 1;
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            for (at, c) in shorts.char_indices() {
                if top
                    .get_arguments()
                    .any(|a| a.get_short() == Some(c) && takes_value(a))
                {
                    if at + c.len_utf8() == shorts.len() {
                        i += 1;
                    }
                    break;
                }
            }
        } else {
            return (word == name).then_some(i);
        }
        i += 1;
    }
    None
}
