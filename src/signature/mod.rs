//! Webhook signing and verification, the way real providers do it.
//!
//! Pure functions only: no I/O, no printing. [`sign`] produces the headers a provider would
//! send, [`verify`] checks a received request and, when it fails, says why in a way a developer
//! can act on ([`Failure`]'s `Display`). Secrets never appear in any output.
//!
//! | scheme | signature header | signed bytes | encoding |
//! |---|---|---|---|
//! | `standard` (Standard Webhooks, Svix) | `webhook-signature: v1,<b64>` | `{id}.{ts}.{body}` | base64, key = base64 secret after `whsec_` |
//! | `stripe` | `Stripe-Signature: t=<ts>,v1=<hex>` | `{ts}.{body}` | hex, key = whole secret |
//! | `github` | `X-Hub-Signature-256: sha256=<hex>` | body | hex |
//! | `shopify` | `X-Shopify-Hmac-Sha256: <b64>` | body | base64 |
//! | `slack` | `X-Slack-Signature: v0=<hex>` | `v0:{ts}:{body}` | hex |
//! | `hmac` | chosen header, optional prefix | body | hex or base64 |
//!
//! All schemes use HMAC-SHA256.

mod crypto;
mod failure;
mod headers;
mod provider;
mod secret;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

pub use failure::{Failure, Reserialized, ThroughReencodingRelay};
pub use provider::provider_headers;
pub use secret::{Secret, SecretError};

use crate::event::Headers;
use crypto::Key;

/// How the generic `hmac` scheme writes the signature bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Lowercase hexadecimal (uppercase accepted when verifying).
    Hex,
    /// Standard base64 with padding.
    Base64,
}

/// Why a scheme or an encoding named on the command line cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("unknown encoding `{0}`; expected hex or base64")]
    UnknownEncoding(String),
    #[error("unknown signature scheme `{name}`; expected one of: {}", Scheme::NAMES.join(", "))]
    UnknownScheme { name: String },
    #[error(
        "the hmac scheme needs a header name and an encoding (hex or base64), \
         and optionally a prefix such as sha256="
    )]
    HmacOptionsMissing,
    #[error("`{0}` is not a valid header name for the hmac scheme")]
    InvalidHeader(String),
}

impl FromStr for Encoding {
    type Err = SchemeError;

    /// Parses `hex` or `base64` (alias `b64`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hex" => Ok(Encoding::Hex),
            "base64" | "b64" => Ok(Encoding::Base64),
            _ => Err(SchemeError::UnknownEncoding(s.to_owned())),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Hex => "hex",
            Encoding::Base64 => "base64",
        })
    }
}

/// Settings of the generic `hmac` scheme: HMAC-SHA256 over the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HmacOptions {
    /// Header that carries the signature, e.g. `X-Signature`.
    pub header: String,
    /// How the signature bytes are written.
    pub encoding: Encoding,
    /// Text before the encoded signature, e.g. `sha256=`; may be empty.
    pub prefix: String,
}

