//! Prose engine: a token classifier (Kompress-compatible ONNX model) scores every word; words under
//! the threshold go, except those that must stay (numbers, paths, flags, identifiers, negations
//! and modals), whole tabular lines, fenced code blocks, inline code and Markdown links.
//!
//! Headroom's Kompress algorithm: 350-word chunks tokenized as pre-split words in a 512-token
//! window, a word cut by the window rescored in the next chunk, word score = max over its tokens,
//! keep above 0.5 or the top `target_ratio` per chunk. Differences, on purpose: the line structure
//! stays (newlines and the indentation of kept lines; Kompress joins everything with spaces); no
//! text past the window is lost; when the time budget runs out the rest is kept verbatim and the
//! decision record says so; a missing runtime or model is a skip that names what is missing.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokenizers::{EncodeInput, InputSequence};

use super::api::{Compressed, Context, Engine, Fraction, Memo, Skip};
use super::text;
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, group_thousands};
use crate::models;

/// Knobs of the prose engine (Headroom Kompress names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProseParams {
    /// Which model: `auto` (Kompress from the Hugging Face cache, then the default model, then any
    /// other in models/), a folder name in models/, a folder path, or one `.onnx` file (its tokenizer.json beside it).
    pub model: String,
    /// Words per chunk sent to the model.
    pub chunk_words: usize,
    /// Tokens per model window (a word cut by it is scored again in the next chunk).
    #[schemars(range(min = 8, max = 8192))]
    pub max_length: usize,
    /// A word is kept when its score (the max over its tokens) is above this.
    pub score_threshold: Fraction,
    /// When above 0, keep this share of each chunk's words (the best scored) instead of the threshold.
    pub target_ratio: Fraction,
    /// Always keep numbers, hex, ALL_CAPS, snake_case, CamelCase and other mixed-case words
    /// (CPython, Content-Length, URLs), dotted.names, /paths, .ext, --flags, negations and modals
    /// (not, never, must, only…), and/or/nor, list bullets opening a line, and whole tabular lines
    /// (HEADROOM_KOMPRESS_MUST_KEEP).
    pub must_keep: bool,
    /// Texts with fewer words pass through.
    pub min_input_words: usize,
    /// After this many milliseconds the rest of the text is kept verbatim (HEADROOM_COMPRESSION_DEADLINE_MS).
    pub time_budget_ms: u64,
    /// ONNX Runtime intra-op threads (0: the runtime's default, one per core).
    #[schemars(range(max = 256))]
    pub threads: usize,
    /// Windows scored per model run (HEADROOM_KOMPRESS_BATCH_SIZE; Headroom batches only on GPU,
    /// but two windows per run are about 40% faster than one on a 2-core CPU).
    #[schemars(range(min = 1, max = 64))]
    pub batch_size: usize,
}

impl Default for ProseParams {
    fn default() -> Self {
        ProseParams {
            model: "auto".into(),
            chunk_words: 350,
            max_length: 512,
            score_threshold: Fraction(0.5),
            target_ratio: Fraction(0.0),
            must_keep: true,
            min_input_words: 64,
            time_budget_ms: 20_000,
            threads: 0,
            batch_size: 2,
        }
    }
}

/// One whitespace-separated word of the input.
#[derive(Debug, Clone, Copy)]
struct Word<'a> {
    start: usize,
    end: usize,
    line: usize,
    text: &'a str,
}

fn words(input: &str) -> (Vec<Word<'_>>, Vec<text::Line<'_>>) {
    let lines = text::lines(input);
    let mut out = Vec::new();
    for (li, l) in lines.iter().enumerate() {
        let mut start = None;
        for (i, c) in l.text.char_indices().chain(std::iter::once((l.text.len(), ' '))) {
            match (start, c.is_whitespace()) {
                (None, false) => start = Some(i),
                (Some(s), true) => {
                    out.push(Word { start: l.start + s, end: l.start + i, line: li, text: &l.text[s..i] });
                    start = None;
                }
                _ => {}
            }
        }
    }
    (out, lines)
}

/// What the prose engine keeps beyond [`text::is_detail_word`]: hex, `.ext`, `--flags`, and the
/// words that turn a sentence's meaning (modals and and/or/xor, besides negations).
static MUST_KEEP_MORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^(?:
            0x[0-9a-fA-F]+ | \.[A-Za-z0-9]+ | --?[A-Za-z][\w-]*
          | (?i:avoid|unless|except|must|should|shall|required|always|only|mandatory|and|or|xor)
        )$",
    )
    .expect("must-keep regex")
});

