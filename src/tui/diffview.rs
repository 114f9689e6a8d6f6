//! The side-by-side model of one block: original and compressed aligned by line, word-level
//! emphasis inside changed lines, dropped lines told apart by whether a marker accounts for them,
//! long unchanged runs folded. Built off the draw thread; drawing only reads it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;
use std::time::{Duration, Instant};

use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

use crate::ledger::MARKER_RE;

/// Lines of context kept around a change before an unchanged run folds.
pub const CONTEXT: usize = 3;

/// How a line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Same,
    /// Dropped, and a marker in the output accounts for it.
    Dropped,
    /// Dropped with no marker anywhere near: silent loss.
    Silent,
    /// A marker line in the output.
    Marker,
    /// A line only the output has (a recomputed header, a re-serialised value).
    Added,
    /// A line changed in place; its segments carry word-level emphasis.
    Changed,
}

/// A piece of a line, emphasised when it is what changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Seg {
    pub text: SegText,
    pub emph: bool,
}

/// A segment's text: a stretch of the side it shows, shared with it (a row of an unchanged or
/// dropped line holds no copy of its line: 200,000 rows of a big block held a second copy of it),
/// or text of its own (a changed line's pieces).
#[derive(Clone)]
pub struct SegText {
    text: Arc<str>,
    start: u32,
    end: u32,
}

impl SegText {
    /// `part` of `side`, shared when it lies in it within offsets a `u32` holds, else copied.
    fn of(side: &Arc<str>, part: &str) -> SegText {
        let start = (part.as_ptr() as usize).wrapping_sub(side.as_ptr() as usize);
        let end = start.wrapping_add(part.len());
        match (u32::try_from(start), u32::try_from(end)) {
            (Ok(a), Ok(b)) if end <= side.len() && side.get(start..end).is_some() => {
                SegText { text: side.clone(), start: a, end: b }
            }
            _ => SegText::from(part),
        }
    }
}

impl Deref for SegText {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text[self.start as usize..self.end as usize]
    }
}

impl From<&str> for SegText {
    fn from(s: &str) -> SegText {
        SegText { text: Arc::from(s), start: 0, end: s.len() as u32 }
    }
}

impl From<String> for SegText {
    fn from(s: String) -> SegText {
        SegText::from(s.as_str())
    }
}

impl PartialEq for SegText {
    fn eq(&self, other: &SegText) -> bool {
        **self == **other
    }
}

impl fmt::Debug for SegText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// One side of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// 1-based line number on its side.
    pub line: usize,
    pub segs: Vec<Seg>,
    pub mark: Mark,
}

impl Cell {
    pub fn text(&self) -> String {
        self.segs.iter().map(|s| &*s.text).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub left: Option<Cell>,
    pub right: Option<Cell>,
}

/// A run of unchanged rows that can fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    /// Rows hidden when folded (the run minus its context).
    pub rows: Range<usize>,
    pub tokens: usize,
}

/// Every row of a block and its foldable runs.
#[derive(Debug, Clone, Default)]
pub struct DiffModel {
    pub rows: Vec<Row>,
    pub folds: Vec<Fold>,
    pub left_lines: usize,
    pub right_lines: usize,
}

/// What a drawn line is: a row, or a folded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    Row(usize),
    Fold(usize),
}

fn is_marker_line(line: &str) -> bool {
    MARKER_RE.is_match(line) || crate::store::headroom::MARKER_RE.is_match(line) || OMITTED_RE.is_match(line)
}

/// A compressor's own note of what it left out, with no key (`[783 lines omitted: 3 ERROR, …]`).
static OMITTED_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^\s*\[\d[\d,]* [a-z ]{0,40}(?:omitted|elided|compressed)\b").expect("omitted regex")
});

fn strip_nl(s: &str) -> &str {
    s.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(s)
}

/// A line of `side` as one plain segment.
fn plain(side: &Arc<str>, line: &str) -> Vec<Seg> {
    vec![Seg { text: SegText::of(side, strip_nl(line)), emph: false }]
}

