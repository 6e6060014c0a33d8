//! Building outgoing events for `send`, and (re-)signing them for `send --sign` and
//! `replay --resign`.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::deliver::Prepare;
use crate::event::jsonpath::{Assignment, PathError};
use crate::event::{generate_id, Event, Headers, Notes, ID_HEADER, ID_HEADERS, TYPE_HEADERS};
use crate::send::samples::{Sample, Template};
use crate::signature::{self, Scheme, Secret, SecretError, SignRequest};

/// The header `send --tag` and `replay --tag` add, and `listen --only-tag` reads.
pub const TAG_HEADER: &str = "x-hookctl-tag";

/// The `user-agent` `send` gives its events, unless `-H` names another.
pub const USER_AGENT: &str = concat!("hookctl/", env!("CARGO_PKG_VERSION"));

/// Where an outgoing body comes from.
pub enum BodySource {
    /// A built-in sample with `--set` and `--set-new` overrides applied.
    Sample {
        sample: &'static Sample,
        overrides: Overrides,
    },
    /// The user's own bytes, sent as they are.
    Raw(Bytes),
}

/// The `--set` and `--set-new` assignments for a body, and (for a sample) the body template
/// they give, compiled on first use so that each event only splices in its id and times
/// instead of building and serialising a JSON tree (and parsing it back for its type).
#[derive(Debug, Default)]
pub struct Overrides {
    assignments: Vec<Assignment>,
    compiled: OnceLock<Option<Compiled>>,
}

#[derive(Debug)]
struct Compiled {
    template: Template,
    /// The type the body names (`type`, `event`, ...), the same for every event.
    body_type: Option<String>,
    /// The body's `id` is the event id it is rendered with (unless `--set id=...`).
    shows_id: bool,
}

impl FromIterator<Assignment> for Overrides {
    fn from_iter<I: IntoIterator<Item = Assignment>>(iter: I) -> Self {
        Overrides {
            assignments: iter.into_iter().collect(),
            compiled: OnceLock::new(),
        }
    }
}

impl Overrides {
    /// True when there is nothing to change.
    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
    }

    /// Applies the assignments to `value`, a body `document` names in messages: the sample's
    /// name, or "the --data body".
    fn apply(&self, value: &mut serde_json::Value, document: &str) -> Result<(), ComposeError> {
        for assignment in &self.assignments {
            assignment
                .apply(value)
                .map_err(|cause| ComposeError::Override {
                    flag: if assignment.adds {
                        "--set-new"
                    } else {
                        "--set"
                    },
                    text: assignment.text.clone(),
                    document: document.to_owned(),
                    cause: Box::new(cause),
                })?;
        }
        Ok(())
    }

    /// The sample's body for `id` and `created`, built from scratch.
    fn build(&self, sample: &Sample, id: &str, created: i64) -> Result<Bytes, ComposeError> {
        let mut value = sample.build(id, created);
        self.apply(&mut value, sample.name)?;
        // A JSON value always serialises.
        Ok(Bytes::from(value.to_string()))
    }

    /// A `--data` body with the assignments applied: it must be JSON, and is sent
    /// re-serialised (compact, keys in their order).
    pub fn edit_body(&self, body: &[u8]) -> Result<Bytes, ComposeError> {
        let mut value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| ComposeError::NotJson(e.to_string()))?;
        self.apply(&mut value, "the --data body")?;
        Ok(Bytes::from(value.to_string()))
    }

    /// The compiled template, or `None` when it cannot stand in for [`Overrides::build`].
    fn compiled(&self, sample: &Sample) -> Option<&Compiled> {
        self.compiled.get_or_init(|| self.compile(sample)).as_ref()
    }

    fn compile(&self, sample: &Sample) -> Option<Compiled> {
        let mut value = sample.placeholder_body();
        self.apply(&mut value, sample.name).ok()?;
        let template = Template::compile(&value)?;
        // Only a template that gives exactly what building from scratch gives is used.
        let mut types = Vec::with_capacity(2);
        let mut shows_id = true;
        for (id, created) in [("evt_Check1", 1_767_225_601), ("evt_\"2\"", 0)] {
            let built = self.build(sample, id, created).ok()?;
            if template.render(id, created) != built {
                return None;
            }
            let parsed = Event::from_parts("POST", "/", None, Headers::new(), built, UNIX_EPOCH);
            shows_id &= parsed.id == id;
            types.push(parsed.event_type);
        }
        let body_type = types.pop()?;
        if types.pop()? != body_type {
            return None;
        }
        Some(Compiled {
            template,
            body_type,
            shows_id,
        })
    }
}

