//! Sample bodies as templates: the JSON text is built once per run, and each event only
//! splices in its id, its creation time and what derives from them (secondary ids, dates).
//!
//! A template starts as the sample's body with placeholder strings (a NUL, a short spec, a
//! NUL) where those values go; serialising it and cutting at the placeholders gives literal
//! runs and holes. [`crate::send::compose`] checks each compiled template against a body built from
//! scratch before using it.
//!
//! Kept by measurement (issue 20's rule for hand-written parts): in `bench/run.py`'s `send
//! --count 100000 --concurrency 64` row, `send` reached 0.95x oha with templates and 0.51-0.53x
//! building every body from scratch (five alternated runs each, dist profile, 2026-12-06).

use std::time::{Duration, UNIX_EPOCH};

/// How a placeholder looks once serialised: `\u0000`, then its spec, then `\u0000`.
const MARK: &[u8] = b"\\u0000";

/// A placeholder string for `spec` (see [`Hole::parse`]).
pub(super) fn placeholder(spec: &str) -> String {
    format!("\u{0}{spec}\u{0}")
}

/// Something filled in per event.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hole {
    /// The event id, as JSON string content.
    Id,
    /// The creation time in unix seconds, as a JSON number.
    Created,
    /// Hex digits derived from the id and a salt.
    Hex {
        len: usize,
        salt: String,
        upper: bool,
    },
    /// RFC 3339 time at an offset from the creation time.
    Time(i64),
    /// The date part of [`Hole::Time`].
    Date(i64),
    /// Letters and digits derived from the id and a salt (Stripe-style id suffixes).
    Alnum { len: usize, salt: String },
    /// A version-4-shaped UUID derived from the id and a salt.
    Uuid(String),
    /// A number of `digits` digits derived from the id and a salt: a bare JSON number, or
    /// (`in_text`) digits inside a string.
    Number {
        digits: usize,
        salt: String,
        in_text: bool,
    },
    /// Unix seconds at an offset from the creation time: a bare number, or (`in_text`) digits
    /// inside a string.
    Unix { offset: i64, in_text: bool },
}

impl Hole {
    /// `I`, `C`, `h16:salt`, `H16:salt`, `T-2`, `D86400`, `a24:salt`, `U:salt`, `n9:salt`
    /// (bare number) and `m9:salt` (inside a string), `N-30` (bare) and `u-30` (inside a string).
    fn parse(spec: &str) -> Option<Hole> {
        let (kind, rest) = spec.split_at_checked(1)?;
        Some(match kind {
            "I" if rest.is_empty() => Hole::Id,
            "C" if rest.is_empty() => Hole::Created,
            "h" | "H" => {
                let (len, salt) = rest.split_once(':')?;
                Hole::Hex {
                    len: len.parse().ok()?,
                    salt: salt.to_owned(),
                    upper: kind == "H",
                }
            }
            "T" => Hole::Time(rest.parse().ok()?),
            "D" => Hole::Date(rest.parse().ok()?),
            "a" => {
                let (len, salt) = rest.split_once(':')?;
                Hole::Alnum {
                    len: len.parse().ok()?,
                    salt: salt.to_owned(),
                }
            }
            "U" => Hole::Uuid(rest.strip_prefix(':')?.to_owned()),
            "n" | "m" => {
                let (digits, salt) = rest.split_once(':')?;
                Hole::Number {
                    digits: digits.parse().ok().filter(|d| (1..=18).contains(d))?,
                    salt: salt.to_owned(),
                    in_text: kind == "m",
                }
            }
            "N" | "u" => Hole::Unix {
                offset: rest.parse().ok()?,
                in_text: kind == "u",
            },
            _ => return None,
        })
    }

    /// Whether the hole is a JSON number, so the placeholder's quotes go.
    fn is_bare(&self) -> bool {
        matches!(
            self,
            Hole::Created | Hole::Number { in_text: false, .. } | Hole::Unix { in_text: false, .. }
        )
    }
}

#[derive(Debug)]
enum Part {
    Text(Vec<u8>),
    Hole(Hole),
}

