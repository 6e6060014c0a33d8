//! What to suggest for a `--set` path the document does not have: the nearest existing path
//! (`data.amount` for `data.amout`, `data.line_items.0.quantity` for `data.items.0.qty`), or
//! else the fields there are where the path went missing.

use std::fmt;

use serde_json::Value;

use super::{display, get};

/// Fields listed when no path is close enough to suggest.
const LISTED: usize = 8;

/// The suggestion for a missing path. `Display` gives the text that follows
/// "no field PATH": "; did you mean data.amount?", "; data.metadata has order_id, sku", or
/// nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum Nearest {
    /// An existing path close to the one given.
    Path(String),
    /// No path is close: the fields of the object where the path went missing.
    Fields {
        /// That object's path, or "the top level".
        at: String,
        /// Its first [`LISTED`] keys, in document order.
        fields: Vec<String>,
        /// How many more it has.
        more: usize,
    },
    /// Nothing to suggest: the path went missing in a `null` or an empty object.
    Nothing,
}

impl Nearest {
    /// The suggestion for `path`, whose segments from `missing` on are not in `root` (the
    /// ones before are, and lead to an object or a `null`). Each missing segment is matched
    /// to the closest key of the object it applies to; the rest of the path must then exist
    /// (or be matched the same way) for a path to be suggested.
    pub fn find(root: &Value, path: &[String], missing: usize) -> Nearest {
        let Some(known) = get(root, &path[..missing]) else {
            return Nearest::Nothing;
        };
        if let Some(suggested) = follow(known, &path[missing..]) {
            let mut full = path[..missing].to_vec();
            full.extend(suggested);
            return Nearest::Path(display(&full));
        }
        match known {
            Value::Object(map) if !map.is_empty() => Nearest::Fields {
                at: match missing {
                    0 => "the top level".to_owned(),
                    _ => display(&path[..missing]),
                },
                fields: map.keys().take(LISTED).cloned().collect(),
                more: map.len().saturating_sub(LISTED),
            },
            _ => Nearest::Nothing,
        }
    }
}

/// The segments of an existing path under `node` that `rest` most likely meant, matching each
/// segment to itself when it is there and to the closest key otherwise.
fn follow(mut node: &Value, rest: &[String]) -> Option<Vec<String>> {
    let mut found = Vec::with_capacity(rest.len());
    for segment in rest {
        let (key, child) = match node {
            Value::Object(map) => match map.get_key_value(segment) {
                Some(pair) => pair,
                None => map
                    .iter()
                    .filter_map(|pair| Some((closeness(segment, pair.0)?, pair)))
                    // The first of equally close keys, in document order.
                    .fold(None, |best: Option<(f64, _)>, (score, pair)| match best {
                        Some((top, _)) if top >= score => best,
                        _ => Some((score, pair)),
                    })
                    .map(|(_, pair)| pair)?,
            },
            Value::Array(items) => {
                let child = items.get(segment.parse::<usize>().ok()?)?;
                (segment, child)
            }
            _ => return None,
        };
        found.push(key.clone());
        node = child;
    }
    Some(found)
}

/// How close `key` is to the `wanted` segment, from 0 to 1; `None` when it is not close
/// enough to suggest. A typo (`amout`, `curency`), a part of the name (`items` for
/// `line_items`) and an abbreviation (`qty` for `quantity`) are close.
fn closeness(wanted: &str, key: &str) -> Option<f64> {
    let (wanted, key) = (wanted.to_lowercase(), key.to_lowercase());
    if wanted == key {
        return Some(1.0);
    }
    let edits = strsim::normalized_damerau_levenshtein(&wanted, &key);
    if edits >= 0.6 {
        return Some(edits);
    }
    let short = wanted.chars().count().min(key.chars().count());
    if short >= 3 && (key.contains(&wanted) || wanted.contains(&key)) {
        return Some(0.55);
    }
    if wanted.chars().count() >= 2 && wanted.chars().next() == key.chars().next() {
        let mut left = key.chars();
        if wanted.chars().all(|c| left.any(|k| k == c)) {
            return Some(0.5);
        }
    }
    None
}

impl fmt::Display for Nearest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Nearest::Path(path) => write!(f, "; did you mean {path}?"),
            Nearest::Fields { at, fields, more } => {
                write!(f, "; {at} has {}", fields.join(", "))?;
                match more {
                    0 => Ok(()),
                    n => write!(f, " and {n} more"),
                }
            }
            Nearest::Nothing => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nearest(doc: &Value, path: &str, missing: usize) -> String {
        let path: Vec<String> = path.split('.').map(str::to_owned).collect();
        Nearest::find(doc, &path, missing).to_string()
    }

    #[test]
    fn typos_parts_and_abbreviations_find_the_existing_path() {
        let doc = json!({
            "id": "evt_1",
            "data": {
                "amount": 4200,
                "currency": "usd",
                "line_items": [{"sku": "A", "quantity": 2}],
                "metadata": {"order_id": "1", "sku": "PRO"},
            },
        });
        let cases = [
            ("data.amout", 1, "; did you mean data.amount?"),
            ("data.Currency", 1, "; did you mean data.currency?"),
            ("dta.amount", 0, "; did you mean data.amount?"),
            (
                "data.items.0.qty",
                1,
                "; did you mean data.line_items.0.quantity?",
            ),
            (
                "data.line_items.0.qty",
                3,
                "; did you mean data.line_items.0.quantity?",
            ),
            ("data.amount_cents", 1, "; did you mean data.amount?"),
        ];
        for (path, missing, want) in cases {
            assert_eq!(nearest(&doc, path, missing), want, "{path}");
        }
    }

    #[test]
    fn with_nothing_close_the_fields_there_are_listed() {
        let doc = json!({"data": {"metadata": {"order_id": "1", "sku": "PRO"}, "empty": {}, "nil": null}});
        assert_eq!(
            nearest(&doc, "data.metadata.brand_new.deep", 2),
            "; data.metadata has order_id, sku"
        );
        assert_eq!(nearest(&doc, "zzz", 0), "; the top level has data");
        // The rest of the path must exist too: `sku` is a string, with no `x` in it.
        assert_eq!(
            nearest(&doc, "data.metadat.sku.x", 1),
            "; data has metadata, empty, nil"
        );
        assert_eq!(nearest(&doc, "data.empty.x", 2), "");
        assert_eq!(nearest(&doc, "data.nil.x", 2), "");
        let wide: serde_json::Map<String, Value> =
            (0..12).map(|i| (format!("k{i:02}"), json!(i))).collect();
        assert_eq!(
            nearest(&Value::Object(wide), "zzzzzz", 0),
            "; the top level has k00, k01, k02, k03, k04, k05, k06, k07 and 4 more"
        );
    }
}
