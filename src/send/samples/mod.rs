//! Sample events for `hookctl send`: the seed's eight generic samples ([`generic`]), the
//! providers' own events (`stripe:payment_intent.succeeded`, `github:push`, ... in
//! [`providers`], written as JSON documents in the template language of [`expr`]), flows
//! ([`flows`]) and the user's own samples and flows ([`user`]).
//!
//! Building is a pure function of the event id (or a flow's shared key) and the creation time:
//! secondary ids (payment ids, commit shas) are derived from them, so a fresh event id gives
//! fresh secondary ids and the same inputs always give the same bytes.
//!
//! For bulk sending, [`Sample::placeholder_body`] gives the body with placeholders where those
//! derived values go, and a [`Template`] compiled from it renders each event's body by
//! splicing them into fixed JSON text.

mod catalogue;
mod document;
mod expr;
pub mod flows;
mod generic;
mod ids;
pub mod providers;
mod template;
pub mod user;

use bytes::Bytes;
use serde_json::{json, Value};

pub use catalogue::{Catalogue, Entry, ListError};
pub use document::Document;
pub use expr::EvalError;
pub use generic::API_VERSION;
pub use ids::IdFormat;
pub use providers::Provider;
pub use template::Template;

use crate::error::ConfigError;

/// One sample event.
#[derive(Debug)]
pub struct Sample {
    /// The name given to `send`: `payment_success`, or `PROVIDER:EVENT`.
    pub name: String,
    /// One line for `send --list`.
    pub description: String,
    /// The provider whose headers, ids and signature scheme the sample takes.
    pub provider: Option<&'static Provider>,
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// A generic sample: its `data` inside the generic envelope.
    Generic(fn(&Ctx<'_>) -> Value),
    /// A whole body (and headers) in the template language.
    Document(Document),
}

/// The built-in samples (generic, then each provider's), in the order `send --list` shows them.
pub fn all() -> &'static [Sample] {
    catalogue::builtin()
}

/// The built-in sample called `name`. An unknown name gives a message suggesting the closest
/// one.
pub fn find(name: &str) -> Result<&'static Sample, ConfigError> {
    match Catalogue::builtin().find(name)? {
        Entry::Sample(sample) => Ok(sample),
        Entry::Flow(_) => Err(ConfigError::UnknownSample {
            name: name.to_owned(),
            suggestion: None,
            known: "(that is a flow)".to_owned(),
        }),
    }
}

impl Sample {
    /// A sample defined by a [`Document`].
    pub fn document(
        name: String,
        description: String,
        provider: Option<&'static Provider>,
        document: Document,
    ) -> Sample {
        Sample {
            name,
            description,
            provider,
            source: Source::Document(document),
        }
    }

    /// The event part of the name (`push` in `github:push`; the whole name when it has no
    /// provider).
    pub fn topic(&self) -> &str {
        self.name
            .split_once(':')
            .map_or(self.name.as_str(), |(_, event)| event)
    }

    /// The body of this sample with the given event id and creation time (unix seconds).
    pub fn build(&self, id: &str, created_unix: i64) -> Value {
        // Built-in and user documents are checked when loaded, so a single event always builds.
        self.build_step(id, id, created_unix, &[])
            .unwrap_or(Value::Null)
    }

    /// The body for one step of a flow: `key` is what derived values come from (shared by
    /// every step, so ids carry over), `steps` the earlier steps' names and bodies.
    pub fn build_step(
        &self,
        id: &str,
        key: &str,
        created: i64,
        steps: &[(String, Value)],
    ) -> Result<Value, EvalError> {
        match &self.source {
            Source::Generic(data) => Ok(generic::envelope(
                &self.name,
                *data,
                &Ctx::Real { id, created },
            )),
            Source::Document(doc) => doc.body(&expr::Scope::Real {
                id,
                key,
                created,
                topic: self.topic(),
                steps,
            }),
        }
    }

