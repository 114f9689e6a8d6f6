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

/// A row's two sides without their text: each side's 1-based line and how it is shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Head {
    pub left: Option<(usize, Mark)>,
    pub right: Option<(usize, Mark)>,
}

impl Head {
    /// The head `k` rows further into a run of whole lines.
    fn nth(self, k: usize) -> Head {
        Head { left: self.left.map(|(l, m)| (l + k, m)), right: self.right.map(|(l, m)| (l + k, m)) }
    }

    pub fn left_mark(&self) -> Option<Mark> {
        self.left.map(|l| l.1)
    }

    /// Whether the row is part of a change: anything but a line unchanged on both sides.
    pub fn is_change(&self) -> bool {
        !(self.left.is_some_and(|l| l.1 == Mark::Same) && self.right.is_some_and(|r| r.1 == Mark::Same))
    }

    /// An original line shown alone: dropped, or lost.
    fn is_drop(&self) -> bool {
        self.right.is_none() && matches!(self.left_mark(), Some(Mark::Silent | Mark::Dropped))
    }
}

impl Row {
    pub fn head(&self) -> Head {
        let side = |c: &Option<Cell>| c.as_ref().map(|c| (c.line, c.mark));
        Head { left: side(&self.left), right: side(&self.right) }
    }
}

/// Lines between the line starts a [`Side`] notes.
const STRIDE: usize = 32;

/// One side's text and where every [`STRIDE`]th line starts: any line is found by reading at most
/// that many, with no entry per line (3.7 million pretty-printed lines took 59 MB as `&str`s).
#[derive(Debug, Clone, Default)]
struct Side {
    text: Arc<str>,
    starts: Vec<usize>,
}

impl Side {
    /// The side of `text`, and its number of lines.
    fn new(text: &Arc<str>) -> (Side, usize) {
        let (mut starts, mut lines, mut at) = (Vec::new(), 0, 0);
        for line in text.split_inclusive('\n') {
            if lines % STRIDE == 0 {
                starts.push(at);
            }
            at += line.len();
            lines += 1;
        }
        (Side { text: text.clone(), starts }, lines)
    }

    /// The lines from 1-based line `n` on, each without its line end.
    fn lines_from(&self, n: usize) -> impl Iterator<Item = &str> {
        let k = n.saturating_sub(1);
        let from = self.starts.get(k / STRIDE).copied().unwrap_or(self.text.len());
        self.text[from..].split_inclusive('\n').skip(k % STRIDE).map(strip_nl)
    }

    /// Line `n` as a cell of one plain segment, sharing the side's text.
    fn cell(&self, (line, mark): (usize, Mark)) -> Cell {
        let text = self.lines_from(line).next().unwrap_or("");
        Cell { line, segs: vec![Seg { text: SegText::of(&self.text, text), emph: false }], mark }
    }
}

/// Rows stored together.
#[derive(Debug, Clone)]
enum Run {
    /// `len` rows of whole lines, each side's line one after the row before's, with one mark a
    /// side (`head` is the first row's): an unchanged stretch, a dropped one, lines only the output
    /// has. Most rows of a big block are in a few of these.
    Lines { len: usize, head: Head },
    /// A row with cells of its own: a changed line's word-level segments.
    Row(Box<Row>),
}

impl Run {
    fn len(&self) -> usize {
        match self {
            Run::Lines { len, .. } => *len,
            Run::Row(_) => 1,
        }
    }

    /// The head of its `k`th row.
    fn head(&self, k: usize) -> Head {
        match self {
            Run::Lines { head, .. } => head.nth(k),
            Run::Row(row) => row.head(),
        }
    }

    /// Gives every row's original side `mark`.
    fn set_left_mark(&mut self, mark: Mark) {
        match self {
            Run::Lines { head, .. } => head.left.iter_mut().for_each(|l| l.1 = mark),
            Run::Row(row) => row.left.iter_mut().for_each(|c| c.mark = mark),
        }
    }

    /// Moves its lines `left` and `right` lines on.
    fn shift(&mut self, left: usize, right: usize) {
        match self {
            Run::Lines { head, .. } => {
                head.left.iter_mut().for_each(|l| l.0 += left);
                head.right.iter_mut().for_each(|r| r.0 += right);
            }
            Run::Row(row) => {
                row.left.iter_mut().for_each(|c| c.line += left);
                row.right.iter_mut().for_each(|c| c.line += right);
            }
        }
    }
}

