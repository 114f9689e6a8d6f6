//! Log engine: keeps errors, stack traces, warnings, summaries and their context; folds the rest
//! into in-place markers with exact per-level counts of what each gap held.
//!
//! Technique and knobs follow Headroom's LogCompressor (level scores, stack-trace state machine,
//! warning de-duplication, ±context lines, adaptive line budget). Differences, on purpose:
//! with `protect_errors` (default on) no distinct ERROR/FATAL/FAIL line and no stack-trace line is
//! ever dropped, whatever the caps say (identical repeats may fold into a marker); each gap gets its
//! own marker where it was, with counts of the omitted lines (Headroom prints totals of all lines);
//! a gap that costs fewer tokens than its marker is kept.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::api::{Compressed, Context, Engine, Factor, Memo, Skip};
use super::sizing;
use super::text::{self, Line};
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, group_thousands, worth_a_marker};

/// Knobs of the log engine (Headroom `LogCompressorConfig` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LogParams {
    /// Most error lines kept when `protect_errors` is off: the first, the last, then the highest scored.
    pub max_errors: usize,
    /// Lines kept before and after each kept error line and stack trace.
    pub error_context_lines: usize,
    /// Always keep the first error line (when `protect_errors` is off).
    pub keep_first_error: bool,
    /// Always keep the last error line (when `protect_errors` is off).
    pub keep_last_error: bool,
    /// Most stack traces kept when `protect_errors` is off.
    pub max_stack_traces: usize,
    /// Most lines kept per stack trace when `protect_errors` is off.
    pub stack_trace_max_lines: usize,
    /// Most distinct warnings kept.
    pub max_warnings: usize,
    /// Treat warnings that differ only in numbers, addresses and paths as one.
    pub dedupe_warnings: bool,
    /// Keep summary lines ("=== 3 failed, 10 passed ===", "Build succeeded", "Total: …").
    pub keep_summary_lines: bool,
    /// Upper bound of the adaptive line budget (the budget itself comes from the content's redundancy).
    pub max_total_lines: usize,
    /// Logs with fewer lines pass through unchanged (Headroom gates the whole compressor on this).
    pub min_lines_for_ccr: usize,
    /// Budget multiplier: above 1 keeps more lines, below 1 fewer (Headroom's per-tool bias); the
    /// budget stays capped at `max_total_lines`.
    pub bias: Factor,
    /// ctxlens: keep every distinct ERROR/FATAL/FAIL line and every stack-trace line regardless of
    /// the caps above. Turn off for Headroom's capped behaviour.
    pub protect_errors: bool,
}

impl Default for LogParams {
    fn default() -> Self {
        LogParams {
            max_errors: 10,
            error_context_lines: 3,
            keep_first_error: true,
            keep_last_error: true,
            max_stack_traces: 3,
            stack_trace_max_lines: 20,
            max_warnings: 5,
            dedupe_warnings: true,
            keep_summary_lines: true,
            max_total_lines: 100,
            min_lines_for_ccr: 50,
            bias: Factor(1.0),
            protect_errors: true,
        }
    }
}

/// A line's severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Error,
    Fail,
    Warn,
    Info,
    Debug,
    Trace,
    Other,
}

impl Level {
    const ORDER: [Level; 7] =
        [Level::Error, Level::Fail, Level::Warn, Level::Info, Level::Debug, Level::Trace, Level::Other];

    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Fail => "FAIL",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
            Level::Trace => "TRACE",
            Level::Other => "other",
        }
    }

    fn base_score(self) -> f64 {
        match self {
            Level::Error | Level::Fail => 1.0,
            Level::Warn => 0.5,
            Level::Info | Level::Other => 0.1,
            Level::Debug => 0.05,
            Level::Trace => 0.02,
        }
    }

    pub fn is_error(self) -> bool {
        matches!(self, Level::Error | Level::Fail)
    }
}

static LEVEL_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(error|errors|err|fatal|critical|crit|severe|panic|panicked|emerg|alert|fail|failed|failure|failures|warn|warning|warnings|info|notice|debug|trace)\b",
    )
    .expect("level regex")
});

static EXCEPTION_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z_][\w.$]*(?:Error|Exception|Exit|Interrupt|Failure)(?::|$)|Exception in thread |E {2,}\S|FAILED |ERROR )")
        .expect("exception regex")
});

