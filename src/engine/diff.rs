//! Diff engine: git and plain unified diffs (`git diff`, `git show`, `diff -ru`) with context
//! trimmed, hunks and files capped, and every kept hunk given a recomputed header, so the kept
//! files still apply with `git apply`.
//!
//! Technique and knobs follow Headroom's DiffCompressor (±context around changes, first/last/best
//! hunks per file, the most-changed files). Differences: hunk headers are recomputed (a trimmed
//! hunk is split where context was cut) instead of keeping stale counts; `index`, mode, rename and
//! binary lines are kept verbatim; each file's dropped hunks and context, and every dropped file,
//! are named in a marker line placed between files, where `git apply` skips it. In text of
//! several commits (`git log -p`, a `format-patch` series) each commit's dropped files are named
//! in that commit, before the next one's header.

use std::sync::{Arc, LazyLock};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{Compressed, Context, Engine, Skip};
use super::text::{self, Line};
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, group_thousands, name_list};

/// Knobs of the diff engine (Headroom `DiffCompressorConfig` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DiffParams {
    /// Context lines kept on each side of a change; farther context is cut and the hunk split.
    /// At least one line after a change stays, since `git apply` reads a hunk without trailing
    /// context as one that ends the file.
    pub max_context_lines: usize,
    /// Most hunks kept per file: the first, the last, then the highest scored.
    pub max_hunks_per_file: usize,
    /// Most files kept: those with the most changed lines.
    pub max_files: usize,
    /// Diffs with fewer lines pass through unchanged (Headroom gates the whole compressor on this).
    pub min_lines_for_ccr: usize,
}

impl Default for DiffParams {
    fn default() -> Self {
        DiffParams { max_context_lines: 2, max_hunks_per_file: 10, max_files: 20, min_lines_for_ccr: 50 }
    }
}

static PRIORITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)error|exception|fail|panic|fatal|important|todo|fixme|security|auth|password|secret|token")
        .expect("priority")
});

#[derive(Debug, Clone)]
struct Hunk {
    /// Line index of the `@@` header.
    header: usize,
    old_start: usize,
    old_len: usize,
    section: String,
    /// Body line indices (after the header).
    body: std::ops::Range<usize>,
    changes: usize,
}

#[derive(Debug, Clone)]
struct FileDiff {
    /// All line indices of the section (headers, hunks, trailing lines).
    lines: std::ops::Range<usize>,
    /// Where the lines of no file start (the next commit's header in `git log -p`, `Only in …`
    /// and `Binary files … differ` from `diff -r`): after the last hunk, or at the first such
    /// line in a file with no hunk or kept verbatim. They stay whether or not the file does.
    tail: usize,
    /// Lines before the first hunk.
    head: std::ops::Range<usize>,
    hunks: Vec<Hunk>,
    path: String,
    /// Why the file is kept as it is, if it is.
    verbatim: Option<Verbatim>,
    added: usize,
    removed: usize,
}

fn is_file_start(lines: &[Line], i: usize) -> bool {
    let t = lines[i].text;
    if !matches!(t.as_bytes().first(), Some(b'd' | b'I' | b'-')) {
        return false;
    }
    t.starts_with("diff --git ")
        || t.starts_with("diff --cc ")
        || t.starts_with("diff --combined ")
        || (t.starts_with("diff -") && t.split_whitespace().count() >= 3)
        || t.starts_with("Index: ")
        || (t.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.text.starts_with("+++ "))
            && !(i > 0
                && (lines[i - 1].text.starts_with("diff ")
                    || lines[i - 1].text.starts_with("index ")
                    || lines[i - 1].text.starts_with("Index: ")
                    || lines[i - 1].text.starts_with("===")
                    || is_ext_header(lines[i - 1].text))))
}

/// A commit's first line in `git log -p` or `git show` (`commit <id>`, maybe decorated), or in
/// `git format-patch --stdout` (`From <id> <date>`); the id is the capture.
static COMMIT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:commit ([0-9a-f]{7,64})(?: \(.*\))?|From ([0-9a-f]{40}|[0-9a-f]{64}) .*)$").expect("commit")
});

/// The commit id a line starts, if it starts one.
fn commit_id(t: &str) -> Option<&str> {
    if !(t.starts_with("commit ") || t.starts_with("From ")) {
        return None;
    }
    COMMIT_LINE.captures(t).and_then(|c| c.get(1).or(c.get(2))).map(|m| m.as_str())
}

/// A line that belongs to no file: a commit's first line, or `diff -r`'s `Only in`.
fn of_no_file(t: &str) -> bool {
    t.starts_with("Only in ") || commit_id(t).is_some()
}

fn is_ext_header(t: &str) -> bool {
    [
        "old mode",
        "new mode",
        "deleted file mode",
        "new file mode",
        "similarity index",
        "dissimilarity index",
        "rename from",
        "rename to",
        "copy from",
        "copy to",
        "index ",
    ]
    .iter()
    .any(|p| t.starts_with(p))
}

fn path_of(lines: &[Line], range: std::ops::Range<usize>) -> String {
    let mut path = String::new();
    for l in &lines[range] {
        let t = l.text;
        if let Some(p) = t.strip_prefix("+++ ").filter(|p| !p.starts_with("/dev/null")) {
            return strip_prefix_dir(p.split('\t').next().unwrap_or(p));
        }
        if let Some(p) = t.strip_prefix("--- ").filter(|p| !p.starts_with("/dev/null")) {
            path = strip_prefix_dir(p.split('\t').next().unwrap_or(p));
        }
        if path.is_empty()
            && let Some(rest) = t.strip_prefix("diff --git ")
        {
            path = strip_prefix_dir(rest.rsplit(' ').next().unwrap_or(rest));
        }
    }
    path
}

