//! Background work: compressing blocks, counting tokens, building diff models and syntax colour,
//! off the draw thread. A queue keeps the newest request per block (older ones are dropped) and
//! serves the block on screen first; results go back to the UI through a channel. Results are
//! cached by (text, engine, knobs, tokenizer), so re-selecting a setting is instant.
//!
//! Here: the job and result types and [`compute`]; in queue the queue and worker, in cache the
//! run cache, in sides the two sides of the diff, in highlight syntax colour.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Instant;

use ratatui::style::Color;
use syntect::easy::HighlightLines;
use syntect::highlighting::ThemeSet;
use syntect::parsing::SyntaxSet;

use super::diffview::{self, DiffModel, Mark};
use super::pretty;
use crate::config::Config;
use crate::engine::EngineKind;
use crate::ledger::{Span, Unit};
use crate::outcome::Outcome;
use crate::pipeline::EngineChoice;
use crate::store::headroom::{self as headroom_store, Lookup};
use crate::tokens::{self, Tokenizer};

/// Which engine a block is shown through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineSel {
    /// The router picks (and splits mixed content).
    Auto,
    /// What the capture says was actually sent (Headroom's `compressed_messages`).
    Recorded,
    Only(EngineKind),
    /// The real Headroom (through the bridge) on the block, by the content type the router
    /// finds, with the tuned knobs it shares.
    Headroom,
}

impl EngineSel {
    pub fn label(self) -> String {
        match self {
            EngineSel::Auto => "auto".into(),
            EngineSel::Recorded => "recorded".into(),
            EngineSel::Only(k) => k.to_string(),
            EngineSel::Headroom => "headroom".into(),
        }
    }

