//! Search-results engine: grep / ripgrep output (`path:line:text`, `path-line-text` context,
//! `--` separators, `--heading` mode) cut to per-file and total budgets by relevance.
//!
//! Technique and knobs follow Headroom's SearchCompressor. Differences: lines that do not parse
//! as results are kept in place, never silently removed; each file's dropped matches are marked
//! right after its last kept line, and dropped files are listed by name and match count in one
//! final marker; ties between files keep input order instead of favouring early paths.

use std::collections::{HashMap, HashSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{Compressed, Context, Engine, Factor, Memo, Skip};
use super::sizing;
use super::text::{self, Line};
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, group_thousands, name_list};

/// Knobs of the search-results engine (Headroom `SearchCompressorConfig` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SearchParams {
    /// Most matches kept per file.
    pub max_matches_per_file: usize,
    /// Always keep each kept file's first match.
    pub always_keep_first: bool,
    /// Always keep each kept file's last match.
    pub always_keep_last: bool,
    /// Upper bound of the adaptive total number of matches kept.
    pub max_total_matches: usize,
    /// Most files kept.
    pub max_files: usize,
    /// Extra words that raise a match's score (+0.4 each).
    pub context_keywords: Vec<String>,
    /// Raise matches that mention errors (+0.5), warnings (+0.4) or important words (+0.3).
    pub boost_errors: bool,
    /// Headroom writes its retrieval marker only from this many matches. ctxlens marks every drop
    /// whatever the count, and notes where Headroom would not.
    pub min_matches_for_ccr: usize,
    /// Print kept matches grouped under a path heading instead of `path:line:text`.
    pub group_by_file: bool,
    /// Budget multiplier: above 1 keeps more matches, below 1 fewer; the budget stays capped at
    /// `max_total_matches`.
    pub bias: Factor,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams {
            max_matches_per_file: 5,
            always_keep_first: true,
            always_keep_last: true,
            max_total_matches: 30,
            max_files: 15,
            context_keywords: Vec::new(),
            boost_errors: true,
            min_matches_for_ccr: 10,
            group_by_file: false,
            bias: Factor(1.0),
        }
    }
}

/// What one input line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A result line: file index, line number, byte offset of the text after `path:N:`.
    Match { file: usize, line_no: u64, text_at: usize },
    /// A `-C` context line of a file.
    Context { file: usize, line_no: u64, text_at: usize },
    /// `--` between groups.
    Separator,
    /// A `--heading` path line.
    Heading { file: usize },
    /// Anything else: kept where it is.
    Unparsed,
}

/// A result line's split: where its path ends, its line number, where its text starts.
type Split = (usize, u64, usize);

/// `N:` or `N-` at the start of `t`: the number, the separator and where the rest starts (a
/// number too long for u64 reads as 0, as before).
fn numbered(t: &str) -> Option<(u64, u8, usize)> {
    let b = t.as_bytes();
    let digits = b.iter().take_while(|x| x.is_ascii_digit()).count();
    let sep = *b.get(digits)?;
    (digits > 0 && (sep == b':' || sep == b'-')).then(|| (t[..digits].parse().unwrap_or(0), sep, digits + 1))
}

/// The `:N:` splits of a line from byte `from` on, in order, at most `limit` of them, each whose
/// path passes `ok`.
fn colon_splits(t: &str, from: usize, limit: usize, ok: impl Fn(&str) -> bool) -> Vec<Split> {
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut at = from;
    while out.len() < limit {
        let Some(colon) = memchr::memchr(b':', &b[at..]).map(|c| at + c) else { break };
        let digits = b[colon + 1..].iter().take_while(|x| x.is_ascii_digit()).count();
        if colon > 0 && digits > 0 && b.get(colon + 1 + digits) == Some(&b':') && ok(&t[..colon]) {
            out.push((colon, t[colon + 1..colon + 1 + digits].parse().unwrap_or(0), colon + digits + 2));
        }
        at = colon + 1;
    }
    out
}

/// Where each result line's path ends, its line number and where its text starts. A line splits
/// at its first `:N:` unless a path itself holds `:N:` (`data/a:1:b.txt:12:…`): a split that makes
/// the same (path, line) twice, where a longer path without spaces makes it once, is the wrong
/// one (grep prints each line of a file once).
fn result_splits(lines: &[Line]) -> Vec<Option<Split>> {
    let mut candidates: Vec<(usize, Vec<Split>)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let t = l.text;
        let Some(&first) = colon_splits(t, 0, 1, |_| true).first() else { continue };
        if !path_like(&t[..first.0]) {
            continue;
        }
        let mut all = vec![first];
        all.extend(colon_splits(t, first.0 + 1, 3, |longer| path_like(longer) && !longer.contains(' ')));
        candidates.push((i, all));
    }
    let mut splits = vec![None; lines.len()];
    if candidates.iter().all(|(_, all)| all.len() == 1) {
        // one reading per line: nothing to choose
        for (i, all) in candidates {
            splits[i] = Some(all[0]);
        }
        return splits;
    }
    let mut seen: HashMap<(&str, u64), usize> = HashMap::new();
    for (i, all) in &candidates {
        for &(end, n, _) in all {
            *seen.entry((&lines[*i].text[..end], n)).or_default() += 1;
        }
    }
    let once = |i: usize, &(end, n, _): &Split| seen.get(&(&lines[i].text[..end], n)) == Some(&1);
    for (i, all) in &candidates {
        let first = all[0];
        let pick =
            if once(*i, &first) { first } else { all[1..].iter().copied().find(|c| once(*i, c)).unwrap_or(first) };
        splits[*i] = Some(pick);
    }
    splits
}