fn strip_prefix_dir(p: &str) -> String {
    let p = p.trim();
    p.strip_prefix("b/").or_else(|| p.strip_prefix("a/")).unwrap_or(p).to_string()
}

/// A hunk header's parts as written, `@@ -old_start[,old_len] +new_start[,new_len] @@section`,
/// read by hand: a regex with captures was a tenth of the engine's time.
struct HunkHeader<'t> {
    old_start: &'t str,
    old_len: Option<&'t str>,
    new_start: &'t str,
    new_len: Option<&'t str>,
    /// What follows the closing `@@` (the enclosing function git names, after a space).
    section: &'t str,
}

impl<'t> HunkHeader<'t> {
    /// The header `t` is, if it is one; numbers are ASCII digits.
    fn of(t: &'t str) -> Option<Self> {
        fn digits(s: &str) -> Option<(&str, &str)> {
            let n = s.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0).then(|| s.split_at(n))
        }
        // `start` or `start,len`, and the rest of the line
        fn range(s: &str) -> Option<(&str, Option<&str>, &str)> {
            let (start, rest) = digits(s)?;
            match rest.strip_prefix(',') {
                Some(r) => digits(r).map(|(len, rest)| (start, Some(len), rest)),
                None => Some((start, None, rest)),
            }
        }
        let (old_start, old_len, rest) = range(t.strip_prefix("@@ -")?)?;
        let (new_start, new_len, rest) = range(rest.strip_prefix(" +")?)?;
        let section = rest.strip_prefix(" @@")?;
        Some(HunkHeader { old_start, old_len, new_start, new_len, section })
    }
}

/// The largest line number or count a hunk header may carry (sums of several stay far from
/// overflowing).
const MAX_LINE_NUMBER: usize = u32::MAX as usize;

/// Where a hunk's body ends, with its added and removed lines counted on the way.
struct HunkBody {
    end: usize,
    added: usize,
    removed: usize,
}

/// Reads the body of a hunk starting at line `start` by its header's counts; `None` when the
/// lines do not fit them.
fn hunk_end(lines: &[Line], start: usize, old_len: usize, new_len: usize) -> Option<HunkBody> {
    let (mut o, mut n) = (old_len, new_len);
    let (mut added, mut removed) = (0, 0);
    let mut i = start;
    while o > 0 || n > 0 {
        let t = lines.get(i)?.text;
        match t.as_bytes().first() {
            Some(b' ') | None => {
                o = o.checked_sub(1)?;
                n = n.checked_sub(1)?;
            }
            Some(b'-') => {
                o = o.checked_sub(1)?;
                removed += 1;
            }
            Some(b'+') => {
                n = n.checked_sub(1)?;
                added += 1;
            }
            Some(b'\\') => {}
            _ => return None,
        }
        i += 1;
    }
    while lines.get(i).is_some_and(|l| l.text.starts_with('\\')) {
        i += 1;
    }
    Some(HunkBody { end: i, added, removed })
}

/// How much of `lines` is diff: (file sections, hunks, lines in file headers and hunks).
/// A file kept verbatim (a combined diff of a merge, a binary patch, a hunk whose header lies)
/// counts whole, with its `@@` lines as hunks: it is still a diff, which the engine keeps as it is.
pub fn coverage(lines: &[Line]) -> (usize, usize, usize) {
    let parsed = parse(lines);
    let (mut hunks, mut covered) = (0, 0);
    for f in &parsed.files {
        if f.verbatim.is_some() {
            hunks += lines[f.lines.start..f.tail].iter().filter(|l| l.text.starts_with("@@")).count();
            covered += f.tail - f.lines.start;
        } else {
            hunks += f.hunks.len();
            covered += f.head.len() + f.hunks.iter().map(|h| h.body.end - h.header).sum::<usize>();
        }
    }
    (parsed.files.len(), hunks, covered)
}

/// Why a file is kept as it is: combined diffs, binary patches and hunks this engine cannot
/// rebase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbatim {
    Combined,
    Binary,
    /// A hunk header (at this line index) with a number past any real file's line count.
    Unreadable(usize),
    /// A line (at this index) that starts as a hunk header does but is not one (`@@ -x,y +z @@`).
    Malformed(usize),
    /// A hunk with no change, a body shorter than its header says, or lines of no hunk between
    /// hunks (at this line index): the header's counts do not say where the hunk ends.
    Lying(usize),
}

impl Verbatim {
    /// Why, naming lines of the whole input (`lines_before` precede this text).
    fn why(self, lines_before: usize) -> String {
        let line = |i: usize| lines_before + i + 1;
        match self {
            Verbatim::Combined => "a combined diff (a merge's conflicts), which this engine does not cut".into(),
            Verbatim::Binary => "a binary patch".into(),
            Verbatim::Unreadable(i) => {
                format!("the hunk header on line {} has a line number past {MAX_LINE_NUMBER}", line(i))
            }
            Verbatim::Malformed(i) => {
                format!("line {} starts with @@ but is not a hunk header (@@ -a,b +c,d @@)", line(i))
            }
            Verbatim::Lying(i) => format!("the hunk on line {} does not match its header's line counts", line(i)),
        }
    }

