//! The drop ledger: what an engine removed, where it was, why, and the key that gets it back.
//!
//! Every engine records each dropped span of its input as a [`Dropped`] (byte range, line range, and
//! for JSON a JSON pointer) and writes one [`Marker`] into its output for a group of drops. A
//! marker's text names the count and kind of what it stands for and its retrieval key, in the
//! content's own syntax (engines place the text as a line, a JSON string, or a JSON member).
//!
//! Keys are the first 16 hex digits of the SHA-256 of the bytes they retrieve: for a drop, its
//! original span; for a marker, its payload (the covered spans joined as the marker's
//! [`PayloadShape`] says). Nothing is copied to hold these bytes: [`Ledger::retrieve`] rebuilds them
//! from the original text, so a persistent store can later write exactly the same key → bytes. A
//! marker's key is worked out as it is written; a drop's only when asked for ([`Dropped::key`]).

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Number of hex digits in a retrieval key (64 bits).
pub const KEY_HEX_LEN: usize = 16;

/// A retrieval key: a hash of the bytes it retrieves, as its hex digits (held inline: a long
/// array's ledger has a key for each of its hundreds of thousands of drops).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key([u8; KEY_HEX_LEN]);

impl Key {
    /// The key of `bytes`.
    pub fn of(bytes: &[u8]) -> Key {
        Key::of_digest(Sha256::digest(bytes).as_slice())
    }

    /// The key of a marker's payload, hashed piece by piece (never joined into one string).
    fn of_payload<'a>(shape: PayloadShape, parts: impl Iterator<Item = &'a str>) -> Key {
        let mut h = Sha256::new();
        each_payload_piece(shape, parts, |piece| h.update(piece.as_bytes()));
        Key::of_digest(h.finalize().as_slice())
    }

    fn of_digest(digest: &[u8]) -> Key {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0; KEY_HEX_LEN];
        for (pair, b) in hex.chunks_exact_mut(2).zip(digest) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 15)];
        }
        Key(hex)
    }

    /// Parses a key written in a marker or typed by a user.
    pub fn parse(s: &str) -> Option<Key> {
        let hex: [u8; KEY_HEX_LEN] = s.as_bytes().try_into().ok()?;
        hex.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)).then_some(Key(hex))
    }

    /// A key as a user or an agent gives it: bare, or copied from a marker with what is around it
    /// (`key=…`, `hash=…`, `key=…]`, the whole `[ctxlens: …; key=…]`), in any case, with spaces.
    pub fn parse_given(s: &str) -> Option<Key> {
        let s = s.trim().to_ascii_lowercase();
        let after = ["key=", "hash="].iter().filter_map(|tag| s.rfind(tag).map(|at| at + tag.len())).max();
        let bare = match after {
            Some(at) => s[at..].trim_end_matches([']', ')', ',', ';', '"', '\'', '`', '.']).trim(),
            None => s.as_str(),
        };
        Key::parse(bare)
    }

    pub fn as_str(&self) -> &str {
        // only ever hex digits (made by `of_digest` or checked by `parse`)
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Key {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        Key::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("not a key ({KEY_HEX_LEN} hex digits): {s:?}")))
    }
}

/// Matches every marker ctxlens writes; group 1 is the phrase, group 2 the key.
pub static MARKER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[ctxlens: (.*?); key=([0-9a-f]{16})\]").expect("marker regex"));

/// Whether `text` holds a ctxlens marker (an earlier compression's output, or text made to look
/// like one).
pub fn holds_marker(text: &str) -> bool {
    text.contains("[ctxlens: ") && MARKER_RE.is_match(text)
}

/// Rough token cost of one marker line: a cut that hides fewer tokens than this is not worth it.
pub const MARKER_TOKENS: usize = 24;

/// Whether hiding `text` behind a marker saves tokens. Long texts are not counted (they always do).
pub fn worth_a_marker(text: &str, tokenizer: crate::tokens::Tokenizer) -> bool {
    text.len() >= 16 * MARKER_TOKENS || crate::tokens::count(text, tokenizer) > MARKER_TOKENS
}

