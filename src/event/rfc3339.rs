//! `received_at` as RFC 3339 in UTC with milliseconds (`2026-11-29T01:40:13.662Z`), written
//! by hand into a byte buffer: it is in every capture line, and going through `fmt` cost
//! about as much as the rest of the line's fixed fields. The text is exactly what
//! `humantime::format_rfc3339_millis` writes. Times outside what that (and the capture
//! reader) covers, 1970 to 9999, are clamped to its ends instead of failing.

use std::time::{SystemTime, UNIX_EPOCH};

/// The last millisecond of year 9999, as seconds and milliseconds since 1970.
const LAST: (u64, u32) = (253_402_300_799, 999);

/// Appends `t` as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn write_millis(out: &mut Vec<u8>, t: SystemTime) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let (secs, millis) = (since.as_secs(), since.subsec_millis()).min(LAST);
    // At most the last day of 9999, so it fits an i64, and the date is not negative.
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000Z";
    digits(&mut text[0..4], year as u64);
    digits(&mut text[5..7], month as u64);
    digits(&mut text[8..10], day as u64);
    digits(&mut text[11..13], of_day / 3600);
    digits(&mut text[14..16], of_day / 60 % 60);
    digits(&mut text[17..19], of_day % 60);
    digits(&mut text[20..23], u64::from(millis));
    out.extend_from_slice(&text);
}

/// Writes `n` as decimal digits right-aligned into `slot` (which is zero-filled ASCII).
fn digits(slot: &mut [u8], mut n: u64) {
    for d in slot.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// Year, month and day of the proleptic Gregorian calendar for a count of days since
/// 1970-01-01, which may be negative (Howard Hinnant's `civil_from_days`).
pub(crate) fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ours(t: SystemTime) -> String {
        let mut out = Vec::new();
        write_millis(&mut out, t);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_humantime_across_days_years_and_leap_days() {
        let mut times = vec![
            0u64,
            59,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            951_868_800, // 2000-03-01
            4_107_542_399,
            4_107_542_400, // 2100-02-28 → 2100-03-01 (not a leap year)
            1_798_502_413,
            253_402_300_799, // 9999-12-31T23:59:59
        ];
        // Every day across four centuries, at a time of day that moves with it.
        let mut t = 0u64;
        while t < 13_000_000_000 {
            times.push(t);
            t += 86_400 * 3 + 3_607;
        }
        for secs in times {
            for millis in [0, 7, 999] {
                let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(millis);
                let expected = humantime::format_rfc3339_millis(at).to_string();
                assert_eq!(ours(at), expected, "{secs}.{millis}");
            }
        }
    }

    #[test]
    fn times_outside_1970_to_9999_are_clamped() {
        let before = UNIX_EPOCH - Duration::from_secs(10);
        assert_eq!(ours(before), "1970-01-01T00:00:00.000Z");
        let after = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert_eq!(ours(after), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn sub_millisecond_digits_are_cut_not_rounded() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_798_502_413_999_999_999);
        assert_eq!(ours(at), "2026-12-29T00:00:13.999Z");
    }
}
