//! The per-channel rate limit (`serve --rate-limit RATE`): a token bucket holding one
//! second's worth of events (at least one), refilled continuously. A delivery past it gets
//! 429 with Retry-After, before its body is read.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One channel's bucket.
pub struct Bucket {
    per_second: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(per_second: f64) -> Bucket {
        let burst = per_second.max(1.0);
        Bucket {
            per_second,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes a token at `now`; `Err(wait)` when there is none, with how long until one is.
    pub fn take(&self, now: Instant) -> Result<(), Duration> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = *state;
        let elapsed = now.saturating_duration_since(at).as_secs_f64();
        let tokens = (tokens + elapsed * self.per_second).min(self.burst);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let bucket = Bucket::new(10.0);
        let start = Instant::now();
        for _ in 0..10 {
            bucket.take(start).unwrap();
        }
        let wait = bucket.take(start).unwrap_err();
        assert!(
            wait <= Duration::from_millis(100) && wait > Duration::ZERO,
            "{wait:?}"
        );
        bucket.take(start + Duration::from_millis(100)).unwrap();
        assert!(bucket.take(start + Duration::from_millis(100)).is_err());
        // A slow rate still lets one event through.
        let slow = Bucket::new(1.0 / 60.0);
        slow.take(start).unwrap();
        let wait = slow.take(start).unwrap_err();
        assert!(wait > Duration::from_secs(59), "{wait:?}");
    }
}
