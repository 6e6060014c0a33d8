//! Exit codes, documented in the README, and the error kinds that map to them.

use std::process::ExitCode;

/// What a hookctl run ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok,
    /// An error: bad input, a file that cannot be opened, a port in use.
    Error,
    /// A usage error: a bad flag, or a project file or profile that cannot be used.
    Usage,
    /// A delivery failed: `send` or `replay` got a non-2xx answer or no answer.
    DeliveryFailed,
    /// An expectation failed: `listen --expect/--count` timed out, or `verify` found a bad signature.
    ExpectationFailed,
    /// Stopped by Ctrl-C while sending.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Error => 1,
            Exit::Usage => 2,
            Exit::DeliveryFailed => 3,
            Exit::ExpectationFailed => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit.code())
    }
}

/// An error that carries its own exit code (for example an unreachable target: 3).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    pub exit: Exit,
    pub message: String,
}

impl CodedError {
    pub fn error(exit: Exit, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(CodedError {
            exit,
            message: message.into(),
        })
    }
}

/// The exit code for an error that reached `main`.
pub fn code_for(err: &anyhow::Error) -> Exit {
    err.chain()
        .find_map(|e| e.downcast_ref::<CodedError>())
        .map(|e| e.exit)
        .unwrap_or(Exit::Error)
}

/// True when the error is a write to a closed pipe (`hookctl ... | head`), which is success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