/// Whether a word must stay whatever its score: every detail the prose retention metric counts
/// (numbers, paths, identifiers, negations), and the extras above.
pub fn must_keep(word: &str) -> bool {
    if text::is_detail_word(word) {
        return true;
    }
    let core =
        word.trim_matches(|c: char| matches!(c, ',' | ';' | ':' | '(' | ')' | '"' | '\'' | '!' | '?' | '[' | ']'));
    let core = core.strip_suffix('.').unwrap_or(core);
    !core.is_empty() && MUST_KEEP_MORE.is_match(core)
}

/// A list bullet, quote mark, heading hashes or item number opening a line (the text's structure).
fn is_list_marker(word: &str) -> bool {
    static MARKER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[-*+>#|]+|\d+[.)])$").expect("list marker"));
    MARKER.is_match(word)
}

/// Lines in runs of three or more with the same number (three or more) of columns separated by
/// two or more spaces or tabs; Markdown pipe tables; and the lines of a long file listing.
fn tabular_lines(lines: &[text::Line]) -> Vec<bool> {
    static SEP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s{2,}|\t").expect("columns"));
    let cols: Vec<usize> = lines
        .iter()
        .map(|l| {
            let t = l.text.trim();
            if t.is_empty() { 0 } else { SEP.split(t).count() }
        })
        .collect();
    let mut out = vec![false; lines.len()];
    // a Markdown pipe table: its delimiter row (`|---|:--:|`) and the rows with pipes around it
    static DELIMITER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)+\|?\s*$|^\s*\|\s*:?-{3,}:?\s*\|\s*$")
            .expect("table delimiter")
    });
    // a long listing (`ls -l`, `tar -tv`): mode bits, then the entry's fields and name
    static LISTING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*[-dlcbps][rwxsStT-]{9}[.+@]?\s").expect("listing line"));
    for (k, l) in lines.iter().enumerate() {
        out[k] = LISTING.is_match(l.text);
    }
    let piped = |k: usize| lines[k].text.contains('|');
    for d in (0..lines.len()).filter(|&k| DELIMITER.is_match(lines[k].text)) {
        let (mut a, mut b) = (d, d + 1);
        while a > 0 && piped(a - 1) && !out[a - 1] {
            a -= 1;
        }
        while b < lines.len() && piped(b) {
            b += 1;
        }
        out[a..b].iter_mut().for_each(|t| *t = true);
    }
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j < lines.len() && cols[j] == cols[i] {
            j += 1;
        }
        if cols[i] >= 3 && j - i >= 3 {
            out[i..j].iter_mut().for_each(|b| *b = true);
        }
        i = j.max(i + 1);
    }
    out
}

/// Words inside Markdown emphasis on one line (`_same origin_`, `**Authorization header**`,
/// `~~old~~`): dropping any of them would leave one delimiter without the other (`origin_`), so
/// they all stay. A closer is looked for among the next 40 words of the line.
fn emphasis_words(words: &[Word]) -> Vec<bool> {
    let mut out = vec![false; words.len()];
    let mut i = 0;
    while i < words.len() {
        let open = words[i].text.trim_start_matches(['(', '[', '"', '\'']);
        let delim = ["**", "__", "~~", "*", "_"].into_iter().find(|d| open.starts_with(d) && open.len() > d.len());
        let close = delim.and_then(|d| {
            (i..words.len()).take(40).take_while(|&j| words[j].line == words[i].line).find(|&j| {
                let end = words[j].text.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '"', '\'']);
                end.ends_with(d) && (j > i || open.len() > 2 * d.len())
            })
        });
        match close {
            Some(j) => {
                out[i..=j].iter_mut().for_each(|e| *e = true);
                i = j + 1;
            }
            None => i += 1,
        }
    }
    out
}

/// Byte ranges kept whole: inline code spans (`` `…` ``) and Markdown links and images
/// (`[text](target)`), each within one line, in order.
fn verbatim_spans(input: &str) -> Vec<std::ops::Range<usize>> {
    static SPAN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"`[^`\n]+`|!?\[[^\]\n]*\]\([^)\s]*\)").expect("verbatim spans"));
    SPAN.find_iter(input).map(|m| m.range()).collect()
}

pub struct ProseEngine;

