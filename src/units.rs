//! Parsers for the human units on the command line: durations, byte sizes and rates.

use std::time::Duration;

/// Parses `30s`, `2m`, `1h30m`, `250ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("invalid duration {s:?} ({e}); use values like 500ms, 30s, 2m"))
}

/// Parses a byte size: `1048576`, `512KiB`, `10MiB`, `1MB`, `2G`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}; use values like 512KiB, 10MiB, 1000000"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {s:?}; use B, KiB, MiB or GiB"
            ))
        }
    };
    Ok((value * scale) as usize)
}

/// A throughput cap in events per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
}

impl Rate {
    /// The time between two events at this rate.
    pub fn period(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

/// Parses `50/s`, `600/m`, `3000/min`, `10/h`, or a bare number per second.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    let t = s.trim();
    let (num, unit) = t.split_once('/').unwrap_or((t, "s"));
    let count: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate {s:?}; use values like 50/s, 600/m"))?;
    let secs = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => {
            return Err(format!(
                "unknown rate unit {other:?} in {s:?}; use /s, /m or /h"
            ))
        }
    };
    if !(count.is_finite() && count > 0.0) {
        return Err(format!("rate {s:?} must be greater than zero"));
    }
    Ok(Rate {
        per_second: count / secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("1kb").unwrap(), 1000);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s").unwrap().per_second, 50.0);
        assert_eq!(parse_rate("120/m").unwrap().per_second, 2.0);
        assert_eq!(parse_rate("5").unwrap().per_second, 5.0);
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("5/fortnight").is_err());
    }
}
