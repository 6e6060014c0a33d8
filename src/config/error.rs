//! Why a project file, or a profile in it, cannot be used. Every message names the file (and
//! the line, where there is one) and says what to write instead.

use std::path::PathBuf;

/// A problem with `hookctl.toml` or with the profile asked for. All of them are usage errors.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read {shown}: {source}")]
    Read {
        shown: String,
        source: std::io::Error,
    },
    #[error("{shown}:{line}: {message}")]
    Syntax {
        shown: String,
        line: usize,
        message: String,
    },
    #[error("{shown}:{line}: {what}{}", suggest(suggestion.as_deref(), " (did you mean `", "`?)"))]
    UnknownKey {
        shown: String,
        line: usize,
        /// What is unknown, e.g. "unknown key `prot` in [profile.dev]".
        what: String,
        suggestion: Option<String>,
    },
    #[error(
        "{shown}:{line}: `{key}` would keep a secret in the file; name the environment variable that holds it instead: {key}-env = \"{example}\""
    )]
    SecretInFile {
        shown: String,
        line: usize,
        key: String,
        example: String,
    },
    #[error(
        "{shown}:{line}: `{key}` holds a URL with a password; put the URL in an environment variable and name it instead: {key}-env = \"VARIABLE\""
    )]
    PasswordInUrl {
        shown: String,
        line: usize,
        key: String,
    },
    #[error("{shown}:{line}: `{key}` {message}")]
    Type {
        shown: String,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{shown}:{line}: `{key}` and `{key}-env` both set it; keep one")]
    BothForms {
        shown: String,
        line: usize,
        key: String,
    },
    #[error("{shown}:{line}: {message}")]
    Value {
        shown: String,
        line: usize,
        message: String,
    },
    #[error(
        "no profile `{name}` in {shown}{}; {}",
        suggest(suggestion.as_deref(), " (did you mean `", "`?)"),
        available_list(available)
    )]
    UnknownProfile {
        name: String,
        shown: String,
        suggestion: Option<String>,
        available: Vec<String>,
    },
    #[error(
        "profile `{name}` was asked for ({origin}), but there is no hookctl.toml in {}; create one there, or name one with --config FILE or HOOKCTL_CONFIG",
        dir.display()
    )]
    NoFile {
        name: String,
        origin: String,
        dir: PathBuf,
    },
    #[error("{shown} [profile.{profile}]: {message}")]
    Apply {
        shown: String,
        profile: String,
        message: String,
    },
}

fn suggest(suggestion: Option<&str>, before: &str, after: &str) -> String {
    suggestion
        .map(|s| format!("{before}{s}{after}"))
        .unwrap_or_default()
}

fn available_list(available: &[String]) -> String {
    if available.is_empty() {
        "it has none; add a [profile.NAME] table".to_owned()
    } else {
        format!("available: {}", available.join(", "))
    }
}