/// The text of a marker with this phrase and key.
pub fn marker_text(phrase: &str, key: &Key) -> String {
    format!("[ctxlens: {phrase}; key={key}]")
}

/// 1-based, inclusive line range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lines {
    pub first: usize,
    pub last: usize,
}

/// Where a dropped span was in the original input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Byte range in the original input.
    pub bytes: Range<usize>,
    /// Line range in the original input.
    pub lines: Lines,
    /// RFC 6901 JSON pointer of the dropped value, or of the first of a run (JSON engine only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pointer: Option<Box<str>>,
    /// The pointer of a run's last value, for a run of object members (whose keys do not follow
    /// from the first key and the count, as an array's indices do).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pointer_last: Option<Box<str>>,
}

impl Span {
    /// The pointer as shown to a reader: `/time/1.0.0 … /time/1.4.1` for a run of members.
    pub fn pointer_text(&self) -> Option<String> {
        let p = self.pointer.as_deref()?;
        Some(self.pointer_last.as_ref().map_or_else(|| p.to_string(), |last| format!("{p} … {last}")))
    }
}

/// What kind of thing a drop removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Lines,
    Rows,
    Items,
    Keys,
    Chars,
    Words,
    Matches,
    Files,
    Hunks,
    ContextLines,
}

impl Unit {
    /// "1 row", "3 rows".
    pub fn count(self, n: usize) -> String {
        let (one, many) = match self {
            Unit::Lines => ("line", "lines"),
            Unit::Rows => ("row", "rows"),
            Unit::Items => ("item", "items"),
            Unit::Keys => ("key", "keys"),
            Unit::Chars => ("character", "characters"),
            Unit::Words => ("word", "words"),
            Unit::Matches => ("match", "matches"),
            Unit::Files => ("file", "files"),
            Unit::Hunks => ("hunk", "hunks"),
            Unit::ContextLines => ("context line", "context lines"),
        };
        format!("{} {}", group_thousands(n), if n == 1 { one } else { many })
    }
}

/// One dropped span. Written to a ledger file by [`crate::output::LedgerDoc`], with its key.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    pub span: Span,
    pub unit: Unit,
    /// How many units the span held (lines, rows, keys…).
    pub count: usize,
    /// Why the engine dropped it (shared by the drops of one cut: a long array's runs all say
    /// the same).
    pub reason: Arc<str>,
    /// Index of the marker in the output that accounts for this drop.
    pub marker: usize,
}

impl Dropped {
    /// The key of exactly the span's original bytes; `original` is the input the ledger was made
    /// from. Worked out when asked for, not kept: a run needs its markers' keys (they are in the
    /// output), and a drop's own only where the ledger is written, stored or shown. Hashing
    /// every dropped byte a second time was a tenth of the JSON engine's time.
    pub fn key(&self, original: &str) -> Key {
        Key::of(original.as_bytes().get(self.span.bytes.clone()).unwrap_or_default())
    }
}

/// How a marker's payload joins the original text of the drops it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayloadShape {
    /// The spans' text back to back (whole lines, so the result reads as the original lines).
    Concat,
    /// `[` + spans joined by `,` + `]`: a JSON array of the dropped elements.
    JsonArray,
    /// `{` + spans joined by `,` + `}`: a JSON object of the dropped members.
    JsonObject,
    /// The spans joined by newlines: one dropped run of words per line (prose), or the dropped
    /// values of a JSON Lines stream, one a line.
    Lines,
}

/// One marker written into the output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker {
    /// What it stands for, e.g. "57 lines omitted (55 INFO, 2 DEBUG)".
    pub phrase: String,
    /// The marker exactly as written into the output.
    pub text: String,
    /// Key of the payload: every covered drop's original text, joined per `shape`.
    pub key: Key,
    pub shape: PayloadShape,
    /// Indices of the drops it covers, in input order.
    pub covers: Vec<usize>,
}

/// Every drop and marker of one compression, in input order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    pub drops: Vec<Dropped>,
    pub markers: Vec<Marker>,
}

impl Ledger {
    pub fn is_empty(&self) -> bool {
        self.drops.is_empty()
    }