    /// Whether the file could not be read as a diff (rather than read and left alone).
    fn unreadable(self) -> bool {
        matches!(self, Verbatim::Unreadable(_) | Verbatim::Malformed(_))
    }
}

/// What says which files are kept whole and why: the first three, then how many more.
fn verbatim_note(files: &[FileDiff], lines_before: usize) -> Option<String> {
    let all: Vec<String> =
        files.iter().filter_map(|f| f.verbatim.map(|v| format!("{}: {}", f.path, v.why(lines_before)))).collect();
    let more = all.len().saturating_sub(3);
    let mut note = all.into_iter().take(3).collect::<Vec<_>>().join("; ");
    if more > 0 {
        note.push_str(&format!("; and {more} more"));
    }
    (!note.is_empty()).then(|| format!("kept whole: {note}"))
}

/// When no file can be cut because each is kept whole (and at least one is, for a reason): the
/// skip saying so, `parse_failed` when a file could not be read.
fn all_kept_whole(files: &[FileDiff], lines_before: usize) -> Option<Skip> {
    if files.iter().any(|f| f.verbatim.is_none() && !f.hunks.is_empty()) {
        return None;
    }
    let detail = verbatim_note(files, lines_before)?;
    Some(if files.iter().any(|f| f.verbatim.is_some_and(Verbatim::unreadable)) {
        Skip::ParseFailed { detail }
    } else {
        Skip::NotThisType { detail }
    })
}

struct Parsed {
    preamble: std::ops::Range<usize>,
    files: Vec<FileDiff>,
}

fn parse(lines: &[Line]) -> Parsed {
    let n = lines.len();
    let first = (0..n).find(|&i| is_file_start(lines, i)).unwrap_or(n);
    let mut files = Vec::new();
    let mut i = first;
    while i < n {
        let start = i;
        let combined = lines[i].text.starts_with("diff --cc ") || lines[i].text.starts_with("diff --combined ");
        i += 1;
        // Extended headers and ---/+++ up to the first hunk, the next file or a line of no file
        // (a hunkless file, a rename or a binary change, can be followed by the next commit)
        while i < n && !lines[i].text.starts_with("@@") && !is_file_start(lines, i) && !of_no_file(lines[i].text) {
            i += 1;
        }
        let head = start..i;
        let mut hunks = Vec::new();
        let mut verbatim = if combined {
            Some(Verbatim::Combined)
        } else if lines[head.clone()].iter().any(|l| l.text.starts_with("GIT binary patch")) {
            Some(Verbatim::Binary)
        } else {
            None
        };
        // the first line in no hunk since the last hunk ended
        let mut loose = None;
        let (mut added, mut removed) = (0, 0);
        while i < n && !is_file_start(lines, i) {
            let t = lines[i].text;
            let header = (verbatim.is_none() && t.starts_with("@@")).then(|| HunkHeader::of(t));
            if let Some(None) = header {
                verbatim = Some(Verbatim::Malformed(i));
                i += 1;
                continue;
            }
            if let Some(Some(c)) = header {
                // a number past any real file's line count (or past u64) is no hunk this engine
                // can rebase: the file is kept verbatim rather than renumbered with wrapped sums
                let num = |digits: Option<&str>, default: usize| {
                    digits.map_or(Some(default), |d| d.parse().ok().filter(|n| *n <= MAX_LINE_NUMBER))
                };
                let parsed =
                    (num(Some(c.old_start), 0), num(c.old_len, 1), num(Some(c.new_start), 0), num(c.new_len, 1));
                let (Some(old_start), Some(old_len), Some(_), Some(new_len)) = parsed else {
                    verbatim = Some(Verbatim::Unreadable(i));
                    i += 1;
                    continue;
                };
                match hunk_end(lines, i + 1, old_len, new_len) {
                    Some(HunkBody { end, added: a, removed: r }) => {
                        let changes = a + r;
                        (added, removed) = (added + a, removed + r);
                        if let Some(at) = loose.or((changes == 0).then_some(i)) {
                            verbatim = verbatim.or(Some(Verbatim::Lying(at)));
                        }
                        hunks.push(Hunk {
                            header: i,
                            old_start,
                            old_len,
                            section: c.section.to_string(),
                            body: i + 1..end,
                            changes,
                        });
                        i = end;
                        loose = None;
                    }
                    None => {
                        verbatim = Some(Verbatim::Lying(i));
                        i += 1;
                    }
                }
            } else {
                if !hunks.is_empty() {
                    loose = loose.or(Some(i));
                }
                i += 1;
            }
        }
        files.push(FileDiff {
            lines: start..i,
            // a verbatim file's hunks do not say where it ends: it goes or stays whole, up to a
            // line of no file (no diff line starts as a commit or `Only in` does, not even a
            // binary patch's base85)
            tail: if verbatim.is_some() {
                (start + 1..i).find(|&k| of_no_file(lines[k].text)).unwrap_or(i)
            } else {
                hunks.last().map_or(head.end, |h| h.body.end)
            },
            path: path_of(lines, head.clone()),
            head,
            hunks,
            verbatim,
            added,
            removed,
        });
    }
    Parsed { preamble: 0..first, files }
}

/// A run of files under one commit header.
struct Commit<'t> {
    /// The commit's id; None for files before the first commit line, or when the text is not
    /// split by commit.
    id: Option<&'t str>,
    files: std::ops::Range<usize>,
}

