//! Retention: how much of what matters in an input is still in the output, measured on the two
//! texts alone (never from an engine's ledger or notes), per content type. Each measure is a
//! [`Metric`] (kept of total); a block's score is its weakest metric's share. The README's
//! "Retention" section defines every metric; `compress --retention-min` gates on the score.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::rc::Rc;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::engine::jsonspan::SpanTree;
use crate::engine::{EngineKind, code, json, jsonspan, lang, log, search, text};
use crate::outcome::Outcome;

/// One measure: how many of the input's items of one sort the output still has.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub kept: usize,
    pub total: usize,
    /// kept / total (1 when there is nothing to keep).
    pub share: f64,
    /// Whether the score counts this metric (leaf coverage is shown, not scored: see
    /// [`INFORMATIONAL`]).
    pub scored: bool,
}

impl Metric {
    fn new(name: &'static str, kept: usize, total: usize) -> Metric {
        let share = if total == 0 { 1.0 } else { kept.min(total) as f64 / total as f64 };
        Metric { name, kept: kept.min(total), total, share, scored: !INFORMATIONAL.contains(&name) }
    }
}

/// Metrics shown but not in the score: a JSON compressor exists to drop leaf values, so the
/// share of them kept says how much it cut, not whether it cut what matters.
const INFORMATIONAL: [&str; 1] = ["leaves"];

/// The metrics of a block (or of all the acted sections of an outcome), and their weakest share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retention {
    /// The lowest share among the metrics that have something to keep (leaf coverage aside, see
    /// [`INFORMATIONAL`]); 1 when none has.
    pub score: f64,
    pub metrics: Vec<Metric>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { score: 1.0, metrics: Vec::new() }
    }
}

impl Retention {
    fn of(metrics: Vec<Metric>) -> Retention {
        let score = metrics.iter().filter(|m| m.total > 0 && m.scored).map(|m| m.share).fold(1.0, f64::min);
        Retention { score, metrics }
    }

    /// Adds another block's metrics to these, metric by metric (kept and total summed).
    pub fn merge(&mut self, other: &Retention) {
        let mut metrics = std::mem::take(&mut self.metrics);
        for m in &other.metrics {
            match metrics.iter_mut().find(|x| x.name == m.name) {
                Some(x) => *x = Metric::new(m.name, x.kept + m.kept, x.total + m.total),
                None => metrics.push(m.clone()),
            }
        }
        *self = Retention::of(metrics);
    }

    /// `schema 0.98 · leaves 0.71 (not scored)`: each metric with something to keep, for one line
    /// of text.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .metrics
            .iter()
            .filter(|m| m.total > 0)
            .map(|m| format!("{} {:.2}{}", m.name, m.share, if m.scored { "" } else { " (not scored)" }))
            .collect();
        if parts.is_empty() { "nothing to keep".to_string() } else { parts.join(" · ") }
    }
}

/// Retention of each section of an outcome, in order: measured where an engine acted, complete
/// where the section passed through.
pub fn per_section(o: &Outcome, query: Option<&str>, path: Option<&str>) -> Vec<Retention> {
    o.sections
        .iter()
        .map(|s| {
            if !s.decision.acted() {
                return Retention::default();
            }
            let input = &o.original[s.bytes.clone()];
            let output = o.output.get(s.output_bytes.clone()).unwrap_or_default();
            measure(s.kind, input, output, query, path)
        })
        .collect()
}

/// Retention of a whole outcome: its sections' metrics merged.
pub fn of_outcome(o: &Outcome, query: Option<&str>, path: Option<&str>) -> Retention {
    let mut total = Retention::default();
    for r in per_section(o, query, path) {
        total.merge(&r);
    }
    total
}

/// Retention of `output` as a compression of `input`, by the measures of content type `kind`.
pub fn measure(kind: EngineKind, input: &str, output: &str, query: Option<&str>, path: Option<&str>) -> Retention {
    Retention::of(match kind {
        EngineKind::Json => json_metrics(input, output),
        EngineKind::Code => code_metrics(input, output, path),
        EngineKind::Log => log_metrics(input, output, query),
        EngineKind::Search => search_metrics(input, output, query),
        EngineKind::Diff => diff_metrics(input, output),
        EngineKind::Prose => prose_metrics(input, output),
    })
}

fn hash_of(parts: &[&str]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    parts.hash(&mut h);
    h.finish()
}

// -------------------------------------------------------------------------------------------------
// JSON

