//! Configuration errors: a flag value, an expression or a name that cannot be used. Each
//! names the input and says what to write instead. Delivery, capture and signature failures
//! have their own types next to their code.

use crate::event::jsonpath::PathError;
use crate::signature::SchemeError;
use crate::units::UnitError;

/// Why the configuration asked for cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid header {0:?}; write it as 'Name: value'")]
    Header(String),
    #[error("invalid header name {name:?} in {text:?}")]
    HeaderName { name: String, text: String },
    #[error(
        "invalid header value {value:?} in {text:?}; use visible ASCII or UTF-8 without control characters"
    )]
    HeaderValue { value: String, text: String },
    #[error("bad --expect ``: it is empty; use e.g. type=payment_success")]
    EmptyExpectation,
    #[error("bad --expect `{part}`: {cause}")]
    Expectation {
        part: String,
        cause: Box<ConfigError>,
    },
    #[error("empty predicate; {PREDICATES}")]
    EmptyPredicate,
    #[error("expected KEY=VALUE; {PREDICATES}")]
    NotKeyValue,
    #[error("unknown field `{0}`; {PREDICATES}")]
    UnknownField(String),
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    #[error("`{0}` is not a status; use e.g. 500, 5xx or 4*")]
    Status(String),
    #[error("`{0}` needs a dot path, e.g. body.data.amount")]
    BodyPath(String),
    #[error("invalid glob `{glob}`: {cause}")]
    Glob {
        glob: String,
        cause: glob::PatternError,
    },
    #[error("bad --filter `{part}`: {cause}")]
    Filter {
        part: String,
        cause: Box<ConfigError>,
    },
    #[error(
        "unknown sample event `{name}`{} Known events: {known} (see `hookctl send --list`)",
        match suggestion { Some(s) => format!("; did you mean `{s}`?"), None => ".".to_owned() }
    )]
    UnknownSample {
        name: String,
        suggestion: Option<String>,
        known: String,
    },
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Scheme(#[from] SchemeError),
    #[error(transparent)]
    Unit(#[from] UnitError),
}

/// The predicates `--expect` knows, for its error messages.
const PREDICATES: &str = "use id=, type=, path=, method=, status=, header.NAME= or body.PATH=";
