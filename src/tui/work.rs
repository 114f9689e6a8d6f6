//! Background work: compressing blocks, counting tokens, building diff models and syntax colour,
//! off the draw thread. A queue keeps the newest request per block (older ones are dropped) and
//! serves the block on screen first; results go back to the UI through a channel. Results are
//! cached by (text, engine, knobs, tokenizer), so re-selecting a setting is instant.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Instant;

use ratatui::style::Color;
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::SyntaxSet;

use super::diffview::{self, DiffModel};
use super::pretty;
use crate::config::Config;
use crate::engine::EngineKind;
use crate::ledger::{Span, Unit};
use crate::outcome::Outcome;
use crate::pipeline::EngineChoice;
use crate::tokens::{self, Tokenizer};

/// Which engine a block is shown through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineSel {
    /// The router picks (and splits mixed content).
    Auto,
    /// What the capture says was actually sent (Headroom's `compressed_messages`).
    Recorded,
    Only(EngineKind),
}

impl EngineSel {
    pub fn label(self) -> String {
        match self {
            EngineSel::Auto => "auto".into(),
            EngineSel::Recorded => "recorded".into(),
            EngineSel::Only(k) => k.to_string(),
        }
    }

    /// The choices in cycling order (`recorded` only when the capture has it).
    pub fn all(recorded: bool) -> Vec<EngineSel> {
        let mut v = vec![EngineSel::Auto];
        if recorded {
            v.push(EngineSel::Recorded);
        }
        v.extend(EngineKind::ALL.iter().map(|k| EngineSel::Only(*k)));
        v
    }
}

/// A request to compress one block.
#[derive(Debug, Clone)]
pub struct Job {
    pub block: usize,
    pub generation: u64,
    pub text: Arc<str>,
    pub recorded: Option<Arc<str>>,
    pub sel: EngineSel,
    /// With a second engine, the diff is engine A's output against engine B's.
    pub compare: Option<EngineSel>,
    pub config: Arc<Config>,
    pub tokenizer: Tokenizer,
    pub path: Option<String>,
    /// Syntect theme for syntax colour (only the block on screen asks for it).
    pub highlight: Option<String>,
    /// Build the diff model too (the block on screen); otherwise only counts (the flow list).
    pub detail: bool,
}

/// One side's syntax colours: per line, (byte range, colour).
pub type Colours = Vec<Vec<(std::ops::Range<usize>, Color)>>;

/// What a job produced.
#[derive(Debug, Clone)]
pub struct Computed {
    pub block: usize,
    pub generation: u64,
    pub sel: EngineSel,
    pub compare: Option<EngineSel>,
    /// The engine that acted (see [`engine_label`]).
    pub engine: String,
    /// The engine outcome (None for a recorded compression: there is no ledger).
    pub outcome: Option<Arc<Outcome>>,
    pub output: Arc<str>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// The left side of the diff (the original, or engine A's output when comparing).
    pub left: Arc<str>,
    /// Per ledger drop, the lines of the left side it covers (JSON: of the pretty-printed text).
    pub drop_lines: Option<Vec<(usize, usize)>>,
    pub diff: Arc<DiffModel>,
    pub colours: Option<(Arc<Colours>, Arc<Colours>)>,
    pub summary: String,
    pub ms: f64,
    pub error: Option<String>,
    /// Whether `diff` and `colours` were built.
    pub detail: bool,
}

/// One engine run, cached.
#[derive(Debug, Clone)]
struct Run {
    outcome: Option<Arc<Outcome>>,
    output: Arc<str>,
    tokens_in: usize,
    tokens_out: usize,
    summary: String,
    error: Option<String>,
}