    /// The original bytes behind `key` (a drop's or a marker's), rebuilt from `original`, the
    /// input this ledger was made from.
    pub fn retrieve(&self, original: &str, key: &Key) -> Option<String> {
        self.retrieve_known(original, key, None)
    }

    /// [`Self::retrieve`], with the drops' keys when they were worked out already (see
    /// [`Dropped::key`]), in ledger order: then no drop is hashed again to find one.
    pub fn retrieve_known(&self, original: &str, key: &Key, drop_keys: Option<&[Key]>) -> Option<String> {
        if let Some(m) = self.markers.iter().find(|m| &m.key == key) {
            return Some(self.payload(original, m));
        }
        let i = match drop_keys {
            Some(keys) => keys.iter().position(|k| k == key)?,
            None => self.drops.iter().position(|d| &d.key(original) == key)?,
        };
        Some(original[self.drops.get(i)?.span.bytes.clone()].to_string())
    }

    /// The bytes a marker's key retrieves: its drops' original text joined per its shape.
    pub fn payload(&self, original: &str, marker: &Marker) -> String {
        let parts = marker.covers.iter().map(|&i| &original[self.drops[i].span.bytes.clone()]);
        join_payload(marker.shape, parts)
    }

    /// Shifts every span by a section's position in a larger input.
    pub fn shift(&mut self, bytes: usize, lines: usize) {
        for d in &mut self.drops {
            d.span.bytes = d.span.bytes.start + bytes..d.span.bytes.end + bytes;
            d.span.lines.first += lines;
            d.span.lines.last += lines;
        }
    }

    /// Appends another ledger (of a later section), renumbering its marker references.
    pub fn append(&mut self, other: Ledger) {
        if self.drops.is_empty() && self.markers.is_empty() {
            // the first section's: taken as it is, not copied beside itself (200,000 drops of
            // a long array took 30 MB twice while they were)
            *self = other;
            return;
        }
        let drop_base = self.drops.len();
        let marker_base = self.markers.len();
        self.drops.extend(other.drops.into_iter().map(|mut d| {
            d.marker += marker_base;
            d
        }));
        self.markers.extend(other.markers.into_iter().map(|mut m| {
            m.covers.iter_mut().for_each(|c| *c += drop_base);
            m
        }));
    }
}

fn join_payload<'a>(shape: PayloadShape, parts: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::new();
    each_payload_piece(shape, parts, |piece| out.push_str(piece));
    out
}

/// The pieces of a marker's payload in order: its parts with the shape's brackets and separators.
fn each_payload_piece<'a>(shape: PayloadShape, parts: impl Iterator<Item = &'a str>, mut f: impl FnMut(&str)) {
    let (open, sep, close) = match shape {
        PayloadShape::Concat => ("", "", ""),
        PayloadShape::JsonArray => ("[", ",", "]"),
        PayloadShape::JsonObject => ("{", ",", "}"),
        PayloadShape::Lines => ("", "\n", ""),
    };
    f(open);
    for (i, p) in parts.enumerate() {
        if i > 0 {
            f(sep);
        }
        f(p);
    }
    f(close);
}

/// Byte offset → line number lookups for one text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Starts,
}

/// Where each line starts: 4 bytes a line for a text under 4 GiB (a million 8-byte JSON lines
/// took as much again as their text at 8 bytes a line).
#[derive(Debug, Clone, PartialEq)]
enum Starts {
    Narrow(Vec<u32>),
    Wide(Vec<usize>),
}

impl Starts {
    /// `count` starts from `starts`, for a text of `len` bytes.
    fn of(len: usize, count: usize, starts: impl Iterator<Item = usize>) -> Starts {
        if u32::try_from(len).is_ok() {
            let mut v = Vec::with_capacity(count);
            v.extend(starts.map(|s| s as u32));
            Starts::Narrow(v)
        } else {
            let mut v = Vec::with_capacity(count);
            v.extend(starts);
            Starts::Wide(v)
        }
    }
}