/// A JSON document, or a JSON Lines stream as an array of its values (the JSON engine's parse),
/// with the span tree of its text: a long array's items are read from the text (see
/// [`json::parse`]). Parsed as the engine parses, with the scan beside the parse telling it which
/// arrays are long: parsed alone, a long array's first 1,023 items were all built before it
/// turned lean (1,023 rows of 15 KB took 440 MB).
struct Doc<'t> {
    value: Value,
    text: &'t str,
    tree: Arc<SpanTree>,
}

fn parse_json(text: &str) -> Option<Doc<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (value, _, tree) = json::parse_and_scan(text).ok()?;
    let tree = match tree {
        Some(t) => t,
        None => Arc::new(jsonspan::scan_lean(text).ok()?),
    };
    Some(Doc { value, text, tree })
}

/// What [`walk`] meets in a document, with its paths: the schema path (array indices as `[]`,
/// the keys of a map-like object as one `*`) and the leaf path (keys as they are).
enum Met<'v> {
    /// An object whose keys count as one `*`, at this schema path.
    Map(&'v str),
    /// An object member's schema path.
    Key(&'v str),
    /// A scalar, at this leaf path.
    Leaf(&'v str, &'v Value),
    /// A scalar a lean parse left in the text, at this leaf path (see [`literal_leaf_hash`]).
    Literal(&'v str, &'v str),
}

/// Walks every value of `doc` (an explicit stack, for any depth). `star` says which objects are
/// maps, from the object and its schema path. A lean array's items are read from the text, a
/// container parsed whole, one at a time; a large one that holds a long array or a large object
/// of its own is parsed lean (see [`json::parse_lean_at`]: whole, 7 MB of it took 350 MB). Paths are shared
/// (`Rc`): the items of an array all have one, made once.
fn walk(doc: &Doc, star: Star, f: &mut dyn FnMut(Met)) {
    walk_value(&doc.value, Some(&doc.tree), doc.text, (Rc::from(""), Rc::from("")), star, f);
}

/// Whether an object's keys count as one `*`, from whether it is map-like (asked only when
/// needed) and its schema path.
type Star<'s> = &'s dyn Fn(&dyn Fn() -> bool, &str) -> bool;

fn walk_value(
    root: &Value,
    tree: Option<&SpanTree>,
    text: &str,
    paths: (Rc<str>, Rc<str>),
    star: Star,
    f: &mut dyn FnMut(Met),
) {
    // (value, its node in the tree when there is one, its schema path, its leaf path)
    let mut stack: Vec<(&Value, usize, Rc<str>, Rc<str>)> = vec![(root, 0, paths.0, paths.1)];
    while let Some((v, node, schema, leaf)) = stack.pop() {
        match v {
            Value::Array(items) => {
                let (schema, leaf): (Rc<str>, Rc<str>) =
                    (Rc::from(format!("{schema}/[]")), Rc::from(format!("{leaf}/[]")));
                let mut ids = tree.into_iter().flat_map(|t| t.children(node));
                for item in items {
                    let id = ids.next().unwrap_or(0);
                    stack.push((item, id, schema.clone(), leaf.clone()));
                }
                let Some(t) = tree else { continue };
                for span in t.lean_items(node, text) {
                    walk_literal(text, span, (schema.clone(), leaf.clone()), star, f);
                }
            }
            Value::Object(map) => {
                let lean = tree.filter(|t| t.node(node).lean && t.node(node).kind == jsonspan::NodeKind::Object);
                let like = || match lean {
                    Some(t) => json::lean_map_like(t, node, text),
                    None => json::map_like(map),
                };
                let keys_as: Option<Rc<str>> = star(&like, &schema).then(|| Rc::from(format!("{schema}/*")));
                if keys_as.is_some() {
                    f(Met::Map(&schema));
                }
                // a member's (schema, leaf) paths; none for a marker's key
                let paths = |k: &str| {
                    let key_path = keys_as.clone().unwrap_or_else(|| Rc::from(format!("{schema}/{k}")));
                    (!k.starts_with(json::MARKER_KEY)).then(|| (key_path, Rc::<str>::from(format!("{leaf}/{k}"))))
                };
                // a lean object's members are read from the text, as a lean array's items are
                for (key, span) in lean.into_iter().flat_map(|t| t.lean_members(node, text)) {
                    let Some(paths) = paths(&json::scalar_text(&text[key]).unwrap_or_default()) else { continue };
                    f(Met::Key(&paths.0));
                    walk_literal(text, span, paths, star, f);
                }
                let mut ids = tree.into_iter().flat_map(|t| t.children(node));
                for (k, item) in map {
                    let id = ids.next().unwrap_or(0);
                    let Some((key_path, leaf_path)) = paths(k) else { continue };
                    f(Met::Key(&key_path));
                    stack.push((item, id, key_path, leaf_path));
                }
            }
            scalar => f(Met::Leaf(&leaf, scalar)),
        }
    }
}

/// Walks the value a lean parse left in the text at `span`, with its `paths`: a scalar as its
/// literal, a container parsed whole, or lean when it is large and holds a long array or a large
/// object (see [`json::parse_lean_at`]).
fn walk_literal(
    text: &str,
    span: std::ops::Range<usize>,
    paths: (Rc<str>, Rc<str>),
    star: Star,
    f: &mut dyn FnMut(Met),
) {
    let literal = &text[span.clone()];
    if !jsonspan::has_items(literal) {
        f(Met::Literal(&paths.1, literal));
    } else if let Some((item, item_tree)) = json::parse_lean_at(text, span) {
        walk_value(&item, Some(&item_tree), text, paths, star, f);
    } else if let Ok(item) = serde_json::from_str::<Value>(literal) {
        walk_value(&item, None, text, paths, star, f);
    }
}

/// The schema paths of the map-like objects of a document (see [`json::map_like`]): their keys
/// are data, and count as one `*`.
fn map_paths(doc: &Doc) -> HashSet<String> {
    let mut maps = HashSet::new();
    walk(doc, &|like, _| like(), &mut |met| {
        if let Met::Map(at) = met {
            maps.insert(at.to_string());
        }
    });
    maps
}

/// The key paths (array indices as `[]`, the keys of an object at a path in `maps` as `*`) and
/// the (path, scalar text) leaves of a document, as hashes.
struct Shape {
    paths: HashSet<u64>,
    leaves: Hashes,
}

/// A set of hashes as a sorted vector without repeats: 8 bytes a hash, where a hash set of a
/// million leaves took 28 MB while it grew. Repeats are dropped each time the vector is full,
/// so it holds at most twice the distinct hashes.
#[derive(Default)]
struct Hashes(Vec<u64>);

impl Hashes {
    fn insert(&mut self, h: u64) {
        if self.0.len() == self.0.capacity() {
            self.settle();
        }
        self.0.push(h);
    }

    fn settle(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// How many hashes of `self` are in `other` (both settled).
    fn common(&self, other: &Hashes) -> usize {
        self.0.iter().filter(|h| other.0.binary_search(h).is_ok()).count()
    }
}

/// A leaf's hash: its path and its scalar's text (a string's own text, a number's digits as the
/// parse gives them).
fn leaf_hash(path: &str, scalar: &Value) -> u64 {
    let text = match scalar {
        Value::String(s) => s.as_str(),
        Value::Number(n) => n.as_str(),
        Value::Bool(true) => "true",
        Value::Bool(false) => "false",
        _ => "null",
    };
    hash_of(&[path, text])
}

/// [`leaf_hash`] of a scalar left in the text by a lean parse, from its literal. A number is read
/// as the parse reads one, so `1E5` hashes as the parsed `1e+5` of the other side does.
fn literal_leaf_hash(path: &str, literal: &str) -> Option<u64> {
    if literal.starts_with(['[', '{']) {
        // an empty container: no leaf, as a parsed one has none
        return None;
    }
    if literal.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        let n: serde_json::Number = serde_json::from_str(literal).ok()?;
        return Some(hash_of(&[path, n.as_str()]));
    }
    Some(hash_of(&[path, &json::scalar_text(literal)?]))
}

fn shape(doc: &Doc, maps: &HashSet<String>) -> Shape {
    let mut out = Shape { paths: HashSet::new(), leaves: Hashes::default() };
    walk(doc, &|_, at| maps.contains(at), &mut |met| match met {
        Met::Map(_) => {}
        Met::Key(path) => {
            out.paths.insert(hash_of(&[path]));
        }
        Met::Leaf(leaf, scalar) => out.leaves.insert(leaf_hash(leaf, scalar)),
        Met::Literal(leaf, literal) => {
            if let Some(h) = literal_leaf_hash(leaf, literal) {
                out.leaves.insert(h);
            }
        }
    });
    out.leaves.settle();
    out
}

fn json_metrics(input: &str, output: &str) -> Vec<Metric> {
    let Some(before) = parse_json(input) else { return Vec::new() };
    // map-like objects are found on the input, so a sampled map collapses the same way
    let maps = map_paths(&before);
    let a = shape(&before, &maps);
    drop(before);
    let b = parse_json(output).map(|v| shape(&v, &maps));
    let (paths, leaves) = match &b {
        Some(b) => (a.paths.intersection(&b.paths).count(), a.leaves.common(&b.leaves)),
        // an output that does not parse keeps nothing anyone can read back
        None => (0, 0),
    };
    vec![Metric::new("schema", paths, a.paths.len()), Metric::new("leaves", leaves, a.leaves.0.len())]
}

// -------------------------------------------------------------------------------------------------
// Code

/// Named type-level definitions: the code engine's (classes, structs, traits, interfaces),
/// and Go's `type` and Rust's `mod`, which it does not look for inside bodies.
fn type_definition(kind: &str) -> bool {
    code::is_type_definition(kind) || matches!(kind, "type_declaration" | "mod_item")
}

fn code_metrics(input: &str, output: &str, path: Option<&str>) -> Vec<Metric> {
    // a numbered listing's definitions are those of its code (found in the output as substrings,
    // after their numbers)
    let listing = text::listing_of(input).map(|l| l.body);
    let input = listing.as_deref().unwrap_or(input);
    let Some((lang, _)) = lang::detect(input, path) else { return Vec::new() };
    let functions = lang.function_kinds();
    let mut signatures: Vec<&str> = Vec::new();
    // a large source is read in the parts the code engine cuts it in, one syntax tree at a time
    for part in code::parts(input) {
        let part = &input[part];
        let Some(tree) = lang::parse(lang, part) else { return Vec::new() };
        signatures.extend(definitions(part, &tree, functions));
    }
    // one pass over the output for every signature (a search per signature grows with their product)
    let unique: Vec<&str> = signatures.iter().copied().collect::<HashSet<_>>().into_iter().collect();
    let mut found = vec![false; unique.len()];
    if let Ok(ac) = aho_corasick::AhoCorasick::new(&unique) {
        for m in ac.find_overlapping_iter(output) {
            found[m.pattern().as_usize()] = true;
        }
    }
    let found: HashSet<&str> = unique.iter().zip(&found).filter(|(_, f)| **f).map(|(s, _)| *s).collect();
    let kept = signatures.iter().filter(|s| found.contains(**s)).count();
    vec![Metric::new("signatures", kept, signatures.len())]
}

/// The first line of each named definition in `source` (as `tree` parsed it).
fn definitions<'a>(source: &'a str, tree: &tree_sitter::Tree, functions: &[&str]) -> Vec<&'a str> {
    let mut signatures = Vec::new();
    // the depth of the anonymous callback the walk is inside, if any
    let mut callback: Option<usize> = None;
    lang::walk(tree.root_node(), |node, up| {
        if callback.is_some_and(|depth| up.len() <= depth) {
            callback = None;
        }
        let kind = node.kind();
        if functions.contains(&kind) || type_definition(kind) {
            let parent = up.last();
            // a definition is named by its own `name`, or by what it is assigned to
            // (`const f = () => …`, `exports.f = function …`, `{ f: function … }`)
            let named =
                if node.child_by_field_name("name").is_some() || node.child_by_field_name("declarator").is_some() {
                    Some(node)
                } else {
                    parent.copied().filter(|p| code::named_by_parent(Some(p)) || p.kind() == "public_field_definition")
                };
            // what an anonymous callback defines inside itself (`.then(() => ({ next: … }))`)
            // is nobody's API
            if let Some(n) = named.filter(|_| callback.is_none()) {
                let first = source[n.byte_range()].lines().next().unwrap_or_default().trim();
                if !first.is_empty() {
                    signatures.push(first);
                }
            }
            if callback.is_none() && functions.contains(&kind) && code::is_callback(node, parent) {
                callback = Some(up.len());
            }
        }
        lang::Step::Into
    });
    signatures
}

