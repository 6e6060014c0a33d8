//! JSON string literals written straight into a byte buffer, and read back, eight bytes at a
//! time.
//!
//! Every capture line and `--json` record carries the body as a JSON string, so escaping it
//! is on every delivery's path, and unescaping it on every replayed event's. The output is
//! byte-for-byte what `serde_json` writes: `"` and `\` are escaped, control characters become
//! `\b \t \n \f \r` or `\u00XX`, and everything else (DEL, non-ASCII UTF-8) is copied as it is.

use std::borrow::Cow;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Strings this long (a body, say) are escaped by [`write_long`].
const LONG: usize = 64;

/// Appends `s` as a JSON string literal, quotes included.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if bytes.len() >= LONG {
        return write_long(out, bytes);
    }
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        // Copy the whole word (one 8-byte move), then cut it back at the first byte that
        // needs escaping: cheaper than a copy call per run between escapes.
        out.extend_from_slice(chunk);
        let hits = needs_escape(word(chunk));
        if hits == 0 {
            i += 8;
            continue;
        }
        // The lowest flagged byte is exact (false flags only appear above a real one).
        let k = (hits.trailing_zeros() / 8) as usize;
        out.truncate(out.len() - 8 + k);
        escape(out, chunk[k]);
        i += k + 1;
    }
    for &b in &bytes[i..] {
        if flagged(b) {
            escape(out, b);
        } else {
            out.push(b);
        }
    }
    out.push(b'"');
}

/// [`write_str`] for long text, which in a JSON body has a `"` every six bytes or so. Room for
/// every byte doubled is made up front, and a word whose only flagged bytes are `"` and `\` is
/// expanded without branches: each byte lands at its index plus the number of flagged bytes up
/// to it (one multiplication adds those up for all eight), with a backslash just before it,
/// which the next byte overwrites when this one is not flagged. For the 511-byte bench body
/// that took 243 ns instead of 329; for one packed with escapes, 348 instead of 725. A control
/// character that needs `\u00XX` (six bytes) hands the rest to [`finish_slowly`].
fn write_long(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + 2 * bytes.len() + 2, 0);
    let buf = &mut out[start..];
    buf[0] = b'"';
    let mut j = 1;
    let mut i = 0;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let w = word(chunk);
        let hits = needs_escape(w);
        if hits == 0 {
            buf[j..j + 8].copy_from_slice(chunk);
            i += 8;
            j += 8;
            continue;
        }
        if control_bytes(w) == 0 {
            let flags = (exact_equal_bytes(w, b'"') | exact_equal_bytes(w, b'\\')) >> 7;
            // Byte t of `upto` counts the flagged bytes among bytes 0..=t.
            let upto = flags.wrapping_mul(ONES);
            let at = |t: usize| t + ((upto >> (8 * t)) & 0xff) as usize;
            // Backslashes first, each one place before its byte; the first of them may land on
            // the last byte written, which is put back.
            let kept = buf[j - 1];
            let dst = &mut buf[j - 1..j + 16];
            for t in 0..8 {
                dst[at(t)] = b'\\';
            }
            dst[0] = kept;
            for (t, &b) in chunk.iter().enumerate() {
                dst[at(t) + 1] = b;
            }
            i += 8;
            j += 8 + (upto >> 56) as usize;
            continue;
        }
        // The lowest flagged byte is exact (false flags only appear above a real one).
        let k = (hits.trailing_zeros() / 8) as usize;
        // One 8-byte move, of which the first `k` bytes are kept.
        buf[j..j + 8].copy_from_slice(chunk);
        j += k;
        i += k;
        match short_escape(bytes[i]) {
            Some(c) => {
                buf[j] = b'\\';
                buf[j + 1] = c;
                j += 2;
                i += 1;
            }
            None => return finish_slowly(out, start + j, &bytes[i..]),
        }
    }
    for (n, &b) in bytes[i..].iter().enumerate() {
        if !flagged(b) {
            buf[j] = b;
            j += 1;
            continue;
        }
        match short_escape(b) {
            Some(c) => {
                buf[j] = b'\\';
                buf[j + 1] = c;
                j += 2;
            }
            None => return finish_slowly(out, start + j, &bytes[i + n..]),
        }
    }
    buf[j] = b'"';
    out.truncate(start + j + 1);
}

/// Cuts `out` back to `len` and escapes `rest` and the closing quote byte by byte.
#[cold]
fn finish_slowly(out: &mut Vec<u8>, len: usize, rest: &[u8]) {
    out.truncate(len);
    for &b in rest {
        if flagged(b) {
            escape_other(out, b);
        } else {
            out.push(b);
        }
    }
    out.push(b'"');
}

/// The letter of the two-byte escape for `b`, or `None` when `b` needs `\u00XX`.
#[inline]
fn short_escape(b: u8) -> Option<u8> {
    Some(match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => return None,
    })
}