/// Word-level segments of an old and a new line.
fn inline(old: &str, new: &str) -> (Vec<Seg>, Vec<Seg>) {
    let (old, new) = (strip_nl(old), strip_nl(new));
    if old.len() + new.len() > 4000 {
        return (vec![Seg { text: old.into(), emph: true }], vec![Seg { text: new.into(), emph: true }]);
    }
    let d = TextDiff::configure().timeout(Duration::from_millis(20)).diff_words(old, new);
    // pieces as (text, emphasised), merged while they come
    type Pieces = Vec<(String, bool)>;
    let (mut l, mut r): (Pieces, Pieces) = (Vec::new(), Vec::new());
    let push = |v: &mut Pieces, t: &str, emph: bool| match v.last_mut() {
        Some(last) if last.1 == emph => last.0.push_str(t),
        _ => v.push((t.to_string(), emph)),
    };
    for c in d.iter_all_changes() {
        let t = c.value();
        match c.tag() {
            ChangeTag::Equal => {
                push(&mut l, t, false);
                push(&mut r, t, false);
            }
            ChangeTag::Delete => push(&mut l, t, true),
            ChangeTag::Insert => push(&mut r, t, true),
        }
    }
    let segs = |v: Pieces| v.into_iter().map(|(text, emph)| Seg { text: text.into(), emph }).collect();
    (segs(l), segs(r))
}

/// Whether two lines are versions of each other (shown as one changed line, not a drop and an add).
/// Deterministic, whatever the machine's load: the same pair always gets the same answer.
fn alike(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end(), b.trim_end());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if !short.is_empty() && long.starts_with(short) {
        return true;
    }
    // a line kept with its middle cut (`…[926 chars elided]…`) or a word changed: what the two
    // share at both ends is most of the shorter one
    let prefix = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let suffix = a.bytes().rev().zip(b.bytes().rev()).take_while(|(x, y)| x == y).count();
    if (prefix + suffix).min(short.len()) * 2 > short.len() {
        return true;
    }
    // short lines: a full character diff, no time limit (at most 512 bytes a side)
    long.len() <= 512 && TextDiff::configure().algorithm(Algorithm::Myers).diff_chars(a, b).ratio() > 0.5
}

/// Whether every item of the shorter of two JSON lines is on the longer, in order: a packed
/// array's line that kept some of its items, laid out along its original line (see
/// `pretty::Ask::breaks`), faces that line.
fn kept_items(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    fn item(w: &str) -> &str {
        w.trim_end_matches(',')
    }
    let mut on_long = long.split_whitespace().map(item);
    let mut items = short.split_whitespace().map(item).peekable();
    items.peek().is_some() && items.all(|w| on_long.any(|x| x == w))
}

/// Which of `lines` lines the 1-based inclusive `ranges` cover, as a table indexed by line number
/// (entries 0 and `lines + 1` stay false).
fn line_flags(ranges: &[(usize, usize)], lines: usize) -> Vec<bool> {
    let mut t = vec![false; lines + 2];
    for &(a, b) in ranges {
        for flag in t.iter_mut().take(b.min(lines) + 1).skip(a) {
            *flag = true;
        }
    }
    t
}