/// The cache key of a run: the text, its path, the engine choice, the tokenizer, and only the
/// knobs that can change the result (the router's and those of the engines the block routes to),
/// so turning a log knob does not recompute a JSON or prose block.
fn key_of(job: &Job, sel: EngineSel) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    job.text.hash(&mut h);
    job.path.hash(&mut h);
    sel.hash(&mut h);
    job.tokenizer.hash(&mut h);
    let mut kinds: Vec<EngineKind> = match sel {
        EngineSel::Recorded => Vec::new(),
        EngineSel::Only(k) => vec![k],
        EngineSel::Auto => crate::router::route(&job.text, &job.config.router, job.tokenizer, job.path.as_deref())
            .into_iter()
            .map(|r| r.kind)
            .collect(),
    };
    kinds.sort();
    kinds.dedup();
    let tables = toml::Table::try_from(&*job.config).unwrap_or_default();
    let mut table = |name: &str| tables.get(name).map(|t| t.to_string()).hash(&mut h);
    if sel == EngineSel::Auto {
        table("router");
    }
    for k in kinds {
        table(k.name());
    }
    h.finish()
}

/// Engine runs by (text, engine, knobs, tokenizer), bounded by the bytes they hold.
#[derive(Default)]
struct Cache {
    runs: HashMap<u64, Run>,
    bytes: usize,
}

const CACHE_BYTES: usize = 64 << 20;

fn cache() -> &'static Mutex<Cache> {
    static C: OnceLock<Mutex<Cache>> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// A text's token count, remembered: a knob change recompresses a block but its input is the same.
fn count_cached(text: &str, tokenizer: Tokenizer) -> usize {
    static C: OnceLock<Mutex<HashMap<(u64, Tokenizer), usize>>> = OnceLock::new();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let key = (h.finish(), tokenizer);
    let c = C.get_or_init(Default::default);
    if let Some(n) = c.lock().ok().and_then(|m| m.get(&key).copied()) {
        return n;
    }
    let n = tokens::count(text, tokenizer);
    if let Ok(mut m) = c.lock() {
        if m.len() > 100_000 {
            m.clear();
        }
        m.insert(key, n);
    }
    n
}

fn run(job: &Job, sel: EngineSel) -> Run {
    let key = key_of(job, sel);
    if let Some(hit) = cache().lock().ok().and_then(|c| c.runs.get(&key).cloned()) {
        return hit;
    }
    let r = match sel {
        EngineSel::Recorded => match &job.recorded {
            Some(rec) => Run {
                outcome: None,
                output: rec.clone(),
                tokens_in: count_cached(&job.text, job.tokenizer),
                tokens_out: count_cached(rec, job.tokenizer),
                summary: "recorded: what the capture says was sent".into(),
                error: None,
            },
            None => Run {
                outcome: None,
                output: job.text.clone(),
                tokens_in: count_cached(&job.text, job.tokenizer),
                tokens_out: count_cached(&job.text, job.tokenizer),
                summary: "recorded: the capture has no compressed version of this block".into(),
                error: Some("no recorded compression".into()),
            },
        },
        EngineSel::Auto | EngineSel::Only(_) => {
            let choice = match sel {
                EngineSel::Only(k) => EngineChoice::Only(k),
                _ => EngineChoice::Auto,
            };
            let tokens_in = Some(count_cached(&job.text, job.tokenizer));
            let o =
                crate::blocks::compress(&job.text, job.path.as_deref(), choice, &job.config, job.tokenizer, tokens_in);
            let engine = o.engine.map_or_else(|| "mixed".to_string(), |k| k.to_string());
            Run {
                output: Arc::from(o.output.as_str()),
                tokens_in: o.tokens_in,
                tokens_out: o.tokens_out,
                summary: format!("{engine}: {}", o.decision.reason()),
                outcome: Some(Arc::new(o)),
                error: None,
            }
        }
    };
    if let Ok(mut c) = cache().lock() {
        let size = job.text.len() + r.output.len() + r.outcome.as_ref().map_or(0, |o| o.original.len());
        c.bytes += size;
        if c.bytes > CACHE_BYTES || c.runs.len() > 4096 {
            c.runs.clear();
            c.bytes = size;
        }
        c.runs.insert(key, r.clone());
    }
    r
}