/// The files grouped by the commit they belong to, when the text holds more than one commit
/// (`git log -p`, a `format-patch` series): a commit line lies in the preamble or after a file's
/// last hunk (a file's tail, which starts at its first commit line). One group of every file
/// otherwise.
fn commits<'t>(parsed: &Parsed, lines: &[Line<'t>]) -> Vec<Commit<'t>> {
    let last_id = |r: std::ops::Range<usize>| lines[r].iter().rev().find_map(|l| commit_id(l.text));
    let mut groups = vec![Commit { id: last_id(parsed.preamble.clone()), files: 0..0 }];
    for (fi, f) in parsed.files.iter().enumerate() {
        groups.last_mut().expect("one group at least").files.end = fi + 1;
        if let Some(id) = last_id(f.tail..f.lines.end) {
            groups.push(Commit { id: Some(id), files: fi + 1..fi + 1 });
        }
    }
    // a commit with no file after it (the last one of a log, or one with no diff) names none
    groups.retain(|g| !g.files.is_empty());
    if groups.iter().filter(|g| g.id.is_some()).count() < 2 {
        return vec![Commit { id: None, files: 0..parsed.files.len() }];
    }
    groups
}

pub struct DiffEngine;

impl Engine for DiffEngine {
    type Params = DiffParams;

    fn compress(input: &str, p: &DiffParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.is_empty() {
            return Err(Skip::Empty);
        }
        let lines = text::lines(input);
        let parsed = parse(&lines);
        if let Some(skip) = all_kept_whole(&parsed.files, ctx.lines_before) {
            return Err(skip);
        }
        if parsed.files.iter().all(|f| f.hunks.is_empty()) {
            let why = if input.contains('\x1b') {
                "no unified-diff hunks (@@ -a,b +c,d @@) found: the text has terminal colour codes, kept whole"
            } else {
                "no unified-diff hunks (@@ -a,b +c,d @@) found"
            };
            return Err(Skip::NotThisType { detail: why.to_string() });
        }
        if lines.len() < p.min_lines_for_ccr {
            return Err(Skip::TooSmall {
                detail: format!(
                    "{} lines; diffs under min_lines_for_ccr = {} pass through",
                    lines.len(),
                    p.min_lines_for_ccr
                ),
            });
        }
        let query = ctx.whole_query();
        let context_reason =
            format!("context farther than max_context_lines = {} from a change", p.max_context_lines).into();
        let lines_before = ctx.lines_before;
        Compressor { input, lines: &lines, p, words: ctx.query_words(), query, context_reason, lines_before }
            .run(&parsed)
    }
}

struct Compressor<'a> {
    input: &'a str,
    lines: &'a [Line<'a>],
    p: &'a DiffParams,
    words: Vec<String>,
    /// The whole query, lower-cased: a hunk or file holding it always stays.
    query: Option<String>,
    /// The ledger reason of every dropped context run, formatted once and shared.
    context_reason: Arc<str>,
    /// Lines of the whole input before this text, for reasons that name a line.
    lines_before: usize,
}

/// What happens to one kept file.
struct FilePlan {
    keep_hunk: Vec<bool>,
    /// Per body line of each hunk: kept?
    keep_line: Vec<Vec<bool>>,
}