/// Builds the model. `dropped` lists the original's line ranges (1-based, inclusive) that a ledger
/// drop covers; `None` means there is no ledger (a recorded compression), so a drop counts as
/// marked only when its hunk has a marker line. `removed` are the ranges drops remove entirely:
/// they are shown as dropped without being diffed, so a 1 MB block that keeps a tenth of its lines
/// only aligns that tenth against the output.
pub fn build(
    left: &Arc<str>,
    right: &Arc<str>,
    dropped: Option<&[(usize, usize)]>,
    removed: &[(usize, usize)],
    left_tokens: &[u32],
) -> DiffModel {
    let all: Vec<&str> = left.split_inclusive('\n').collect();
    let new: Vec<&str> = right.split_inclusive('\n').collect();
    // which original lines a ledger drop covers, and which it removes
    let covered = line_flags(dropped.unwrap_or_default(), all.len());
    let gone = line_flags(removed, all.len());
    // the original lines left to align, by their 0-based index in `all`
    let kept: Vec<usize> = (0..all.len()).filter(|&i| !gone[i + 1]).collect();
    let old: Vec<&str> = kept.iter().map(|&i| all[i]).collect();
    let deadline = Instant::now() + Duration::from_millis(400);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Patience, &old, &new, Some(deadline));
    let in_ledger = |line: usize| covered.get(line).copied().unwrap_or(false);
    let left_cell = |k: usize, segs: Vec<Seg>, mark: Mark| Cell { line: kept[k] + 1, segs, mark };
    let json = left.trim_start().starts_with(['{', '[']);
    // sized for the lines aligned here: the lines drops remove come in `with_removed`
    let mut rows: Vec<Row> = Vec::with_capacity(old.len() + new.len() / 8);
    for op in ops {
        let (o, n) = (op.old_range(), op.new_range());
        match op {
            DiffOp::Equal { .. } => {
                for k in 0..o.len() {
                    rows.push(Row {
                        left: Some(left_cell(o.start + k, plain(left, old[o.start + k]), Mark::Same)),
                        right: Some(Cell {
                            line: n.start + k + 1,
                            segs: plain(right, new[n.start + k]),
                            mark: Mark::Same,
                        }),
                    });
                }
            }
            _ => {
                let has_marker = new[n.clone()].iter().any(|l| is_marker_line(l));
                let drop_mark = |k: usize| {
                    let marked = if dropped.is_some() { in_ledger(kept[k] + 1) } else { has_marker };
                    if marked { Mark::Dropped } else { Mark::Silent }
                };
                // Pair similar lines as changed; the rest stand alone.
                // an output line with nothing beside it, by its 0-based index in the op
                let added = |j: usize, b: &str| {
                    let mark = if is_marker_line(b) { Mark::Marker } else { Mark::Added };
                    Row { left: None, right: Some(Cell { line: n.start + j + 1, segs: plain(right, b), mark }) }
                };
                let (mut i, mut j) = (0, 0);
                loop {
                    let ol = (i < o.len()).then(|| old[o.start + i]);
                    let nl = (j < n.len()).then(|| new[n.start + j]);
                    // the side with more lines left goes first
                    let row = match (ol, nl) {
                        (None, None) => break,
                        (Some(a), Some(b)) if !is_marker_line(b) && (alike(a, b) || json && kept_items(a, b)) => {
                            let (ls, rs) = inline(a, b);
                            let row = Row {
                                left: Some(left_cell(o.start + i, ls, Mark::Changed)),
                                right: Some(Cell { line: n.start + j + 1, segs: rs, mark: Mark::Changed }),
                            };
                            (i, j) = (i + 1, j + 1);
                            row
                        }
                        (Some(_), Some(b)) if o.len() - i < n.len() - j => {
                            j += 1;
                            added(j - 1, b)
                        }
                        (None, Some(b)) => {
                            j += 1;
                            added(j - 1, b)
                        }
                        (Some(a), _) => {
                            let cell = left_cell(o.start + i, plain(left, a), drop_mark(o.start + i));
                            i += 1;
                            Row { left: Some(cell), right: None }
                        }
                    };
                    rows.push(row);
                }
            }
        }
    }
    if dropped.is_none() {
        account_by_nearby_markers(&mut rows, json);
    }
    let rows = with_removed(rows, left, &all, &gone);
    let folds = folds(&rows, left_tokens);
    DiffModel { rows, folds, left_lines: all.len(), right_lines: new.len() }
}

