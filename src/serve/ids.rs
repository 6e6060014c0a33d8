//! Channel ids and subscribe tokens: random bytes from the operating system's CSPRNG (through
//! rustls's ring provider), URL-safe base64 without padding. Only a token's SHA-256 is kept,
//! and it is compared in constant time.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bits in a channel id: 128, so ids cannot be guessed or enumerated.
pub const CHANNEL_BYTES: usize = 16;
/// Random bits in a token: 256.
pub const TOKEN_BYTES: usize = 32;
/// Length of a channel id: 16 bytes in unpadded base64.
pub const CHANNEL_ID_LEN: usize = 22;

/// `n` bytes from the system's secure random source, as unpadded URL-safe base64.
fn random_text(n: usize) -> Result<String, IdError> {
    let mut bytes = vec![0u8; n];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| IdError)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The system's random source failed.
#[derive(Debug, thiserror::Error)]
#[error("the system's secure random source failed; cannot make a channel id or token")]
pub struct IdError;

/// A new channel id.
pub fn new_channel_id() -> Result<String, IdError> {
    random_text(CHANNEL_BYTES)
}

/// A new subscribe token.
pub fn new_token() -> Result<String, IdError> {
    random_text(TOKEN_BYTES)
}

/// True when `text` has the shape of a channel id (so it is never used as a path otherwise).
pub fn is_channel_id(text: &str) -> bool {
    text.len() == CHANNEL_ID_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of a token, the only form of it the server keeps.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// True when `token` hashes to `hash`, compared in constant time.
pub fn token_matches(token: &str, hash: &[u8; 32]) -> bool {
    token_hash(token).ct_eq(hash).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_long_url_safe_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = new_channel_id().unwrap();
            assert!(is_channel_id(&id), "{id}");
            assert!(seen.insert(id));
        }
        let token = new_token().unwrap();
        assert_eq!(token.len(), 43);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }

    #[test]
    fn ids_are_uniformly_random() {
        // 2,000 ids of 16 bytes: every byte value turns up, about 125 times each.
        let mut counts = [0u32; 256];
        for _ in 0..2000 {
            let id = new_channel_id().unwrap();
            let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(id)
                .unwrap();
            assert_eq!(bytes.len(), CHANNEL_BYTES);
            for b in bytes {
                counts[b as usize] += 1;
            }
        }
        assert!(
            counts.iter().all(|&c| (60..=200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn tokens_match_only_themselves() {
        let token = new_token().unwrap();
        let hash = token_hash(&token);
        assert!(token_matches(&token, &hash));
        assert!(!token_matches("", &hash));
        assert!(!token_matches(&token[1..], &hash));
        assert!(!is_channel_id("../../etc/passwd"));
        assert!(!is_channel_id("metrics"));
    }
}
