//! The relay's log lines on stderr: `hookctl: MESSAGE key=value ...` for people, or one JSON
//! object per line (`--log-format json`) for log collectors. Values from requests are escaped
//! for terminals in text lines and JSON-escaped in JSON lines.

use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::output::diag::{Diag, Untrusted};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

/// Writes log lines in the chosen format.
#[derive(Clone)]
pub struct Logger {
    pub format: LogFormat,
    pub diag: Diag,
    /// Also log each stored event and each subscription (`-v`).
    pub verbose: bool,
}

impl Logger {
    pub fn info(&self, message: &str, fields: &[(&str, Value)]) {
        self.log(Level::Info, message, fields);
    }

    pub fn warn(&self, message: &str, fields: &[(&str, Value)]) {
        self.log(Level::Warn, message, fields);
    }

    pub fn error(&self, message: &str, fields: &[(&str, Value)]) {
        self.log(Level::Error, message, fields);
    }

    /// A line logged only with `-v`.
    pub fn detail(&self, message: &str, fields: &[(&str, Value)]) {
        if self.verbose {
            self.log(Level::Info, message, fields);
        }
    }

    pub fn log(&self, level: Level, message: &str, fields: &[(&str, Value)]) {
        match self.format {
            LogFormat::Json => {
                let mut line = Map::new();
                line.insert(
                    "ts".into(),
                    humantime::format_rfc3339_millis(SystemTime::now())
                        .to_string()
                        .into(),
                );
                line.insert(
                    "level".into(),
                    match level {
                        Level::Info => "info",
                        Level::Warn => "warn",
                        Level::Error => "error",
                    }
                    .into(),
                );
                line.insert("msg".into(), message.into());
                for (key, value) in fields {
                    line.insert((*key).into(), value.clone());
                }
                self.diag.line(Value::Object(line));
            }
            LogFormat::Text => {
                let mut text = message.to_owned();
                for (key, value) in fields {
                    let value = match value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    text.push_str(&format!(" {key}={}", Untrusted(&value)));
                }
                match level {
                    Level::Info => self.diag.note(text),
                    Level::Warn => self.diag.warn(text),
                    Level::Error => self.diag.error(text),
                }
            }
        }
    }
}
