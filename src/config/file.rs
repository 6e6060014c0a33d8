//! Reading `hookctl.toml`: named profiles of flag values, checked against the commands' keys
//! so that a typo, a secret or a misplaced table is reported with its line before anything
//! runs.

use std::path::PathBuf;

use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::ProfileError;
use super::schema::{nearest, CommandKeys, Schema, ENV_SUFFIX};

/// A parsed project file.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    /// The path it was read from.
    pub path: PathBuf,
    /// How messages name it: `hookctl.toml` when found in the working directory, else the path
    /// as given.
    pub shown: String,
    pub profiles: Vec<Profile>,
}

/// One `[profile.NAME]` table.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    pub line: usize,
    pub entries: Vec<Entry>,
}

/// One key of a profile, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The flag's long name (without `-env`).
    pub key: String,
    /// The command whose table holds it (`[profile.NAME.listen]`), or `None` for a key that
    /// applies to every command with that flag.
    pub command: Option<String>,
    pub line: usize,
    pub value: Raw,
    /// Written as `KEY-env = "VARIABLE"`: the value is the named variables' contents.
    pub from_env: bool,
}

/// A TOML value, as far as a flag can use it.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Bool(bool),
    Int(i64),
    Float(String),
    Str(String),
    Array(Vec<Raw>),
    /// A value no flag takes (a table, a date): its TOML type.
    Other(&'static str),
}

impl ProjectFile {
    /// Parses `text`, read from `path`, checking every key against `schema`.
    pub fn parse(
        text: &str,
        path: PathBuf,
        shown: String,
        schema: &Schema,
    ) -> Result<ProjectFile, ProfileError> {
        let parser = Parser {
            text,
            shown: &shown,
            schema,
        };
        let root = DeTable::parse(text).map_err(|e| ProfileError::Syntax {
            shown: shown.clone(),
            line: e.span().map_or(1, |s| parser.line(s.start)),
            message: e.message().to_owned(),
        })?;
        let profiles = parser.root(root.get_ref())?;
        Ok(ProjectFile {
            path,
            shown,
            profiles,
        })
    }

    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    pub fn profile_names(&self) -> Vec<String> {
        self.profiles.iter().map(|p| p.name.clone()).collect()
    }
}

struct Parser<'a> {
    text: &'a str,
    shown: &'a str,
    schema: &'a Schema,
}