/// Whether `s` looks like a file path rather than a timestamp or a word.
fn path_like(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(char::is_whitespace)
        && !s.contains("::")
        && (s.contains('/') || s.contains('\\') || s.contains('.'))
        && s.chars().any(char::is_alphabetic)
}

/// How many of `lines` parse as search output (results, context lines, separators, headings),
/// and how many are not blank.
pub fn coverage(lines: &[Line]) -> (usize, usize) {
    coverage_of(lines, &parse(lines))
}

fn coverage_of(lines: &[Line], parsed: &Parsed) -> (usize, usize) {
    // context lines with no match among them are no search results
    let any_match = parsed.kinds.iter().any(|k| matches!(k, Kind::Match { .. }));
    let results = if any_match { parsed.kinds.iter().filter(|k| !matches!(k, Kind::Unparsed)).count() } else { 0 };
    let non_empty = lines.iter().filter(|l| !l.text.trim().is_empty()).count();
    (results, non_empty)
}

struct Parsed {
    kinds: Vec<Kind>,
    files: Vec<String>,
}

fn parse(lines: &[Line]) -> Parsed {
    let mut files: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut file_id = |path: &str, files: &mut Vec<String>| -> usize {
        *index.entry(path.to_string()).or_insert_with(|| {
            files.push(path.to_string());
            files.len() - 1
        })
    };
    let mut kinds = vec![Kind::Unparsed; lines.len()];
    let splits = result_splits(lines);
    // a path holding `:N:` (`src/x:3:y.rs`) makes its context lines (`src/x:3:y.rs-4-…`) read as
    // results of a shorter path (`src/x`, line 3): they are context lines of the longer one
    let colon_paths: HashSet<&str> = splits
        .iter()
        .zip(lines)
        .filter_map(|(s, l)| s.map(|(end, _, _)| &l.text[..end]))
        .filter(|p| p.contains(':'))
        .collect();
    // Pass 1: result lines and headings.
    let mut heading: Option<usize> = None;
    for (i, l) in lines.iter().enumerate() {
        let t = l.text;
        if t == "--" {
            kinds[i] = Kind::Separator;
            continue;
        }
        if !colon_paths.is_empty()
            && let Some((path_end, line_no, text_at)) = context_split(t, |p| colon_paths.contains(p))
        {
            kinds[i] = Kind::Context { file: file_id(&t[..path_end], &mut files), line_no, text_at };
            heading = None;
            continue;
        }
        if let Some((path_end, line_no, text_at)) = splits[i] {
            kinds[i] = Kind::Match { file: file_id(&t[..path_end], &mut files), line_no, text_at };
            heading = None;
            continue;
        }
        if let (Some(h), Some((line_no, sep, text_at))) = (heading, numbered(t)) {
            kinds[i] = if sep == b':' {
                Kind::Match { file: h, line_no, text_at }
            } else {
                Kind::Context { file: h, line_no, text_at }
            };
            continue;
        }
        let next_numbered = lines.get(i + 1).is_some_and(|n| numbered(n.text).is_some());
        // a heading names a file (`2024-05-01 INFO …` before another dated line is no heading)
        if next_numbered && !t.contains(':') && path_like(t) && numbered(t).is_none() {
            let f = file_id(t, &mut files);
            kinds[i] = Kind::Heading { file: f };
            heading = Some(f);
            continue;
        }
        if t.trim().is_empty() {
            heading = None;
        }
    }
    // Pass 2: `path-N-text` context lines of files seen in pass 1.
    for (i, l) in lines.iter().enumerate() {
        if kinds[i] != Kind::Unparsed {
            continue;
        }
        if let Some((path_end, line_no, text_at)) = context_split(l.text, |p| index.contains_key(p)) {
            kinds[i] = Kind::Context { file: index[&l.text[..path_end]], line_no, text_at };
        }
    }
    let parsed = Parsed { kinds, files };
    // a path:N: inside the text of `grep -n FILE` lines (a test naming `src/a.rs:3:`) is no file
    let read = |p: &Parsed| p.kinds.iter().filter(|k| **k != Kind::Unparsed).count();
    match one_file(lines) {
        Some(one) if read(&one) > read(&parsed) => one,
        _ => parsed,
    }
}

