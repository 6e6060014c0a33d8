//! What completes where: sample and flow names for `send EVENT`, groups for
//! `send --list PROVIDER`, scheme names for every SCHEME value.
//!
//! The samples come from the catalogue `send --list` reads: the built-in ones, and the user's
//! folder as `send` would find it (`--samples` on the line being completed, `HOOKCTL_SAMPLES`,
//! hookctl.toml's profile, or `./hookctl/samples`). A folder that cannot be read leaves the
//! built-in names: completion prints no errors.

use std::ffi::OsString;

use clap::builder::StyledStr;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::cli::Command;
use crate::cmd::profile;
use crate::send::samples::{providers, Catalogue};
use crate::signature::Scheme;

/// `command` with the completers attached (a renamed argument panics here, which the tests
/// catch).
pub fn attach(command: clap::Command) -> clap::Command {
    let command = command.mut_subcommand("send", |send| {
        send.mut_arg("event", |arg| arg.add(ArgValueCandidates::new(samples)))
            .mut_arg("list", |arg| arg.add(ArgValueCandidates::new(groups)))
    });
    with_schemes(command)
}

/// Every argument whose value is a SCHEME, in every subcommand, offers the scheme names.
fn with_schemes(mut command: clap::Command) -> clap::Command {
    let ids: Vec<String> = command
        .get_arguments()
        .filter(|a| {
            a.get_value_names()
                .is_some_and(|names| names.iter().any(|n| n == "SCHEME"))
        })
        .map(|a| a.get_id().to_string())
        .collect();
    for id in ids {
        command = command.mut_arg(id, |arg| arg.add(ArgValueCandidates::new(schemes)));
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subcommands {
        command = command.mut_subcommand(name, with_schemes);
    }
    command
}

/// Every sample and flow name, with its description. None after `--list`, which takes the
/// place of EVENT (clap offers both for the word after a `--list` that may take a value).
fn samples() -> Vec<CompletionCandidate> {
    let words = completed_words();
    let done = &words[..words.len().saturating_sub(1)];
    if done
        .iter()
        .any(|w| w == "--list" || w.starts_with("--list="))
    {
        return Vec::new();
    }
    catalogue(&words)
        .entries()
        .map(|(name, description)| {
            CompletionCandidate::new(name).help(Some(StyledStr::from(description.to_owned())))
        })
        .collect()
}

/// The groups `send --list` takes.
fn groups() -> Vec<CompletionCandidate> {
    catalogue(&completed_words())
        .groups()
        .into_iter()
        .map(|group| {
            let help = match providers::find(&group) {
                Some(provider) => provider.title,
                None if group == "generic" => "Generic samples",
                None => "Your samples",
            };
            CompletionCandidate::new(group).help(Some(StyledStr::from(help)))
        })
        .collect()
}

fn schemes() -> Vec<CompletionCandidate> {
    Scheme::NAMES
        .iter()
        .map(|name| CompletionCandidate::new(*name))
        .collect()
}

/// The catalogue `send --list` would show for the line being completed, or the built-in one.
fn catalogue(words: &[String]) -> Catalogue {
    let argv = list_argv(words);
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let env = |name: &str| std::env::var(name).ok();
    match profile::parse_with(argv, &cwd, &env) {
        Ok(parsed) => match parsed.cli.command {
            Command::Send(args) => {
                crate::cmd::send::catalogue(&args).unwrap_or_else(|_| Catalogue::builtin())
            }
            _ => Catalogue::builtin(),
        },
        Err(_) => Catalogue::builtin(),
    }
}

/// The words of the line being completed: a completion request runs as
/// `hookctl -- hookctl WORDS...`.
fn completed_words() -> Vec<String> {
    std::env::args_os()
        .skip_while(|a| a != "--")
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// `hookctl send --list --names`, with the flags of `words` that choose the samples folder
/// (`--samples`, and `--config`/`--profile` for hookctl.toml). The last word is the one being
/// completed, so it is left out.
fn list_argv(words: &[String]) -> Vec<OsString> {
    const CARRIED: &[&str] = &["--samples", "--config", "--profile"];
    let mut argv: Vec<OsString> = ["hookctl", "send", "--list", "--names"]
        .map(OsString::from)
        .to_vec();
    let done = &words[..words.len().saturating_sub(1)];
    let mut i = 0;
    while i < done.len() {
        let word = done[i].as_str();
        if word == "--" {
            break;
        }
        if CARRIED.contains(&word) {
            if let Some(value) = done.get(i + 1) {
                argv.push(format!("{word}={value}").into());
                i += 1;
            }
        } else if let Some((flag, _)) = word.split_once('=') {
            if CARRIED.contains(&flag) {
                argv.push(word.into());
            }
        }
        i += 1;
    }
    argv
}

#[cfg(test)]
mod tests {
    use super::list_argv;

    fn argv(words: &[&str]) -> Vec<String> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        list_argv(&words)
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn the_folder_flags_of_the_line_are_carried() {
        assert_eq!(
            argv(&[
                "hookctl",
                "send",
                "--samples",
                "mine",
                "--config=p.toml",
                "gi"
            ]),
            [
                "hookctl",
                "send",
                "--list",
                "--names",
                "--samples=mine",
                "--config=p.toml"
            ]
        );
        assert_eq!(
            argv(&["hookctl", "--profile", "ci", "send", "--to", "x", ""]),
            ["hookctl", "send", "--list", "--names", "--profile=ci"]
        );
    }

    #[test]
    fn the_word_being_completed_and_what_follows_a_double_dash_are_not() {
        assert_eq!(
            argv(&["hookctl", "send", "--samples"]),
            ["hookctl", "send", "--list", "--names"]
        );
        assert_eq!(
            argv(&["hookctl", "send", "--", "--samples", "x", ""]),
            ["hookctl", "send", "--list", "--names"]
        );
    }
}
