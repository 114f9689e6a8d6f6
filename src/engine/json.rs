//! JSON engine: SmartCrusher's techniques, with every drop marked and the output always valid JSON.
//!
//! Arrays of objects are analysed per field (uniqueness, ID and score fields, numeric anomalies,
//! change points, rare fields and values), de-duplicated, and cut to an adaptive budget that
//! always keeps error rows, outliers, anomalies and rows matching the query, plus the first/last
//! boundary fractions. Arrays of strings, numbers and mixed values, and objects with many keys are
//! cut the same way. Headroom drops scalar-array items and object keys with no marker; here every
//! cut writes a marker in JSON's own syntax: a `{"_ctxlens_omitted": "[ctxlens: …]"}` element in
//! arrays of objects, a `"[ctxlens: …]"` string in other arrays, a `"_ctxlens_omitted"` member in
//! objects. JSON Lines input stays JSON Lines. Numbers keep their exact source text.

use std::borrow::{Borrow, Cow};
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::ops::Range;
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::api::{Compressed, Context, Engine, Factor, Fraction, Memo, Skip, drop_later};
use super::jsonspan::{self, LEAN_ITEMS, NodeKind, SpanTree};
use super::sizing::{self, Texts};
use super::text::{self, has_error_word};
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, escape_pointer, group_thousands, name_list_of};

/// The key ctxlens uses for its markers inside JSON objects.
pub const MARKER_KEY: &str = "_ctxlens_omitted";

/// Knobs of the JSON engine (Headroom `SmartCrusherConfig` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct JsonParams {
    /// Arrays (and objects) with fewer items are never cut.
    pub min_items_to_analyze: usize,
    /// Inputs under this many tokens pass through; also the size below which a wide object is left whole.
    pub min_tokens_to_crush: usize,
    /// σ multiplier for numeric anomalies, length outliers and change points.
    pub variance_threshold: Factor,
    /// Upper bound of the adaptive number of items kept per array (rows that must stay can exceed it).
    pub max_items_after_crush: usize,
    /// Keep the rows around detected change points in numeric fields.
    pub preserve_change_points: bool,
    /// Drop later copies of identical items (marked as duplicates).
    pub dedup_identical_items: bool,
    /// Share of the budget given to the first items.
    pub first_fraction: Fraction,
    /// Share of the budget given to the last items.
    pub last_fraction: Fraction,
    /// A row whose query relevance (IDF-weighted share of query words it contains) reaches this is preferred.
    pub relevance_threshold: Fraction,
    /// Budget multiplier: above 1 keeps more items, below 1 fewer; the budget stays capped at
    /// `max_items_after_crush` (as in Headroom), so above 1 it only helps arrays under the cap.
    pub bias: Factor,
    /// ctxlens: sample map-like objects (keys that are data, like version → date) as rows are,
    /// with the boundary fractions; other objects keep every key (Headroom's `crush_object` drops
    /// the largest keys of any wide object, without a marker; here they are named in one).
    pub crush_wide_objects: bool,
    /// ctxlens: strings longer than this many characters keep their first quarter and end in a
    /// marker (0 keeps every string whole). Strings that read like errors or stack traces are never cut.
    pub long_string_chars: usize,
}

impl Default for JsonParams {
    fn default() -> Self {
        JsonParams {
            min_items_to_analyze: 5,
            min_tokens_to_crush: 200,
            variance_threshold: Factor(2.0),
            max_items_after_crush: 15,
            preserve_change_points: true,
            dedup_identical_items: true,
            first_fraction: Fraction(0.3),
            last_fraction: Fraction(0.15),
            relevance_threshold: Fraction(0.3),
            bias: Factor(1.0),
            crush_wide_objects: true,
            long_string_chars: 1000,
        }
    }
}

pub struct JsonEngine;

impl Engine for JsonEngine {
    type Params = JsonParams;

    fn compress(input: &str, p: &JsonParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.trim().is_empty() {
            return Err(Skip::Empty);
        }
        if let Some(body) = input.strip_prefix('\u{feff}') {
            // a byte-order mark stays where it was; the ledger's offsets count it
            let mut c = Self::compress(body, p, ctx)?;
            c.output.insert(0, '\u{feff}');
            c.ledger.shift('\u{feff}'.len_utf8(), 0);
            return Ok(c);
        }
        let key = (fx_hash(input), input.len());
        let memo = ctx.memo.as_deref();
        let kept = memo.and_then(|m| m.get::<Parsed>(MEMO_PARSE, key.0)).filter(|p| p.key == key);
        let (mut value, lines_mode, tree) = match &kept {
            Some(p) => (p.value.clone(), p.lines_mode, Some(p.tree.clone())),
            None => parse_and_scan(input).map_err(|e| reserved_key(input).unwrap_or(e))?,
        };
        let tokens_in = ctx.input_tokens(input);
        if tokens_in < p.min_tokens_to_crush {
            return Err(Skip::TooSmall {
                detail: format!(
                    "{tokens_in} tokens; JSON under min_tokens_to_crush = {} passes through",
                    p.min_tokens_to_crush
                ),
            });
        }
        let tree = match tree {
            Some(t) => t,
            None => Arc::new(jsonspan::scan_lean(input).map_err(scan_failed)?),
        };
        if kept.is_none() {
            source_number_text(&mut value, &tree, input);
        }
        if kept.is_none() && members(&value) != tree.member_count() {
            return Err(duplicate_key(input, &tree));
        }
        if kept.is_none()
            && let Some(m) = memo
        {
            // the same input a second time is a knob being turned: keep its parse from then on
            // (the first time costs only its key, so counting many blocks copies no value)
            let again = m.get::<(u64, usize)>(MEMO_SEEN, key.0).is_some_and(|seen| *seen == key);
            if again {
                m.put(
                    MEMO_PARSE,
                    MEMO_PARSES,
                    key.0,
                    Parsed { key, value: value.clone(), lines_mode, tree: tree.clone() },
                );
            } else {
                m.put(MEMO_SEEN, MEMO_SEEN_INPUTS, key.0, key);
            }
        }
        let mut c = Crusher::new(input, Arc::clone(&tree), p, ctx);
        c.lines = lines_mode;
        let root = tree.root();
        let out_value = c.process(value, root, String::new());
        if c.reserved.get() {
            return Err(reserved_key(input).unwrap_or(Skip::ParseFailed {
                detail: format!("an object holds the key {NUMBER_TOKEN:?}; passed through so nothing is lost"),
            }));
        }
        // written twice, counted then kept: a text grown by doubling held up to twice its length
        let mut count = Count(0);
        write_output(&out_value, lines_mode, &mut count).map_err(ser_err)?;
        let mut output = Vec::with_capacity(count.0);
        write_output(&out_value, lines_mode, &mut output).map_err(ser_err)?;
        let output = String::from_utf8(output).map_err(|e| Skip::ParseFailed {
            detail: format!("the result is not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        })?;
        if input.len() >= DROP_LATER_BYTES {
            drop_later(out_value);
        }
        let ledger = c.ledger.finish();
        let strategy = if ledger.is_empty() {
            "re-serialised compactly; nothing dropped".to_string()
        } else {
            let items: usize = ledger.drops.iter().map(|d| d.count).sum();
            format!(
                "dropped {} in {} place(s); {}",
                group_thousands(items),
                ledger.markers.len(),
                if lines_mode { "JSON Lines kept one value per line" } else { "compact output" }
            )
        };
        Ok(Compressed { output, ledger, strategy, notes: c.notes, budget_hit: false })
    }
}

/// Writes the engine's output: `value` compact, or, for JSON Lines, its items one a line.
fn write_output(value: &Value, lines: bool, out: &mut impl std::io::Write) -> Result<(), serde_json::Error> {
    match value {
        Value::Array(items) if lines => {
            for v in items {
                serde_json::to_writer(&mut *out, v)?;
                out.write_all(b"\n").map_err(serde_json::Error::io)?;
            }
            Ok(())
        }
        other => serde_json::to_writer(out, other),
    }
}

/// A writer that only counts the bytes it is given.
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Gives every number its source text back. serde_json (with arbitrary_precision) keeps a
/// number's digits but rewrites its exponent (`1E5` becomes `1e+5`); the output promises source
/// text, so each number whose text changed is rebuilt from its span. The value and the span tree
/// list members in the same order (duplicate keys are refused before this matters).
fn source_number_text(value: &mut Value, tree: &SpanTree, input: &str) {
    let mut stack = vec![(value, tree.root())];
    while let Some((v, id)) = stack.pop() {
        match v {
            Value::Number(n) => {
                let src = &input[tree.node(id).span()];
                if n.as_str() != src {
                    *n = serde_json::Number::from_string_unchecked(src.to_string());
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut().zip(tree.children(id))),
            Value::Object(map) => stack.extend(map.values_mut().zip(tree.children(id))),
            _ => {}
        }
    }
}

/// The value at `span` of `text` (an item of a lean array, a member of a lean object) parsed lean
/// (see [`parse`]), with a span tree of its own at `text`'s offsets, when it has more than
/// [`BESIDE_ROW_BYTES`] and holds a long array or a large object of its own (or is one); `None`
/// when it is smaller, holds none (found by the scan, which builds no value, before any parse) or
/// does not parse. Its numbers are as [`parse`] gives them.
pub(crate) fn parse_lean_at(text: &str, span: Range<usize>) -> Option<(Value, SpanTree)> {
    if span.len() <= BESIDE_ROW_BYTES {
        return None;
    }
    let tree = jsonspan::scan_lean_at(text, span.start).ok()?;
    if !tree.holds_lean(span.clone()) {
        return None;
    }
    let (v, form) = parse(&text[span]).ok()?;
    (form == Form::LeanDocument).then_some((v, tree))
}

/// Why a document with a key twice in one object passes through: serde_json keeps the last of
/// two equal keys, and crushing that value would lose the first one with no trace. `tree` is the
/// document's (it names the first such key and where).
fn duplicate_key(input: &str, tree: &SpanTree) -> Skip {
    if let Some(skip) = reserved_key(input) {
        return skip;
    }
    let (key, at) = tree.first_duplicate_key(input).unwrap_or_default();
    Skip::ParseFailed {
        detail: format!(
            "the key {key:?} appears twice in one object (byte {at}); passed through so neither value is lost"
        ),
    }
}

/// Why a document whose parse failed, or holds fewer members than its text, is passed through,
/// when it holds serde_json's reserved key [`NUMBER_TOKEN`]: the parse reads an object with that
/// key as a number (`{"$serde_json::private::Number":"12"}` as `12`) or fails on it.
fn reserved_key(input: &str) -> Option<Skip> {
    // the key is written as it is or with `\u` escapes: none of its characters has another escape
    if !input.contains("private::Number") && !input.contains("\\u") {
        return None;
    }
    let tree = jsonspan::scan(input, false).or_else(|_| jsonspan::scan(input, true)).ok()?;
    let at = tree.find_key(input, NUMBER_TOKEN)?;
    Some(Skip::ParseFailed {
        detail: format!(
            "the key {NUMBER_TOKEN:?} (byte {at}) is one the JSON parser keeps for itself (it would read the object as \
             a number); passed through so nothing is lost"
        ),
    })
}

/// Inputs from this size up are parsed and scanned for spans on two threads at once.
const SCAN_BESIDE_BYTES: usize = 64 * 1024;

fn scan_failed(e: jsonspan::ScanError) -> Skip {
    Skip::ParseFailed { detail: format!("span scan failed at byte {}: {}", e.offset, e.message) }
}

/// [`parse`], with the span tree when the input is large enough to scan it on another core
/// meanwhile (as one document: JSON Lines, known only from the parse, are scanned after), and
/// whether it is JSON Lines (whose tree is always given).
pub(crate) fn parse_and_scan(input: &str) -> Result<(Value, bool, Option<Arc<SpanTree>>), Skip> {
    let lines = |v, form| {
        let tree = match form {
            Form::LeanLines => jsonspan::scan_lean_lines(input),
            _ => jsonspan::scan(input, true),
        };
        Ok((v, true, Some(Arc::new(tree.map_err(scan_failed)?))))
    };
    if input.len() < SCAN_BESIDE_BYTES {
        return match parse(input)? {
            (v, form @ (Form::Lines | Form::LeanLines)) => lines(v, form),
            (v, _) => Ok((v, false, None)),
        };
    }
    let long = jsonspan::LongArrays::default();
    let (parsed, scanned) = std::thread::scope(|s| {
        let scan = s.spawn(|| jsonspan::scan_lean_telling(input, &long));
        let parsed = parse_beside(input, Some(&long));
        (parsed, scan.join())
    });
    match (parsed?, scanned) {
        ((v, form @ (Form::Lines | Form::LeanLines)), _) => lines(v, form),
        ((v, _), Ok(Ok(t))) => Ok((v, false, Some(Arc::new(t)))),
        (_, Ok(Err(e))) => Err(scan_failed(e)),
        // the scan stopped short (a panic): what it told may make arrays lean that a scan alone
        // would not, so the text is parsed alone too, to go with a scan alone
        (_, Err(_)) => parse(input).map(|(v, _)| (v, false, None)),
    }
}

/// How many object members a parsed value holds, at every depth (iterative: parsed values can be
/// as deep as serde_json allows).
pub(crate) fn members(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                n += m.len();
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    n
}

/// Inputs from this size up have their result tree freed on a helper thread.
const DROP_LATER_BYTES: usize = 256 * 1024;

/// An input's parse and span tree, kept in the caller's memo: the workbench recompresses one
/// block on every knob change, and parsing and scanning are a fifth of the work.
struct Parsed {
    key: (u64, usize),
    value: Value,
    lines_mode: bool,
    tree: Arc<SpanTree>,
}

/// The memo's names for parses and for inputs seen once, and how many of each it keeps.
const MEMO_PARSE: &str = "json-parse";
const MEMO_PARSES: usize = 4;
const MEMO_SEEN: &str = "json-seen";
const MEMO_SEEN_INPUTS: usize = 4096;

fn fx_hash(text: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    text.hash(&mut h);
    h.finish()
}

fn ser_err(e: serde_json::Error) -> Skip {
    Skip::ParseFailed { detail: format!("could not serialise the result: {e}") }
}

/// A JSON document, or a stream of them (JSON Lines) as one array, and whether it was a stream.
///
/// A document is parsed lean: an array of [`LEAN_ITEMS`] items or more keeps none of them as
/// values; they stay in the source text, where [`jsonspan::scan_lean`]'s tree finds them, and are
/// read from there one at a time. A parsed number costs about 100 bytes; its text, eight. An
/// array planner that compares its items as values reads items that hold a lean array whole
/// again, from their text, one at a time as it asks for them, whether they are the items of an
/// array or a group of a mixed one (see `ItemRows`). JSON Lines values are parsed whole, and the
/// stream is lean as an array is (see [`jsonspan::scan_lean_lines`]).
pub(crate) fn parse(input: &str) -> Result<(Value, Form), Skip> {
    parse_beside(input, None)
}

/// [`parse`], told by a scan of the same text running beside it which arrays are long, so that
/// the first items of those are not all built and let go.
fn parse_beside(input: &str, long: Option<&jsonspan::LongArrays>) -> Result<(Value, Form), Skip> {
    let mut de = serde_json::Deserializer::from_str(input);
    let (leaned, duplicate) = (Cell::new(0), Cell::new(false));
    let told = long.map(|long| Told { long, chains: Cell::new(0), arrays_open: Cell::new(0), built: Cell::new(0) });
    let lean = Lean { leaned: &leaned, duplicate: &duplicate, lean_from: LEAN_ITEMS, told: told.as_ref() };
    // a lean array may have left an object with a key twice in its text: where is read from a
    // whole scan
    let duplicated = |lines| Err(duplicate_key(input, &jsonspan::scan(input, lines).map_err(scan_failed)?));
    match serde::de::DeserializeSeed::deserialize(lean, &mut de).and_then(|v| de.end().map(|()| v)) {
        Ok(_) if duplicate.get() => duplicated(false),
        Ok(v) => Ok((v, if leaned.get() > 0 { Form::LeanDocument } else { Form::Document })),
        Err(e) if e.to_string().starts_with("trailing characters") => {
            let (values, duplicate) = read_lines(input).map_err(|e2| parse_failed(&e2, true))?;
            if duplicate {
                return duplicated(true);
            }
            let form = if values.lean { Form::LeanLines } else { Form::Lines };
            Ok((Value::Array(values.finish()), form))
        }
        Err(e) => Err(parse_failed(&e, false)),
    }
}

/// A JSON Lines stream of at most this much text is read once, whole (see [`read_lines`]): its
/// values take at most a few MB. Up to 1 MB, 100 lines of 800-member objects (0.86 MB) took
/// 17 MB above the fixed cost; lean, nothing.
const LINES_READ_ONCE_BYTES: usize = 64 * 1024;

/// A JSON Lines stream's values as [`parse`] keeps them (see [`LeanItems`]), and whether one had
/// a key twice. A stream of more than [`LINES_READ_ONCE_BYTES`] is lean: checked first with
/// nothing built (see [`LineCheck`]), then each value read from the text when asked for (a large
/// one lean in its turn). Each value was built whole, and the first 1,023 held: eight lines of
/// 5 MB among 1,100 took 645 MB for 40 MB; a stream of fewer than 1,024 values was built whole
/// after its check, and eight lines of 7.7 MB took 1.7 GB.
fn read_lines(input: &str) -> Result<(LeanItems, bool), serde_json::Error> {
    let mut values = LeanItems::new(LEAN_ITEMS);
    if input.len() > LINES_READ_ONCE_BYTES {
        let mut twice = false;
        for line in serde_json::Deserializer::from_str(input).into_iter::<LineCheck>() {
            twice |= line?.duplicate;
        }
        values.go_lean();
        return Ok((values, twice));
    }
    let mut duplicate = false;
    for line in serde_json::Deserializer::from_str(input).into_iter::<LineValue>() {
        let line = line?;
        duplicate |= line.duplicate;
        values.push(line.value);
    }
    Ok((values, duplicate))
}

/// One JSON Lines value read as [`Check`] reads one: to fail where it would and to flag a key
/// written twice, with nothing built.
struct LineCheck {
    duplicate: bool,
}

impl<'de> serde::Deserialize<'de> for LineCheck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let duplicate = Cell::new(false);
        serde::de::DeserializeSeed::deserialize(Check { duplicate: &duplicate }, d)?;
        Ok(LineCheck { duplicate: duplicate.get() })
    }
}

/// An array's items as a lean parse keeps them (see [`parse`]): every one until there are
/// `lean_from`, then none.
struct LeanItems {
    items: Vec<Value>,
    lean_from: usize,
    lean: bool,
}

impl LeanItems {
    fn new(lean_from: usize) -> LeanItems {
        LeanItems { items: Vec::new(), lean_from, lean: false }
    }

    /// The next item. True when the array turns lean.
    fn push(&mut self, v: Value) -> bool {
        if self.lean {
            return false;
        }
        self.items.push(v);
        if self.items.len() == self.lean_from {
            self.go_lean();
            return true;
        }
        false
    }

    /// The array is lean from here: its items so far go.
    fn go_lean(&mut self) {
        self.lean = true;
        self.items = Vec::new();
    }

    fn finish(mut self) -> Vec<Value> {
        // a vector grown from empty holds room for four: a million `[1]` kept three empty
        // values each
        self.items.shrink_to_fit();
        self.items
    }
}

/// One JSON Lines value, parsed whole (no array in it is lean), and whether an object in it had
/// a key twice.
struct LineValue {
    value: Value,
    duplicate: bool,
}

impl<'de> serde::Deserialize<'de> for LineValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (leaned, duplicate) = (Cell::new(0), Cell::new(false));
        let lean = Lean { leaned: &leaned, duplicate: &duplicate, lean_from: usize::MAX, told: None };
        let value = serde::de::DeserializeSeed::deserialize(lean, d)?;
        Ok(LineValue { value, duplicate: duplicate.get() })
    }
}

/// What [`parse`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Document,
    /// A document with at least one lean array or object.
    LeanDocument,
    /// JSON Lines: an array of the stream's values, each parsed whole.
    Lines,
    /// JSON Lines of [`LEAN_ITEMS`] values or more, or of more than 64 KB: the stream is lean as an
    /// array is (see [`jsonspan::scan_lean_lines`]).
    LeanLines,
}

/// serde_json's `Value` parse, but lean for long arrays (see [`parse`]). Objects keep their key
/// order and, as serde_json's own parse does, the last value of a repeated key.
#[derive(Clone, Copy)]
struct Lean<'f> {
    /// How many arrays were parsed lean so far.
    leaned: &'f Cell<usize>,
    /// An object had a key twice.
    duplicate: &'f Cell<bool>,
    /// Arrays are lean from this many items on (see [`LeanItems`]), and objects from this many
    /// members.
    lean_from: usize,
    /// What a scan beside the parse found long so far (see [`parse_beside`]).
    told: Option<&'f Told<'f>>,
}

/// A parse's side of [`jsonspan::LongArrays`]: arrays in no array are numbered as the scan
/// numbers them, in the order they open.
struct Told<'f> {
    long: &'f jsonspan::LongArrays,
    chains: Cell<u32>,
    arrays_open: Cell<u32>,
    /// Array items and object members built so far.
    built: Cell<usize>,
}

/// Items and members an array in no array may build before its parse waits to be told whether it
/// is long: the scan beside reaches a long array's 1,024th item late when its items are large
/// (1,100 rows of 17 KB: most of the text), and until then the parse built them all (210 MB for
/// 19 MB).
const WAIT_AFTER_BUILT: usize = 1 << 16;

impl Told<'_> {
    fn built(&self) {
        self.built.set(self.built.get() + 1);
    }

    /// An array opens: its number when it is in no array.
    fn open(&self) -> Option<u32> {
        let open = self.arrays_open.replace(self.arrays_open.get() + 1);
        (open == 0).then(|| self.chains.replace(self.chains.get() + 1))
    }

    fn close(&self) {
        self.arrays_open.set(self.arrays_open.get().saturating_sub(1));
    }
}

/// The key under which serde_json (with `arbitrary_precision`) hands a number's text to a visitor.
const NUMBER_TOKEN: &str = "$serde_json::private::Number";

impl<'de> serde::de::DeserializeSeed<'de> for Lean<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Lean<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, x: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let chain = self.told.and_then(Told::open);
        let (from, mut waited) = (self.told.map_or(0, |t| t.built.get()), false);
        let mut items = LeanItems::new(self.lean_from);
        while !items.lean {
            // a long array the scan beside found already is lean before its 1,024th item: every
            // 16th item asks, and once its items are many the parse waits for the answer (the
            // outcome is the same whenever it comes). After its first SIZE_LEAN_ITEMS items the
            // parse waits to know whether they were large, which makes it lean there.
            if let (Some(k), Some(told)) = (chain, self.told) {
                let long = if items.items.len() == jsonspan::SIZE_LEAN_ITEMS {
                    told.long.wait(k, true)
                } else if !waited && told.built.get() - from > WAIT_AFTER_BUILT {
                    waited = true;
                    told.long.wait(k, false)
                } else {
                    items.items.len() % 16 == 15 && told.long.has(k)
                };
                if long {
                    items.go_lean();
                    self.leaned.set(self.leaned.get() + 1);
                    break;
                }
            }
            let Some(v) = seq.next_element_seed(self)? else {
                if let Some(told) = self.told {
                    told.close();
                }
                return Ok(Value::Array(items.finish()));
            };
            if let Some(told) = self.told {
                told.built();
            }
            if items.push(v) {
                self.leaned.set(self.leaned.get() + 1);
            }
        }
        // the rest stay in the text: read for their validity and repeated keys only
        let check = Check { duplicate: self.duplicate };
        while seq.next_element_seed(check)?.is_some() {}
        if let Some(told) = self.told {
            told.close();
        }
        Ok(Value::Array(items.finish()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // the members first, so the map is made at its size (one grown from empty holds room
        // for four members and their index: a million `{"a":1}` took 700 bytes each)
        let mut members = Vec::new();
        // keys borrowed until they are kept: a number's token is read with no copy
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if members.is_empty() && key == NUMBER_TOKEN {
                let digits: Key = map.next_value()?;
                return digits.0.parse().map(Value::Number).map_err(serde::de::Error::custom);
            }
            members.push((key.into_owned(), map.next_value_seed(self)?));
            if let Some(told) = self.told {
                told.built();
            }
            if members.len() == self.lean_from {
                return self.rest_lean(map, members);
            }
        }
        let mut out = Map::with_capacity(members.len());
        // a key written twice keeps its first place and its last value, as serde_json's parse
        // does; the parse then fails (see `parse`)
        let written = members.len();
        out.extend(members);
        if out.len() < written {
            self.duplicate.set(true);
        }
        Ok(Value::Object(out))
    }
}

impl Lean<'_> {
    /// An object that turned lean with `members` (see [`parse`]): the rest of it is read for its
    /// validity and for a key written twice, with nothing built; its members stay in the text.
    fn rest_lean<'de, A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
        members: Vec<(String, Value)>,
    ) -> Result<Value, A::Error> {
        self.leaned.set(self.leaned.get() + 1);
        let mut keys: Vec<Cow<'de, str>> = members.into_iter().map(|(k, _)| Cow::Owned(k)).collect();
        let check = Check { duplicate: self.duplicate };
        while let Some(Key(key)) = map.next_key::<Key>()? {
            keys.push(key);
            map.next_value_seed(check)?;
        }
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            self.duplicate.set(true);
        }
        Ok(Value::Object(Map::new()))
    }
}