/// The lines of the left side each ledger drop covers, in ledger order, and the lines drops remove
/// entirely (so the line diff only has to align what is left). JSON is shown pretty-printed on
/// both sides (so a line diff means something), and its drops are placed by their JSON pointers;
/// everything else is shown as is, with the ledger's own line ranges. `left_pretty` is the left
/// side already pretty-printed with every pointer, when the caller has it.
fn display_sides(
    left: &Arc<str>,
    right: &Arc<str>,
    o: Option<&Outcome>,
    with_ledger: bool,
    left_pretty: Option<Arc<pretty::Pretty>>,
) -> Sides {
    let drops = o.filter(|_| with_ledger).map(|o| o.ledger.drops.as_slice());
    if o.is_some_and(|o| o.engine == Some(EngineKind::Json)) {
        let l = left_pretty.or_else(|| {
            let wanted: HashSet<String> = drops
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.span.pointer.as_deref().map(|p| pretty::wanted(p, d.count)))
                .flatten()
                .flatten()
                .collect();
            pretty::pretty(left, Some(&wanted)).map(Arc::new)
        });
        let r = pretty::reindent(right).or_else(|| pretty::pretty(right, Some(&HashSet::new())).map(|p| p.text));
        if let (Some(l), Some(r)) = (l, r) {
            let lines = drops.map(|ds| {
                ds.iter()
                    .map(|d| {
                        d.span.pointer.as_deref().and_then(|p| pretty::span_lines(&l, p, d.count)).unwrap_or((0, 0))
                    })
                    .collect::<Vec<_>>()
            });
            // a dropped value takes its pretty lines with it; a cut string keeps its line
            let removed = match (drops, &lines) {
                (Some(ds), Some(ls)) => {
                    ds.iter().zip(ls).filter(|(d, l)| d.unit != Unit::Chars && l.0 > 0).map(|(_, l)| *l).collect()
                }
                _ => Vec::new(),
            };
            return Sides { left: l.text.clone(), right: r, drop_lines: lines, removed };
        }
    }
    let lines = drops.map(|ds| ds.iter().map(|d| (d.span.lines.first, d.span.lines.last)).collect());
    let removed = drops.unwrap_or_default().iter().filter_map(|d| whole_lines(left, &d.span)).collect();
    Sides { left: left.clone(), right: right.clone(), drop_lines: lines, removed }
}

/// The lines a dropped byte span covers from their start through their newline.
fn whole_lines(text: &str, span: &Span) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let (start, end) = (span.bytes.start, span.bytes.end.min(b.len()));
    if start >= end {
        return None;
    }
    let first = span.lines.first + usize::from(start > 0 && b[start - 1] != b'\n');
    let last = span.lines.last.saturating_sub(usize::from(end < b.len() && b[end - 1] != b'\n'));
    (first >= 1 && first <= last).then_some((first, last))
}

/// The block on screen's original, pretty-printed with every pointer (when it is JSON), kept
/// while the block is tuned: each knob change then only prints the new output.
fn original_pretty(text: &Arc<str>) -> Option<Arc<pretty::Pretty>> {
    static LAST: LastFor<(), Option<Arc<pretty::Pretty>>> = LastFor::new();
    LAST.get_or(text, (), || {
        let starts_json = text.trim_start().starts_with(['{', '[']);
        if starts_json { pretty::pretty(text, None).map(Arc::new) } else { None }
    })
}

/// The left side's tokens per line, kept for the last left text asked about: while a block is
/// tuned its left side stays the same, so folds cost nothing to count after the first time.
fn left_line_tokens(text: &Arc<str>, tokenizer: Tokenizer) -> Arc<Vec<u32>> {
    static LAST: LastFor<Tokenizer, Arc<Vec<u32>>> = LastFor::new();
    LAST.get_or(text, tokenizer, || Arc::new(tokens::count_per_line(text, tokenizer)))
}

/// One value kept for the last text asked about (the same `Arc`, so the text is never hashed) and
/// a setting it depends on.
struct LastFor<E, V>(Mutex<Option<(Arc<str>, E, V)>>);

impl<E: PartialEq + Copy, V: Clone> LastFor<E, V> {
    const fn new() -> Self {
        LastFor(Mutex::new(None))
    }