/// `grep -n` on one file prints no file name: `N:match`, `N-context` and `--` lines. Read so
/// (as one file with no name) when at least 80% of the lines are those, with three numbers or
/// more, rising, a match among them, and a separator or a jump between numbers (a file printed
/// with line numbers, or a log whose lines start `N-`, has neither).
fn one_file(lines: &[Line]) -> Option<Parsed> {
    let mut kinds = vec![Kind::Unparsed; lines.len()];
    let (mut numbers, mut separators, mut non_empty) = (0usize, 0usize, 0usize);
    let (mut last, mut matches, mut jump) = (0u64, 0usize, false);
    for (i, l) in lines.iter().enumerate() {
        let t = l.text;
        if t.trim().is_empty() {
            continue;
        }
        non_empty += 1;
        if t == "--" {
            kinds[i] = Kind::Separator;
            separators += 1;
            continue;
        }
        let Some((line_no, sep, text_at)) = numbered(t) else { continue };
        if numbers > 0 && line_no <= last {
            return None;
        }
        jump |= numbers > 0 && line_no != last + 1;
        matches += usize::from(sep == b':');
        kinds[i] = if sep == b':' {
            Kind::Match { file: 0, line_no, text_at }
        } else {
            Kind::Context { file: 0, line_no, text_at }
        };
        last = line_no;
        numbers += 1;
    }
    let enough = numbers >= 3 && matches > 0 && (numbers + separators) * 5 >= non_empty * 4;
    (enough && (separators > 0 || jump)).then(|| Parsed { kinds, files: vec![String::new()] })
}

/// `PATH-N-text` with a path `known` accepts: where the path ends, the line number and where the
/// text starts.
fn context_split(t: &str, known: impl Fn(&str) -> bool) -> Option<Split> {
    t.match_indices('-').find_map(|(dash, _)| {
        let rest = &t[dash + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0 && rest.as_bytes().get(digits) == Some(&b'-') && known(&t[..dash]))
            .then(|| (dash, rest[..digits].parse().unwrap_or(0), dash + 1 + digits + 1))
    })
}

pub struct SearchEngine;

impl Engine for SearchEngine {
    type Params = SearchParams;

    fn compress(input: &str, p: &SearchParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.is_empty() {
            return Err(Skip::Empty);
        }
        let lines = text::lines(input);
        let parsed = parse(&lines);
        let matches: Vec<usize> = (0..lines.len()).filter(|&i| matches!(parsed.kinds[i], Kind::Match { .. })).collect();
        let (result_lines, non_empty) = coverage_of(&lines, &parsed);
        if matches.is_empty() {
            // context lines with no match are no search (a log whose lines start `N-N-…`)
            return Err(Skip::NotThisType { detail: "no match line (path:line:text) among the results".into() });
        }
        if result_lines * 10 < non_empty * 3 {
            return Err(Skip::NotThisType {
                detail: format!(
                    "{result_lines} of {non_empty} lines look like grep results (path:line:text); need 30%"
                ),
            });
        }
        let scores = score_matches(&lines, &parsed, &matches, p, ctx);
        // a match holding the whole query is what the user asked for: it always stays
        let query = ctx.whole_query();
        let exact: Vec<usize> = match &query {
            Some(q) => matches.iter().copied().filter(|&i| lines[i].text.to_lowercase().contains(q.as_str())).collect(),
            None => Vec::new(),
        };
        let keep = select(&lines, &parsed, &matches, &scores, &exact, p, ctx.memo.as_deref());
        let mut c = render(input, &lines, &parsed, &keep, p)?;
        if matches.len() < p.min_matches_for_ccr {
            // Headroom's threshold decides only its retrieval marker; ctxlens marks every drop
            c.notes.push(format!(
                "{} matches, under min_matches_for_ccr = {}: Headroom would drop these lines with no retrieval marker",
                matches.len(),
                p.min_matches_for_ccr
            ));
        }
        Ok(c)
    }
}

fn score_matches(lines: &[Line], parsed: &Parsed, matches: &[usize], p: &SearchParams, ctx: &Context) -> Vec<f64> {
    let words = ctx.query_words();
    let keywords: Vec<String> = p.context_keywords.iter().map(|k| k.to_lowercase()).collect();
    matches
        .iter()
        .map(|&i| {
            let t = lines[i].text;
            let mut s = 0.3 * text::count_query_hits(t, &words) as f64;
            s += 0.4 * text::count_query_hits(t, &keywords) as f64;
            if p.boost_errors {
                let body = match parsed.kinds[i] {
                    Kind::Match { text_at, .. } => &t[text_at.min(t.len())..],
                    _ => t,
                };
                if text::has_error_word(body) {
                    s += 0.5;
                } else if text::has_warning_word(body) {
                    s += 0.4;
                } else if text::has_importance_word(body) {
                    s += 0.3;
                }
            }
            (i, s.min(1.0))
        })
        .fold(vec![0.0; lines.len()], |mut all, (i, s)| {
            all[i] = s;
            all
        })
}

fn file_of(k: Kind) -> Option<usize> {
    match k {
        Kind::Match { file, .. } | Kind::Context { file, .. } | Kind::Heading { file } => Some(file),
        Kind::Separator | Kind::Unparsed => None,
    }
}