impl<'a> Compressor<'a> {
    fn text(&self, r: std::ops::Range<usize>) -> &'a str {
        if r.is_empty() {
            return "";
        }
        &self.input[self.lines[r.start].start..self.lines[r.end - 1].end]
    }

    /// Whether these lines hold the whole query.
    fn asked_for(&self, r: std::ops::Range<usize>) -> bool {
        self.query.as_ref().is_some_and(|q| self.text(r).to_lowercase().contains(q.as_str()))
    }

    fn hunk_score(&self, h: &Hunk) -> f64 {
        let body = self.text(h.header..h.body.end);
        let mut s = (0.03 * h.changes as f64).min(0.3);
        s += 0.2 * text::count_query_hits(body, &self.words) as f64;
        if PRIORITY.is_match(body) {
            s += 0.3;
        }
        s.min(1.0)
    }

    fn plan(&self, f: &FileDiff) -> FilePlan {
        let nh = f.hunks.len();
        let mut keep_hunk = vec![true; nh];
        if nh > self.p.max_hunks_per_file {
            keep_hunk = vec![false; nh];
            let cap = self.p.max_hunks_per_file;
            let mut picked = Vec::new();
            if cap > 0 {
                picked.push(0);
            }
            if cap > 1 {
                picked.push(nh - 1);
            }
            // scored once each: the score runs a regex over the hunk's text
            let score: Vec<f64> = f.hunks.iter().map(|h| self.hunk_score(h)).collect();
            let mut middle: Vec<usize> = (1..nh - 1).collect();
            middle.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
            picked.extend(middle.into_iter().take(cap.saturating_sub(picked.len())));
            picked.into_iter().for_each(|h| keep_hunk[h] = true);
            for (hi, h) in f.hunks.iter().enumerate() {
                keep_hunk[hi] |= self.asked_for(h.header..h.body.end);
            }
        }
        let before = self.p.max_context_lines;
        let after = before.max(1);
        let keep_line = f
            .hunks
            .iter()
            .map(|h| {
                let body = &self.lines[h.body.clone()];
                let is_change: Vec<bool> = body.iter().map(|l| l.text.starts_with(['+', '-'])).collect();
                let mut keep = vec![false; body.len()];
                for (j, ch) in is_change.iter().enumerate() {
                    if *ch {
                        let lo = j.saturating_sub(before);
                        let hi = (j + after + 1).min(body.len());
                        keep[lo..hi].iter_mut().for_each(|k| *k = true);
                    }
                }
                // "\ No newline" lines follow the line before them; context distance skips them.
                for j in 0..body.len() {
                    if body[j].text.starts_with('\\') {
                        keep[j] = j > 0 && keep[j - 1];
                    }
                }
                keep
            })
            .collect();
        FilePlan { keep_hunk, keep_line }
    }

    fn run(&self, parsed: &Parsed) -> Result<Compressed, Skip> {
        let files = &parsed.files;
        // The most-changed files, ties in input order.
        let mut order: Vec<usize> = (0..files.len()).collect();
        order.sort_by(|&a, &b| {
            (files[b].added + files[b].removed).cmp(&(files[a].added + files[a].removed)).then(a.cmp(&b))
        });
        let mut keep_file = vec![false; files.len()];
        order.iter().take(self.p.max_files).for_each(|&f| keep_file[f] = true);
        for (fi, f) in files.iter().enumerate() {
            keep_file[fi] |= self.asked_for(f.lines.clone());
        }

        let mut ledger = LedgerBuilder::of_lines(self.input, self.lines);
        // a diff keeps most of its text (context goes, changes stay): one buffer, never regrown
        let mut out = String::with_capacity(self.input.len());
        out.push_str(self.text(parsed.preamble.clone()));
        let mut hunks_dropped = 0;
        let mut context_dropped = 0;
        let commits = commits(parsed, self.lines);
        let several = commits.len() > 1;
        for commit in &commits {
            for fi in commit.files.clone() {
                let f = &files[fi];
                if keep_file[fi] {
                    let (h, c) = self.emit_file(f, &mut out, &mut ledger);
                    hunks_dropped += h;
                    context_dropped += c;
                }
                // the files a commit lost are named before the next commit's header, which
                // follows its last file
                if several && fi + 1 == commit.files.end {
                    self.files_marker(files, &keep_file, commit, several, &mut out, &mut ledger);
                }
                // lines after the last hunk (`diff -r`'s "Only in", the next commit of `git log
                // -p`) stay whether or not the file does
                out.push_str(self.text(f.tail..f.lines.end));
            }
        }
        // with one commit or none, the dropped files are named at the end
        if let [all] = commits.as_slice() {
            self.files_marker(files, &keep_file, all, false, &mut out, &mut ledger);
        }
        let ledger = ledger.finish();
        let whole = verbatim_note(files, self.lines_before);
        if ledger.is_empty() {
            let caps = format!(
                "every hunk and context line is within the caps (max_context_lines = {}, max_hunks_per_file = {}, max_files = {})",
                self.p.max_context_lines, self.p.max_hunks_per_file, self.p.max_files
            );
            let detail = match whole {
                Some(w) => format!("{w}; in the other files {caps}"),
                None => caps,
            };
            return Err(Skip::NothingToDrop { detail });
        }
        let kept_files = keep_file.iter().filter(|k| **k).count();
        let mut strategy = format!(
            "kept {kept_files} of {} files; dropped {} hunks and {} context lines; hunk headers recomputed",
            files.len(),
            group_thousands(hunks_dropped),
            group_thousands(context_dropped)
        );
        if let Some(w) = whole {
            strategy = format!("{strategy}; {w}");
        }
        Ok(Compressed { output: out, ledger, strategy, notes: Vec::new(), budget_hit: false })
    }

    /// Writes a kept file up to its tail: verbatim, or with hunks and context cut and a marker
    /// naming them. Returns (hunks, context lines) dropped.
    fn emit_file(&self, f: &FileDiff, out: &mut String, ledger: &mut LedgerBuilder) -> (usize, usize) {
        let whole = f.lines.start..f.tail;
        if f.verbatim.is_some() || f.hunks.is_empty() {
            out.push_str(self.text(whole));
            return (0, 0);
        }
        let plan = self.plan(f);
        let changed = plan.keep_hunk.iter().any(|k| !k) || plan.keep_line.iter().any(|l| l.iter().any(|k| !k));
        if !changed {
            out.push_str(self.text(whole));
            return (0, 0);
        }
        out.push_str(self.text(f.head.clone()));
        let group = ledger.group();
        let (mut file_hunks, mut file_context) = (0, 0);
        let mut hunk_starts: Vec<usize> = Vec::new();
        let mut delta: isize = 0;
        let mut cursor = f.head.end;
        for (hi, h) in f.hunks.iter().enumerate() {
            // Lines between hunks that are not hunk lines stay verbatim.
            out.push_str(self.text(cursor..h.header));
            cursor = h.body.end;
            if !plan.keep_hunk[hi] {
                let span = self.lines[h.header].start..self.lines[h.body.end - 1].end;
                ledger.drop_span(
                    span,
                    None,
                    Unit::Hunks,
                    1,
                    "hunk over max_hunks_per_file (lower score: fewer changes, no query or priority words)",
                );
                file_hunks += 1;
                hunk_starts.push(h.old_start);
                continue;
            }
            file_context += self.emit_hunk(h, &plan.keep_line[hi], &mut delta, out, ledger);
        }
        if ledger.has_pending(group) {
            let mut parts = Vec::new();
            if file_hunks > 0 {
                parts.push(format!("{} (at old lines {})", Unit::Hunks.count(file_hunks), name_list(&hunk_starts, 30)));
            }
            if file_context > 0 {
                parts.push(Unit::ContextLines.count(file_context));
            }
            let phrase = format!("{} omitted from {}", parts.join(" and "), f.path);
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str(&ledger.marker(group, phrase, PayloadShape::Concat));
            out.push('\n');
        }
        (file_hunks, file_context)
    }

    /// One marker naming the files of `commit` that `keep_file` leaves out, if any (with
    /// `several` commits in the text, it names the commit too).
    fn files_marker(
        &self,
        files: &[FileDiff],
        keep_file: &[bool],
        commit: &Commit,
        several: bool,
        out: &mut String,
        ledger: &mut LedgerBuilder,
    ) {
        let group = ledger.group();
        let mut named = Vec::new();
        let mut reason: Option<Arc<str>> = None;
        for fi in commit.files.clone().filter(|&fi| !keep_file[fi]) {
            let f = &files[fi];
            let span = self.lines[f.lines.start].start..self.lines[f.tail - 1].end;
            ledger.drop_span(
                span,
                None,
                Unit::Files,
                1,
                reason
                    .get_or_insert_with(|| {
                        format!("file outside max_files = {} (fewer changed lines)", self.p.max_files).into()
                    })
                    .clone(),
            );
            named.push(format!("{} (+{} -{})", f.path, f.added, f.removed));
        }
        if !ledger.has_pending(group) {
            return;
        }
        let of = match (several, commit.id) {
            (false, _) => String::new(),
            (true, Some(id)) => format!(" from commit {}", &id[..7]),
            (true, None) => " before the first commit".to_string(),
        };
        let phrase = format!("{} omitted{of}: {}", Unit::Files.count(named.len()), name_list(&named, 30));
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&ledger.marker(group, phrase, PayloadShape::Concat));
        out.push('\n');
    }

    /// Writes a hunk's kept lines as one or more hunks with recomputed headers; records dropped
    /// context runs; returns how many context lines were dropped.
    fn emit_hunk(
        &self,
        h: &Hunk,
        keep: &[bool],
        delta: &mut isize,
        out: &mut String,
        ledger: &mut LedgerBuilder,
    ) -> usize {
        let body = &self.lines[h.body.clone()];
        // Old-side line number of each body line (the next old line for '+' lines).
        let mut old_next = if h.old_len == 0 { h.old_start + 1 } else { h.old_start };
        let mut old_no = Vec::with_capacity(body.len());
        for l in body {
            old_no.push(old_next);
            if !l.text.starts_with(['+', '\\']) {
                old_next += 1;
            }
        }
        let mut dropped = 0;
        let mut j = 0;
        let mut first = true;
        while j < body.len() {
            if !keep[j] {
                let s = j;
                while j < body.len() && !keep[j] {
                    j += 1;
                }
                let span = body[s].start..body[j - 1].end;
                let count = body[s..j].iter().filter(|l| !l.text.starts_with('\\')).count();
                ledger.drop_span(span, None, Unit::ContextLines, count, self.context_reason.clone());
                dropped += count;
                continue;
            }
            let s = j;
            while j < body.len() && keep[j] {
                j += 1;
            }
            let part = &body[s..j];
            let old_len = part.iter().filter(|l| !l.text.starts_with(['+', '\\'])).count();
            let new_len = part.iter().filter(|l| !l.text.starts_with(['-', '\\'])).count();
            let begin = old_no[s] as isize;
            let old_start = if old_len > 0 { begin } else { begin - 1 };
            let new_start = if new_len > 0 { begin + *delta } else { begin + *delta - 1 };
            let section = if first { h.section.as_str() } else { "" };
            out.push_str("@@ -");
            push_range(out, old_start, old_len);
            out.push_str(" +");
            push_range(out, new_start, new_len);
            out.push_str(" @@");
            out.push_str(section);
            out.push('\n');
            out.push_str(&self.input[part[0].start..part[part.len() - 1].end]);
            if !out.ends_with('\n') {
                out.push('\n');
            }
            *delta += new_len as isize - old_len as isize;
            first = false;
        }
        dropped
    }
}