    fn get_or(&self, text: &Arc<str>, setting: E, make: impl FnOnce() -> V) -> V {
        if let Ok(slot) = self.0.lock()
            && let Some((t, e, v)) = slot.as_ref()
            && Arc::ptr_eq(t, text)
            && *e == setting
        {
            return v.clone();
        }
        let v = make();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((text.clone(), setting, v.clone()));
        }
        v
    }
}

struct Sides {
    left: Arc<str>,
    right: Arc<str>,
    drop_lines: Option<Vec<(usize, usize)>>,
    /// Line ranges of the left side that drops remove entirely.
    removed: Vec<(usize, usize)>,
}

/// Texts larger than this are not coloured (syntect is slow on them, and a view shows a screenful).
const HIGHLIGHT_MAX_BYTES: usize = 256 * 1024;

fn highlight(text: &str, ext: &str, theme: &str) -> Option<Colours> {
    static SS: OnceLock<SyntaxSet> = OnceLock::new();
    static TS: OnceLock<ThemeSet> = OnceLock::new();
    if text.len() > HIGHLIGHT_MAX_BYTES {
        return None;
    }
    let ss = SS.get_or_init(SyntaxSet::load_defaults_newlines);
    let ts = TS.get_or_init(ThemeSet::load_defaults);
    let syntax = ss.find_syntax_by_extension(ext)?;
    let theme = ts.themes.get(theme)?;
    let mut h = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(text) {
        let ranges = h.highlight_line(line, ss).ok()?;
        let mut at = 0;
        let mut spans = Vec::new();
        for (style, piece) in ranges {
            let c = style.foreground;
            spans.push((at..at + piece.len(), Color::Rgb(c.r, c.g, c.b)));
            at += piece.len();
        }
        out.push(spans);
    }
    Some(out)
}

/// Runs one job (the worker thread calls this; tests call it directly).
pub fn compute(job: &Job) -> Computed {
    let started = Instant::now();
    // the block on screen: pretty-print its original on the other core while the engine runs
    let (a, left_pretty) = if job.detail && job.compare.is_none() {
        std::thread::scope(|s| {
            let p = s.spawn(|| {
                let p = original_pretty(&job.text);
                left_line_tokens(p.as_ref().map_or(&job.text, |p| &p.text), job.tokenizer);
                p
            });
            let a = run(job, job.sel);
            (a, p.join().ok().flatten())
        })
    } else {
        (run(job, job.sel), None)
    };
    let outcome = a.outcome.as_deref();
    let mut c = Computed {
        block: job.block,
        generation: job.generation,
        sel: job.sel,
        compare: job.compare,
        engine: engine_label(outcome, job.sel),
        outcome: None,
        output: a.output.clone(),
        tokens_in: a.tokens_in,
        tokens_out: a.tokens_out,
        left: job.text.clone(),
        drop_lines: None,
        diff: Arc::new(DiffModel::default()),
        colours: None,
        summary: a.summary.clone(),
        ms: 0.0,
        error: a.error.clone(),
        detail: job.detail,
    };
    if job.detail {
        let b = job.compare.map(|other| run(job, other));
        let sides = match &b {
            Some(b) => display_sides(&a.output, &b.output, outcome, false, None),
            None => display_sides(&job.text, &a.output, outcome, true, left_pretty),
        };
        c.diff = Arc::new(diffview::build(
            &sides.left,
            &sides.right,
            sides.drop_lines.as_deref(),
            &sides.removed,
            &left_line_tokens(&sides.left, job.tokenizer),
        ));
        c.colours = job.highlight.as_deref().and_then(|theme| {
            let ext = crate::blocks::language(&job.text, outcome, job.path.as_deref())?;
            Some((Arc::new(highlight(&sides.left, &ext, theme)?), Arc::new(highlight(&sides.right, &ext, theme)?)))
        });
        if let Some(b) = b {
            c.summary = format!("{} | {}", a.summary, b.summary);
            c.tokens_out = b.tokens_out;
        }
        c.left = sides.left;
        c.drop_lines = sides.drop_lines;
        c.outcome = a.outcome.clone();
    }
    c.ms = started.elapsed().as_secs_f64() * 1000.0;
    c
}