/// Which lines to keep.
fn select(
    lines: &[Line],
    parsed: &Parsed,
    matches: &[usize],
    scores: &[f64],
    exact: &[usize],
    p: &SearchParams,
    memo: Option<&Memo>,
) -> Vec<bool> {
    let n = lines.len();
    let texts: Vec<&str> = matches.iter().map(|&i| lines[i].text).collect();
    let budget = sizing::optimal_k(texts.as_slice(), p.bias.get(), 5, p.max_total_matches.max(5), memo).max(1);
    // Files by total score, ties in input order.
    let mut per_file: Vec<Vec<usize>> = vec![Vec::new(); parsed.files.len()];
    for &i in matches {
        if let Some(f) = file_of(parsed.kinds[i]) {
            per_file[f].push(i);
        }
    }
    let mut ranked: Vec<usize> = (0..parsed.files.len()).filter(|&f| !per_file[f].is_empty()).collect();
    let totals: Vec<f64> = per_file.iter().map(|ms| ms.iter().map(|&i| scores[i]).sum()).collect();
    ranked.sort_by(|&a, &b| totals[b].total_cmp(&totals[a]).then(a.cmp(&b)));
    ranked.truncate(p.max_files.min(budget));

    // Per file: first, last, then best, up to the per-file cap; the first and last match of every
    // kept file are guaranteed (as the knobs say), the rest compete for the remaining budget.
    let mut guaranteed = Vec::new();
    let mut optional = Vec::new();
    for &f in &ranked {
        let ms = &per_file[f];
        let mut picks: Vec<usize> = Vec::new();
        if p.always_keep_first {
            picks.push(ms[0]);
        }
        if p.always_keep_last && !picks.contains(&ms[ms.len() - 1]) {
            picks.push(ms[ms.len() - 1]);
        }
        let mut rest: Vec<usize> = ms.iter().copied().filter(|i| !picks.contains(i)).collect();
        rest.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
        picks.extend(rest);
        picks.truncate(p.max_matches_per_file.max(1));
        let ends = usize::from(p.always_keep_first) + usize::from(p.always_keep_last && ms.len() > 1);
        let fixed = ends.clamp(1, picks.len());
        guaranteed.extend(&picks[..fixed]);
        optional.extend(picks.into_iter().skip(fixed));
    }
    optional.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let room = budget.saturating_sub(guaranteed.len());
    let mut keep = vec![false; n];
    for i in guaranteed.into_iter().chain(optional.into_iter().take(room)).chain(exact.iter().copied()) {
        keep[i] = true;
    }
    // Context lines follow the nearest match of their group; headings their file; the rest stays.
    let mut owner = vec![usize::MAX; n];
    let mut group_start = 0;
    for i in 0..=n {
        let boundary = i == n || matches!(parsed.kinds[i], Kind::Separator | Kind::Unparsed | Kind::Heading { .. });
        if boundary {
            let group: Vec<usize> = (group_start..i).collect();
            let ms: Vec<usize> =
                group.iter().copied().filter(|&j| matches!(parsed.kinds[j], Kind::Match { .. })).collect();
            for &j in &group {
                if matches!(parsed.kinds[j], Kind::Context { .. })
                    && let Some(&m) = ms.iter().min_by_key(|&&m| (m.abs_diff(j), m < j))
                {
                    owner[j] = m;
                }
            }
            group_start = i + 1;
        }
    }
    let mut kept_files = vec![false; parsed.files.len()];
    for (i, k) in parsed.kinds.iter().enumerate() {
        if let Some(f) = file_of(*k).filter(|_| keep[i]) {
            kept_files[f] = true;
        }
    }
    for i in 0..n {
        keep[i] = match parsed.kinds[i] {
            Kind::Match { .. } => keep[i],
            Kind::Context { file, .. } => {
                if owner[i] == usize::MAX {
                    kept_files[file]
                } else {
                    keep[owner[i]]
                }
            }
            Kind::Heading { file } => kept_files[file],
            Kind::Unparsed | Kind::Separator => true,
        };
    }
    // One separator survives in each gap between kept lines, the first after the lines before
    // it, so the kept groups stay apart as grep set them apart (dropped groups in between or not).
    let mut kept_before = false;
    let mut chosen = None;
    for i in 0..n {
        if parsed.kinds[i] == Kind::Separator {
            keep[i] = false;
            if kept_before && chosen.is_none() {
                chosen = Some(i);
            }
        } else if keep[i] {
            if let Some(s) = chosen.take() {
                keep[s] = true;
            }
            kept_before = true;
        }
    }
    keep
}