/// A lean array's item past its switch (see [`LeanItems`]): read as [`Lean`] reads one, to fail
/// where it would and to flag a key written twice, but with nothing built.
#[derive(Clone, Copy)]
struct Check<'f> {
    duplicate: &'f Cell<bool>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Check<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Check<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // keys as written when they have no escape, decoded otherwise
        let mut keys: Vec<Cow<'de, str>> = Vec::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            if keys.is_empty() && key.0 == NUMBER_TOKEN {
                // a number's text (arbitrary_precision), or serde_json's reserved key: the item
                // is read again when it is needed, and `read_item` tells them apart
                map.next_value::<serde::de::IgnoredAny>()?;
                return Ok(());
            }
            keys.push(key.0);
            map.next_value_seed(self)?;
        }
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            self.duplicate.set(true);
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string key")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(s.to_string())))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// Whether a number anywhere in `v` has an exponent, which serde_json's parse rewrites (`1E5`
/// as `1e+5`).
fn has_exponent(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Number(n) if n.as_str().contains(['e', 'E']) => return true,
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    false
}

/// A scalar's text as its parsed value holds it: a string decoded (quotes and escapes gone), any
/// other literal as written. `None` when `literal` is not a valid JSON string.
pub(crate) fn scalar_text(literal: &str) -> Option<Cow<'_, str>> {
    if !literal.starts_with('"') {
        return Some(Cow::Borrowed(literal));
    }
    if literal.contains('\\') {
        return serde_json::from_str::<String>(literal).ok().map(Cow::Owned);
    }
    literal.get(1..literal.len().checked_sub(1)?).map(Cow::Borrowed)
}

/// An atom's value from its source text (a number keeps its text as written; an empty
/// container's brackets may hold whitespace).
fn scalar_value(literal: &str) -> Value {
    match literal.as_bytes().first() {
        Some(b'[') => Value::Array(Vec::new()),
        Some(b'{') => Value::Object(Map::new()),
        Some(b'"') => scalar_text(literal).map_or(Value::Null, |s| Value::String(s.into_owned())),
        Some(b't') => Value::Bool(true),
        Some(b'f') => Value::Bool(false),
        Some(b'n') | None => Value::Null,
        Some(_) => Value::Number(serde_json::Number::from_string_unchecked(literal.to_string())),
    }
}

fn parse_failed(e: &serde_json::Error, lines: bool) -> Skip {
    let what = if lines { "JSON Lines" } else { "JSON" };
    let msg = e.to_string();
    let detail = if msg.starts_with("recursion limit exceeded") {
        format!("{what} nests 128 levels deep or more ({msg})")
    } else if e.is_eof() {
        format!("{what} ends early, truncated? ({msg})")
    } else if ["unexpected end of hex escape", "lone leading surrogate"].iter().any(|m| msg.starts_with(m)) {
        // JavaScript and Python write and read these; no UTF-8 text can hold one
        format!("{what} with a lone UTF-16 surrogate escape such as \\ud800, which no UTF-8 text can hold ({msg})")
    } else {
        format!("not valid {what}: {msg}")
    };
    let at_start = e.line() == 1 && e.column() <= 1;
    if at_start && !e.is_eof() {
        Skip::NotThisType { detail: format!("does not start with a {what} value ({msg})") }
    } else if e.is_syntax() || e.is_eof() || msg.starts_with("recursion") {
        Skip::ParseFailed { detail }
    } else {
        Skip::NotThisType { detail }
    }
}

/// How many runs of drops of one reason an array's ledger entries follow (see
/// [`Crusher::mark_drops`]).
const MAX_REASON_RUNS: usize = 1024;

/// Why an item was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropWhy {
    Duplicate,
    Sampled,
}

impl DropWhy {
    fn reason(self, kept: usize, total: usize) -> String {
        match self {
            // the earlier item may itself be sampled out: it has its own entry
            DropWhy::Duplicate => "identical to an earlier item (dedup_identical_items)".to_string(),
            DropWhy::Sampled => {
                format!("sampled out: no error, outlier, anomaly, change point or query match (kept {kept} of {total})")
            }
        }
    }
}

/// Which items of an array (or keys of an object) to keep.
struct KeepPlan {
    keep: Vec<bool>,
    why: Vec<Option<DropWhy>>,
    /// What the kept set was built from, for the notes.
    summary: String,
}

impl KeepPlan {
    fn all(n: usize, summary: String) -> Self {
        KeepPlan { keep: vec![true; n], why: vec![None; n], summary }
    }

    fn dropped(&self) -> usize {
        self.keep.iter().filter(|k| !**k).count()
    }
}

/// Builds a keep set: `must` always, then `preferred` in order until `k` items, skipping copies.
fn choose(
    n: usize,
    k: usize,
    must: &[usize],
    preferred: impl IntoIterator<Item = usize>,
    copy: &[bool],
    summary: String,
) -> KeepPlan {
    let mut keep = vec![false; n];
    let mut count = 0;
    for &i in must {
        if i < n && !keep[i] {
            keep[i] = true;
            count += 1;
        }
    }
    for i in preferred {
        if count >= k {
            break;
        }
        if i < n && !keep[i] && !copy[i] {
            keep[i] = true;
            count += 1;
        }
    }
    let why = (0..n).map(|i| (!keep[i]).then(|| if copy[i] { DropWhy::Duplicate } else { DropWhy::Sampled })).collect();
    KeepPlan { keep, why, summary }
}

/// Round half to even, as Python's `round` (Headroom's `compute_k_split`).
fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 { r - 1.0 } else { r };
    r.max(0.0) as usize
}

/// First/last boundary indices for a budget of `k` over `n` items, then an even stride over the
/// rest, then every item in order (a lazy sequence: [`choose`] stops at its budget).
fn boundary_then_stride(n: usize, k: usize, p: &JsonParams) -> impl Iterator<Item = usize> {
    let k_first = round_half_even(k as f64 * p.first_fraction.get()).min(n);
    let k_last = round_half_even(k as f64 * p.last_fraction.get()).min(n);
    (0..k_first).chain((n.saturating_sub(k_last)..n).rev()).chain(sizing::stride_sample(n, k.max(1))).chain(0..n)
}

/// Order-insensitive content hash (object keys in any order), for de-duplication.
fn content_hash(v: &Value) -> u64 {
    Walk::default().value(v, Within::Whole, 0)
}

/// Where a row's arrays hold their items: in the value, or, for a row that holds a lean array
/// (a page of a long array: see `ItemRows` and `LeanRows::each`), by the row's node in a span
/// tree of the crusher's input, from which a lean array's items are read from the text one at a
/// time. A page is then walked with at most one of its items built at once, where reading it
/// whole took 30 times its text.
#[derive(Clone, Copy)]
enum Within<'t> {
    Whole,
    Node(&'t SpanTree, &'t Crusher<'t>, usize),
}

impl Within<'_> {
    /// Whether the object value `m` is map-like (see [`map_like`]), a lean one read from its text.
    fn map_like(self, m: &Map<String, Value>) -> bool {
        match self {
            Within::Node(tree, c, node) if tree.node(node).lean => lean_map_like(tree, node, c.input),
            _ => map_like(m),
        }
    }

    /// Whether the array value `a` has no items.
    fn is_empty(self, a: &[Value]) -> bool {
        a.is_empty() && !matches!(self, Within::Node(tree, _, node) if tree.node(node).lean)
    }

    /// Each item of the array value `a`, with where its own arrays hold their items.
    fn items(self, a: &[Value], mut f: impl FnMut(&Value, Within)) {
        match self {
            Within::Whole => a.iter().for_each(|x| f(x, Within::Whole)),
            Within::Node(tree, c, node) if tree.node(node).lean => {
                for span in tree.lean_items(node, c.input) {
                    f(&c.read_item(&c.input[span]), Within::Whole);
                }
            }
            Within::Node(tree, c, node) => {
                a.iter().zip(tree.children(node)).for_each(|(x, k)| f(x, Within::Node(tree, c, k)));
            }
        }
    }

    /// Each member of the object value `m` (which, parsed from the document, has no key twice),
    /// likewise: a lean object's read from the text, one at a time.
    fn members(self, m: &Map<String, Value>, mut f: impl FnMut(&str, &Value, Within)) {
        match self {
            Within::Whole => m.iter().for_each(|(k, x)| f(k, x, Within::Whole)),
            Within::Node(tree, c, node) if tree.node(node).lean => {
                for (key, value) in tree.lean_members(node, c.input) {
                    let key = scalar_text(&c.input[key]).unwrap_or_default();
                    f(&key, &c.read_item(&c.input[value]), Within::Whole);
                }
            }
            Within::Node(tree, c, node) => {
                m.iter().zip(tree.children(node)).for_each(|((k, x), n)| f(k, x, Within::Node(tree, c, n)));
            }
        }
    }
}

/// One walk over a row for all a planner's reading pass takes from it: its content hash (what
/// [`Walk::value`] returns), and, when asked for, its values' text, its key paths, and the
/// content hash of each of its members. A page of a long array is read once for all of them.
#[derive(Default)]
struct Walk<'o> {
    /// Lower-cased text of the scalars, each followed by a space (keys excluded, so a query word
    /// that names a field does not make every row relevant; null adds nothing).
    text: Option<&'o mut String>,
    /// The key paths (array indices and the keys of map-like objects collapsed), as hashes, in
    /// no order and with repeats: what a reader learns of the rows' schema from this one.
    paths: Option<&'o mut Vec<u64>>,
    /// The content hash of each member of the row, when it is an object.
    members: Option<&'o mut Vec<u64>>,
}

impl Walk<'_> {
    /// Walks `v`, whose key path is `at`, and returns its content hash.
    fn value(&mut self, v: &Value, within: Within, at: u64) -> u64 {
        let mut h = rustc_hash::FxHasher::default();
        match v {
            Value::Null => 0u8.hash(&mut h),
            Value::Bool(b) => {
                (1u8, b).hash(&mut h);
                if let Some(text) = self.text.as_deref_mut() {
                    text.push_str(if *b { "true " } else { "false " });
                }
            }
            Value::Number(n) => {
                (2u8, n.as_str()).hash(&mut h);
                if let Some(text) = self.text.as_deref_mut() {
                    text.push_str(n.as_str());
                    text.push(' ');
                }
            }
            Value::String(s) => {
                (3u8, s).hash(&mut h);
                if let Some(text) = self.text.as_deref_mut() {
                    push_lowercase(s, text);
                    text.push(' ');
                }
            }
            Value::Array(a) => {
                let item_at = if self.paths.is_some() { path_child(at, "[]") } else { 0 };
                let mut count = 0usize;
                let members = self.members.take();
                within.items(a, |x, w| {
                    h.write_u64(self.value(x, w, item_at));
                    count += 1;
                });
                (4u8, count).hash(&mut h);
                self.members = members;
            }
            Value::Object(m) => {
                let collapse = self.paths.is_some() && within.map_like(m);
                let mut entries: Vec<u64> = Vec::with_capacity(m.len());
                // the row's own members only
                let mut members = self.members.take();
                within.members(m, |key, x, w| {
                    let p = match self.paths.as_deref_mut() {
                        Some(paths) => {
                            let p = path_child(at, if collapse { "*" } else { key });
                            if paths.len() == paths.capacity() && paths.len() >= 1024 {
                                // a long array's rows repeat their paths: a page's 700,000 rows
                                // pushed 11 MB of them
                                compact_paths(paths);
                            }
                            paths.push(p);
                            p
                        }
                        None => 0,
                    };
                    let x_hash = self.value(x, w, p);
                    if let Some(members) = members.as_deref_mut() {
                        members.push(x_hash);
                    }
                    let mut eh = rustc_hash::FxHasher::default();
                    key.hash(&mut eh);
                    eh.write_u64(x_hash);
                    entries.push(eh.finish());
                });
                entries.sort_unstable();
                (5u8, entries).hash(&mut h);
                self.members = members;
            }
        }
        h.finish()
    }
}

/// `paths` sorted, each once, with room for as many again: paths nearly all distinct are then
/// not sorted again at the next push (a page of 150,000 distinct keys took 44 s that way).
fn compact_paths(paths: &mut Vec<u64>) {
    paths.sort_unstable();
    paths.dedup();
    paths.reserve(paths.len());
}

/// The key path of `key` (a member's name, `[]` for an array's items, `*` for a map-like
/// object's members) under the path `at`.
fn path_child(at: u64, key: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    (at, key).hash(&mut h);
    h.finish()
}

/// For each of `n` items, whether an identical one came before it (all `false` when
/// de-duplication is off). The table holds one `u32` index per distinct item and is sized once,
/// so a million items cost about ten megabytes, not a map of hashes to indices grown twice.
fn copies(n: usize, on: bool, hash: impl Fn(usize) -> u64, same: impl Fn(usize, usize) -> bool) -> Vec<bool> {
    if !on {
        return vec![false; n];
    }
    // sized for as many distinct items as the first few suggest: a million copies of one item
    // need one slot, and a million distinct ones are not rehashed as the table grows
    let sample = n.min(256);
    let distinct = (0..sample).map(&hash).collect::<std::collections::HashSet<u64>>().len();
    let mut first = hashbrown::HashTable::<u32>::with_capacity((n / sample.max(1)).saturating_mul(distinct));
    (0..n)
        .map(|i| {
            let h = hash(i);
            if first.find(h, |&j| same(j as usize, i)).is_some() {
                return true;
            }
            // u32 is enough: the span scan refuses text of 4 GiB, so no array has more items
            first.insert_unique(h, i as u32, |&j| hash(j as usize));
            false
        })
        .collect()
}

/// [`copies`] of parsed values, equal when their content is (object keys in any order).
fn duplicates<R: Rows + ?Sized>(rows: &R, on: bool) -> Vec<bool> {
    copies(rows.count(), on, |i| content_hash(&rows.row(i)), |a, b| rows.same(a, b))
}

/// Items of an array no planner reads, whose exact copies are all that goes: arrays, booleans,
/// nulls and empty objects (an object with no field is no row). A lean array of them is planned
/// from their text (see `LeanKind::Atoms`), alike.
fn copies_only(v: &Value) -> bool {
    v.is_array() || v.is_boolean() || v.is_null() || v.as_object().is_some_and(Map::is_empty)
}

/// The groups a mixed array's items are planned in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    /// Objects with something in them: rows.
    Objects,
    Strings,
    Numbers,
    /// The rest (see [`copies_only`]).
    Others,
}

impl Group {
    fn of(v: &Value) -> Group {
        match v {
            Value::Object(m) if !m.is_empty() => Group::Objects,
            Value::String(_) => Group::Strings,
            Value::Number(_) => Group::Numbers,
            _ => Group::Others,
        }
    }

    /// The group of a lean array's item from its literal, `container` when it is an array or
    /// object with something in it.
    fn of_literal(literal: &str, container: bool) -> Group {
        match literal.as_bytes().first() {
            Some(b'{') if container => Group::Objects,
            Some(b'"') => Group::Strings,
            Some(b'-' | b'0'..=b'9') => Group::Numbers,
            _ => Group::Others,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Group::Objects => "objects",
            Group::Strings => "strings",
            Group::Numbers => "numbers",
            Group::Others => "others",
        }
    }
}

/// An atom's text as its value compares (an empty container's brackets may hold whitespace:
/// `[ ]` is `[]`).
fn atom_key(literal: &str) -> &str {
    match literal.as_bytes().first() {
        Some(b'[') => "[]",
        Some(b'{') => "{}",
        _ => literal,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

/// A number's value from its source text, as [`as_f64`] gives it from the parsed number.
fn number_f64(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The mean and sample standard deviation of `n` values read through `x` (a million numbers of
/// an array are read from their text each time, not kept as a second copy).
fn mean_std(n: usize, x: impl Fn(usize) -> f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = (0..n).map(&x).sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = (0..n).map(|i| (x(i) - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
    (mean, var.sqrt())
}

/// Where the mean of the `W` values before an index and of the `W` from it differ by more than
/// `threshold` times `sd` (the values' standard deviation; at most one point per window). Values
/// are read in order, once each, into a ring of the `2W` around the index.
fn change_points(n: usize, x: impl Fn(usize) -> f64, sd: f64, threshold: f64) -> Vec<usize> {
    const W: usize = 5;
    let mut out: Vec<usize> = Vec::new();
    if n < 2 * W + 1 || sd == 0.0 {
        return out;
    }
    let mut ring = [0.0f64; 2 * W];
    for (j, slot) in ring.iter_mut().enumerate() {
        *slot = x(j);
    }
    for i in W..=n - W {
        // the ring holds values i-W .. i+W, value k at k % 2W
        let before = (i - W..i).map(|k| ring[k % (2 * W)]).sum::<f64>() / W as f64;
        let after = (i..i + W).map(|k| ring[k % (2 * W)]).sum::<f64>() / W as f64;
        if (after - before).abs() > threshold * sd && out.last().is_none_or(|&l| i - l > W) {
            out.push(i);
        }
        if i + W < n {
            ring[(i - W) % (2 * W)] = x(i + W);
        }
    }
    out
}

static UUID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").expect("uuid")
});
static ISO_TIME_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}").expect("iso"));
static QUERY_ANCHOR_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\b\d{4,}\b|"[^"]{1,50}"|'[^']{1,50}'|[\w.+-]+@[\w-]+\.[\w.-]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)+\.[a-z]{2,}\b"#,
    )
    .expect("anchors")
});

const STOPWORDS: [&str; 24] = [
    "the", "and", "for", "what", "which", "who", "why", "how", "when", "where", "was", "were", "are", "has", "have",
    "did", "does", "this", "that", "with", "from", "about", "into", "happened",
];

/// Query-derived matchers: exact anchors (ids, long numbers, quoted strings, emails, hosts,
/// identifiers of letters and digits) and weighted words for relevance.
struct Query {
    /// Each anchor, and whether it must stand as a word of its own (an id or a number: `user17`
    /// is not in `user170`); a quoted string may sit anywhere.
    anchors: Vec<(String, bool)>,
    words: Vec<String>,
}

impl Query {
    fn new(ctx: &Context) -> Query {
        let q = ctx.query.as_deref().unwrap_or_default();
        let mut anchors: Vec<(String, bool)> = QUERY_ANCHOR_RE
            .find_iter(q)
            .map(|m| {
                let quoted = m.as_str().starts_with(['"', '\'']);
                (m.as_str().trim_matches(['"', '\'']).to_lowercase(), !quoted)
            })
            .filter(|(a, _)| !a.is_empty())
            .collect();
        // identifiers that mix letters and digits (`user4243`, `sha256`, `v2beta1`) name one thing
        for w in q.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
            let w = w.trim_matches(['.', '-']).to_lowercase();
            let mixed = w.chars().any(|c| c.is_ascii_digit()) && w.chars().any(char::is_alphabetic);
            if mixed && w.chars().count() >= 3 && !anchors.iter().any(|(a, _)| a.contains(&w)) {
                anchors.push((w, true));
            }
        }
        let words = text::words_over_two(q).into_iter().filter(|w| !STOPWORDS.contains(&w.as_str())).collect();
        Query { anchors, words }
    }

    fn is_empty(&self) -> bool {
        self.anchors.is_empty() && self.words.is_empty()
    }
}

/// `s` lower-cased onto `out` (an ASCII text with no copy of its own).
fn push_lowercase(s: &str, out: &mut String) {
    if s.is_ascii() {
        out.extend(s.bytes().map(|b| char::from(b.to_ascii_lowercase())));
    } else {
        out.push_str(&s.to_lowercase());
    }
}

/// Whether `key` names an error (`error`, `exception`, case aside).
fn error_named(key: &str) -> bool {
    if key.is_ascii() {
        let has = |word: &[u8]| key.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word));
        return has(b"error") || has(b"exception");
    }
    let lower = key.to_lowercase();
    lower.contains("error") || lower.contains("exception")
}

/// Whether a string inside `v` has an error word: what `has_error_word` finds in its
/// [`values_text`] (numbers, booleans and the joining spaces hold none), without building it.
fn mentions_error(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) if has_error_word(s) => return true,
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    false
}

/// Whether the value whose literal is `literal` (valid JSON, as a lean parse leaves it in the
/// text) holds an error word in a string: [`mentions_error`] of its value, read from the text
/// with nothing built. Each string literal counts but the keys (a string followed by `:`): a
/// lean object's member that held a 12 MB array was built whole to be read (352 MB).
fn literal_mentions_error(literal: &str) -> bool {
    let b = literal.as_bytes();
    let mut pos = 0;
    while let Some(k) = memchr::memchr(b'"', &b[pos..]) {
        let start = pos + k;
        pos = jsonspan::item_end(b, start, b.len());
        let key = b.get(jsonspan::past_ws(b, pos)) == Some(&b':');
        if !key && scalar_text(&literal[start..pos]).is_some_and(|s| has_error_word(&s)) {
            return true;
        }
    }
    false
}

/// Whether `text` holds `word` with no letter, digit or `_` on either side.
fn holds_word(text: &str, word: &str) -> bool {
    let inside = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word)
        .any(|(at, _)| !inside(text[..at].chars().next_back()) && !inside(text[at + word.len()..].chars().next()))
}

/// Which of the query's anchors (any) and words (each) one lower-cased text holds: all a row's
/// text is needed for, so the texts of a million rows are never held at once.
#[derive(Default)]
struct Hits {
    anchor: bool,
    words: Vec<bool>,
}

impl Hits {
    fn of(text: &str, q: &Query) -> Hits {
        if q.is_empty() {
            return Hits::default();
        }
        Hits {
            anchor: q
                .anchors
                .iter()
                .any(|(a, word)| if *word { holds_word(text, a) } else { text.contains(a.as_str()) }),
            words: q.words.iter().map(|w| text.contains(w.as_str())).collect(),
        }
    }
}