/// A webhook signature scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// Standard Webhooks (also Svix): `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard,
    /// Stripe: `Stripe-Signature: t=<ts>,v1=<hex>`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`.
    Github,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>`.
    Shopify,
    /// Slack: `X-Slack-Signature: v0=<hex>` and `X-Slack-Request-Timestamp`.
    Slack,
    /// Generic HMAC-SHA256 over the body in a header of the user's choice.
    Hmac(HmacOptions),
}

impl Scheme {
    /// Canonical scheme names, for help text and error messages.
    pub const NAMES: &'static [&'static str] =
        &["standard", "stripe", "github", "shopify", "slack", "hmac"];

    /// Looks a scheme up by name: `standard` (aliases `svix`, `standard-webhooks`), `stripe`,
    /// `github`, `shopify`, `slack` or `hmac`, case-insensitively.
    ///
    /// `hmac` needs `hmac` options (an error if `None`); the other schemes ignore them.
    pub fn from_name(name: &str, hmac: Option<HmacOptions>) -> Result<Scheme, SchemeError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "standard" | "svix" | "standard-webhooks" => Ok(Scheme::Standard),
            "stripe" => Ok(Scheme::Stripe),
            "github" => Ok(Scheme::Github),
            "shopify" => Ok(Scheme::Shopify),
            "slack" => Ok(Scheme::Slack),
            "hmac" => hmac_scheme(hmac),
            _ => Err(SchemeError::UnknownScheme {
                name: name.to_owned(),
            }),
        }
    }

    /// The canonical name of this scheme (one of [`Scheme::NAMES`]).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Standard => "standard",
            Scheme::Stripe => "stripe",
            Scheme::Github => "github",
            Scheme::Shopify => "shopify",
            Scheme::Slack => "slack",
            Scheme::Hmac(_) => "hmac",
        }
    }

    /// Lowercase names of the headers this scheme writes or reads for its signature, including
    /// the id/timestamp headers it signs and the `svix-*` aliases: what `replay --resign`
    /// strips before re-signing.
    pub fn signature_headers(&self) -> Vec<String> {
        let names: &[&str] = match self {
            Scheme::Standard => &[
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "svix-id",
                "svix-timestamp",
                "svix-signature",
            ],
            Scheme::Stripe => &["stripe-signature"],
            // GitHub also sends the legacy SHA-1 `X-Hub-Signature`; a re-signed request must
            // not keep a stale one.
            Scheme::Github => &["x-hub-signature-256", "x-hub-signature"],
            Scheme::Shopify => &["x-shopify-hmac-sha256"],
            Scheme::Slack => &["x-slack-signature", "x-slack-request-timestamp"],
            Scheme::Hmac(options) => return vec![options.header.to_ascii_lowercase()],
        };
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    /// Whether the scheme signs a timestamp (standard, stripe, slack).
    pub fn uses_timestamp(&self) -> bool {
        matches!(self, Scheme::Standard | Scheme::Stripe | Scheme::Slack)
    }

    /// Whether timestamps in the future are accepted however far ahead they are: Stripe's
    /// libraries only reject old ones; Standard Webhooks and Slack reject both directions.
    fn accepts_future_timestamps(&self) -> bool {
        matches!(self, Scheme::Stripe)
    }
}

/// Builds the `hmac` scheme, checking its options.
fn hmac_scheme(options: Option<HmacOptions>) -> Result<Scheme, SchemeError> {
    let options = options.ok_or(SchemeError::HmacOptionsMissing)?;
    if !headers::is_valid_name(&options.header) {
        return Err(SchemeError::InvalidHeader(options.header));
    }
    Ok(Scheme::Hmac(options))
}

/// What to sign.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// Message id (signed by `standard`; sent as a delivery id by `github` and `shopify`).
    pub id: &'a str,
    /// Unix seconds (signed by `standard`, `stripe` and `slack`).
    pub timestamp: i64,
    /// The exact body bytes to send.
    pub body: &'a [u8],
    /// Event type, for provider headers such as `X-GitHub-Event`.
    pub event_type: Option<&'a str>,
}

/// Signs `req` and returns the headers to set: the signature header(s) and the id/timestamp
/// headers the scheme signs, in the provider's usual spelling.
pub fn sign(
    scheme: &Scheme,
    secret: &Secret,
    req: &SignRequest,
) -> Result<Vec<(String, String)>, SecretError> {
    let key = Key::derive(scheme, secret)?;
    let ts = req.timestamp.to_string();
    let prefix = signed_prefix(scheme, req.id, &ts);
    let tag = key.tag(prefix.as_bytes(), req.body);
    let pairs = match scheme {
        Scheme::Standard => vec![
            (headers::STANDARD_ID, req.id.to_owned()),
            (headers::STANDARD_TIMESTAMP, ts),
            (
                headers::STANDARD_SIGNATURE,
                format!("v1,{}", Encoding::Base64.encode(&tag)),
            ),
        ],
        Scheme::Stripe => vec![(
            headers::STRIPE_SIGNATURE,
            format!("t={ts},v1={}", Encoding::Hex.encode(&tag)),
        )],
        Scheme::Github => vec![(
            headers::GITHUB_SIGNATURE,
            format!("sha256={}", Encoding::Hex.encode(&tag)),
        )],
        Scheme::Shopify => vec![(headers::SHOPIFY_SIGNATURE, Encoding::Base64.encode(&tag))],
        Scheme::Slack => vec![
            (headers::SLACK_TIMESTAMP, ts),
            (
                headers::SLACK_SIGNATURE,
                format!("v0={}", Encoding::Hex.encode(&tag)),
            ),
        ],
        Scheme::Hmac(options) => {
            let value = format!("{}{}", options.prefix, options.encoding.encode(&tag));
            return Ok(vec![(options.header.clone(), value)]);
        }
    };
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect())
}

/// Result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A signature matched; `secret_index` is the position in `secrets` of the secret that
    /// produced it (useful during key rotation).
    Valid {
        /// Index into the `secrets` passed to [`verify`].
        secret_index: usize,
    },
    /// No valid signature; the failure says why and how to fix it.
    Invalid(Failure),
}

/// Verifies a received request signed with `scheme` by any of `secrets`.
///
/// Header lookup is case-insensitive and takes the first of duplicate headers. Every secret is
/// tried against every signature presented (key rotation). `now` is Unix seconds;
/// `tolerance_secs == 0` disables the timestamp check.
///
/// Order of checks: secrets, then headers, then signature, then timestamp. A signature that
/// does not match is the more fundamental problem, so it is reported even when the timestamp is
/// also out of tolerance; `TimestampOutside` means "the signature is right but too old (or too
/// far in the future)", which re-signing fixes. Libraries check the timestamp first, but they
/// reject the same requests; only the explanation differs.
pub fn verify(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &Headers,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Verdict {
    match check(scheme, secrets, headers, body, now, tolerance_secs) {
        Ok(secret_index) => Verdict::Valid { secret_index },
        Err(failure) => Verdict::Invalid(failure),
    }
}

/// [`verify`] as a `Result`: the index of the matching secret, or why none matched.
fn check(
    scheme: &Scheme,
    secrets: &[Secret],
    headers: &Headers,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<usize, Failure> {
    let keys = derive_keys(scheme, secrets)?;
    let presented = headers::presented(scheme, headers)?;
    let prefix = signed_prefix(scheme, &presented.id, &presented.timestamp_text);
    let Some(index) = presented.matching_key(&keys, prefix.as_bytes(), body) else {
        let reserialized = Reserialized::detect(body, |candidate| {
            presented
                .matching_key(&keys, prefix.as_bytes(), candidate)
                .is_some()
        });
        return Err(Failure::Mismatch { reserialized });
    };
    if let Some(ts) = presented.timestamp {
        check_timestamp(scheme, ts, now, tolerance_secs)?;
    }
    Ok(index)
}

/// Derives one HMAC key per secret; a bad secret fails verification outright.
fn derive_keys(scheme: &Scheme, secrets: &[Secret]) -> Result<Vec<Key>, Failure> {
    if secrets.is_empty() {
        return Err(Failure::BadSecret {
            detail: "no secret given to verify with".to_owned(),
        });
    }
    secrets
        .iter()
        .enumerate()
        .map(|(index, secret)| {
            Key::derive(scheme, secret).map_err(|error| Failure::BadSecret {
                detail: if secrets.len() > 1 {
                    format!("secret #{}: {error}", index + 1)
                } else {
                    error.to_string()
                },
            })
        })
        .collect()
}

/// Rejects a timestamp further than `tolerance_secs` from `now` (only in the past for schemes
/// that accept future timestamps).
fn check_timestamp(scheme: &Scheme, ts: i64, now: i64, tolerance_secs: u64) -> Result<(), Failure> {
    let skew_secs = now.saturating_sub(ts);
    let beyond = skew_secs.unsigned_abs() > tolerance_secs;
    let in_future = skew_secs < 0;
    if tolerance_secs == 0 || !beyond || (in_future && scheme.accepts_future_timestamps()) {
        return Ok(());
    }
    Err(Failure::TimestampOutside {
        skew_secs,
        tolerance_secs,
    })
}

/// The bytes a scheme signs before the body (`{id}.{ts}.`, `{ts}.`, `v0:{ts}:` or nothing).
fn signed_prefix(scheme: &Scheme, id: &str, ts: &str) -> String {
    match scheme {
        Scheme::Standard => format!("{id}.{ts}."),
        Scheme::Stripe => format!("{ts}."),
        Scheme::Slack => format!("v0:{ts}:"),
        Scheme::Github | Scheme::Shopify | Scheme::Hmac(_) => String::new(),
    }
}
