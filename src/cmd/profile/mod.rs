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
use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

use crate::cli::{Cli, Command as Sub, ConfigAction};
use crate::config::{self, FileOrigin, ProfileError, ProfileOrigin, Request};
use crate::output::diag::Diag;

mod keys;
mod plan;
#[cfg(test)]
mod tests;

pub use keys::{configurable, schema, settable};
pub use plan::{plan, Applied, Plan};

/// Subcommands whose flags a profile does not set.
pub(crate) const NOT_CONFIGURABLE: &[&str] = &["completions", "config", "help"];

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

/// clap's message for `e` on one line, without its `error:` prefix and help footer: lines
/// joined with "; ", or with a space after a line that ends in a colon.
pub fn clap_message(e: &clap::Error) -> String {
    let mut message = String::new();
    for line in e.to_string().lines().map(str::trim) {
        if line.is_empty() || line.starts_with("For more information") || line.starts_with("Usage:")
        {
            continue;
        }
        if !message.is_empty() {
            message.push_str(if message.ends_with(':') { " " } else { "; " });
        }
        message.push_str(line.strip_prefix("error: ").unwrap_or(line));
    }
    message
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