/// Builds the model of an output that keeps every original line in its place (the prose engine
/// cuts words inside lines and empties lines, and adds its markers after the last line): line N
/// faces line N, so no alignment can pair a line with the wrong one. A changed or emptied line is a
/// drop when a ledger drop covers it, else silent loss; output lines past the original's end are
/// markers or additions.
pub fn build_in_place(left: &Arc<str>, right: &Arc<str>, dropped: &[(usize, usize)], left_tokens: &[u32]) -> DiffModel {
    let all: Vec<&str> = left.split_inclusive('\n').collect();
    let new: Vec<&str> = right.split_inclusive('\n').collect();
    let covered = line_flags(dropped, all.len());
    let lost = |line: usize| if covered[line] { Mark::Dropped } else { Mark::Silent };
    let mut rows = Vec::with_capacity(all.len().max(new.len()));
    for k in 0..all.len().max(new.len()) {
        let cell = |line: usize, segs: Vec<Seg>, mark: Mark| Some(Cell { line, segs, mark });
        let row = match (all.get(k), new.get(k)) {
            (Some(a), Some(b)) if strip_nl(a) == strip_nl(b) => {
                Row { left: cell(k + 1, plain(left, a), Mark::Same), right: cell(k + 1, plain(right, b), Mark::Same) }
            }
            // an emptied line: the original's words all went
            (Some(a), Some(b)) if strip_nl(b).trim().is_empty() => {
                Row { left: cell(k + 1, plain(left, a), lost(k + 1)), right: None }
            }
            (Some(a), Some(b)) => {
                let (ls, rs) = inline(a, b);
                let mark = if covered[k + 1] { Mark::Changed } else { Mark::Silent };
                Row { left: cell(k + 1, ls, mark), right: cell(k + 1, rs, Mark::Changed) }
            }
            (Some(a), None) => Row { left: cell(k + 1, plain(left, a), lost(k + 1)), right: None },
            (None, Some(b)) => {
                let mark = if is_marker_line(b) { Mark::Marker } else { Mark::Added };
                Row { left: None, right: cell(k + 1, plain(right, b), mark) }
            }
            (None, None) => break,
        };
        rows.push(row);
    }
    let folds = folds(&rows, left_tokens);
    DiffModel { rows, folds, left_lines: all.len(), right_lines: new.len() }
}