fn render(input: &str, lines: &[Line], parsed: &Parsed, keep: &[bool], p: &SearchParams) -> Result<Compressed, Skip> {
    let n = lines.len();
    if keep.iter().all(|k| *k) {
        return Err(Skip::NothingToDrop { detail: "every match fits the per-file and total budgets".to_string() });
    }
    let total_matches = parsed.kinds.iter().filter(|k| matches!(k, Kind::Match { .. })).count();
    let kept_matches = (0..n).filter(|&i| keep[i] && matches!(parsed.kinds[i], Kind::Match { .. })).count();
    // Which file each dropped line belongs to (separators take the file before them).
    let mut file_at: Vec<Option<usize>> = Vec::with_capacity(n);
    let mut last = None;
    for k in &parsed.kinds {
        let f = file_of(*k).or(if *k == Kind::Separator { last } else { None });
        if f.is_some() {
            last = f;
        }
        file_at.push(f);
    }
    let mut last_kept_line = vec![None; parsed.files.len()];
    for (i, f) in file_at.iter().enumerate() {
        // a file's marker goes after its last kept line, before a separator that follows it
        if let Some(f) = f.filter(|_| keep[i] && parsed.kinds[i] != Kind::Separator) {
            last_kept_line[f] = Some(i);
        }
    }
    let file_kept = |f: usize| last_kept_line[f].is_some();
    let mut ledger = LedgerBuilder::of_lines(input, lines);
    let mut out = String::with_capacity(input.len() / 3);
    let mut heading_file: Option<usize> = None;
    let runs = dropped_runs(keep, &file_at);
    let reason_partial: std::sync::Arc<str> =
        "below the file's match cap or the total budget (lower relevance score)".into();
    // output with context (`-C`) reads consecutive lines as adjacent: where lines of one group
    // are dropped between two kept ones, a `--` marks the gap, as grep marks gaps between groups
    let with_context = parsed.kinds.iter().any(|k| matches!(k, Kind::Context { .. }));
    let mut last_emitted: Option<usize> = None;
    for i in 0..n {
        if keep[i] {
            if let Some(j) = last_emitted
                && with_context
                && j + 1 < i
                && let Kind::Match { file: a, .. } | Kind::Context { file: a, .. } = parsed.kinds[j]
                && let Kind::Match { file: b, .. } | Kind::Context { file: b, .. } = parsed.kinds[i]
                && a == b
            {
                out.push_str("--\n");
            }
            emit_line(&mut out, input, lines, parsed, i, p, &mut heading_file);
            last_emitted = Some(i);
        }
        // After the last kept line of a file, mark that file's dropped lines.
        let Some(f) = file_at[i] else { continue };
        if last_kept_line[f] != Some(i) {
            continue;
        }
        let group = ledger.group();
        let mut dropped_matches = 0;
        let mut dropped_other = 0;
        for r in runs.iter().filter(|r| r.file == Some(f)) {
            let (m, o) = count_kinds(parsed, r.lines.clone());
            dropped_matches += m;
            dropped_other += o;
            let (unit, count) = if m > 0 { (Unit::Matches, m) } else { (Unit::Lines, o) };
            ledger.drop_span(
                lines[r.lines.start].start..lines[r.lines.end - 1].end,
                None,
                unit,
                count,
                reason_partial.clone(),
            );
        }
        if ledger.has_pending(group) {
            // the first and last line numbers among the dropped lines (separators have none)
            let numbered = || runs.iter().filter(|r| r.file == Some(f)).flat_map(|r| r.lines.clone());
            let first = numbered().map(|i| line_no(parsed, i)).find(|n| *n > 0);
            let lastn = numbered().rev().map(|i| line_no(parsed, i)).find(|n| *n > 0);
            let range = match (first, lastn) {
                (Some(a), Some(b)) if a != b => format!(", lines {a}-{b}"),
                (Some(a), _) => format!(", line {a}"),
                _ => String::new(),
            };
            let extra = if dropped_other > 0 {
                format!(" and {} context/separator lines", group_thousands(dropped_other))
            } else {
                String::new()
            };
            // the one file of `grep -n FILE` output has no name to give
            let from = match parsed.files[f].as_str() {
                "" => String::new(),
                name => format!(" from {name}"),
            };
            let phrase = format!("{}{extra} omitted{from}{range}", Unit::Matches.count(dropped_matches));
            out.push_str(&ledger.marker(group, phrase, PayloadShape::Concat));
            out.push('\n');
        }
    }
    // Files with nothing kept: one marker at the end naming them.
    let group = ledger.group();
    // (file, dropped matches) in input order, with an index to add to them without a search
    let mut dropped_files: Vec<(usize, usize)> = Vec::new();
    let mut slot: Vec<Option<usize>> = vec![None; parsed.files.len()];
    for r in runs.iter().filter(|r| r.file.is_none_or(|f| !file_kept(f))) {
        let (m, o) = count_kinds(parsed, r.lines.clone());
        let (unit, count) = if m > 0 { (Unit::Matches, m) } else { (Unit::Lines, o) };
        let reason = match r.file {
            Some(_) => "file outside max_files or the total budget (lower total relevance score)",
            None => "separator between dropped results",
        };
        ledger.drop_span(lines[r.lines.start].start..lines[r.lines.end - 1].end, None, unit, count, reason);
        if let Some(f) = r.file {
            match slot[f] {
                Some(j) => dropped_files[j].1 += m,
                None => {
                    slot[f] = Some(dropped_files.len());
                    dropped_files.push((f, m));
                }
            }
        }
    }
    if ledger.has_pending(group) {
        let matches: usize = dropped_files.iter().map(|d| d.1).sum();
        // every file is named, after the folder all the input's files share; past
        // MAX_NAMED_FILES the rest are counted (the key gives them back)
        let prefix = common_dir(&parsed.files);
        let named: Vec<String> = dropped_files
            .iter()
            .map(|(f, m)| {
                let rel = &parsed.files[*f][prefix.len()..];
                if *m == 1 { rel.to_string() } else { format!("{rel} ({m})") }
            })
            .collect();
        let under = if prefix.is_empty() { String::new() } else { format!(" in {prefix}") };
        let phrase = format!(
            "{} with {} omitted{under}: {}",
            Unit::Files.count(dropped_files.len()),
            Unit::Matches.count(matches),
            name_list(&named, MAX_NAMED_FILES)
        );
        if !out.is_empty() && !out.ends_with(['\n', '\r']) {
            out.push('\n');
        }
        out.push_str(&ledger.marker(group, phrase, PayloadShape::Concat));
        out.push('\n');
    }
    if !input.ends_with(['\n', '\r']) && out.ends_with('\n') {
        out.pop();
    }
    let kept_files = (0..parsed.files.len()).filter(|&f| file_kept(f)).count();
    let mut has_match = vec![false; parsed.files.len()];
    for k in &parsed.kinds {
        if let Kind::Match { file, .. } = k {
            has_match[*file] = true;
        }
    }
    let files_with_matches = has_match.iter().filter(|h| **h).count();
    let unparsed = parsed.kinds.iter().filter(|k| **k == Kind::Unparsed).count();
    let strategy = format!(
        "kept {} of {} matches in {} of {} files",
        group_thousands(kept_matches),
        group_thousands(total_matches),
        kept_files,
        files_with_matches
    );
    let mut notes = Vec::new();
    if unparsed > 0 {
        notes.push(format!("{unparsed} lines are not search results; kept in place"));
    }
    Ok(Compressed { output: out, ledger: ledger.finish(), strategy, notes, budget_hit: false })
}