/// Every row of a block and its foldable runs. The rows are held as runs ([`Run`]) and read through
/// [`DiffModel::row`] and [`DiffModel::head`]: a row of whole lines is made when asked for, its
/// text shared with the side it shows, so a block's model holds little more than its two texts.
#[derive(Debug, Clone, Default)]
pub struct DiffModel {
    runs: Vec<Run>,
    /// The first row of each run.
    firsts: Vec<usize>,
    rows: usize,
    sides: [Side; 2],
    pub folds: Vec<Fold>,
    pub left_lines: usize,
    pub right_lines: usize,
}

impl DiffModel {
    /// A model of the two texts with no rows yet.
    fn of(left: &Arc<str>, right: &Arc<str>) -> DiffModel {
        let ((l, left_lines), (r, right_lines)) = (Side::new(left), Side::new(right));
        DiffModel { sides: [l, r], left_lines, right_lines, ..DiffModel::default() }
    }

    /// Adds a row of whole lines.
    fn push(&mut self, head: Head) {
        self.add(Run::Lines { len: 1, head });
    }

    /// Adds a row with cells of its own.
    fn push_row(&mut self, row: Row) {
        self.add(Run::Row(Box::new(row)));
    }

    /// Adds a run's rows, into the last run when they continue it.
    fn add(&mut self, run: Run) {
        if let (Some(Run::Lines { len: n, head: last }), Run::Lines { len, head }) = (self.runs.last_mut(), &run) {
            let continues = |a: Option<(usize, Mark)>, b: Option<(usize, Mark)>| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.1 == b.1 && a.0 + *n == b.0,
                _ => false,
            };
            if continues(last.left, head.left) && continues(last.right, head.right) {
                *n += len;
                self.rows += len;
                return;
            }
        }
        if run.len() > 0 {
            self.firsts.push(self.rows);
            self.rows += run.len();
            self.runs.push(run);
        }
    }

    /// The run holding row `i`, and the row's place in it.
    fn locate(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.rows {
            return None;
        }
        let j = self.firsts.partition_point(|&f| f <= i) - 1;
        Some((j, i - self.firsts[j]))
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Row `i`'s lines and marks.
    pub fn head(&self, i: usize) -> Option<Head> {
        self.locate(i).map(|(j, k)| self.runs[j].head(k))
    }

    /// Row `i` with its text.
    pub fn row(&self, i: usize) -> Option<Row> {
        let (j, k) = self.locate(i)?;
        Some(self.run_row(&self.runs[j], k))
    }

    /// The `k`th row of `run`, with its text.
    fn run_row(&self, run: &Run, k: usize) -> Row {
        match run {
            Run::Row(row) => (**row).clone(),
            Run::Lines { head, .. } => {
                let (head, [l, r]) = (head.nth(k), &self.sides);
                Row { left: head.left.map(|s| l.cell(s)), right: head.right.map(|s| r.cell(s)) }
            }
        }
    }

    /// Every row, in order.
    pub fn rows(&self) -> impl Iterator<Item = Row> + '_ {
        self.runs.iter().flat_map(move |run| (0..run.len()).map(move |k| self.run_row(run, k)))
    }

    /// Calls `f` with each row's index, head and the text of its two sides, in order, until it
    /// returns false. Reads each side once along, not a line at a time from the top.
    pub fn each_text(&self, mut f: impl FnMut(usize, Head, Option<&str>, Option<&str>) -> bool) {
        for (j, run) in self.runs.iter().enumerate() {
            let first = self.firsts[j];
            match run {
                Run::Row(row) => {
                    let (l, r) = (row.left.as_ref().map(Cell::text), row.right.as_ref().map(Cell::text));
                    if !f(first, row.head(), l.as_deref(), r.as_deref()) {
                        return;
                    }
                }
                Run::Lines { len, head } => {
                    let side = |s: &Option<(usize, Mark)>, i: usize| s.map(|(line, _)| self.sides[i].lines_from(line));
                    let (mut l, mut r) = (side(&head.left, 0), side(&head.right, 1));
                    for k in 0..*len {
                        let (a, b) = (l.as_mut().and_then(Iterator::next), r.as_mut().and_then(Iterator::next));
                        if !f(first + k, head.nth(k), a.or(head.left.map(|_| "")), b.or(head.right.map(|_| ""))) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Rows whose original side has `from` get `to` (a comparison of two outputs: a line one has
    /// and the other lacks is a difference, not a loss).
    pub fn relabel(&mut self, from: Mark, to: Mark) {
        for run in &mut self.runs {
            if run.head(0).left_mark() == Some(from) {
                run.set_left_mark(to);
            }
        }
    }

    /// Original lines lost with no marker accounting for them.
    pub fn silent_lines(&self) -> usize {
        self.runs.iter().filter(|r| r.head(0).left_mark() == Some(Mark::Silent)).map(Run::len).sum()
    }

    /// Whether every row shows an original line unchanged (and there is at least one).
    pub fn all_same(&self) -> bool {
        !self.runs.is_empty() && self.runs.iter().all(|r| r.head(0).left_mark() == Some(Mark::Same))
    }

    /// The rows where a run of rows whose original side has mark `m` starts.
    pub fn mark_starts(&self, m: Mark) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev = false;
        for (j, run) in self.runs.iter().enumerate() {
            let has = run.head(0).left_mark() == Some(m);
            if has && !prev {
                out.push(self.firsts[j]);
            }
            prev = has;
        }
        out
    }

    /// The first row showing original line `line`.
    pub fn row_of_left_line(&self, line: usize) -> Option<usize> {
        self.runs.iter().zip(&self.firsts).find_map(|(run, first)| match run.head(0).left {
            Some((l, _)) if (l..l + run.len()).contains(&line) => Some(first + line - l),
            _ => None,
        })
    }

    /// The rows whose sides' texts (original, output) `hit` accepts, in order.
    pub fn rows_where(&self, mut hit: impl FnMut(Option<&str>, Option<&str>) -> bool) -> Vec<usize> {
        let mut out = Vec::new();
        self.each_text(|i, _, l, r| {
            if hit(l, r) {
                out.push(i);
            }
            true
        });
        out
    }

    /// The first row whose sides' texts `hit` accepts.
    pub fn first_row_where(&self, mut hit: impl FnMut(Option<&str>, Option<&str>) -> bool) -> Option<usize> {
        let mut found = None;
        self.each_text(|i, _, l, r| {
            if hit(l, r) {
                found = Some(i);
            }
            found.is_none()
        });
        found
    }

    /// Appends `other`'s rows and folds after these, its lines numbered on from these sides'
    /// (a block laid out by sections). The sides' texts are set after with [`DiffModel::on_sides`].
    pub fn append(&mut self, other: DiffModel) {
        let (l0, r0, rows0) = (self.left_lines, self.right_lines, self.rows);
        for mut run in other.runs {
            run.shift(l0, r0);
            self.add(run);
        }
        self.folds
            .extend(other.folds.into_iter().map(|f| Fold { rows: f.rows.start + rows0..f.rows.end + rows0, ..f }));
        self.left_lines += other.left_lines;
        self.right_lines += other.right_lines;
    }

    /// Shows the rows on these two texts (whose lines the rows number).
    pub fn on_sides(&mut self, left: &Arc<str>, right: &Arc<str>) {
        self.sides = [Side::new(left).0, Side::new(right).0];
    }

    /// The drawn lines, with every fold collapsed unless its index is in `expanded`.
    pub fn display(&self, expanded: &HashSet<usize>) -> Layout {
        let mut out = Layout::default();
        let mut at = 0;
        for (f, fold) in self.folds.iter().enumerate() {
            if expanded.contains(&f) {
                continue;
            }
            out.rows(at..fold.rows.start);
            out.fold(f);
            at = fold.rows.end;
        }
        out.rows(at..self.rows);
        out
    }

    /// Display indices where a change starts (for next/previous change).
    pub fn change_starts(&self, display: &Layout) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev = false;
        for (at, part) in &display.parts {
            let Part::Rows(rows) = part else {
                prev = false;
                continue;
            };
            let Some((mut j, _)) = self.locate(rows.start) else { continue };
            while j < self.runs.len() && self.firsts[j] < rows.end {
                let ch = self.runs[j].head(0).is_change();
                if ch && !prev {
                    out.push(at + self.firsts[j].max(rows.start) - rows.start);
                }
                prev = ch;
                j += 1;
            }
        }
        out
    }
}

/// What a drawn line is: a row, or a folded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    Row(usize),
    Fold(usize),
}

/// A stretch of drawn lines.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Rows shown one a line.
    Rows(Range<usize>),
    /// A folded run, as one line.
    Fold(usize),
}

/// The drawn lines of a model: its rows in order, each collapsed fold one line in their place.
/// Held as stretches, each with its first line's index, not as a line each (3.7 million rows took
/// 59 MB as a list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    parts: Vec<(usize, Part)>,
    len: usize,
}