/// Without a ledger (a recorded compression), a run of dropped lines is accounted for when a marker
/// stands near it: in pretty-printed JSON, anywhere in the run's container (an array's items, an
/// object's keys); elsewhere, anywhere between the run before it and the run after it. Compressors put
/// their marker where they like (Headroom ends a JSON array with one, after the items it kept), so
/// only a run no marker stands beside counts as silent loss. A marker that keeps the whole original
/// (Headroom's `… Retrieve more: hash=…]`, whose CCR entry is the whole input) accounts for every run.
fn account_by_nearby_markers(rows: &mut [Row], json: bool) {
    let dropped =
        |r: &Row| r.right.is_none() && r.left.as_ref().is_some_and(|c| matches!(c.mark, Mark::Silent | Mark::Dropped));
    let mut runs: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        if dropped(&rows[i]) {
            let start = i;
            while i < rows.len() && dropped(&rows[i]) {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    let marker = |r: &Row| r.right.as_ref().is_some_and(|c| c.mark == Mark::Marker);
    // Headroom's `[N lines compressed to M. Retrieve more: hash=…]` (and the code compressor's
    // `# [S tokens compressed. … Retrieve more: hash=…]`) keeps the whole original
    let whole = rows.iter().any(|r| {
        r.right.as_ref().is_some_and(|c| {
            c.mark == Mark::Marker
                && (c.text().contains(" compressed to ") || c.text().contains("Retrieve more: hash="))
        })
    });
    // the indentation of each row (its original side, else its output side), and its markers so
    // far, to ask "any marker between rows a and b" at once
    let indents: Vec<usize> = rows
        .iter()
        .map(|r| {
            let t = r.left.as_ref().or(r.right.as_ref()).map(|c| c.text()).unwrap_or_default();
            t.len() - t.trim_start_matches([' ', '\t']).len()
        })
        .collect();
    let mut before = vec![0usize; rows.len() + 1];
    for (i, r) in rows.iter().enumerate() {
        before[i + 1] = before[i] + usize::from(marker(r));
    }
    let markers_in = |a: usize, b: usize| before[b] - before[a] > 0;
    // a marker in the same indented container (a JSON array's items, a nested block) as the run,
    // with nothing less indented between them; runs of one container share it, so each container
    // is walked once per depth, not once per run
    let inside = |i: usize, depth: usize| indents[i] >= depth || marker(&rows[i]);
    let mut containers: HashMap<usize, Range<usize>> = HashMap::new();
    let mut in_container = |run: &Range<usize>| {
        let depth = indents[run.start];
        let known = containers.get(&depth).filter(|c| c.start <= run.start && run.end <= c.end).cloned();
        let c = known.unwrap_or_else(|| {
            let mut hi = run.end;
            while hi < rows.len() && inside(hi, depth) {
                hi += 1;
            }
            let mut lo = run.start;
            while lo > 0 && inside(lo - 1, depth) {
                lo -= 1;
            }
            // a run that leaves its container (its last rows less indented) is no container's
            if run.clone().all(|i| inside(i, depth)) {
                containers.insert(depth, lo..hi);
            }
            lo..hi
        });
        markers_in(c.start, run.start) || markers_in(run.end, c.end)
    };
    let marks: Vec<Mark> = (0..runs.len())
        .map(|k| {
            let from = if k == 0 { 0 } else { runs[k - 1].end };
            let to = runs.get(k + 1).map_or(rows.len(), |r| r.start);
            // in JSON an indented run belongs to its container; elsewhere a run to its neighbourhood
            let covered =
                if json && indents[runs[k].start] > 0 { in_container(&runs[k]) } else { markers_in(from, to) };
            if whole || covered { Mark::Dropped } else { Mark::Silent }
        })
        .collect();
    for (run, mark) in runs.into_iter().zip(marks) {
        for r in &mut rows[run] {
            if let Some(c) = r.left.as_mut() {
                c.mark = mark;
            }
        }
    }
}

/// Puts the removed original lines back among the aligned rows, each before the first row that
/// shows a later original line (so a run of dropped lines comes before the marker standing in
/// for it).
fn with_removed(rows: Vec<Row>, left: &Arc<str>, all: &[&str], gone: &[bool]) -> Vec<Row> {
    let mut lines = (1..=all.len()).filter(|&l| gone[l]).peekable();
    if lines.peek().is_none() {
        return rows;
    }
    // for each row, the original line of the first row at or after it that has one
    let mut next_left = vec![usize::MAX; rows.len()];
    let mut next = usize::MAX;
    for (i, r) in rows.iter().enumerate().rev() {
        if let Some(c) = &r.left {
            next = c.line;
        }
        next_left[i] = next;
    }
    let mut out = Vec::with_capacity(rows.len() + gone.iter().filter(|&&g| g).count());
    let removed_row = |l: usize| Row {
        left: Some(Cell { line: l, segs: plain(left, all[l - 1]), mark: Mark::Dropped }),
        right: None,
    };
    for (i, row) in rows.into_iter().enumerate() {
        while let Some(l) = lines.next_if(|&l| l < next_left[i]) {
            out.push(removed_row(l));
        }
        out.push(row);
    }
    out.extend(lines.map(removed_row));
    out
}

fn same(r: &Row) -> bool {
    r.left.as_ref().is_some_and(|c| c.mark == Mark::Same)
}

/// Unchanged runs, with their tokens from the left side's per-line counts.
fn folds(rows: &[Row], left_tokens: &[u32]) -> Vec<Fold> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        if !same(&rows[i]) {
            i += 1;
            continue;
        }
        let s = i;
        while i < rows.len() && same(&rows[i]) {
            i += 1;
        }
        let lead = if s == 0 { 0 } else { CONTEXT };
        let tail = if i == rows.len() { 0 } else { CONTEXT };
        if i - s > lead + tail + 1 {
            let hidden = s + lead..i - tail;
            let tokens = rows[hidden.clone()]
                .iter()
                .filter_map(|r| r.left.as_ref())
                .map(|c| left_tokens.get(c.line - 1).copied().unwrap_or(0) as usize)
                .sum();
            out.push(Fold { tokens, rows: hidden });
        }
    }
    out
}

