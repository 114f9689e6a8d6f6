//! The router: detects what a text is (json, diff, search results, log, code, prose) without any
//! model, splits mixed content into sections, and names the reason for each decision.
//!
//! Detection looks at a bounded prefix (64 KB, 500 lines), so it costs the same on a 10 MB input as
//! on a 100 KB one. Mixed content (prose with fenced code, JSON blocks or diffs in it) is split into
//! contiguous sections that together cover the input exactly; each is routed on its own.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::engine::jsonspan;
use crate::engine::search;
use crate::engine::text::{self, Fence, Line};
use crate::tokens::{self, Tokenizer};

/// Knobs of the router.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RouterParams {
    /// Split content that mixes types (fenced code, JSON blocks or diffs inside prose) and route each section.
    pub split_mixed: bool,
    /// A block smaller than this many tokens is not split out of the text around it (Headroom `min_section_tokens`).
    pub min_section_tokens: usize,
}

impl Default for RouterParams {
    fn default() -> Self {
        RouterParams { split_mixed: true, min_section_tokens: 20 }
    }
}

/// What the router decided a text is, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub kind: EngineKind,
    pub confidence: f64,
    pub why: String,
}

/// One routed section of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub bytes: Range<usize>,
    pub kind: EngineKind,
    pub why: String,
}

const PREFIX_BYTES: usize = 64 * 1024;
const PREFIX_LINES: usize = 500;