/// Rows that contain a query anchor, and rows ordered by IDF-weighted query relevance.
fn query_matches(hits: &[Hits], q: &Query, threshold: f64) -> (Vec<usize>, Vec<usize>) {
    if q.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let exact: Vec<usize> = (0..hits.len()).filter(|&i| hits[i].anchor).collect();
    let n = hits.len() as f64;
    let idf: Vec<f64> = (0..q.words.len())
        .map(|w| {
            let df = hits.iter().filter(|h| h.words[w]).count() as f64;
            (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
        })
        .collect();
    let total: f64 = idf.iter().sum();
    let mut scored: Vec<(usize, f64)> = Vec::new();
    if total > 0.0 {
        for (i, h) in hits.iter().enumerate() {
            let s: f64 = h.words.iter().zip(&idf).filter(|(hit, _)| **hit).map(|(_, f)| f).sum::<f64>() / total;
            if s >= threshold && s > 0.0 {
                scored.push((i, s));
            }
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    (exact, scored.into_iter().map(|(i, _)| i).collect())
}

/// Per-field statistics of an array of objects.
struct FieldStats {
    name: String,
    present: usize,
    unique_ratio: f64,
    distinct: usize,
    /// Per row, where its value's [`uniqueness_key`] is in `values` (in the order the rows first
    /// show them), for a [`FieldStats::categorical`] field only: the outlier pass reads no other.
    /// Such a field has at most 50 values, a row without it counted as one, so these are
    /// gathered while the rows are read for the rest and let go at the 51st value.
    keys: Vec<u8>,
    values: Vec<u64>,
    numeric: Numbers,
    avg_str_len: f64,
    is_string: bool,
}

impl FieldStats {
    /// Where `key` is in `values`, added if new, while there are at most 50.
    fn value_index(&mut self, key: u64) -> Option<u8> {
        match self.values.iter().position(|&v| v == key) {
            Some(at) => u8::try_from(at).ok(),
            None if self.values.len() < 50 => {
                self.values.push(key);
                u8::try_from(self.values.len() - 1).ok()
            }
            None => None,
        }
    }

    /// In 80% of the rows or more, with 2 to 50 values and few distinct: a field whose rare
    /// values make a row an outlier.
    fn categorical(&self, n: usize) -> bool {
        self.present * 5 >= n * 4 && (2..=50).contains(&self.distinct) && self.unique_ratio < 0.5
    }
}

/// A field's numeric values in row order, and their rows (not held while they are rows 0, 1,
/// 2…: a field that is a number in every row costs 8 bytes a row).
#[derive(Default)]
struct Numbers {
    values: Vec<f64>,
    rows: Option<Vec<u32>>,
}

impl Numbers {
    fn push(&mut self, row: usize, x: f64) {
        match &mut self.rows {
            None if row == self.values.len() => {}
            None => {
                let mut rows: Vec<u32> = (0..self.values.len() as u32).collect();
                rows.push(row as u32);
                self.rows = Some(rows);
            }
            Some(rows) => rows.push(row as u32),
        }
        self.values.push(x);
    }

    fn len(&self) -> usize {
        self.values.len()
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The row of value `j`.
    fn row(&self, j: usize) -> usize {
        self.rows.as_ref().map_or(j, |rows| rows[j] as usize)
    }

    /// Consecutive values one apart, as ids counted up are.
    fn sequential(&self) -> bool {
        self.values.windows(2).all(|w| w[1] - w[0] == 1.0)
    }
}

/// What makes two values of a field the same for uniqueness: the text a string holds or a scalar
/// prints as (so `1` and `"1"` agree, as in Headroom), the content of an array or object, or
/// absence. Hashed, so nested values are not printed per row: a container by its `content_hash`.
fn uniqueness_key(v: Option<&Value>, content_hash: u64) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    match v {
        None => 0u8.hash(&mut h),
        Some(Value::String(s)) => (1u8, s.as_str()).hash(&mut h),
        Some(Value::Array(_) | Value::Object(_)) => (2u8, content_hash).hash(&mut h),
        Some(scalar) => (1u8, scalar.to_string().as_str()).hash(&mut h),
    }
    h.finish()
}

/// [`FieldStats`] gathered in one read of the rows, in order: a planner that reads a lean
/// array's rows from their text parses each once here.
struct Fields {
    rows: usize,
    index: HashMap<String, usize>,
    fields: Vec<Field>,
}

/// One field's statistics so far.
struct Field {
    stats: FieldStats,
    distinct: HashSet<u64>,
    str_len: usize,
    str_count: usize,
    /// Whether `stats.keys` still follows the rows: until the field has a 51st value, past which
    /// it cannot be [`FieldStats::categorical`].
    tracking: bool,
}

impl Field {
    /// Row `i`'s value key in `stats.keys`, after the rows before it that lack the field; the
    /// keys are let go once there are more values than a categorical field has.
    fn track(&mut self, i: usize, key: u64, rows: usize) {
        if !self.fill(i, rows) {
            return;
        }
        match self.stats.value_index(key) {
            Some(at) => self.stats.keys.push(at),
            None => self.stop_tracking(),
        }
    }

    /// The rows before `to` that have no key yet lack the field. False when that is one value
    /// too many.
    fn fill(&mut self, to: usize, rows: usize) -> bool {
        let s = &mut self.stats;
        if s.keys.is_empty() {
            s.keys.reserve_exact(rows);
        }
        if s.keys.len() < to {
            let Some(absent) = s.value_index(uniqueness_key(None, 0)) else {
                self.stop_tracking();
                return false;
            };
            s.keys.resize(to, absent);
        }
        true
    }

    fn stop_tracking(&mut self) {
        self.tracking = false;
        self.stats.keys = Vec::new();
        self.stats.values = Vec::new();
    }
}

impl Fields {
    fn new(rows: usize) -> Fields {
        Fields { rows, index: HashMap::new(), fields: Vec::new() }
    }

    /// Row `i`'s fields (rows come in order), with the content hash of each (see [`Walk`]).
    fn add(&mut self, i: usize, row: &Map<String, Value>, hashes: &[u64]) {
        for ((name, v), &hash) in row.iter().zip(hashes) {
            let at = match self.index.get(name) {
                Some(&at) => at,
                None => {
                    self.index.insert(name.clone(), self.fields.len());
                    let stats = FieldStats {
                        name: name.clone(),
                        present: 0,
                        unique_ratio: 0.0,
                        distinct: 0,
                        keys: Vec::new(),
                        values: Vec::new(),
                        numeric: Numbers::default(),
                        avg_str_len: 0.0,
                        is_string: false,
                    };
                    self.fields.push(Field {
                        stats,
                        distinct: HashSet::new(),
                        str_len: 0,
                        str_count: 0,
                        tracking: true,
                    });
                    self.fields.len() - 1
                }
            };
            let f = &mut self.fields[at];
            f.stats.present += 1;
            let key = uniqueness_key(Some(v), hash);
            f.distinct.insert(key);
            if f.tracking {
                f.track(i, key, self.rows);
            }
            match v {
                Value::Number(_) => {
                    if let Some(x) = as_f64(v) {
                        if f.stats.numeric.is_empty() && i * 5 <= self.rows {
                            // a number from the first rows on, as in most columns that hold
                            // one: room for all rows (doubling held up to twice that)
                            f.stats.numeric.values.reserve_exact(self.rows - i);
                        }
                        f.stats.numeric.push(i, x);
                    }
                }
                Value::String(s) => {
                    f.str_len += s.chars().count();
                    f.str_count += 1;
                }
                _ => {}
            }
        }
    }

    /// The statistics of every field, in the order the fields first appear.
    fn finish(self) -> Vec<FieldStats> {
        let n = self.rows;
        let absent = uniqueness_key(None, 0);
        self.fields
            .into_iter()
            .map(|mut f| {
                if f.stats.present < n {
                    f.distinct.insert(absent);
                }
                if f.tracking {
                    f.fill(n, n);
                }
                let mut stats = f.stats;
                stats.numeric.values.shrink_to_fit();
                stats.distinct = f.distinct.len();
                stats.unique_ratio = f.distinct.len() as f64 / n.max(1) as f64;
                stats.is_string = f.str_count * 2 >= stats.present.max(1);
                stats.avg_str_len = if f.str_count > 0 { f.str_len as f64 / f.str_count as f64 } else { 0.0 };
                if !stats.categorical(n) {
                    stats.keys = Vec::new();
                    stats.values = Vec::new();
                }
                stats
            })
            .collect()
    }
}

/// The rows an array planner reads, by position: parsed values, or a lean array's items read
/// from their text each time one is needed (so a million small rows are never all values at once).
trait Rows {
    fn count(&self) -> usize;
    fn row(&self, i: usize) -> Cow<'_, Value>;
    /// Whether rows `a` and `b` hold the same (keys in any order).
    fn same(&self, a: usize, b: usize) -> bool {
        self.row(a) == self.row(b)
    }
    /// Whether each reading of a row parses much text (a planner then keeps a row's hash from
    /// one reading rather than reading it again for it).
    fn dear(&self) -> bool {
        false
    }

    /// Row `i` as a pass over all rows reads it, with where its arrays hold their items (a page
    /// is walked from its node, not read whole: see [`Within`]).
    fn read(&self, i: usize, f: &mut dyn FnMut(&Value, Within)) {
        f(&self.row(i), Within::Whole);
    }

    /// Every row, in order, as [`Rows::read`] reads it: what a pass over all of them reads.
    fn each(&self, f: &mut dyn FnMut(usize, &Value, Within)) {
        for i in 0..self.count() {
            self.read(i, &mut |v, w| f(i, v, w));
        }
    }

    /// The first [`CLUSTER_PREFIX_CHARS`] characters of row `i`'s field `name` when it is a
    /// string, else nothing: what a cluster sample groups rows by.
    fn str_prefix(&self, i: usize, name: &str) -> String {
        str_prefix(&self.row(i), name)
    }
}

/// How much of a message a cluster sample compares rows by.
const CLUSTER_PREFIX_CHARS: usize = 50;

/// [`Rows::str_prefix`] of a row read whole.
fn str_prefix(row: &Value, name: &str) -> String {
    row.get(name).and_then(Value::as_str).unwrap_or_default().chars().take(CLUSTER_PREFIX_CHARS).collect()
}

impl<V: Borrow<Value>> Rows for [V] {
    fn count(&self) -> usize {
        self.len()
    }

    fn row(&self, i: usize) -> Cow<'_, Value> {
        Cow::Borrowed(self[i].borrow())
    }
}

/// A planned array's items as its planner reads them. An item that holds a lean array (see
/// [`parse`]) is read whole from its text: once, when such items hold little text in all
/// ([`READ_ONCE_BYTES`]); otherwise each time the planner asks for it, and let go after. Ten pages
/// of 50,000 rows each, `[{"page":1,"items":[…]},…]`, were all whole values at once (561 MB for
/// 16.9 MB of text); the few more parses of each page cost less than that.
struct ItemRows<'c, 'a> {
    crusher: &'c Crusher<'a>,
    items: &'c [Value],
    held: Held,
}

/// Of each item, `None` unless it holds a lean array.
enum Held {
    /// Such items read whole once.
    Whole(Vec<Option<Value>>),
    /// Such items' nodes in the span tree: read whole whenever asked for, and walked from their
    /// nodes by a pass over all rows (see [`Within`]).
    Nodes(Vec<Option<usize>>),
}

/// The rows at `idx` of `rows` (a group of a mixed array), in that order.
struct Picked<'p, R: ?Sized> {
    rows: &'p R,
    idx: &'p [u32],
}

impl<R: Rows + ?Sized> Rows for Picked<'_, R> {
    fn count(&self) -> usize {
        self.idx.len()
    }

    fn row(&self, i: usize) -> Cow<'_, Value> {
        self.rows.row(self.idx[i] as usize)
    }

    fn read(&self, i: usize, f: &mut dyn FnMut(&Value, Within)) {
        self.rows.read(self.idx[i] as usize, f);
    }

    fn same(&self, a: usize, b: usize) -> bool {
        self.rows.same(self.idx[a] as usize, self.idx[b] as usize)
    }

    fn str_prefix(&self, i: usize, name: &str) -> String {
        self.rows.str_prefix(self.idx[i] as usize, name)
    }

    fn dear(&self) -> bool {
        self.rows.dear()
    }
}

/// Items that hold lean arrays are read whole once for a planner up to this much text in all
/// (their values take about 30 times it); past it, each one whenever it is read.
const READ_ONCE_BYTES: usize = 1 << 20;

impl<'c, 'a> ItemRows<'c, 'a> {
    fn new(crusher: &'c Crusher<'a>, items: &'c [Value], at: &Items) -> Self {
        let holders: Vec<Option<usize>> = match at {
            Items::Nodes(kids) => items
                .iter()
                .zip(kids.iter())
                .map(|(v, &k)| {
                    ((v.is_array() || v.is_object()) && crusher.holds_lean(k as usize)).then_some(k as usize)
                })
                .collect(),
            _ => Vec::new(),
        };
        if holders.iter().flatten().map(|&k| crusher.tree.node(k).span().len()).sum::<usize>() > READ_ONCE_BYTES {
            return ItemRows { crusher, items, held: Held::Nodes(holders) };
        }
        let read = |k: Option<usize>| k.map(|k| crusher.read_item(crusher.text_of(k)));
        ItemRows { crusher, items, held: Held::Whole(holders.into_iter().map(read).collect()) }
    }

    /// Item `i`'s node, when it holds a lean array and is read from its text.
    fn node(&self, i: usize) -> Option<usize> {
        match &self.held {
            Held::Nodes(nodes) => nodes.get(i).copied().flatten(),
            Held::Whole(_) => None,
        }
    }
}

impl Rows for ItemRows<'_, '_> {
    fn count(&self) -> usize {
        self.items.len()
    }

    fn row(&self, i: usize) -> Cow<'_, Value> {
        match (&self.held, self.node(i)) {
            (Held::Whole(whole), _) => Cow::Borrowed(whole.get(i).and_then(Option::as_ref).unwrap_or(&self.items[i])),
            (Held::Nodes(_), Some(k)) => Cow::Owned(self.crusher.read_item(self.crusher.text_of(k))),
            (Held::Nodes(_), None) => Cow::Borrowed(&self.items[i]),
        }
    }

    /// An item that holds a lean array is walked from its node, not read whole. One that is a
    /// lean object is read whole, in its turn: a planner reads a row's own members as a map.
    fn read(&self, i: usize, f: &mut dyn FnMut(&Value, Within)) {
        match self.node(i) {
            Some(k) if !self.crusher.tree.node(k).lean => {
                f(&self.items[i], Within::Node(&self.crusher.tree, self.crusher, k));
            }
            _ => f(&self.row(i), Within::Whole),
        }
    }

    fn str_prefix(&self, i: usize, name: &str) -> String {
        if let Some(k) = self.node(i)
            && let Some(prefix) = field_prefix(self.crusher.text_of(k), name)
        {
            return prefix;
        }
        str_prefix(&self.row(i), name)
    }

    fn same(&self, a: usize, b: usize) -> bool {
        if let (Some(x), Some(y)) = (self.node(a), self.node(b)) {
            return self.crusher.same_items(self.crusher.text_of(x), self.crusher.text_of(y));
        }
        self.row(a) == self.row(b)
    }

    fn dear(&self) -> bool {
        matches!(self.held, Held::Nodes(_))
    }
}

/// A field's string values in the first 20 rows (fewer when there are fewer), `None` where a row
/// has none there: all that [`is_temporal`] and [`is_id_field`] read of the rows (the rows
/// themselves may be pages of a lean array each, read whole one at a time; see [`ItemRows`]).
type HeadStrings = Vec<Option<String>>;

fn is_temporal(f: &FieldStats, head: &[Option<String>]) -> bool {
    let lname = f.name.to_lowercase();
    let head = &head[..head.len().min(10)];
    let iso = head.iter().flatten().filter(|s| ISO_TIME_RE.is_match(s)).count();
    iso * 2 >= head.len()
        || ["time", "date", "timestamp", "ts"].iter().any(|k| lname == *k || lname.ends_with(&format!("_{k}")))
}

/// Whether a field names the rows: `head` is its strings in the first 20 rows of `n`.
fn is_id_field(f: &FieldStats, head: &[Option<String>], n: usize) -> bool {
    if f.unique_ratio < 0.9 {
        return false;
    }
    let lname = f.name.to_lowercase();
    let named = lname == "id" || lname.ends_with("_id") || f.name.ends_with("Id") || lname == "uuid" || lname == "key";
    let uuids = head.iter().flatten().filter(|s| UUID_RE.is_match(s)).count();
    let sequential = f.numeric.len() == n && f.numeric.sequential();
    named || uuids * 10 > head.len() * 8 || sequential || f.unique_ratio > 0.98
}

/// Confidence that a numeric field is a relevance score (bounded, mostly descending or named so).
fn score_field(f: &FieldStats, n: usize) -> Option<f64> {
    if f.numeric.len() * 10 < n * 9 {
        return None;
    }
    let xs = &f.numeric.values;
    let (lo, hi) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(*x), b.max(*x)));
    if f.numeric.sequential() {
        return None;
    }
    let mut conf: f64 = 0.0;
    if lo >= 0.0 && hi <= 1.0 {
        conf += 0.4;
    } else if lo >= -1.0 && hi <= 1.0 {
        conf += 0.35;
    } else if lo >= 0.0 && hi <= 10.0 {
        conf += 0.3;
    } else if lo >= 0.0 && hi <= 100.0 {
        conf += 0.25;
    }
    let desc = xs.windows(2).filter(|w| w[1] <= w[0]).count();
    let descending = desc * 10 > (xs.len() - 1) * 7;
    if descending {
        conf += 0.3;
    }
    if xs.iter().take(20).filter(|x| x.fract() != 0.0).count() * 10 > xs.len().min(20) * 3 {
        conf += 0.1;
    }
    let lname = f.name.to_lowercase();
    let named =
        ["score", "relevance", "confidence", "similarity", "rank", "distance"].iter().any(|k| lname.contains(k));
    (conf >= 0.4 && (named || descending)).then_some(conf.min(0.95))
}

/// What all the items of a lean array are, when they are all one kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LeanKind {
    Strings,
    Numbers,
    /// Booleans, nulls and empty containers, in any mix: compared by their text.
    Atoms,
}

/// A lean array's items, read where they are (see [`Texts`]): a number's or an atom's literal, a
/// string's text inside its quotes, or, for a string with escapes, its decoded text, the only
/// copies made.
struct LeanTexts<'s> {
    starts: Starts<'s>,
    kind: LeanKind,
    /// (item, its decoded text) for the strings with escapes, in item order.
    decoded: Vec<(u32, String)>,
}

impl Texts for LeanTexts<'_> {
    fn count(&self) -> usize {
        self.starts.at.len()
    }

    fn text(&self, i: usize) -> &str {
        let literal = self.starts.literal(i);
        match self.kind {
            LeanKind::Atoms => return atom_key(literal),
            LeanKind::Numbers => return literal,
            LeanKind::Strings => {}
        }
        match self.decoded.binary_search_by_key(&(i as u32), |d| d.0) {
            Ok(j) => &self.decoded[j].1,
            Err(_) => literal.get(1..literal.len().saturating_sub(1)).unwrap_or(""),
        }
    }
}

/// Where a lean array's items start in the source (4 bytes an item: an array of 2-byte numbers
/// costs less than its text twice); their ends are read from the text when they are needed.
#[derive(Clone, Copy)]
struct Starts<'s> {
    input: &'s str,
    at: &'s [u32],
    /// `at` holds every item of the array, in order, so an item ends where the separator before
    /// the next one starts (planners read each item several times: a string's end found from its
    /// start was a fifth of the work).
    every: bool,
}

impl<'s> Starts<'s> {
    fn span(&self, i: usize) -> Range<usize> {
        let start = self.at[i] as usize;
        let b = self.input.as_bytes();
        let end = match self.at.get(i + 1) {
            Some(&next) if self.every => jsonspan::end_before(b, next as usize),
            _ => jsonspan::item_end(b, start, self.input.len()),
        };
        start..end
    }

    fn literal(&self, i: usize) -> &'s str {
        &self.input[self.span(i)]
    }

    /// Whether item `i` is a container with something in it (not an atom).
    fn container(&self, i: usize) -> bool {
        jsonspan::has_items(&self.input[self.at[i] as usize..])
    }
}

/// The first [`CLUSTER_PREFIX_CHARS`] characters of the object `literal`'s member `name` as a
/// parsed value would have it (the last of repeated keys; nothing when it has none or it is no
/// string), without building the value; `None` when it cannot tell: the literal is no object or
/// holds serde_json's reserved key (see [`NUMBER_TOKEN`]).
fn field_prefix(literal: &str, name: &str) -> Option<String> {
    use serde::de::{DeserializeSeed, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use std::fmt;
    /// A key: whether it is the name (`Err` for the reserved key).
    struct Key<'n>(&'n str);
    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = bool;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl Visitor<'_> for Key<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: Error>(self, key: &str) -> Result<bool, E> {
            if key == NUMBER_TOKEN {
                return Err(E::custom("reserved key"));
            }
            Ok(key == self.0)
        }
    }
    /// A member's value: its first characters when it is a string.
    struct Prefix;
    impl<'de> DeserializeSeed<'de> for Prefix {
        type Value = Option<String>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Prefix {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a value")
        }
        fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(Some(s.chars().take(CLUSTER_PREFIX_CHARS).collect()))
        }
        fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        // a number (serde_json hands one over as a map under its reserved key) or an object
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    /// The row: the last value under the name.
    struct Row<'n>(&'n str);
    impl<'de> Visitor<'de> for Row<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut found = None;
            while let Some(is_name) = map.next_key_seed(Key(self.0))? {
                if is_name {
                    found = map.next_value_seed(Prefix)?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(found)
        }
    }
    if !literal.starts_with('{') {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(literal);
    de.deserialize_map(Row(name)).ok().map(Option::unwrap_or_default)
}

/// [`Crusher::read_item`] on any thread: the value, and whether it held serde_json's reserved key
/// (see [`NUMBER_TOKEN`]).
fn read_literal(literal: &str) -> (Value, bool) {
    // valid JSON, scanned as a part of the document already: only the reserved key, with a
    // value that is no number's text, fails to parse
    let Ok(mut v) = serde_json::from_str::<Value>(literal) else {
        return (Value::Null, true);
    };
    let reserved = literal.starts_with('{') && !v.is_object();
    if has_exponent(&v)
        && let Ok(tree) = jsonspan::scan(literal, false)
    {
        source_number_text(&mut v, &tree, literal);
    }
    (v, reserved)
}

/// `v`'s compact text, as serde_json writes it in the output: for a value or a string that cannot
/// fail (its map keys are strings, and nothing in it fails to serialise).
fn compact_text(v: &impl Serialize) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A run of kept items of a lean array carried to the output as their compact text, not as
/// values: a million kept `{"id":1,"name":"a"}` rows took about 300 bytes each as values.
/// serde_json (with `arbitrary_precision`) writes a number's text as it is, so the run is one
/// such "number" among the array's items, its items joined by commas (by newlines in a JSON
/// Lines stream, written one value a line). A kept container is written as serde_json would
/// write its value: a small one (see [`jsonspan::SMALL_ITEMS`]) with no escape and no string
/// long enough to be cut is its text with the whitespace outside strings dropped (numbers as
/// written, as [`source_number_text`] keeps them); any other, from its processed value.
struct Verbatim {
    text: String,
    separator: char,
}

impl Verbatim {
    fn separate(&mut self) {
        if !self.text.is_empty() {
            self.text.push(self.separator);
        }
    }

    /// Adds the small container `literal` to the run, when it is written as it is (false: it
    /// must be processed as a value).
    fn push_small(&mut self, literal: &str, c: &Crusher) -> bool {
        if c.p.long_string_chars > 0 && literal.len() > c.p.long_string_chars
            || literal.contains('\\')
            || literal.contains("private::Number")
        {
            return false;
        }
        self.separate();
        let mut in_string = false;
        for ch in literal.chars() {
            match ch {
                '"' => in_string = !in_string,
                ' ' | '\t' | '\n' | '\r' if !in_string => continue,
                _ => {}
            }
            self.text.push(ch);
        }
        true
    }

    /// Adds a processed value to the run, written as serde_json writes it (or, should that
    /// fail, ends the run and puts the value after it in `out`).
    fn push_value(&mut self, v: Value, out: &mut Vec<Value>) {
        match serde_json::to_string(&v) {
            Ok(text) => {
                self.separate();
                self.text.push_str(&text);
            }
            Err(_) => {
                self.flush(out);
                out.push(v);
            }
        }
    }

    fn flush(&mut self, out: &mut Vec<Value>) {
        if !self.text.is_empty() {
            out.push(Value::Number(serde_json::Number::from_string_unchecked(std::mem::take(&mut self.text))));
        }
    }
}

/// The rows of a lean array (its objects, or those at `idx`), each read from its text when it is
/// needed.
struct LeanRows<'r, 's> {
    crusher: &'r Crusher<'s>,
    starts: Starts<'s>,
    idx: Option<&'r [u32]>,
}

impl LeanRows<'_, '_> {
    /// Row `j`'s place in the array.
    fn at(&self, j: usize) -> usize {
        self.idx.map_or(j, |idx| idx[j] as usize)
    }

    /// Whether a row has more than [`BESIDE_ROW_BYTES`] of text.
    fn has_large_row(&self) -> bool {
        (0..Rows::count(self)).any(|j| self.starts.span(self.at(j)).len() > BESIDE_ROW_BYTES)
    }
}

impl Rows for LeanRows<'_, '_> {
    fn count(&self) -> usize {
        self.idx.map_or(self.starts.at.len(), <[u32]>::len)
    }

    fn row(&self, j: usize) -> Cow<'_, Value> {
        Cow::Owned(self.crusher.read_item(self.starts.literal(self.at(j))))
    }

    fn same(&self, a: usize, b: usize) -> bool {
        self.crusher.same_items(self.starts.literal(self.at(a)), self.starts.literal(self.at(b)))
    }

    /// A row of more than [`BESIDE_ROW_BYTES`] that holds a long array or a large object of its
    /// own is parsed lean and walked from its own span tree. A row that is a large object is read
    /// whole: a planner reads a row's own members as a map.
    fn read(&self, j: usize, f: &mut dyn FnMut(&Value, Within)) {
        match self.crusher.read_lean(self.starts.span(self.at(j))) {
            Some((v, tree)) if !tree.node(tree.root()).lean => f(&v, Within::Node(&tree, self.crusher, tree.root())),
            _ => f(&self.row(j), Within::Whole),
        }
    }

    /// Read from the row's text with nothing built: parsing the whole row for it was a quarter
    /// of the engine's time on 10 MB of `cargo metadata` packages.
    fn str_prefix(&self, j: usize, name: &str) -> String {
        field_prefix(self.starts.literal(self.at(j)), name).unwrap_or_else(|| str_prefix(&self.row(j), name))
    }

    /// Rows of [`DEAR_ROW_BYTES`] of text or more on average: a hash each is little beside them,
    /// and a pass of its own parsed each row once more (a tenth of 10 MB of `cargo metadata`
    /// packages). Or a row of more than [`BESIDE_ROW_BYTES`], which the reading pass walks lean
    /// (see [`LeanRows::each`]), where a pass of its own would read it whole.
    fn dear(&self) -> bool {
        let (Some(&first), Some(last)) = (self.starts.at.first(), self.starts.at.len().checked_sub(1)) else {
            return false;
        };
        let text = self.starts.span(last).end - first as usize;
        text >= DEAR_ROW_BYTES * self.starts.at.len() || self.has_large_row()
    }

    /// The rows parsed on a second core while this one reads them, in batches of at most 64 rows
    /// or 64 KB of text, two batches ahead at most, each sent back to be freed where it was made
    /// (freed here, the allocator's locks cost more than the second core gave). Parsing is half
    /// of a pass over 10 MB of `cargo metadata` packages. When a row has more than 256 KB (a page
    /// of a long array) all are parsed here, one at a time: a few such rows parsed at once would
    /// hold several times their text. Such a row that holds a long array of its own is parsed
    /// lean and walked from its span tree (see [`Within`]): read whole, 7 MB of it took 350 MB.
    fn each(&self, f: &mut dyn FnMut(usize, &Value, Within)) {
        let n = Rows::count(self);
        let (starts, idx) = (self.starts, self.idx);
        let literal = move |j: usize| starts.literal(idx.map_or(j, |idx| idx[j] as usize));
        if n < LEAN_ITEMS || self.has_large_row() {
            for j in 0..n {
                self.read(j, &mut |v, w| f(j, v, w));
            }
            return;
        }
        std::thread::scope(|s| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Value, bool)>>(2);
            // read batches go back to be freed where they were made
            let (back, done) = std::sync::mpsc::channel::<Vec<(Value, bool)>>();
            s.spawn(move || {
                let (mut batch, mut bytes) = (Vec::with_capacity(64), 0);
                for j in 0..n {
                    let text = literal(j);
                    batch.push(read_literal(text));
                    bytes += text.len();
                    if batch.len() == 64 || bytes >= 64 * 1024 || j + 1 == n {
                        if tx.send(std::mem::replace(&mut batch, Vec::with_capacity(64))).is_err() {
                            return;
                        }
                        bytes = 0;
                        done.try_iter().for_each(drop);
                    }
                }
                drop(tx);
                done.iter().for_each(drop);
            });
            let mut j = 0;
            for batch in rx {
                for (v, reserved) in &batch {
                    if *reserved {
                        self.crusher.reserved.set(true);
                    }
                    f(j, v, Within::Whole);
                    j += 1;
                }
                let _ = back.send(batch);
            }
            drop(back);
        });
    }
}

