//! The keys a profile may set, read from the command line's definition: every long flag of a
//! command, with the shape of its values.

use clap::{Arg, ArgAction, Command};

use crate::config::{CommandKeys, Key, Schema, Shape};

use super::NOT_CONFIGURABLE;

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

pub(super) fn keys_of(sub: &Command) -> CommandKeys {
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