    /// The body with placeholders where the id, the creation time and what derives from them
    /// go; [`Template::compile`] turns it (with any `--set` applied) into a template.
    pub fn placeholder_body(&self) -> Value {
        match &self.source {
            Source::Generic(data) => generic::envelope(&self.name, *data, &Ctx::Placeholders),
            Source::Document(doc) => doc
                .body(&expr::Scope::Placeholders {
                    topic: self.topic(),
                })
                .unwrap_or(Value::Null),
        }
    }

    /// The headers the provider sends with this event (its user agent, event name, delivery
    /// id...), before any signature.
    pub fn headers(&self, id: &str, key: &str, created: i64) -> Vec<(String, String)> {
        let scope = expr::Scope::Real {
            id,
            key,
            created,
            topic: self.topic(),
            steps: &[],
        };
        let mut out: Vec<(String, String)> = Vec::new();
        if let Some(provider) = self.provider {
            out.extend(provider.headers(&scope));
        }
        if let Source::Document(doc) = &self.source {
            for (name, value) in doc.headers(&scope) {
                out.retain(|(n, _)| !n.eq_ignore_ascii_case(&name));
                out.push((name, value));
            }
        }
        out
    }

    /// The bytes sent for `body`: JSON, or form fields for form-encoded samples (Slack's slash
    /// commands).
    pub fn encode(&self, body: &Value) -> Bytes {
        match &self.source {
            Source::Document(doc) => doc.encode(body),
            Source::Generic(_) => Bytes::from(body.to_string()),
        }
    }

    /// How this sample's event ids look.
    pub fn id_format(&self) -> IdFormat {
        self.provider.map_or(IdFormat::Event, |p| p.id_format)
    }
}

/// What a generic sample's `data` is built from: a real id and time, or placeholders for a
/// template.
enum Ctx<'a> {
    Real { id: &'a str, created: i64 },
    Placeholders,
}

impl Ctx<'_> {
    fn id(&self) -> Value {
        match self {
            Ctx::Real { id, .. } => json!(id),
            Ctx::Placeholders => json!(template::placeholder("I")),
        }
    }

    fn created(&self) -> Value {
        match self {
            Ctx::Real { created, .. } => json!(created),
            Ctx::Placeholders => json!(template::placeholder("C")),
        }
    }

    /// `len` lowercase hex digits derived from the event id and `salt`.
    fn hex(&self, salt: &str, len: usize) -> String {
        match self {
            Ctx::Real { id, .. } => template::hex(id, salt, len),
            Ctx::Placeholders => template::placeholder(&format!("h{len}:{salt}")),
        }
    }

    /// Like [`Ctx::hex`], in upper case.
    fn hex_upper(&self, salt: &str, len: usize) -> String {
        match self {
            Ctx::Real { id, .. } => template::hex(id, salt, len).to_ascii_uppercase(),
            Ctx::Placeholders => template::placeholder(&format!("H{len}:{salt}")),
        }
    }

    /// `created + offset_secs` as RFC 3339 in UTC, clamped to years 1970 to 9999.
    fn time(&self, offset_secs: i64) -> String {
        match self {
            Ctx::Real { created, .. } => template::time(*created, offset_secs),
            Ctx::Placeholders => template::placeholder(&format!("T{offset_secs}")),
        }
    }

    /// The date part (`YYYY-MM-DD`) of [`Ctx::time`].
    fn date(&self, offset_secs: i64) -> String {
        match self {
            Ctx::Real { created, .. } => template::date(*created, offset_secs),
            Ctx::Placeholders => template::placeholder(&format!("D{offset_secs}")),
        }
    }
}

#[cfg(test)]
mod tests;

/// `unix` as RFC 3339 UTC (`2026-01-01T00:00:00Z`), clamped to years 1970 to 9999.
pub fn template_time(unix: i64) -> String {
    template::time(unix, 0)
}