/// Most files one marker names; a longer list says how many more there are.
const MAX_NAMED_FILES: usize = 400;

/// The folder prefix (up to and with its last `/`) every path shares.
pub fn common_dir<S: AsRef<str>>(paths: &[S]) -> &str {
    let Some(first) = paths.first().map(AsRef::as_ref) else { return "" };
    let mut len = first.len();
    for p in &paths[1..] {
        len = first.bytes().zip(p.as_ref().bytes()).take(len).take_while(|(a, b)| a == b).count();
    }
    let shared = &first[..first.floor_char_boundary(len)];
    shared.rfind('/').map_or("", |i| &first[..=i])
}

fn line_no(parsed: &Parsed, i: usize) -> u64 {
    match parsed.kinds[i] {
        Kind::Match { line_no, .. } | Kind::Context { line_no, .. } => line_no,
        _ => 0,
    }
}

fn count_kinds(parsed: &Parsed, range: std::ops::Range<usize>) -> (usize, usize) {
    let m = range.clone().filter(|&i| matches!(parsed.kinds[i], Kind::Match { .. })).count();
    (m, range.len() - m)
}

struct Run {
    lines: std::ops::Range<usize>,
    file: Option<usize>,
}

/// Runs of consecutive dropped lines that belong to one file.
fn dropped_runs(keep: &[bool], file_at: &[Option<usize>]) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < keep.len() {
        if keep[i] {
            i += 1;
            continue;
        }
        let s = i;
        let f = file_at[i];
        while i < keep.len() && !keep[i] && file_at[i] == f {
            i += 1;
        }
        runs.push(Run { lines: s..i, file: f });
    }
    runs
}

