//! Signature checks at the relay (`serve --verify CHANNEL=SCHEME[:ENV]`): a delivery to a
//! checked channel that is forged, or signed too long ago (a replay past --tolerance), is
//! answered 401 and never stored, so it never reaches a laptop. A signed delivery whose id
//! (`webhook-id`, `svix-id`, `X-GitHub-Delivery`, `ce-id`) this channel already stored is
//! answered 200 with the first copy's sequence number and not stored again: a provider's retry
//! succeeds, and a replay within the tolerance reaches no one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use crate::event::{Event, ID_HEADERS};
use crate::send::compose::unix_now;
use crate::signature::{self, Scheme, Secret, Verdict};

/// Delivery ids remembered per channel for spotting duplicates.
const REMEMBERED_IDS: usize = 10_000;

/// How one channel's deliveries are checked.
pub struct EdgeCheck {
    pub scheme: Scheme,
    pub secrets: Vec<Secret>,
    pub tolerance_secs: u64,
}

/// The outcome of checking a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// Not checked (the channel has no --verify), or the signature is valid: store it.
    Store,
    /// Valid, but this channel already stored this delivery as `seq`.
    Duplicate(u64),
    /// Forged or replayed: why.
    Rejected(String),
}

/// The checks of every channel, and the delivery ids each has stored.
#[derive(Default)]
pub struct Edge {
    checks: HashMap<String, EdgeCheck>,
    /// The check for channels not named (`--verify '*=SCHEME'`).
    default: Option<EdgeCheck>,
    seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Default)]
struct Seen {
    ids: HashMap<String, u64>,
    order: VecDeque<String>,
}

impl Edge {
    /// Checks for `channels` (`*` for every other channel).
    pub fn new(checks: Vec<(String, EdgeCheck)>) -> Edge {
        let mut edge = Edge::default();
        for (channel, check) in checks {
            if channel == "*" {
                edge.default = Some(check);
            } else {
                edge.checks.insert(channel, check);
            }
        }
        edge
    }

    /// Channels named in a check.
    pub fn channels(&self) -> HashSet<&str> {
        self.checks.keys().map(String::as_str).collect()
    }

    fn check_for(&self, channel: &str) -> Option<&EdgeCheck> {
        self.checks.get(channel).or(self.default.as_ref())
    }

    /// Checks a delivery to `channel`.
    pub fn check(&self, channel: &str, event: &Event) -> Checked {
        let Some(check) = self.check_for(channel) else {
            return Checked::Store;
        };
        match signature::verify(
            &check.scheme,
            &check.secrets,
            &event.headers,
            &event.body,
            unix_now(),
            check.tolerance_secs,
        ) {
            Verdict::Valid { .. } => {}
            Verdict::Invalid(failure) => return Checked::Rejected(failure.to_string()),
        }
        let Some(id) = delivery_id(event) else {
            return Checked::Store;
        };
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(channel).and_then(|s| s.ids.get(id)) {
            Some(&seq) => Checked::Duplicate(seq),
            None => Checked::Store,
        }
    }

    /// Remembers that a checked delivery was stored as `seq`.
    pub fn stored(&self, channel: &str, event: &Event, seq: u64) {
        if self.check_for(channel).is_none() {
            return;
        }
        let Some(id) = delivery_id(event) else { return };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let seen = seen.entry(channel.to_owned()).or_default();
        if seen.ids.insert(id.to_owned(), seq).is_none() {
            seen.order.push_back(id.to_owned());
        }
        while seen.order.len() > REMEMBERED_IDS {
            if let Some(old) = seen.order.pop_front() {
                seen.ids.remove(&old);
            }
        }
    }
}

/// The provider's id for a delivery, from its headers.
fn delivery_id(event: &Event) -> Option<&str> {
    ID_HEADERS.iter().find_map(|h| event.header(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Headers;
    use crate::signature::{sign, SignRequest};
    use bytes::Bytes;

    fn github_event(secret: &str, body: &str, id: &str) -> Event {
        let scheme = Scheme::from_name("github", None).unwrap();
        let request = SignRequest {
            id,
            timestamp: unix_now(),
            body: body.as_bytes(),
            event_type: None,
        };
        let mut headers = Headers::new();
        for (name, value) in sign(&scheme, &Secret::new(secret.to_owned()), &request).unwrap() {
            headers.push(&name, &value);
        }
        headers.push("x-github-delivery", id);
        Event::from_parts(
            "POST",
            "/",
            None,
            headers,
            Bytes::from(body.to_owned()),
            std::time::SystemTime::now(),
        )
    }

    fn edge() -> Edge {
        Edge::new(vec![(
            "chan".into(),
            EdgeCheck {
                scheme: Scheme::from_name("github", None).unwrap(),
                secrets: vec![Secret::new("s3cret".to_owned())],
                tolerance_secs: 300,
            },
        )])
    }

    #[test]
    fn forged_deliveries_are_rejected_and_duplicates_recognised() {
        let edge = edge();
        let good = github_event("s3cret", "{}", "d1");
        assert_eq!(edge.check("chan", &good), Checked::Store);
        edge.stored("chan", &good, 7);
        assert_eq!(edge.check("chan", &good), Checked::Duplicate(7));
        let forged = github_event("wrong", "{}", "d2");
        assert!(matches!(edge.check("chan", &forged), Checked::Rejected(_)));
        // Other channels are not checked.
        assert_eq!(edge.check("other", &forged), Checked::Store);
    }
}