/// Why an event cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// A `--set` or `--set-new` that does not apply to the body.
    #[error("{flag} {text}: {}", explain(cause, document))]
    Override {
        flag: &'static str,
        text: String,
        /// The sample's name, or "the --data body".
        document: String,
        cause: Box<PathError>,
    },
    /// `--set` with a `--data` body that is not JSON.
    #[error("--set and --set-new edit JSON, and the --data body is not JSON: {0}")]
    NotJson(String),
    /// A secret the scheme cannot sign with.
    #[error(transparent)]
    Sign(#[from] SecretError),
}

/// Why an assignment failed, naming the document a missing field is missing from.
fn explain(cause: &PathError, document: &str) -> String {
    match cause {
        PathError::NoField { path, nearest } => {
            format!("no field {path} in {document}{nearest} (use --set-new to add a field)")
        }
        other => other.to_string(),
    }
}

/// Signs events with one scheme and secret.
pub struct Signer {
    pub scheme: Scheme,
    pub secret: Secret,
}

impl Signer {
    /// A signer, checking up front that `secret` is usable with `scheme` (e.g. valid base64
    /// for `standard`), so a bad secret is reported before anything is sent.
    pub fn new(scheme: Scheme, secret: Secret) -> Result<Signer, SecretError> {
        let probe = SignRequest {
            id: "",
            timestamp: 0,
            body: b"",
            event_type: None,
        };
        signature::sign(&scheme, &secret, &probe)?;
        Ok(Signer { scheme, secret })
    }

    /// Replaces the event's signature headers with fresh ones for `timestamp`. On error the
    /// event is left as it was, old signature included.
    pub fn apply(&self, event: &mut Event, timestamp: i64) -> Result<(), SecretError> {
        let request = SignRequest {
            id: &event.id,
            timestamp,
            body: &event.body,
            event_type: event.event_type.as_deref(),
        };
        let headers = signature::sign(&self.scheme, &self.secret, &request)?;
        for name in self.scheme.signature_headers() {
            event.headers.remove(&name);
        }
        event.headers.extend(headers);
        Ok(())
    }

    /// A hook for the delivery engine that signs afresh (new timestamp) every attempt from
    /// `from_attempt` on: 1 for replays, 2 for events signed when they were built.
    pub fn resign_hook(self: Arc<Self>, from_attempt: u32) -> Prepare {
        Arc::new(move |event: &mut Event, attempt: u32| {
            if attempt >= from_attempt {
                // The scheme and secret were checked when the signer was built.
                let _ = self.apply(event, unix_now());
            }
        })
    }

    /// Adds the provider's usual headers (e.g. X-GitHub-Event) that the event does not carry.
    pub fn add_provider_headers(&self, event: &mut Event, timestamp: i64) {
        let request = SignRequest {
            id: &event.id,
            timestamp,
            body: &event.body,
            event_type: event.event_type.as_deref(),
        };
        let extra = signature::provider_headers(&self.scheme, &request);
        for (name, value) in extra {
            if !event.headers.contains(&name) {
                event.headers.push(&name, &value);
            }
        }
    }
}