// -------------------------------------------------------------------------------------------------
// Logs

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s+(?:at \S|File ".*", line \d+|\d+: \S|\S+\.go:\d+)|^\s+\.\.\. \d+ more"#).expect("frame regex")
});
static MARKED_FRAMES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([\d,]+) (?:stack[- ]trace lines|frames?)").expect("marked frames regex"));

fn lines_of(text: &str) -> HashSet<&str> {
    text.lines().map(str::trim_end).collect()
}

fn log_metrics(input: &str, output: &str, query: Option<&str>) -> Vec<Metric> {
    let kept_lines = lines_of(output);
    // judged as a terminal shows the line (colour codes, progress bars), found as written
    let mut errors: HashSet<&str> = HashSet::new();
    let mut frames: Vec<&str> = Vec::new();
    for l in input.lines().map(str::trim_end) {
        let shown = text::as_shown(l);
        if FRAME.is_match(&shown) {
            frames.push(l);
        } else if log::classify(&shown).is_error() {
            errors.insert(l);
        }
    }
    let errors_kept = errors.iter().filter(|l| kept_lines.contains(**l)).count();
    let frames_kept = frames.iter().filter(|l| kept_lines.contains(**l)).count();
    let counted: usize = output
        .lines()
        .filter(|l| l.contains("[ctxlens:"))
        .flat_map(|l| MARKED_FRAMES.captures_iter(l).filter_map(|c| c[1].replace(',', "").parse::<usize>().ok()))
        .sum();
    let mut metrics = vec![
        Metric::new("errors", errors_kept, errors.len()),
        Metric::new("frames", frames_kept + counted, frames.len()),
    ];
    metrics.extend(query_lines(input, output, query));
    metrics
}