impl DiffModel {
    /// Original lines lost with no marker accounting for them.
    pub fn silent_lines(&self) -> usize {
        self.rows.iter().filter(|r| r.left.as_ref().is_some_and(|c| c.mark == Mark::Silent)).count()
    }

    /// The drawn lines, with every fold collapsed unless its index is in `expanded`.
    pub fn display(&self, expanded: &HashSet<usize>) -> Vec<Display> {
        let mut out = Vec::with_capacity(self.rows.len());
        let mut f = 0;
        let mut i = 0;
        while i < self.rows.len() {
            if let Some(fold) = self.folds.get(f).filter(|fo| fo.rows.start == i) {
                if !expanded.contains(&f) {
                    out.push(Display::Fold(f));
                    i = fold.rows.end;
                    f += 1;
                    continue;
                }
                f += 1;
            }
            out.push(Display::Row(i));
            i += 1;
        }
        out
    }

    /// Whether a row is part of a change.
    pub fn is_change(&self, row: usize) -> bool {
        let r = &self.rows[row];
        !(r.left.as_ref().is_some_and(|c| c.mark == Mark::Same)
            && r.right.as_ref().is_some_and(|c| c.mark == Mark::Same))
    }

    /// Display indices where a change starts (for next/previous change).
    pub fn change_starts(&self, display: &[Display]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev = false;
        for (i, d) in display.iter().enumerate() {
            let ch = matches!(d, Display::Row(r) if self.is_change(*r));
            if ch && !prev {
                out.push(i);
            }
            prev = ch;
        }
        out
    }

