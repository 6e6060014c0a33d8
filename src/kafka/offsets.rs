//! Which offset a relay may commit per partition. Deliveries finish out of order when several
//! run at once, and committing an offset says that everything before it is done: so the
//! committable offset of a partition is the lowest one still in flight, or one past the
//! highest one done when nothing is in flight.

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
struct Partition {
    in_flight: BTreeSet<i64>,
    /// One past the highest offset done.
    next: Option<i64>,
    /// The last offset handed out for commit.
    stored: Option<i64>,
}

/// In-flight and finished offsets of the partitions a relay consumes.
#[derive(Debug, Default)]
pub struct Offsets {
    partitions: BTreeMap<i32, Partition>,
}

impl Offsets {
    /// A message at `offset` was taken.
    pub fn taken(&mut self, partition: i32, offset: i64) {
        self.partitions
            .entry(partition)
            .or_default()
            .in_flight
            .insert(offset);
    }

    /// The message at `offset` is settled. Returns the offset to commit (the next one to
    /// read) when it moved forward.
    pub fn done(&mut self, partition: i32, offset: i64) -> Option<i64> {
        let p = self.partitions.get_mut(&partition)?;
        if !p.in_flight.remove(&offset) {
            return None;
        }
        p.next = Some(p.next.map_or(offset + 1, |n| n.max(offset + 1)));
        let committable = match p.in_flight.first() {
            Some(&lowest) => lowest,
            None => p.next?,
        };
        if p.stored.is_some_and(|s| s >= committable) {
            return None;
        }
        p.stored = Some(committable);
        Some(committable)
    }

    /// Forgets everything: the partitions were reassigned, and what is still in flight
    /// belongs to the assignment before.
    pub fn clear(&mut self) {
        self.partitions.clear();
    }

    /// The offset to commit per partition: what [`Offsets::done`] handed out.
    pub fn stored(&self) -> impl Iterator<Item = (i32, i64)> + '_ {
        self.partitions
            .iter()
            .filter_map(|(&partition, p)| p.stored.map(|s| (partition, s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_only_the_done_prefix() {
        let mut o = Offsets::default();
        for offset in 10..14 {
            o.taken(0, offset);
        }
        // 11 finishes first: 10 is still in flight, so 10 is the offset to commit.
        assert_eq!(o.done(0, 11), Some(10));
        assert_eq!(o.done(0, 12), None);
        assert_eq!(o.done(0, 10), Some(13));
        assert_eq!(o.done(0, 13), Some(14));
        assert_eq!(o.stored().collect::<Vec<_>>(), vec![(0, 14)]);
        // Partitions are independent; an unknown offset changes nothing.
        o.taken(1, 0);
        assert_eq!(o.done(1, 5), None);
        assert_eq!(o.done(1, 0), Some(1));
        assert_eq!(o.done(0, 13), None);
        o.clear();
        assert_eq!(o.stored().count(), 0);
    }
}