fn prefix(text: &str) -> &str {
    if text.len() <= PREFIX_BYTES {
        return text;
    }
    let mut end = PREFIX_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

static LOG_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b(?:ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|CRITICAL|NOTICE)\b
        | ^\s*\[?\d{4}-\d{2}-\d{2}[T\ ]\d{2}:\d{2}
        | ^\s*\[?\d{2}:\d{2}:\d{2}
        | ^[A-Z][a-z]{2}\ [\ \d]\d\ \d{2}:\d{2}:\d{2}
        | ^\s*(?:Traceback\ \(most|at\ \S+\(|File\ \x22)
        | ^\s*(?:Compiling|Checking|Finished|Running|Downloaded|Fresh|Blocking)\ \S
        | ^(?:error|warning)(?:\[\w+\])?:
        | ^\s*-->\ \S+:\d+:\d+ | ^\s*=\ (?:note|help):
        | ^npm\ (?:ERR!|WARN|notice|error|warn)\b
        | ^\s+at\ \S.*(?:\(.*:\d+:\d+\)|:\d+:\d+)$ | ^Node\.js\ v\d | ^[A-Z]\w*(?:Error|Exception):\ 
        | ^\s*(?:Collecting|Downloading|Requirement\ already\ satisfied|Installing\ collected\ packages|Successfully\ (?:installed|built|uninstalled)|Building\ wheels?\ for|Created\ wheel\ for|Stored\ in\ directory|Running\ (?:command|setup\.py)|Using\ pip|Looking\ in\ (?:indexes|links)|Preparing\ metadata|Getting\ requirements|Source\ in|Processing\ \S)\b
        | ^\s*(?:running\ (?:build|install|egg_info|bdist_wheel|build_ext|build_py)|copying\ \S|creating\ \S|writing\ \S)
        | (?:PASSED|FAILED|SKIPPED|XFAIL)\b
        | ^={3,}|^-{5,}
        | ^\d{4}-\d{2}-\d{2}\ \d{2}:\d{2}:\d{2}\ (?:status|install|configure|trigproc|startup|remove|purge|upgrade)\b
        | ^(?:Get|Hit|Ign):\d+\ |^(?:Setting\ up|Unpacking|Preparing\ to\ unpack|Selecting\ previously|Processing\ triggers)\ ",
    )
    .expect("log line")
});

static CODE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        ^\s*(?:def|class|import|from\s+\S+\s+import|async\s+def|elif|except|raise|return|yield)\b
        | ^\s*(?:pub\s+)?(?:fn|struct|enum|impl|trait|mod|use|let|const|static)\s
        | ^\s*(?:function|const|let|var|export|interface|type)\s+\w
        | ^\s*(?:package|func)\s
        | ^\s*\#include\s*[<\x22]
        | ^\s*(?:public|private|protected)\s+(?:static\s+)?\w
        | ^\s*(?:if|for|while|switch)\s*\(.*\)\s*\{?\s*$
        | ^\s*(?:if|elif|for|while|with|try|else|finally)\b[^:]*:\s*$
        | ^\s*(?:self\.)?[A-Za-z_][A-Za-z_0-9]*\s+=\s+(?:[\x22'\[({]|[A-Za-z_0-9]+(?:[.(]|\s*$))
        | ^\s*\}\s*(?:else|catch|finally)?.*\{?\s*$
        | [;{]\s*$",
    )
    .expect("code line")
});

static DIFF_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:diff --git |diff -\S+ \S|Index: )").expect("diff file"));
static DIFF_HUNK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^@@@? (?:-\d+(?:,\d+)? )+\+\d+").expect("hunk"));

/// Detects the type of a whole text.
pub fn detect(text: &str) -> Detection {
    let head = prefix(text);
    let lines: Vec<Line> = text::lines(head).into_iter().take(PREFIX_LINES).collect();
    if let Some(d) = detect_json(text, head, &lines) {
        return d;
    }
    if let Some(d) = detect_diff(&lines) {
        return d;
    }
    // a diff as a terminal shows it (`git diff --color=always`): the diff engine keeps what it
    // cannot read whole, where prose would rewrite `+`/`-` lines
    if head.contains('\x1b') {
        let shown: String = lines.iter().flat_map(|l| [text::as_shown(l.text), "\n".into()]).collect();
        if let Some(d) = detect_diff(&text::lines(&shown)) {
            return Detection { why: format!("{} (with terminal colour codes)", d.why), ..d };
        }
    }
    // a script names its interpreter: the code engine reads the ones it has a grammar for and
    // keeps the others whole, where prose would drop words of commands
    if lines.first().is_some_and(|l| l.text.starts_with("#!")) {
        return Detection { kind: EngineKind::Code, confidence: 0.9, why: "a #! script".into() };
    }
    // a file printed with its line numbers (`cat -n`, a read tool's `N→`) is what it lists: a
    // listing of code (or JSON, or a diff) goes to the code engine, which keeps it whole (its
    // numbers do not parse), where prose would drop words of code
    if let Some(body) = text::listing_body(&lines)
        && let d = detect(&body)
        && matches!(d.kind, EngineKind::Code | EngineKind::Json | EngineKind::Diff)
    {
        return Detection {
            kind: EngineKind::Code,
            why: format!("a numbered listing of what reads as {}", d.kind),
            ..d
        };
    }
    let non_empty: Vec<&str> = lines.iter().map(|l| l.text).filter(|t| !t.trim().is_empty()).collect();
    if non_empty.is_empty() {
        return Detection { kind: EngineKind::Prose, confidence: 0.5, why: "blank text".into() };
    }
    let first100 = &non_empty[..non_empty.len().min(100)];
    let (results, counted) = search::coverage(&lines[..lines.len().min(200)]);
    let ratio = results as f64 / counted.max(1) as f64;
    if ratio >= 0.3 && 0.4 + 0.6 * ratio >= 0.6 {
        return Detection {
            kind: EngineKind::Search,
            confidence: 0.4 + 0.6 * ratio,
            why: format!(
                "{results} of the first {counted} lines are grep results (path:line:text, context, separators)"
            ),
        };
    }
    // judged as a terminal shows them: colour codes and progress bars do not hide a log
    let first200: Vec<std::borrow::Cow<str>> =
        non_empty[..non_empty.len().min(200)].iter().map(|t| text::as_shown(t)).collect();
    let log_lines = first200.iter().filter(|t| LOG_LINE.is_match(t)).count();
    let errors = first200.iter().filter(|t| crate::engine::log::classify(t).is_error()).count();
    let ratio = log_lines as f64 / first200.len() as f64;
    let conf = 0.3 + 0.5 * ratio + 0.05 * errors.min(4) as f64;
    if ratio >= 0.1 && conf >= 0.5 {
        return Detection {
            kind: EngineKind::Log,
            confidence: conf.min(1.0),
            why: format!("{log_lines} of the first {} lines look like log records", first200.len()),
        };
    }
    // Comment lines say nothing either way (a Go file can open with 90 lines of package doc), nor
    // does a Python module's opening docstring (cmd.py: 40 lines of usage notes)
    let code_lines: Vec<&&str> = non_empty[after_docstring(&non_empty)..]
        .iter()
        .filter(|t| !t.trim_start().starts_with(['/', '#', '*']) || t.trim_start().starts_with("#include"))
        .take(100)
        .collect();
    let first100 = if code_lines.len() >= 3 { code_lines } else { first100.iter().collect() };
    let code_hits = first100.iter().filter(|t| CODE_LINE.is_match(t)).count();
    let ratio = code_hits as f64 / first100.len() as f64;
    let conf = 0.4 + 0.4 * ratio + 0.02 * code_hits as f64;
    if code_hits >= 3 && conf >= 0.5 && ratio >= 0.15 {
        return Detection {
            kind: EngineKind::Code,
            confidence: conf.min(1.0),
            why: format!("{code_hits} of the first {} lines look like source code", first100.len()),
        };
    }
    Detection { kind: EngineKind::Prose, confidence: 0.5, why: "no structured format detected".into() }
}

/// How many of `lines` (the non-blank ones) a docstring opening the text takes: from a first line
/// starting `"""` or `'''` through the line that closes it (none when it never closes).
fn after_docstring(lines: &[&str]) -> usize {
    let Some(first) = lines.first().map(|l| l.trim_start().trim_start_matches(['r', 'u', 'R', 'U'])) else {
        return 0;
    };
    let Some(quote) = ["\"\"\"", "'''"].into_iter().find(|q| first.starts_with(q)) else { return 0 };
    if first[3..].contains(quote) {
        return 1;
    }
    lines.iter().skip(1).position(|l| l.contains(quote)).map_or(0, |i| i + 2)
}

fn detect_json(text: &str, head: &str, lines: &[Line]) -> Option<Detection> {
    // a UTF-8 byte-order mark is not content (the JSON engine keeps it in front of its output)
    let trimmed = head.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    // JSON Lines: the first lines are each one whole value (a line the prefix cuts short does not
    // count against it)
    let json_lines = || {
        let seen = if head.len() < text.len() { lines.len().saturating_sub(1) } else { lines.len() };
        let values: Vec<&Line> = lines[..seen].iter().filter(|l| !l.text.trim().is_empty()).take(5).collect();
        let whole = values
            .iter()
            .filter(|l| jsonspan::value_end(l.text).is_some_and(|end| l.text[end..].trim().is_empty()))
            .count();
        (values.len() >= 2 && whole == values.len()).then(|| Detection {
            kind: EngineKind::Json,
            confidence: 0.9,
            why: "JSON Lines".into(),
        })
    };
    if !trimmed.starts_with(['{', '[']) {
        // JSON Lines of strings, numbers, booleans or nulls (`jq '.[].name'`)
        let scalar = trimmed.starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit())
            || ["true", "false", "null"].iter().any(|w| trimmed.starts_with(w));
        return if scalar { json_lines() } else { None };
    }
    let lead = head.len() - trimmed.len();
    match jsonspan::starts_like_json(&text[lead..], PREFIX_BYTES) {
        Ok(()) => Some(Detection { kind: EngineKind::Json, confidence: 0.95, why: "starts as valid JSON".into() }),
        Err(e) => {
            if let Some(d) = json_lines() {
                return Some(d);
            }
            // values one after another, some over several lines (`jq` without `-c`)
            if e.message.starts_with("trailing characters")
                && jsonspan::starts_like_json_stream(&text[lead..], PREFIX_BYTES).is_ok()
            {
                return Some(Detection {
                    kind: EngineKind::Json,
                    confidence: 0.9,
                    why: "a stream of JSON values".into(),
                });
            }
            // Valid for more than its first line: JSON with an error (or truncated), which the JSON
            // engine will report precisely.
            let first_line_end = lines.first().map_or(0, |l| l.end);
            (e.offset + lead > first_line_end || e.offset + lead >= text.len()).then(|| Detection {
                kind: EngineKind::Json,
                confidence: 0.6,
                why: format!("starts as JSON but {} at byte {}", e.message, e.offset + lead),
            })
        }
    }
}

fn detect_diff(lines: &[Line]) -> Option<Detection> {
    if !lines.iter().any(|l| DIFF_HUNK.is_match(l.text)) {
        return header_only_diff(lines);
    }
    let (files, hunks, covered) = crate::engine::diff::coverage(lines);
    let non_empty = lines.iter().filter(|l| !l.text.trim().is_empty()).count();
    // Most lines of a diff are diff lines; prose that quotes one is mixed content, not a diff.
    if hunks == 0 || covered * 10 < non_empty * 6 {
        return None;
    }
    let conf = (0.5 + 0.2 * (files + hunks) as f64).min(1.0);
    (conf >= 0.7).then(|| Detection {
        kind: EngineKind::Diff,
        confidence: conf,
        why: format!("{files} file(s), {hunks} hunk(s)"),
    })
}

/// A diff with no hunk (mode changes, renames, deletions, binary files): every line is a file
/// header. It goes to the diff engine, which keeps it whole; prose would cut lines `git apply`
/// needs.
fn header_only_diff(lines: &[Line]) -> Option<Detection> {
    let files = lines.iter().filter(|l| DIFF_FILE.is_match(l.text)).count();
    let all_headers = lines.iter().all(|l| {
        let t = l.text;
        t.trim().is_empty()
            || DIFF_FILE.is_match(t)
            || t.starts_with("--- ")
            || t.starts_with("+++ ")
            || DIFF_HEADERS.iter().any(|p| t.starts_with(p))
    });
    (files > 0 && all_headers).then(|| Detection {
        kind: EngineKind::Diff,
        confidence: 0.9,
        why: format!("{files} file(s), headers only (no hunks)"),
    })
}

/// The extended header lines of a git diff, between its `diff --git` line and its first hunk.
const DIFF_HEADERS: [&str; 11] = [
    "index ",
    "new file",
    "deleted file",
    "old mode",
    "new mode",
    "similarity",
    "dissimilarity",
    "rename ",
    "copy ",
    "Binary files",
    "GIT binary patch",
];

/// Splits `input` into routed sections that cover it exactly, in order. A file name with a source
/// extension (`path`) makes the whole input code.
pub fn route(input: &str, p: &RouterParams, tokenizer: Tokenizer, path: Option<&str>) -> Vec<Route> {
    if let Some(lang) = path.and_then(crate::engine::lang::Lang::from_path) {
        return vec![Route {
            bytes: 0..input.len(),
            kind: EngineKind::Code,
            why: format!("{lang} source by file extension"),
        }];
    }
    let whole = detect(input);
    let single = |d: Detection| vec![Route { bytes: 0..input.len(), kind: d.kind, why: d.why }];
    // text whose fenced blocks outweigh it (a short note around a long code fence) still splits:
    // it is prose outside its fences
    let prose_around_fences = || outside_fences(input).is_some_and(|t| detect(&t).kind == EngineKind::Prose);
    if !p.split_mixed || (whole.kind != EngineKind::Prose && whole.confidence >= 0.7 && !prose_around_fences()) {
        return single(whole);
    }
    let lines = text::lines(input);
    let blocks: Vec<Hard> = hard_blocks(input, &lines)
        .into_iter()
        .filter(|h| tokens::count(&input[h.bytes.clone()], tokenizer) >= p.min_section_tokens)
        .collect();
    if blocks.is_empty() {
        return single(whole);
    }
    let mut routes = Vec::new();
    let mut cursor = 0;
    let soft = |r: Range<usize>, routes: &mut Vec<Route>| {
        if r.is_empty() {
            return;
        }
        let d = detect(&input[r.clone()]);
        routes.push(Route { bytes: r, kind: d.kind, why: d.why });
    };
    // a fence's own lines are sections of their own, kept as they are: with the text before or
    // after they would read to the prose engine as a fence left open (kept to the end, or its
    // marker written inside the fence)
    let fence_line = |r: Range<usize>| Route { bytes: r, kind: EngineKind::Prose, why: "fence line".into() };
    for h in blocks {
        let (start, end) = h.fences.as_ref().map_or((h.bytes.start, h.bytes.end), |[a, b]| (a.start, b.end));
        soft(cursor..start, &mut routes);
        cursor = end;
        let [open, close] = h.fences.map_or([None, None], |[a, b]| [Some(a), Some(b)]);
        routes.extend(open.map(fence_line));
        routes.push(Route { bytes: h.bytes, kind: h.kind, why: h.why });
        routes.extend(close.map(fence_line));
    }
    soft(cursor..input.len(), &mut routes);
    routes
}

/// The text of the input's first [`PREFIX_BYTES`] outside its fenced blocks, fence lines left
/// out; `None` when the input has no fence there.
fn outside_fences(input: &str) -> Option<String> {
    let head = &input[..input.floor_char_boundary(PREFIX_BYTES.min(input.len()))];
    // most inputs asked about (JSON, logs) have no fence: no copy for them
    if !head.contains("```") && !head.contains("~~~") {
        return None;
    }
    let lines = text::lines(head);
    let fenced = text::fenced(&lines).lines;
    let out: String = lines.iter().zip(&fenced).filter(|(_, f)| !**f).map(|(l, _)| &head[l.start..l.end]).collect();
    let any = fenced.contains(&true);
    any.then_some(out)
}

/// A block of another type inside other text.
struct Hard {
    /// The block (a fence's inside, without its fence lines).
    bytes: Range<usize>,
    kind: EngineKind,
    why: String,
    /// A fenced block's opening and closing lines.
    fences: Option<[Range<usize>; 2]>,
}

/// Fenced blocks, multi-line JSON values and diffs inside other text.
fn hard_blocks(input: &str, lines: &[Line]) -> Vec<Hard> {
    let mut out = Vec::new();
    let closers = text::fence_closers(lines);
    // JSON blocks are looked for while the scans cost at most a few times the input: lines of
    // unclosed `[` would otherwise each be scanned to the end
    let mut json_budget = input.len().saturating_mul(4).max(1 << 16);
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].text.trim_start();
        // Fenced block (one inside a blockquote stays with the text around it: its lines carry
        // the quote's `>`, and the prose engine keeps them whole).
        if let Some((f, info)) = Fence::opened_by(lines[i].text) {
            let info = info.to_lowercase();
            if let Some(close) = closers[i] {
                if close > i + 1 && f.quotes == 0 {
                    let r = lines[i + 1].start..lines[close - 1].end;
                    let inner = &input[r.clone()];
                    let (kind, why) = match info.split_whitespace().next().unwrap_or("") {
                        "json" | "jsonl" | "ndjson" => (EngineKind::Json, format!("```{info} fence")),
                        "diff" | "patch" => (EngineKind::Diff, format!("```{info} fence")),
                        "" | "text" | "txt" | "console" | "log" | "output" | "shell-session" => {
                            let d = detect(inner);
                            (d.kind, format!("fenced block: {}", d.why))
                        }
                        lang => (EngineKind::Code, format!("```{lang} fence")),
                    };
                    // a fence of what reads as prose (shell commands, notes) is not prose to
                    // cut: it stays in the text around it, whose engine keeps fenced lines whole
                    if kind != EngineKind::Prose {
                        let fences = Some([lines[i].start..lines[i].end, lines[close].start..lines[close].end]);
                        out.push(Hard { bytes: r, kind, why, fences });
                    }
                }
                i = close + 1;
                continue;
            }
        }
        // A multi-line JSON value starting a line and ending one.
        let scan =
            (t.starts_with(['{', '[']) && json_budget > 0).then(|| jsonspan::value_scan(&input[lines[i].start..]));
        json_budget = json_budget.saturating_sub(scan.map_or(0, |r| r.unwrap_or_else(|read| read)));
        if let Some(Ok(len)) = scan {
            let end = lines[i].start + len;
            let rest_of_line = input[end..].split('\n').next().unwrap_or("");
            let last = lines.partition_point(|l| l.end <= end);
            if rest_of_line.trim().is_empty() && last > i {
                let end_line = last.min(lines.len() - 1);
                let bytes = lines[i].start..lines[end_line].end;
                out.push(Hard { bytes, kind: EngineKind::Json, why: "JSON block".into(), fences: None });
                i = end_line + 1;
                continue;
            }
        }
        // A diff.
        if DIFF_FILE.is_match(lines[i].text)
            || (lines[i].text.starts_with("--- ") && lines.get(i + 1).is_some_and(|n| n.text.starts_with("+++ ")))
        {
            let mut j = i + 1;
            while j < lines.len() && is_diff_body(lines, j) {
                j += 1;
            }
            if (i..j).any(|k| DIFF_HUNK.is_match(lines[k].text)) {
                let bytes = lines[i].start..lines[j - 1].end;
                out.push(Hard { bytes, kind: EngineKind::Diff, why: "diff block".into(), fences: None });
            }
            // a run without a hunk has none from any later start inside it either
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

fn is_diff_body(lines: &[Line], j: usize) -> bool {
    let t = lines[j].text;
    if t.is_empty() {
        return lines
            .get(j + 1)
            .is_some_and(|n| n.text.starts_with([' ', '+', '-', '@']) || DIFF_FILE.is_match(n.text));
    }
    t.starts_with([' ', '+', '-', '@', '\\']) || DIFF_FILE.is_match(t) || DIFF_HEADERS.iter().any(|p| t.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_conflicts_coloured_diffs_and_scripts_are_not_prose() {
        let cc = "diff --cc a.txt\nindex 4ddf4c7,6b2b5f8..0000000\n--- a/a.txt\n+++ b/a.txt\n@@@ -1,9 -1,9 +1,13 @@@\n++<<<<<<< HEAD\n +line 0 master\n++=======\n+ line 0 other\n++>>>>>>> other\n  line 1\n  line 2\n";
        assert_eq!(detect(cc).kind, EngineKind::Diff, "{:?}", detect(cc));
        let plain = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n";
        let coloured: String = plain
            .lines()
            .map(|l| match l.as_bytes()[0] {
                b'+' => format!("\x1b[32m{l}\x1b[m\n"),
                b'-' => format!("\x1b[31m{l}\x1b[m\n"),
                _ => format!("\x1b[1m{l}\x1b[m\n"),
            })
            .collect();
        let d = detect(&coloured);
        assert_eq!(d.kind, EngineKind::Diff, "{d:?}");
        assert!(d.why.contains("colour"), "{}", d.why);
        let script = "#!/bin/bash\nset -e\nif [ -f /etc/x ]; then\n  rm -rf /tmp/cache && cp a b\nfi\n";
        assert_eq!(detect(script).kind, EngineKind::Code);
    }

    #[test]
    fn detects_each_type() {
        assert_eq!(detect(r#"[{"a": 1}, {"a": 2}]"#).kind, EngineKind::Json);
        assert_eq!(detect("{\"a\":1}\n{\"a\":2}\n").kind, EngineKind::Json);
        // JSON Lines of scalars (`jq '.[].name'`), and a stream whose later values span lines
        for stream in ["true\nfalse\ntrue\n", "\"a\"\n\"b\"\n\"c\"\n", "-1\n2.5\n3\n", "[]\n{\n}\n[]\n{\n}\n"] {
            assert_eq!(detect(stream).kind, EngineKind::Json, "{stream:?}");
        }
        for not_json in
            ["1 passed\n2 failed\n", "true story: it rained.\nThe end.\n", "\"Hi,\" she said.\nThen left.\n"]
        {
            assert_ne!(detect(not_json).kind, EngineKind::Json, "{not_json:?}");
        }
        assert_eq!(
            detect("[2024-05-01 10:00:00] INFO started\n[2024-05-01 10:00:01] ERROR boom\n").kind,
            EngineKind::Log
        );
        let diff = "diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n";
        assert_eq!(detect(diff).kind, EngineKind::Diff);
        let modes = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\ndiff --git a/logo.png b/logo.png\nindex 1a2b3c4..5d6e7f8 100644\nBinary files a/logo.png and b/logo.png differ\n";
        assert_eq!(detect(modes).kind, EngineKind::Diff, "{:?}", detect(modes));
        let grep = "src/a.rs:1:fn a()\nsrc/b.rs:20:fn b()\nsrc/c.rs:3:let c = 1;\n";
        assert_eq!(detect(grep).kind, EngineKind::Search);
        let code = "import os\n\ndef f(x):\n    return x\n\nclass A:\n    pass\n";
        assert_eq!(detect(code).kind, EngineKind::Code);
        assert_eq!(
            detect("The quick brown fox jumps over the lazy dog.\nIt was not amused.\n").kind,
            EngineKind::Prose
        );
    }

    #[test]
    fn truncated_json_still_goes_to_the_json_engine() {
        let d = detect("[\n  {\"a\": 1},\n  {\"a\": 2},\n  {\"a\"");
        assert_eq!(d.kind, EngineKind::Json);
        assert!(d.why.contains("starts as JSON but"), "{}", d.why);
        // a log line in brackets is not JSON
        assert_ne!(detect("[12:00:01] INFO up\n[12:00:02] INFO still up\n").kind, EngineKind::Json);
        // JSON Lines whose third line runs past the detection prefix
        let big = format!("{{\"n\":1}}\n{{\"n\":2}}\n{{\"s\":\"{}\"}}\n", "x".repeat(PREFIX_BYTES * 2));
        let d = detect(&big);
        assert_eq!((d.kind, d.why.as_str()), (EngineKind::Json, "JSON Lines"));
    }

    #[test]
    fn a_note_around_a_long_code_fence_splits() {
        let code: String = (0..60).map(|i| format!("def f{i}(x):\n    return x + {i}\n\n")).collect();
        let input = format!(
            "# Guide\n\nThis guide explains how the helpers work and what they return when called.\n\n```python\n{code}```\n\nThat is all there is to it.\n"
        );
        assert_eq!(detect(&input).kind, EngineKind::Code, "the fence outweighs the note");
        let routes = route(&input, &RouterParams::default(), Tokenizer::O200k, None);
        let kinds: Vec<EngineKind> = routes.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [EngineKind::Prose, EngineKind::Prose, EngineKind::Code, EngineKind::Prose, EngineKind::Prose]
        );
        assert!(input[routes[2].bytes.clone()].starts_with("def f0"));
        // a source file is not split at a fence in its docstring
        let source = format!("{code}def g():\n    \"\"\"Use it so:\n\n    ```\n    g()\n    ```\n    \"\"\"\n{code}");
        assert_eq!(route(&source, &RouterParams::default(), Tokenizer::O200k, None).len(), 1);
    }

    /// The first `n` lines of `code` as a read tool shows them.
    fn arrow_of(code: &str, n: usize) -> String {
        code.lines().take(n).enumerate().map(|(i, l)| format!("{:6}→{l}\n", i + 1)).collect()
    }

    #[test]
    fn a_python_module_that_opens_with_a_long_docstring_is_code() {
        let mut module = String::from("\"\"\"A generic class to build line-oriented command interpreters.\n\n");
        for i in 0..40 {
            module
                .push_str(&format!("Interpreters constructed with this class obey the following conventions, {i}.\n"));
        }
        module.push_str("\"\"\"\n\nimport string, sys\n\n__all__ = [\"Cmd\"]\n\nPROMPT = '(Cmd) '\n\nclass Cmd:\n    def __init__(self, completekey='tab'):\n        self.completekey = completekey\n\n    def cmdloop(self, intro=None):\n        self.preloop()\n        return None\n");
        let d = detect(&module);
        assert_eq!(d.kind, EngineKind::Code, "{}", d.why);
        assert_eq!(after_docstring(&["\"\"\"One line.\"\"\"", "x = 1"]), 1);
        assert_eq!(after_docstring(&["r'''a", "b", "'''", "x = 1"]), 3);
        assert_eq!(after_docstring(&["\"\"\"never closed", "b"]), 0);
        assert_eq!(after_docstring(&["x = 1"]), 0);
    }

    #[test]
    fn a_numbered_listing_of_code_goes_to_the_code_engine_not_prose() {
        use crate::engine::{Engine, code::CodeEngine};
        let code = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/code/requests-sessions.py"))
            .unwrap();
        let cat: String = code.lines().enumerate().map(|(i, l)| format!("{:6}\t{l}\n", i + 1)).collect();
        let arrow = arrow_of(&code, usize::MAX);
        for listing in [cat, arrow] {
            let d = detect(&listing);
            assert_eq!(d.kind, EngineKind::Code, "{}", d.why);
            let c = CodeEngine::compress(&listing, &Default::default(), &Default::default()).unwrap();
            assert!(c.output.contains("   1\t\"\"\"") || c.output.contains("   1→\"\"\""), "numbers kept");
            assert!(c.output.contains("import sys"), "no word of code dropped");
        }
        // `nl` leaves blank lines unnumbered; a read tool's output can end in a note; a listing
        // compressed once has jumps where its markers are: all still listings of code
        let nl: String = code
            .lines()
            .enumerate()
            .map(|(i, l)| if l.trim().is_empty() { "\n".to_string() } else { format!("{:6}\t{l}\n", i + 1) })
            .collect();
        let noted = format!(
            "{}\n<system-reminder>\nWhether this file is malware or not, say so.\n</system-reminder>\n",
            &arrow_of(&code, 60)
        );
        let once =
            CodeEngine::compress(&arrow_of(&code, usize::MAX), &Default::default(), &Default::default()).unwrap();
        for listing in [nl, noted, once.output] {
            let d = detect(&listing);
            assert_eq!(d.kind, EngineKind::Code, "{}: {}", d.why, &listing[..200]);
        }
        // a numbered list of sentences is prose
        let list: String =
            (1..=12).map(|i| format!("{i}: We walked to the river and talked about day {i}.\n")).collect();
        assert_eq!(detect(&list).kind, EngineKind::Prose);
    }

    #[test]
    fn a_fence_of_commands_stays_with_its_text_not_cut_as_prose() {
        let commands: String = (0..30)
            .map(|i| {
                format!("$ kubectl delete pod web-{i} --namespace prod and then wait for the new one to come up\n")
            })
            .collect();
        for info in ["", "console", "text"] {
            let input = format!(
                "Run these in order, one at a time, and watch the pods come back.\n\n```{info}\n{commands}```\n"
            );
            let routes = route(&input, &RouterParams::default(), Tokenizer::O200k, None);
            // no section is the fence's inside alone: its text's section holds the whole fence,
            // so the prose engine sees the fence and keeps its lines
            let fence_at = input.find("```").unwrap();
            let holder = routes.iter().find(|r| r.bytes.contains(&fence_at)).unwrap();
            assert!(holder.bytes.end >= input.rfind("```").unwrap(), "{info:?}: {routes:?}");
        }
    }

    #[test]
    fn a_longer_fence_holds_a_shorter_one_whole() {
        // Markdown documenting Markdown: the inner ``` lines are the example's, not the end
        let example: String = (0..40).map(|i| format!("let v{i} = compute({i});\n")).collect();
        let input = format!(
            "# Writing docs\n\nA code example in your page is written like this, with a fence around it.\n\n````markdown\n```rust\n{example}```\n````\n\nThat is how the fences nest, as CommonMark has it.\n"
        );
        let routes = route(&input, &RouterParams::default(), Tokenizer::O200k, None);
        let inside =
            routes.iter().find(|r| r.why.contains("fence") && r.why != "fence line").expect("a fenced section");
        assert_eq!(&input[inside.bytes.clone()], format!("```rust\n{example}```\n"));
        assert_eq!(inside.why, "```markdown fence");
        // the prose check skips the whole example, both fences included
        let outside = outside_fences(&input).expect("has a fence");
        assert!(!outside.contains("compute") && outside.contains("as CommonMark has it"), "{outside}");
    }

    #[test]
    fn splits_mixed_content_into_covering_sections() {
        let json: Vec<String> = (0..30).map(|i| format!("  {{\"id\": {i}, \"name\": \"item number {i}\"}}")).collect();
        let input = format!(
            "Here is what the tool returned for the query you gave.\n\n[\n{}\n]\n\nAnd here is a diff of the change we made:\n\n```diff\ndiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n```\nThat is all.\n",
            json.join(",\n")
        );
        let routes = route(&input, &RouterParams::default(), Tokenizer::O200k, None);
        let kinds: Vec<EngineKind> = routes.iter().map(|r| r.kind).collect();
        use EngineKind::{Diff, Json, Prose};
        assert_eq!(kinds, [Prose, Json, Prose, Prose, Diff, Prose, Prose]);
        // a fence's lines are sections of their own, so the text around them is never read as a
        // fence left open
        assert_eq!((&input[routes[3].bytes.clone()], routes[3].why.as_str()), ("```diff\n", "fence line"));
        assert_eq!((&input[routes[5].bytes.clone()], routes[5].why.as_str()), ("```\n", "fence line"));
        // sections cover the input exactly
        assert_eq!(routes[0].bytes.start, 0);
        assert_eq!(routes.last().unwrap().bytes.end, input.len());
        for w in routes.windows(2) {
            assert_eq!(w[0].bytes.end, w[1].bytes.start);
        }
        assert!(input[routes[1].bytes.clone()].trim_start().starts_with('['));
    }
}