impl LineIndex {
    /// Lines end where [`crate::engine::text::lines`] ends them (at `\n`, or at `\r` in a text
    /// with no `\n`).
    pub fn new(text: &str) -> Self {
        // counted first: a vector grown by doubling held up to twice its size
        let ends = || memchr::memchr_iter(crate::engine::text::line_end(text), text.as_bytes());
        let starts = std::iter::once(0).chain(ends().map(|i| i + 1));
        LineIndex { starts: Starts::of(text.len(), ends().count() + 1, starts) }
    }

    /// The index of `text` from its lines as an engine already split them (`text::lines`), so
    /// the text is not searched for newlines a second time.
    pub fn of_lines(text: &str, lines: &[crate::engine::text::Line]) -> Self {
        // a last line cut short of its end (no line break after it) starts one more, empty
        let end =
            (lines.is_empty() || lines.last().is_some_and(|l| l.start + l.text.len() < l.end)).then_some(text.len());
        let starts = lines.iter().map(|l| l.start).chain(end);
        LineIndex { starts: Starts::of(text.len(), lines.len() + 1, starts) }
    }

    /// 1-based line of the byte at `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match &self.starts {
            Starts::Narrow(v) => v.partition_point(|&s| s as usize <= offset),
            Starts::Wide(v) => v.partition_point(|&s| s <= offset),
        }
    }

    /// Lines covered by a non-empty byte range (a range ending just after a newline does not
    /// reach into the next line).
    pub fn lines_of(&self, bytes: &Range<usize>) -> Lines {
        let first = self.line_of(bytes.start);
        let last = if bytes.end > bytes.start { self.line_of(bytes.end - 1) } else { first };
        Lines { first, last }
    }
}

/// Collects drops and markers while an engine works, computing keys and line ranges.
pub struct LedgerBuilder<'a> {
    original: &'a str,
    lines: LineIndex,
    ledger: Ledger,
    /// Drops recorded but not yet covered by a marker.
    pending: Vec<usize>,
}

impl<'a> LedgerBuilder<'a> {
    pub fn new(original: &'a str) -> Self {
        Self::with_index(original, LineIndex::new(original))
    }

    /// A builder for an original the engine has already split into lines.
    pub fn of_lines(original: &'a str, lines: &[crate::engine::text::Line]) -> Self {
        Self::with_index(original, LineIndex::of_lines(original, lines))
    }

    fn with_index(original: &'a str, lines: LineIndex) -> Self {
        LedgerBuilder { original, lines, ledger: Ledger::default(), pending: Vec::new() }
    }

