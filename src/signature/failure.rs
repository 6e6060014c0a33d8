//! Why verification failed, explained for humans. No message ever contains a secret.

use std::fmt;

/// Why a request failed verification. `Display` gives one sentence saying what is wrong and how
/// to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A header the scheme needs is absent.
    MissingHeader {
        /// The header's name, e.g. `X-Hub-Signature-256`.
        header: String,
        /// The scheme being verified.
        scheme: String,
        /// Another scheme whose signature header the request does carry, if any.
        looks_like: Option<String>,
    },
    /// A header is present but cannot be read.
    MalformedHeader {
        /// The header's name.
        header: String,
        /// What is wrong with it and what was expected.
        detail: String,
    },
    /// The signature matches but the signed timestamp is too far from now.
    TimestampOutside {
        /// `now - timestamp`: positive when the timestamp is in the past.
        skew_secs: i64,
        /// The tolerance that was exceeded.
        tolerance_secs: u64,
    },
    /// No presented signature matches any secret.
    Mismatch {
        /// Set when a signature matches a JSON re-serialisation of the body instead.
        reserialized: Option<Reserialized>,
    },
    /// A secret cannot be used with the scheme (empty, or not base64 for `standard`).
    BadSecret {
        /// What is wrong; never contains the secret.
        detail: String,
    },
}

/// A JSON re-serialisation of the body that the signature matches instead of the raw body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserialized {
    /// `serde_json::to_vec`: no whitespace.
    Compact,
    /// `serde_json::to_vec_pretty`: two-space indentation.
    Pretty,
}

impl Reserialized {
    /// If `body` is JSON, the first re-serialisation that differs from `body` and for which
    /// `matches` holds. Pretty forms are tried with and without a trailing newline, as
    /// providers (Stripe among them) sign pretty JSON ending in one.
    pub(super) fn detect(body: &[u8], matches: impl Fn(&[u8]) -> bool) -> Option<Reserialized> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let pretty = serde_json::to_vec_pretty(&value).ok()?;
        let mut pretty_newline = pretty.clone();
        pretty_newline.push(b'\n');
        [
            (Reserialized::Compact, serde_json::to_vec(&value).ok()?),
            (Reserialized::Pretty, pretty),
            (Reserialized::Pretty, pretty_newline),
        ]
        .into_iter()
        .find_map(|(kind, bytes)| (bytes != body && matches(&bytes)).then_some(kind))
    }
}

impl fmt::Display for Reserialized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reserialized::Compact => "compact",
            Reserialized::Pretty => "pretty",
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::MissingHeader {
                header,
                scheme,
                looks_like,
            } => {
                write!(
                    f,
                    "missing the {header} header; is the sender signing with the {scheme} scheme?"
                )?;
                match looks_like {
                    Some(other) => write!(
                        f,
                        " (the request carries a {other} signature header; try the {other} scheme)"
                    ),
                    None => Ok(()),
                }
            }
            Failure::MalformedHeader { header, detail } => {
                write!(f, "malformed {header} header: {detail}")
            }
            Failure::TimestampOutside {
                skew_secs,
                tolerance_secs,
            } => Skew(*skew_secs, *tolerance_secs, Reference::Now).fmt(f),
            Failure::Mismatch { reserialized: None } => f.write_str(
                "signature does not match: wrong secret, or the body was changed after signing; \
                 check the secret and pass the raw body through byte for byte",
            ),
            Failure::Mismatch {
                reserialized: Some(kind),
            } => write!(
                f,
                "signature does not match this body, but matches its {kind} JSON \
                 re-serialisation: something parsed and re-serialised the body before it was \
                 signed/forwarded; sign and verify the raw bytes"
            ),
            Failure::BadSecret { detail } => write!(f, "unusable secret: {detail}"),
        }
    }
}

/// A failure on an event that came through a relay which parses and re-encodes JSON bodies
/// (smee.io): a signature mismatch then names that cause, since the provider signed bytes that
/// never arrived. Other failures read as they are.
pub struct ThroughReencodingRelay<'a> {
    pub failure: &'a Failure,
    /// The relay's name, e.g. `smee.io`.
    pub relay: &'a str,
}

impl fmt::Display for ThroughReencodingRelay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.failure {
            Failure::Mismatch { .. } => write!(
                f,
                "{}; this event came through {}, which parses and re-encodes JSON bodies, so \
                 the bytes the provider signed never arrived: relay through `hookctl serve`, \
                 which keeps them byte for byte",
                self.failure, self.relay
            ),
            other => other.fmt(f),
        }
    }
}

/// What a timestamp's skew was measured against.
#[derive(Clone, Copy)]
enum Reference {
    /// The current time (a live receiver, `verify --now`).
    Now,
    /// The time the event was received (`verify` on a capture).
    Arrival,
}

impl Failure {
    /// The explanation when the timestamp was measured against the time the event was
    /// received, as `verify` does with a capture, rather than against now.
    pub fn at_arrival(&self) -> String {
        match self {
            Failure::TimestampOutside {
                skew_secs,
                tolerance_secs,
            } => Skew(*skew_secs, *tolerance_secs, Reference::Arrival).to_string(),
            other => other.to_string(),
        }
    }
}

/// A timestamp outside the tolerance, in the past or the future, measured against a reference.
struct Skew(i64, u64, Reference);

impl fmt::Display for Skew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Skew(skew_secs, tolerance_secs, reference) = *self;
        let (distance, tolerance) =
            crate::units::human_age_and_tolerance(skew_secs.unsigned_abs(), tolerance_secs);
        match (skew_secs >= 0, reference) {
            (true, Reference::Now) => write!(
                f,
                "timestamp is {distance} old (tolerance {tolerance}); \
                 re-sign (replay --resign) or check the clock"
            ),
            (false, Reference::Now) => write!(
                f,
                "timestamp is {distance} in the future (tolerance {tolerance}); \
                 check the sender's clock, or re-sign (replay --resign)"
            ),
            (true, Reference::Arrival) => write!(
                f,
                "timestamp was {distance} old when the event was received (tolerance \
                 {tolerance}); it was sent late (queued or retried without re-signing) or the \
                 sender's clock is behind"
            ),
            (false, Reference::Arrival) => write!(
                f,
                "timestamp was {distance} in the future when the event was received \
                 (tolerance {tolerance}); check the sender's clock"
            ),
        }
    }
}

impl std::error::Error for Failure {}