// -------------------------------------------------------------------------------------------------
// Search results

static RESULT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(.+?)[:-](\d+)[:-]").expect("result regex"));

fn search_metrics(input: &str, output: &str, query: Option<&str>) -> Vec<Metric> {
    let mut files: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for l in input.lines() {
        if let Some(c) = RESULT.captures(l)
            && let Some(f) = c.get(1).map(|m| m.as_str())
            && seen.insert(f)
        {
            files.push(f);
        }
    }
    // a file is named when its path is in the output: whole, after the prefix all share, or after
    // a directory line that groups files (`tokio/src/util/` then `rand.rs:12:…`, as Headroom's
    // lossless search fold writes them)
    let prefix = search::common_dir(&files).len();
    let dirs: Vec<&str> = output.lines().map(str::trim).filter(|l| l.ends_with('/') && !l.contains(':')).collect();
    let under_dir = |f: &str| dirs.iter().any(|d| f.strip_prefix(d).is_some_and(|rest| output.contains(rest)));
    let named = files.iter().filter(|f| output.contains(**f) || output.contains(&f[prefix..]) || under_dir(f)).count();
    let mut metrics = vec![Metric::new("files", named, files.len())];
    metrics.extend(query_lines(input, output, query));
    metrics
}

/// The share of the input's lines holding the whole query (case aside) that the output keeps.
fn query_lines(input: &str, output: &str, query: Option<&str>) -> Option<Metric> {
    let q = query.map(str::trim).filter(|q| !q.is_empty())?.to_lowercase();
    let kept_lines = lines_of(output);
    let hits: Vec<&str> = input.lines().map(str::trim_end).filter(|l| l.to_lowercase().contains(q.as_str())).collect();
    let kept = hits.iter().filter(|l| kept_lines.contains(**l)).count();
    Some(Metric::new("query_lines", kept, hits.len()))
}