/// Everything `send` needs to build its events.
pub struct EventSpec {
    pub body: BodySource,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: Headers,
    pub tag: Option<String>,
    pub signer: Option<Arc<Signer>>,
    /// Pinned id (`--id`); otherwise each event gets a fresh one.
    pub id: Option<String>,
    /// Pinned signature timestamp (`--timestamp`); otherwise now.
    pub timestamp: Option<i64>,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl EventSpec {
    /// Checks that the sample overrides apply, so errors show before anything is sent.
    pub fn validate(&self) -> Result<(), ComposeError> {
        self.build().map(|_| ())
    }

    /// Builds one event with a fresh id and timestamp (unless pinned).
    pub fn build(&self) -> Result<Event, ComposeError> {
        let id = self.id.clone().unwrap_or_else(generate_id);
        let timestamp = self.timestamp.unwrap_or_else(unix_now);
        // With a compiled sample template, the body's type is known without parsing it.
        let (body, body_type, body_shows_id) = match &self.body {
            BodySource::Sample { sample, overrides } => match overrides.compiled(sample) {
                Some(c) => (
                    Bytes::from(c.template.render(&id, timestamp)),
                    Some(c.body_type.clone()),
                    c.shows_id,
                ),
                None => (overrides.build(sample, &id, timestamp)?, None, false),
            },
            BodySource::Raw(bytes) => (bytes.clone(), None, false),
        };
        let headers = self.headers_for(&body, body_type.is_some());
        let received_at = UNIX_EPOCH + std::time::Duration::from_secs(timestamp.max(0) as u64);
        let mut event = match body_type {
            Some(body_type) => Event {
                event_type: TYPE_HEADERS
                    .iter()
                    .find_map(|h| headers.get(h))
                    .map(str::to_owned)
                    .or(body_type),
                id: String::new(),
                received_at,
                method: self.method.clone(),
                path: self.path.clone(),
                query: self.query.clone().filter(|q| !q.is_empty()),
                headers,
                body,
                notes: Notes::default(),
            },
            None => Event::from_parts(
                self.method.clone(),
                self.path.clone(),
                self.query.clone(),
                headers,
                body,
                received_at,
            ),
        };
        if self.id.is_some() || matches!(self.body, BodySource::Sample { .. }) {
            event.id = id;
        }
        // The id send reports is the one the receiver sees. A sample that shows its id, with
        // no id header and no signature, needs no check: the common case of a load test.
        let checked = !body_shows_id || self.signer.is_some() || self.has_id_header();
        // A raw body's event already has the id its headers and body show (from_parts).
        let sample = matches!(self.body, BodySource::Sample { .. });
        if checked && sample && self.id.is_none() {
            if let Some(seen) = event.visible_id().filter(|seen| *seen != event.id) {
                event.id = seen;
            }
        }
        if let Some(signer) = &self.signer {
            signer.add_provider_headers(&mut event, timestamp);
            signer.apply(&mut event, timestamp)?;
        }
        if checked && event.visible_id().as_deref() != Some(event.id.as_str()) {
            let id = event.id.clone();
            event.headers.push(ID_HEADER, &id);
        }
        Ok(event)
    }
}

impl EventSpec {
    /// True when a `-H` header carries an event id (`webhook-id: ...`).
    fn has_id_header(&self) -> bool {
        ID_HEADERS.iter().any(|h| self.headers.contains(h))
    }

    /// The default `content-type` (unless `-H` gives one) and `user-agent` (likewise), then
    /// the `-H` headers, then the tag.
    fn headers_for(&self, body: &[u8], json: bool) -> Headers {
        let mut headers = Headers::with_capacity(self.headers.len() + 3);
        if !self.headers.contains("content-type") {
            let content_type = if json {
                "application/json"
            } else {
                guess_content_type(body)
            };
            headers.push("content-type", content_type);
        }
        if !self.headers.contains("user-agent") {
            headers.push("user-agent", USER_AGENT);
        }
        headers.extend(&self.headers);
        if let Some(tag) = &self.tag {
            headers.push(TAG_HEADER, tag);
        }
        headers
    }
}

fn guess_content_type(body: &[u8]) -> &'static str {
    if body.is_empty() || serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else if std::str::from_utf8(body).is_ok() {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::from_parts(
            "POST",
            "/",
            None,
            [("webhook-signature", "v1,old")].into_iter().collect(),
            Bytes::from_static(b"{}"),
            UNIX_EPOCH,
        )
    }