    /// The choices in cycling order (`recorded` only when the capture has it, `headroom` only
    /// with a Python for the bridge).
    pub fn all(recorded: bool, headroom: bool) -> Vec<EngineSel> {
        let mut v = vec![EngineSel::Auto];
        if recorded {
            v.push(EngineSel::Recorded);
        }
        if headroom {
            v.push(EngineSel::Headroom);
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
    /// What jobs remember between runs on the same text (the workbench's one set).
    pub caches: Arc<Caches>,
    /// Syntect theme for syntax colour (only the block on screen asks for it).
    pub highlight: Option<String>,
    /// Headroom's CCR store, when the user pointed at its workspace: the recorded output's markers
    /// are looked up in it.
    pub ccr: Option<Arc<crate::store::headroom::HeadroomStore>>,
    /// Audit mode on a block with a recorded compression: count what ctxlens's own engines leave
    /// and the lines the shown output lost silently, for every block (not only the one on screen).
    pub audit: bool,
    /// Build the diff model too (the block on screen); otherwise only counts (the flow list).
    pub detail: bool,
    /// ctxlens's store, when `[store] enabled` is set: what the engines drop is kept there.
    pub keeper: Option<Arc<Keeper>>,
    /// The real Headroom, when the workbench has a Python for the bridge.
    pub headroom: Option<Arc<crate::bridge::Shared>>,
    /// Set by the worker that runs the job: whether it has gone stale (see `Queue::stale`).
    pub stop: Option<crate::engine::Stop>,
}

/// The workbench's writer to ctxlens's store: each output's drops and recipe go in once.
#[derive(Debug)]
pub struct Keeper {
    pub store: crate::store::Store,
    done: std::sync::Mutex<std::collections::HashSet<crate::ledger::Key>>,
}

impl Keeper {
    pub fn new(store: crate::store::Store) -> Keeper {
        Keeper { store, done: Default::default() }
    }

    /// Stores what `o` dropped, unless this output was stored before; says what failed.
    pub fn keep(&self, o: &Outcome) -> Option<String> {
        if *o.output == *o.original {
            return None;
        }
        let key = crate::ledger::Key::of(o.output.as_bytes());
        if !self.done.lock().unwrap_or_else(|p| p.into_inner()).insert(key) {
            return None;
        }
        let r = self.store.put_outcome(o);
        let (first, why) = r.failed.first()?;
        // try again next time
        self.done.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        Some(format!("store {}: {} entries not stored ({first}: {why})", self.store.location, r.failed.len()))
    }
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
    /// Per ledger drop, its key (worked out here, so the ledger pane draws without hashing).
    pub drop_keys: Vec<crate::ledger::Key>,
    pub diff: Arc<DiffModel>,
    pub colours: Option<(Arc<Colours>, Arc<Colours>)>,
    pub summary: String,
    /// What engine A's output kept of what matters (none when comparing two engines).
    pub retention: Option<crate::retention::Retention>,
    /// With a comparison, engine B's tokens after (`tokens_out` stays engine A's).
    pub compare_out: Option<usize>,
    /// Audit mode: the tokens ctxlens's own engines (auto) leave.
    pub ours_out: Option<usize>,
    /// Lines of the original engine A's output lost with no marker (measured on the block on screen,
    /// and on every block in audit mode).
    pub silent: Option<usize>,
    /// The block on screen through a recorded compression: the hash of each Headroom marker in it,
    /// with what Headroom's CCR store holds for it (`None`: no store was given, or it failed).
    pub ccr: Vec<(String, Option<Result<Lookup, String>>)>,
    pub ms: f64,
    pub error: Option<String>,
    /// Whether `diff` and `colours` were built.
    pub detail: bool,
    /// What the store could not keep of this outcome, when a store is on.
    pub store_error: Option<String>,
    /// A first part: the prose model's time ran out part way, the rest is shown unchanged, and
    /// the whole result follows (see [`queue::stages`]).
    pub partial: bool,
    /// JSON nested deeper than [`pretty::MAX_INDENT`] levels is shown without more indentation.
    pub capped: bool,
}

mod cache;
mod highlight;
mod queue;
mod sides;

pub use cache::Caches;
use cache::*;
use highlight::*;
#[cfg(test)]
use queue::*;
pub use queue::{Queue, spawn};
use sides::*;

/// Lines of `original` that `output` lost with no marker near them (by the ledger of `outcome`
/// when there is one, else by the markers in the text): audit mode's `!N`, and `ctxlens audit`'s
/// marker check.
pub fn silent_loss(original: &Arc<str>, output: &Arc<str>, outcome: Option<&Outcome>) -> usize {
    if let Some((_, model)) = outcome.and_then(|o| sectioned(original, output, o, None)) {
        return model.silent_lines();
    }
    display_sides(original, output, outcome, true, None).model(&[]).silent_lines()
}

/// Runs one job (the worker thread calls this; tests call it directly).
pub fn compute(job: &Job) -> Computed {
    let started = Instant::now();
    // the block on screen: pretty-print its original on the other core while the engine runs
    let (a, left_pretty) = if job.detail && job.compare.is_none() {
        std::thread::scope(|s| {
            let p = s.spawn(|| {
                let p = original_pretty(&job.caches, &job.text);
                left_line_tokens(&job.caches, p.as_ref().map_or(&job.text, |p| &p.text), job.tokenizer);
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
        drop_keys: Vec::new(),
        diff: Arc::new(DiffModel::default()),
        colours: None,
        summary: a.summary.clone(),
        retention: a.retention.clone(),
        compare_out: None,
        ours_out: job.audit.then(|| run(job, EngineSel::Auto).tokens_out),
        silent: None,
        ccr: Vec::new(),
        ms: 0.0,
        error: a.error.clone(),
        detail: job.detail,
        store_error: job.keeper.as_ref().zip(outcome).and_then(|(k, o)| k.keep(o)),
        partial: false,
        capped: false,
    };
    if job.audit && !job.detail && a.error.is_none() {
        c.silent = Some(silent_loss(&job.text, &a.output, outcome));
    }
    if job.detail {
        let b = job.compare.map(|other| run(job, other));
        let whole = |sides: Sides| {
            let model = sides.model(&left_line_tokens(&job.caches, &sides.left, job.tokenizer));
            (sides, model)
        };
        let (sides, model) = match (&b, outcome) {
            (Some(b), _) => {
                // engine A's output against B's: a line A has and B lacks is a difference, not a
                // loss of the original
                let (sides, mut model) = whole(display_sides(&a.output, &b.output, outcome, false, None));
                model.relabel(Mark::Silent, Mark::Dropped);
                (sides, model)
            }
            (None, Some(o))
                if let Some(s) = sectioned(
                    &job.text,
                    &a.output,
                    o,
                    Some((&left_line_tokens(&job.caches, &job.text, job.tokenizer), job.tokenizer)),
                ) =>
            {
                s
            }
            (None, _) => whole(display_sides(&job.text, &a.output, outcome, true, left_pretty)),
        };
        c.diff = Arc::new(model);
        c.colours = job.highlight.as_deref().and_then(|theme| {
            let ext = crate::blocks::language(&job.text, outcome, job.path.as_deref())?;
            Some((Arc::new(highlight(&sides.left, &ext, theme)?), Arc::new(highlight(&sides.right, &ext, theme)?)))
        });
        match b {
            Some(b) => {
                c.summary = format!("{} | {}", a.summary, b.summary);
                c.compare_out = Some(b.tokens_out);
                c.retention = None;
            }
            None if a.error.is_none() => c.silent = Some(c.diff.silent_lines()),
            None => {}
        }
        c.capped = sides.capped;
        if job.sel == EngineSel::Recorded && job.compare.is_none() {
            c.ccr = resolve_markers(&a.output, job.ccr.as_deref());
        }
        c.left = sides.left;
        c.drop_lines = sides.drop_lines;
        c.drop_keys = a.outcome.as_deref().map_or_else(Vec::new, Outcome::drop_keys);
        c.outcome = a.outcome.clone();
    }
    c.ms = started.elapsed().as_secs_f64() * 1000.0;
    c
}

/// Each Headroom marker's hash in `output`, with what the store holds for it.
fn resolve_markers(
    output: &str,
    store: Option<&headroom_store::HeadroomStore>,
) -> Vec<(String, Option<Result<Lookup, String>>)> {
    let now = headroom_store::now();
    headroom_store::marker_hashes(output)
        .into_iter()
        .map(|h| {
            let found = store.map(|s| s.lookup(&h, now).map_err(|e| e.to_string()));
            (h, found)
        })
        .collect()
}

/// The engine a result came from, for the flow list: the engine that ran, `mixed` when sections
/// went to different engines, `recorded` for the capture's own compression.
fn engine_label(outcome: Option<&Outcome>, sel: EngineSel) -> String {
    match (sel, outcome) {
        (EngineSel::Recorded, _) => "recorded".into(),
        (EngineSel::Headroom, _) => "headroom".into(),
        (_, Some(o)) => match o.engine {
            Some(k) => k.to_string(),
            None if o.sections.is_empty() => "none".into(),
            None => "mixed".into(),
        },
        (_, None) => "none".into(),
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
            caches: Default::default(),
            highlight: None,
            ccr: None,
            audit: false,
            detail,
            keeper: None,
            headroom: None,
            stop: None,
        }
    }

    #[test]
    fn only_a_text_of_one_json_value_is_pretty_printed() {
        let pretty = |t: &str| original_pretty(&Caches::default(), &Arc::from(t)).map(|p| p.text.to_string());
        assert_eq!(pretty(" {\"a\": [1]}\n").as_deref(), Some("{\n  \"a\": [\n    1\n  ]\n}\n"));
        assert_eq!(pretty("{\"a\": 1}\n2024-01-01 ERROR after the document\n"), None, "sections");
        assert_eq!(pretty("{\"a\": 1}\n{\"a\": 2}\n"), None, "JSON Lines");
        assert_eq!(pretty("[2024-01-01] INFO a log line\n"), None);
    }

    #[test]
    fn a_drop_removes_only_the_lines_it_covers_whole() {
        use crate::ledger::Lines;
        let text = "aaa\nbbb\nccc\nddd\n";
        let span = |bytes: std::ops::Range<usize>, first, last| Span {
            bytes,
            lines: Lines { first, last },
            pointer: None,
            pointer_last: None,
        };
        assert_eq!(whole_lines(text, &span(4..12, 2, 3)), Some((2, 3)), "bbb and ccc with their newlines");
        assert_eq!(whole_lines(text, &span(5..12, 2, 3)), Some((3, 3)), "bbb loses only its tail");
        assert_eq!(whole_lines(text, &span(4..10, 2, 3)), Some((2, 2)), "ccc keeps its end");
        assert_eq!(whole_lines(text, &span(5..7, 2, 2)), None, "inside one line");
        assert_eq!(whole_lines(text, &span(12..16, 4, 4)), Some((4, 4)), "the last line");
    }

    /// A packed array's line that kept some of its items faces the output's line of those items
    /// (changed, its dropped words marked), not a dropped line beside an added one.
    #[test]
    fn a_packed_line_that_kept_some_items_faces_the_line_of_those_items() {
        let numbers: Vec<String> = (0..400).map(|i| ((i * 37) % 1000 + 1000).to_string()).collect();
        let text: Arc<str> = Arc::from(format!("{{\"series\":[{}],\"unit\":\"ms\"}}", numbers.join(",")).as_str());
        let o = crate::pipeline::compress(
            &text,
            crate::pipeline::EngineChoice::Only(EngineKind::Json),
            &Config::default(),
            &crate::engine::Context::default(),
        );
        assert!(o.decision.acted(), "{}", o.decision.reason());
        let output: Arc<str> = Arc::from(o.output.as_str());
        let sides = display_sides(&text, &output, Some(&o), true, None);
        let model = sides.model(&[]);
        let cell = |c: &Option<diffview::Cell>| c.as_ref().map(|c| (c.mark, c.text()));
        let rows: Vec<_> = model.rows().map(|r| (cell(&r.left), cell(&r.right))).collect();
        let added: Vec<_> = rows.iter().filter(|r| r.1.as_ref().is_some_and(|c| c.0 == Mark::Added)).collect();
        assert!(added.is_empty(), "kept items shown as added: {added:#?} in {rows:?}");
        let changed = rows.iter().filter(|r| r.0.as_ref().is_some_and(|c| c.0 == Mark::Changed)).count();
        assert!(changed >= 2, "{rows:#?}");
        // every kept number is on a right line that faces the left line holding it
        for (l, r) in &rows {
            if let (Some((_, l)), Some((_, r))) = (l, r) {
                for n in r.split([' ', ',']).filter(|w| w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit())) {
                    assert!(l.contains(n), "{n} of {r:?} is not on {l:?}");
                }
            }
        }
        assert_eq!(silent_loss(&text, &output, Some(&o)), 0);
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
        let rec = |r: &str| Job { recorded: Some(Arc::from(r)), ..json.clone() };
        assert_ne!(
            key_of(&rec("[1]"), EngineSel::Recorded),
            key_of(&rec("[2]"), EngineSel::Recorded),
            "two requests' recordings of one text are two runs"
        );
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

    /// Only the prose block on screen is shown in parts, with budgets that double up to two
    /// seconds a step, under the block's own budget.
    #[test]
    fn a_prose_block_on_screen_is_computed_in_parts() {
        let prose = Job { sel: EngineSel::Only(EngineKind::Prose), ..job(0, 1, true) };
        assert_eq!(
            stages(&prose),
            [30, 60, 120, 240, 480, 960, 1920, 3840, 5840, 7840, 9840, 11840, 13840, 15840, 17840, 19840]
        );
        let mut c = Config::default();
        c.set("prose.time_budget_ms=500").unwrap();
        assert_eq!(stages(&Job { config: Arc::new(c), ..prose.clone() }), [30, 60, 120, 240, 480]);
        assert!(stages(&Job { detail: false, ..prose.clone() }).is_empty(), "a count is never in parts");
        let compare = Job { compare: Some(EngineSel::Auto), ..prose.clone() };
        assert!(stages(&compare).is_empty(), "nor a comparison");
        assert!(stages(&Job { sel: EngineSel::Only(EngineKind::Log), ..prose.clone() }).is_empty());
        let json = Job { text: Arc::from("[1, 2, 3]"), ..job(0, 1, true) };
        assert!(stages(&json).is_empty(), "JSON routes to no model");
    }

    /// A running job goes stale when a later job for its block has other settings or is the
    /// view's, or, for the view's job, when the view asked for anything later.
    #[test]
    fn a_running_job_knows_when_it_is_stale() {
        let q = Queue::default();
        q.push(job(1, 3, true), true);
        let Taken { seq, job: running } = q.take(true);
        assert!(!q.stale(seq, &running));
        q.push(job(2, 3, false), false);
        assert!(!q.stale(seq, &running), "another block's count");
        q.push(job(1, 3, false), false);
        assert!(!q.stale(seq, &running), "its own block's count of the same settings");
        q.push(job(1, 4, false), false);
        assert!(q.stale(seq, &running), "its block under newer settings");
        q.push(job(9, 3, false), false);
        let Taken { seq: count_seq, job: count } = q.take(false);
        assert_eq!(count.block, 2);
        q.clear();
        q.push(job(5, 3, true), true);
        let _taken_at_once = q.take(true);
        assert!(q.stale(seq, &running), "the view moved to another block, taken by another worker at once");
        assert!(!q.stale(count_seq, &count), "a count does not wait for the view");
        // stopped because the view moved, a block is still counted; not when its settings changed
        let q = Queue::default();
        q.push(job(1, 3, true), true);
        let Taken { seq, job: running } = q.take(true);
        q.push(job(5, 3, true), true);
        assert_eq!(q.take(true).job.block, 5);
        q.count_instead(seq, running.clone());
        let again = q.pop();
        assert_eq!((again.block, again.generation, again.detail), (1, 3, false));
        q.push(job(1, 4, false), false);
        q.count_instead(seq, running);
        assert_eq!(q.len(), 1, "the newer count is enough");
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
        // the urgent worker takes the newest urgent job; a general worker skips the stale one
        q.push(job(6, 1, false), false);
        q.push(job(7, 1, true), true);
        q.push(job(7, 2, true), true);
        assert_eq!(q.pop_urgent().generation, 2);
        assert_eq!(q.len(), 1, "the counts job waits for a general worker");
        assert_eq!(q.pop().block, 6);
        assert!(q.is_empty());
        q.push(job(8, 1, false), false);
        q.clear();
        assert!(q.is_empty());
        // a counts-only job does not replace a pending detail job of the same generation
        q.push(job(4, 5, true), true);
        q.push(job(4, 5, false), false);
        let j = q.pop();
        assert!(j.detail);
        assert!(q.is_empty());
    }
}
