//! `replay --filter EXPR`: the `--expect` predicates, used to pick events instead of waiting
//! for them.

use super::{parse_predicate, split, Predicate, Subject};
use crate::error::ConfigError;
use crate::event::{jsonpath, Event};

/// Which events pass a set of filters. Each filter is one predicate or several separated by
/// commas, in `--expect`'s syntax. Predicates on the same key are alternatives (`type=a` or
/// `type=b`); predicates on different keys must all hold (`type=payment_*` and `status=5xx`).
/// No filter passes every event.
#[derive(Debug, Default)]
pub struct Filter {
    /// Alternatives per key, in the order the keys were first given.
    groups: Vec<(String, Vec<Predicate>)>,
}

impl Filter {
    /// Adds the predicates of one `--filter`; an error names the predicate that is wrong and
    /// lists the keys there are.
    pub fn add(&mut self, text: &str) -> Result<(), ConfigError> {
        for part in split(text) {
            let part = part.trim();
            let predicate = parse_predicate(part).map_err(|cause| ConfigError::Filter {
                part: part.to_owned(),
                cause: Box::new(cause),
            })?;
            let key = predicate.key();
            match self.groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, alternatives)) => alternatives.push(predicate),
                None => self.groups.push((key, vec![predicate])),
            }
        }
        Ok(())
    }

    /// True when no filter was added.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// True when, for every key, one of its predicates holds for the event.
    pub fn matches(&self, event: &Event) -> bool {
        let subject = Subject::new(event);
        self.groups.iter().all(|(_, alternatives)| {
            alternatives
                .iter()
                .any(|predicate| predicate.miss(&subject).is_none())
        })
    }
}

impl Predicate {
    /// What the predicate tests: `type`, `header.x-env`, `body.data.amount`, ...
    fn key(&self) -> String {
        match self {
            Predicate::Id(_) => "id".to_owned(),
            Predicate::Status(..) => "status".to_owned(),
            Predicate::Type(_) => "type".to_owned(),
            Predicate::Path(_) => "path".to_owned(),
            Predicate::Method(_) => "method".to_owned(),
            Predicate::Header(name, _) => format!("header.{name}"),
            Predicate::Body(path, _) => format!("body.{}", jsonpath::display(path)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Headers;
    use bytes::Bytes;
    use std::time::UNIX_EPOCH;

    fn event(id: &str, event_type: &str, status: Option<u16>) -> Event {
        let mut headers = Headers::new();
        headers.push("X-Env", "ci-42");
        let body = format!(r#"{{"id":"{id}","type":"{event_type}","data":{{"amount":4200}}}}"#);
        let mut e = Event::from_parts(
            "POST",
            "/hooks/a",
            None,
            headers,
            Bytes::from(body),
            UNIX_EPOCH,
        );
        e.notes.status = status;
        e
    }

    fn filter(texts: &[&str]) -> Filter {
        let mut filter = Filter::default();
        for text in texts {
            filter.add(text).unwrap();
        }
        filter
    }

    #[test]
    fn the_same_key_gives_alternatives_and_different_keys_must_all_hold() {
        let paid = event("evt_1", "payment_success", Some(200));
        let failed = event("evt_2", "payment_failed", Some(503));
        let order = event("evt_3", "order_created", Some(500));
        let unanswered = event("evt_4", "payment_success", None);
        let all = [&paid, &failed, &order, &unanswered];
        let picked = |f: &Filter| -> Vec<&str> {
            all.iter()
                .filter(|e| f.matches(e))
                .map(|e| e.id.as_str())
                .collect()
        };
        assert_eq!(picked(&filter(&[])), ["evt_1", "evt_2", "evt_3", "evt_4"]);
        assert_eq!(picked(&filter(&["id=evt_2"])), ["evt_2"]);
        assert_eq!(
            picked(&filter(&["id=evt_2", "id=evt_3"])),
            ["evt_2", "evt_3"]
        );
        assert_eq!(
            picked(&filter(&["type=payment_*", "status=5xx"])),
            ["evt_2"]
        );
        assert_eq!(picked(&filter(&["type=payment_*,status=5xx"])), ["evt_2"]);
        assert_eq!(
            picked(&filter(&["status=500", "status=2*"])),
            ["evt_1", "evt_3"]
        );
        assert_eq!(
            picked(&filter(&["status=*"])).len(),
            4,
            "* takes a missing status"
        );
        assert_eq!(picked(&filter(&["status=?*"])).len(), 3);
        assert_eq!(picked(&filter(&["method=post", "path=/hooks/*"])).len(), 4);
        assert!(picked(&filter(&["method=PUT"])).is_empty());
        assert_eq!(picked(&filter(&["header.x-env=ci-*"])).len(), 4);
        assert!(picked(&filter(&["header.X-Env=prod"])).is_empty());
        assert_eq!(
            picked(&filter(&["body.data.amount=4200", "id=evt_4"])),
            ["evt_4"]
        );
    }

    #[test]
    fn bad_filters_name_the_predicate_and_the_keys_there_are() {
        let keys = "use id=, type=, path=, method=, status=, header.NAME= or body.PATH=";
        let cases = [
            (
                "kind=x",
                format!("bad --filter `kind=x`: unknown field `kind`; {keys}"),
            ),
            (
                "payment_*",
                format!("bad --filter `payment_*`: expected KEY=VALUE; {keys}"),
            ),
            ("", format!("bad --filter ``: empty predicate; {keys}")),
            (
                "type=a,status=ok",
                "bad --filter `status=ok`: `ok` is not a status; use e.g. 500, 5xx or 4*".into(),
            ),
            ("id=[", "bad --filter `id=[`: invalid glob `[`: ".into()),
        ];
        for (text, want) in cases {
            let err = Filter::default().add(text).unwrap_err().to_string();
            assert!(err.starts_with(&want), "{text}: {err}");
        }
    }
}
