//! Parsers for the human units on the command line: durations, byte sizes and rates.

use std::time::Duration;

/// The longest duration accepted anywhere on the command line.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The slowest rate accepted: one event a day.
pub const MIN_RATE_PER_SECOND: f64 = 1.0 / 86_400.0;
/// The fastest rate accepted.
pub const MAX_RATE_PER_SECOND: f64 = 1e9;

/// Why a value on the command line is not a duration, size or rate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("invalid duration {text:?} ({reason}); use values like 500ms, 30s, 2m")]
    Duration { text: String, reason: String },
    #[error("duration {text:?} is longer than a year; use at most 365d")]
    DurationTooLong { text: String },
    #[error("invalid size {text:?}; use values like 512KiB, 10MiB, 1000000")]
    Size { text: String },
    #[error("unknown size unit {unit:?} in {text:?}; use B, KiB, MiB or GiB")]
    SizeUnit { unit: String, text: String },
    #[error("size {text:?} is too large; use at most 1TiB")]
    SizeTooLarge { text: String },
    #[error("invalid rate {text:?}; use values like 50/s, 600/m")]
    Rate { text: String },
    #[error("unknown rate unit {unit:?} in {text:?}; use /s, /m or /h")]
    RateUnit { unit: String, text: String },
    #[error("rate {text:?} must be greater than zero")]
    RateNotPositive { text: String },
    #[error("rate {text:?} is out of range; use between 1/day (1/24h) and 1000000000/s")]
    RateOutOfRange { text: String },
    #[error("timeout {text:?} is too short; use at least 1ms")]
    TimeoutTooShort { text: String },
    #[error("invalid speed {text:?}; use a factor from 0.001 to 1000000 (1 is real time)")]
    Speed { text: String },
    #[error("invalid ratio {text:?}; use a number from 0 to 1, e.g. 0.3 for 30%")]
    Ratio { text: String },
}

/// A timeout: a duration of at least a millisecond.
pub fn parse_timeout(s: &str) -> Result<Duration, UnitError> {
    let timeout = parse_duration(s)?;
    if timeout < Duration::from_millis(1) {
        return Err(UnitError::TimeoutTooShort {
            text: s.trim().into(),
        });
    }
    Ok(timeout)
}

/// A replay speed factor: from 0.001 (a thousand times slower) to a million times faster.
pub fn parse_speed(s: &str) -> Result<f64, UnitError> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.001..=1_000_000.0).contains(&x) => Ok(x),
        _ => Err(UnitError::Speed {
            text: s.trim().into(),
        }),
    }
}

/// A fraction from 0 to 1.
pub fn parse_ratio(s: &str) -> Result<f64, UnitError> {
    match s.trim().parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(UnitError::Ratio {
            text: s.trim().into(),
        }),
    }
}

/// Parses `30s`, `2m`, `1h30m`, `250ms`, or a bare number of seconds, up to a year.
pub fn parse_duration(s: &str) -> Result<Duration, UnitError> {
    let s = s.trim();
    let parsed = match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
        }
        Ok(_) => {
            return Err(UnitError::Duration {
                text: s.to_owned(),
                reason: "not a finite, non-negative number".into(),
            })
        }
        Err(_) => humantime::parse_duration(s).map_err(|e| UnitError::Duration {
            text: s.to_owned(),
            reason: e.to_string(),
        })?,
    };
    if parsed > MAX_DURATION {
        return Err(UnitError::DurationTooLong { text: s.to_owned() });
    }
    Ok(parsed)
}

/// Parses a byte size: `1048576`, `512KiB`, `10MiB`, `1MB`, `2G`; at most 1 TiB.
pub fn parse_size(s: &str) -> Result<usize, UnitError> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| UnitError::Size { text: s.into() })?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(UnitError::SizeUnit {
                unit: other.into(),
                text: s.into(),
            })
        }
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes > (1u64 << 40) as f64 {
        return Err(UnitError::SizeTooLarge { text: s.into() });
    }
    Ok(bytes as usize)
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

/// Parses `50/s`, `600/m`, `3000/min`, `10/h`, or a bare number per second, between one a
/// day and a billion a second.
pub fn parse_rate(s: &str) -> Result<Rate, UnitError> {
    let t = s.trim();
    let (num, unit) = t.split_once('/').unwrap_or((t, "s"));
    let count: f64 = num
        .trim()
        .parse()
        .map_err(|_| UnitError::Rate { text: s.into() })?;
    let secs = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        "d" | "day" | "24h" => 86_400.0,
        other => {
            return Err(UnitError::RateUnit {
                unit: other.into(),
                text: s.into(),
            })
        }
    };
    if !(count.is_finite() && count > 0.0) {
        return Err(UnitError::RateNotPositive { text: s.into() });
    }
    let per_second = count / secs;
    if !(MIN_RATE_PER_SECOND * 0.999..=MAX_RATE_PER_SECOND).contains(&per_second) {
        return Err(UnitError::RateOutOfRange { text: s.into() });
    }
    Ok(Rate { per_second })
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// A span of seconds for people, to the unit that matters: `45s`, `9m 30s`, `17m`, `5h 20m`,
/// `14h`, `1 day`, `3 days 4h`, `26 days`. A second, smaller unit is shown only while the
/// first is below 10; every unit is rounded down, so an age never reads as less than it is.
pub fn human_secs(secs: u64) -> String {
    let (big, small) = match secs {
        s if s < MINUTE => return format!("{s}s"),
        s if s < HOUR => ((s / MINUTE, "m"), (s % MINUTE, "s")),
        s if s < DAY => ((s / HOUR, "h"), (s % HOUR / MINUTE, "m")),
        s => ((s / DAY, " days"), (s % DAY / HOUR, "h")),
    };
    let first = match big {
        (1, " days") => "1 day".to_owned(),
        (n, unit) => format!("{n}{unit}"),
    };
    match small {
        (n, unit) if n > 0 && big.0 < 10 => format!("{first} {n}{unit}"),
        _ => first,
    }
}