/// See [`LeanRows::each`] and [`parse_lean_at`].
pub(crate) const BESIDE_ROW_BYTES: usize = 256 * 1024;

/// See [`LeanRows::dear`].
const DEAR_ROW_BYTES: usize = 256;

impl Texts for LeanRows<'_, '_> {
    fn count(&self) -> usize {
        Rows::count(self)
    }

    fn text(&self, j: usize) -> &str {
        self.starts.literal(self.at(j))
    }
}

/// Where an array's items are in the source: their nodes in the span tree, their starts (a lean
/// array's items, which have no nodes), or nowhere apart (the array's own node stands in).
enum Items<'k> {
    Nodes(&'k [u32]),
    Starts(Starts<'k>),
    Whole(usize),
}

impl Items<'_> {
    /// Item `i`'s bytes (the whole array's when the items have no spans).
    fn span(&self, tree: &SpanTree, i: usize) -> Range<usize> {
        match self {
            Items::Nodes(kids) => tree.node(kids[i] as usize).span(),
            Items::Starts(starts) => starts.span(i),
            Items::Whole(node) => tree.node(*node).span(),
        }
    }
}

struct Crusher<'a> {
    input: &'a str,
    /// The document's span tree, or a lean array's item's while it is processed (see
    /// [`Self::process_item`]).
    tree: Arc<SpanTree>,
    p: &'a JsonParams,
    query: Query,
    ledger: LedgerBuilder<'a>,
    notes: Vec<String>,
    memo: Option<&'a Memo>,
    /// A lean array held an object that serde_json reads as a number (see [`Self::read_small`]).
    reserved: Cell<bool>,
    /// The root is a JSON Lines stream, written one value a line.
    lines: bool,
}

impl<'a> Crusher<'a> {
    fn new(input: &'a str, tree: Arc<SpanTree>, p: &'a JsonParams, ctx: &'a Context) -> Self {
        Crusher {
            input,
            tree,
            p,
            query: Query::new(ctx),
            ledger: LedgerBuilder::new(input),
            notes: Vec::new(),
            memo: ctx.memo.as_deref(),
            reserved: Cell::new(false),
            lines: false,
        }
    }

    /// Whether [`Self::process`] would give `v` back as it is: a number, a bool, null, an empty
    /// container, a string no longer than a long one. A kept item like that costs nothing (not
    /// even its pointer's text: an array of a million `[]` made a million pointers).
    /// `node` is the value's node in the tree, when known: a lean array or object (see `parse`)
    /// is parsed as an empty one, and only its node tells them apart.
    fn left_alone(&self, v: &Value, node: Option<usize>) -> bool {
        match v {
            Value::Array(a) => a.is_empty() && node.is_some_and(|n| !self.tree.node(n).lean),
            Value::Object(m) => m.is_empty() && !node.is_some_and(|n| self.tree.node(n).lean),
            Value::String(s) => !self.long_string(s),
            _ => true,
        }
    }

    /// Whether a string is long enough for [`Self::process_string`] to look at.
    fn long_string(&self, s: &str) -> bool {
        self.p.long_string_chars > 0 && s.len() > self.p.long_string_chars
    }

    fn process(&mut self, value: Value, node: usize, pointer: String) -> Value {
        match value {
            Value::Array(items) => self.process_array(items, node, pointer),
            Value::Object(map) => self.process_object(map, node, pointer),
            Value::String(s) => {
                let literal = self.tree.node(node);
                let span = (literal.kind == NodeKind::Scalar).then(|| literal.span());
                self.process_string(s, span, pointer)
            }
            scalar => scalar,
        }
    }

    /// Cuts a long string to its first quarter plus a marker inside the string. `literal` is
    /// where the string is in the source (none when that is not known: it is then kept).
    fn process_string(&mut self, s: String, literal: Option<Range<usize>>, pointer: String) -> Value {
        let limit = self.p.long_string_chars;
        let Some(span) = literal.filter(|_| self.long_string(&s)) else {
            return Value::String(s);
        };
        let total = s.chars().count();
        let head: String = s.chars().take(200).collect();
        if total <= limit
            || has_error_word(&head)
            || s.contains("Traceback (most recent call last)")
            || s.contains("\n    at ")
        {
            return Value::String(s);
        }
        let keep = limit / 4;
        let Some(cut) = literal_offset(&self.ledger.original()[span.clone()], keep) else {
            return Value::String(s);
        };
        let omitted = total - keep;
        let group = self.ledger.group();
        self.ledger.drop_span(
            span.start + cut..span.end - 1,
            Some(pointer),
            Unit::Chars,
            omitted,
            format!("string longer than long_string_chars = {limit}; its first {keep} characters are kept"),
        );
        let phrase = format!("{} of {} omitted", group_thousands(omitted), Unit::Chars.count(total));
        let marker = self.ledger.marker(group, phrase, PayloadShape::Concat);
        let head_end = s.char_indices().nth(keep).map_or(s.len(), |(i, _)| i);
        Value::String(format!("{}… {marker}", &s[..head_end]))
    }

