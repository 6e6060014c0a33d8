//! Which events `replay` sends: `--id ID` picks events by id, `--filter EXPR` by what they
//! are (see [`Filter`]). Both may be given; an event must then pass both.

use std::collections::HashSet;

use crate::error::ConfigError;
use crate::event::Event;
use crate::listen::expect::Filter;

/// The events to replay: any of the `--id`s (when given) that pass the `--filter`s.
#[derive(Debug, Default)]
pub struct Selector {
    /// The ids asked for, in the order given, without repeats.
    ids: Vec<String>,
    lookup: HashSet<String>,
    filter: Filter,
}

impl Selector {
    /// The selector for `--id` values and `--filter` expressions.
    pub fn new(ids: &[String], filters: &[String]) -> Result<Selector, ConfigError> {
        let mut selector = Selector::default();
        for id in ids {
            if selector.lookup.insert(id.clone()) {
                selector.ids.push(id.clone());
            }
        }
        for text in filters {
            selector.filter.add(text)?;
        }
        Ok(selector)
    }

    /// True when the event is to be replayed.
    pub fn selects(&self, event: &Event) -> bool {
        (self.lookup.is_empty() || self.lookup.contains(&event.id)) && self.filter.matches(event)
    }

    /// True when `id` is one of the `--id`s.
    pub fn asks_for(&self, id: &str) -> bool {
        self.lookup.contains(id)
    }

    /// The `--id`s not among `found`, in the order they were given.
    pub fn missing(&self, found: &HashSet<String>) -> Vec<String> {
        self.ids
            .iter()
            .filter(|id| !found.contains(*id))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::time::UNIX_EPOCH;

    fn event(id: &str, event_type: &str) -> Event {
        let body = format!(r#"{{"id":"{id}","type":"{event_type}"}}"#);
        Event::from_parts(
            "POST",
            "/",
            None,
            Default::default(),
            Bytes::from(body),
            UNIX_EPOCH,
        )
    }

    #[test]
    fn ids_pick_events_and_filters_narrow_them() {
        let events = [
            event("evt_1", "a"),
            event("evt_2", "b"),
            event("evt_3", "a"),
        ];
        let picked = |ids: &[&str], filters: &[&str]| -> Vec<String> {
            let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
            let filters: Vec<String> = filters.iter().map(|s| s.to_string()).collect();
            let selector = Selector::new(&ids, &filters).unwrap();
            events
                .iter()
                .filter(|e| selector.selects(e))
                .map(|e| e.id.clone())
                .collect()
        };
        assert_eq!(picked(&[], &[]), ["evt_1", "evt_2", "evt_3"]);
        assert_eq!(picked(&["evt_2"], &[]), ["evt_2"]);
        assert_eq!(picked(&["evt_3", "evt_1"], &[]), ["evt_1", "evt_3"]);
        assert_eq!(picked(&["evt_1", "evt_2"], &["type=b"]), ["evt_2"]);
        assert!(
            picked(&["evt_*"], &[]).is_empty(),
            "--id is exact, not a glob"
        );
    }

    #[test]
    fn ids_never_seen_are_reported_once_each_in_order() {
        let ids = ["evt_9", "evt_1", "evt_9", "evt_5"].map(String::from);
        let selector = Selector::new(&ids, &[]).unwrap();
        assert!(selector.asks_for("evt_9") && !selector.asks_for("evt_2"));
        let found: HashSet<String> = ["evt_1".to_owned()].into();
        assert_eq!(selector.missing(&found), ["evt_9", "evt_5"]);
        assert!(!Selector::new(&[], &[]).unwrap().asks_for("evt_1"));
    }
}
