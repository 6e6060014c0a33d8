//! How long to wait before reconnecting: exponential from one second, capped at 30 seconds,
//! with jitter (half the step fixed, half random), so many laptops that lost the same relay
//! do not all come back in the same instant. A connection that delivered anything (the
//! relay's `ready`, an event, a ping) resets it.

use std::time::Duration;

/// The first wait.
const BASE: Duration = Duration::from_secs(1);
/// The longest wait.
pub const CAP: Duration = Duration::from_secs(30);

/// The reconnect schedule of one source.
#[derive(Debug)]
pub struct Backoff {
    failures: u32,
    rng: fastrand::Rng,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(fastrand::Rng::new())
    }
}

impl Backoff {
    pub fn new(rng: fastrand::Rng) -> Backoff {
        Backoff { failures: 0, rng }
    }

    /// The wait before the next attempt; at least `floor` (the server's `retry:`), at most
    /// [`CAP`].
    pub fn next(&mut self, floor: Option<Duration>) -> Duration {
        let step = BASE.saturating_mul(1u32 << self.failures.min(16)).min(CAP);
        self.failures = self.failures.saturating_add(1);
        let half = step / 2;
        let jitter = Duration::from_millis(self.rng.u64(0..=half.as_millis() as u64));
        (half + jitter).max(floor.unwrap_or_default()).min(CAP)
    }

    /// The connection worked: start again from the shortest wait.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_jitter_up_to_the_cap_and_resets() {
        let mut b = Backoff::new(fastrand::Rng::with_seed(7));
        let waits: Vec<Duration> = (0..10).map(|_| b.next(None)).collect();
        for (i, wait) in waits.iter().enumerate() {
            let step = (BASE * (1 << i.min(16))).min(CAP);
            assert!(*wait >= step / 2 && *wait <= step, "wait {i} is {wait:?}");
        }
        assert!(waits[9] >= CAP / 2);
        b.reset();
        assert!(b.next(None) <= BASE);
    }

    #[test]
    fn the_servers_retry_is_a_floor_but_the_cap_holds() {
        let mut b = Backoff::new(fastrand::Rng::with_seed(1));
        assert_eq!(b.next(Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(b.next(Some(Duration::from_secs(500))), CAP);
        // Many failures never overflow.
        for _ in 0..100 {
            assert!(b.next(None) <= CAP);
        }
    }
}