/// Reads the JSON string literal whose opening quote is `s[at]`. Returns its text (borrowed
/// when it holds no escape) and the index just past its closing quote, or `None` when there
/// is no closing quote, a control character, invalid UTF-8 or a `\u` escape: those are left
/// to serde, which also words the error.
pub fn read_str(s: &[u8], at: usize) -> Option<(Cow<'_, str>, usize)> {
    if s.get(at) != Some(&b'"') {
        return None;
    }
    let start = at + 1;
    let first = next_flagged(s, start);
    match s.get(first)? {
        b'"' => {
            let text = std::str::from_utf8(&s[start..first]).ok()?;
            return Some((Cow::Borrowed(text), first + 1));
        }
        b'\\' => {}
        _ => return None,
    }
    let mut out = Vec::with_capacity(s.len() - start);
    out.extend_from_slice(&s[start..first]);
    let end = unescape(s, first, &mut out)?;
    Some((Cow::Owned(String::from_utf8(out).ok()?), end + 1))
}

/// The index of the first byte at or after `i` that is `"`, `\` or a control character, or
/// `s.len()`.
fn next_flagged(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..i + 8) {
        let hits = needs_escape(word(chunk));
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + s[i..]
        .iter()
        .position(|&b| flagged(b))
        .unwrap_or(s.len() - i)
}

/// Unescapes from `s[i]`, a backslash, up to the closing quote into `out`; returns the
/// quote's index.
///
/// The text between escapes is copied a word at a time, as `write_str` does: copy eight bytes,
/// then cut the copy back at the first one that is flagged. Escapes in a JSON body are dense
/// (every key and string value is quoted, so one every six bytes or so), and a copy call per
/// run between them would cost more than it saves. The loop is not shared with `write_str`:
/// as one helper, both measured 11-16% slower on the bench body.
fn unescape(s: &[u8], mut i: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        out.push(unescaped(*s.get(i + 1)?)?);
        i += 2;
        loop {
            let Some(chunk) = s.get(i..i + 8) else {
                let end = next_flagged(s, i);
                out.extend_from_slice(&s[i..end]);
                i = end;
                break;
            };
            out.extend_from_slice(chunk);
            let hits = needs_escape(word(chunk));
            if hits == 0 {
                i += 8;
                continue;
            }
            // The lowest flagged byte is exact (false flags only appear above a real one).
            let k = (hits.trailing_zeros() / 8) as usize;
            out.truncate(out.len() - 8 + k);
            i += k;
            break;
        }
        match s.get(i)? {
            b'\\' => {}
            b'"' => return Some(i),
            // A control character, which JSON does not allow in a string.
            _ => return None,
        }
    }
}

