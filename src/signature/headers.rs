//! Reading the signature, id and timestamp a request presents, per scheme.

use super::crypto::{tags_equal, Key};
use super::{Encoding, Failure, Scheme};
use crate::event::Headers;

/// Standard Webhooks message id header.
pub(super) const STANDARD_ID: &str = "webhook-id";
/// Standard Webhooks timestamp header.
pub(super) const STANDARD_TIMESTAMP: &str = "webhook-timestamp";
/// Standard Webhooks signature header.
pub(super) const STANDARD_SIGNATURE: &str = "webhook-signature";
/// Stripe's signature header.
pub(super) const STRIPE_SIGNATURE: &str = "Stripe-Signature";
/// GitHub's legacy HMAC-SHA1 header, still sent next to the SHA-256 one.
pub(super) const GITHUB_LEGACY_SIGNATURE: &str = "X-Hub-Signature";
/// GitHub's SHA-256 signature header.
pub(super) const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
/// Shopify's signature header.
pub(super) const SHOPIFY_SIGNATURE: &str = "X-Shopify-Hmac-Sha256";
/// Slack's signature header.
pub(super) const SLACK_SIGNATURE: &str = "X-Slack-Signature";
/// Slack's timestamp header.
pub(super) const SLACK_TIMESTAMP: &str = "X-Slack-Request-Timestamp";

/// Signature headers that identify a scheme, to hint at the right one when a header is missing.
const TELLTALES: &[(&str, &str)] = &[
    (STANDARD_SIGNATURE, "standard"),
    ("svix-signature", "standard"),
    (STRIPE_SIGNATURE, "stripe"),
    (GITHUB_SIGNATURE, "github"),
    (GITHUB_LEGACY_SIGNATURE, "github"),
    (SHOPIFY_SIGNATURE, "shopify"),
    (SLACK_SIGNATURE, "slack"),
];

/// What a request presents: the signed id and timestamp (as sent) and the decoded signatures.
pub(super) struct Presented {
    /// Message id (`standard` only; empty otherwise).
    pub(super) id: String,
    /// Timestamp exactly as sent, since that text is what was signed; empty if none.
    pub(super) timestamp_text: String,
    /// The parsed timestamp, for schemes that sign one.
    pub(super) timestamp: Option<i64>,
    /// Every usable signature, each 32 bytes.
    signatures: Vec<Vec<u8>>,
}

impl Presented {
    /// Index of the first key whose tag over `prefix` + `body` equals any presented signature.
    pub(super) fn matching_key(&self, keys: &[Key], prefix: &[u8], body: &[u8]) -> Option<usize> {
        keys.iter().position(|key| {
            let tag = key.tag(prefix, body);
            self.signatures.iter().any(|sig| tags_equal(&tag, sig))
        })
    }
}

/// Reads what `headers` present for `scheme`.
pub(super) fn presented(scheme: &Scheme, headers: &Headers) -> Result<Presented, Failure> {
    match scheme {
        Scheme::Standard => standard(headers),
        Scheme::Stripe => stripe(headers),
        Scheme::Github => untimed(scheme, headers, GITHUB_SIGNATURE, "sha256=", Encoding::Hex),
        Scheme::Shopify => untimed(scheme, headers, SHOPIFY_SIGNATURE, "", Encoding::Base64),
        Scheme::Slack => slack(headers),
        Scheme::Hmac(options) => untimed(
            scheme,
            headers,
            &options.header,
            &options.prefix,
            options.encoding,
        ),
    }
}

/// Whether `name` is a valid HTTP header name (a non-empty RFC 9110 token).
pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The value of the first header called `name` (case-insensitive), trimmed.
fn find<'h>(headers: &'h Headers, name: &str) -> Option<&'h str> {
    headers.get(name).map(str::trim)
}

/// Like [`find`], but a missing header is a [`Failure::MissingHeader`].
fn require<'h>(scheme: &Scheme, headers: &'h Headers, name: &str) -> Result<&'h str, Failure> {
    find(headers, name).ok_or_else(|| missing(scheme, name, headers))
}

/// A missing-header failure, noting another scheme whose signature header is present.
fn missing(scheme: &Scheme, name: &str, headers: &Headers) -> Failure {
    let looks_like = TELLTALES
        .iter()
        .filter(|(_, other)| *other != scheme.name())
        .find(|(header, _)| find(headers, header).is_some())
        .map(|(_, other)| (*other).to_owned());
    Failure::MissingHeader {
        header: name.to_owned(),
        scheme: scheme.name().to_owned(),
        looks_like,
    }
}

/// A malformed-header failure.
fn malformed(header: &str, detail: impl Into<String>) -> Failure {
    Failure::MalformedHeader {
        header: header.to_owned(),
        detail: detail.into(),
    }
}

/// Parses a Unix timestamp in whole seconds.
fn parse_timestamp(header: &str, what: &str, text: &str) -> Result<i64, Failure> {
    text.parse().map_err(|_| {
        let shown: String = text.chars().take(40).collect();
        malformed(
            header,
            format!("{what} `{shown}` is not a Unix timestamp in whole seconds"),
        )
    })
}

/// The usable signatures, or a malformed-header failure explaining `problem` if there are none.
fn usable(header: &str, found: Vec<Vec<u8>>, problem: String) -> Result<Vec<Vec<u8>>, Failure> {
    if found.is_empty() {
        Err(malformed(header, problem))
    } else {
        Ok(found)
    }
}

