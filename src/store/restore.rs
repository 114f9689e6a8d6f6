//! Restore recipes: how a compressed output and the store give back its original byte for byte.
//!
//! Markers give back what they stand for, but an output is more than kept text plus markers: the
//! JSON engine re-serialises what it keeps, the diff engine recounts hunk headers, and one marker
//! may stand for spans far apart. So each stored output also gets a recipe, filed under the key of
//! the output's bytes: the original as a list of pieces, each a key in the store. The dropped
//! spans are pieces already (stored under the keys the ledger names); the stretches kept between
//! them are stored as pieces of their own. Nothing is stored twice, and the recipe names the
//! original's key so a restore checks what it rebuilt.

use crate::ledger::{Dropped, Key};
use crate::outcome::Outcome;

/// The original of one output as pieces in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// Key of the whole original.
    pub original: Key,
    /// Its length in bytes.
    pub len: usize,
    /// Keys of the pieces, in order.
    pub pieces: Vec<Key>,
    /// The kept stretches' text (present when made from an outcome, to be stored with the recipe).
    pub kept: Vec<String>,
}

const VERSION: u64 = 1;

impl Recipe {
    /// The recipe of `o`'s original: its drops (outermost first where JSON drops nest) and the
    /// stretches between them.
    pub fn of(o: &Outcome) -> Recipe {
        let mut spans: Vec<(std::ops::Range<usize>, &Dropped)> =
            o.ledger.drops.iter().map(|d| (d.span.bytes.clone(), d)).collect();
        spans.sort_by(|a, b| a.0.start.cmp(&b.0.start).then(b.0.end.cmp(&a.0.end)));
        let mut pieces = Vec::new();
        let mut kept = Vec::new();
        let mut cursor = 0;
        for (span, drop) in spans {
            if span.start < cursor {
                // inside a drop already taken whole
                continue;
            }
            if span.start > cursor {
                let text = &o.original[cursor..span.start];
                pieces.push(Key::of(text.as_bytes()));
                kept.push(text.to_string());
            }
            pieces.push(drop.key(&o.original));
            cursor = span.end;
        }
        if cursor < o.original.len() {
            let text = &o.original[cursor..];
            pieces.push(Key::of(text.as_bytes()));
            kept.push(text.to_string());
        }
        Recipe { original: Key::of(o.original.as_bytes()), len: o.original.len(), pieces, kept }
    }

    /// The recipe as stored: `{"ctxlens_restore": 1, "original", "len", "pieces"}`.
    fn to_value(&self) -> serde_json::Value {
        let pieces: Vec<&str> = self.pieces.iter().map(Key::as_str).collect();
        serde_json::json!({
            "ctxlens_restore": VERSION,
            "original": self.original.as_str(),
            "len": self.len,
            "pieces": pieces,
        })
    }

    /// Reads one stored recipe (without its kept text, which lives in the store).
    fn from_value(v: &serde_json::Value) -> Result<Recipe, String> {
        if v["ctxlens_restore"].as_u64() != Some(VERSION) {
            return Err(format!("not a version {VERSION} recipe"));
        }
        let key = |v: &serde_json::Value| v.as_str().and_then(Key::parse);
        let original = key(&v["original"]).ok_or("no valid `original` key")?;
        let len = v["len"].as_u64().and_then(|n| usize::try_from(n).ok()).ok_or("no valid `len`")?;
        let pieces = v["pieces"]
            .as_array()
            .ok_or("no `pieces`")?
            .iter()
            .map(|p| key(p).ok_or_else(|| format!("a piece is not a key: {p}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Recipe { original, len, pieces, kept: Vec::new() })
    }
}

/// The recipes filed under one output's key as stored: one recipe, or an array of them when
/// different originals were compressed to the same bytes (a diff with and without its final
/// newline, say). Each names its original, so a restore never gives back the wrong one.
pub fn set_bytes(set: &[Recipe]) -> Vec<u8> {
    match set {
        [one] => one.to_value(),
        several => serde_json::Value::Array(several.iter().map(Recipe::to_value).collect()),
    }
    .to_string()
    .into_bytes()
}

/// Reads what [`set_bytes`] wrote: at least one recipe.
pub fn parse_set(bytes: &[u8]) -> Result<Vec<Recipe>, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    match &v {
        serde_json::Value::Array(items) if items.is_empty() => Err("an empty list of recipes".into()),
        serde_json::Value::Array(items) => items.iter().map(Recipe::from_value).collect(),
        one => Ok(vec![Recipe::from_value(one)?]),
    }
}