/// The byte an escape `\c` stands for; `None` for `\u` (left to serde) and invalid escapes.
fn unescaped(c: u8) -> Option<u8> {
    Some(match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(chunk);
    u64::from_le_bytes(bytes)
}

/// True for a byte a JSON string cannot hold as it is: below 0x20, `"` or `\`. The word-wide
/// form is [`needs_escape`].
#[inline(always)]
fn flagged(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Flags (high bit set) the bytes of `w` that are below 0x20, `"` or `\`.
#[inline]
fn needs_escape(w: u64) -> u64 {
    control_bytes(w) | equal_bytes(w, b'"') | equal_bytes(w, b'\\')
}

/// Flags the bytes of `w` below 0x20. A flag can be false only above a true one.
#[inline]
fn control_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES * 0x20) & !w & HIGHS
}

/// Flags the bytes of `w` equal to `b`. A flag can be false only above a true one.
#[inline]
fn equal_bytes(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// Flags exactly the bytes of `w` equal to `b`, with no false flags.
#[inline]
fn exact_equal_bytes(w: u64, b: u8) -> u64 {
    let x = w ^ (ONES * u64::from(b));
    !(((x & !HIGHS) + !HIGHS) | x) & HIGHS
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
    match short_escape(b) {
        Some(c) => out.extend_from_slice(&[b'\\', c]),
        None => out.extend_from_slice(&[
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
        // The same in a window long enough for `write_long`.
        for b in 0u8..0x80 {
            for at in 0..80 {
                let mut s = vec![b'"'; 80];
                s[at] = b;
                samples.push(String::from_utf8(s.clone()).unwrap());
                s.fill(b'x');
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

    /// The next number of a fixed pseudo-random sequence, so a failure reproduces.
    fn xorshift(seed: &mut u64) -> u64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        *seed
    }

    #[test]
    fn long_strings_match_serde_json() {
        // Lengths from 0 to 200 drawn from characters that need escaping, those next to them
        // and multi-byte ones, so `write_long` meets every mix of them in a word and a tail.
        let alphabet: Vec<char> =
            "ab\"\\/\n\r\t\u{8}\u{c}\u{0}\u{1}\u{1f} #]\u{7f}é€\u{202e}\u{1F600}"
                .chars()
                .collect();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| (xorshift(&mut seed) % n as u64) as usize;
        for _ in 0..20_000 {
            let len = next(200);
            // Mostly plain text, as in a body, or mostly characters that need escaping.
            let dense = next(2) == 0;
            let s: String = (0..len)
                .map(|_| match dense || next(4) == 0 {
                    true => alphabet[next(alphabet.len())],
                    false => 'x',
                })
                .collect();
            let mut out = b"before".to_vec();
            write_str(&mut out, &s);
            let want = serde_json::to_string(&s).unwrap();
            assert_eq!(&out[6..], want.as_bytes(), "{s:?}");
            assert_eq!(&out[..6], b"before");
        }
    }

    #[test]
    fn bytes_just_above_the_flagged_ones_are_not_escaped() {
        // 0x20 (space), '#' and ']' sit next to the flagged values.
        let s = " #]!\u{21}[ #]";
        assert_eq!(ours(s), format!("\"{s}\""));
    }

    /// What serde makes of the literal at the start of `s`, and where the literal ends.
    fn serde_read(s: &[u8]) -> Option<(String, usize)> {
        let mut stream = serde_json::Deserializer::from_slice(s).into_iter::<String>();
        let text = stream.next()?.ok()?;
        Some((text, stream.byte_offset()))
    }

    /// A string literal from a small alphabet of pieces that land on every lane of a word:
    /// plain bytes, each escape serde accepts, raw UTF-8, and the troublesome neighbours of the
    /// flagged bytes (`#` after `"`, `]` after `\`, `.` after `/`).
    fn literal(seed: &mut u64) -> Vec<u8> {
        const PIECES: &[&str] = &[
            "x", "xxxxxxx", r#"\""#, r"\\", r"\/", r"\n", r"\t", r"\r", r"\b", r"\f", "é", "😀",
            r##"\"#"##, r"\\]", r"\/.", "/", "#", "]", ".", "\u{7f}", r#"\\\""#,
        ];
        let mut next = || xorshift(seed);
        let mut lit = vec![b'"'];
        for _ in 0..next() % 40 {
            lit.extend_from_slice(PIECES[(next() % PIECES.len() as u64) as usize].as_bytes());
        }
        lit.push(b'"');
        lit
    }

    #[test]
    fn reads_strings_as_serde_json_does() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut line = literal(&mut seed);
            let len = line.len();
            line.extend_from_slice(br#","status":200}"#);
            let (text, end) =
                read_str(&line, 0).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&line)));
            assert_eq!((text.into_owned(), end), serde_read(&line).unwrap());
            assert_eq!(end, len);
            // The same literal at the very end of the input, with no whole word after it.
            assert_eq!(read_str(&line[..len], 0).map(|(_, end)| end), Some(len));
        }
    }

    #[test]
    fn reads_back_what_write_str_writes() {
        // A short window and one long enough for `write_long`.
        for (b, len) in (0u8..0x80).flat_map(|b| [(b, 17), (b, 80)]) {
            for at in 0..len {
                let mut s = vec![b'x'; len];
                s[at] = b;
                let s = String::from_utf8(s).unwrap();
                let mut line = Vec::new();
                write_str(&mut line, &s);
                let read = read_str(&line, 0).map(|(text, end)| (text.into_owned(), end));
                if line.windows(2).any(|w| w == br"\u") {
                    // `\u00XX` is left to serde.
                    assert_eq!(read, None);
                } else {
                    assert_eq!(read, Some((s, line.len())));
                }
            }
        }
    }

    #[test]
    fn borrows_a_string_without_escapes() {
        let line = br#""evt_123456789abcdef",1"#;
        let (text, end) = read_str(line, 0).unwrap();
        assert!(matches!(text, Cow::Borrowed("evt_123456789abcdef")));
        assert_eq!(&line[end..], b",1");
    }

    #[test]
    fn leaves_what_it_cannot_read_to_serde() {
        let mut seed = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2_000 {
            let lit = literal(&mut seed);
            let inner = &lit[1..lit.len() - 1];
            for at in 0..=inner.len() {
                let (head, tail) = inner.split_at(at);
                // After an odd run of backslashes the piece would be escaped itself.
                let escaped = head.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1;
                for bad in [&b"\x01"[..], b"\n", br"\u0041", br"\q", b"\xff", br"\"] {
                    let line = [b"\"", head, bad, tail, b"\",1"].concat();
                    match read_str(&line, 0) {
                        // What it reads, serde reads the same.
                        Some((text, end)) => {
                            assert_eq!(Some((text.into_owned(), end)), serde_read(&line));
                            assert!(escaped || bad == br"\", "{line:?}");
                        }
                        // A control byte, invalid UTF-8 or a bad escape makes the line
                        // invalid; `\u0041` is valid, but left to serde.
                        None if bad != br"\" && bad != br"\u0041" => {
                            assert_eq!(serde_read(&line), None)
                        }
                        None => {}
                    }
                }
            }
            // No closing quote.
            assert_eq!(read_str(&lit[..lit.len() - 1], 0), None);
        }
        assert_eq!(read_str(b"x\"", 0), None);
        assert_eq!(read_str(b"", 0), None);
    }
}
