//! Why one delivery attempt failed, by kind, so the retry policy and the callers can decide
//! without reading messages. Each message is one line that says what went wrong and what to
//! try.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use super::describe_status;

/// Why an attempt got no 2xx answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DeliveryError {
    /// No whole response within the attempt's timeout.
    #[error("no answer from {url} within {}", humantime::format_duration(*.timeout))]
    Timeout { url: String, timeout: Duration },
    /// The host refused the connection: nothing listens on that port.
    #[error("cannot connect to {url}: {cause}")]
    Refused { url: String, cause: String },
    /// The host name did not resolve.
    #[error("cannot connect to {url}: cannot resolve the host: {cause}")]
    Dns { url: String, cause: String },
    /// The TLS handshake failed, e.g. on a certificate that is not trusted.
    #[error("cannot connect to {url}: TLS handshake failed: {cause}")]
    Tls { url: String, cause: String },
    /// Any other failure to connect, e.g. a host that is unreachable.
    #[error("cannot connect to {url}: {cause}")]
    Connect { url: String, cause: String },
    /// The exchange failed after connecting, e.g. the connection closed mid-response.
    #[error("request to {url} failed: {cause}")]
    Request { url: String, cause: String },
    /// The event cannot be sent as an HTTP request (a bad method, header or target).
    #[error("{0}")]
    InvalidRequest(String),
    /// An answer other than 2xx.
    #[error("answered {}", describe_status(*.0))]
    Status(u16),
}

impl DeliveryError {
    /// Sorts an error of the HTTP client into a kind.
    pub(crate) fn from_client(url: String, error: &hyper_util::client::legacy::Error) -> Self {
        if !error.is_connect() {
            return DeliveryError::request(url, error);
        }
        let cause = root_cause(error);
        let mut refused = false;
        let mut dns = false;
        let mut tls = false;
        for e in chain(error) {
            if let Some(io) = e.downcast_ref::<io::Error>() {
                refused |= io.kind() == io::ErrorKind::ConnectionRefused;
            }
            tls |= e.is::<rustls::Error>();
            // hyper-util's connect error is not exported; its message names the step.
            dns |= e.to_string() == "dns error";
        }
        if refused {
            DeliveryError::Refused { url, cause }
        } else if dns {
            DeliveryError::Dns { url, cause }
        } else if tls {
            DeliveryError::Tls { url, cause }
        } else {
            DeliveryError::Connect { url, cause }
        }
    }
}

/// Who a delivery went to, which decides the hint that fits a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A webhook receiver (`send`, `replay`, `relay`).
    Receiver,
    /// The app behind `listen --forward-to`.
    App,
}

impl DeliveryError {
    /// What to try, when the cause suggests something: only a refused connection asks whether
    /// anything listens, and only a timeout suggests a longer one.
    pub fn hint(&self, peer: Peer) -> Option<&'static str> {
        match (self, peer) {
            (DeliveryError::Refused { .. }, Peer::Receiver) => {
                Some("is anything listening there? (start one with `hookctl listen`)")
            }
            (DeliveryError::Refused { .. }, Peer::App) => {
                Some("is your app running and listening on that port?")
            }
            (DeliveryError::Timeout { .. }, Peer::Receiver) => Some("raise --timeout"),
            (DeliveryError::Timeout { .. }, Peer::App) => Some("raise --forward-timeout"),
            _ => None,
        }
    }

    /// The message followed by its hint, if any: `…; is anything listening there? …`.
    pub fn with_hint(&self, peer: Peer) -> Hinted<'_> {
        Hinted { error: self, peer }
    }
}

/// A [`DeliveryError`] shown with the hint for its peer.
pub struct Hinted<'a> {
    error: &'a DeliveryError,
    peer: Peer,
}

impl std::fmt::Display for Hinted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.error)?;
        if let Some(hint) = self.error.hint(self.peer) {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl DeliveryError {
    /// A failure after connecting, e.g. while reading the response body.
    pub(crate) fn request(url: String, error: &(dyn StdError + 'static)) -> Self {
        DeliveryError::Request {
            url,
            cause: root_cause(error),
        }
    }
}

/// Every error in the chain, looking inside `io::Error`s too (their `source` skips the error
/// they wrap).
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| match e.downcast_ref::<io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

/// The innermost error's message, e.g. `Connection refused (os error 111)`.
fn root_cause(error: &(dyn StdError + 'static)) -> String {
    chain(error)
        .last()
        .map(ToString::to_string)
        .unwrap_or_default()
}