/// Every non-zero unit of a span of seconds: `10m 20s`, `2 days 1h 3s`; `0s` for nothing.
pub fn exact_secs(secs: u64) -> String {
    let parts = [
        (secs / DAY, " days"),
        (secs % DAY / HOUR, "h"),
        (secs % HOUR / MINUTE, "m"),
        (secs % MINUTE, "s"),
    ];
    let words: Vec<String> = parts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|&(n, unit)| match (n, unit) {
            (1, " days") => "1 day".to_owned(),
            (n, unit) => format!("{n}{unit}"),
        })
        .collect();
    if words.is_empty() {
        "0s".to_owned()
    } else {
        words.join(" ")
    }
}

/// An age and the tolerance it exceeded, for one message: [`human_secs`] each, unless the
/// rounding would make them read the same (`10m` old, tolerance `10m`); then both exactly.
pub fn human_age_and_tolerance(age: u64, tolerance: u64) -> (String, String) {
    let (a, t) = (human_secs(age), human_secs(tolerance));
    if a == t && age != tolerance {
        (exact_secs(age), exact_secs(tolerance))
    } else {
        (a, t)
    }
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
        assert!(parse_duration("soon")
            .unwrap_err()
            .to_string()
            .contains("soon"));
        assert_eq!(
            parse_duration("1e30"),
            Err(UnitError::DurationTooLong {
                text: "1e30".into()
            })
        );
        for bad in ["-1", "NaN", "inf", "1e308"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("1e-308").unwrap(), Duration::ZERO);
    }

    #[test]
    fn timeouts_speeds_and_ratios_are_range_checked() {
        assert_eq!(parse_timeout("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["0", "0s", "1e-308", "-1", "NaN", "inf", "1e308"] {
            assert!(parse_timeout(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_speed("2").unwrap(), 2.0);
        for bad in ["0", "-1", "NaN", "inf", "1e308", "1e-300"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_ratio("0.3").unwrap(), 0.3);
        for bad in ["-0.1", "1.5", "NaN", "inf"] {
            assert!(parse_ratio(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10MiB").unwrap(), 10 * 1024 * 1024);
        assert_eq!(parse_size("1kb").unwrap(), 1000);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("3 parsecs").is_err());
        assert!(parse_size("1e308").is_err());
        assert!(parse_size("2TiB").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("50/s").unwrap().per_second, 50.0);
        assert_eq!(parse_rate("120/m").unwrap().per_second, 2.0);
        assert_eq!(parse_rate("5").unwrap().per_second, 5.0);
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("5/fortnight").is_err());
        assert_eq!(parse_rate("1/day").unwrap().per_second, 1.0 / 86_400.0);
        for bad in ["1e-21/h", "1e308", "inf", "NaN", "-1", "0"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spans_read_in_the_unit_that_matters() {
        let cases = [
            (0, "0s"),
            (45, "45s"),
            (60, "1m"),
            (90, "1m 30s"),
            (301, "5m 1s"),
            (599, "9m 59s"),
            (600, "10m"),
            (1000, "16m"),
            (3599, "59m"),
            (3600, "1h"),
            (3605, "1h"),
            (5 * 3600 + 20 * 60 + 7, "5h 20m"),
            (14 * 3600 + 59 * 60, "14h"),
            (86_400, "1 day"),
            (86_400 + 3600, "1 day 1h"),
            (3 * 86_400 + 4 * 3600, "3 days 4h"),
            (26 * 86_400 + 23 * 3600, "26 days"),
            (96_528_506, "1117 days"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_secs(secs), want, "{secs}");
        }
        assert_eq!(exact_secs(0), "0s");
        assert_eq!(exact_secs(620), "10m 20s");
        assert_eq!(exact_secs(86_400 + 3600 + 3), "1 day 1h 3s");
        assert_eq!(exact_secs(2 * 86_400), "2 days");
    }

    #[test]
    fn an_age_never_reads_the_same_as_the_tolerance_it_exceeds() {
        assert_eq!(
            human_age_and_tolerance(26 * 86_400, 300),
            ("26 days".into(), "5m".into())
        );
        assert_eq!(
            human_age_and_tolerance(620, 600),
            ("10m 20s".into(), "10m".into())
        );
        assert_eq!(
            human_age_and_tolerance(3605, 3600),
            ("1h 5s".into(), "1h".into())
        );
        assert_eq!(
            human_age_and_tolerance(301, 300),
            ("5m 1s".into(), "5m".into())
        );
    }
}