// -------------------------------------------------------------------------------------------------
// Diffs

static HUNK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@").expect("hunk regex"));

/// The files a diff touches, by their `diff --git` or `+++`/`---` headers.
fn diff_files(text: &str) -> Vec<String> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for l in text.lines() {
        let name = if let Some(rest) = l.strip_prefix("diff --git ") {
            rest.rsplit_once(" b/").map(|(_, b)| b.to_string())
        } else if let Some(rest) = l.strip_prefix("+++ ").or_else(|| l.strip_prefix("--- ")) {
            let path = rest.split('\t').next().unwrap_or_default().trim();
            (path != "/dev/null").then(|| path.trim_start_matches("b/").trim_start_matches("a/").to_string())
        } else {
            None
        };
        if let Some(n) = name.filter(|n| !n.is_empty())
            && seen.insert(n.clone())
        {
            files.push(n);
        }
    }
    files
}

/// Hunks whose header counts match their body, out of all hunks: what `git apply --check` needs
/// of a patch before it looks at the files.
/// Each hunk of `text`: its header line, and whether its header's counts match its lines.
fn hunks(text: &str) -> Vec<(&str, bool)> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(c) = HUNK.captures(l) else { continue };
        let count = |g: usize| c.get(g).map_or(Some(1), |m| m.as_str().parse::<usize>().ok());
        let (Some(mut old), Some(mut new)) = (count(1), count(2)) else {
            out.push((l, false));
            continue;
        };
        while old > 0 || new > 0 {
            let Some(body) = lines.next_if(|b| b.starts_with([' ', '-', '+', '\\']) || b.is_empty()) else { break };
            match body.as_bytes().first() {
                Some(b'-') => old = old.wrapping_sub(1),
                Some(b'+') => new = new.wrapping_sub(1),
                Some(b'\\') => {}
                _ => {
                    old = old.wrapping_sub(1);
                    new = new.wrapping_sub(1);
                }
            }
            if old > usize::MAX / 2 || new > usize::MAX / 2 {
                break;
            }
        }
        out.push((l, old == 0 && new == 0));
    }
    out
}

