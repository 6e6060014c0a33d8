//! JSON string literals written straight into a byte buffer, eight bytes at a time.
//!
//! Every capture line and `--json` record carries the body as a JSON string, so escaping it
//! is on every delivery's path. The output is byte-for-byte what `serde_json` writes: `"` and
//! `\` are escaped, control characters become `\b \t \n \f \r` or `\u00XX`, and everything
//! else (DEL, non-ASCII UTF-8) is copied as it is.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        // Copy the whole word (one 8-byte move), then cut it back at the first byte that
        // needs escaping: cheaper than a copy call per run between escapes.
        out.extend_from_slice(&word);
        let hits = needs_escape(u64::from_le_bytes(word));
        if hits == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is exact (false flags only appear above a real one).
        let k = (hits.trailing_zeros() / 8) as usize;
        out.truncate(out.len() - 8 + k);
        escape(out, word[k]);
        i += k + 1;
    }
    for &b in &bytes[i..] {
        if b < 0x20 || b == b'"' || b == b'\\' {
            escape(out, b);
        } else {
            out.push(b);
        }
    }
    out.push(b'"');
}

/// Flags (high bit set) the bytes of `w` that are below 0x20, `"` or `\`.
#[inline]
fn needs_escape(w: u64) -> u64 {
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    (control | zero_bytes(quote) | zero_bytes(backslash)) & HIGHS
}

#[inline]
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

#[inline(always)]
fn escape(out: &mut Vec<u8>, b: u8) {
    if b == b'"' {
        out.extend_from_slice(b"\\\"");
        return;
    }
    escape_other(out, b);
}

fn escape_other(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_serde_json_on_every_byte_class_and_position() {
        let mut samples: Vec<String> = vec![
            String::new(),
            "plain".into(),
            r#"{"id":"evt_1","amount":4200,"note":"a \"quoted\" \\ path"}"#.into(),
            "tab\there\nnew\rline\u{8}\u{c}\u{0}\u{1f}\u{7f}".into(),
            "h\u{e9}llo \u{202e} \u{1F600} ünïcødé".into(),
        ];
        // Every ASCII byte at every offset of a 17-byte window, so each one lands in the
        // word loop at each lane and in the tail.
        for b in 0u8..0x80 {
            for at in 0..17 {
                let mut s = vec![b'x'; 17];
                s[at] = b;
                samples.push(String::from_utf8(s).unwrap());
            }
        }
        // Runs of characters that need escaping, next to each other and to non-ASCII.
        samples.push("\"\"\"\"\"\"\"\"\"\\\\\\\\\n\n\n\u{0}é\"".into());
        // Long runs of six-byte escapes, and escapes in every lane of consecutive words.
        samples.push("\u{1}".repeat(40));
        samples.push("\u{1f}\"".repeat(20) + "tail");
        for s in samples {
            assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn bytes_just_above_the_flagged_ones_are_not_escaped() {
        // 0x20 (space), '#' and ']' sit next to the flagged values.
        let s = " #]!\u{21}[ #]";
        assert_eq!(ours(s), format!("\"{s}\""));
    }
}