impl Layout {
    fn rows(&mut self, rows: Range<usize>) {
        if rows.is_empty() {
            return;
        }
        let n = rows.len();
        match self.parts.last_mut() {
            Some((_, Part::Rows(last))) if last.end == rows.start => last.end = rows.end,
            _ => self.parts.push((self.len, Part::Rows(rows))),
        }
        self.len += n;
    }

    fn fold(&mut self, f: usize) {
        self.parts.push((self.len, Part::Fold(f)));
        self.len += 1;
    }

    /// The number of drawn lines.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drawn line `i`.
    pub fn get(&self, i: usize) -> Option<Display> {
        if i >= self.len {
            return None;
        }
        let (at, part) = &self.parts[self.parts.partition_point(|(at, _)| *at <= i) - 1];
        Some(match part {
            Part::Rows(rows) => Display::Row(rows.start + i - at),
            Part::Fold(f) => Display::Fold(*f),
        })
    }

    /// The drawn lines from `i` on, with their indices.
    pub fn iter_from(&self, i: usize) -> impl Iterator<Item = (usize, Display)> + '_ {
        let first = self.parts.partition_point(|(at, _)| *at <= i).saturating_sub(1);
        self.parts[first..].iter().flat_map(move |(at, part)| {
            let (rows, fold) = match part {
                Part::Rows(rows) => ((rows.start + i.saturating_sub(*at)).min(rows.end)..rows.end, None),
                Part::Fold(f) => (0..0, (*at >= i).then_some((*at, Display::Fold(*f)))),
            };
            let start = match part {
                Part::Rows(rows) => rows.start,
                Part::Fold(_) => 0,
            };
            rows.map(move |r| (at + r - start, Display::Row(r))).chain(fold)
        })
    }

    /// Every drawn line, in order.
    pub fn iter(&self) -> impl Iterator<Item = Display> + '_ {
        self.iter_from(0).map(|(_, d)| d)
    }

    /// The drawn line showing row `r`, unless a collapsed fold hides it.
    pub fn position_row(&self, r: usize) -> Option<usize> {
        self.parts.iter().find_map(|(at, part)| match part {
            Part::Rows(rows) if rows.contains(&r) => Some(at + r - rows.start),
            _ => None,
        })
    }

    /// The drawn line of fold `f`, when it is collapsed.
    pub fn position_fold(&self, f: usize) -> Option<usize> {
        self.parts.iter().find_map(|(at, part)| (*part == Part::Fold(f)).then_some(*at))
    }
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
    let mut m = DiffModel::of(left, right);
    // which original lines a ledger drop covers, and which it removes
    let covered = line_flags(dropped.unwrap_or_default(), m.left_lines);
    let gone = line_flags(removed, m.left_lines);
    // the original lines left to align, with their 0-based index among all
    let (kept, old): (Vec<usize>, Vec<&str>) =
        left.split_inclusive('\n').enumerate().filter(|(i, _)| !gone[i + 1]).unzip();
    let new: Vec<&str> = right.split_inclusive('\n').collect();
    let deadline = Instant::now() + Duration::from_millis(400);
    let ops = similar::capture_diff_slices_deadline(Algorithm::Patience, &old, &new, Some(deadline));
    let in_ledger = |line: usize| covered.get(line).copied().unwrap_or(false);
    let json = left.trim_start().starts_with(['{', '[']);
    for op in ops {
        let (o, n) = (op.old_range(), op.new_range());
        match op {
            DiffOp::Equal { .. } => {
                for k in 0..o.len() {
                    m.push(Head {
                        left: Some((kept[o.start + k] + 1, Mark::Same)),
                        right: Some((n.start + k + 1, Mark::Same)),
                    });
                }
            }
            _ => {
                let has_marker = new[n.clone()].iter().any(|l| is_marker_line(l));
                let drop_mark = |k: usize| {
                    let marked = if dropped.is_some() { in_ledger(kept[k] + 1) } else { has_marker };
                    if marked { Mark::Dropped } else { Mark::Silent }
                };
                // Pair similar lines as changed; the rest stand alone, the side with more lines
                // left first.
                let (mut i, mut j) = (0, 0);
                loop {
                    let ol = (i < o.len()).then(|| old[o.start + i]);
                    let nl = (j < n.len()).then(|| new[n.start + j]);
                    match (ol, nl) {
                        (None, None) => break,
                        (Some(a), Some(b)) if !is_marker_line(b) && (alike(a, b) || json && kept_items(a, b)) => {
                            let (ls, rs) = inline(a, b);
                            m.push_row(Row {
                                left: Some(Cell { line: kept[o.start + i] + 1, segs: ls, mark: Mark::Changed }),
                                right: Some(Cell { line: n.start + j + 1, segs: rs, mark: Mark::Changed }),
                            });
                            (i, j) = (i + 1, j + 1);
                        }
                        (Some(_), Some(b)) if o.len() - i < n.len() - j => {
                            m.push(Head { left: None, right: Some((n.start + j + 1, output_mark(b))) });
                            j += 1;
                        }
                        (None, Some(b)) => {
                            m.push(Head { left: None, right: Some((n.start + j + 1, output_mark(b))) });
                            j += 1;
                        }
                        (Some(_), _) => {
                            m.push(Head { left: Some((kept[o.start + i] + 1, drop_mark(o.start + i))), right: None });
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    // the aligned lines' lists are done with before the rows are marked and filled in
    drop((kept, old, new));
    if dropped.is_none() {
        account_by_nearby_markers(&mut m, json);
    }
    m.with_removed(&gone);
    m.folds = folds(&m, left_tokens);
    m
}

/// How an output line with nothing beside it is shown.
fn output_mark(line: &str) -> Mark {
    if is_marker_line(line) { Mark::Marker } else { Mark::Added }
}

/// Builds the model of an output that keeps every original line in its place (the prose engine
/// cuts words inside lines and empties lines, and adds its markers after the last line): line N
/// faces line N, so no alignment can pair a line with the wrong one. A changed or emptied line is a
/// drop when a ledger drop covers it, else silent loss; output lines past the original's end are
/// markers or additions.
pub fn build_in_place(left: &Arc<str>, right: &Arc<str>, dropped: &[(usize, usize)], left_tokens: &[u32]) -> DiffModel {
    let mut m = DiffModel::of(left, right);
    let covered = line_flags(dropped, m.left_lines);
    let lost = |line: usize| if covered[line] { Mark::Dropped } else { Mark::Silent };
    let (mut all, mut new) = (left.split_inclusive('\n'), right.split_inclusive('\n'));
    for k in 1.. {
        match (all.next(), new.next()) {
            (Some(a), Some(b)) if strip_nl(a) == strip_nl(b) => {
                m.push(Head { left: Some((k, Mark::Same)), right: Some((k, Mark::Same)) })
            }
            // an emptied line: the original's words all went
            (Some(_), Some(b)) if strip_nl(b).trim().is_empty() => {
                m.push(Head { left: Some((k, lost(k))), right: None })
            }
            (Some(a), Some(b)) => {
                let (ls, rs) = inline(a, b);
                let mark = if lost(k) == Mark::Dropped { Mark::Changed } else { Mark::Silent };
                m.push_row(Row {
                    left: Some(Cell { line: k, segs: ls, mark }),
                    right: Some(Cell { line: k, segs: rs, mark: Mark::Changed }),
                });
            }
            (Some(_), None) => m.push(Head { left: Some((k, lost(k))), right: None }),
            (None, Some(b)) => m.push(Head { left: None, right: Some((k, output_mark(b))) }),
            (None, None) => break,
        }
    }
    m.folds = folds(&m, left_tokens);
    m
}

/// Without a ledger (a recorded compression), a run of dropped lines is accounted for when a marker
/// stands near it: in pretty-printed JSON, anywhere in the run's container (an array's items, an
/// object's keys); elsewhere, anywhere between the run before it and the run after it. Compressors put
/// their marker where they like (Headroom ends a JSON array with one, after the items it kept), so
/// only a run no marker stands beside counts as silent loss. A marker that keeps the whole original
/// (Headroom's `… Retrieve more: hash=…]`, whose CCR entry is the whole input) accounts for every run.
fn account_by_nearby_markers(m: &mut DiffModel, json: bool) {
    // each row's kind, its indentation (its original side, else its output side) and its markers
    // so far, to ask "any marker between rows a and b" at once
    let (mut dropped, mut marker, mut indents) = (Vec::new(), Vec::new(), Vec::new());
    let mut before = vec![0usize];
    // Headroom's `[N lines compressed to M. Retrieve more: hash=…]` (and the code compressor's
    // `# [S tokens compressed. … Retrieve more: hash=…]`) keeps the whole original
    let mut whole = false;
    m.each_text(|_, head, l, r| {
        let is_marker = head.right.is_some_and(|r| r.1 == Mark::Marker);
        whole |= is_marker && r.is_some_and(|t| t.contains(" compressed to ") || t.contains("Retrieve more: hash="));
        let t = l.or(r).unwrap_or_default();
        dropped.push(head.is_drop());
        marker.push(is_marker);
        indents.push(t.len() - t.trim_start_matches([' ', '\t']).len());
        before.push(before[before.len() - 1] + usize::from(is_marker));
        true
    });
    let n = dropped.len();
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut i = 0;
    while i < n {
        if dropped[i] {
            let start = i;
            while i < n && dropped[i] {
                i += 1;
            }
            runs.push(start..i);
        } else {
            i += 1;
        }
    }
    let markers_in = |a: usize, b: usize| before[b] - before[a] > 0;
    // a marker in the same indented container (a JSON array's items, a nested block) as the run,
    // with nothing less indented between them; runs of one container share it, so each container
    // is walked once per depth, not once per run
    let inside = |i: usize, depth: usize| indents[i] >= depth || marker[i];
    let mut containers: HashMap<usize, Range<usize>> = HashMap::new();
    let mut in_container = |run: &Range<usize>| {
        let depth = indents[run.start];
        let known = containers.get(&depth).filter(|c| c.start <= run.start && run.end <= c.end).cloned();
        let c = known.unwrap_or_else(|| {
            let mut hi = run.end;
            while hi < n && inside(hi, depth) {
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
            let to = runs.get(k + 1).map_or(n, |r| r.start);
            // in JSON an indented run belongs to its container; elsewhere a run to its neighbourhood
            let covered =
                if json && indents[runs[k].start] > 0 { in_container(&runs[k]) } else { markers_in(from, to) };
            if whole || covered { Mark::Dropped } else { Mark::Silent }
        })
        .collect();
    // a stored run of dropped rows lies within one run of them: it takes that run's mark
    for (j, run) in m.runs.iter_mut().enumerate() {
        let first = m.firsts[j];
        let k = runs.partition_point(|r| r.end <= first);
        if runs.get(k).is_some_and(|r| r.start <= first) {
            run.set_left_mark(marks[k]);
        }
    }
}

impl DiffModel {
    /// Puts the removed original lines (`gone`, indexed by line number) back among the aligned
    /// rows, each before the first row that shows a later original line (so a run of dropped lines
    /// comes before the marker standing in for it).
    fn with_removed(&mut self, gone: &[bool]) {
        let mut lines = (1..=self.left_lines).filter(|&l| gone[l]).peekable();
        if lines.peek().is_none() {
            return;
        }
        // for each run, the original line of the first row at or after it that has one
        let mut next_left = vec![usize::MAX; self.runs.len()];
        let mut next = usize::MAX;
        for (j, run) in self.runs.iter().enumerate().rev() {
            if let Some((l, _)) = run.head(0).left {
                next = l;
            }
            next_left[j] = next;
        }
        let runs = std::mem::take(&mut self.runs);
        (self.firsts, self.rows) = (Vec::new(), 0);
        let removed = |l: usize| Run::Lines { len: 1, head: Head { left: Some((l, Mark::Dropped)), right: None } };
        for (j, run) in runs.into_iter().enumerate() {
            while let Some(l) = lines.next_if(|&l| l < next_left[j]) {
                self.add(removed(l));
            }
            self.add(run);
        }
        for l in lines {
            self.add(removed(l));
        }
    }
}

/// Unchanged runs, with their tokens from the left side's per-line counts.
fn folds(m: &DiffModel, left_tokens: &[u32]) -> Vec<Fold> {
    let same = |j: usize| m.runs[j].head(0).left_mark() == Some(Mark::Same);
    let mut out = Vec::new();
    let mut j = 0;
    while j < m.runs.len() {
        if !same(j) {
            j += 1;
            continue;
        }
        let s = m.firsts[j];
        while j < m.runs.len() && same(j) {
            j += 1;
        }
        let e = m.firsts.get(j).copied().unwrap_or(m.rows);
        let lead = if s == 0 { 0 } else { CONTEXT };
        let tail = if e == m.rows { 0 } else { CONTEXT };
        if e - s > lead + tail + 1 {
            let hidden = s + lead..e - tail;
            let mut tokens = 0;
            m.each_head(hidden.clone(), |h| {
                if let Some((l, _)) = h.left {
                    tokens += left_tokens.get(l - 1).copied().unwrap_or(0) as usize;
                }
            });
            out.push(Fold { tokens, rows: hidden });
        }
    }
    out
}

impl DiffModel {
    /// Calls `f` with the head of each of `rows`, in order.
    fn each_head(&self, rows: Range<usize>, mut f: impl FnMut(Head)) {
        let Some((mut j, mut k)) = self.locate(rows.start) else { return };
        let mut i = rows.start;
        while i < rows.end && j < self.runs.len() {
            f(self.runs[j].head(k));
            i += 1;
            k += 1;
            if k == self.runs[j].len() {
                (j, k) = (j + 1, 0);
            }
        }
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
                let mut model = DiffModel::default();
                rows.iter().cloned().for_each(|r| model.push_row(r));
                account_by_nearby_markers(&mut model, json);
                let got: Vec<Mark> = model
                    .rows()
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
            m.rows().map(|r| (r.left.as_ref().map(|c| c.mark), r.right.as_ref().map(|c| c.mark))).collect();
        assert!(marks.contains(&(Some(Mark::Dropped), None)));
        assert!(marks.contains(&(None, Some(Mark::Marker))));
        assert!(marks.contains(&(Some(Mark::Changed), Some(Mark::Changed))));
        let changed = m.rows().find(|r| r.right.as_ref().is_some_and(|c| c.mark == Mark::Changed)).unwrap();
        let right = changed.right.as_ref().unwrap();
        assert!(right.segs.iter().any(|s| s.emph && s.text.contains("changed")));
        // without a ledger and without a marker, a drop is silent
        let m = build("a\nb\nc\n", "a\nc\n", None, &[], &[]);
        assert!(m.rows().any(|r| r.left.as_ref().is_some_and(|c| c.mark == Mark::Silent)));
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
            m.rows().map(|r| (r.left.as_ref().map(|c| (c.line, c.mark)), r.right.as_ref().map(|c| c.mark))).collect()
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
            m.rows()
                .filter_map(|r| r.left)
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
        assert_eq!(m.row(0).unwrap().left.as_ref().unwrap().mark, Mark::Changed);
    }

    #[test]
    fn long_unchanged_runs_fold_and_unfold() {
        let left: String = (0..40).map(|i| format!("line {i}\n")).collect();
        let right = left.replace("line 20\n", "");
        let m = build(&left, &right, None, &[], &crate::tokens::count_per_line(&left, crate::tokens::Tokenizer::O200k));
        assert_eq!(m.folds.len(), 2);
        let folded = m.display(&HashSet::new());
        assert!(folded.len() < m.len());
        assert!(m.folds.iter().all(|f| f.tokens > 0));
        let all: HashSet<usize> = (0..m.folds.len()).collect();
        assert_eq!(m.display(&all).len(), m.len());
        let starts = m.change_starts(&folded);
        assert_eq!(starts.len(), 1);
        assert_eq!(m.row_of_left_line(21).and_then(|r| m.display(&all).position_row(r)), Some(20));
    }

    /// A big block that drops most of its lines is held as a few runs, not a row a line, and
    /// every row read back is the line it stands for.
    #[test]
    fn runs_of_whole_lines_stand_for_their_rows() {
        let left: String = (1..=20_000).map(|i| format!("  line {i}\n")).collect();
        // lines 101-19,900 go with a marker; line 50 changes in place
        let right: String = (1..=100)
            .map(|i| if i == 50 { "  line 50 changed\n".to_string() } else { format!("  line {i}\n") })
            .chain(std::iter::once("[ctxlens: 19800 lines omitted; key=0123456789abcdef]\n".to_string()))
            .chain((19_901..=20_000).map(|i| format!("  line {i}\n")))
            .collect();
        let m = build(&left, &right, Some(&[(101, 19_900)]), &[(101, 19_900)], &[]);
        assert!(m.runs.len() <= 8, "{} runs", m.runs.len());
        assert_eq!(m.len(), 20_001);
        let rows: Vec<Row> = m.rows().collect();
        assert_eq!(rows.len(), m.len());
        let mut texts = Vec::new();
        m.each_text(|i, head, l, r| {
            texts.push((i, head, l.map(str::to_string), r.map(str::to_string)));
            true
        });
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(m.row(i).as_ref(), Some(row));
            assert_eq!(m.head(i), Some(row.head()));
            let text = |c: &Option<Cell>| c.as_ref().map(Cell::text);
            assert_eq!(texts[i], (i, row.head(), text(&row.left), text(&row.right)), "row {i}");
            if let Some(c) = &row.left
                && c.mark != Mark::Changed
            {
                assert_eq!(c.text(), format!("  line {}", c.line));
            }
        }
        let dropped = rows.iter().filter(|r| r.left.as_ref().is_some_and(|c| c.mark == Mark::Dropped)).count();
        assert_eq!(dropped, 19_800);
        assert_eq!(m.mark_starts(Mark::Dropped), vec![m.row_of_left_line(101).unwrap()]);
        assert_eq!(m.row_of_left_line(19_901).map(|r| m.head(r).unwrap().right), Some(Some((102, Mark::Same))));
        assert_eq!(m.silent_lines(), 0);
        assert_eq!(m.rows_where(|_, r| r.is_some_and(|r| r.contains("changed"))), vec![49]);
    }

    /// The layout's stretches read as the list of drawn lines they replace, from any line on.
    #[test]
    fn a_layout_reads_as_its_list_of_lines() {
        let left: String = (0..300).map(|i| format!("line {i}\n")).collect();
        let right: String = left.lines().filter(|l| !l.ends_with('0')).map(|l| format!("{l}\n")).collect();
        let m = build(&left, &right, None, &[], &[]);
        assert!(m.folds.len() > 10);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for case in 0..50 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let expanded: HashSet<usize> = (0..m.folds.len()).filter(|f| (seed >> (f % 64)) & 1 == 1).collect();
            let layout = m.display(&expanded);
            // the list the layout stands for
            let mut want = Vec::new();
            let mut r = 0;
            while r < m.len() {
                match m.folds.iter().position(|f| f.rows.start == r) {
                    Some(f) if !expanded.contains(&f) => {
                        want.push(Display::Fold(f));
                        r = m.folds[f].rows.end;
                    }
                    _ => {
                        want.push(Display::Row(r));
                        r += 1;
                    }
                }
            }
            assert_eq!(layout.len(), want.len(), "case {case}");
            assert_eq!(layout.iter().collect::<Vec<_>>(), want);
            for (i, d) in want.iter().enumerate() {
                assert_eq!(layout.get(i), Some(*d));
                assert_eq!(layout.iter_from(i).next(), Some((i, *d)));
                let found = match *d {
                    Display::Row(r) => layout.position_row(r),
                    Display::Fold(f) => layout.position_fold(f),
                };
                assert_eq!(found, Some(i));
            }
            assert_eq!(layout.iter_from(want.len()).next(), None);
            assert_eq!(layout.get(want.len()), None);
            // a change starts where a changed line follows one that is not
            let change = |d: &Display| matches!(d, Display::Row(r) if m.head(*r).unwrap().is_change());
            let starts: Vec<usize> =
                (0..want.len()).filter(|&i| change(&want[i]) && (i == 0 || !change(&want[i - 1]))).collect();
            assert_eq!(m.change_starts(&layout), starts, "case {case}");
        }
    }
}