/// The engine a result came from, for the flow list: the engine that ran, `mixed` when sections
/// went to different engines, `recorded` for the capture's own compression.
fn engine_label(outcome: Option<&Outcome>, sel: EngineSel) -> String {
    match (sel, outcome) {
        (EngineSel::Recorded, _) => "recorded".into(),
        (_, Some(o)) => match o.engine {
            Some(k) => k.to_string(),
            None if o.sections.is_empty() => "none".into(),
            None => "mixed".into(),
        },
        (_, None) => "none".into(),
    }
}

/// The job queue shared by the UI and the worker thread. Only the newest job per block runs: an
/// older one still queued is skipped when popped (so queueing stays O(1) for 100,000 blocks), and a
/// counts-only job never replaces a pending detail job of the same or a newer generation.
#[derive(Default)]
pub struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
struct QueueState {
    jobs: VecDeque<(u64, Job)>,
    /// Per block: the sequence number of its newest job, whether it is a detail job, its generation.
    newest: HashMap<usize, (u64, bool, u64)>,
    seq: u64,
}

impl Queue {
    /// Queues a job; `urgent` jobs go first.
    pub fn push(&self, job: Job, urgent: bool) {
        let Ok(mut q) = self.state.lock() else { return };
        if let Some(&(_, detail, generation)) = q.newest.get(&job.block)
            && detail
            && !job.detail
            && generation >= job.generation
        {
            return;
        }
        q.seq += 1;
        let seq = q.seq;
        q.newest.insert(job.block, (seq, job.detail, job.generation));
        if urgent {
            q.jobs.push_front((seq, job))
        } else {
            q.jobs.push_back((seq, job))
        }
        self.ready.notify_one();
    }

    /// The next job that is still the newest for its block (blocks until there is one).
    pub fn pop(&self) -> Job {
        let mut q = self.state.lock().expect("job queue");
        loop {
            while let Some((seq, job)) = q.jobs.pop_front() {
                if q.newest.get(&job.block).is_some_and(|n| n.0 == seq) {
                    q.newest.remove(&job.block);
                    return job;
                }
            }
            q = self.ready.wait(q).expect("job queue");
        }
    }

