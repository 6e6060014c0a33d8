//! HMAC-SHA256 keys, tags and their text encodings.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{Encoding, Scheme, Secret, SecretError};

type HmacSha256 = Hmac<Sha256>;

/// Length of an HMAC-SHA256 tag in bytes.
pub(super) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 tag.
pub(super) type Tag = [u8; TAG_LEN];

/// A keyed HMAC-SHA256 instance, ready to sign messages.
pub(super) struct Key(HmacSha256);

impl Key {
    /// Derives the HMAC key the scheme uses for `secret`: the base64-decoded secret (after an
    /// optional `whsec_`) for `standard`, the secret's UTF-8 bytes for every other scheme
    /// (Stripe's `whsec_` included).
    pub(super) fn derive(scheme: &Scheme, secret: &Secret) -> Result<Key, SecretError> {
        let text = secret.expose();
        if text.is_empty() {
            return Err(SecretError::new("the secret is empty"));
        }
        let bytes = match scheme {
            Scheme::Standard => standard_key(text)?,
            _ => text.as_bytes().to_vec(),
        };
        HmacSha256::new_from_slice(&bytes)
            .map(Key)
            .map_err(|_| SecretError::new("the HMAC implementation rejected the key"))
    }

    /// HMAC-SHA256 over `prefix` followed by `body`.
    pub(super) fn tag(&self, prefix: &[u8], body: &[u8]) -> Tag {
        let mut mac = self.0.clone();
        mac.update(prefix);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// GitHub's legacy `X-Hub-Signature`: HMAC-SHA1 over the body, keyed with the secret's bytes.
/// Only ever produced, never used to accept a request.
pub(super) fn legacy_sha1(secret: &Secret, body: &[u8]) -> [u8; 20] {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Decodes a Standard Webhooks secret: optional `whsec_`, then standard base64.
fn standard_key(text: &str) -> Result<Vec<u8>, SecretError> {
    let (rest, prefixed) = match text.strip_prefix("whsec_") {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    if rest.is_empty() {
        return Err(SecretError::new(
            "the secret is empty after its whsec_ prefix",
        ));
    }
    STANDARD.decode(rest).map_err(|_| {
        SecretError::new(if prefixed {
            "secret starts with whsec_ but the rest is not valid base64, \
             as the standard scheme requires"
        } else {
            "the standard scheme needs a base64 secret (optionally prefixed with whsec_), \
             and this one is not valid base64"
        })
    })
}

/// Compares a computed tag with a presented signature in constant time.
pub(super) fn tags_equal(tag: &Tag, presented: &[u8]) -> bool {
    tag.as_slice().ct_eq(presented).into()
}

impl Encoding {
    /// Writes signature bytes in this encoding.
    pub(super) fn encode(self, bytes: &[u8]) -> String {
        match self {
            Encoding::Hex => hex::encode(bytes),
            Encoding::Base64 => STANDARD.encode(bytes),
        }
    }

    /// Reads a presented signature, explaining (without echoing it) why it is unusable.
    pub(super) fn decode_signature(self, text: &str) -> Result<Vec<u8>, Undecodable> {
        let decoded = match self {
            Encoding::Hex => hex::decode(text).map_err(|_| Undecodable::Encoding(self)),
            Encoding::Base64 => STANDARD
                .decode(text)
                .map_err(|_| Undecodable::Encoding(self)),
        }?;
        if decoded.len() == TAG_LEN {
            Ok(decoded)
        } else {
            Err(Undecodable::Length(decoded.len()))
        }
    }
}

/// Why a presented signature cannot be read; worded to follow "its signature".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum Undecodable {
    #[error("is not valid {0}")]
    Encoding(Encoding),
    #[error("decodes to {0} bytes, but an HMAC-SHA256 signature is {TAG_LEN} bytes")]
    Length(usize),
}