    pub fn original(&self) -> &'a str {
        self.original
    }

    pub fn line_index(&self) -> &LineIndex {
        &self.lines
    }

    /// Where the next group of drops starts: pass it to [`Self::marker`] to cover exactly the drops
    /// recorded after this call (groups nest, as JSON containers do).
    pub fn group(&self) -> usize {
        self.pending.len()
    }

    /// Room for `n` more drops: exactly that when they are at least as many as those held (the
    /// runs of one long array, which doubling would over-allocate by up to half), doubling
    /// otherwise, so that many small groups still grow the list geometrically.
    pub fn reserve(&mut self, n: usize) {
        fn room<T>(v: &mut Vec<T>, n: usize) {
            if n >= v.len() { v.reserve_exact(n) } else { v.reserve(n) }
        }
        room(&mut self.ledger.drops, n);
        room(&mut self.pending, n);
    }

    /// Records a dropped span; a later [`Self::marker`] call must cover it.
    pub fn drop_span(
        &mut self,
        bytes: Range<usize>,
        pointer: Option<String>,
        unit: Unit,
        count: usize,
        reason: impl Into<Arc<str>>,
    ) {
        self.drop_run(bytes, pointer, None, unit, count, reason);
    }

    /// Records a dropped run of JSON object members, from `pointer` to `pointer_last`; a later
    /// [`Self::marker`] call must cover it.
    pub fn drop_run(
        &mut self,
        bytes: Range<usize>,
        pointer: Option<String>,
        pointer_last: Option<String>,
        unit: Unit,
        count: usize,
        reason: impl Into<Arc<str>>,
    ) {
        debug_assert!(bytes.start <= bytes.end && bytes.end <= self.original.len());
        let (pointer, pointer_last) = (pointer.map(String::into_boxed_str), pointer_last.map(String::into_boxed_str));
        let span = Span { lines: self.lines.lines_of(&bytes), bytes, pointer, pointer_last };
        self.pending.push(self.ledger.drops.len());
        self.ledger.drops.push(Dropped { span, unit, count, reason: reason.into(), marker: usize::MAX });
    }

    /// Whether drops of the group started at `group` are waiting for a marker.
    pub fn has_pending(&self, group: usize) -> bool {
        self.pending.len() > group
    }

    /// Closes the drops recorded since `group` under one marker and returns the marker's text.
    /// `phrase` names what was dropped, e.g. "57 lines omitted (55 INFO, 2 DEBUG)".
    pub fn marker(&mut self, group: usize, phrase: impl Into<String>, shape: PayloadShape) -> String {
        let phrase = phrase.into();
        let covers = self.pending.split_off(group.min(self.pending.len()));
        let index = self.ledger.markers.len();
        let key = match covers.as_slice() {
            // the payload of one drop with no brackets is its span
            &[only] if matches!(shape, PayloadShape::Concat | PayloadShape::Lines) => {
                self.ledger.drops[only].key(self.original)
            }
            _ => {
                Key::of_payload(shape, covers.iter().map(|&i| &self.original[self.ledger.drops[i].span.bytes.clone()]))
            }
        };
        for &i in &covers {
            self.ledger.drops[i].marker = index;
        }
        let text = marker_text(&phrase, &key);
        self.ledger.markers.push(Marker { phrase, text: text.clone(), key, shape, covers });
        text
    }

    pub fn finish(self) -> Ledger {
        debug_assert!(self.pending.is_empty(), "drops recorded without a marker");
        self.ledger
    }
}

/// The first `max` items joined with ", ", then "+N more" for the rest: how markers name what
/// they stand for (files, keys, hunks) without growing without bound.
pub fn name_list<T: fmt::Display>(items: &[T], max: usize) -> String {
    name_list_of(items.iter(), items.len(), max)
}

/// [`name_list`] of `total` items, of which `items` gives the first (at least `max` of them,
/// or all): the rest are only counted.
pub fn name_list_of<T: fmt::Display>(items: impl Iterator<Item = T>, total: usize, max: usize) -> String {
    let mut s: Vec<String> = items.take(max).map(|t| t.to_string()).collect();
    if total > max {
        s.push(format!("+{} more", total - max));
    }
    s.join(", ")
}

/// RFC 6901 escaping of one JSON pointer reference token (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains(['~', '/']) {
        std::borrow::Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(token)
    }
}