static SUMMARY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:={3,}|-{3,})|(?-i:\b\d+ (?:passed|failed|skipped|errors?|warnings?|deselected|xfailed|xpassed)\b)|^\s*(?:tests?|suites?|test suites|test result)\s*:?\s|^\s*(?:total|summary)\b|\b(?:build|compile|compilation|test|tests|deploy)\w* (?:succeeded|failed|complete|completed|finished)\b|^\s*Finished `|^_{3,} .+ _{3,}$",
    )
    .expect("summary regex")
});

/// The level of one line: the first level word in text order, written lower, UPPER or Title case;
/// exception lines (`ValueError: …`, `E   assert …`, `Exception in thread …`) count as ERROR.
pub fn classify(line: &str) -> Level {
    if EXCEPTION_LINE.is_match(line) {
        return Level::Error;
    }
    let b = line.as_bytes();
    for m in LEVEL_WORD.find_iter(line) {
        // Not a level inside a flag, a path, a file name or a key: --error-format, -Werror,
        // /error/, error.rs, on-error=.
        let before = m.start().checked_sub(1).map(|i| b[i]);
        let after = b.get(m.end()).copied();
        let after2 = b.get(m.end() + 1).copied();
        if matches!(before, Some(b'-' | b'/' | b'=' | b'.'))
            || matches!(after, Some(b'-' | b'/' | b'='))
            || (after == Some(b'.') && after2.is_some_and(|c| c.is_ascii_alphanumeric()))
        {
            continue;
        }
        let w = m.as_str();
        let cased = w == w.to_lowercase() || w == w.to_uppercase() || is_title(w);
        if !cased {
            continue;
        }
        let lower = w.to_lowercase();
        // "err" only in capitals (npm ERR!), so variables named err do not count.
        if lower == "err" && w != "ERR" {
            continue;
        }
        return match lower.as_str() {
            "error" | "errors" | "err" | "fatal" | "critical" | "crit" | "severe" | "panic" | "panicked" | "emerg"
            | "alert" => Level::Error,
            "fail" | "failed" | "failure" | "failures" => Level::Fail,
            "warn" | "warning" | "warnings" => Level::Warn,
            "info" | "notice" => Level::Info,
            "debug" => Level::Debug,
            _ => Level::Trace,
        };
    }
    Level::Other
}

fn is_title(w: &str) -> bool {
    let mut cs = w.chars();
    cs.next().is_some_and(char::is_uppercase) && cs.all(char::is_lowercase)
}

fn is_summary(line: &str) -> bool {
    SUMMARY_LINE.is_match(line)
}

static WARN_DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"0x[0-9a-fA-F]+|\d+").expect("digits"));
static WARN_PATHS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:/[\w.\-]+)+/?").expect("paths"));

/// Headroom's warning normaliser: the part before the first `:`/`=` stays, in the rest numbers
/// become N, hex addresses ADDR and paths /PATH/.
fn normalize_warning(line: &str) -> String {
    let cut = line.find([':', '=']).map(|i| i + 1).unwrap_or(0);
    let (head, tail) = line.split_at(cut);
    let tail = WARN_PATHS.replace_all(tail, "/PATH/");
    let tail =
        WARN_DIGITS.replace_all(
            &tail,
            |c: &regex::Captures| {
                if c[0].starts_with("0x") { "ADDR".to_string() } else { "N".to_string() }
            },
        );
    format!("{head}{tail}")
}

/// A stack trace or compiler diagnostic found in the log: a range of line indices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    pub start: usize,
    pub end: usize,
    pub flavour: &'static str,
}

static PY_TRACE_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*Traceback \(most recent call last\):").expect("py"));
static FRAME_AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s+at \S").expect("at frame"));
static JAVA_CONT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:Caused by: |\s+\.\.\. \d+ (?:more|common frames omitted)|\s+Suppressed: )").expect("java")
});
static RUST_PANIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"thread '[^']*'(?: \(\d+\))? panicked at").expect("rust panic"));
static RUST_DIAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^error(?:\[E\d+\])?: |^error: ").expect("rust diag"));
static RUST_DIAG_BODY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*(?:-->|\||\d+\s*\||= |\.\.\.)").expect("rust diag body"));
static GO_PANIC: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:panic: |fatal error: )").expect("go panic"));
static GO_ROUTINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^goroutine \d+ \[").expect("goroutine"));

/// Finds stack traces (Python, JavaScript, Java, Rust panics and error diagnostics, Go panics).
pub fn find_traces(lines: &[Line]) -> Vec<Trace> {
    let mut traces = Vec::new();
    let n = lines.len();
    let blank = |i: usize| lines[i].text.trim().is_empty();
    let indented = |i: usize| lines[i].text.starts_with([' ', '\t']);
    let mut i = 0;
    while i < n {
        let t = lines[i].text;
        let start = i;
        let found: Option<(usize, &'static str)> = if PY_TRACE_START.is_match(t) {
            let chain_text = |k: usize| {
                let tk = lines[k].text;
                tk.starts_with("During handling") || tk.starts_with("The above exception")
            };
            let chain_line = |k: usize| chain_text(k) || PY_TRACE_START.is_match(lines[k].text);
            let next_is = |k: usize, f: &dyn Fn(usize) -> bool| (k..n).find(|&m| !blank(m)).is_some_and(f);
            let mut j = i + 1;
            while j < n {
                if indented(j) || chain_line(j) || (blank(j) && next_is(j, &chain_line)) {
                    j += 1;
                } else if !blank(j) && (EXCEPTION_LINE.is_match(lines[j].text) || looks_like_exception(lines[j].text)) {
                    // the exception line ends this traceback; a chained one may follow
                    j += 1;
                    if !next_is(j, &chain_text) {
                        break;
                    }
                } else {
                    break;
                }
            }
            Some((j, "python"))
        } else if FRAME_AT.is_match(t) && !(i > 0 && FRAME_AT.is_match(lines[i - 1].text)) {
            // JavaScript / Java: the line before the first frame is the message.
            let header =
                if i > 0 && !blank(i - 1) && traces.last().is_none_or(|p: &Trace| p.end < i) { i - 1 } else { i };
            let mut j = i;
            while j < n && (FRAME_AT.is_match(lines[j].text) || JAVA_CONT.is_match(lines[j].text)) {
                j += 1;
            }
            let flavour = if lines[i].text.contains(".java:") || lines[i].text.contains("(Native Method)") {
                "java"
            } else {
                "javascript"
            };
            if let Some(prev) = traces.last_mut().filter(|p| p.end == header) {
                // a "Caused by" chain continues the previous trace
                prev.end = j;
                i = j;
                continue;
            }
            traces.push(Trace { start: header, end: j, flavour });
            i = j;
            continue;
        } else if RUST_PANIC.is_match(t) {
            let mut j = i + 1;
            while j < n
                && !blank(j)
                && (j == i + 1
                    || indented(j)
                    || lines[j].text.starts_with("note:")
                    || lines[j].text.starts_with("stack backtrace:"))
            {
                j += 1;
            }
            Some((j, "rust"))
        } else if RUST_DIAG.is_match(t) && i + 1 < n && RUST_DIAG_BODY.is_match(lines[i + 1].text) {
            let mut j = i + 1;
            while j < n && !blank(j) && (RUST_DIAG_BODY.is_match(lines[j].text) || indented(j)) {
                j += 1;
            }
            Some((j, "rust-diagnostic"))
        } else if GO_PANIC.is_match(t) || GO_ROUTINE.is_match(t) {
            let mut j = i + 1;
            while j < n {
                if blank(j) {
                    if j + 1 < n && GO_ROUTINE.is_match(lines[j + 1].text) {
                        j += 1;
                        continue;
                    }
                    break;
                }
                let tj = lines[j].text;
                let frame = indented(j)
                    || GO_ROUTINE.is_match(tj)
                    || tj.contains('(')
                    || tj.starts_with("[signal")
                    || tj.starts_with("created by");
                if !frame {
                    break;
                }
                j += 1;
            }
            if j - i >= 2 { Some((j, "go")) } else { None }
        } else {
            None
        };
        match found {
            Some((end, flavour)) => {
                traces.push(Trace { start, end, flavour });
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    traces
}

fn looks_like_exception(line: &str) -> bool {
    let head = line.split(':').next().unwrap_or_default();
    !head.is_empty()
        && !head.contains(' ')
        && (head.ends_with("Error") || head.ends_with("Exception") || head.ends_with("Exit"))
}

/// Why a line is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Keep {
    No,
    /// Filler, context or a capped pick: may give way to the budget.
    Soft,
    /// Never dropped.
    Protected,
}

pub struct LogEngine;

impl Engine for LogEngine {
    type Params = LogParams;

    fn compress(input: &str, p: &LogParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.is_empty() {
            return Err(Skip::Empty);
        }
        let lines = text::lines(input);
        let n = lines.len();
        if n < p.min_lines_for_ccr {
            return Err(Skip::TooSmall {
                detail: format!("{n} lines; logs under min_lines_for_ccr = {} pass through", p.min_lines_for_ccr),
            });
        }
        let plan = Plan::new(&lines, p, ctx.whole_query().as_deref(), ctx.memo.as_deref());
        plan.render(input, &lines, ctx)
    }
}

struct Plan {
    levels: Vec<Level>,
    keep: Vec<Keep>,
    /// Line index → index of the earlier identical error line or trace line it repeats.
    repeat_of: HashMap<usize, usize>,
    traces_found: usize,
    budget: usize,
    /// `max_total_lines` when it is under [`MIN_BUDGET`], which the budget never goes below.
    max_under_floor: Option<usize>,
    counts: KeptCounts,
}

/// The fewest lines the adaptive budget keeps, whatever `max_total_lines` says (Headroom's
/// `min_k`).
const MIN_BUDGET: usize = 10;

#[derive(Default)]
struct KeptCounts {
    errors: usize,
    trace_lines: usize,
    warnings: usize,
    summaries: usize,
    /// Lines holding the whole query, when one was given.
    query: Option<usize>,
}

impl Plan {
    fn new(lines: &[Line], p: &LogParams, query: Option<&str>, memo: Option<&Memo>) -> Plan {
        // levels, traces and repeats are judged on what a terminal shows: colour codes and
        // overwritten progress bars do not hide an `error:`
        let shown: Vec<std::borrow::Cow<str>> = lines.iter().map(|l| text::as_shown(l.text)).collect();
        let lines: Vec<Line> = lines.iter().zip(&shown).map(|(l, t)| Line { text: t, ..*l }).collect();
        let lines = &lines[..];
        let n = lines.len();
        let levels: Vec<Level> = lines.iter().map(|l| classify(l.text)).collect();
        let traces = find_traces(lines);
        let mut in_trace = vec![false; n];
        for t in &traces {
            in_trace[t.start..t.end].iter_mut().for_each(|b| *b = true);
        }
        let summary: Vec<bool> = lines.iter().map(|l| p.keep_summary_lines && is_summary(l.text)).collect();
        let score = |i: usize| -> f64 {
            let mut s = levels[i].base_score();
            if in_trace[i] {
                s += 0.3;
            }
            if summary[i] {
                s += 0.4;
            }
            s.min(1.0)
        };
        let mut keep = vec![Keep::No; n];
        let mut repeat_of = HashMap::new();
        let mut counts = KeptCounts::default();
        let mut anchors: Vec<(usize, usize)> = Vec::new(); // ranges that get context around them

        // Stack traces: the first occurrence of each distinct trace.
        let mut seen_traces: HashMap<Vec<&str>, usize> = HashMap::new();
        let mut kept_traces = 0;
        for t in &traces {
            let body: Vec<&str> = lines[t.start..t.end].iter().map(|l| l.text).collect();
            if let Some(&first) = seen_traces.get(&body) {
                for k in 0..(t.end - t.start) {
                    repeat_of.insert(t.start + k, first + k);
                }
                continue;
            }
            seen_traces.insert(body, t.start);
            let (cap_traces, cap_lines) =
                if p.protect_errors { (usize::MAX, usize::MAX) } else { (p.max_stack_traces, p.stack_trace_max_lines) };
            if kept_traces >= cap_traces {
                continue;
            }
            kept_traces += 1;
            let end = t.end.min(t.start.saturating_add(cap_lines));
            let how = if p.protect_errors { Keep::Protected } else { Keep::Soft };
            for k in keep.iter_mut().take(end).skip(t.start) {
                *k = how;
            }
            counts.trace_lines += end - t.start;
            anchors.push((t.start, end));
        }

        // Error lines: the first occurrence of each distinct text.
        let mut seen_errors: HashMap<&str, usize> = HashMap::new();
        let mut distinct_errors = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if !levels[i].is_error() || repeat_of.contains_key(&i) {
                continue;
            }
            match seen_errors.get(l.text) {
                Some(&first) => {
                    repeat_of.insert(i, first);
                }
                None => {
                    seen_errors.insert(l.text, i);
                    distinct_errors.push(i);
                }
            }
        }
        let chosen_errors: Vec<usize> = if p.protect_errors {
            distinct_errors.clone()
        } else {
            pick_capped(&distinct_errors, p.max_errors, p.keep_first_error, p.keep_last_error, &score)
        };
        for &i in &chosen_errors {
            if keep[i] == Keep::No {
                counts.errors += 1;
            }
            keep[i] = keep[i].max(if p.protect_errors { Keep::Protected } else { Keep::Soft });
            anchors.push((i, i + 1));
        }

        // Warnings: the first occurrence of each distinct (normalised) warning.
        let mut seen_warnings = HashSet::new();
        for (i, l) in lines.iter().enumerate() {
            if levels[i] != Level::Warn || keep[i] != Keep::No {
                continue;
            }
            let norm = if p.dedupe_warnings { normalize_warning(l.text) } else { l.text.to_string() };
            if seen_warnings.len() >= p.max_warnings && !seen_warnings.contains(&norm) {
                continue;
            }
            if seen_warnings.insert(norm) {
                keep[i] = Keep::Soft;
                counts.warnings += 1;
            }
        }

        // Summary lines.
        for i in 0..n {
            if summary[i] && keep[i] == Keep::No {
                keep[i] = Keep::Soft;
                counts.summaries += 1;
            }
        }

        // Context around errors and traces.
        let c = p.error_context_lines;
        for (s, e) in anchors {
            for k in keep.iter_mut().take(e.saturating_add(c).min(n)).skip(s.saturating_sub(c)) {
                if *k == Keep::No {
                    *k = Keep::Soft;
                }
            }
        }
        // Repeats of kept lines never need to be kept for their own sake; a first trace's line
        // (its exception line may repeat another trace's) is kept for its trace.
        for (&i, _) in repeat_of.iter() {
            if keep[i] == Keep::Protected && !in_trace[i] {
                keep[i] = Keep::Soft;
            }
        }

        // Lines holding the whole query: what the user asked for, kept whatever they repeat
        if let Some(q) = query {
            let mut held = 0;
            for (i, l) in lines.iter().enumerate() {
                if l.text.to_lowercase().contains(q) {
                    keep[i] = Keep::Protected;
                    held += 1;
                }
            }
            counts.query = Some(held);
        }

        let texts: Vec<&str> = lines.iter().map(|l| l.text).collect();
        let budget =
            sizing::optimal_k(texts.as_slice(), p.bias.get(), MIN_BUDGET, p.max_total_lines.max(MIN_BUDGET), memo);
        enforce_budget(&mut keep, budget, &score, &repeat_of);
        fill_head_tail(&mut keep, budget);
        // a trace is shown whole or not at all: context after an error line, the budget's head
        // and tail, or a query line reach into part of one. A trace part of which must stay (a
        // query's line) stays whole; a repeat otherwise goes whole into a marker. Only the caps
        // of `protect_errors = false` still cut a first trace short.
        for t in &traces {
            let lines = &mut keep[t.start..t.end];
            let kept = lines.iter().filter(|k| **k != Keep::No).count();
            if kept == 0 || kept == lines.len() {
                continue;
            }
            if lines.contains(&Keep::Protected) {
                lines.iter_mut().filter(|k| **k == Keep::No).for_each(|k| *k = Keep::Soft);
            } else if repeat_of.contains_key(&t.start) {
                lines.iter_mut().for_each(|k| *k = Keep::No);
            }
        }

        let max_under_floor = (p.max_total_lines < MIN_BUDGET).then_some(p.max_total_lines);
        Plan { levels, keep, repeat_of, traces_found: traces.len(), budget, max_under_floor, counts }
    }

    fn render(self, input: &str, lines: &[Line], ctx: &Context) -> Result<Compressed, Skip> {
        let mut keep: Vec<bool> = self.keep.iter().map(|k| *k != Keep::No).collect();
        let gaps = gaps(&keep);
        // A gap whose marker costs at least as many tokens as the lines it hides is kept.
        for g in &gaps {
            let bytes = lines[g.start].start..lines[g.end - 1].end;
            if !worth_a_marker(&input[bytes], ctx.tokenizer) {
                keep[g.clone()].iter_mut().for_each(|k| *k = true);
            }
        }
        let gaps = self::gaps(&keep);
        if gaps.is_empty() {
            let query = match self.counts.query {
                Some(held) => format!(" ({} hold the whole query)", Unit::Lines.count(held)),
                None => String::new(),
            };
            return Err(Skip::NothingToDrop {
                detail: format!(
                    "every line is an error, trace, warning, summary, query or context line, or within the budget of {} lines{query}",
                    self.budget
                ),
            });
        }
        let mut ledger = LedgerBuilder::of_lines(input, lines);
        let mut out = String::with_capacity(input.len() / 4);
        let mut next_gap = gaps.iter().peekable();
        let mut i = 0;
        while i < lines.len() {
            if let Some(g) = next_gap.next_if(|g| g.start == i) {
                let bytes = lines[g.start].start..lines[g.end - 1].end;
                let count = g.end - g.start;
                let (phrase_detail, reason) = self.describe_gap(g.clone());
                let group = ledger.group();
                ledger.drop_span(bytes.clone(), None, Unit::Lines, count, reason);
                let phrase = format!("{} omitted ({phrase_detail})", Unit::Lines.count(count));
                out.push_str(&ledger.marker(group, phrase, PayloadShape::Concat));
                if input[..bytes.end].ends_with(['\n', '\r']) {
                    out.push('\n');
                }
                i = g.end;
                continue;
            }
            out.push_str(&input[lines[i].start..lines[i].end]);
            i += 1;
        }
        let kept = keep.iter().filter(|k| **k).count();
        let strategy = format!(
            "kept {} of {} lines ({} error, {} stack-trace, {} warning, {} summary lines; budget {})",
            group_thousands(kept),
            group_thousands(lines.len()),
            self.counts.errors,
            self.counts.trace_lines,
            self.counts.warnings,
            self.counts.summaries,
            self.budget
        );
        let mut notes = Vec::new();
        if let Some(held) = self.counts.query {
            notes.push(format!("the whole query is on {}: all kept", Unit::Lines.count(held)));
        }
        if self.traces_found > 0 {
            notes.push(format!("{} stack trace(s) or diagnostics found", self.traces_found));
        }
        if let Some(max) = self.max_under_floor {
            notes.push(format!(
                "max_total_lines = {max} is under the {MIN_BUDGET} lines the budget never goes below: the budget is {MIN_BUDGET}"
            ));
        }
        Ok(Compressed { output: out, ledger: ledger.finish(), strategy, notes, budget_hit: false })
    }

    /// The per-level counts of a gap for its marker, and the reason for its ledger entry.
    fn describe_gap(&self, gap: std::ops::Range<usize>) -> (String, String) {
        let mut by_level: HashMap<Level, usize> = HashMap::new();
        let mut error_repeats = 0;
        let mut unprotected_errors = 0;
        for i in gap.clone() {
            *by_level.entry(self.levels[i]).or_default() += 1;
            if self.levels[i].is_error() || self.repeat_of.contains_key(&i) {
                if self.repeat_of.contains_key(&i) {
                    error_repeats += 1;
                } else {
                    unprotected_errors += 1;
                }
            }
        }
        let mut parts: Vec<String> = Level::ORDER
            .iter()
            .filter_map(|l| by_level.get(l).map(|c| format!("{} {}", group_thousands(*c), l.label())))
            .collect();
        if error_repeats > 0 {
            parts.push(format!("of which {error_repeats} repeat kept error/trace lines"));
        }
        let reason = if unprotected_errors > 0 {
            "over the error/trace caps (protect_errors is off) or below the line budget".to_string()
        } else if error_repeats > 0 {
            "repeats of kept error or stack-trace lines, and lines below the line budget".to_string()
        } else {
            format!("no error, trace, kept warning or summary line; outside the {}-line budget", self.budget)
        };
        (parts.join(", "), reason)
    }
}

fn gaps(keep: &[bool]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < keep.len() {
        if keep[i] {
            i += 1;
            continue;
        }
        let s = i;
        while i < keep.len() && !keep[i] {
            i += 1;
        }
        out.push(s..i);
    }
    out
}

/// The first, the last, then the highest-scoring of `candidates`, at most `cap`, in line order.
fn pick_capped(candidates: &[usize], cap: usize, first: bool, last: bool, score: &dyn Fn(usize) -> f64) -> Vec<usize> {
    let mut picked: Vec<usize> = Vec::new();
    if cap == 0 || candidates.is_empty() {
        return picked;
    }
    if first {
        picked.push(candidates[0]);
    }
    if last && picked.len() < cap && !picked.contains(&candidates[candidates.len() - 1]) {
        picked.push(candidates[candidates.len() - 1]);
    }
    let mut rest: Vec<usize> = candidates.iter().copied().filter(|c| !picked.contains(c)).collect();
    rest.sort_by(|a, b| score(*b).total_cmp(&score(*a)).then(a.cmp(b)));
    picked.extend(rest.into_iter().take(cap.saturating_sub(picked.len())));
    picked.sort_unstable();
    picked
}

/// Drops the lowest-scoring soft lines until at most `budget` lines are kept (protected lines
/// always stay, so the result can exceed the budget). Repeats go first.
fn enforce_budget(keep: &mut [Keep], budget: usize, score: &dyn Fn(usize) -> f64, repeat_of: &HashMap<usize, usize>) {
    let kept = keep.iter().filter(|k| **k != Keep::No).count();
    if kept <= budget {
        return;
    }
    let mut soft: Vec<usize> = (0..keep.len()).filter(|&i| keep[i] == Keep::Soft).collect();
    soft.sort_by(|a, b| {
        let ra = repeat_of.contains_key(a);
        let rb = repeat_of.contains_key(b);
        rb.cmp(&ra).then(score(*a).total_cmp(&score(*b))).then(b.cmp(a))
    });
    for i in soft.into_iter().take(kept - budget) {
        keep[i] = Keep::No;
    }
}

/// Spends what is left of the budget on the head (a third) and the tail (the rest) of the log.
fn fill_head_tail(keep: &mut [Keep], budget: usize) {
    let kept = keep.iter().filter(|k| **k != Keep::No).count();
    if kept >= budget {
        return;
    }
    let room = budget - kept;
    let head = room / 3;
    let mut added = 0;
    for k in keep.iter_mut() {
        if added >= head {
            break;
        }
        if *k == Keep::No {
            *k = Keep::Soft;
            added += 1;
        }
    }
    for k in keep.iter_mut().rev() {
        if added >= room {
            break;
        }
        if *k == Keep::No {
            *k = Keep::Soft;
            added += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(classify("2024-01-01 ERROR db down"), Level::Error);
        assert_eq!(classify("[warn] disk 91%"), Level::Warn);
        assert_eq!(classify("npm ERR! code ERESOLVE"), Level::Error);
        assert_eq!(classify("let err = foo();"), Level::Other);
        assert_eq!(classify("ValueError: bad value"), Level::Error);
        assert_eq!(classify("E       assert 1 == 2"), Level::Error);
        assert_eq!(classify("FAILED tests/test_x.py::test_a - assert 1 == 2"), Level::Error);
        assert_eq!(classify("thread 'main' panicked at src/main.rs:2:5:"), Level::Error);
        assert_eq!(classify("test result: FAILED. 1 passed; 2 failed"), Level::Fail);
        assert_eq!(classify("INFO started; error count 0"), Level::Info);
        assert_eq!(classify("eRRor mixed case"), Level::Other);
        assert_eq!(classify("Running `rustc --crate-name x --error-format=json src/error.rs`"), Level::Other);
        assert_eq!(classify("Build failed."), Level::Fail);
        assert!(!is_summary("2026-11-26 06:42:25,152 WARNING orders: order 1110 total 1017.36"));
        assert!(is_summary("======= 3 failed, 187 passed in 0.52s ======="));
        assert!(is_summary("warning: `lints` (bin \"lints\") generated 12 warnings"));
    }

    #[test]
    fn warning_normaliser() {
        assert_eq!(
            normalize_warning("WARN: disk /var/lib/x at 91% (0xdeadbeef)"),
            normalize_warning("WARN: disk /opt/y at 12% (0x1)")
        );
        assert_ne!(normalize_warning("WARN: disk full"), normalize_warning("WARN: cpu hot"));
    }

    fn traces_of(s: &str) -> Vec<(usize, usize, &'static str)> {
        let ls = text::lines(s);
        find_traces(&ls).into_iter().map(|t| (t.start, t.end, t.flavour)).collect()
    }

    #[test]
    fn python_trace_includes_exception_line() {
        let s = "INFO start\nTraceback (most recent call last):\n  File \"a.py\", line 3, in <module>\n    f()\nZeroDivisionError: division by zero\nINFO next\n";
        assert_eq!(traces_of(s), vec![(1, 5, "python")]);
    }

    #[test]
    fn java_trace_with_caused_by() {
        let s = "x\nException in thread \"main\" java.lang.IllegalStateException: boom\n\tat A.f(A.java:3)\n\tat A.main(A.java:9)\nCaused by: java.io.IOException: no\n\tat B.g(B.java:1)\n\t... 2 more\nnext\n";
        assert_eq!(traces_of(s), vec![(1, 7, "java")]);
    }

    #[test]
    fn go_and_rust_traces() {
        let go = "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\nmain.main()\n\t/tmp/m.go:5 +0x1d\nexit status 2\n";
        assert_eq!(traces_of(go), vec![(0, 5, "go")]);
        let rs = "thread 'main' (7494) panicked at src/main.rs:2:5:\nboom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\nnext\n";
        assert_eq!(traces_of(rs), vec![(0, 3, "rust")]);
    }

    #[test]
    fn a_repeated_trace_is_kept_whole_or_folded_whole() {
        // distinct error lines, each followed by the same trace: the context after an error
        // line reached the trace's first frames but not its exception
        let trace = "Traceback (most recent call last):\n  File \"/app/x.py\", line 10, in run\n    do()\nValueError: bad thing happened\n";
        let mut input = String::new();
        for i in 0..2000 {
            if i % 250 == 0 {
                input.push_str(&format!("2024-05-01 ERROR svc.worker: item {i} failed\n{trace}"));
            } else {
                input.push_str(&format!("2024-05-01 INFO svc.worker: item {i} done\n"));
            }
        }
        let c = LogEngine::compress(&input, &LogParams::default(), &Context::default()).unwrap();
        let out: Vec<&str> = c.output.lines().collect();
        let starts: Vec<usize> = (0..out.len()).filter(|&i| out[i].starts_with("Traceback")).collect();
        assert!(!starts.is_empty(), "the first trace stays");
        for i in starts {
            assert_eq!(out.get(i + 3), Some(&"ValueError: bad thing happened"), "{}", out[i..].join("\n"));
        }
        assert_eq!(c.output.matches("ERROR svc.worker").count(), 8, "every distinct error line stays");
        // a query holding one line of a repeated trace keeps the trace whole, not that line
        let ctx = Context { query: Some("/app/x.py".into()), ..Context::default() };
        let c = LogEngine::compress(&input, &LogParams::default(), &ctx).unwrap();
        let out: Vec<&str> = c.output.lines().collect();
        let starts: Vec<usize> = (0..out.len()).filter(|&i| out[i].starts_with("Traceback")).collect();
        assert_eq!(starts.len(), 8, "every trace holds the query");
        for i in starts {
            assert_eq!(out.get(i + 3), Some(&"ValueError: bad thing happened"));
        }
        // two traces of different depths that end alike: the second is no repeat, and its
        // exception line, a repeat of the first's, stays with it
        let trace = |depth: usize| {
            let frames: String =
                (0..depth).map(|d| format!("  File \"/app/m{d}.py\", line {d}, in f{d}\n    f{d}(x)\n")).collect();
            format!("Traceback (most recent call last):\n{frames}ValueError: bad value\n")
        };
        let mut input = String::new();
        for i in 0..60 {
            input.push_str(&format!("2024-05-01 INFO step {i} done\n"));
            if i % 10 == 3 {
                input.push_str(&format!("2024-05-01 ERROR job {i} crashed\n{}", trace(if i < 30 { 4 } else { 2 })));
            }
        }
        let c = LogEngine::compress(&input, &LogParams::default(), &Context::default()).unwrap();
        let out: Vec<&str> = c.output.lines().collect();
        for i in (0..out.len()).filter(|&i| out[i].starts_with("Traceback")) {
            let end = (i..out.len()).find(|&j| !out[j].starts_with(['T', ' '])).unwrap();
            assert_eq!(out[end], "ValueError: bad value", "{}", out[i..=end].join("\n"));
        }
    }

    #[test]
    fn capped_pick_prefers_first_and_last() {
        let c = [3, 5, 9, 20, 40];
        assert_eq!(pick_capped(&c, 2, true, true, &|_| 1.0), vec![3, 40]);
        assert_eq!(pick_capped(&c, 3, true, true, &|i| if i == 20 { 2.0 } else { 1.0 }), vec![3, 20, 40]);
    }
}