    /// The source text of each child (members with their keys when `members`), or the values
    /// re-serialised when the spans do not line up (duplicate keys).
    fn sources<'v>(
        &self,
        values: impl Iterator<Item = (Option<&'v str>, &'v Value)>,
        kids: &[usize],
        spans_ok: bool,
    ) -> Vec<Cow<'a, str>> {
        values
            .enumerate()
            .map(|(i, (key, v))| {
                if spans_ok {
                    let node = self.tree.node(kids[i]);
                    let span = if key.is_some() { node.member_span() } else { node.span() };
                    Cow::Borrowed(&self.input[span])
                } else {
                    let value = serde_json::to_string(v).unwrap_or_default();
                    Cow::Owned(key.map_or(value.clone(), |k| format!("{k}: {value}")))
                }
            })
            .collect()
    }

    fn where_(pointer: &str) -> &str {
        if pointer.is_empty() { "(root)" } else { pointer }
    }

    /// Whether an array is worth planning at all.
    fn analyzed(&self, n: usize) -> bool {
        n >= self.p.min_items_to_analyze.max(1) && n > 8
    }

    fn process_array(&mut self, items: Vec<Value>, node: usize, pointer: String) -> Value {
        if self.tree.node(node).lean {
            // a lean array (see `parse`): its items are read from the text, not from the first
            // ones the parse kept; strings, numbers or other atoms alone are planned from their
            // text, any mix by kind. Their starts are held at the size the scan counted: a
            // million items' starts grown by doubling would hold up to twice their size
            drop(items);
            let tree = Arc::clone(&self.tree);
            let entries = || tree.lean_items(node, self.input);
            let mut at = Vec::with_capacity(tree.lean_count(node).unwrap_or_else(|| entries().count()));
            at.extend(entries().map(|span| span.start as u32));
            let starts = Starts { input: self.input, at: &at, every: true };
            if let Some(texts) = self.lean_texts(starts) {
                return self.process_lean(&texts, pointer);
            }
            return self.process_lean_mixed(starts, pointer);
        }
        let kids: Vec<u32> = self.tree.children(node).map(|k| k as u32).collect();
        let at = if kids.len() == items.len() { Items::Nodes(&kids) } else { Items::Whole(node) };
        self.process_items(items, at, pointer)
    }

    /// An array's items, planned and cut: the parsed path.
    fn process_items(&mut self, items: Vec<Value>, at: Items, pointer: String) -> Value {
        let n = items.len();
        let (plan, unit) = if self.analyzed(n) {
            self.plan_array(&items, &at)
        } else {
            (KeepPlan::all(n, String::new()), Unit::Items)
        };
        self.note_plan(&pointer, &plan);
        let objects = items.iter().all(Value::is_object);
        let mut out = Vec::with_capacity(n - plan.dropped() + 1);
        let mut dropped_values = Spread::default();
        for (i, v) in items.into_iter().enumerate() {
            let node = match at {
                Items::Nodes(kids) => Some(kids[i] as usize),
                _ => None,
            };
            if plan.keep[i] && self.left_alone(&v, node) {
                out.push(v);
            } else if plan.keep[i] {
                let pointer = format!("{pointer}/{i}");
                out.push(match at {
                    Items::Nodes(kids) => self.process(v, kids[i] as usize, pointer),
                    Items::Whole(node) => self.process(v, node, pointer),
                    // lean arrays are cut by `process_lean` and `process_lean_mixed`
                    Items::Starts(_) => v,
                });
            } else if let Some(x) = as_f64(&v) {
                dropped_values.add(x);
            } else if let Value::Number(x) = &v {
                dropped_values.add_text(x.as_str());
            }
        }
        self.mark_drops(out, &plan, unit, &at, dropped_values, objects, pointer)
    }

    /// The text of `node`.
    fn text_of(&self, node: usize) -> &'a str {
        &self.input[self.tree.node(node).span()]
    }

    /// Whether `node` holds a lean array (see [`parse`]): its value lacks items its text has.
    fn holds_lean(&self, node: usize) -> bool {
        self.tree.holds_lean(self.tree.node(node).span())
    }

    /// A lean array's items as texts, when they are all strings, all numbers or all atoms.
    fn lean_texts<'s>(&self, starts: Starts<'s>) -> Option<LeanTexts<'s>> {
        let kind_of = |&at: &u32| match self.input.as_bytes()[at as usize] {
            b'"' => LeanKind::Strings,
            b'-' | b'0'..=b'9' => LeanKind::Numbers,
            _ => LeanKind::Atoms,
        };
        let kind = kind_of(starts.at.first()?);
        let mut decoded = Vec::new();
        for (i, at) in starts.at.iter().enumerate() {
            // a container is compared by content, not by text
            if kind_of(at) != kind || kind == LeanKind::Atoms && starts.container(i) {
                return None;
            }
            if kind == LeanKind::Strings {
                let text = starts.literal(i);
                if text.contains('\\') {
                    decoded.push((i as u32, scalar_text(text)?.into_owned()));
                }
            }
        }
        Some(LeanTexts { starts, kind, decoded })
    }

    /// A lean array of strings, numbers or atoms, planned and cut from its text.
    fn process_lean(&mut self, texts: &LeanTexts, pointer: String) -> Value {
        let n = texts.count();
        let numbers = texts.kind == LeanKind::Numbers;
        let plan = if !self.analyzed(n) {
            KeepPlan::all(n, String::new())
        } else if texts.kind == LeanKind::Atoms {
            let copy = copies(
                n,
                self.p.dedup_identical_items,
                |i| fx_hash(texts.text(i)),
                |a, b| texts.text(a) == texts.text(b),
            );
            self.plan_copies_of(copy)
        } else {
            self.plan_scalars(texts, numbers)
        };
        self.note_plan(&pointer, &plan);
        let mut out = Vec::with_capacity(n - plan.dropped() + 1);
        let mut dropped_values = Spread::default();
        let at = Items::Starts(texts.starts);
        for (i, text) in texts.iter().enumerate() {
            if plan.keep[i] {
                out.push(match texts.kind {
                    LeanKind::Numbers => Value::Number(serde_json::Number::from_string_unchecked(text.to_string())),
                    LeanKind::Atoms => scalar_value(text),
                    LeanKind::Strings => {
                        let s = text.to_string();
                        if self.long_string(&s) {
                            self.process_string(s, Some(at.span(&self.tree, i)), format!("{pointer}/{i}"))
                        } else {
                            Value::String(s)
                        }
                    }
                });
            } else if numbers {
                dropped_values.add_text(text);
            }
        }
        // empty objects alone take their marker as an object, as parsed ones do
        let objects = texts.kind == LeanKind::Atoms && texts.iter().all(|t| t == "{}");
        self.mark_drops(out, &plan, Unit::Items, &at, dropped_values, objects, pointer)
    }

    /// A lean array (see [`parse`]) whose items are of several kinds, or containers: planned as
    /// a parsed one is (see [`Self::plan_array`]), each item read from the text when it is
    /// needed.
    fn process_lean_mixed(&mut self, starts: Starts, pointer: String) -> Value {
        let n = starts.at.len();
        let container = |i: usize| starts.container(i);
        let group = |i: usize| Group::of_literal(&self.input[starts.at[i] as usize..], container(i));
        let objects = (0..n).all(|i| self.input.as_bytes()[starts.at[i] as usize] == b'{');
        let (plan, unit) = if !self.analyzed(n) {
            (KeepPlan::all(n, String::new()), Unit::Items)
        } else {
            // exact copies by value: an atom's by its text, a container's by content
            let key = |i: usize| match container(i) {
                true => Err(self.read_item(starts.literal(i))),
                false => Ok(atom_key(starts.literal(i))),
            };
            let copies_of = |idx: &[u32]| {
                let hash = |j: usize| match key(idx[j] as usize) {
                    Ok(atom) => fx_hash(atom),
                    Err(v) => content_hash(&v),
                };
                copies(idx.len(), self.p.dedup_identical_items, hash, |a, b| {
                    let (a, b) = (idx[a] as usize, idx[b] as usize);
                    starts.literal(a) == starts.literal(b) || key(a) == key(b)
                })
            };
            let rows = |idx: Option<&[u32]>| {
                let rows = LeanRows { crusher: self, starts, idx };
                let k = self.k_for_texts(&rows, 3);
                self.plan_rows(&rows, k)
            };
            if objects {
                // rows, the empty ones too
                (rows(None), Unit::Rows)
            } else if (0..n).all(|i| group(i) == Group::Others) {
                let all: Vec<u32> = (0..n as u32).collect();
                (self.plan_copies_of(copies_of(&all)), Unit::Items)
            } else {
                let plan = |g: Group, idx: &[u32]| match g {
                    Group::Objects => rows(Some(idx)),
                    Group::Others => self.plan_copies_of(copies_of(idx)),
                    Group::Strings | Group::Numbers => {
                        let at: Vec<u32> = idx.iter().map(|&i| starts.at[i as usize]).collect();
                        match self.lean_texts(Starts { at: &at, every: false, ..starts }) {
                            Some(texts) => self.plan_scalars(&texts, g == Group::Numbers),
                            None => KeepPlan::all(idx.len(), String::new()),
                        }
                    }
                };
                (self.plan_groups(n, group, plan), Unit::Items)
            }
        };
        self.note_plan(&pointer, &plan);
        let mut out = Vec::with_capacity(n - plan.dropped() + 1);
        let mut dropped_values = Spread::default();
        // kept containers written as text, one text a run (see `Verbatim`), sized for their
        // literals: a text grown by doubling held up to twice its length
        let lines = self.lines && pointer.is_empty();
        let kept: usize = (0..n).filter(|&i| plan.keep[i] && container(i)).map(|i| starts.span(i).len() + 1).sum();
        let mut verbatim = Verbatim { text: String::with_capacity(kept), separator: if lines { '\n' } else { ',' } };
        for i in 0..n {
            let literal = starts.literal(i);
            if !plan.keep[i] {
                dropped_values.add_text(literal);
            } else if container(i) {
                if !(jsonspan::small_container(literal) && verbatim.push_small(literal, self)) {
                    let v = self.process_item(starts.span(i), format!("{pointer}/{i}"));
                    verbatim.push_value(v, &mut out);
                }
            } else {
                verbatim.flush(&mut out);
                out.push(match scalar_value(literal) {
                    Value::String(s) => self.process_string(s, Some(starts.span(i)), format!("{pointer}/{i}")),
                    atom => atom,
                });
            }
        }
        verbatim.flush(&mut out);
        self.mark_drops(out, &plan, unit, &Items::Starts(starts), dropped_values, objects, pointer)
    }

    /// Whether two items written at `a` and `b` hold the same: written alike, without reading
    /// either whole, or else as values (keys in any order).
    fn same_items(&self, a: &str, b: &str) -> bool {
        a == b || self.read_item(a) == self.read_item(b)
    }

    /// A lean array's item (see [`parse`]), parsed whole from its literal with its numbers as
    /// written, for a planner that compares or reads it. serde_json's parse reads an object whose
    /// one key is its reserved [`NUMBER_TOKEN`] as a number: the input then passes through (see
    /// `reserved`).
    fn read_item(&self, literal: &str) -> Value {
        let (v, reserved) = read_literal(literal);
        if reserved {
            self.reserved.set(true);
        }
        v
    }

    /// A lean array's item at `span` that holds a long array or a large object of its own (or is
    /// one), parsed lean (see [`parse`]) with a span tree of its own: none when it holds none, or
    /// does not parse (see [`Self::read_item`]).
    fn read_lean(&self, span: Range<usize>) -> Option<(Value, SpanTree)> {
        let (mut v, tree) = parse_lean_at(self.input, span)?;
        source_number_text(&mut v, &tree, self.input);
        Some((v, tree))
    }

    /// A kept item of a lean array that is a container, at `span`: parsed lean (see [`parse`])
    /// from its text, with a span tree of its own, and processed as any value is.
    fn process_item(&mut self, span: Range<usize>, pointer: String) -> Value {
        let literal = &self.input[span.clone()];
        let scan = || jsonspan::scan_lean_at(self.input, span.start);
        // a large one is scanned on another core meanwhile, as a document is (both go by counts
        // alone, so neither waits for the other)
        let (parsed, scanned) = match literal.len() >= SCAN_BESIDE_BYTES {
            true => std::thread::scope(|s| {
                let scanned = s.spawn(scan);
                (
                    parse(literal),
                    scanned
                        .join()
                        .unwrap_or(Err(jsonspan::ScanError { offset: span.start, message: "the scan stopped" })),
                )
            }),
            false => (parse(literal), scan()),
        };
        let (Ok((mut v, _)), Ok(tree)) = (parsed, scanned) else {
            // parsed as a part of the document already: only the reserved key fails it, which
            // `read_item` flags
            return self.read_item(literal);
        };
        source_number_text(&mut v, &tree, self.input);
        if members(&v) != tree.member_count() {
            // an object with serde_json's reserved key was read as a number
            self.reserved.set(true);
            return v;
        }
        let outer = std::mem::replace(&mut self.tree, Arc::new(tree));
        let v = self.process(v, 0, pointer);
        self.tree = outer;
        v
    }

    fn note_plan(&mut self, pointer: &str, plan: &KeepPlan) {
        if !plan.summary.is_empty() {
            self.notes.push(format!("{}: {}", Self::where_(pointer), plan.summary));
        }
    }

    /// Records an array's dropped items in the ledger, one entry per run of consecutive drops
    /// with the same reason, and appends the marker to the kept items `out`. Past
    /// [`MAX_REASON_RUNS`] such runs, one entry per run of consecutive drops, its reason counting
    /// each kind: a million numbers with a copy every fifth item made 400,000 entries (4 bytes of
    /// ledger per byte of input), where the runs between kept items are a few dozen.
    #[allow(clippy::too_many_arguments)]
    fn mark_drops(
        &mut self,
        mut out: Vec<Value>,
        plan: &KeepPlan,
        unit: Unit,
        at: &Items,
        dropped_values: Spread,
        objects: bool,
        pointer: String,
    ) -> Value {
        let n = plan.keep.len();
        let dropped = plan.dropped();
        let kept_n = n - dropped;
        if dropped == 0 {
            return Value::Array(out);
        }
        let why = |i: usize| plan.why[i].unwrap_or(DropWhy::Sampled);
        let starts_run = |i: usize, by_reason: bool| {
            !plan.keep[i] && (i == 0 || plan.keep[i - 1] || by_reason && why(i - 1) != why(i))
        };
        let mut runs = (0..n).filter(|&i| starts_run(i, true)).count();
        let by_reason = runs <= MAX_REASON_RUNS;
        if !by_reason {
            runs = (0..n).filter(|&i| starts_run(i, false)).count();
        }
        self.ledger.reserve(runs);
        let group = self.ledger.group();
        // the runs of one kind share their reason's text
        let mut reasons: [Option<Arc<str>>; 2] = [None, None];
        let mut reason =
            |this: DropWhy| reasons[this as usize].get_or_insert_with(|| this.reason(kept_n, n).into()).clone();
        let mut i = 0;
        let mut duplicates = 0;
        while i < n {
            if plan.keep[i] {
                i += 1;
                continue;
            }
            let start = i;
            let mut copies = 0;
            while i < n && !plan.keep[i] && (i == start || !starts_run(i, by_reason)) {
                copies += usize::from(why(i) == DropWhy::Duplicate);
                i += 1;
            }
            duplicates += copies;
            let text = match (copies, i - start - copies) {
                (_, 0) => reason(DropWhy::Duplicate),
                (0, _) => reason(DropWhy::Sampled),
                (copies, sampled) => {
                    format!("{copies} {}; {sampled} {}", reason(DropWhy::Duplicate), reason(DropWhy::Sampled)).into()
                }
            };
            let bytes = at.span(&self.tree, start).start..at.span(&self.tree, i - 1).end;
            self.ledger.drop_span(bytes, Some(format!("{pointer}/{start}")), unit, i - start, text);
        }
        let mut detail = Vec::new();
        if duplicates > 0 {
            detail.push(format!("{duplicates} duplicates"));
        }
        if let Some(spread) = dropped_values.describe() {
            detail.push(spread);
        }
        let detail = if detail.is_empty() { String::new() } else { format!(" ({})", detail.join("; ")) };
        let phrase = format!(
            "{} of {} {} omitted{detail}",
            group_thousands(dropped),
            group_thousands(n),
            if unit == Unit::Rows { "rows" } else { "items" }
        );
        // a JSON Lines stream's dropped values come back as JSON Lines (in brackets, the lines of
        // a run had no commas between them)
        let shape = if self.lines && pointer.is_empty() { PayloadShape::Lines } else { PayloadShape::JsonArray };
        let text = self.ledger.marker(group, phrase, shape);
        if objects {
            let mut m = Map::new();
            m.insert(MARKER_KEY.to_string(), Value::String(text));
            out.push(Value::Object(m));
        } else {
            out.push(Value::String(text));
        }
        Value::Array(out)
    }

    fn plan_array(&self, items: &[Value], at: &Items) -> (KeepPlan, Unit) {
        let all = |f: fn(&Value) -> bool| items.iter().all(f);
        // a lean object (see `parse`) is parsed as an empty one: only its node says it is a row
        let lean_object = |i: usize| {
            items[i].is_object() && matches!(at, Items::Nodes(kids) if self.tree.node(kids[i] as usize).lean)
        };
        // source texts only where a planner reads them (not for arrays of scalars); values
        // re-serialised where the items have no spans of their own
        let srcs = || -> Vec<Cow<str>> {
            match at {
                Items::Whole(_) => {
                    items.iter().map(|v| Cow::Owned(serde_json::to_string(v).unwrap_or_default())).collect()
                }
                _ => (0..items.len()).map(|i| Cow::Borrowed(&self.input[at.span(&self.tree, i)])).collect(),
            }
        };
        // an item that holds a lean array is read whole as the planner asks for it (see `ItemRows`)
        let rows = || ItemRows::new(self, items, at);
        if (0..items.len()).all(|i| copies_only(&items[i]) && !lean_object(i)) {
            (self.plan_copies(&rows()), Unit::Items)
        } else if all(Value::is_object) {
            (self.plan_rows(&rows(), self.k_for(&srcs(), 3)), Unit::Rows)
        } else if all(Value::is_string) || all(Value::is_number) {
            (self.plan_scalar_values(items), Unit::Items)
        } else {
            (self.plan_mixed(items, &srcs(), &rows(), &lean_object), Unit::Items)
        }
    }

    fn k_for<S: AsRef<str>>(&self, strings: &[S], min_k: usize) -> usize {
        let refs: Vec<&str> = strings.iter().map(AsRef::as_ref).collect();
        self.k_for_texts(refs.as_slice(), min_k)
    }

    fn k_for_texts<T: Texts + ?Sized>(&self, texts: &T, min_k: usize) -> usize {
        sizing::optimal_k(texts, self.p.bias.get(), min_k, self.p.max_items_after_crush.max(min_k), self.memo)
    }

    /// SmartCrusher's array-of-objects planner, over `rows` and a budget of `k` (see
    /// [`Self::k_for`]). Each row is read once for its hash, errors, query hits and fields, and
    /// again only where a strategy needs it.
    fn plan_rows<R: Rows + ?Sized>(&self, rows: &R, k: usize) -> KeepPlan {
        let n = rows.count();
        let dedup = self.p.dedup_identical_items;
        // rows read at a cost (see `Rows::dear`) are hashed in the reading pass below; the others
        // in a pass of their own first (a lean array's million small rows keep no hash each, and
        // the copies' table is let go before the fields' statistics grow)
        let hash_here = dedup && rows.dear();
        let mut hashes: Vec<u64> = Vec::with_capacity(if hash_here { n } else { 0 });
        let mut copy = if hash_here {
            Vec::new()
        } else {
            copies(n, dedup, |i| content_hash(&rows.row(i)), |a, b| rows.same(a, b))
        };
        // the string fields of the first 20 rows, where they are (see `HeadStrings`)
        let mut head_strings: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        let mut errors: Vec<usize> = Vec::new();
        let mut hits: Vec<Hits> = Vec::new();
        let mut fields = Fields::new(n);
        // each row's key paths for the schema cover, while they take at most 8 bytes per 16 of
        // the input's text
        let mut path_sets = PathSets::new((self.input.len() / 16).max(1 << 16));
        // each row's text is read once, for its error words and query hits, and not kept
        let mut text = String::new();
        let (mut paths, mut member_hashes) = (Vec::new(), Vec::new());
        rows.each(&mut |i, row, within| {
            text.clear();
            member_hashes.clear();
            let want_paths = path_sets.want();
            let hash = Walk {
                text: Some(&mut text),
                paths: want_paths.then_some(&mut paths),
                members: Some(&mut member_hashes),
            }
            .value(row, within, 0);
            if !self.query.is_empty() {
                hits.push(Hits::of(&text, &self.query));
            }
            let map = row.as_object();
            // Error rows: an error word in a value, or a non-empty field named like an error.
            let mut named_error = false;
            if let Some(m) = map {
                within.members(m, |k, v, w| {
                    named_error |= error_named(k)
                        && !matches!(v, Value::Null | Value::Bool(false))
                        && v.as_str() != Some("")
                        && v.as_array().is_none_or(|a| !w.is_empty(a))
                        && v.as_object().is_none_or(|o| !o.is_empty());
                });
            }
            if named_error || has_error_word(&text) {
                errors.push(i);
            }
            if hash_here {
                hashes.push(hash);
            }
            if want_paths {
                path_sets.add(std::mem::take(&mut paths));
            }
            if let Some(m) = map {
                if i < 20 {
                    for (key, s) in m.iter().filter_map(|(key, v)| Some((key, v.as_str()?))) {
                        head_strings.entry(key.clone()).or_default().push((i, s.to_string()));
                    }
                }
                fields.add(i, m, &member_hashes);
            }
        });
        if hash_here {
            // a row compared is read whole again: only when the hashes, not their tags, match
            copy = copies(n, true, |i| hashes[i], |a, b| hashes[a] == hashes[b] && rows.same(a, b));
        }
        drop(hashes);
        let dups = copy.iter().filter(|c| **c).count();
        let (exact, relevant) = query_matches(&hits, &self.query, self.p.relevance_threshold.get());
        drop(hits);
        let stats = fields.finish();
        let heads: Vec<HeadStrings> = stats
            .iter()
            .map(|f| {
                let mut head = vec![None; n.min(20)];
                for (i, s) in head_strings.remove(&f.name).into_iter().flatten() {
                    head[i] = Some(s);
                }
                head
            })
            .collect();
        drop(head_strings);
        let vt = self.p.variance_threshold.get();
        // Structural outliers: a rare value of a common categorical field. Rows with a rare field
        // are a signal too, but are not all kept (Headroom keeps every one): the schema pass
        // below keeps rows until each key path is shown, which keeps the schema for fewer rows.
        let mut outliers: Vec<usize> = Vec::new();
        let mut rare_fields = false;
        for f in &stats {
            if f.present * 5 < n {
                rare_fields |= f.present > 0;
            } else if f.categorical(n) && f.keys.len() == n {
                // value → (rows, first row); the most common values first, ties by first appearance
                let mut freq: HashMap<u8, (usize, usize)> = HashMap::new();
                for (i, key) in f.keys.iter().enumerate() {
                    freq.entry(*key).or_insert((0, i)).0 += 1;
                }
                let mut by: Vec<(u8, (usize, usize))> = freq.into_iter().collect();
                by.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.1.1.cmp(&b.1.1)));
                let mut covered = 0;
                let mut common = HashSet::new();
                for (key, (c, _)) in &by {
                    if covered * 5 >= n * 4 {
                        break;
                    }
                    covered += c;
                    common.insert(*key);
                }
                // only a field with a few common values makes the others rare (Headroom: K ≤ 5)
                if common.len() < by.len() && common.len() <= 5 {
                    outliers.extend((0..n).filter(|&i| !common.contains(&f.keys[i])));
                }
            }
        }
        outliers.sort_unstable();
        outliers.dedup();
        // Numeric anomalies and change points.
        let mut anomalies = Vec::new();
        let mut changes = Vec::new();
        for f in &stats {
            if f.numeric.len() < 5 {
                continue;
            }
            let x = |j: usize| f.numeric.values[j];
            let (mean, sd) = mean_std(f.numeric.len(), x);
            if sd > 0.0 {
                anomalies
                    .extend((0..f.numeric.len()).filter(|&j| (x(j) - mean).abs() > vt * sd).map(|j| f.numeric.row(j)));
            }
            if self.p.preserve_change_points {
                changes.extend(change_points(f.numeric.len(), x, sd, vt).into_iter().map(|j| f.numeric.row(j)));
            }
        }
        anomalies.sort_unstable();
        anomalies.dedup();

        let id_field = stats.iter().zip(&heads).find(|(f, head)| is_id_field(f, head, n)).map(|(f, _)| f.name.clone());
        let non_id: Vec<&FieldStats> = stats.iter().filter(|f| Some(&f.name) != id_field.as_ref()).collect();
        let avg = |fs: &[&&FieldStats]| {
            if fs.is_empty() { 0.0 } else { fs.iter().map(|f| f.unique_ratio).sum::<f64>() / fs.len() as f64 }
        };
        let str_fields: Vec<&&FieldStats> = non_id.iter().filter(|f| f.is_string).collect();
        let num_fields: Vec<&&FieldStats> = non_id.iter().filter(|f| !f.numeric.is_empty() && !f.is_string).collect();
        let avg_str = avg(&str_fields);
        let id_uniq = id_field
            .as_ref()
            .and_then(|name| stats.iter().find(|f| &f.name == name))
            .map(|f| f.unique_ratio)
            .unwrap_or(0.0);
        let max_uniq = avg_str.max(id_uniq);
        let content_uniq = avg_str.max(avg(&num_fields));
        let score = stats.iter().filter_map(|f| score_field(f, n).map(|c| (f, c))).max_by(|a, b| a.1.total_cmp(&b.1));
        let signal = score.is_some()
            || !outliers.is_empty()
            || rare_fields
            || !errors.is_empty()
            || !anomalies.is_empty()
            || !changes.is_empty()
            || !exact.is_empty()
            || !relevant.is_empty();

        if n <= k && dups == 0 {
            return KeepPlan::all(n, String::new());
        }
        let crush_reason = if content_uniq < 0.1 && id_field.is_some() {
            "repetitive content with ids"
        } else if max_uniq < 0.3 {
            "low uniqueness"
        } else if id_field.is_some() && max_uniq > 0.8 && !signal {
            return self.only_duplicates(
                n,
                &copy,
                format!("kept all {n} rows but duplicates: unique entities, no signal"),
            );
        } else if max_uniq > 0.8 {
            "unique rows with a signal"
        } else if !signal {
            return self.only_duplicates(
                n,
                &copy,
                format!("kept all {n} rows but duplicates: medium uniqueness, no signal"),
            );
        } else {
            "signals present"
        };

        // Strategy: top-N by score field, clustered sampling for log-like rows, time series, or smart sample.
        let mut preferred: Vec<usize> = Vec::new();
        preferred.extend(&relevant);
        // rows by score, best first (copies left out: they are never chosen), 4 bytes a row
        let mut by_score: Vec<u32> = Vec::new();
        let strategy;
        if let Some((f, _)) = score {
            let num = &f.numeric;
            by_score.extend((0..num.len() as u32).filter(|&j| !copy[num.row(j as usize)]));
            let key = |j: u32| (num.values[j as usize], num.row(j as usize));
            by_score.sort_unstable_by(|&a, &b| {
                let ((xa, ra), (xb, rb)) = (key(a), key(b));
                xb.total_cmp(&xa).then(ra.cmp(&rb))
            });
            by_score.iter_mut().for_each(|j| *j = num.row(*j as usize) as u32);
            strategy = format!("top-n by `{}`", f.name);
        } else if let Some(msg) = non_id
            .iter()
            .filter(|f| f.is_string && f.avg_str_len > 20.0)
            .max_by(|a, b| a.unique_ratio.total_cmp(&b.unique_ratio))
            && non_id.iter().any(|f| f.is_string && f.unique_ratio < 0.1 && (2..=10).contains(&f.distinct))
        {
            // log-like rows: one representative per message prefix first
            let mut seen = HashSet::new();
            for i in 0..n {
                if seen.insert(rows.str_prefix(i, &msg.name)) {
                    preferred.push(i);
                }
            }
            strategy = format!("cluster sample by `{}`", msg.name);
        } else if !changes.is_empty() && stats.iter().zip(&heads).any(|(f, head)| is_temporal(f, head)) {
            strategy = "time series".to_string();
        } else {
            strategy = "smart sample".to_string();
        }
        let width = if strategy.starts_with("time") { 2 } else { 1 };
        let windows = changes.iter().flat_map(|&c| c.saturating_sub(width)..(c + width + 1).min(n));
        let by_score = by_score.iter().map(|&i| i as usize);
        let preferred = preferred.into_iter().chain(by_score).chain(windows).chain(boundary_then_stride(n, k, self.p));
        let mut must: Vec<usize> = Vec::new();
        must.extend(&errors);
        must.extend(&outliers);
        must.extend(&anomalies);
        must.extend(&exact);
        must.retain(|&i| !copy[i]);
        let mut plan = choose(n, k, &must, preferred, &copy, String::new());
        let schema_rows = cover_schema(rows, &path_sets, &mut plan, &copy, k);
        let summary = format!(
            "{strategy} ({crush_reason}): kept {} of {n} rows (budget {k}; {} error, {} outlier, {} anomaly, {} query-match rows always kept{}{})",
            n - plan.dropped(),
            errors.len(),
            outliers.len(),
            anomalies.len(),
            exact.len(),
            if schema_rows > 0 { format!("; {schema_rows} more for keys no kept row has") } else { String::new() },
            if dups > 0 { format!("; {dups} duplicates") } else { String::new() }
        );
        KeepPlan { summary, ..plan }
    }

    fn only_duplicates(&self, n: usize, copy: &[bool], summary: String) -> KeepPlan {
        let keep: Vec<bool> = copy.iter().map(|c| !c).collect();
        let why = keep.iter().map(|k| (!k).then_some(DropWhy::Duplicate)).collect();
        debug_assert_eq!(keep.len(), n);
        KeepPlan { keep, why, summary }
    }

    /// Items no planner reads (see [`copies_only`]): all kept but exact copies, as duplicate
    /// strings, numbers and rows are (2,000 `[]` become one and a marker).
    fn plan_copies<R: Rows + ?Sized>(&self, rows: &R) -> KeepPlan {
        self.plan_copies_of(duplicates(rows, self.p.dedup_identical_items))
    }

    /// The plan that drops the items `copy` marks.
    fn plan_copies_of(&self, copy: Vec<bool>) -> KeepPlan {
        let (n, copies) = (copy.len(), copy.iter().filter(|&&c| c).count());
        let summary = if copies == 0 { String::new() } else { format!("kept all {n} but {copies} exact copies") };
        self.only_duplicates(n, &copy, summary)
    }

    /// Strings or numbers, all of one type, as their texts (a string's own text, a number's
    /// source digits): the plan over the group's own positions. Texts are borrowed, so an array
    /// of a million numbers costs no allocation per item.
    fn plan_scalars<T: Texts + ?Sized>(&self, strings: &T, numbers: bool) -> KeepPlan {
        let m = strings.count();
        let k = self.k_for_texts(strings, 3);
        let copy = copies(
            m,
            self.p.dedup_identical_items,
            |i| fx_hash(strings.text(i)),
            |a, b| strings.text(a) == strings.text(b),
        );
        let vt = self.p.variance_threshold.get();
        let (exact, relevant) = if self.query.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let hits: Vec<Hits> = strings.iter().map(|s| Hits::of(&s.to_lowercase(), &self.query)).collect();
            query_matches(&hits, &self.query, self.p.relevance_threshold.get())
        };
        let mut must: Vec<usize> = exact;
        // a number that is not finite as f64 (1e400) leaves the array unsummarised, as a string
        // array is: its text still counts for outliers by length. Values and lengths are read from
        // the texts each time they are needed (a million 1-byte items kept no 8-byte copy each)
        let number = |i: usize| number_f64(strings.text(i));
        let numbers = numbers && (0..m).all(|i| number(i).is_some());
        let mut changes = Vec::new();
        if numbers {
            let value = |i: usize| number(i).unwrap_or(0.0);
            let (mean, sd) = mean_std(m, value);
            if sd > 0.0 {
                must.extend((0..m).filter(|&i| (value(i) - mean).abs() > vt * sd));
            }
            if self.p.preserve_change_points && m > 10 {
                changes = change_points(m, value, sd, vt);
            }
        } else {
            must.extend((0..m).filter(|&i| has_error_word(strings.text(i))));
            let len = |i: usize| strings.text(i).chars().count() as f64;
            let (mean, sd) = mean_std(m, len);
            if sd > 0.0 {
                must.extend((0..m).filter(|&i| (len(i) - mean).abs() > vt * sd));
            }
        }
        must.retain(|&i| !copy[i]);
        if m <= k && !copy.contains(&true) {
            return KeepPlan::all(m, String::new());
        }
        let mut preferred = relevant;
        for c in changes {
            preferred.extend(c.saturating_sub(1)..(c + 2).min(m));
        }
        let preferred = preferred.into_iter().chain(boundary_then_stride(m, k, self.p));
        let mut plan = choose(m, k, &must, preferred, &copy, String::new());
        let kind = if numbers { "numbers" } else { "strings" };
        plan.summary = format!("{kind}: kept {} of {m} (budget {k}; {} always kept)", m - plan.dropped(), must.len());
        plan
    }

    /// [`Self::plan_scalars`] of parsed strings or numbers.
    fn plan_scalar_values<V: Borrow<Value>>(&self, group: &[V]) -> KeepPlan {
        let strings: Vec<&str> = group
            .iter()
            .map(|v| match v.borrow() {
                Value::String(s) => s.as_str(),
                Value::Number(n) => n.as_str(),
                _ => "",
            })
            .collect();
        let numbers = group.first().is_some_and(|v| v.borrow().is_number());
        self.plan_scalars(strings.as_slice(), numbers)
    }

    /// Mixed arrays: objects, strings and numbers are planned as groups; of the rest (see
    /// [`copies_only`]) only exact copies go. `lean_object` says which items are lean objects.
    fn plan_mixed(
        &self,
        items: &[Value],
        srcs: &[Cow<str>],
        rows: &ItemRows,
        lean_object: &dyn Fn(usize) -> bool,
    ) -> KeepPlan {
        self.plan_groups(
            items.len(),
            |i| if lean_object(i) { Group::Objects } else { Group::of(&items[i]) },
            |group, idx| {
                let picked = Picked { rows, idx };
                match group {
                    Group::Objects => {
                        let srcs: Vec<Cow<str>> =
                            idx.iter().map(|&i| Cow::Borrowed(srcs[i as usize].as_ref())).collect();
                        self.plan_rows(&picked, self.k_for(&srcs, 3))
                    }
                    Group::Others => self.plan_copies(&picked),
                    Group::Strings | Group::Numbers => {
                        let values: Vec<&Value> = idx.iter().map(|&i| &items[i as usize]).collect();
                        self.plan_scalar_values(&values)
                    }
                }
            },
        )
    }

    /// A mixed array's plan, from each group's plan over its items' positions (`idx`, in
    /// order); a group of too few items to analyse is kept.
    fn plan_groups(
        &self,
        n: usize,
        group_of: impl Fn(usize) -> Group,
        plan: impl Fn(Group, &[u32]) -> KeepPlan,
    ) -> KeepPlan {
        let mut keep = vec![true; n];
        let mut why = vec![None; n];
        let mut parts = Vec::new();
        for group in [Group::Objects, Group::Strings, Group::Numbers, Group::Others] {
            let idx: Vec<u32> = (0..n).filter(|&i| group_of(i) == group).map(|i| i as u32).collect();
            if !self.analyzed(idx.len()) {
                continue;
            }
            let plan = plan(group, &idx);
            // the group's plan, back at the items' own positions
            for (j, &i) in idx.iter().enumerate() {
                keep[i as usize] = plan.keep[j];
                why[i as usize] = plan.why[j];
            }
            if !plan.summary.is_empty() {
                parts.push(format!("{}: {}", group.name(), plan.summary));
            }
        }
        let summary = if parts.is_empty() { String::new() } else { format!("mixed array; {}", parts.join("; ")) };
        KeepPlan { keep, why, summary }
    }

    fn process_object(&mut self, mut map: Map<String, Value>, node: usize, pointer: String) -> Value {
        if self.tree.node(node).lean {
            drop(map);
            return self.process_lean_object(node, pointer);
        }
        let kids: Vec<usize> = self.tree.children(node).collect();
        let spans_ok = kids.len() == map.len();
        // Decide which keys stay before looking inside the values, so nothing is recorded for a
        // value that then goes as a whole.
        let plan = if self.p.crush_wide_objects {
            let srcs = self.sources(map.iter().map(|(k, v)| (Some(k.as_str()), v)), &kids, spans_ok);
            let errors = map.values().enumerate().map(|(i, v)| match spans_ok {
                true => self.mentions_error_at(v, kids[i]),
                false => mentions_error(v),
            });
            self.plan_object(map_like(&map), srcs.as_slice(), errors, map.keys().map(|k| Cow::Borrowed(k.as_str())))
        } else {
            None
        };
        let n = map.len();
        let group = self.ledger.group();
        let ptr_of = |k: &str| format!("{pointer}/{}", escape_pointer(k));
        // Values are processed in place (the keys are not hashed again). Dropped keys are recorded
        // in document order, one ledger entry per run of consecutive ones, as for array items.
        let mut run = None;
        for (i, (k, v)) in map.iter_mut().enumerate() {
            let Some((keep, reason)) = plan.as_ref().filter(|(keep, _)| !keep[i]) else {
                let child = if spans_ok { kids[i] } else { node };
                if !self.left_alone(v, spans_ok.then_some(child)) {
                    *v = self.process(std::mem::take(v), child, ptr_of(k));
                }
                continue;
            };
            let start = run.as_ref().map_or(i, |(start, _)| *start);
            let bytes = match spans_ok {
                true => self.tree.node(kids[start]).member_span().start..self.tree.node(kids[i]).end(),
                false => self.tree.node(node).span(),
            };
            self.drop_member(&mut run, i, keep, reason, &|| ptr_of(k), bytes);
        }
        let Some((keep, _)) = plan else {
            return Value::Object(map);
        };
        let dropped = keep.iter().filter(|k| !**k).count();
        let names = map.keys().zip(&keep).filter(|(_, k)| !**k).map(|(name, _)| name);
        let phrase = format!("{dropped} of {n} keys omitted: {}", name_list_of(names, dropped, 12));
        let mut i = 0;
        map.retain(|_, _| {
            i += 1;
            keep[i - 1]
        });
        self.mark_keys(&mut map, group, phrase, n, &pointer);
        Value::Object(map)
    }

    /// A lean object (see [`parse`]): its members are read from the text, planned as a whole
    /// object's are (see [`Self::plan_object`]), and only the kept ones built, each in its turn.
    /// A map of 300,000 keys was a whole value at 25 times its text.
    fn process_lean_object(&mut self, node: usize, pointer: String) -> Value {
        let tree = Arc::clone(&self.tree);
        let input = self.input;
        // each member's key start and end, value start and end
        let mut members: Vec<[u32; 4]> = Vec::with_capacity(tree.lean_count(node).unwrap_or(0));
        members.extend(
            tree.lean_members(node, input).map(|(k, v)| [k.start as u32, k.end as u32, v.start as u32, v.end as u32]),
        );
        let key = |m: &[u32; 4]| scalar_text(&input[m[0] as usize..m[1] as usize]).unwrap_or_default();
        let value = |m: &[u32; 4]| m[2] as usize..m[3] as usize;
        let n = members.len();
        let plan = if self.p.crush_wide_objects {
            let texts: Vec<&str> = members.iter().map(|m| &input[m[0] as usize..m[3] as usize]).collect();
            let like = spans_map_like(input, || members.iter().map(|m| (m[0] as usize..m[1] as usize, value(m))));
            let errors = members.iter().map(|m| literal_mentions_error(&input[value(m)]));
            self.plan_object(like, texts.as_slice(), errors, members.iter().map(key))
        } else {
            None
        };
        let group = self.ledger.group();
        let ptr_of = |k: &str| format!("{pointer}/{}", escape_pointer(k));
        let Some((keep, reason)) = plan else {
            // kept whole: each member is written out as soon as it is processed, so the object is
            // never all values at once (870,000 mixed values took 21 times their text). The
            // text goes to the output as a lean array's run of kept items does (see `Verbatim`)
            let mut text = String::with_capacity(tree.node(node).span().len());
            for (i, m) in members.iter().enumerate() {
                text.push(if i == 0 { '{' } else { ',' });
                let k = key(m);
                text.push_str(&compact_text(&k));
                text.push(':');
                let v = self.read_member(value(m), ptr_of(&k));
                text.push_str(&compact_text(&v));
            }
            text.push_str(if n == 0 { "{}" } else { "}" });
            text.shrink_to_fit();
            return Value::Number(serde_json::Number::from_string_unchecked(text));
        };
        let mut out = Map::with_capacity(keep.iter().filter(|k| **k).count() + 1);
        let mut run: Option<(usize, String)> = None;
        for (i, m) in members.iter().enumerate() {
            if keep[i] {
                let k = key(m).into_owned();
                let v = self.read_member(value(m), ptr_of(&k));
                out.insert(k, v);
                continue;
            }
            let bytes = run.as_ref().map_or(m[0], |(start, _)| members[*start][0]) as usize..m[3] as usize;
            self.drop_member(&mut run, i, &keep, &reason, &|| ptr_of(&key(m)), bytes);
        }
        let dropped = n - out.len();
        let names = members.iter().zip(&keep).filter(|(_, k)| !**k).map(|(m, _)| key(m));
        let phrase = format!("{dropped} of {n} keys omitted: {}", name_list_of(names, dropped, 12));
        self.mark_keys(&mut out, group, phrase, n, &pointer);
        Value::Object(out)
    }

    /// A kept member of a lean object, at `span`: a container read and processed as a lean
    /// array's kept item is (see [`Self::process_item`]), an atom read from its text (a long
    /// string cut as any is).
    fn read_member(&mut self, span: Range<usize>, pointer: String) -> Value {
        let literal = &self.input[span.clone()];
        if jsonspan::has_items(literal) {
            return self.process_item(span, pointer);
        }
        match self.read_item(literal) {
            Value::String(s) => self.process_string(s, Some(span), pointer),
            atom => atom,
        }
    }

    /// Records member `i` of an object planned by `keep` as dropped (for `reason`), in document
    /// order: one ledger entry per run of consecutive dropped members (`run`: where the open
    /// one starts, and its first member's pointer), as for array items. `bytes` is the run's
    /// text up to this member; `pointer`, this member's pointer.
    fn drop_member(
        &mut self,
        run: &mut Option<(usize, String)>,
        i: usize,
        keep: &[bool],
        reason: &Arc<str>,
        pointer: &dyn Fn() -> String,
        bytes: Range<usize>,
    ) {
        let (start, first) = run.take().unwrap_or_else(|| (i, pointer()));
        if i + 1 < keep.len() && !keep[i + 1] {
            *run = Some((start, first));
            return;
        }
        let last = (i > start).then(pointer);
        self.ledger.drop_run(bytes, Some(first), last, Unit::Keys, i + 1 - start, reason.clone());
    }

    /// Adds the marker of a sampled object's dropped keys (`phrase`) to its kept members `map`,
    /// under a key none of them has, with a note.
    fn mark_keys(&mut self, map: &mut Map<String, Value>, group: usize, phrase: String, n: usize, pointer: &str) {
        let kept = map.len();
        let text = self.ledger.marker(group, phrase, PayloadShape::JsonObject);
        self.notes.push(format!("{}: map-like object, kept {kept} of {n} keys", Self::where_(pointer)));
        let mut key = MARKER_KEY.to_string();
        let mut suffix = 2;
        while map.contains_key(&key) {
            key = format!("{MARKER_KEY}_{suffix}");
            suffix += 1;
        }
        map.insert(key, Value::String(text));
    }

    /// [`mentions_error`] of a value at `node`, reading the strings a lean parse left in the text.
    fn mentions_error_at(&self, v: &Value, node: usize) -> bool {
        match v {
            // a map's values are mostly scalars: no stack for them
            Value::String(s) => return has_error_word(s),
            Value::Array(_) | Value::Object(_) => {}
            _ => return false,
        }
        let mut stack = vec![(v, node)];
        while let Some((v, node)) = stack.pop() {
            match v {
                Value::String(s) if has_error_word(s) => return true,
                Value::Array(items) => {
                    stack.extend(items.iter().zip(self.tree.children(node)));
                    if self.tree.lean_items(node, self.input).any(|r| literal_mentions_error(&self.input[r])) {
                        return true;
                    }
                }
                Value::Object(m) => {
                    stack.extend(m.values().zip(self.tree.children(node)));
                    if self.tree.lean_members(node, self.input).any(|(_, r)| literal_mentions_error(&self.input[r])) {
                        return true;
                    }
                }
                _ => {}
            }
        }
        false
    }

    /// A map-like object (see [`map_like`]: its keys are data, like `time: {version: date}`) with
    /// enough tokens is sampled as rows are: error values and query matches, then the first and
    /// last keys by the boundary fractions, then an even stride, up to the adaptive budget. Any
    /// other object keeps every key (its large values are cut inside, by their own kind): a
    /// schema's keys (`description`, `dependencies`, `scripts`) are what a reader needs.
    /// Returns which keys stay and the reason for those that go, or `None` to keep it whole.
    fn plan_object<'k, T: Texts + ?Sized>(
        &self,
        like: bool,
        rendered: &T,
        errors: impl Iterator<Item = bool>,
        keys: impl Iterator<Item = Cow<'k, str>>,
    ) -> Option<(Vec<bool>, Arc<str>)> {
        let n = rendered.count();
        if n < self.p.min_items_to_analyze.max(1) || !like {
            return None;
        }
        let est_tokens: usize = rendered.iter().map(|r| r.len() / 4 + 2).sum();
        if est_tokens < self.p.min_tokens_to_crush {
            return None;
        }
        let k = self.k_for_texts(rendered, 3);
        let mut must: Vec<usize> = errors.enumerate().filter(|(_, e)| *e).map(|(i, _)| i).collect();
        if !self.query.words.is_empty() {
            must.extend(keys.enumerate().filter_map(|(i, key)| {
                let key = key.to_lowercase();
                self.query.words.iter().any(|w| key.contains(w.as_str())).then_some(i)
            }));
        }
        let plan = choose(n, k, &must, boundary_then_stride(n, k, self.p), &vec![false; n], String::new());
        if plan.dropped() == 0 {
            return None;
        }
        let reason = format!(
            "sampled out of a map-like object of {n} keys (its keys are data; kept {}: error values, query matches, the first and last keys, then an even stride up to the budget of {k})",
            n - plan.dropped()
        );
        Some((plan.keep, reason.into()))
    }
}