    /// The display index of the row showing original line `line` (or the fold hiding it).
    pub fn display_of_left_line(&self, display: &[Display], line: usize) -> Option<usize> {
        display.iter().position(|d| match d {
            Display::Row(r) => self.rows[*r].left.as_ref().is_some_and(|c| c.line >= line),
            Display::Fold(f) => {
                self.folds[*f].rows.clone().any(|r| self.rows[r].left.as_ref().is_some_and(|c| c.line == line))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`super::build`] of two texts.
    fn build(
        left: &str,
        right: &str,
        dropped: Option<&[(usize, usize)]>,
        removed: &[(usize, usize)],
        tokens: &[u32],
    ) -> DiffModel {
        super::build(&Arc::from(left), &Arc::from(right), dropped, removed, tokens)
    }

    /// The container walk shared by a container's runs gives what walking from every run gives
    /// (the scan it replaced, kept here as the reference), on random JSON-like layouts.
    #[test]
    fn shared_container_walks_mark_what_a_walk_per_run_marks() {
        fn reference(rows: &[Row], json: bool) -> Vec<Mark> {
            let dropped = |r: &Row| r.right.is_none() && r.left.is_some();
            let marker = |r: &Row| r.right.as_ref().is_some_and(|c| c.mark == Mark::Marker);
            let indent = |r: &Row| {
                let t = r.left.as_ref().or(r.right.as_ref()).map(|c| c.text()).unwrap_or_default();
                t.len() - t.trim_start().len()
            };
            let mut runs = Vec::new();
            let mut i = 0;
            while i < rows.len() {
                let start = i;
                while i < rows.len() && dropped(&rows[i]) {
                    i += 1;
                }
                if i > start { runs.push(start..i) } else { i += 1 }
            }
            let mut out = Vec::new();
            for k in 0..runs.len() {
                let run = &runs[k];
                let covered = if json && indent(&rows[run.start]) > 0 {
                    let depth = indent(&rows[run.start]);
                    let inside = |r: &&Row| indent(r) >= depth || marker(r);
                    rows[run.end..].iter().take_while(inside).any(marker)
                        || rows[..run.start].iter().rev().take_while(inside).any(marker)
                } else {
                    let from = if k == 0 { 0 } else { runs[k - 1].end };
                    let to = runs.get(k + 1).map_or(rows.len(), |r| r.start);
                    rows[from..to].iter().any(marker)
                };
                out.extend(run.clone().map(|_| if covered { Mark::Dropped } else { Mark::Silent }));
            }
            out
        }
        let cell = |depth: usize, mark: Mark| Cell {
            line: 1,
            segs: vec![Seg { text: format!("{}x", " ".repeat(depth * 2)).into(), emph: false }],
            mark,
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        for case in 0..300 {
            let mut rows = Vec::new();
            let mut depth = 1;
            for _ in 0..(20 + next(60)) {
                depth = (depth + next(3)).saturating_sub(1).clamp(0, 4);
                rows.push(match next(6) {
                    0 | 1 => Row { left: Some(cell(depth, Mark::Silent)), right: None },
                    2 => Row { left: None, right: Some(cell(depth, Mark::Marker)) },
                    _ => Row { left: Some(cell(depth, Mark::Same)), right: Some(cell(depth, Mark::Same)) },
                });
            }
            for json in [true, false] {
                let want = reference(&rows, json);
                let mut got_rows = rows.clone();
                account_by_nearby_markers(&mut got_rows, json);
                let got: Vec<Mark> = got_rows
                    .iter()
                    .filter(|r| r.right.is_none() && r.left.is_some())
                    .map(|r| r.left.as_ref().unwrap().mark)
                    .collect();
                assert_eq!(got, want, "case {case}, json {json}");
            }
        }
    }

    #[test]
    fn marks_dropped_silent_marker_and_changed_lines() {
        let left = "a\nb\nc\nd\ne\n";
        let right = "a\n[ctxlens: 2 lines omitted; key=0123456789abcdef]\nd\ne changed\n";
        let m = build(left, right, Some(&[(2, 3)]), &[], &[]);
        let marks: Vec<(Option<Mark>, Option<Mark>)> =
            m.rows.iter().map(|r| (r.left.as_ref().map(|c| c.mark), r.right.as_ref().map(|c| c.mark))).collect();
        assert!(marks.contains(&(Some(Mark::Dropped), None)));
        assert!(marks.contains(&(None, Some(Mark::Marker))));
        assert!(marks.contains(&(Some(Mark::Changed), Some(Mark::Changed))));
        let changed = m.rows.iter().find(|r| r.right.as_ref().is_some_and(|c| c.mark == Mark::Changed)).unwrap();
        let right = changed.right.as_ref().unwrap();
        assert!(right.segs.iter().any(|s| s.emph && s.text.contains("changed")));
        // without a ledger and without a marker, a drop is silent
        let m = build("a\nb\nc\n", "a\nc\n", None, &[], &[]);
        assert!(m.rows.iter().any(|r| r.left.as_ref().is_some_and(|c| c.mark == Mark::Silent)));
    }

    #[test]
    fn removed_lines_come_back_in_place_and_silent_loss_still_shows() {
        let left: String = (1..=12).map(|i| format!("line {i}\n")).collect();
        // lines 3-8 are a ledger drop, line 10 goes with no ledger entry
        let right = "line 1\nline 2\n[ctxlens: 6 lines omitted; key=0123456789abcdef]\nline 9\nline 11\nline 12\n";
        let tokens = crate::tokens::count_per_line(&left, crate::tokens::Tokenizer::O200k);
        let fast = build(&left, right, Some(&[(3, 8)]), &[(3, 8)], &tokens);
        let full = build(&left, right, Some(&[(3, 8)]), &[], &tokens);
        type Shown = (Option<(usize, Mark)>, Option<Mark>);
        let view = |m: &DiffModel| -> Vec<Shown> {
            m.rows
                .iter()
                .map(|r| (r.left.as_ref().map(|c| (c.line, c.mark)), r.right.as_ref().map(|c| c.mark)))
                .collect()
        };
        let rows = view(&fast);
        // every original line once, in order, and the dropped run before its marker
        let lines: Vec<usize> = rows.iter().filter_map(|r| r.0.map(|l| l.0)).collect();
        assert_eq!(lines, (1..=12).collect::<Vec<_>>());
        let at = |line: usize| rows.iter().position(|r| r.0.is_some_and(|l| l.0 == line)).unwrap();
        let marker = rows.iter().position(|r| r.1 == Some(Mark::Marker)).unwrap();
        assert!((3..=8).all(|l| rows[at(l)].0 == Some((l, Mark::Dropped)) && at(l) < marker));
        assert_eq!(rows[at(10)].0, Some((10, Mark::Silent)));
        // the same marks as diffing every line
        let marks = |v: &[Shown]| {
            let mut m: Vec<_> = v.iter().map(|r| (r.0, r.1)).collect();
            m.sort_by_key(|r| r.0.map(|l| l.0));
            m
        };
        assert_eq!(marks(&rows), marks(&view(&full)));
        assert_eq!((fast.left_lines, fast.right_lines), (12, 6));
    }

    #[test]
    fn a_recorded_drop_is_silent_only_with_no_marker_near_it() {
        let marks = |m: &DiffModel| -> Vec<(String, Mark)> {
            m.rows
                .iter()
                .filter_map(|r| r.left.as_ref())
                .filter(|c| c.mark != Mark::Same)
                .map(|c| (c.text().trim().to_string(), c.mark))
                .collect()
        };
        let left = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        // the marker after the kept lines that follow the run (a JSON array's end)
        let m = build(left, "a\nd\ne\n<<ccr:0123456789ab 2_items_offloaded>>\nf\ng\nh\ni\nj\n", None, &[], &[]);
        assert_eq!(marks(&m), vec![("b".into(), Mark::Dropped), ("c".into(), Mark::Dropped)]);
        // two runs, the marker beside the second only
        let m = build(left, "a\nd\ne\nf\ng\ni\n[1 lines omitted]\nj\n", None, &[], &[]);
        assert_eq!(
            marks(&m),
            vec![("b".into(), Mark::Silent), ("c".into(), Mark::Silent), ("h".into(), Mark::Dropped)]
        );
        // items sampled out of a JSON array: the array's one marker accounts for every gap
        let arr = "[\n  1,\n  2,\n  3,\n  4,\n  5,\n  6\n]\n{\n  \"k\": 1\n}\n";
        let sampled = "[\n  1,\n  3,\n  5,\n  \"<<ccr:0123456789ab 3_items_offloaded>>\"\n]\n{\n}\n";
        let m = build(arr, sampled, None, &[], &[]);
        let got = marks(&m);
        assert!(
            got.iter().filter(|(t, _)| t.starts_with(['2', '4', '6'])).all(|(_, k)| *k == Mark::Dropped),
            "{got:?}"
        );
        assert!(got.iter().any(|(t, k)| t.starts_with("\"k\"") && *k == Mark::Silent), "outside the array: {got:?}");
        // a marker that keeps the whole original accounts for every run
        let whole = "a\nd\ne\nf\ng\ni\nj\n[10 lines compressed to 7. Retrieve more: hash=0123456789abcdef01234567]\n";
        let m = build(left, whole, None, &[], &[]);
        assert!(marks(&m).iter().all(|(_, k)| *k == Mark::Dropped), "{:?}", marks(&m));
        // a line kept with its middle cut is a changed line, not a loss
        let long = format!("start {} end\n", "x".repeat(900));
        let cut = format!("start {}...[840 chars elided]...{} end\n", "x".repeat(30), "x".repeat(30));
        let m = build(&long, &cut, None, &[], &[]);
        assert_eq!(m.rows[0].left.as_ref().unwrap().mark, Mark::Changed);
    }

    #[test]
    fn long_unchanged_runs_fold_and_unfold() {
        let left: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let right = left.replace("line 20\n", "");
        let m = build(&left, &right, None, &[], &crate::tokens::count_per_line(&left, crate::tokens::Tokenizer::O200k));
        assert_eq!(m.folds.len(), 2);
        let folded = m.display(&HashSet::new());
        assert!(folded.len() < m.rows.len());
        assert!(m.folds.iter().all(|f| f.tokens > 0));
        let all: HashSet<usize> = (0..m.folds.len()).collect();
        assert_eq!(m.display(&all).len(), m.rows.len());
        let starts = m.change_starts(&folded);
        assert_eq!(starts.len(), 1);
        assert_eq!(m.display_of_left_line(&m.display(&all), 21), Some(20));
    }
}
