//! The providers' catalogues: each provider's headers, id shape and signature scheme, and its
//! events as JSON documents under `src/send/samples/data/PROVIDER/` (embedded in the binary).
//!
//! A document is `{"description": "...", "body": {...}}`, optionally with `"headers"` of its
//! own and `"encoding": "form"`; its strings use the template language of
//! [`super::expr`], and a string that is exactly `{{include "PROVIDER/NAME"}}` stands for the
//! shared fragment `data/PROVIDER/_NAME.json` (GitHub's repository and sender objects...).

mod github;
mod shopify;
mod slack;
mod standard;
mod stripe;

use serde_json::Value;

use super::document::Document;
use super::expr::{self, Scope};
use super::{IdFormat, Sample};

/// One provider's conventions and events.
#[derive(Debug)]
pub struct Provider {
    /// The name before the colon: `stripe`.
    pub name: &'static str,
    /// For headings: `Stripe`.
    pub title: &'static str,
    /// The signature scheme (`--sign` picks it by itself).
    pub scheme: Option<&'static str>,
    pub id_format: IdFormat,
    /// Headers sent with every event, in the template language (`{{event_id}}`, `{{topic}}`).
    pub headers: &'static [(&'static str, &'static str)],
    /// `(event, document)`: `("payment_intent.succeeded", include_str!(...))`.
    pub events: &'static [(&'static str, &'static str)],
    /// `(name, JSON)` fragments that documents include.
    pub fragments: &'static [(&'static str, &'static str)],
}

/// Every provider, in `send --list` order.
pub static ALL: &[&Provider] = &[
    &stripe::STRIPE,
    &github::GITHUB,
    &shopify::SHOPIFY,
    &slack::SLACK,
    &standard::STANDARD,
];

/// The provider called `name`.
pub fn find(name: &str) -> Option<&'static Provider> {
    ALL.iter()
        .copied()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A built-in fragment, `PROVIDER/NAME`, parsed.
pub fn fragment(name: &str) -> Option<Value> {
    let (provider, fragment) = name.split_once('/')?;
    let text = find(provider)?
        .fragments
        .iter()
        .find(|(n, _)| *n == fragment)?
        .1;
    serde_json::from_str(text).ok()
}

impl Provider {
    /// The provider's headers for one event.
    pub(super) fn headers(&self, scope: &Scope<'_>) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter_map(|(name, template)| {
                let pieces = expr::parse(template).ok()?;
                Some(((*name).to_owned(), scope.render_text(&pieces).ok()?))
            })
            .collect()
    }

    /// The provider's built-in samples.
    pub(super) fn samples(&'static self) -> impl Iterator<Item = Sample> {
        self.events.iter().map(move |(event, text)| {
            let name = format!("{}:{event}", self.name);
            // Every built-in document is checked by the tests; a broken one is a bug here.
            let parsed: serde_json::Map<String, Value> = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("built-in sample {name} is not JSON: {e}"));
            let document = Document::from_value(&parsed, &fragment)
                .unwrap_or_else(|e| panic!("built-in sample {name}: {e}"));
            let description = parsed
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            Sample::document(name, description, Some(self), document)
        })
    }
}