/// The key paths inside one row (see [`Walk::paths`]), sorted, each once.
fn row_paths(row: &Value) -> Vec<u64> {
    let mut paths = Vec::new();
    Walk { paths: Some(&mut paths), ..Walk::default() }.value(row, Within::Whole, 0);
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// The key paths of each row (see [`row_paths`]), gathered in a planner's reading pass so that
/// [`cover_schema`] reads no row again: each distinct set once, and which one each row has. Let
/// go (the cover then reads the rows) once the sets hold more paths than `cap`: rows whose keys
/// all differ would hold several bytes per byte of their text.
struct PathSets {
    sets: Vec<Rc<[u64]>>,
    index: HashMap<Rc<[u64]>, u32, rustc_hash::FxBuildHasher>,
    /// Which set each row has: none held while every row has the first (a million alike small
    /// rows would hold 4 bytes each for nothing).
    of_row: Vec<u32>,
    rows: usize,
    held: usize,
    cap: usize,
    gave_up: bool,
}

impl PathSets {
    fn new(cap: usize) -> PathSets {
        PathSets {
            sets: Vec::new(),
            index: HashMap::default(),
            of_row: Vec::new(),
            rows: 0,
            held: 0,
            cap,
            gave_up: false,
        }
    }

    /// Whether the next row's paths are wanted (not once the sets were let go).
    fn want(&self) -> bool {
        !self.gave_up
    }

    /// The next row's paths (rows come in order), as a [`Walk`] gathers them.
    fn add(&mut self, mut paths: Vec<u64>) {
        if self.gave_up {
            return;
        }
        paths.sort_unstable();
        paths.dedup();
        let paths: Rc<[u64]> = paths.into();
        let at = match self.index.get(&paths) {
            Some(&at) => at,
            None => {
                self.held += paths.len();
                if self.held > self.cap {
                    *self = PathSets { gave_up: true, ..PathSets::new(0) };
                    return;
                }
                let at = self.sets.len() as u32;
                self.sets.push(paths.clone());
                self.index.insert(paths, at);
                at
            }
        };
        if at > 0 && self.of_row.is_empty() {
            self.of_row = vec![0; self.rows];
        }
        if !self.of_row.is_empty() {
            self.of_row.push(at);
        }
        self.rows += 1;
    }

    /// Whether every one of `n` rows has its set here.
    fn hold(&self, n: usize) -> bool {
        !self.gave_up && self.rows == n
    }

    /// Which set row `i` has (see [`Self::hold`]).
    fn set_of(&self, i: usize) -> usize {
        self.of_row.get(i).map_or(0, |&at| at as usize)
    }

    /// Row `i`'s paths, unless the sets were let go.
    fn of(&self, i: usize) -> Option<&[u64]> {
        if self.gave_up || i >= self.rows {
            return None;
        }
        self.sets.get(self.set_of(i)).map(|s| &s[..])
    }
}

/// Adds to a row plan, greedily, the rows that hold the most key paths no kept row has (a
/// package's own `features`, a rare nested setting), at most `budget` of them: sampling rows
/// must not take the schema with them. Returns how many rows it added.
fn cover_schema<R: Rows + ?Sized>(
    rows: &R,
    sets: &PathSets,
    plan: &mut KeepPlan,
    copy: &[bool],
    budget: usize,
) -> usize {
    let n = rows.count();
    let held = sets.hold(n);
    let paths = |i: usize| match sets.of(i).filter(|_| held) {
        Some(p) => Cow::Borrowed(p),
        None => Cow::Owned(row_paths(&rows.row(i))),
    };
    let mut covered: HashSet<u64> = HashSet::new();
    for i in (0..n).filter(|&i| plan.keep[i]) {
        covered.extend(paths(i).iter());
    }
    // only rows with a path no kept row has can ever help (the covered set only grows), and
    // they are few: the others' path sets are not kept. Of the rows with one set of paths, only
    // the first can be chosen (the choice prefers the earliest row, and after it the others add
    // nothing)
    let mut first_of_set = vec![false; if held { sets.sets.len() } else { 0 }];
    let mut candidates: Vec<(usize, Cow<[u64]>)> = (0..n)
        .filter(|&i| !plan.keep[i] && !copy[i])
        .filter(|&i| !held || !std::mem::replace(&mut first_of_set[sets.set_of(i)], true))
        .filter_map(|i| {
            let paths = paths(i);
            paths.iter().any(|p| !covered.contains(p)).then_some((i, paths))
        })
        .collect();
    let mut added = 0;
    while added < budget {
        let best = candidates
            .iter()
            .enumerate()
            .map(|(c, (i, paths))| (paths.iter().filter(|p| !covered.contains(p)).count(), std::cmp::Reverse(*i), c))
            .max();
        let Some((_, _, c)) = best.filter(|b| b.0 > 0) else { break };
        let (i, paths) = candidates.swap_remove(c);
        plan.keep[i] = true;
        plan.why[i] = None;
        covered.extend(paths.iter());
        added += 1;
    }
    added
}

/// Whether an object's keys are data rather than a schema, so that it may be sampled like an
/// array: at least 8 keys, 90% of the values of one JSON type, and either 64 keys or more, or
/// half its keys or more not names (they start with a digit or hold `/ @ . :` or a space, as
/// versions, dates, paths and scoped packages do). `dependencies` of 28 plain package names is
/// a schema-like object and stays whole; npm's `time` (version → date) is map-like.
pub fn map_like(map: &Map<String, Value>) -> bool {
    let kind = |v: &Value| match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    map_like_of(map.len(), map.values().map(kind), || map.keys().filter(|k| data_key(k)).count())
}

/// [`map_like`] of lean object `node` of `tree` (see [`parse`]), read from its `text`.
pub(crate) fn lean_map_like(tree: &SpanTree, node: usize, text: &str) -> bool {
    spans_map_like(text, || tree.lean_members(node, text))
}

/// [`map_like`] of an object whose members are given as (key span, value span) in `text`, by a
/// function that lists them as often as asked.
fn spans_map_like<I: Iterator<Item = (Range<usize>, Range<usize>)>>(text: &str, members: impl Fn() -> I) -> bool {
    map_like_of(members().count(), members().map(|(_, v)| literal_kind(&text[v])), || {
        members().filter(|(k, _)| scalar_text(&text[k.clone()]).is_some_and(|k| data_key(&k))).count()
    })
}

/// [`map_like`] of an object of `n` members from their values' JSON types (as [`literal_kind`]
/// numbers them) and the count of its keys that are data (asked for only when it matters).
fn map_like_of(n: usize, kinds: impl Iterator<Item = usize>, data_keys: impl FnOnce() -> usize) -> bool {
    if n < 8 {
        return false;
    }
    let mut by_type = [0usize; 6];
    for kind in kinds {
        by_type[kind] += 1;
    }
    let homogeneous = by_type.iter().max().is_some_and(|&m| m * 10 >= n * 9);
    homogeneous && (n >= 64 || data_keys() * 2 >= n)
}

/// Whether a key reads as data, not a name (see [`map_like`]).
fn data_key(key: &str) -> bool {
    key.starts_with(|c: char| c.is_ascii_digit()) || key.contains(['/', '@', '.', ':', ' '])
}

/// The JSON type of a valid value's literal, numbered as [`map_like`] counts them: null, bool,
/// number, string, array, object.
fn literal_kind(literal: &str) -> usize {
    match literal.as_bytes().first() {
        Some(b'n') => 0,
        Some(b't' | b'f') => 1,
        Some(b'"') => 3,
        Some(b'[') => 4,
        Some(b'{') => 5,
        _ => 2,
    }
}

/// Byte offset, within a JSON string literal (quotes included), of the start of decoded character
/// number `chars` (escapes count as the one character they stand for).
fn literal_offset(literal: &str, chars: usize) -> Option<usize> {
    let b = literal.as_bytes();
    let mut pos = 1;
    let mut count = 0;
    while count < chars {
        match b.get(pos)? {
            b'"' => return None,
            b'\\' => {
                if b.get(pos + 1)? == &b'u' {
                    let hex = std::str::from_utf8(b.get(pos + 2..pos + 6)?).ok()?;
                    let unit = u16::from_str_radix(hex, 16).ok()?;
                    pos += 6;
                    // a surrogate pair is one character written as two escapes
                    if (0xD800..0xDC00).contains(&unit) && b.get(pos) == Some(&b'\\') && b.get(pos + 1) == Some(&b'u') {
                        pos += 6;
                    }
                } else {
                    pos += 2;
                }
            }
            _ => pos += literal[pos..].chars().next()?.len_utf8(),
        }
        count += 1;
    }
    Some(pos)
}

/// A number in a marker: an integer as one, any other with up to four decimals, or five
/// significant digits where decimals would be too many or all zero.
fn fmt_num(x: f64) -> String {
    let trim = |digits: &str| digits.trim_end_matches('0').trim_end_matches('.').to_string();
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else if x.abs() >= 1e15 || x.abs() < 1e-4 {
        // past 15 digits, or so small that 4 decimals read 0: five significant digits
        let sci = format!("{x:.4e}");
        let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
        format!("{}e{exponent}", trim(mantissa))
    } else {
        trim(&format!("{x:.4}"))
    }
}

/// The numbers an array's cut dropped, summed up as they go (a million dropped numbers are not
/// kept to be summarised): the marker's min, max and mean.
struct Spread {
    n: usize,
    lo: f64,
    hi: f64,
    sum: f64,
    /// A running mean as well: numbers near f64's limits sum to infinity.
    running: f64,
    /// The least and the greatest number past f64's range (`-1e400`, `1e400`), by their
    /// magnitude's log and their text: they are the min or max, as written.
    beyond: [Option<(f64, String)>; 2],
}

impl Default for Spread {
    fn default() -> Self {
        Spread { n: 0, lo: f64::MAX, hi: f64::MIN, sum: 0.0, running: 0.0, beyond: [None, None] }
    }
}

impl Spread {
    /// A number from its JSON text; one past f64's range counts toward the min or the max.
    fn add_text(&mut self, text: &str) {
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => self.add(x),
            Ok(x) if x.is_infinite() => {
                // log10 of the magnitude, from the mantissa and the exponent as written
                let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
                let log = mantissa.trim_start_matches('-').parse::<f64>().map_or(0.0, |m| m.abs().log10())
                    + exponent.trim_start_matches('+').parse::<f64>().unwrap_or(f64::MAX);
                let side = &mut self.beyond[usize::from(x > 0.0)];
                if side.as_ref().is_none_or(|(l, _)| log > *l) {
                    *side = Some((log, text.to_string()));
                }
            }
            _ => {}
        }
    }

    /// The marker's words for what was dropped: `min 1, max 9, mean 4.2`; with a number past
    /// f64's range, that number as the min or max and no mean (it has none to show).
    fn describe(&self) -> Option<String> {
        let [below, above] = &self.beyond;
        let side = |beyond: &Option<(f64, String)>, x: f64| match beyond {
            Some((_, text)) => Some(text.clone()),
            None => (self.n > 0).then(|| fmt_num(x)),
        };
        let mut parts = Vec::new();
        parts.extend(side(below, self.lo).map(|t| format!("min {t}")));
        parts.extend(side(above, self.hi).map(|t| format!("max {t}")));
        if below.is_none() && above.is_none() && self.n > 0 {
            parts.push(format!("mean {}", fmt_num(self.mean())));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    fn add(&mut self, x: f64) {
        self.n += 1;
        self.lo = self.lo.min(x);
        self.hi = self.hi.max(x);
        self.sum += x;
        // each term is at most the largest magnitude over n: it never overflows
        let n = self.n as f64;
        self.running += x / n - self.running / n;
    }

    fn mean(&self) -> f64 {
        let mean = self.sum / self.n as f64;
        if mean.is_finite() { mean } else { self.running }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &str, query: Option<&str>) -> Compressed {
        let ctx = Context { query: query.map(str::to_string), ..Context::default() };
        JsonEngine::compress(input, &JsonParams::default(), &ctx).unwrap()
    }

    #[test]
    fn a_field_read_from_the_text_is_the_field_of_the_parsed_row() {
        let long = format!(r#"{{"m":"{}"}}"#, "é".repeat(60));
        let cases = [
            r#"{"m":"abc","n":1}"#,
            r#"{"n":[1,{"m":"inner"}],"m":"a\u00e9\"b\\c"}"#,
            r#"{"m":1}"#,
            r#"{"m":1e400}"#,
            r#"{"m":{"x":"y"}}"#,
            r#"{"m":["s"]}"#,
            r#"{"m":null,"x":"m"}"#,
            r#"{"m":true}"#,
            r#"{"m":"first","m":"second"}"#,
            r#"{"m":"first","m":2}"#,
            r#"{"a":{"m":"nested"}}"#,
            r#"{"M":"case"}"#,
            r#"{}"#,
            r#"{ "m" : "spaced" }"#,
            long.as_str(),
        ];
        for literal in cases {
            let row: Value = serde_json::from_str(literal).unwrap();
            assert_eq!(field_prefix(literal, "m"), Some(str_prefix(&row, "m")), "{literal}");
        }
        assert_eq!(field_prefix(&long, "m").unwrap().chars().count(), CLUSTER_PREFIX_CHARS);
        // what it cannot tell the row's parse decides
        assert_eq!(field_prefix(r#"{"$serde_json::private::Number":"1"}"#, "m"), None);
        assert_eq!(field_prefix(r#"{"m":"x","$serde_json::private::Number":"1"}"#, "m"), None);
        assert_eq!(field_prefix("[1]", "m"), None);
    }

    #[test]
    fn literal_offsets_count_escapes_as_one_char() {
        let lit = r#""a\n\u00e9\ud83d\ude00é b""#;
        assert_eq!(literal_offset(lit, 0), Some(1));
        assert_eq!(literal_offset(lit, 2), Some(4));
        assert_eq!(literal_offset(lit, 3), Some(10));
        assert_eq!(literal_offset(lit, 4), Some(22));
        assert_eq!(literal_offset(lit, 5), Some(24));
        assert_eq!(literal_offset(lit, 99), None);
    }

    #[test]
    fn long_strings_keep_their_head() {
        let long = "word ".repeat(600);
        let input = format!(r#"{{"name":"x","readme":"{long}"}}"#);
        let c = run(&input, None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        let r = out["readme"].as_str().unwrap();
        assert!(r.starts_with("word word") && r.contains("[ctxlens: 2,750 of 3,000 characters omitted; key="), "{r}");
        let d = &c.ledger.drops[0];
        assert_eq!(&input[d.span.bytes.clone()], &long[250..]);
    }

    #[test]
    fn a_kept_parse_gives_the_same_result() {
        let rows: Vec<String> =
            (0..300).map(|i| format!(r#"{{"id":{i},"level":"info","msg":"tick {}"}}"#, i * 7)).collect();
        let input = format!("[{}]", rows.join(","));
        let other = input.replace("tick", "tock");
        // a new input, the same again (its parse is kept), then from the kept parse
        let memo = Arc::new(Memo::default());
        let ctx = Context { memo: Some(memo.clone()), ..Context::default() };
        let p = JsonParams::default();
        let mut outs = Vec::new();
        for i in [&input, &input, &input, &other, &input] {
            outs.push(JsonEngine::compress(i, &p, &ctx).unwrap());
        }
        let key = fx_hash(&input);
        assert!(memo.get::<Parsed>(MEMO_PARSE, key).is_some(), "the parse was kept in the caller's memo");
        for o in [&outs[1], &outs[2], &outs[4]] {
            assert_eq!(o.output, outs[0].output);
            assert_eq!(o.ledger, outs[0].ledger);
        }
        assert!(outs[3].output.contains("tock") && !outs[3].output.contains("tick"));
        // without a memo nothing is kept anywhere
        assert_eq!(run(&input, None).output, outs[0].output);
    }

    #[test]
    fn rounds_half_to_even() {
        assert_eq!(round_half_even(4.5), 4);
        assert_eq!(round_half_even(2.25), 2);
        assert_eq!(round_half_even(5.5), 6);
    }

    #[test]
    fn keeps_error_rows_and_marks_the_rest() {
        let rows: Vec<String> = (0..100)
            .map(|i| {
                let level = if i == 67 { "FATAL" } else { "INFO" };
                format!(r#"{{"id":{i},"level":"{level}","msg":"processed batch {}"}}"#, i % 3)
            })
            .collect();
        let input = format!("[{}]", rows.join(","));
        let c = run(&input, None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        let arr = out.as_array().unwrap();
        assert!(arr.iter().any(|r| r["id"] == 67), "FATAL row kept");
        let marker = arr.last().unwrap()[MARKER_KEY].as_str().unwrap();
        assert!(marker.contains("of 100 rows omitted"), "{marker}");
        assert_eq!(c.ledger.markers.len(), 1);
        let dropped: usize = c.ledger.drops.iter().map(|d| d.count).sum();
        assert_eq!(dropped + arr.len() - 1, 100);
    }

    #[test]
    fn query_exact_match_survives_a_query_that_matches_everything() {
        let rows: Vec<String> =
            (1000..1200).map(|i| format!(r#"{{"job":{i},"status":"ok","msg":"processed batch"}}"#)).collect();
        let input = format!("[{}]", rows.join(","));
        let c = run(&input, Some("what happened to job 1173 in the latest batch"));
        let out: Value = serde_json::from_str(&c.output).unwrap();
        assert!(out.as_array().unwrap().iter().any(|r| r["job"] == 1173));
    }

    #[test]
    fn an_identifier_of_letters_and_digits_in_the_query_keeps_its_row() {
        // error rows alone fill the budget: a row named only by the query must still stay, in an
        // array parsed whole and in one read lean
        for n in [300, LEAN_ITEMS + 300] {
            let rows: Vec<String> = (0..n)
                .map(|i| {
                    let status = if i % 50 == 0 || i % 97 == 0 { "error" } else { "ok" };
                    format!(r#"{{"id":{i},"name":"user{i}","status":"{status}"}}"#)
                })
                .collect();
            let input = format!("[{}]", rows.join(","));
            let wanted = n - 57;
            let c = run(&input, Some(&format!("what about user{wanted}?")));
            let out: Value = serde_json::from_str(&c.output).unwrap();
            let names: Vec<&str> = out.as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
            assert!(names.contains(&format!("user{wanted}").as_str()), "{n} rows: user{wanted} dropped");
            assert!(names.len() < n / 2, "{n} rows: {} kept", names.len());
        }
        // an id or a number stands as a word of its own; a quoted string may sit anywhere
        assert!(holds_word("user170 user17 ok", "user17") && holds_word("user17", "user17"));
        assert!(
            !holds_word("user170", "user17") && !holds_word("x_user17", "user17") && !holds_word("éuser17", "user17")
        );
        assert!(holds_word("id order-77a1, ok", "order-77a1") && !holds_word("14243", "4243"));
        let ctx = Context { query: Some(r#"user17 and "connection re" at 4243"#.into()), ..Context::default() };
        let q = Query::new(&ctx);
        assert!(Hits::of("user17 ", &q).anchor && !Hits::of("user170 ", &q).anchor);
        assert!(Hits::of("no connection refused ", &q).anchor && !Hits::of("14243 ", &q).anchor);
    }

    /// Long arrays of every atom shape: numbers written every way, strings with escapes,
    /// non-ASCII, error words and long text, duplicates, empty containers, and mixes with objects
    /// and arrays.
    fn long_arrays() -> Vec<String> {
        let numbers = ["1E5", "-2.5e-3", "1e400", "-0", "0.10", "12345678901234567890123", "7"];
        let strings = [r#""ok""#, r#""a\"b\u00e9""#, r#""café — 😀""#, r#""error: boom""#, r#""tab\there""#];
        let pick = |i: usize, from: &[&str]| from[(i * 7 + i / 3) % from.len()].to_string();
        let n = LEAN_ITEMS + 300;
        let mut arrays = vec![
            (0..n).map(|i| (i * 37 % 1000).to_string()).collect::<Vec<_>>(),
            (0..n).map(|i| if i % 50 == 0 { pick(i, &numbers) } else { (i % 13).to_string() }).collect(),
            (0..n).map(|i| pick(i, &strings)).collect(),
            (0..n).map(|i| if i == 900 { format!("\"{}\"", "é".repeat(1500)) } else { pick(i, &strings) }).collect(),
            (0..n).map(|i| if i % 3 == 0 { pick(i, &strings) } else { i.to_string() }).collect(),
            (0..n)
                .map(|i| {
                    if i % 97 == 0 && i > LEAN_ITEMS {
                        format!(r#"{{"id":{i},"msg":"error {i}"}}"#)
                    } else {
                        i.to_string()
                    }
                })
                .collect(),
            (0..n).map(|i| if i == n - 1 { "[1,2]".to_string() } else { pick(i, &strings) }).collect(),
            (0..n).map(|i| ["true", "false", "null"][i % 3].to_string()).collect(),
            // empty containers are atoms, whitespace inside or not; one with something in it
            // late, or strings beside them, and the array is planned from values
            (0..n).map(|i| ["[]", "{}", "[ ]", "true", "{\n}"][i % 5].to_string()).collect(),
            (0..n).map(|i| if i == n - 1 { "[{}]".to_string() } else { ["[]", "{}"][i % 2].to_string() }).collect(),
            (0..n).map(|i| if i % 4 == 0 { pick(i, &strings) } else { "[]".to_string() }).collect(),
            // containers past item 1,024 stay beside a lean array's atoms: rows among empty
            // objects (all rows), arrays among booleans (all copies), rows, arrays, strings and
            // numbers together (groups), each with copies and a row whose long array is lean
            (0..n)
                .map(|i| match i {
                    _ if i < LEAN_ITEMS || i % 3 == 0 => "{}".to_string(),
                    _ if i % 5 == 0 => r#"{"id":1,"ok":true}"#.to_string(),
                    _ => format!(r#"{{"id":{},"tag":"t{}"}}"#, i % 40, i % 7),
                })
                .collect(),
            (0..n)
                .map(|i| if i > LEAN_ITEMS && i % 2 == 0 { format!("[{}]", i % 4) } else { "false".to_string() })
                .collect(),
            (0..n)
                .map(|i| match i % 6 {
                    _ if i < LEAN_ITEMS => pick(i, if i % 2 == 0 { &numbers } else { &strings }),
                    0 => format!(r#"{{"id":{},"msg":"{}"}}"#, i % 30, if i % 60 == 0 { "error" } else { "fine" }),
                    1 => "[1,[2]]".to_string(),
                    2 => {
                        format!("[{}]", (0..LEAN_ITEMS + 1).map(|j| (j % 3).to_string()).collect::<Vec<_>>().join(","))
                    }
                    3 => pick(i, &strings),
                    _ => pick(i, &numbers),
                })
                .collect(),
        ];
        // small containers (at most 7 atoms) from the first item on are left in the text too:
        // rows with an error and an anomaly; small arrays; copies written apart (keys in another
        // order, spaces) with escapes, exponents and a string long enough to be cut; every kind
        // with containers that are not small; unique rows, all kept, with spaces in them
        arrays.push(
            (0..n)
                .map(|i| match i {
                    700 => r#"{"id":7,"msg":"error: boom"}"#.to_string(),
                    900 => r#"{"id":9,"name":"u0","score":99}"#.to_string(),
                    _ => format!(r#"{{"id":{},"name":"u{}","score":0.{}}}"#, i % 50, i % 9, i % 10),
                })
                .collect(),
        );
        // rows of 256 bytes and more, hashed in the pass that reads them for their fields: copies
        // written alike and in another key order, an error row, a long string to cut
        let pad = "x".repeat(260);
        arrays.push(
            (0..n)
                .map(|i| match i % 7 {
                    _ if i == 1000 => format!(r#"{{"id":1000,"msg":"error: boom","pad":"{pad}"}}"#),
                    _ if i == 1100 => format!(r#"{{"id":1100,"msg":"{}","pad":"{pad}"}}"#, "é".repeat(1500)),
                    0 => format!(r#"{{"id":1,"msg":"same","pad":"{pad}"}}"#),
                    1 => format!(r#"{{ "pad" : "{pad}", "msg":"same","id":1}}"#),
                    _ => format!(r#"{{"id":{i},"msg":"m{}","pad":"{pad}"}}"#, i % 11),
                })
                .collect(),
        );
        arrays
            .push((0..n).map(|i| [r#"[{},"x",1E5]"#, r#"[ 1 , "a\"]" ]"#, "[0]", "[2]"][i % 4].to_string()).collect());
        arrays.push(
            (0..n)
                .map(|i| match i % 4 {
                    _ if i == 800 => format!(r#"{{"s":"{}","n":1E5}}"#, "é".repeat(1500)),
                    0 => r#"{"s":"a\"b\u00e9","n":2E1}"#.to_string(),
                    1 => "{ \"n\" : 2E1 ,\n \"s\" : \"a\\\"b\\u00e9\" }".to_string(),
                    2 => format!(r#"{{"n":-0,"s":"ok {}"}}"#, i % 30),
                    _ => r#"{"e":[],"o":{},"n":null}"#.to_string(),
                })
                .collect(),
        );
        arrays.push(
            (0..n)
                .map(|i| match i % 5 {
                    0 => format!(r#"{{"id":{},"ok":true}}"#, i % 7),
                    1 => format!("[{},[]]", i % 4),
                    2 => pick(i, &strings),
                    3 => pick(i, &numbers),
                    _ if i > LEAN_ITEMS => format!(r#"{{"big":[1,2,3,4,5,6,7,8,9],"id":{i}}}"#),
                    _ => r#"{"id":1}"#.to_string(),
                })
                .collect(),
        );
        arrays.push((0..n).map(|i| format!("{{ \"id\" : {i} ,\n \"name\" : \"user {i}\" }}")).collect());
        // rows that are not small from the first item on: a nested array in each, and wide
        // rows (map-like sometimes) whose kept ones are cut inside (a long array, a long string)
        arrays.push(
            (0..n)
                .map(|i| match i {
                    333 => r#"{"id":3,"a":[1],"msg":"Exception: boom"}"#.to_string(),
                    _ => format!(r#"{{"id":{},"a":[{}]}}"#, i % 200, i % 3),
                })
                .collect(),
        );
        let wide = |i: usize| (0..12).map(|k| format!(r#""k{k}":{}"#, (i + k) % 5)).collect::<Vec<_>>().join(",");
        let long = (0..20).map(|j| j.to_string()).collect::<Vec<_>>().join(",");
        arrays.push(
            (0..n)
                .map(|i| match i % 7 {
                    0 => format!(r#"{{"id":{i},"list":[{long}],"s":"{}"}}"#, "x".repeat(1200 + i % 2)),
                    1 => format!("{{{}}}", wide(i)),
                    _ => format!(r#"{{"id":{},"team":{{"name":"t{}","lead":{{"n":1}}}}}}"#, i % 40, i % 3),
                })
                .collect(),
        );
        arrays.push(vec!["\"same\"".to_string(); n]);
        // empty objects alone: their marker is an object, as a parsed array's is
        arrays.push(vec!["{}".to_string(); n]);
        arrays.into_iter().map(|items| format!("[{}]", items.join(","))).collect()
    }

    /// Marker keys hash the dropped bytes' place, which moves when the array is wrapped.
    fn without_keys(s: &str) -> String {
        Regex::new("key=[0-9a-f]{16}").unwrap().replace_all(s, "key=").into_owned()
    }

    /// The engine's result for `doc` parsed whole: as the first value of a JSON Lines stream,
    /// whose values are never parsed lean.
    fn run_whole(doc: &str, query: Option<&str>) -> Compressed {
        let mut c = run(&format!("{doc}\n0"), query);
        let first = c.output.lines().next().unwrap_or_default().len();
        c.output.truncate(first);
        c
    }

    /// `doc` (which holds a lean array) cut as it is and parsed whole: the same output, the same
    /// drops at the same bytes and the same notes.
    fn assert_cut_as_whole(doc: &str) {
        assert_eq!(parse(doc).unwrap().1, Form::LeanDocument);
        for query in [None, Some("boom")] {
            let lean = run(doc, query);
            let whole = run_whole(doc, query);
            assert_eq!(without_keys(&lean.output), without_keys(&whole.output), "{doc:.80}");
            // the same drops at the same bytes; the stream's pointers start at its value `/0`
            let drops = |c: &Compressed, value: &str| {
                let at = |d: &crate::ledger::Dropped| {
                    d.span.pointer.as_deref().map(|p| p.strip_prefix(value).unwrap().to_string())
                };
                c.ledger
                    .drops
                    .iter()
                    .map(|d| (d.count, d.reason.clone(), d.span.bytes.clone(), at(d)))
                    .collect::<Vec<_>>()
            };
            assert_eq!(drops(&lean, ""), drops(&whole, "/0"));
            // the notes name the array's place: the root, then the stream's first value
            let plans = |c: &Compressed| {
                c.notes.iter().map(|n| n.split_once(": ").map(|p| p.1.to_string())).collect::<Vec<_>>()
            };
            assert_eq!(plans(&lean), plans(&whole));
        }
    }

    /// Objects of 1,024 members or more (see `parse`): a map sampled, with error values, query
    /// matches in keys, escaped keys and long strings; a lockfile whose members hold a long
    /// array, a large object and arrays after the 1,024th member, with a long array after it; a
    /// map of maps; objects of mixed values, kept whole; and such objects as the rows of an
    /// array, alone, among other rows, copies of each other, among atoms, and among the small
    /// rows of a long array.
    fn large_objects() -> Vec<String> {
        let obj = |n: usize, member: &dyn Fn(usize) -> String| {
            format!("{{{}}}", (0..n).map(member).collect::<Vec<_>>().join(","))
        };
        let long_text = "a long text, é and more ".repeat(40);
        let flat = obj(3000, &|i| match i % 500 {
            7 => format!(r#""k{i}":"the disk failed: boom""#),
            11 => format!(r#""boom-{i}":"v{i}""#),
            13 => format!(r#""k{i}\"/~\u00e9":"{long_text}""#),
            _ => format!(r#""k{i}":"value {i}""#),
        });
        let package = |i: usize| match i {
            700 => format!(r#""node_modules/p{i}":{}"#, obj(1500, &|j| format!(r#""d{j}":{j}"#))),
            900 => format!(
                r#""node_modules/p{i}":{{"xs":[{}]}}"#,
                (0..2000).map(|j| j.to_string()).collect::<Vec<_>>().join(",")
            ),
            _ => format!(
                r#""node_modules/p{i}":{{"version":"1.{}.0","dev":{},"engines":[{}],"error":{}}}"#,
                i % 30,
                i.is_multiple_of(3),
                "\"node\",".repeat(i % 3).trim_end_matches(','),
                if i == 1800 { "\"boom\"" } else { "null" }
            ),
        };
        let lock = format!(
            r#"{{"name":"app","packages":{},"after":[{}]}}"#,
            obj(2000, &package),
            (0..1500).map(|i| format!(r#"{{"id":{i}}}"#)).collect::<Vec<_>>().join(",")
        );
        let maps = obj(1100, &|i| format!(r#""2024-{i}":{}"#, obj(3, &|j| format!(r#""v{j}":{}"#, i * j))));
        let mixed = obj(3000, &|i| match i % 4 {
            0 => format!(r#""k{i}":[{i},"s"]"#),
            1 => format!(r#""k{i}":{{"a":{i}E2}}"#),
            2 => format!(r#""k{i}":"{}""#, if i % 100 == 2 { long_text.as_str() } else { "x" }),
            _ => format!(r#""k{i}":null"#),
        });
        let small = (0..12).map(|i| format!(r#"{{"k{i}":"v","n":{i}}}"#)).collect::<Vec<_>>().join(",");
        // rows of more than 1 MB in all, read from their text each time a planner asks (see
        // `ItemRows`): lean objects, and rows whose long array and large object are walked
        let wide = |r: usize| {
            obj(3000, &|i| match i % 7 {
                0 => {
                    format!(r#""key{i}":{{"n":{},"e":"{}"}}"#, i * r, if r == 3 && i == 1234 { "failed" } else { "ok" })
                }
                _ => format!(r#""key{i}":"value {i} {}""#, "x".repeat((i * r) % 40)),
            })
        };
        let wide_rows = (0..12).map(wide).collect::<Vec<_>>().join(",");
        let numbers = (0..4000).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        let meta = |r: usize| match r {
            9 => obj(1500, &|i| format!(r#""m{i}":"{}""#, if i == 1200 { "it failed" } else { "fine" })),
            _ => obj(1500, &|i| format!(r#""m{i}":"fine""#)),
        };
        let page = |r: usize| format!(r#"{{"page":{r},"items":[{numbers}],"meta":{}}}"#, meta(r));
        let pages = (0..30).map(page).collect::<Vec<_>>().join(",");
        // a long array's items read back from the text: large objects among small rows
        let mut rows: Vec<String> = (0..1100).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
        (rows[3], rows[500], rows[1099]) = (mixed.clone(), maps.clone(), flat.clone());
        let long_rows = format!("[{}]", rows.join(","));
        // and one of more than 256 KB among them, which a planner reads whole (see `LeanRows`)
        rows[600] = obj(12_000, &|i| format!(r#""k{i}":"{}{i}""#, "x".repeat(i % 50)));
        vec![
            long_rows,
            format!("[{}]", rows.join(",")),
            format!("[{wide_rows}]"),
            format!("[{pages}]"),
            format!("[{flat}]"),
            format!("[{small},{maps},{small},{flat}]"),
            format!("[{}]", [maps.as_str(); 10].join(",")),
            format!(r#"[1,"a",null,{small},{mixed},[2],"b",{maps},true,3]"#),
            format!(r#"{{"a":{{"b":{mixed}}}}}"#),
            flat,
            lock,
            maps,
            mixed,
        ]
    }

    #[test]
    fn a_large_object_is_cut_as_a_whole_one_is() {
        for doc in large_objects() {
            assert_cut_as_whole(&doc);
        }
        // the map is sampled, its error values and the keys the query names kept
        // a page whose large object holds an error is kept, its members walked from the text
        let pages = large_objects().into_iter().find(|d| d.starts_with(r#"[{"page":0"#)).unwrap();
        let c = run(&pages, None);
        assert!(c.output.contains(r#""page":9,"#) && !c.output.contains(r#""page":11,"#), "{:.300}", c.output);
        let map = large_objects().into_iter().find(|d| d.starts_with(r#"{"k0":"#)).unwrap();
        let c = run(&map, Some("boom"));
        assert!(c.output.contains(r#""boom-11""#) && c.output.contains("the disk failed"), "{:.300}", c.output);
        assert!(c.ledger.drops.iter().any(|d| d.reason.starts_with("sampled out of a map-like object of 3000 keys")));
    }

    #[test]
    fn error_words_read_from_a_literal_are_those_of_its_value() {
        let mut seen = [0; 2];
        for literal in [
            r#"{"failed": "ok", "error": null, "errors": [1, 2]}"#,
            r#"{"msg" : "it failed"}"#,
            r#"["a", "b:", "x" , {"k" :"v"}]"#,
            r#"{"a":{"b":["ok","a fatal error"]}}"#,
            r#"["fa\u0069led"]"#,
            r#"{"fa\u0069led":"fine"}"#,
            r#"["\"failed\"", "ok"]"#,
            r#"{"k":"a: b", "error":"x"}"#,
            r#""an exception""#,
            "12",
            "[]",
        ] {
            let whole = mentions_error(&read_literal(literal).0);
            assert_eq!(literal_mentions_error(literal), whole, "{literal}");
            seen[usize::from(whole)] += 1;
        }
        // keys alone name no error; five values do
        assert_eq!(seen, [6, 5]);
    }

    #[test]
    fn a_lean_array_is_cut_as_a_whole_one_is() {
        for array in long_arrays() {
            // lean at the root, under a single-item array, and under a planned array of such
            // arrays (its items read whole to be compared: two differ only past item 1,024)
            let other = array.replacen('[', "[\"other\",", 1);
            let planned = format!("[{}]", [array.as_str(), &other].repeat(6).join(","));
            for doc in [array.clone(), format!("[[{array}]]"), planned] {
                assert_cut_as_whole(&doc);
            }
        }
    }

    #[test]
    fn pages_of_long_arrays_are_read_one_at_a_time_and_cut_as_whole_ones_are() {
        // 14 pages of 1,300 rows, more text than is read whole once for the page planner
        // (`READ_ONCE_BYTES`): each page is read whole when the planner asks for it. Pages 3 and
        // 9 are copies (keys in another order), 11 is 2 written alike, page 5 holds an error and
        // the rows vary by page.
        let page = |p: usize| {
            let p = if p == 11 { 2 } else { p };
            let rows: Vec<String> = (0..1300)
                .map(|i| match (p, i) {
                    (5, 600) => r#"{"id":600,"msg":"Exception: boom","tags":["x"]}"#.to_string(),
                    _ => format!(r#"{{"id":{i},"msg":"ok {} {}","tags":["t{}"]}}"#, i % 17, "·".repeat(i % 23), p % 4),
                })
                .collect();
            let (label, items) = (if p == 9 { 3 } else { p }, rows.join(","));
            if p == 9 {
                format!(r#"{{"items":[{items}],"page":{label}}}"#).replace(r#""tags":["t1"]"#, r#""tags":["t3"]"#)
            } else {
                format!(r#"{{"page":{label},"items":[{items}]}}"#)
            }
        };
        let pages: Vec<String> = (0..14).map(page).collect();
        assert!(pages.iter().map(String::len).sum::<usize>() > READ_ONCE_BYTES);
        let doc = format!("[{}]", pages.join(",\n"));
        assert_cut_as_whole(&doc);
        // and as the objects of a mixed array, planned as a group
        assert_cut_as_whole(&format!("[{},\"a string\",7,[]]", pages.join(",")));
        // the copies go, each as one, and the error page stays
        let c = run(&doc, None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        let kept: Vec<&Value> = out.as_array().unwrap().iter().filter_map(|p| p.get("page")).collect();
        assert!(kept.contains(&&Value::from(5)), "{kept:?}");
        let copies: Vec<&str> = c
            .ledger
            .drops
            .iter()
            .filter(|d| d.reason.starts_with("identical to an earlier item"))
            .filter_map(|d| d.span.pointer.as_deref())
            .collect();
        assert_eq!(copies, ["/9", "/11"], "{:?}", c.ledger.drops);
    }

    #[test]
    fn a_lean_json_lines_stream_is_cut_as_the_same_values_in_a_whole_array_are() {
        for array in long_arrays() {
            // the array's items, one a line, and the same items as an array parsed whole
            let tree = jsonspan::scan(&array, false).unwrap();
            let items: Vec<&str> = tree.children(tree.root()).map(|k| &array[tree.node(k).span()]).collect();
            let lines = items.join("\n");
            assert_eq!(parse(&lines).unwrap().1, Form::LeanLines);
            let doc = format!("[{}]", items.join(","));
            for query in [None, Some("boom")] {
                let lean = run(&lines, query);
                let whole = run_whole(&doc, query);
                let values: Vec<Value> =
                    without_keys(&lean.output).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
                let expect: Value = serde_json::from_str(&without_keys(&whole.output)).unwrap();
                assert_eq!(Value::Array(values), expect, "{lines:.80}");
                // the same drops, each a byte earlier (no `[`), at the same items
                let drops = |c: &Compressed, shift: usize, value: &str| {
                    let at = |d: &crate::ledger::Dropped| {
                        d.span.pointer.as_deref().map(|p| p.strip_prefix(value).unwrap().to_string())
                    };
                    let bytes = |d: &crate::ledger::Dropped| d.span.bytes.start + shift..d.span.bytes.end + shift;
                    c.ledger.drops.iter().map(|d| (d.count, d.reason.clone(), bytes(d), at(d))).collect::<Vec<_>>()
                };
                assert_eq!(drops(&lean, 1, ""), drops(&whole, 0, "/0"));
                let plans = |c: &Compressed| {
                    c.notes.iter().map(|n| n.split_once(": ").map(|p| p.1.to_string())).collect::<Vec<_>>()
                };
                assert_eq!(plans(&lean), plans(&whole));
            }
        }
    }

    #[test]
    fn a_map_of_lean_arrays_keeps_the_key_whose_array_holds_an_error() {
        let array = |error: bool| {
            let items: Vec<String> = (0..LEAN_ITEMS + 10)
                .map(|i| format!("\"{}\"", if error && i == 700 { "error: disk full" } else { "ok" }))
                .collect();
            format!("[{}]", items.join(","))
        };
        let members: Vec<String> = (0..70).map(|i| format!(r#""v1.{i}":{}"#, array(i == 33))).collect();
        let map = format!("{{{}}}", members.join(","));
        let lean = run(&map, None);
        assert!(lean.output.contains(r#""v1.33":"#), "{}", &lean.output[..300]);
        assert!(lean.notes.iter().any(|n| n.contains("map-like object")), "{:?}", lean.notes);
        let whole = run(&format!("[{map}]"), None);
        assert_eq!(format!("[{}]", without_keys(&lean.output)), without_keys(&whole.output));
    }

    #[test]
    fn a_lean_parse_leaves_long_arrays_items_in_the_text() {
        for array in long_arrays() {
            let doc = format!(r#"{{"meta":{{"n":[1,2,3]}},"data":{array},"rows":[{array}]}}"#);
            let (lean, form) = parse(&doc).unwrap();
            assert_eq!(form, Form::LeanDocument);
            // no item is a value; the lean tree finds each where the whole tree has it
            assert_eq!(lean["data"], Value::Array(Vec::new()));
            let (tree, lean_tree) = (jsonspan::scan(&doc, false).unwrap(), jsonspan::scan_lean(&doc).unwrap());
            let data = |t: &SpanTree| t.children(t.root()).nth(1).unwrap();
            let spans: Vec<_> = tree.children(data(&tree)).map(|k| tree.node(k).span()).collect();
            assert_eq!(lean_tree.lean_items(data(&lean_tree), &doc).collect::<Vec<_>>(), spans);
            assert!(spans.len() >= LEAN_ITEMS);
            // the array under an array is lean too; the short one stays whole
            assert_eq!(lean["rows"], serde_json::json!([[]]));
            let whole: Value = serde_json::from_str(&doc).unwrap();
            assert_eq!(lean["meta"], whole["meta"]);
        }
    }

    #[test]
    fn a_copy_of_a_sampled_out_item_is_named_a_copy_of_an_earlier_one() {
        // 0..99 thirty times: most first occurrences are sampled out, their copies go as copies
        let items: Vec<String> = (0..3000).map(|i| (i % 100).to_string()).collect();
        let c = run(&format!("[{}]", items.join(",")), None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        assert!(out.as_array().unwrap().len() < 100, "{}", c.output);
        let copies = c.ledger.drops.iter().filter(|d| d.reason.contains("dedup_identical_items"));
        assert!(copies.clone().count() > 0);
        assert!(copies.clone().all(|d| d.reason.starts_with("identical to an earlier item")), "{:?}", c.ledger.drops);
    }

    #[test]
    fn past_max_reason_runs_an_entry_covers_a_run_of_drops_and_counts_each_kind() {
        // a copy every fifth item: drops alternate between copies and sampled-out items
        let items = |n: usize| -> String {
            let v: Vec<String> = (0..n).map(|i| if i % 5 == 0 { "7".into() } else { (1000 + i).to_string() }).collect();
            format!("[{}]", v.join(","))
        };
        let few = run(&items(MAX_REASON_RUNS), None);
        assert!(few.ledger.drops.iter().all(|d| !d.reason.contains(';')), "{:?}", &few.ledger.drops[..3]);
        let n = 20 * MAX_REASON_RUNS;
        let text = items(n);
        let many = run(&text, None);
        let drops = &many.ledger.drops;
        let kept = serde_json::from_str::<Value>(&many.output).unwrap().as_array().unwrap().len() - 1;
        // one entry per gap between kept items, each counting its copies and its sampled items
        assert!(drops.len() <= kept + 1, "{} entries for {kept} kept", drops.len());
        assert_eq!(drops.iter().map(|d| d.count).sum::<usize>(), n - kept);
        let counted = |reason: &str, count: usize, what: &str| -> usize {
            match reason.find(what) {
                None => 0,
                Some(0) => count,
                Some(at) => reason[..at].trim_end().rsplit(' ').next().unwrap().parse().unwrap(),
            }
        };
        assert!(drops.iter().any(|d| d.reason.contains(';')));
        for d in drops {
            let first: usize = d.span.pointer.as_deref().unwrap()[1..].parse().unwrap();
            let copies = (first..first + d.count).filter(|i| i % 5 == 0 && *i > 0).count();
            assert_eq!(counted(&d.reason, d.count, "identical to an earlier item"), copies, "{}", d.reason);
            assert_eq!(counted(&d.reason, d.count, "sampled out"), d.count - copies, "{}", d.reason);
            assert_eq!(text[d.span.bytes.clone()].matches(',').count() + 1, d.count);
        }
    }

    #[test]
    fn compacted_paths_leave_room_for_as_many_again() {
        // all distinct but one: the next compaction must wait for as many pushes as are left
        let mut paths: Vec<u64> = Vec::with_capacity(4096);
        paths.extend((0..4095).chain([7]));
        assert_eq!(paths.len(), paths.capacity());
        compact_paths(&mut paths);
        assert_eq!(paths, (0..4095).collect::<Vec<u64>>());
        assert!(paths.capacity() - paths.len() >= paths.len());
    }

    #[test]
    fn a_page_walked_from_its_node_reads_as_the_page_read_whole() {
        let rows = |n: usize| -> String {
            let r: Vec<String> =
                (0..n).map(|i| format!(r#"{{"id":{i},"msg":"Row {i} OK","a":[{}]}}"#, i % 3)).collect();
            format!("[{}]", r.join(","))
        };
        let numbers = |n: usize| format!("[{}]", (0..n).map(|i| (i % 7).to_string()).collect::<Vec<_>>().join(","));
        let map: Vec<String> =
            (0..70).map(|i| format!(r#""v1.{i}":{}"#, if i == 3 { numbers(1024) } else { i.to_string() })).collect();
        let pages = [
            format!(r#"{{"page":1,"items":{}}}"#, rows(1100)),
            format!(r#"{{"page":2,"data":{{"rows":{},"n":1E5}},"error":{},"none":[]}}"#, rows(1030), numbers(1024)),
            format!(
                r#"{{"page":3,"items":[[1,2],{},{{"x":{}}}],"v":{{{}}}}}"#,
                numbers(1500),
                rows(1024),
                map.join(",")
            ),
        ];
        let doc = format!("[{}]", pages.join(","));
        let (mut v, form) = parse(&doc).unwrap();
        assert_eq!(form, Form::LeanDocument);
        let tree = Arc::new(jsonspan::scan_lean(&doc).unwrap());
        source_number_text(&mut v, &tree, &doc);
        let (p, ctx) = (JsonParams::default(), Context::default());
        let c = Crusher::new(&doc, Arc::clone(&tree), &p, &ctx);
        let walk = |row: &Value, within: Within| {
            let (mut text, mut paths, mut members) = (String::new(), Vec::new(), Vec::new());
            let hash = Walk { text: Some(&mut text), paths: Some(&mut paths), members: Some(&mut members) }
                .value(row, within, 0);
            paths.sort_unstable();
            paths.dedup();
            (hash, text, paths, members)
        };
        for (page, k) in v.as_array().unwrap().iter().zip(tree.children(tree.root())) {
            assert!(c.holds_lean(k));
            let whole = c.read_item(c.text_of(k));
            assert!(page.to_string().len() * 10 < c.text_of(k).len(), "the page is not lean: {page}");
            let (from_node, read_whole) = (walk(page, Within::Node(&tree, &c, k)), walk(&whole, Within::Whole));
            assert_eq!(from_node, read_whole);
            assert_eq!(read_whole.0, content_hash(&whole));
            assert_eq!(read_whole.2, row_paths(&whole));
            let members: Vec<u64> = whole.as_object().unwrap().values().map(content_hash).collect();
            assert_eq!(read_whole.3, members);
        }
        let first = tree.children(tree.root()).next().unwrap();
        assert!(walk(&v[0], Within::Node(&tree, &c, first)).1.ends_with(" 1099 row 1099 ok 1 "));
        // a lean array is not empty, though its value has no items; an empty one is
        let page2 = tree.children(tree.root()).nth(1).unwrap();
        let (error, none) = (tree.children(page2).nth(2).unwrap(), tree.children(page2).nth(3).unwrap());
        assert!(!Within::Node(&tree, &c, error).is_empty(&[]));
        assert!(Within::Node(&tree, &c, none).is_empty(&[]));
        // a large row of a long array that holds a long array of its own is read lean, and walks
        // the same; a smaller one is not
        let large = format!(r#"{{"page":4,"data":{{"rows":{},"n":1E5}},"error":{}}}"#, rows(12_000), numbers(1024));
        assert!(large.len() > BESIDE_ROW_BYTES);
        let small: Vec<String> = (0..LEAN_ITEMS + 10).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
        let doc = format!("[{},{},{large}]", small.join(","), pages[1]);
        let tree = jsonspan::scan_lean(&doc).unwrap();
        let c = Crusher::new(&doc, Arc::new(tree.clone()), &p, &ctx);
        let page = tree.lean_items(tree.root(), &doc).nth(LEAN_ITEMS + 10).unwrap();
        assert_eq!(&doc[page.clone()], pages[1]);
        assert!(c.read_lean(page).is_none());
        let row = tree.lean_items(tree.root(), &doc).last().unwrap();
        assert_eq!(&doc[row.clone()], large);
        let (lean, row_tree) = c.read_lean(row.clone()).unwrap();
        assert!(lean.to_string().len() * 10 < row.len());
        assert_eq!(
            walk(&lean, Within::Node(&row_tree, &c, row_tree.root())),
            walk(&c.read_item(&doc[row]), Within::Whole)
        );
        assert!(c.read_lean(tree.lean_items(tree.root(), &doc).next().unwrap()).is_none());
    }

    #[test]
    fn serde_json_s_reserved_key_is_named_and_passed_through() {
        let pad = (0..200).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
        for (key, value) in [
            ("$serde_json::private::Number", "\"12\""),
            ("$serde_json::private::Number", "\"abc\""),
            ("$serde_json::private::Numb\\u0065r", "\"12\""),
        ] {
            // in an object, and in a long array of rows, alone or inside a row, before its 1,024th
            // item and after it (past it, rows are left in the text: read when needed)
            let reserved = format!(r#"{{"{key}":{value}}}"#);
            let rows = |at: usize, row: &str| {
                let mut rows: Vec<String> = (0..LEAN_ITEMS + 100).map(|i| format!(r#"{{"id":{i},"b":[1]}}"#)).collect();
                rows[at] = row.to_string();
                format!("[{}]", rows.join(","))
            };
            let inside = format!(r#"{{"id":1,"b":[{reserved}]}}"#);
            for input in [
                format!(r#"{{"pad":[{pad}],"n":{reserved}}}"#),
                rows(3, &reserved),
                rows(LEAN_ITEMS + 50, &reserved),
                rows(LEAN_ITEMS + 50, &inside),
            ] {
                let at = input.find("\"$serde").unwrap();
                match JsonEngine::compress(&input, &JsonParams::default(), &Context::default()) {
                    Err(Skip::ParseFailed { detail }) => {
                        assert!(
                            detail.contains("keeps for itself") && detail.contains(&format!("byte {at}")),
                            "{detail}"
                        )
                    }
                    other => panic!("{key} in {input:.60}: {:?}", other.map(|c| c.output)),
                }
            }
        }
    }

    #[test]
    fn the_schema_cover_from_path_sets_chooses_as_reading_the_rows_does() {
        // rows of a few shapes, repeated, with rare keys late and copies between them
        let rows: Vec<Value> = (0..400)
            .map(|i| {
                let mut m = Map::new();
                m.insert("id".into(), Value::from(i % 97));
                if i % 7 == 3 {
                    m.insert(format!("rare{}", i % 5), Value::from(true));
                }
                if i % 11 == 0 {
                    m.insert("nested".into(), serde_json::json!({"a": [{"b": i % 3}], format!("k{}", i % 4): 1}));
                }
                Value::Object(m)
            })
            .collect();
        let copy: Vec<bool> = (0..400).map(|i| i >= 97 && i % 3 == 0).collect();
        for (kept_every, budget) in [(50, 3), (13, 40), (400, 400), (1, 5)] {
            let plan = || {
                let keep: Vec<bool> = (0..400).map(|i| i % kept_every == 0).collect();
                let why = keep.iter().map(|k| (!k).then_some(DropWhy::Sampled)).collect();
                KeepPlan { keep, why, summary: String::new() }
            };
            let mut held = PathSets::new(1 << 20);
            let mut let_go = PathSets::new(4);
            for r in &rows {
                held.add(row_paths(r));
                let_go.add(row_paths(r));
            }
            assert!(held.hold(400) && held.of(399).is_some() && !let_go.hold(400) && let_go.of(0).is_none());
            let (mut a, mut b) = (plan(), plan());
            let added = cover_schema(rows.as_slice(), &held, &mut a, &copy, budget);
            assert_eq!(added, cover_schema(rows.as_slice(), &let_go, &mut b, &copy, budget));
            assert_eq!((a.keep, a.why), (b.keep, b.why), "kept every {kept_every}, budget {budget}");
        }
    }

    /// Arrays in no array whose rows hold more members than a parse builds before it waits to be
    /// told whether the array is long: a long one, a short one before a long one, a short one
    /// alone.
    fn wide_rows_docs() -> [String; 3] {
        let wide = |n: usize| {
            let row = |i: usize| {
                let members: Vec<String> = (0..100).map(|k| format!(r#""f{k}":"{i},]}}""#)).collect();
                format!("{{{}}}", members.join(","))
            };
            (0..n).map(row).collect::<Vec<_>>().join(",\n")
        };
        [
            format!("[{}]", wide(LEAN_ITEMS + 2)),
            format!(r#"{{"a":[{}],"b":[{}]}}"#, wide(700), wide(LEAN_ITEMS)),
            format!("[{}]", wide(LEAN_ITEMS - 1)),
        ]
    }

    /// A short array whose first rows are large is read lean (none of its rows built) and cut as
    /// the engine cuts it from a whole parse (given through the memo, with a scan by count alone).
    #[test]
    fn a_short_array_of_large_rows_is_read_lean_and_cut_as_when_it_is_built() {
        let row = |i: usize| {
            let items: Vec<String> = (0..300).map(|j| format!(r#"{{"k":{j},"v":"s{}"}}"#, j % 9)).collect();
            let status = if i.is_multiple_of(7) { "error" } else { "ok" };
            format!(r#"{{"id":{i},"status":"{status}","n":1E{},"items":[{}]}}"#, i % 4, items.join(","))
        };
        for n in [jsonspan::SIZE_LEAN_ITEMS, 200] {
            let doc = format!(r#"{{"kind":"List","items":[{}]}}"#, (0..n).map(row).collect::<Vec<_>>().join(","));
            let (v, _, tree) = parse_and_scan(&doc).unwrap();
            assert_eq!(v["items"], Value::Array(Vec::new()), "none of its rows built");
            let tree = tree.unwrap();
            assert!(tree.node(tree.children(0).nth(1).unwrap()).lean);
            let (mut whole, _) = parse(&doc).unwrap();
            let by_count = Arc::new(jsonspan::scan_lean(&doc).unwrap());
            source_number_text(&mut whole, &by_count, &doc);
            assert_eq!(whole["items"].as_array().map(Vec::len), Some(n));
            let key = (fx_hash(&doc), doc.len());
            for query in [None, Some("error".to_string())] {
                let lean = JsonEngine::compress(
                    &doc,
                    &JsonParams::default(),
                    &Context { query: query.clone(), ..Context::default() },
                )
                .unwrap();
                let memo = Arc::new(crate::engine::api::Memo::default());
                let parsed = Parsed { key, value: whole.clone(), lines_mode: false, tree: by_count.clone() };
                memo.put(MEMO_PARSE, MEMO_PARSES, key.0, parsed);
                let ctx = Context { query, memo: Some(memo), ..Context::default() };
                let built = JsonEngine::compress(&doc, &JsonParams::default(), &ctx).unwrap();
                assert!(lean.output.len() < doc.len() / 2);
                assert_eq!((&lean.output, &lean.ledger, &lean.notes), (&built.output, &built.ledger, &built.notes));
            }
        }
    }

    #[test]
    fn a_parse_told_of_long_arrays_reads_as_one_not_told() {
        let rows = |n: usize| (0..n).map(|i| format!(r#"{{"id":{i},"v":[{i},"x"]}}"#)).collect::<Vec<_>>().join(",");
        let long = rows(LEAN_ITEMS + 40);
        let reserved = r#"{"$serde_json::private::Number":"abc"}"#;
        let with_reserved = |at: usize| {
            let mut r: Vec<String> = (0..LEAN_ITEMS + 40).map(|i| format!(r#"{{"id":{i}}}"#)).collect();
            r[at] = reserved.to_string();
            format!("[{}]", r.join(","))
        };
        for doc in [
            format!("[{long}]"),
            format!(r#"{{"a":[1,2],"b":[{long}],"c":{{"d":[[{long}],{long}]}},"e":[{long}]}}"#),
            format!(r#"{{"a":[{long}],"dup":{{"k":1,"k":2}}}}"#),
            format!(r#"[{long},{{"k":1,"k":2}}]"#),
            format!(r#"[{{"k":1,"k":2}},{long}]"#),
            format!("[{long}] trailing"),
            format!("[{long}"),
            long.clone(),
            with_reserved(3),
            with_reserved(40),
        ]
        .into_iter()
        .chain(wide_rows_docs())
        .chain(large_objects())
        {
            // the scan done before the parse starts: told at the earliest
            let told = jsonspan::LongArrays::default();
            let _ = jsonspan::scan_lean_telling(&doc, &told);
            let (alone, beside) = (parse(&doc), parse_beside(&doc, Some(&told)));
            match (&alone, &beside) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{doc:.80}"),
                // the reserved key fails a parse that builds its row, not one that checks it: the
                // engine names it either way (below)
                (Err(_), Ok(_)) if doc.contains(reserved) => {}
                _ => assert_eq!(format!("{alone:?}"), format!("{beside:?}"), "{doc:.80}"),
            }
        }
        // as the engine runs them, at once, on a text large enough to scan beside the parse; the
        // parse waits to be told about an array of many members (long or not)
        for doc in wide_rows_docs() {
            assert!(doc.len() > SCAN_BESIDE_BYTES);
            let (v, _, tree) = parse_and_scan(&doc).unwrap();
            assert_eq!(v, parse(&doc).unwrap().0, "{doc:.80}");
            assert!(tree.is_some());
        }
        let big: Vec<String> = (0..LEAN_ITEMS * 8).map(|i| format!(r#"{{"id":{i},"name":"row {i}"}}"#)).collect();
        for at in [3, 40, LEAN_ITEMS * 4] {
            let mut rows = big.clone();
            rows[at] = reserved.to_string();
            let input = format!("[{}]", rows.join(","));
            assert!(input.len() > SCAN_BESIDE_BYTES);
            match JsonEngine::compress(&input, &JsonParams::default(), &Context::default()) {
                Err(Skip::ParseFailed { detail }) => assert!(detail.contains("keeps for itself"), "{detail}"),
                other => panic!("reserved key at {at}: {:?}", other.map(|c| c.output.len())),
            }
        }
    }

    #[test]
    fn a_lone_surrogate_escape_is_named_as_such() {
        for bad in [r#"\ud800 x"#, r#"\uDBFF"#, r#"\udc00"#, r#"\ud800\u0041"#] {
            let rows: Vec<String> = (0..40).map(|i| format!(r#"{{"s":"{bad} {i}","t":"ok"}}"#)).collect();
            for input in [format!("[{}]", rows.join(",")), rows.join("\n")] {
                match JsonEngine::compress(&input, &JsonParams::default(), &Context::default()) {
                    Err(Skip::ParseFailed { detail }) => assert!(detail.contains("lone UTF-16 surrogate"), "{detail}"),
                    other => panic!("{bad}: {:?}", other.map(|c| c.output)),
                }
            }
        }
    }

    #[test]
    fn marker_statistics_of_numbers_near_f64_s_limits_stay_finite_and_short() {
        assert_eq!(fmt_num(1e308), "1e308");
        assert_eq!(fmt_num(-1.5e300), "-1.5e300");
        assert_eq!(fmt_num(0.00005), "5e-5");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(1234.0), "1234");
        let items = [vec!["1e308"; 30], vec!["1.5e308"; 30]].concat();
        let c = run(&format!("{{\"data\":[{}],\"pad\":\"x\"}}", items.join(",")), None);
        assert!(c.output.contains("min 1e308, max 1.5e308, mean 1.2"), "{}", c.output);
    }

    #[test]
    fn numbers_past_f64_s_range_are_the_marker_s_min_and_max_as_written() {
        // a short array (parsed) and a long one (lean), the big numbers among those dropped
        for n in [300, 2000] {
            let big = ["1e400", "-2E500", "3e450"];
            let items: Vec<String> =
                (0..n).map(|i| if i % 4 == 3 { i.to_string() } else { big[i % 4].to_string() }).collect();
            let c = run(&format!("{{\"data\":[{}],\"pad\":\"x\"}}", items.join(",")), None);
            assert!(c.output.contains("min -2E500, max 3e450)"), "{n}: {}", c.output);
        }
    }

    #[test]
    fn scalar_arrays_get_a_marker_with_stats() {
        let nums: Vec<String> = (0..60).map(|i| (i % 7).to_string()).collect();
        let input = format!(r#"{{"series":[{}],"note":"{}"}}"#, nums.join(","), "x".repeat(900));
        let c = run(&input, None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        let series = out["series"].as_array().unwrap();
        let marker = series.last().unwrap().as_str().unwrap();
        assert!(marker.starts_with("[ctxlens: ") && marker.contains("items omitted"), "{marker}");
        assert!(c.ledger.drops.iter().all(|d| d.span.pointer.as_deref().unwrap().starts_with("/series/")));
    }

    #[test]
    fn copies_of_arrays_booleans_and_nulls_collapse_as_other_items_do() {
        for item in ["[]", "null", "true", "[1]", "{}", "\"\"", "1"] {
            let input = format!("[{}]", vec![item; 2000].join(","));
            let c = run(&input, None);
            let out: Value = serde_json::from_str(&c.output).unwrap();
            let out = out.as_array().unwrap();
            assert_eq!(out.len(), 2, "{item}: {}", c.output);
            assert_eq!(out[0], serde_json::from_str::<Value>(item).unwrap(), "{item}");
            assert_eq!(c.ledger.drops.iter().map(|d| d.count).sum::<usize>(), 1999, "{item}");
            assert!(c.ledger.drops.iter().all(|d| d.reason.contains("identical")), "{item}: {:?}", c.ledger.drops);
        }
        // distinct arrays and a mixed array's booleans and nulls: only the copies go
        let rows: Vec<String> = (0..40).map(|i| format!("[{i},{}]", i % 3)).collect();
        let skip = JsonEngine::compress(&format!("[{}]", rows.join(",")), &JsonParams::default(), &Context::default());
        assert!(skip.is_err(), "distinct arrays are all kept, so the engine passes them through");
        let mixed: Vec<String> =
            (0..400).map(|i| if i % 2 == 0 { "null".into() } else { format!("\"s{i}\"") }).collect();
        let c = run(&format!("[{}]", mixed.join(",")), None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        assert_eq!(out.as_array().unwrap().iter().filter(|v| v.is_null()).count(), 1, "{}", c.output);
    }

    #[test]
    fn a_map_like_object_drops_runs_of_keys_in_document_order() {
        let time: Vec<String> =
            (0..200).map(|i| format!(r#""1.{i}.0":"2024-01-{:02}T10:00:00Z""#, i % 28 + 1)).collect();
        let input = format!(r#"{{"name":"x","time":{{{}}}}}"#, time.join(","));
        let c = run(&input, None);
        let out: Value = serde_json::from_str(&c.output).unwrap();
        let kept = out["time"].as_object().unwrap();
        assert!(kept.len() > 2 && kept.len() < 100, "{} keys kept", kept.len());
        let drops = &c.ledger.drops;
        assert!(drops.len() < kept.len() + 1, "one entry per run between kept keys, not per key: {}", drops.len());
        assert_eq!(drops.iter().map(|d| d.count).sum::<usize>() + kept.len() - 1, 200);
        let mut last_end = 0;
        for d in drops {
            assert!(d.span.bytes.start >= last_end, "document order");
            last_end = d.span.bytes.end;
            let text = &input[d.span.bytes.clone()];
            let first = d.span.pointer.as_deref().unwrap().strip_prefix("/time/").unwrap();
            assert!(text.starts_with(&format!("\"{first}\"")), "{text}");
            match &d.span.pointer_last {
                Some(last) => {
                    assert!(d.count > 1);
                    let last = last.strip_prefix("/time/").unwrap();
                    let last_member = text.rsplit(',').next().unwrap();
                    assert!(last_member.starts_with(&format!("\"{last}\"")), "{text}");
                    assert!(!kept.contains_key(first) && !kept.contains_key(last));
                }
                None => assert_eq!(d.count, 1),
            }
        }
    }

    #[test]
    fn numbers_keep_their_text() {
        let items: Vec<String> =
            (0..30).map(|i| format!(r#"{{"v":1.50,"big":123456789012345678901234567890,"i":{i}}}"#)).collect();
        let input = format!("[{}]", items.join(","));
        let c = run(&input, None);
        assert!(c.output.contains("1.50") && c.output.contains("123456789012345678901234567890"));
        // exponents as written in rows left in a lean array's text, in a row that holds a lean
        // array, and in items of a planned array that are read whole to be compared
        let long = (0..LEAN_ITEMS + 10).map(|i| (i % 5).to_string()).collect::<Vec<_>>().join(",");
        let rows: Vec<String> = (0..LEAN_ITEMS + 10)
            .map(|i| match i {
                0 | 1100 => format!(r#"{{"id":{i},"v":1E5,"inner":[{long}]}}"#),
                _ => format!(r#"{{"id":{i},"v":2E1,"w":[1]}}"#),
            })
            .collect();
        let planned: Vec<String> = (0..12).map(|i| format!(r#"{{"id":{i},"v":3E1,"inner":[{long}]}}"#)).collect();
        for input in [format!("[{}]", rows.join(",")), format!("[{}]", planned.join(","))] {
            let out = run(&input, None).output;
            assert!(!out.contains("e+"), "{out:.300}");
            assert!(out.contains("1E5") || out.contains("3E1"), "{out:.300}");
        }
    }

    #[test]
    fn reports_parse_failures() {
        let ctx = Context::default();
        let err = JsonEngine::compress("[1, 2, {\"a\":", &JsonParams::default(), &ctx).unwrap_err();
        assert_eq!(err.code(), "parse_failed");
        assert!(err.to_string().contains("truncated"), "{err}");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = JsonEngine::compress(&deep, &JsonParams::default(), &ctx).unwrap_err();
        assert!(err.to_string().contains("128 levels deep or more"), "{err}");
        // the limit is where the message puts it: 127 levels parse, 128 do not
        let nested = |n: usize| {
            format!("{}{}{}", "[".repeat(n), (0..300).map(|i| format!("{i},")).collect::<String>() + "0", "]".repeat(n))
        };
        assert!(JsonEngine::compress(&nested(127), &JsonParams::default(), &ctx).is_ok());
        let err = JsonEngine::compress(&nested(128), &JsonParams::default(), &ctx).unwrap_err();
        assert!(err.to_string().contains("128 levels deep or more"), "{err}");
    }

    #[test]
    fn json_lines_over_the_budget_are_counted_before_they_are_built() {
        let big = |i: usize| format!(r#"{{"id":{i},"pad":"{}"}}"#, "x".repeat(BESIDE_ROW_BYTES - 100));
        let small = |i: usize| format!(r#"{{"id":{i}}}"#);
        // three lines of 16 KB: within the budget, every value built, as whole; ten big ones:
        // past it, lean although fewer than LEAN_ITEMS (500 lines of 100 KB took 1.6 GB built
        // whole)
        let mid = |i: usize| format!(r#"{{"id":{i},"pad":"{}"}}"#, "x".repeat(LINES_READ_ONCE_BYTES / 4));
        let few: Vec<String> = (0..3).map(mid).collect();
        assert!(few.join("\n").len() <= LINES_READ_ONCE_BYTES);
        let (v, form) = parse(&few.join("\n")).unwrap();
        assert_eq!(form, Form::Lines);
        let whole: Vec<Value> = few.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(v, Value::Array(whole));
        let few: Vec<String> = (0..10).map(big).collect();
        assert_eq!(parse(&few.join("\n")).unwrap(), (Value::Array(Vec::new()), Form::LeanLines));
        // big lines first, then enough small ones: lean
        let many: Vec<String> = (0..LEAN_ITEMS + 5).map(|i| if i < 6 { big(i) } else { small(i) }).collect();
        assert_eq!(parse(&many.join("\n")).unwrap(), (Value::Array(Vec::new()), Form::LeanLines));
        // a key twice, or a cut value, after the budget is still found
        let mut twice = many.clone();
        twice[LEAN_ITEMS] = r#"{"id":1,"id":2}"#.to_string();
        assert!(matches!(parse(&twice.join("\n")), Err(Skip::ParseFailed { .. })), "a key twice");
        let cut = format!("{}\n{{\"id\":", many.join("\n"));
        assert!(parse(&cut).is_err());
        let cut_few = format!("{}\n{{\"id\":", few.join("\n"));
        assert!(parse(&cut_few).is_err());
        // one line over BESIDE_ROW_BYTES among a few: lean, each value read from the text when
        // asked for, the large one lean in its turn (eight lines of 7.7 MB took 1.7 GB built
        // whole)
        let rows: Vec<String> = (0..80_000).map(|i| format!(r#"{{"i":{i},"a":[{}]}}"#, i % 3)).collect();
        let huge = format!(r#"{{"id":99,"rows":[{}]}}"#, rows.join(","));
        let mixed: Vec<String> = (0..5).map(small).chain([huge.clone()]).chain((5..8).map(small)).collect();
        let text = mixed.join("\n") + "\n";
        assert!(huge.len() > BESIDE_ROW_BYTES && text.len() > LINES_READ_ONCE_BYTES);
        assert_eq!(parse(&text).unwrap(), (Value::Array(Vec::new()), Form::LeanLines));
        let out = run(&text, None).output;
        let lines: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), mixed.len(), "{out:.300}");
        for (l, o) in mixed.iter().zip(&lines) {
            if l.len() < 100 {
                assert_eq!(&serde_json::from_str::<Value>(l).unwrap(), o);
            }
        }
        assert!(
            lines[5]["rows"].as_array().is_some_and(|r| r.len() < 1000 && r[0] == serde_json::json!({"i":0,"a":[0]}))
        );
    }

    #[test]
    fn json_lines_stay_json_lines() {
        let lines: Vec<String> = (0..80).map(|i| format!(r#"{{"n":{i},"level":"info","msg":"tick"}}"#)).collect();
        let input = lines.join("\n") + "\n";
        let c = run(&input, None);
        for l in c.output.lines() {
            serde_json::from_str::<Value>(l).unwrap();
        }
        assert!(c.output.lines().last().unwrap().contains(MARKER_KEY));
        // what the marker gives back is the dropped lines, as JSON Lines; an array's is an array
        let payload = c.ledger.payload(&input, &c.ledger.markers[0]);
        let kept: Vec<&str> = c.output.lines().filter(|l| !l.contains(MARKER_KEY)).collect();
        let dropped: Vec<&str> = input.lines().filter(|l| !kept.contains(l)).collect();
        assert_eq!(payload.lines().collect::<Vec<_>>(), dropped);
        let array = run(&format!("[{}]", lines.join(",\n")), None);
        let payload = array.ledger.payload(&format!("[{}]", lines.join(",\n")), &array.ledger.markers[0]);
        assert_eq!(serde_json::from_str::<Value>(&payload).unwrap().as_array().unwrap().len(), dropped.len());
    }
}