/// Writes a hunk header's range: `start`, or `start,len` unless `len` is 1.
fn push_range(out: &mut String, start: isize, len: usize) {
    use std::fmt::Write;
    // writing to a String cannot fail
    let _ = if len == 1 { write!(out, "{}", start.max(0)) } else { write!(out, "{},{len}", start.max(0)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_diff(path: &str, hunks: &[(usize, usize)]) -> String {
        // hunks: (old_start, context-before) with 10 lines of context on each side and one change
        let mut s =
            format!("diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n");
        for (delta, &(start, _)) in hunks.iter().enumerate() {
            let delta = delta as isize;
            s.push_str(&format!("@@ -{start},21 +{},22 @@ fn x()\n", start as isize + delta));
            for k in 0..10 {
                s.push_str(&format!(" line {}\n", start + k));
            }
            s.push_str(&format!("-line {}\n+changed {}\n+added\n", start + 10, start + 10));
            for k in 11..21 {
                s.push_str(&format!(" line {}\n", start + k));
            }
        }
        s
    }

    #[test]
    fn recomputes_headers_after_trimming() {
        let d = file_diff("a.txt", &[(1, 0), (100, 0)]);
        let c = DiffEngine::compress(&d, &DiffParams::default(), &Context::default()).unwrap();
        let headers: Vec<&str> = c.output.lines().filter(|l| l.starts_with("@@")).collect();
        assert_eq!(headers, ["@@ -9,5 +9,6 @@ fn x()", "@@ -108,5 +109,6 @@ fn x()"]);
        assert!(c.output.contains("index 1111111..2222222 100644"));
        assert!(c.output.contains("[ctxlens: 32 context lines omitted from a.txt; key="));
        assert_eq!(c.ledger.drops.iter().map(|d| d.count).sum::<usize>(), 32);
    }

    #[test]
    fn drops_hunks_over_the_cap_and_rebases_new_starts() {
        let d = file_diff("b.txt", &[(1, 0), (100, 0), (200, 0)]);
        let p = DiffParams { max_hunks_per_file: 2, max_context_lines: 20, ..DiffParams::default() };
        let c = DiffEngine::compress(&d, &p, &Context::default()).unwrap();
        let headers: Vec<&str> = c.output.lines().filter(|l| l.starts_with("@@")).collect();
        // the middle hunk is gone, so the last one's new start shifts by one line less
        assert_eq!(headers, ["@@ -1,21 +1,22 @@ fn x()", "@@ -200,21 +201,22 @@ fn x()"]);
        assert!(c.output.contains("1 hunk (at old lines 100) omitted from b.txt"), "{}", c.output);
    }

    #[test]
    fn lines_after_a_files_last_hunk_stay_when_the_file_goes() {
        // `git log -p`: the next commit's header follows the last hunk of the previous file;
        // `diff -r`: `Only in` and `Binary files … differ` lines sit between files
        let between = "commit 0123abcd\nAuthor: t <a@b>\n\n    add b.txt\n\nOnly in b: new.txt\n";
        let d = format!("{}{between}{}", file_diff("a.txt", &[(1, 0)]), file_diff("b.txt", &[(1, 0), (100, 0)]));
        let p = DiffParams { max_files: 1, ..DiffParams::default() };
        let c = DiffEngine::compress(&d, &p, &Context::default()).unwrap();
        assert!(c.output.contains(between), "{}", c.output);
        assert!(c.output.contains("1 file omitted: a.txt"), "{}", c.output);
        let file = c.ledger.drops.iter().find(|x| x.unit == Unit::Files).expect("a.txt dropped");
        assert!(d[file.span.bytes.clone()].starts_with("diff --git a/a.txt"));
        assert!(!d[file.span.bytes.clone()].contains("commit 0123abcd"), "the file's drop ends at its last hunk");
    }

    #[test]
    fn a_hunk_whose_header_undercounts_its_body_keeps_its_file_verbatim() {
        // `@@ -1,2 +1,2 @@` over eight lines: the header ends the hunk after two context lines,
        // and its body's changes read as lines of no hunk; re-heading it would break the diff
        let mut d = String::from("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n");
        (0..3).for_each(|i| d.push_str(&format!(" ctx {i}\n")));
        d.push_str("-old\n+new\n");
        (4..30).for_each(|i| d.push_str(&format!(" ctx {i}\n")));
        d.push_str(
            &file_diff("y.txt", &[(1, 0)])
                .replace("diff --git a/y.txt b/y.txt\nindex 1111111..2222222 100644\n--- a/y.txt\n+++ b/y.txt\n", ""),
        );
        let lines = text::lines(&d);
        assert_eq!(parse(&lines).files[0].verbatim, Some(Verbatim::Lying(3)));
        let p = DiffParams { min_lines_for_ccr: 0, ..DiffParams::default() };
        if let Ok(c) = DiffEngine::compress(&d, &p, &Context::default()) {
            assert!(c.output.starts_with(&d), "kept whole: {}", c.output);
        }
        // dropped as a file, it goes whole: none of its lines are left behind as if they followed it
        let more = format!("{d}{}", file_diff("z.txt", &[(1, 0), (100, 0), (200, 0)]));
        let p = DiffParams { max_files: 1, ..p };
        let c = DiffEngine::compress(&more, &p, &Context::default()).unwrap();
        assert!(c.output.contains("1 file omitted: x") && !c.output.contains(" ctx 9\n"), "{}", c.output);
    }

    #[test]
    fn a_files_marker_comes_before_the_next_commits_header() {
        let next = "commit 4567ef\nAuthor: t <a@b>\n\n    second commit\n\n";
        let d = format!("{}{next}{}", file_diff("a.txt", &[(1, 0), (100, 0)]), file_diff("b.txt", &[(1, 0)]));
        let c = DiffEngine::compress(&d, &DiffParams::default(), &Context::default()).unwrap();
        let marker = c.output.find("omitted from a.txt").expect("a.txt's context is cut");
        let commit = c.output.find("commit 4567ef").expect("the next commit stays");
        assert!(marker < commit, "a.txt's marker is part of its commit: {}", c.output);
        assert!(c.output.contains(next));
    }

    #[test]
    fn in_a_log_each_commits_dropped_files_are_named_before_the_next_commit() {
        // `git log -p` of three commits, the middle one a rename with no hunk (the next commit's
        // header follows its extended headers directly)
        let rename = "diff --git a/old.txt b/new.txt\nsimilarity index 100%\nrename from old.txt\nrename to new.txt\n";
        let header = |id: &str, msg: &str| format!("commit {id}\nAuthor: t <a@b>\nDate:   today\n\n    {msg}\n\n");
        let (c1, c2, c3) = ("1111111aaaaaaa", "2222222bbbbbbb", "3333333ccccccc");
        let d = format!(
            "{}{}{}{}{rename}{}{}",
            header(c1, "first"),
            file_diff("a.txt", &[(1, 0), (100, 0)]),
            file_diff("b.txt", &[(1, 0)]),
            header(c2, "second"),
            header(c3, "third"),
            file_diff("a.txt", &[(1, 0), (100, 0), (200, 0)]),
        );
        let p = DiffParams { max_files: 2, ..DiffParams::default() };
        let c = DiffEngine::compress(&d, &p, &Context::default()).unwrap();
        let at = |s: &str| c.output.find(s).unwrap_or_else(|| panic!("{s:?} in {}", c.output));
        // b.txt (commit 1) and the rename (commit 2) are the least changed
        let first = at("[ctxlens: 1 file omitted from commit 1111111: b.txt (+2 -1)");
        let second = at("[ctxlens: 1 file omitted from commit 2222222: new.txt (+0 -0)");
        assert!(at("commit 1111111") < first && first < at("commit 2222222"), "{}", c.output);
        assert!(at("commit 2222222") < second && second < at("commit 3333333"), "{}", c.output);
        // every commit's header and message stays; the rename's drop holds only its own lines
        for msg in ["first", "second", "third"] {
            assert!(c.output.contains(&format!("\n    {msg}\n")), "{msg}: {}", c.output);
        }
        let renamed = c.ledger.drops.iter().find(|x| d[x.span.bytes.clone()].contains("rename from")).unwrap();
        assert_eq!(&d[renamed.span.bytes.clone()], rename);
        // a binary patch is kept or dropped whole, but only up to the next commit's header
        let binary = "diff --git a/x.bin b/x.bin\nnew file mode 100644\nindex 0000000..1111111\nGIT binary patch\nliteral 4\nLcmZ?d00001\n\nliteral 0\nHcmV?d00001\n\n";
        let d = format!("{}{binary}{}{}", header(c1, "binary"), header(c2, "after"), file_diff("a.txt", &[(1, 0)]));
        let p = DiffParams { max_files: 1, min_lines_for_ccr: 0, ..DiffParams::default() };
        let c = DiffEngine::compress(&d, &p, &Context::default()).unwrap();
        assert!(c.output.contains(&header(c2, "after")), "{}", c.output);
        assert!(c.output.contains("[ctxlens: 1 file omitted from commit 1111111: x.bin (+0 -0)"), "{}", c.output);
        // one commit (`git show`): the old single marker at the end, with no commit named
        let show = format!("{}{}{}", header(c1, "only"), file_diff("a.txt", &[(1, 0)]), file_diff("b.txt", &[(1, 0)]));
        let p = DiffParams { max_files: 1, ..DiffParams::default() };
        let c = DiffEngine::compress(&show, &p, &Context::default()).unwrap();
        assert!(c.output.contains("[ctxlens: 1 file omitted: b.txt (+2 -1)"), "{}", c.output);
    }

    #[test]
    fn a_file_kept_whole_is_named_in_the_reason_and_an_unreadable_header_is_said_so() {
        let broken = file_diff("x.txt", &[(1, 0), (100, 0)]).replace("@@ -100,21 +101,22 @@", "@@ -x,y +z @@");
        let lines = text::lines(&broken);
        assert_eq!(parse(&lines).files[0].verbatim, Some(Verbatim::Malformed(28)));
        // alone, it is a parse failure that leads with what was kept whole and why
        let Err(Skip::ParseFailed { detail }) =
            DiffEngine::compress(&broken, &DiffParams::default(), &Context::default())
        else {
            panic!("an unreadable header is a parse failure")
        };
        assert!(detail.starts_with("kept whole: x.txt: line 29 starts with @@ but is not a hunk header"), "{detail}");
        // beside a file that is cut, the reason names it too
        let d = format!("{broken}{}", file_diff("y.txt", &[(1, 0)]));
        let c = DiffEngine::compress(&d, &DiffParams::default(), &Context::default()).unwrap();
        assert!(
            c.strategy
                .ends_with("; kept whole: x.txt: line 29 starts with @@ but is not a hunk header (@@ -a,b +c,d @@)"),
            "{}",
            c.strategy
        );
        assert!(c.output.starts_with(&broken), "{}", c.output);
    }

    #[test]
    fn hunk_headers_are_read_as_git_writes_them_and_nothing_else() {
        let h = HunkHeader::of("@@ -12,7 +13 @@ fn main() {").unwrap();
        assert_eq!(
            (h.old_start, h.old_len, h.new_start, h.new_len, h.section),
            ("12", Some("7"), "13", None, " fn main() {")
        );
        let h = HunkHeader::of("@@ -0,0 +1,3 @@").unwrap();
        assert_eq!((h.old_start, h.old_len, h.new_start, h.new_len, h.section), ("0", Some("0"), "1", Some("3"), ""));
        // digits past any integer are the caller's to refuse (they stay digits here)
        assert_eq!(HunkHeader::of("@@ -99999999999999999999999 +1 @@").unwrap().old_start.len(), 23);
        for bad in [
            "@@ -x,y +z @@",
            "@@ -1, +1 @@",
            "@@ -1,2 +1,2@@",
            "@@ -1 -1 @@",
            "@@ 1 +1 @@",
            "@@ -1 +1",
            "@@ -\u{663} +1 @@", // an Arabic-Indic digit: no number git writes
            "@@@ -1,2 -1,2 +1,3 @@@",
            "@@ -1 +1é @@",
        ] {
            assert!(HunkHeader::of(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pure_insertions_and_new_files() {
        let d = "diff --git a/n.txt b/n.txt\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1,3 @@\n+a\n+b\n+c\n";
        let lines = text::lines(d);
        let parsed = parse(&lines);
        assert_eq!(parsed.files.len(), 1);
        assert_eq!(parsed.files[0].path, "n.txt");
        assert_eq!(parsed.files[0].hunks[0].old_len, 0);
    }
}
