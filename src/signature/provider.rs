//! Provider headers that accompany a signature but are not signed.

use super::{Scheme, SignRequest};
use crate::event::civil_from_days;

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
/// `X-Shopify-Triggered-At`.
pub(super) fn rfc3339_utc(unix_secs: i64) -> String {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}