fn emit_line(
    out: &mut String,
    input: &str,
    lines: &[Line],
    parsed: &Parsed,
    i: usize,
    p: &SearchParams,
    heading: &mut Option<usize>,
) {
    let l = lines[i];
    if !p.group_by_file {
        out.push_str(&input[l.start..l.end]);
        if l.end == input.len() && !input.ends_with(['\n', '\r']) {
            out.push('\n');
        }
        return;
    }
    match parsed.kinds[i] {
        Kind::Match { file, line_no, text_at } | Kind::Context { file, line_no, text_at } => {
            if *heading != Some(file) && !parsed.files[file].is_empty() {
                if heading.is_some() {
                    out.push('\n');
                }
                out.push_str(&parsed.files[file]);
                out.push('\n');
                *heading = Some(file);
            }
            let sep = if matches!(parsed.kinds[i], Kind::Match { .. }) { ':' } else { '-' };
            out.push_str(&format!("{line_no}{sep}{}\n", &l.text[text_at.min(l.text.len())..]));
        }
        Kind::Heading { file } => {
            if *heading != Some(file) {
                if heading.is_some() {
                    out.push('\n');
                }
                out.push_str(l.text);
                out.push('\n');
                *heading = Some(file);
            }
        }
        Kind::Separator | Kind::Unparsed => {
            out.push_str(l.text);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Kind> {
        parse(&text::lines(s)).kinds
    }

    #[test]
    fn parses_match_context_and_headings() {
        let k = kinds("src/a.rs:3:fn a()\nsrc/a.rs-4-  body\n--\nnot a result\n");
        assert!(matches!(k[0], Kind::Match { file: 0, line_no: 3, .. }));
        assert!(matches!(k[1], Kind::Context { file: 0, line_no: 4, .. }));
        assert_eq!(k[2], Kind::Separator);
        assert_eq!(k[3], Kind::Unparsed);
        let h = kinds("src/b.py\n12:def f():\n13-    pass\n");
        assert!(matches!(h[0], Kind::Heading { file: 0 }));
        assert!(matches!(h[1], Kind::Match { file: 0, line_no: 12, .. }));
        assert!(matches!(h[2], Kind::Context { file: 0, line_no: 13, .. }));
        // timestamps are not paths, and dated lines are not headings and context lines
        assert_eq!(kinds("12:00:01 started\n")[0], Kind::Unparsed);
        let dated = kinds("2024-05-01 INFO request ok id=1\n2024-05-01 INFO request ok id=2\n");
        assert_eq!(dated, vec![Kind::Unparsed, Kind::Unparsed]);
    }

    #[test]
    fn a_path_holding_a_line_number_pattern_is_read_whole() {
        let text = "data/a:1:b.txt:12:first\ndata/a:1:b.txt:40:second\nsrc/c.rs:3:x = m[a:1:2]\n";
        let parsed = parse(&text::lines(text));
        assert_eq!(parsed.files, vec!["data/a:1:b.txt".to_string(), "src/c.rs".to_string()]);
        assert!(matches!(parsed.kinds[1], Kind::Match { line_no: 40, .. }), "{:?}", parsed.kinds);
        assert!(matches!(parsed.kinds[2], Kind::Match { line_no: 3, .. }), "{:?}", parsed.kinds);
    }

    #[test]
    fn keeps_unparsed_lines_and_marks_every_drop() {
        let mut s = String::from("# grep for foo\n");
        for f in 0..20 {
            for l in 0..8 {
                s.push_str(&format!("src/mod{f}/file.rs:{}:    let foo_{f}_{l} = compute({l});\n", l * 10 + 1));
            }
        }
        s.push_str("commentary line that is not a result\n");
        let c = SearchEngine::compress(&s, &SearchParams::default(), &Context::default()).unwrap();
        assert!(c.output.starts_with("# grep for foo\n"));
        assert!(c.output.contains("commentary line that is not a result"));
        let dropped: usize = c.ledger.drops.iter().filter(|d| d.unit == Unit::Matches).map(|d| d.count).sum();
        let kept = c.output.lines().filter(|l| l.starts_with("src/")).count();
        assert_eq!(dropped + kept, 160);
        assert!(c.output.contains("files with"), "{}", c.output);
    }

    #[test]
    fn query_matches_and_each_kept_file_s_first_and_last_stay() {
        let mut s = String::new();
        for f in 0..12 {
            for l in 0..12 {
                let text = match (f, l) {
                    (3, 1 | 4 | 6 | 8 | 10) => "raise CookieError(\"bad cookie\")".to_string(),
                    (_, 5) => "raise RuntimeError(\"fatal error, failed\")".to_string(),
                    _ => format!("x = compute({l})"),
                };
                s.push_str(&format!("pkg/mod{f}/file.py:{}:    {text}\n", l + 1));
            }
        }
        let ctx = Context { query: Some("CookieError".into()), ..Context::default() };
        let c = SearchEngine::compress(&s, &SearchParams::default(), &ctx).unwrap();
        assert_eq!(c.output.matches("CookieError").count(), 5, "{}", c.output);
        for f in 0..12 {
            let first = format!("pkg/mod{f}/file.py:1:");
            let last = format!("pkg/mod{f}/file.py:12:");
            assert_eq!(c.output.contains(&first), c.output.contains(&last), "{f}: first and last go together");
        }
    }

    #[test]
    fn kept_groups_stay_apart_when_a_group_between_them_goes() {
        // grep -n -C1: three groups of one file, of which the first and the last stay
        let group = |at: usize, word: &str| {
            format!("src/a.rs-{}-before\nsrc/a.rs:{}:{word} here\nsrc/a.rs-{}-after\n", at - 1, at, at + 1)
        };
        let mut s = [group(10, "alpha"), group(50, "plain"), group(90, "omega")].join("--\n");
        s.push_str("--\n");
        for f in 0..30 {
            s.push_str(&format!("src/m{f}.rs-1-x\nsrc/m{f}.rs:2:plain {f}\n--\n"));
        }
        let p = SearchParams { max_matches_per_file: 2, ..SearchParams::default() };
        let c = SearchEngine::compress(&s, &p, &Context::default()).unwrap();
        let out: Vec<&str> = c.output.lines().collect();
        let alpha = out.iter().position(|l| l.contains(":10:alpha")).expect(&c.output);
        let omega = out.iter().position(|l| l.contains(":90:omega")).expect(&c.output);
        assert!(!c.output.contains(":50:plain"), "{}", c.output);
        let between = &out[alpha + 1..omega];
        assert_eq!(between.iter().filter(|l| **l == "--").count(), 1, "{}", c.output);
        assert!(!out.windows(2).any(|w| w[0] == "--" && w[1] == "--"), "one separator per gap");
        assert!(out.first() != Some(&"--") && out.last() != Some(&"--"), "no separator at an end");
    }

    #[test]
    fn lines_dropped_inside_one_group_leave_a_separator() {
        // grep -n -C2 with seven matches in a row: only the first and last stay, and the kept
        // lines around the gap must not read as adjacent
        let mut s = String::from("src/a.rs-8-ctx\nsrc/a.rs-9-ctx\n");
        (10..=16).for_each(|n| s.push_str(&format!("src/a.rs:{n}:let v = x.unwrap();\n")));
        s.push_str("src/a.rs-17-ctx\nsrc/a.rs-18-ctx\n");
        let p = SearchParams { max_matches_per_file: 2, ..SearchParams::default() };
        let c = SearchEngine::compress(&s, &p, &Context::default()).unwrap();
        let out: Vec<&str> = c.output.lines().collect();
        let first = out.iter().position(|l| l.starts_with("src/a.rs:10:")).expect(&c.output);
        assert_eq!(out[first + 1], "--", "{}", c.output);
        assert!(out[first + 2].starts_with("src/a.rs:16:"), "{}", c.output);
        // without context lines grep prints no separators, and the line numbers show the jump
        let plain: String = (10..=16).map(|n| format!("src/a.rs:{n}:let v = x.unwrap();\n")).collect();
        let c = SearchEngine::compress(&plain, &p, &Context::default()).unwrap();
        assert!(!c.output.lines().any(|l| l == "--"), "{}", c.output);
    }

    #[test]
    fn a_file_name_holding_colon_number_colon_keeps_its_context_lines() {
        let mut s = String::new();
        for name in ["src/x:3:y.rs", "src/plain.rs"] {
            for m in [4, 8, 12, 16, 20, 24] {
                s.push_str(&format!("{name}-{}-let y = 1;\n{name}:{m}:let v = x.unwrap();\n--\n", m - 1));
            }
        }
        let parsed = parse(&text::lines(&s));
        assert_eq!(parsed.files, ["src/x:3:y.rs", "src/plain.rs"]);
        assert!(!parsed.kinds.contains(&Kind::Unparsed));
        let c = SearchEngine::compress(&s, &SearchParams::default(), &Context::default()).unwrap();
        assert!(c.strategy.ends_with("in 2 of 2 files"), "{}", c.strategy);
        assert!(c.output.contains("omitted from src/x:3:y.rs, lines"), "{}", c.output);
    }

    #[test]
    fn grep_n_on_one_file_is_search_and_a_numbered_listing_is_not() {
        let mut s = String::new();
        for m in [12, 40, 90, 130, 200, 260, 300] {
            s.push_str(&format!(
                "{}-    ctx\n{m}:    let v = x.unwrap(); // src/a.rs:3:y\n{}-    ctx\n--\n",
                m - 1,
                m + 1
            ));
        }
        let parsed = parse(&text::lines(&s));
        assert_eq!(parsed.files, [""], "one file with no name, the path in a line's text is no file");
        let c = SearchEngine::compress(&s, &SearchParams::default(), &Context::default()).unwrap();
        assert!(c.output.contains("2 matches and 7 context/separator lines omitted, lines 199-261"), "{}", c.output);
        assert!(!c.output.contains("from "), "{}", c.output);
        // `N:line` for every line of a file, one after another, is a file printed with numbers
        let listing: String = (1..=40).map(|n| format!("{n}:fn f{n}() {{}}\n")).collect();
        assert!(one_file(&text::lines(&listing)).is_none());
        // numbers that do not rise are no grep output either
        assert!(one_file(&text::lines("5:a\n9:b\n3:c\n7:d\n")).is_none());
        // nor lines that start `N-M-` with no match line among them (a log with sequence numbers),
        // which the engine refuses rather than dropping every line as context
        let log: String = (0..400).map(|i| format!("{i}-{}-2024 12:00 INFO handled id={i}\n", i % 9 + 1)).collect();
        assert!(one_file(&text::lines(&log)).is_none());
        assert_eq!(coverage(&text::lines(&log)).0, 0);
        let e = SearchEngine::compress(&log, &SearchParams::default(), &Context::default()).unwrap_err();
        assert!(matches!(e, Skip::NotThisType { .. }), "{e}");
    }

    #[test]
    fn every_dropped_file_is_named_after_the_shared_folder() {
        let mut s = String::new();
        for f in 0..150 {
            s.push_str(&format!("proj/src/ünï/m{f}.rs:1:fn new() {{}}\n"));
        }
        let c = SearchEngine::compress(&s, &SearchParams::default(), &Context::default()).unwrap();
        let marker = c.output.lines().find(|l| l.contains("files with")).unwrap();
        assert!(marker.contains("omitted in proj/src/ünï/:"), "{marker}");
        for f in 0..150 {
            assert!(c.output.contains(&format!("m{f}.rs")), "m{f}.rs is named");
        }
        assert_eq!(common_dir(&["a/é/x", "a/é/y", "a/è"]), "a/");
        assert_eq!(common_dir(&["x.rs", "y.rs"]), "");
    }
}