    /// Jobs waiting that will still run.
    pub fn len(&self) -> usize {
        self.state.lock().map(|q| q.newest.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Starts the worker thread; results go to `done`.
pub fn spawn(queue: Arc<Queue>, done: tokio::sync::mpsc::UnboundedSender<Computed>) {
    spawn_with(queue, done, compute);
}

/// [`spawn`] with the work given (tests hand it work that panics).
fn spawn_with(
    queue: Arc<Queue>,
    done: tokio::sync::mpsc::UnboundedSender<Computed>,
    compute: impl Fn(&Job) -> Computed + Send + 'static,
) {
    std::thread::Builder::new()
        .name("ctxlens-worker".into())
        .spawn(move || {
            loop {
                let job = queue.pop();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compute(&job)));
                let msg = match result {
                    Ok(c) => c,
                    Err(panic) => error_result(
                        &job,
                        &format!(
                            "the engine failed on this block ({}); it is shown unchanged",
                            super::panic_text(&*panic)
                        ),
                    ),
                };
                if done.send(msg).is_err() {
                    return;
                }
            }
        })
        .expect("spawn worker");
}

fn error_result(job: &Job, why: &str) -> Computed {
    Computed {
        block: job.block,
        generation: job.generation,
        sel: job.sel,
        compare: job.compare,
        engine: "none".into(),
        outcome: None,
        output: job.text.clone(),
        tokens_in: 0,
        tokens_out: 0,
        left: job.text.clone(),
        drop_lines: None,
        diff: Arc::new(DiffModel::default()),
        colours: None,
        summary: why.into(),
        ms: 0.0,
        error: Some(why.into()),
        detail: job.detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(block: usize, generation: u64, detail: bool) -> Job {
        Job {
            block,
            generation,
            text: Arc::from("x"),
            recorded: None,
            sel: EngineSel::Auto,
            compare: None,
            config: Arc::new(Config::default()),
            tokenizer: Tokenizer::O200k,
            path: None,
            highlight: None,
            detail,
        }
    }

    #[test]
    fn a_drop_removes_only_the_lines_it_covers_whole() {
        use crate::ledger::Lines;
        let text = "aaa\nbbb\nccc\nddd\n";
        let span =
            |bytes: std::ops::Range<usize>, first, last| Span { bytes, lines: Lines { first, last }, pointer: None };
        assert_eq!(whole_lines(text, &span(4..12, 2, 3)), Some((2, 3)), "bbb and ccc with their newlines");
        assert_eq!(whole_lines(text, &span(5..12, 2, 3)), Some((3, 3)), "bbb loses only its tail");
        assert_eq!(whole_lines(text, &span(4..10, 2, 3)), Some((2, 2)), "ccc keeps its end");
        assert_eq!(whole_lines(text, &span(5..7, 2, 2)), None, "inside one line");
        assert_eq!(whole_lines(text, &span(12..16, 4, 4)), Some((4, 4)), "the last line");
    }

    #[test]
    fn only_the_knobs_of_the_engines_a_block_goes_to_change_its_key() {
        let rows: Vec<String> = (0..40).map(|i| format!("{{\"id\":{i},\"status\":\"ok\"}}")).collect();
        let json = Job { text: Arc::from(format!("[{}]", rows.join(",")).as_str()), ..job(0, 1, true) };
        let with = |set: &str| {
            let mut c = Config::default();
            c.set(set).unwrap();
            Job { config: Arc::new(c), ..json.clone() }
        };
        let base = key_of(&json, EngineSel::Auto);
        assert_eq!(key_of(&with("log.max_total_lines=7"), EngineSel::Auto), base, "a log knob");
        assert_eq!(key_of(&with("prose.score_threshold=0.7"), EngineSel::Auto), base, "a prose knob");
        assert_ne!(key_of(&with("json.max_items_after_crush=3"), EngineSel::Auto), base, "a JSON knob");
        assert_ne!(key_of(&with("router.min_section_tokens=7"), EngineSel::Auto), base, "a router knob");
        assert_eq!(
            key_of(&with("router.min_section_tokens=7"), EngineSel::Only(EngineKind::Json)),
            key_of(&json, EngineSel::Only(EngineKind::Json))
        );
        let other_path = Job { path: Some("a.py".into()), ..json.clone() };
        assert_ne!(key_of(&other_path, EngineSel::Auto), base, "the path routes code");
    }

    /// Work that panics comes back as the block unchanged with the panic's message as its error;
    /// the worker goes on with the next job.
    #[test]
    fn a_worker_panic_becomes_an_error_result() {
        let queue = Arc::new(Queue::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        spawn_with(queue.clone(), tx, |job| if job.block == 1 { panic!("engine bug") } else { compute(job) });
        queue.push(job(1, 1, false), true);
        let c = rx.blocking_recv().unwrap();
        assert_eq!(c.block, 1);
        assert!(c.error.as_deref().is_some_and(|e| e.contains("engine bug")), "{:?}", c.error);
        assert_eq!(&*c.output, "x", "shown unchanged");
        queue.push(job(2, 1, false), true);
        assert_eq!(rx.blocking_recv().unwrap().block, 2, "the worker lives on");
    }

    #[test]
    fn newest_job_per_block_wins_and_urgent_goes_first() {
        let q = Queue::default();
        q.push(job(1, 1, false), false);
        q.push(job(2, 1, false), false);
        q.push(job(1, 2, false), false);
        q.push(job(3, 2, true), true);
        assert_eq!(q.len(), 3);
        let order: Vec<(usize, u64)> = (0..3).map(|_| q.pop()).map(|j| (j.block, j.generation)).collect();
        assert_eq!(order, vec![(3, 2), (2, 1), (1, 2)]);
        assert!(q.is_empty());
        // a counts-only job does not replace a pending detail job of the same generation
        q.push(job(4, 5, true), true);
        q.push(job(4, 5, false), false);
        let j = q.pop();
        assert!(j.detail);
        assert!(q.is_empty());
    }
}