impl Engine for ProseEngine {
    type Params = ProseParams;

    fn compress(input: &str, p: &ProseParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.trim().is_empty() {
            return Err(Skip::Empty);
        }
        // the time budget bounds the whole call: model load, tokenizing and scoring
        let started = Instant::now();
        let (words, lines) = words(input);
        let min = p.min_input_words.max(10);
        if words.len() < min {
            return Err(Skip::TooSmall {
                detail: format!(
                    "{} words; prose under max(10, min_input_words = {}) passes through",
                    words.len(),
                    p.min_input_words
                ),
            });
        }
        let scorer = models::load(&p.model, p.threads).map_err(|detail| Skip::Unavailable { detail })?;
        let plan = score_words(input, &words, &lines, p, &scorer, started, ctx)?;
        render(input, &words, &lines, &plan, p, &scorer.name)
    }
}

/// What the model decided, word by word.
struct Plan {
    keep: Vec<bool>,
    forced: usize,
    /// Index of the first word kept verbatim because the time budget ran out.
    budget_hit: Option<usize>,
    chunks: usize,
    tokens: usize,
    /// The opening line of a fence left open at the end of the text (the marker goes before it).
    open_fence: Option<usize>,
}

fn score_words(
    input: &str,
    words: &[Word],
    lines: &[text::Line],
    p: &ProseParams,
    scorer: &models::Scorer,
    started: Instant,
    ctx: &Context,
) -> Result<Plan, Skip> {
    let n = words.len();
    let tab = if p.must_keep { tabular_lines(lines) } else { vec![false; lines.len()] };
    // code is never word-dropped (a fenced block's lines, an inline code span), nor is a link
    // (its text and target go together, or the markup breaks)
    let text::Fenced { lines: fenced, open_at_end: open_fence } = text::fenced(lines);
    let emphasis = emphasis_words(words);
    let inline = verbatim_spans(input);
    let mut spans = inline.iter().peekable();
    let forced: Vec<bool> = words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            while spans.next_if(|r| r.end <= w.start).is_some() {}
            let in_span = spans.peek().is_some_and(|r| r.start < w.end);
            let line_start = i == 0 || words[i - 1].line != w.line;
            fenced[w.line]
                || in_span
                || emphasis[i]
                || tab[w.line]
                || (p.must_keep && (must_keep(w.text) || (line_start && is_list_marker(w.text))))
        })
        .collect();
    // Windows are laid out (tokenized) a batch at a time, just before they are scored, so the
    // budget is checked between batches whatever the input's size.
    let mut keep = vec![false; n];
    let (mut tokens, mut chunks) = (0, 0);
    let budget = Duration::from_millis(p.time_budget_ms);
    let mut budget_hit = None;
    let mut next = 0;
    while next < n {
        if ctx.stopped() {
            return Err(Skip::OutOfTime { detail: "stopped: the caller no longer wants this result".into() });
        }
        if started.elapsed() > budget {
            if next == 0 {
                return Err(Skip::OutOfTime {
                    detail: format!(
                        "time budget of {} ms reached before the first chunk; kept verbatim",
                        p.time_budget_ms
                    ),
                });
            }
            budget_hit = Some(next);
            keep[next..].iter_mut().for_each(|k| *k = true);
            break;
        }
        let mut batch = Vec::with_capacity(p.batch_size.max(1));
        while batch.len() < p.batch_size.max(1) && next < n {
            let w = window_at(words, next, p, scorer)?;
            next += w.complete;
            batch.push(w);
        }
        tokens += batch.iter().map(|w| w.ids.len()).sum::<usize>();
        chunks += batch.len();
        let seqs: Vec<&[u32]> = batch.iter().map(|w| w.ids.as_slice()).collect();
        let scores = scored(scorer, &seqs, ctx.memo.as_deref()).map_err(|e| {
            let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
            // the usual cause: a window longer than the model's position table
            let hint = if longest > 512 {
                format!(
                    "; windows here reach {longest} tokens (prose.max_length = {}), and BERT-class models take at most 512: lower prose.max_length",
                    p.max_length
                )
            } else {
                String::new()
            };
            Skip::Unavailable { detail: format!("{}: the model failed: {e}{hint}", scorer.name) }
        })?;
        for (w, scores) in batch.iter().zip(scores.iter()) {
            decide(w, scores, p, &mut keep[w.start..w.start + w.complete]);
        }
    }
    let mut n_forced = 0;
    for (k, f) in keep.iter_mut().zip(&forced) {
        if *f && !*k {
            n_forced += 1;
            *k = true;
        }
    }
    Ok(Plan { keep, forced: n_forced, budget_hit, chunks, tokens, open_fence })
}