impl Parser<'_> {
    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn key_line(&self, key: &Spanned<std::borrow::Cow<'_, str>>) -> usize {
        self.line(key.span().start)
    }

    fn root(&self, root: &DeTable<'_>) -> Result<Vec<Profile>, ProfileError> {
        let mut profiles = Vec::new();
        for (key, value) in root.iter() {
            let line = self.key_line(key);
            if key.get_ref() != "profile" {
                return Err(ProfileError::UnknownKey {
                    shown: self.shown.to_owned(),
                    line,
                    what: format!(
                        "unknown key `{}`; settings go in [profile.NAME] tables",
                        key.get_ref()
                    ),
                    suggestion: nearest(key.get_ref(), ["profile"]),
                });
            }
            let DeValue::Table(table) = value.get_ref() else {
                return Err(self.type_error(
                    line,
                    "profile",
                    "must be a table: write [profile.NAME]",
                ));
            };
            for (name, body) in table.iter() {
                let line = self.key_line(name);
                let DeValue::Table(body) = body.get_ref() else {
                    return Err(self.type_error(
                        line,
                        &format!("profile.{}", name.get_ref()),
                        &format!("must be a table: write [profile.{}]", name.get_ref()),
                    ));
                };
                let name = name.get_ref().to_string();
                let entries = self.entries(&name, body, None)?;
                profiles.push(Profile {
                    name,
                    line,
                    entries,
                });
            }
        }
        Ok(profiles)
    }

    /// The entries of `[profile.NAME]` (when `command` is `None`) or of
    /// `[profile.NAME.COMMAND]`.
    fn entries(
        &self,
        profile: &str,
        table: &DeTable<'_>,
        command: Option<&CommandKeys>,
    ) -> Result<Vec<Entry>, ProfileError> {
        let scope = match command {
            Some(c) => format!("[profile.{profile}.{}]", c.command),
            None => format!("[profile.{profile}]"),
        };
        let mut entries: Vec<Entry> = Vec::new();
        for (key, value) in table.iter() {
            let line = self.key_line(key);
            let name = key.get_ref().as_ref();
            if command.is_none() {
                if let (DeValue::Table(inner), Some(keys)) =
                    (value.get_ref(), self.schema.command(name))
                {
                    entries.extend(self.entries(profile, inner, Some(keys))?);
                    continue;
                }
            }
            let (base, from_env) = match name.strip_suffix(ENV_SUFFIX) {
                Some(base) if self.known(base, command) => (base, true),
                _ => (name, false),
            };
            let Some(shape_key) = self.lookup(base, command) else {
                return Err(self.unknown(name, line, &scope, value.get_ref(), command));
            };
            if let DeValue::Table(_) = value.get_ref() {
                return Err(self.type_error(line, name, "takes a value, not a table"));
            }
            if shape_key.secret && !from_env {
                return Err(ProfileError::SecretInFile {
                    shown: self.shown.to_owned(),
                    line,
                    key: base.to_owned(),
                    example: format!("WEBHOOK_{}", base.to_ascii_uppercase().replace('-', "_")),
                });
            }
            let here = command.map(|c| c.command.as_str());
            if entries
                .iter()
                .any(|e| e.key == base && e.command.as_deref() == here)
            {
                return Err(ProfileError::BothForms {
                    shown: self.shown.to_owned(),
                    line,
                    key: base.to_owned(),
                });
            }
            let raw = raw(value.get_ref());
            if !from_env && holds_password(&raw) {
                return Err(ProfileError::PasswordInUrl {
                    shown: self.shown.to_owned(),
                    line,
                    key: base.to_owned(),
                });
            }
            entries.push(Entry {
                key: base.to_owned(),
                command: command.map(|c| c.command.clone()),
                line,
                value: raw,
                from_env,
            });
        }
        Ok(entries)
    }

    fn known(&self, key: &str, command: Option<&CommandKeys>) -> bool {
        self.lookup(key, command).is_some()
    }

    fn lookup<'k>(
        &'k self,
        key: &str,
        command: Option<&'k CommandKeys>,
    ) -> Option<&'k super::schema::Key> {
        match command {
            Some(c) => c.key(key),
            None => self.schema.any_key(key),
        }
    }

    fn unknown(
        &self,
        name: &str,
        line: usize,
        scope: &str,
        value: &DeValue<'_>,
        command: Option<&CommandKeys>,
    ) -> ProfileError {
        let commands: Vec<&str> = self
            .schema
            .commands
            .iter()
            .map(|c| c.command.as_str())
            .collect();
        let (what, candidates): (String, Vec<&str>) = match (command, value) {
            (None, DeValue::Table(_)) => (
                format!(
                    "unknown table `{name}` in {scope}; a table in a profile is named after a command: {}",
                    commands.join(", ")
                ),
                commands.clone(),
            ),
            (None, _) => (
                format!(
                    "unknown key `{name}` in {scope}: no command has a --{name} flag ({})",
                    commands.join(", ")
                ),
                self.schema.all_key_names(),
            ),
            (Some(c), _) => (
                format!(
                    "unknown key `{name}` in {scope}: `hookctl {}` has no --{name} flag",
                    c.command
                ),
                c.keys.iter().map(|k| k.name.as_str()).collect(),
            ),
        };
        let with_env: Vec<String> = candidates
            .iter()
            .map(|c| c.to_string())
            .chain(
                self.schema
                    .commands
                    .iter()
                    .flat_map(|c| c.keys.iter())
                    .filter(|k| k.secret)
                    .map(|k| format!("{}{ENV_SUFFIX}", k.name)),
            )
            .collect();
        ProfileError::UnknownKey {
            shown: self.shown.to_owned(),
            line,
            what,
            suggestion: nearest(name, with_env.iter().map(String::as_str)),
        }
    }

    fn type_error(&self, line: usize, key: &str, message: &str) -> ProfileError {
        ProfileError::Type {
            shown: self.shown.to_owned(),
            line,
            key: key.to_owned(),
            message: message.to_owned(),
        }
    }
}

fn raw(value: &DeValue<'_>) -> Raw {
    match value {
        DeValue::String(s) => Raw::Str(s.to_string()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Raw::Int(n),
            Err(_) => Raw::Other("integer out of range"),
        },
        DeValue::Float(f) => Raw::Float(f.as_str().to_owned()),
        DeValue::Boolean(b) => Raw::Bool(*b),
        DeValue::Datetime(_) => Raw::Other("date"),
        DeValue::Array(items) => Raw::Array(items.iter().map(|v| raw(v.get_ref())).collect()),
        DeValue::Table(_) => Raw::Other("table"),
    }
}

/// True when a string (or one in an array) is a URL carrying a password.
fn holds_password(raw: &Raw) -> bool {
    match raw {
        Raw::Str(s) => {
            s.contains("://")
                && url::Url::parse(s).is_ok_and(|u| u.password().is_some_and(|p| !p.is_empty()))
        }
        Raw::Array(items) => items.iter().any(holds_password),
        _ => false,
    }
}