/// A sample body split into literal JSON text and per-event holes.
#[derive(Debug)]
pub struct Template {
    parts: Vec<Part>,
    /// Bytes of literal text, to size each body.
    literal_len: usize,
}

impl Template {
    /// Compiles a body made with [`super::Sample::placeholder_body`] (and any `--set`
    /// applied). `None` when the placeholders did not survive as whole strings.
    pub fn compile(body: &serde_json::Value) -> Option<Template> {
        let text = serde_json::to_vec(body).ok()?;
        let mut parts = Vec::new();
        let mut rest = &text[..];
        while let Some(at) = find(rest, MARK) {
            let mut before = &rest[..at];
            let after = &rest[at + MARK.len()..];
            let end = find(after, MARK)?;
            let hole = Hole::parse(std::str::from_utf8(&after[..end]).ok()?)?;
            rest = &after[end + MARK.len()..];
            if hole.is_bare() {
                // A number, not a string: drop the placeholder's quotes.
                before = before.strip_suffix(b"\"")?;
                rest = rest.strip_prefix(b"\"")?;
            }
            if !before.is_empty() {
                parts.push(Part::Text(before.to_vec()));
            }
            parts.push(Part::Hole(hole));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_vec()));
        }
        let literal_len = parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len(),
                Part::Hole(_) => 0,
            })
            .sum();
        Some(Template { parts, literal_len })
    }

    /// The body for one event.
    pub fn render(&self, id: &str, created: i64) -> Vec<u8> {
        let mut created_text = itoa::Buffer::new();
        let created_text = created_text.format(created);
        // Sized exactly, so the bytes become a `Bytes` without another allocation.
        let mut out = Vec::with_capacity(self.rendered_len(id, created_text));
        for part in &self.parts {
            match part {
                Part::Text(text) => out.extend_from_slice(text),
                Part::Hole(Hole::Id) => push_json_text(&mut out, id),
                Part::Hole(Hole::Created) => out.extend_from_slice(created_text.as_bytes()),
                Part::Hole(Hole::Hex { len, salt, upper }) => {
                    let start = out.len();
                    hex_into(&mut out, id, salt, *len);
                    if *upper {
                        out[start..].make_ascii_uppercase();
                    }
                }
                Part::Hole(Hole::Time(offset)) => {
                    out.extend_from_slice(time(created, *offset).as_bytes())
                }
                Part::Hole(Hole::Date(offset)) => {
                    out.extend_from_slice(date(created, *offset).as_bytes())
                }
                Part::Hole(Hole::Alnum { len, salt }) => {
                    out.extend_from_slice(alnum(id, salt, *len).as_bytes())
                }
                Part::Hole(Hole::Uuid(salt)) => out.extend_from_slice(uuid(id, salt).as_bytes()),
                Part::Hole(Hole::Number { digits, salt, .. }) => out.extend_from_slice(
                    itoa::Buffer::new()
                        .format(number(id, salt, *digits))
                        .as_bytes(),
                ),
                Part::Hole(Hole::Unix { offset, .. }) => out.extend_from_slice(
                    itoa::Buffer::new()
                        .format(created.saturating_add(*offset))
                        .as_bytes(),
                ),
            }
        }
        out
    }

    /// How long [`Template::render`]'s output is.
    fn rendered_len(&self, id: &str, created: &str) -> usize {
        let holes: usize = self
            .parts
            .iter()
            .map(|part| match part {
                Part::Text(_) => 0,
                Part::Hole(Hole::Id) => json_text_len(id),
                Part::Hole(Hole::Created) => created.len(),
                Part::Hole(Hole::Hex { len, .. }) => *len,
                Part::Hole(Hole::Time(_)) => TIME_LEN,
                Part::Hole(Hole::Date(_)) => DATE_LEN,
                Part::Hole(Hole::Alnum { len, .. }) => *len,
                Part::Hole(Hole::Uuid(_)) => UUID_LEN,
                Part::Hole(Hole::Number { digits, .. }) => *digits,
                Part::Hole(Hole::Unix { offset, .. }) => itoa::Buffer::new()
                    .format(created_of(created).saturating_add(*offset))
                    .len(),
            })
            .sum();
        self.literal_len + holes
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the only form [`time`] gives (years are clamped to 1970..=9999).
const TIME_LEN: usize = 20;
/// `YYYY-MM-DD`.
const DATE_LEN: usize = 10;
/// `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`.
const UUID_LEN: usize = 36;

/// The creation time back from its text (which [`Template::render`] formatted itself).
fn created_of(text: &str) -> i64 {
    text.parse().unwrap_or_default()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `text` as the inside of a JSON string, escaped the way serde_json escapes it.
fn push_json_text(out: &mut Vec<u8>, text: &str) {
    if plain_json_text(text) {
        out.extend_from_slice(text.as_bytes());
    } else if let Ok(quoted) = serde_json::to_string(text) {
        out.extend_from_slice(&quoted.as_bytes()[1..quoted.len() - 1]);
    }
}

/// The length [`push_json_text`] adds.
fn json_text_len(text: &str) -> usize {
    if plain_json_text(text) {
        text.len()
    } else {
        serde_json::to_string(text).map_or(0, |quoted| quoted.len() - 2)
    }
}

/// True when `text` needs no escaping inside a JSON string.
fn plain_json_text(text: &str) -> bool {
    text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// `len` lowercase hex digits derived from the event id and `salt`.
pub(super) fn hex(id: &str, salt: &str, len: usize) -> String {
    let mut out = Vec::with_capacity(len);
    hex_into(&mut out, id, salt, len);
    String::from_utf8(out).unwrap_or_default()
}

/// FNV-1a over salt and id: the start of every derived value.
fn derive_state(id: &str, salt: &str) -> u64 {
    salt.bytes()
        .chain([0])
        .chain(id.bytes())
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
}

/// One splitmix64 step.
fn next_word(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `len` letters and digits (`[0-9A-Za-z]`) derived from the event id and `salt`.
pub(super) fn alnum(id: &str, salt: &str, len: usize) -> String {
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut state = derive_state(id, salt);
    (0..len)
        .map(|_| char::from(DIGITS[(next_word(&mut state) % 62) as usize]))
        .collect()
}

/// A UUID in the version 4 layout, derived from the event id and `salt`.
pub(super) fn uuid(id: &str, salt: &str) -> String {
    let mut digits = hex(id, salt, 32).into_bytes();
    digits[12] = b'4';
    digits[16] = b"89ab"[usize::from(digits[16] % 4)];
    let text = String::from_utf8(digits).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        &text[..8],
        &text[8..12],
        &text[12..16],
        &text[16..20],
        &text[20..]
    )
}

/// A number of exactly `digits` digits (1 to 18) derived from the event id and `salt`.
pub(super) fn number(id: &str, salt: &str, digits: usize) -> u64 {
    let digits = digits.clamp(1, 18) as u32;
    let low = 10_u64.pow(digits - 1);
    let mut state = derive_state(id, salt);
    low + next_word(&mut state) % (low * 9)
}

fn hex_into(out: &mut Vec<u8>, id: &str, salt: &str, len: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // FNV-1a over salt and id, then splitmix64 steps for as many digits as needed.
    let mut state = derive_state(id, salt);
    let mut left = len;
    while left > 0 {
        let z = next_word(&mut state);
        for shift in (0..16).rev().take(left) {
            out.push(DIGITS[((z >> (shift * 4)) & 0xf) as usize]);
        }
        left = left.saturating_sub(16);
    }
}

/// `created + offset_secs` as RFC 3339 in UTC, clamped to years 1970 to 9999.
pub(super) fn time(created: i64, offset_secs: i64) -> String {
    let secs = created
        .saturating_add(offset_secs)
        .clamp(0, 253_402_300_799);
    let at = UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs());
    humantime::format_rfc3339_seconds(at).to_string()
}

/// The `YYYY-MM-DD` part of [`time`].
pub(super) fn date(created: i64, offset_secs: i64) -> String {
    let mut t = time(created, offset_secs);
    t.truncate(10);
    t
}
