//! The project file, `hookctl.toml`: named profiles that set the flags of `listen`, `send`,
//! `replay` and the other commands, so a project's port, capture file, scheme, forward target
//! and expectations are written down once.
//!
//! ```toml
//! [profile.stripe-dev]
//! verify = "stripe"                    # every command with a --verify flag
//! secret-env = "STRIPE_WEBHOOK_SECRET" # secrets never: the variable that holds one
//!
//! [profile.stripe-dev.listen]          # only `hookctl listen`
//! port = 4000
//! capture = "events.jsonl"
//! expect = ["type=payment_success"]
//! ```
//!
//! A key is a flag's long name; `KEY-env = "VAR"` takes the value from a variable. This module
//! parses and checks the file against a [`Schema`] of the commands' keys and resolves values;
//! it knows nothing of clap. `cmd::profile` builds the schema from the command line and feeds
//! the values through the flags' own parsers, so the file and the flags cannot disagree.

mod error;
mod file;
mod schema;
mod settings;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

pub use error::ProfileError;
pub use file::{Entry, Profile, ProjectFile, Raw};
pub use schema::{nearest, CommandKeys, Key, Schema, Shape, ENV_SUFFIX};
pub use settings::{Resolved, Value};

/// The file looked for in the working directory.
pub const FILE_NAME: &str = "hookctl.toml";

/// The profile that applies when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// How the project file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// `--config FILE`.
    Flag,
    /// `HOOKCTL_CONFIG`.
    Env,
    /// `hookctl.toml` in the working directory.
    WorkingDir,
}

impl fmt::Display for FileOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileOrigin::Flag => "--config",
            FileOrigin::Env => "HOOKCTL_CONFIG",
            FileOrigin::WorkingDir => "found in the working directory",
        })
    }
}

impl FileOrigin {
    /// The origin in `config show --json`.
    pub fn key(self) -> &'static str {
        match self {
            FileOrigin::Flag => "flag",
            FileOrigin::Env => "env",
            FileOrigin::WorkingDir => "working_directory",
        }
    }
}

/// How the profile was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileOrigin {
    /// `--profile NAME`.
    Flag,
    /// `HOOKCTL_PROFILE`.
    Env,
    /// None was named and the file has a `default` profile.
    Default,
}

impl fmt::Display for ProfileOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileOrigin::Flag => "--profile",
            ProfileOrigin::Env => "HOOKCTL_PROFILE",
            ProfileOrigin::Default => "the default profile",
        })
    }
}

impl ProfileOrigin {
    /// The origin in `config show --json`.
    pub fn key(self) -> &'static str {
        match self {
            ProfileOrigin::Flag => "flag",
            ProfileOrigin::Env => "env",
            ProfileOrigin::Default => "default",
        }
    }
}

/// Which file and profile the user asked for, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub file: Option<(PathBuf, FileOrigin)>,
    pub profile: Option<(String, ProfileOrigin)>,
}

/// The file and profile in effect.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub file: ProjectFile,
    pub file_origin: FileOrigin,
    pub profile: Option<(Profile, ProfileOrigin)>,
}

/// Finds and parses the project file and picks the profile: the file named by `--config` or
/// `HOOKCTL_CONFIG` (which must exist), else `hookctl.toml` in `cwd` when there is one; the
/// profile named by `--profile` or `HOOKCTL_PROFILE` (which must be in the file), else the
/// file's `default` profile when it has one. `Ok(None)`: no file, no profile asked for.
pub fn choose(
    request: &Request,
    cwd: &Path,
    schema: &Schema,
) -> Result<Option<Chosen>, ProfileError> {
    let (path, shown, file_origin) = match &request.file {
        Some((path, origin)) => (path.clone(), path.display().to_string(), *origin),
        None => {
            let path = cwd.join(FILE_NAME);
            if !path.is_file() {
                return match &request.profile {
                    Some((name, origin)) => Err(ProfileError::NoFile {
                        name: name.clone(),
                        origin: origin.to_string(),
                        dir: cwd.to_owned(),
                    }),
                    None => Ok(None),
                };
            }
            (path, FILE_NAME.to_owned(), FileOrigin::WorkingDir)
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ProfileError::Read {
        shown: match file_origin {
            FileOrigin::WorkingDir => shown.clone(),
            origin => format!("{shown} (from {origin})"),
        },
        source,
    })?;
    let file = ProjectFile::parse(&text, path, shown, schema)?;
    let profile = match &request.profile {
        Some((name, origin)) => {
            let Some(profile) = file.profile(name) else {
                let available = file.profile_names();
                return Err(ProfileError::UnknownProfile {
                    name: name.clone(),
                    shown: file.shown.clone(),
                    suggestion: nearest(name, available.iter().map(String::as_str)),
                    available,
                });
            };
            Some((profile.clone(), *origin))
        }
        None => file
            .profile(DEFAULT_PROFILE)
            .map(|p| (p.clone(), ProfileOrigin::Default)),
    };
    Ok(Some(Chosen {
        file,
        file_origin,
        profile,
    }))
}