/// How many of the output's hunks apply, of how many: a hunk whose header already lied in the
/// input (same header, counts that do not match there either) is not held against the engine.
fn consistent_hunks(input: &str, output: &str) -> (usize, usize) {
    let broken: HashSet<&str> = hunks(input).into_iter().filter(|(_, ok)| !ok).map(|(h, _)| h).collect();
    let out = hunks(output);
    let ok = out.iter().filter(|(h, ok)| *ok || broken.contains(h)).count();
    (ok, out.len())
}

fn diff_metrics(input: &str, output: &str) -> Vec<Metric> {
    let files = diff_files(input);
    let named = files.iter().filter(|f| output.contains(f.as_str())).count();
    let (ok, total) = consistent_hunks(input, output);
    vec![Metric::new("files", named, files.len()), Metric::new("hunks_apply", ok, total)]
}

// -------------------------------------------------------------------------------------------------
// Prose

fn prose_metrics(input: &str, output: &str) -> Vec<Metric> {
    fn counts(s: &str) -> HashMap<&str, usize> {
        let mut m: HashMap<&str, usize> = HashMap::new();
        for w in s.split_whitespace().filter(|w| text::is_detail_word(w)) {
            *m.entry(w.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '`' | '!' | '?')))
                .or_default() += 1;
        }
        m
    }
    let (before, after) = (counts(input), counts(output));
    let total: usize = before.values().sum();
    let kept: usize = before.iter().map(|(w, n)| (*n).min(after.get(w).copied().unwrap_or(0))).sum();
    vec![Metric::new("must_keep", kept, total)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_schema_and_leaves() {
        let input = r#"{"name": "x", "deps": {"a": "1"}, "rows": [{"id": 1}, {"id": 2}]}"#;
        let r = measure(EngineKind::Json, input, input, None, None);
        assert_eq!(r.score, 1.0);
        let r = measure(EngineKind::Json, input, r#"{"name": "x", "rows": [{"id": 1}]}"#, None, None);
        let schema = &r.metrics[0];
        // paths: /name /deps /deps/a /rows /rows/[]/id; the output has 3
        assert_eq!((schema.kept, schema.total), (3, 5));
        let leaves = &r.metrics[1];
        assert_eq!((leaves.kept, leaves.total), (2, 4));
        assert_eq!(r.score, 0.6, "leaf coverage is shown, not scored");
        assert_eq!(measure(EngineKind::Json, input, "not json", None, None).score, 0.0);
    }

    #[test]
    fn a_lean_arrays_leaves_hash_as_parsed_ones_do() {
        for literal in [
            "1E5",
            "-2.5e-3",
            "1e400",
            "-0",
            "0.10",
            "123456789012345678901234567890",
            r#""a\"b""#,
            r#""é😀""#,
            "true",
            "null",
        ] {
            let parsed: Value = serde_json::from_str(literal).unwrap();
            assert_eq!(literal_leaf_hash("/[]", literal), Some(leaf_hash("/[]", &parsed)), "{literal}");
        }
        // a long array is parsed lean, at the root or under another array; the scores agree
        // with the same array parsed whole, as a JSON Lines value (one more leaf: the `0`)
        // small containers among them are read from their text too
        let items: Vec<String> = (0..3000)
            .map(|i| match i % 5 {
                0 => format!("\"s{i}\""),
                1 if i > 2000 => format!(r#"{{"a":{i},"b":[],"c":"x{i}"}}"#),
                2 if i > 2000 => format!(r#"[{i}, "y{i}"]"#),
                _ => format!("{i}E1"),
            })
            .collect();
        let array = format!("[{}]", items.join(","));
        let kept = format!("[{},{}]", items[..1500].join(","), items[2900..].join(","));
        let lean = measure(EngineKind::Json, &array, &kept, None, None);
        let nested = measure(EngineKind::Json, &format!("[{array}]"), &format!("[{kept}]"), None, None);
        let whole = measure(EngineKind::Json, &format!("{array}\n0"), &format!("{kept}\n0"), None, None);
        let leaves = |r: &Retention| r.metrics.iter().find(|m| m.name == "leaves").map(|m| (m.kept, m.total));
        // 3,000 items, 400 of them small containers of two leaves each; 1,640 leaves kept
        assert_eq!(leaves(&lean), Some((1640, 3400)));
        assert_eq!(leaves(&nested), Some((1640, 3400)));
        assert_eq!(leaves(&whole), Some((1641, 3401)));
        let schema = |r: &Retention| r.metrics.iter().find(|m| m.name == "schema").map(|m| (m.kept, m.total));
        assert_eq!(schema(&lean), Some((3, 3)));
        assert_eq!(schema(&nested), schema(&lean));
        assert_eq!(schema(&whole), schema(&lean));
    }

    #[test]
    fn a_large_objects_members_are_read_from_the_text_with_the_same_scores() {
        // an object of 1,024 members or more is parsed lean; the same object as a
        // JSON Lines value is parsed whole (one more leaf: the `0`). A map collapses its keys to
        // `*` either way; an object of mixed values keeps them
        let map: Vec<String> = (0..2000).map(|i| format!(r#""v{i}":{{"at":"{i}E1","n":[{i}]}}"#)).collect();
        let mixed: Vec<String> = (0..2000)
            .map(|i| if i % 2 == 0 { format!(r#""k{i}":{i}E1"#) } else { format!(r#""k{i}":["s{i}"]"#) })
            .collect();
        let kept = |m: &[String]| format!(r#"{{"name":"x","m":{{{},{}}}}}"#, m[..3].join(","), m[1990..].join(","));
        let doc = |m: &[String]| format!(r#"{{"name":"x","m":{{{}}}}}"#, m.join(","));
        let leaves = |r: &Retention| r.metrics.iter().find(|m| m.name == "leaves").map(|m| (m.kept, m.total));
        let schema = |r: &Retention| r.metrics.iter().find(|m| m.name == "schema").map(|m| (m.kept, m.total));
        // key paths of the map: `/name`, `/m`, `/m/*`, `/m/*/at`, `/m/*/n`, all kept; of the mixed
        // object: the first two and each key (13 kept)
        for (members, leaves_each, schema_kept) in [(&map, 2, (5, 5)), (&mixed, 1, (2 + 13, 2 + 2000))] {
            let (doc, kept) = (doc(members), kept(members));
            assert_eq!(json::parse(&doc).unwrap().1, json::Form::LeanDocument);
            let lean = measure(EngineKind::Json, &doc, &kept, None, None);
            let whole = measure(EngineKind::Json, &format!("{doc}\n0"), &format!("{kept}\n0"), None, None);
            assert_eq!(leaves(&lean), Some((1 + 13 * leaves_each, 1 + 2000 * leaves_each)));
            assert_eq!(leaves(&whole), Some((2 + 13 * leaves_each, 2 + 2000 * leaves_each)));
            assert_eq!(schema(&lean), Some(schema_kept));
            assert_eq!(schema(&whole), schema(&lean));
        }
    }

    #[test]
    fn a_lean_arrays_large_item_is_read_lean_with_the_same_scores() {
        // an item of more than BESIDE_ROW_BYTES that holds a long array is parsed lean; the same
        // item in a short array is parsed with the document
        let numbers: Vec<String> = (0..80_000).map(|i| format!("{}E1", i % 7)).collect();
        let big = format!(r#"{{"rows":[{}],"name":"big"}}"#, numbers.join(","));
        assert!(big.len() > json::BESIDE_ROW_BYTES);
        let small = |n: usize| (0..n).map(|i| format!(r#"{{"id":{i}}}"#)).collect::<Vec<_>>().join(",");
        let kept = format!("[{},{}]", small(5), r#"{"rows":[0E1],"name":"big"}"#);
        let leaves = |r: &Retention| r.metrics.iter().find(|m| m.name == "leaves").map(|m| (m.kept, m.total));
        let schema = |r: &Retention| r.metrics.iter().find(|m| m.name == "schema").map(|m| (m.kept, m.total));
        let long = measure(EngineKind::Json, &format!("[{},{big}]", small(1100)), &kept, None, None);
        let short = measure(EngineKind::Json, &format!("[{},{big}]", small(10)), &kept, None, None);
        // ids, the seven numbers, the name; five ids, one number and the name kept
        assert_eq!(leaves(&long), Some((7, 1108)));
        assert_eq!(leaves(&short), Some((7, 18)));
        assert_eq!(schema(&long), Some((3, 3)));
        assert_eq!(schema(&short), schema(&long));
    }

    #[test]
    fn a_sampled_map_loses_no_schema_but_its_leaves() {
        let time: serde_json::Map<String, Value> =
            (0..20).map(|i| (format!("1.{i}.0"), Value::String(format!("2024-01-{i:02}")))).collect();
        let input = serde_json::json!({"name": "p", "time": time}).to_string();
        let kept: serde_json::Map<String, Value> = time.iter().take(5).map(|(k, v)| (k.clone(), v.clone())).collect();
        let output = serde_json::json!({"name": "p", "time": kept, "_ctxlens_omitted": "[ctxlens: …]"}).to_string();
        let r = measure(EngineKind::Json, &input, &output, None, None);
        assert_eq!(r.metrics[0].share, 1.0, "{r:?}");
        assert_eq!((r.metrics[1].kept, r.metrics[1].total), (6, 21));
    }

    #[test]
    fn a_map_of_maps_collapses_at_every_level() {
        let dates = |n: usize| -> serde_json::Map<String, Value> {
            (0..n).map(|d| (format!("2024-01-{d:02}"), Value::from(d))).collect()
        };
        let outer = |n: usize, inner: usize| -> serde_json::Map<String, Value> {
            (0..n).map(|v| (format!("1.{v}.0"), Value::Object(dates(inner)))).collect()
        };
        let input = serde_json::json!({"v": outer(10, 10)}).to_string();
        let output = serde_json::json!({"v": outer(3, 2)}).to_string();
        let r = measure(EngineKind::Json, &input, &output, None, None);
        // /v, /v/*, /v/*/*
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (3, 3), "{r:?}");
    }

    #[test]
    fn code_signatures() {
        let input = "def a(x):\n    return x\n\nclass B:\n    def c(self):\n        pass\n";
        let output = "def a(x):\n    ...\n\nclass B:\n    # [ctxlens: …]\n";
        let r = measure(EngineKind::Code, input, output, None, Some("m.py"));
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (2, 3));
    }

    #[test]
    fn log_errors_and_frames() {
        let input = "INFO start\nERROR boom\nTraceback (most recent call last):\n  File \"a.py\", line 1, in x\nValueError: bad\nINFO end\n";
        let output = "ERROR boom\n[ctxlens: 3 lines omitted; key=k]\nINFO end\n";
        let r = measure(EngineKind::Log, input, output, None, None);
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (1, 2), "{r:?}");
        assert_eq!((r.metrics[1].kept, r.metrics[1].total), (0, 1));
    }

    #[test]
    fn search_files_named_after_a_common_prefix_and_query_lines() {
        let input = "src/a/x.rs:1:fn CookieError\nsrc/a/y.rs:2:fn other\nsrc/b/z.rs:3:fn CookieError\n";
        let output = "src/a/x.rs:1:fn CookieError\n[ctxlens: also a/y.rs (1), b/z.rs (1)]\n";
        let r = measure(EngineKind::Search, input, output, Some("cookieerror"), None);
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (3, 3), "{r:?}");
        assert_eq!((r.metrics[1].kept, r.metrics[1].total), (1, 2));
        // grouped under directory lines
        let input = "t/src/util/a.rs:1:fn new\nt/src/util/b.rs:2:fn new\nt/src/io/c.rs:3:fn new\n";
        let grouped = "t/src/util/\na.rs:1:fn new\nb.rs:2:fn new\nt/src/io/\nc.rs:3:fn new\n";
        let r = measure(EngineKind::Search, input, grouped, None, None);
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (3, 3), "{r:?}");
        let r = measure(EngineKind::Search, input, "t/src/util/\na.rs:1:fn new\n", None, None);
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (1, 3), "{r:?}");
    }

    #[test]
    fn diff_files_and_hunks() {
        let input = "diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n a\n-b\n+c\ndiff --git a/g.py b/g.py\n--- a/g.py\n+++ b/g.py\n@@ -1 +1 @@\n-x\n+y\n";
        let r = measure(EngineKind::Diff, input, input, None, None);
        assert_eq!(r.score, 1.0, "{r:?}");
        let broken = "diff --git a/f.py b/f.py\n--- a/f.py\n+++ b/f.py\n@@ -1,2 +1,2 @@\n a\n-b\n";
        let r = measure(EngineKind::Diff, input, broken, None, None);
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (1, 2));
        assert_eq!((r.metrics[1].kept, r.metrics[1].total), (0, 1));
    }

    #[test]
    fn prose_must_keep_items() {
        let input = "Do not run v2.1 on /srv/data, call parse_config() or readFile never.";
        let r = measure(EngineKind::Prose, input, "Do run on /srv/data, call parse_config()", None, None);
        // not, v2.1, /srv/data, parse_config(), readFile, never
        assert_eq!((r.metrics[0].kept, r.metrics[0].total), (2, 6), "{r:?}");
    }

    #[test]
    fn merging_sums_each_metric() {
        let mut a = Retention::of(vec![Metric::new("files", 1, 2)]);
        a.merge(&Retention::of(vec![Metric::new("files", 2, 2), Metric::new("errors", 0, 0)]));
        assert_eq!((a.metrics[0].kept, a.metrics[0].total), (3, 4));
        assert_eq!(a.score, 0.75);
    }
}
