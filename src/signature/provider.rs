//! Provider headers that accompany a signature but are not signed.

use std::time::{Duration, UNIX_EPOCH};

use super::{Scheme, SignRequest};

/// The provider's usual non-signature headers, for `send --sign <scheme>`:
/// GitHub's `X-GitHub-Event` (event type, default `ping`) and `X-GitHub-Delivery`; Shopify's
/// `X-Shopify-Topic` (when there is an event type), `X-Shopify-Webhook-Id` and
/// `X-Shopify-Triggered-At`. The other schemes send none beyond what [`sign`](super::sign) returns.
pub fn provider_headers(scheme: &Scheme, req: &SignRequest) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match scheme {
        Scheme::Github => {
            let event = req.event_type.unwrap_or("ping");
            out.push(("X-GitHub-Event", event.to_owned()));
            out.push(("X-GitHub-Delivery", req.id.to_owned()));
        }
        Scheme::Shopify => {
            if let Some(topic) = req.event_type {
                out.push(("X-Shopify-Topic", topic.to_owned()));
            }
            out.push(("X-Shopify-Webhook-Id", req.id.to_owned()));
            out.push(("X-Shopify-Triggered-At", rfc3339_utc(req.timestamp)));
        }
        _ => {}
    }
    out.into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

/// Formats Unix seconds as RFC 3339 UTC (`2023-11-14T22:13:20Z`), as in Shopify's
/// `X-Shopify-Triggered-At`. Times before 1970 or after 9999 are clamped to those ends.
pub(super) fn rfc3339_utc(unix_secs: i64) -> String {
    const LAST: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let secs = u64::try_from(unix_secs).unwrap_or(0).min(LAST);
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}
