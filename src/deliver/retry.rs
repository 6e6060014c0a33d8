//! When to try a delivery again, and how long to wait first.

use std::time::{Duration, SystemTime};

use super::DeliveryError;

/// The longest wait between two attempts, whatever the backoff or Retry-After says.
pub const MAX_WAIT: Duration = Duration::from_secs(600);

/// Failures to connect or get an answer, 5xx, 408 and 429 are worth another attempt. Other
/// 4xx, a request that cannot be sent and a failed TLS handshake (an untrusted certificate
/// stays untrusted) never are.
pub fn retryable(error: &DeliveryError) -> bool {
    match error {
        DeliveryError::Timeout { .. }
        | DeliveryError::Refused { .. }
        | DeliveryError::Dns { .. }
        | DeliveryError::Connect { .. }
        | DeliveryError::Request { .. } => true,
        DeliveryError::Tls { .. } | DeliveryError::InvalidRequest(_) => false,
        DeliveryError::Status(status) => *status >= 500 || *status == 408 || *status == 429,
    }
}

/// Full-jitter exponential backoff: a random wait between 0 and `base * 2^(attempt-1)`.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(MAX_WAIT);
    ceiling.mul_f64(fastrand::f64())
}

/// Retry-After in seconds or as an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_its_ceiling() {
        for attempt in 1..6 {
            for _ in 0..100 {
                let wait = backoff(Duration::from_millis(100), attempt);
                assert!(wait <= Duration::from_millis(100 << (attempt - 1)));
            }
        }
        assert!(backoff(Duration::from_secs(100), 30) <= MAX_WAIT);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        let later = SystemTime::now() + Duration::from_secs(120);
        let wait = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn which_failures_are_retried() {
        for s in [500, 502, 503, 504, 408, 429] {
            assert!(retryable(&DeliveryError::Status(s)), "{s}");
        }
        for s in [200, 301, 400, 401, 404, 410] {
            assert!(!retryable(&DeliveryError::Status(s)), "{s}");
        }
        let url = String::new;
        let cause = String::new;
        assert!(retryable(&DeliveryError::Refused {
            url: url(),
            cause: cause()
        }));
        assert!(retryable(&DeliveryError::Timeout {
            url: url(),
            timeout: MAX_WAIT
        }));
        assert!(!retryable(&DeliveryError::Tls {
            url: url(),
            cause: cause()
        }));
        assert!(!retryable(&DeliveryError::InvalidRequest(cause())));
    }
}