/// The memo's name for model scores, and how many batches it keeps (a batch of two full windows
/// is 4 KB of scores: 16 MB at most).
const MEMO_SCORES: &str = "prose-scores";
const MEMO_BATCHES: usize = 4096;

/// The model's scores for one batch of windows, from the caller's memo when this model scored
/// the same batch before: the workbench turns a threshold knob, or shows a block part by part,
/// without running the model again. The key is the whole batch (its windows score a little
/// differently padded beside others), so a result never depends on what was memoised.
fn scored(scorer: &models::Scorer, seqs: &[&[u32]], memo: Option<&Memo>) -> Result<Arc<Vec<Vec<f32>>>, String> {
    /// A batch's token ids (checked on a hit: the key is a 64-bit hash) and its scores.
    struct Scored {
        ids: Vec<Vec<u32>>,
        scores: Arc<Vec<Vec<f32>>>,
    }
    let Some(memo) = memo else { return scorer.score_batch(seqs).map(Arc::new) };
    let mut h = rustc_hash::FxHasher::default();
    (&scorer.file, seqs).hash(&mut h);
    let key = h.finish();
    if let Some(hit) = memo.get::<Scored>(MEMO_SCORES, key)
        && hit.ids.iter().map(Vec::as_slice).eq(seqs.iter().copied())
    {
        return Ok(hit.scores.clone());
    }
    let scores = Arc::new(scorer.score_batch(seqs)?);
    let ids = seqs.iter().map(|s| s.to_vec()).collect();
    memo.put(MEMO_SCORES, MEMO_BATCHES, key, Scored { ids, scores: scores.clone() });
    Ok(scores)
}

/// One model window: the words from `start`, their token ids and word ids.
struct Window {
    start: usize,
    /// Words whose tokens all fit (the one cut by the window is scored again in the next).
    complete: usize,
    ids: Vec<u32>,
    wids: Vec<Option<u32>>,
    /// A single word filled the window by itself: it is kept.
    overflow: bool,
}

/// The model window that starts at word `i`.
fn window_at(words: &[Word], i: usize, p: &ProseParams, scorer: &models::Scorer) -> Result<Window, Skip> {
    let n = words.len();
    let max_len = p.max_length.max(8);
    let end = (i + p.chunk_words.max(1)).min(n);
    let slice: Vec<&str> = words[i..end].iter().map(|w| w.text).collect();
    let enc = scorer
        .tokenizer
        .encode(EncodeInput::Single(InputSequence::from(slice)), true)
        .map_err(|e| Skip::ParseFailed { detail: format!("tokenizer failed: {e}") })?;
    let mut ids: Vec<u32> = enc.get_ids().to_vec();
    let mut wids: Vec<Option<u32>> = enc.get_word_ids().to_vec();
    let truncated = ids.len() > max_len;
    if truncated {
        // keep the window's first max_len - 1 tokens and close it like the tokenizer would
        let last = *ids.last().unwrap_or(&0);
        ids.truncate(max_len - 1);
        wids.truncate(max_len - 1);
        ids.push(last);
        wids.push(None);
    }
    let seen = wids.iter().flatten().map(|w| *w as usize + 1).max().unwrap_or(0);
    let complete = if truncated { seen.saturating_sub(1).max(1) } else { end - i };
    Ok(Window { start: i, complete, ids, wids, overflow: truncated && seen <= 1 })
}

/// Keep decisions for a window's complete words: word score = max over its tokens.
fn decide(w: &Window, scores: &[f32], p: &ProseParams, keep: &mut [bool]) {
    let mut word_score = vec![f32::NEG_INFINITY; w.complete];
    for (t, wid) in w.wids.iter().enumerate() {
        if let Some(x) = wid.map(|x| x as usize).filter(|x| *x < w.complete) {
            word_score[x] = word_score[x].max(scores[t]);
        }
    }
    if w.overflow {
        keep.iter_mut().for_each(|k| *k = true);
    } else if p.target_ratio.get() > 0.0 {
        let k = ((w.complete as f64 * p.target_ratio.get()) as usize).max(1);
        let mut order: Vec<usize> = (0..w.complete).collect();
        order.sort_by(|a, b| word_score[*b].total_cmp(&word_score[*a]).then(a.cmp(b)));
        order.into_iter().take(k).for_each(|x| keep[x] = true);
    } else {
        let t = p.score_threshold.get() as f32;
        for (x, k) in keep.iter_mut().enumerate() {
            *k = word_score[x] > t;
        }
    }
}