/// Standard Webhooks (or Svix): space-separated `v1,<base64>` entries, other versions ignored.
fn standard(headers: &Headers) -> Result<Presented, Failure> {
    let scheme = &Scheme::Standard;
    let (family, value) = ["webhook-", "svix-"]
        .into_iter()
        .find_map(|family| find(headers, &format!("{family}signature")).map(|v| (family, v)))
        .ok_or_else(|| missing(scheme, STANDARD_SIGNATURE, headers))?;
    let header = format!("{family}signature");
    let id = standard_companion(headers, family, "id")?;
    let timestamp_text = standard_companion(headers, family, "timestamp")?;
    let timestamp = parse_timestamp(&format!("{family}timestamp"), "value", timestamp_text)?;

    let mut found = Vec::new();
    let mut problem = None;
    for entry in value.split_whitespace() {
        let Some(("v1", signature)) = entry.split_once(',') else {
            continue;
        };
        match Encoding::Base64.decode_signature(signature) {
            Ok(bytes) => found.push(bytes),
            Err(why) => {
                problem.get_or_insert(format!("its v1 signature {why}"));
            }
        }
    }
    let problem = problem.unwrap_or_else(|| {
        "it holds no v1 signature; expected `v1,<base64>` entries separated by spaces".to_owned()
    });
    Ok(Presented {
        id: id.to_owned(),
        timestamp_text: timestamp_text.to_owned(),
        timestamp: Some(timestamp),
        signatures: usable(&header, found, problem)?,
    })
}

/// The `id` or `timestamp` header of the same family (`webhook-` or `svix-`) as the signature,
/// falling back to the other family.
fn standard_companion<'h>(
    headers: &'h Headers,
    family: &str,
    field: &str,
) -> Result<&'h str, Failure> {
    let name = format!("{family}{field}");
    let other = if family == "svix-" {
        "webhook-"
    } else {
        "svix-"
    };
    find(headers, &name)
        .or_else(|| find(headers, &format!("{other}{field}")))
        .ok_or_else(|| missing(&Scheme::Standard, &name, headers))
}

/// Stripe: `t=<ts>,v1=<hex>[,v1=<hex>...]`; `v0=` and unknown keys are ignored.
fn stripe(headers: &Headers) -> Result<Presented, Failure> {
    let value = require(&Scheme::Stripe, headers, STRIPE_SIGNATURE)?;
    let mut timestamp_text = None;
    let mut found = Vec::new();
    let mut problem = None;
    for (key, item) in value.split(',').filter_map(|item| item.split_once('=')) {
        match key.trim() {
            "t" => {
                timestamp_text.get_or_insert(item.trim());
            }
            "v1" => match Encoding::Hex.decode_signature(item.trim()) {
                Ok(bytes) => found.push(bytes),
                Err(why) => {
                    problem.get_or_insert(format!("its v1 signature {why}"));
                }
            },
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or_else(|| {
        malformed(
            STRIPE_SIGNATURE,
            "it has no t=<timestamp> entry; expected `t=<unix seconds>,v1=<hex>`",
        )
    })?;
    let timestamp = parse_timestamp(STRIPE_SIGNATURE, "its t=", timestamp_text)?;
    let problem = problem.unwrap_or_else(|| {
        "it holds no v1= signature (v0= and other entries are not checked); \
         expected `t=<unix seconds>,v1=<hex>`"
            .to_owned()
    });
    Ok(Presented {
        id: String::new(),
        timestamp_text: timestamp_text.to_owned(),
        timestamp: Some(timestamp),
        signatures: usable(STRIPE_SIGNATURE, found, problem)?,
    })
}

/// Slack: `X-Slack-Signature: v0=<hex>` with `X-Slack-Request-Timestamp`.
fn slack(headers: &Headers) -> Result<Presented, Failure> {
    let scheme = &Scheme::Slack;
    let signature = require(scheme, headers, SLACK_SIGNATURE)?;
    let timestamp_text = require(scheme, headers, SLACK_TIMESTAMP)?;
    let timestamp = parse_timestamp(SLACK_TIMESTAMP, "value", timestamp_text)?;
    Ok(Presented {
        id: String::new(),
        timestamp_text: timestamp_text.to_owned(),
        timestamp: Some(timestamp),
        signatures: vec![prefixed_signature(
            SLACK_SIGNATURE,
            signature,
            "v0=",
            Encoding::Hex,
        )?],
    })
}

/// A single `<prefix><signature>` header over the bare body (github, shopify, hmac).
fn untimed(
    scheme: &Scheme,
    headers: &Headers,
    header: &str,
    prefix: &str,
    encoding: Encoding,
) -> Result<Presented, Failure> {
    let value = require(scheme, headers, header)?;
    Ok(Presented {
        id: String::new(),
        timestamp_text: String::new(),
        timestamp: None,
        signatures: vec![prefixed_signature(header, value, prefix, encoding)?],
    })
}

/// Decodes `<prefix><signature>`, explaining what was expected if it does not fit.
fn prefixed_signature(
    header: &str,
    value: &str,
    prefix: &str,
    encoding: Encoding,
) -> Result<Vec<u8>, Failure> {
    let expected = format!("expected `{prefix}<{encoding} HMAC-SHA256>`");
    let Some(signature) = value.strip_prefix(prefix) else {
        let hint = if value.starts_with("sha1=") {
            " (it holds a SHA-1 signature, which this tool does not check)"
        } else {
            ""
        };
        return Err(malformed(
            header,
            format!("it does not start with `{prefix}`{hint}; {expected}"),
        ));
    };
    encoding
        .decode_signature(signature)
        .map_err(|why| malformed(header, format!("its signature {why}; {expected}")))
}