/// 1234567 → "1,234,567".
pub fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_index_from_an_engines_lines_is_the_one_from_the_text() {
        for text in ["", "a", "a\n", "\n", "\n\n", "a\r\nb", "a\nb\n", "é\n\nü", "x\r\n\r\n"] {
            let lines = crate::engine::text::lines(text);
            assert_eq!(LineIndex::of_lines(text, &lines).starts, LineIndex::new(text).starts, "{text:?}");
        }
    }

    #[test]
    fn keys_are_stable_hex() {
        let k = Key::of(b"hello");
        assert_eq!(k.as_str(), "2cf24dba5fb0a30e");
        assert_eq!(Key::parse(k.as_str()), Some(k));
        assert_eq!(Key::parse("XYZ"), None);
        assert_eq!(Key::parse("2CF24DBA5FB0A30E"), None);
        for given in [
            " key=2CF24DBA5FB0A30E ",
            "hash=2cf24dba5fb0a30e",
            "key=2cf24dba5fb0a30e]",
            "[ctxlens: 26 lines omitted (26 INFO); key=2cf24dba5fb0a30e]",
            "\"key=2cf24dba5fb0a30e\",",
        ] {
            assert_eq!(Key::parse_given(given), Some(k), "{given}");
        }
        for bad in ["key=", "key=2cf24dba5fb0a30e0", "key=2cf24dba5fb0a30e; key=nothex", "2cf24dba5fb0a30", "kéy=é"] {
            assert_eq!(Key::parse_given(bad), None, "{bad}");
        }
        // written and read as its hex text, and nothing else read as a key
        assert_eq!(serde_json::to_string(&k).unwrap(), "\"2cf24dba5fb0a30e\"");
        assert_eq!(serde_json::from_str::<Key>("\"2cf24dba5fb0a30e\"").unwrap(), k);
        for bad in ["\"2cf24dba5fb0a30\"", "\"2cf24dba5fb0a30e0\"", "\"2cf24dba5fb0a3é\"", "17"] {
            assert!(serde_json::from_str::<Key>(bad).is_err(), "{bad}");
        }
        // a marker's key, hashed piece by piece, is the key of its joined payload
        let parts = ["{\"a\":1}", "", "é\n"];
        for shape in [PayloadShape::Concat, PayloadShape::JsonArray, PayloadShape::JsonObject, PayloadShape::Lines] {
            let joined = join_payload(shape, parts.into_iter());
            assert_eq!(Key::of_payload(shape, parts.into_iter()), Key::of(joined.as_bytes()), "{shape:?}");
        }
        assert_eq!(join_payload(PayloadShape::JsonArray, parts.into_iter()), "[{\"a\":1},,é\n]");
    }

    #[test]
    fn line_index_maps_offsets() {
        let idx = LineIndex::new("a\nbb\n\nccc");
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 2);
        assert_eq!(idx.line_of(5), 3);
        assert_eq!(idx.line_of(6), 4);
        assert_eq!(idx.lines_of(&(2..5)), Lines { first: 2, last: 2 });
        assert_eq!(idx.lines_of(&(2..7)), Lines { first: 2, last: 4 });
    }

    #[test]
    fn builder_keys_retrieve_their_bytes() {
        let text = "l1\nl2\nl3\nl4\n";
        let mut b = LedgerBuilder::new(text);
        b.drop_span(3..6, None, Unit::Lines, 1, "test");
        b.drop_span(9..12, None, Unit::Lines, 1, "test");
        let m = b.marker(0, "2 lines omitted", PayloadShape::Concat);
        assert!(MARKER_RE.is_match(&m));
        let ledger = b.finish();
        let mk = &ledger.markers[0];
        assert_eq!(ledger.retrieve(text, &mk.key).unwrap(), "l2\nl4\n");
        assert_eq!(Key::of(b"l2\nl4\n"), mk.key);
        assert_eq!(ledger.retrieve(text, &ledger.drops[1].key(text)).unwrap(), "l4\n");
        // the same from keys worked out before, and nothing for a key no drop has
        let keys: Vec<Key> = ledger.drops.iter().map(|d| d.key(text)).collect();
        assert_eq!(ledger.retrieve_known(text, &keys[1], Some(&keys)).unwrap(), "l4\n");
        assert_eq!(ledger.retrieve_known(text, &Key::of(b"l9"), Some(&keys)), None);
        assert_eq!(ledger.drops[1].span.lines, Lines { first: 4, last: 4 });
        // one drop under a marker: the marker's key is the key of its payload, for every shape
        for shape in [PayloadShape::Concat, PayloadShape::Lines, PayloadShape::JsonArray] {
            let mut b = LedgerBuilder::new(text);
            b.drop_span(3..6, None, Unit::Lines, 1, "test");
            b.marker(0, "1 line omitted", shape);
            let ledger = b.finish();
            let key = &ledger.markers[0].key;
            assert_eq!(*key, Key::of(join_payload(shape, ["l2\n"].into_iter()).as_bytes()), "{shape:?}");
            assert_eq!(ledger.retrieve(text, key).unwrap(), join_payload(shape, ["l2\n"].into_iter()));
        }
    }

    #[test]
    fn name_lists_are_capped() {
        assert_eq!(name_list(&["a", "b"], 5), "a, b");
        assert_eq!(name_list(&[1, 2, 3, 4], 2), "1, 2, +2 more");
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(1234567), "1,234,567");
    }
}