    #[test]
    fn a_bad_secret_is_refused_up_front_and_leaves_the_event_alone() {
        let bad = || Secret::new("whsec_!!not-base64");
        let error = Signer::new(Scheme::Standard, bad())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("not valid base64"), "{error}");
        let signer = Signer {
            scheme: Scheme::Standard,
            secret: bad(),
        };
        let before = event();
        let mut e = before.clone();
        assert!(signer.apply(&mut e, 1).is_err());
        assert_eq!(e, before);
    }

    #[test]
    fn apply_replaces_the_old_signature() {
        let signer = Signer::new(Scheme::Standard, Secret::new("whsec_c2VjcmV0")).unwrap();
        let mut e = event();
        signer.apply(&mut e, 1).unwrap();
        let signatures: Vec<_> = e.headers.get_all("webhook-signature").collect();
        assert_eq!(signatures.len(), 1);
        assert_ne!(signatures[0], "v1,old");
        assert_eq!(e.header("webhook-timestamp"), Some("1"));
    }

    fn spec(overrides: &[(&str, serde_json::Value)], headers: &[(&str, &str)]) -> EventSpec {
        EventSpec {
            body: BodySource::Sample {
                sample: crate::send::samples::find("order_shipped").unwrap(),
                overrides: overrides
                    .iter()
                    .map(|(k, v)| Assignment::parse(&format!("{k}={v}"), false).unwrap())
                    .collect(),
            },
            method: "POST".into(),
            path: "/".into(),
            query: Some(String::new()),
            headers: headers.iter().copied().collect(),
            tag: None,
            signer: None,
            id: None,
            timestamp: Some(1_767_225_601),
        }
    }

    #[test]
    fn sample_events_come_from_the_template_and_match_a_parsed_event() {
        for spec in [
            spec(&[], &[]),
            spec(
                &[("type", "custom".into()), ("data.carrier", 7.into())],
                &[],
            ),
            spec(&[], &[("X-GitHub-Event", "push"), ("User-Agent", "mine/1")]),
        ] {
            let BodySource::Sample { sample, overrides } = &spec.body else {
                unreachable!()
            };
            assert!(overrides.compiled(sample).is_some());
            let event = spec.build().unwrap();
            let parsed = Event::from_parts(
                "POST",
                "/",
                None,
                event.headers.clone(),
                event.body.clone(),
                event.received_at,
            );
            assert_eq!(event.event_type, parsed.event_type);
            assert_eq!(parsed.id, event.id, "the body carries the event id");
            assert_eq!(event.query, None);
            let fresh = overrides.build(sample, &event.id, 1_767_225_601).unwrap();
            assert_eq!(event.body, fresh);
        }
    }

    #[test]
    fn send_names_itself_unless_told_otherwise() {
        let event = spec(&[], &[]).build().unwrap();
        assert_eq!(event.header("user-agent"), Some(USER_AGENT));
        assert_eq!(event.header("content-type"), Some("application/json"));
        let event = spec(&[], &[("User-Agent", "mine/1")]).build().unwrap();
        let agents: Vec<_> = event.headers.get_all("user-agent").collect();
        assert_eq!(agents, ["mine/1"]);
        assert_eq!(event.event_type.as_deref(), Some("order_shipped"));
    }

    fn overrides(assignments: &[(&str, bool)]) -> Overrides {
        assignments
            .iter()
            .map(|(text, adds)| Assignment::parse(text, *adds).unwrap())
            .collect()
    }

    fn built(name: &str, assignments: &[(&str, bool)]) -> Result<serde_json::Value, String> {
        let spec = EventSpec {
            body: BodySource::Sample {
                sample: crate::send::samples::find(name).unwrap(),
                overrides: overrides(assignments),
            },
            ..spec(&[], &[])
        };
        spec.build()
            .map(|e| serde_json::from_slice(&e.body).unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn set_on_a_missing_field_names_the_nearest_one() {
        assert_eq!(
            built("payment_success", &[("data.amout=1", false)]).unwrap_err(),
            "--set data.amout=1: no field data.amout in payment_success; did you mean \
             data.amount? (use --set-new to add a field)"
        );
        assert_eq!(
            built("order_created", &[("data.items.0.qty=2", false)]).unwrap_err(),
            "--set data.items.0.qty=2: no field data.items.0.qty in order_created; did you \
             mean data.line_items.0.quantity? (use --set-new to add a field)"
        );
        let body = built("order_created", &[("data.line_items.1.quantity=3", false)]).unwrap();
        assert_eq!(body["data"]["line_items"][1]["quantity"], 3);
        let err = built("payment_success", &[("data.amount.cents=1", true)]).unwrap_err();
        assert_eq!(
            err,
            "--set-new data.amount.cents=1: cannot set `data.amount.cents`: `data.amount` is a \
             number, not an object"
        );
    }

    #[test]
    fn the_event_id_is_the_one_the_body_or_an_id_header_shows() {
        let with = |assignments: &[(&str, bool)], headers: &[(&str, &str)], id: Option<&str>| {
            let spec = EventSpec {
                body: BodySource::Sample {
                    sample: crate::send::samples::find("payment_success").unwrap(),
                    overrides: overrides(assignments),
                },
                id: id.map(str::to_owned),
                ..spec(&[], headers)
            };
            spec.build().unwrap()
        };
        let event = with(&[], &[], None);
        assert_eq!(event.visible_id(), Some(event.id.clone()));
        assert_eq!(event.header(ID_HEADER), None, "the body shows it");
        let event = with(&[("id=custom_1", false)], &[], None);
        assert_eq!(event.id, "custom_1");
        let event = with(&[], &[("Webhook-Id", "msg_1")], None);
        assert_eq!(event.id, "msg_1");
        // A pinned id the body does not show is sent in X-Hookctl-Id.
        let event = with(&[("id=custom_1", false)], &[], Some("evt_pinned"));
        assert_eq!(event.id, "evt_pinned");
        assert_eq!(event.header(ID_HEADER), Some("evt_pinned"));
        assert_eq!(event.visible_id().as_deref(), Some("evt_pinned"));
    }

    #[test]
    fn set_new_adds_fields_and_set_may_change_them() {
        let body = built(
            "payment_success",
            &[
                ("data.metadata.campaign.id=c1", true),
                ("data.metadata.campaign.id=c2", false),
            ],
        )
        .unwrap();
        assert_eq!(body["data"]["metadata"]["campaign"]["id"], "c2");
        assert_eq!(body["data"]["metadata"]["order_id"], "100001");
    }

    #[test]
    fn data_bodies_are_edited_the_same_way() {
        let edit = |assignments: &[(&str, bool)], body: &str| {
            overrides(assignments)
                .edit_body(body.as_bytes())
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .map_err(|e| e.to_string())
        };
        assert_eq!(
            edit(
                &[("b.c=2", false), ("z=true", true)],
                r#"{"a": 1, "b": {"c": 1}}"#
            )
            .unwrap(),
            r#"{"a":1,"b":{"c":2},"z":true}"#
        );
        assert_eq!(
            edit(&[("b.d=2", false)], r#"{"a": 1, "b": {"c": 1}}"#).unwrap_err(),
            "--set b.d=2: no field b.d in the --data body; b has c (use --set-new to add a field)"
        );
        let err = edit(&[("a=2", false)], "a=1").unwrap_err();
        assert!(
            err.starts_with("--set and --set-new edit JSON, and the --data body is not JSON: "),
            "{err}"
        );
    }
}