fn render(
    input: &str,
    words: &[Word],
    lines: &[text::Line],
    plan: &Plan,
    p: &ProseParams,
    model: &str,
) -> Result<Compressed, Skip> {
    let n = words.len();
    let kept = plan.keep.iter().filter(|k| **k).count();
    if kept == n {
        return Err(Skip::NothingToDrop { detail: format!("{model} kept every one of the {n} words") });
    }
    // Spans: a fully dropped line loses its text but not its line break; inside a line, a dropped run takes the space after
    // it, or the space before it at the end of the line, so the kept words read as before.
    let mut spans: Vec<(std::ops::Range<usize>, usize)> = Vec::new();
    let mut w = 0;
    while w < n {
        let line = words[w].line;
        let mut e = w;
        while e < n && words[e].line == line {
            e += 1;
        }
        let ws = &words[w..e];
        let keep = &plan.keep[w..e];
        if keep.iter().all(|k| !k) {
            // the line keeps its place (its line break stays), so line numbers still hold
            let l = &lines[line];
            spans.push((l.start..l.start + l.text.len(), ws.len()));
        } else {
            let mut a = 0;
            while a < ws.len() {
                if keep[a] {
                    a += 1;
                    continue;
                }
                let mut b = a;
                while b < ws.len() && !keep[b] {
                    b += 1;
                }
                let range = if b < ws.len() { ws[a].start..ws[b].start } else { ws[a - 1].end..ws[b - 1].end };
                spans.push((range, b - a));
                a = b;
            }
        }
        w = e;
    }
    let mut ledger = LedgerBuilder::new(input);
    let group = ledger.group();
    let mut out = String::with_capacity(input.len());
    let mut cursor = 0;
    let reason: std::sync::Arc<str> = if p.target_ratio.get() > 0.0 {
        format!("below the best {:.0}% of its chunk by {model}'s keep score", p.target_ratio.get() * 100.0).into()
    } else {
        format!("{model}'s keep score at or below {}", p.score_threshold.get()).into()
    };
    for (range, count) in &spans {
        out.push_str(&input[cursor..range.start]);
        ledger.drop_span(range.clone(), None, Unit::Words, *count, reason.clone());
        cursor = range.end;
    }
    // the marker goes after the text, or before a fence left open at its end, where it would
    // read as the fence's code
    let marker_at = plan.open_fence.map_or(input.len(), |i| lines[i].start);
    out.push_str(&input[cursor..marker_at]);
    let dropped = n - kept;
    let phrase = format!(
        "{} of {} words omitted by {model} ({})",
        group_thousands(dropped),
        group_thousands(n),
        if p.target_ratio.get() > 0.0 {
            format!("target_ratio {}", p.target_ratio.get())
        } else {
            format!("score_threshold {}", p.score_threshold.get())
        }
    );
    if !out.is_empty() && !out.ends_with(['\n', '\r']) {
        out.push('\n');
    }
    out.push_str(&ledger.marker(group, phrase, PayloadShape::Lines));
    if marker_at < input.len() || input.ends_with(['\n', '\r']) {
        out.push('\n');
    }
    out.push_str(&input[marker_at..]);
    let mut notes = vec![format!(
        "{model}: {} chunks, {} tokens; {} words kept by the must-keep rules",
        plan.chunks,
        group_thousands(plan.tokens),
        plan.forced
    )];
    if let Some(at) = plan.budget_hit {
        notes.push(format!(
            "time budget of {} ms reached at word {} of {n}; the rest is kept verbatim",
            p.time_budget_ms,
            at + 1
        ));
    }
    let strategy = format!("kept {} of {} words ({model})", group_thousands(kept), group_thousands(n));
    Ok(Compressed { output: out, ledger: ledger.finish(), strategy, notes, budget_hit: plan.budget_hit.is_some() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn must_keep_rules() {
        for w in [
            "42",
            "0x1f",
            "v1.2",
            "HTTP_PROXY",
            "config.yaml",
            "/etc/hosts",
            ".env",
            "--force",
            "-v",
            "HashMap",
            "getValue",
            "not",
            "Never",
            "must,",
            "only.",
            "and",
            "can't",
            "raise_for_status",
            "set\\_environ",
            "CPython",
            "SSLContext",
            "URLs.",
            "Content-Length",
            "verify=False",
            "ÄPFEL",
            "ÉCOLE,",
        ] {
            assert!(must_keep(w), "{w}");
        }
        for w in ["the", "database", "Restarted", "quickly,", "A"] {
            assert!(!must_keep(w), "{w}");
        }
    }

    #[test]
    fn inline_code_and_links_are_kept_whole() {
        let text = "see `a b c` and [the docs](https://x.example/a) or ![img](p.png) [not a link]";
        let got: Vec<&str> = verbatim_spans(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(got, ["`a b c`", "[the docs](https://x.example/a)", "![img](p.png)"]);
    }

    /// `input` rendered with every word of its second line dropped.
    fn second_line_dropped(input: &str) -> Compressed {
        let (ws, lines) = words(input);
        let keep: Vec<bool> = ws.iter().map(|w| w.line != 1).collect();
        let open_fence = text::fenced(&lines).open_at_end;
        let plan = Plan { keep, forced: 0, budget_hit: None, chunks: 1, tokens: 9, open_fence };
        render(input, &ws, &lines, &plan, &ProseParams::default(), "m").unwrap()
    }

    #[test]
    fn a_line_whose_words_all_go_keeps_its_place() {
        let input = "keep this line\ndrop every word\nlast line here\n";
        let c = second_line_dropped(input);
        let out: Vec<&str> = c.output.lines().collect();
        assert_eq!(&out[..3], ["keep this line", "", "last line here"], "{}", c.output);
        assert_eq!(c.ledger.drops.len(), 1);
        assert_eq!(&input[c.ledger.drops[0].span.bytes.clone()], "drop every word");
    }

    #[test]
    fn the_marker_goes_before_a_fence_left_open() {
        let c = second_line_dropped("keep this line\ndrop every word\n```bash\necho hi\n");
        let out: Vec<&str> = c.output.lines().collect();
        assert_eq!(out.len(), 5, "{}", c.output);
        assert!(out[2].starts_with("[ctxlens: 3 of 9 words omitted"), "{}", c.output);
        assert_eq!(&out[3..], ["```bash", "echo hi"]);
        assert!(c.output.ends_with("echo hi\n"));
    }

    #[test]
    fn emphasis_stays_whole() {
        let (ws, _) = words("the _same origin_ rule, **bold** and *a b c*. snake_case and * bullet _x\nnext_\n");
        let kept: Vec<&str> = ws.iter().zip(emphasis_words(&ws)).filter(|(_, e)| *e).map(|(w, _)| w.text).collect();
        assert_eq!(kept, ["_same", "origin_", "**bold**", "*a", "b", "c*."]);
    }

    #[test]
    fn words_and_tables() {
        let (ws, lines) = words("  alpha beta\n\ngamma\tdelta\n");
        let t: Vec<&str> = ws.iter().map(|w| w.text).collect();
        assert_eq!(t, ["alpha", "beta", "gamma", "delta"]);
        assert_eq!((ws[0].start, ws[0].end, ws[2].line), (2, 7, 2));
        let table = "NAME   READY   STATUS\napi    1/1     Running\ndb     0/1     Pending\nplain words here\n";
        let (_, lines2) = words(table);
        assert_eq!(tabular_lines(&lines2), [true, true, true, false]);
        assert_eq!(tabular_lines(&lines), [false, false, false]);
        // a Markdown table, its cells long prose: every row with pipes around the delimiter row
        let md = "intro | not a table\n\n| Option | Meaning |\n|---|:---:|\n| verify | whether the server is checked |\n| timeout | how long it waits |\nafter\n";
        let (_, lines3) = words(md);
        assert_eq!(tabular_lines(&lines3), [false, false, true, true, true, true, false]);
        let ls = "total 8\ndrwxr-xr-x  2 root root 4096 Jan 24  2025 gold-ld\nlrwxrwxrwx  1 root root   21 Jan 24  2025 os-release -> ../etc/os-release\n-rw-r--r--. 1 a b 9 Jan 1 00:00 x\n";
        let (_, lines4) = words(ls);
        assert_eq!(tabular_lines(&lines4), [false, true, true, true]);
    }
}
