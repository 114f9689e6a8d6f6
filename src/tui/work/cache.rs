//! The engine-run cache: one run per (text, path, engine choice, tokenizer, and the knobs of
//! the engines the block routes to), bounded by bytes, and token counts of texts seen before.

use super::*;

/// One engine run, cached.
#[derive(Debug, Clone)]
pub(super) struct Run {
    pub(super) outcome: Option<Arc<Outcome>>,
    pub(super) output: Arc<str>,
    pub(super) tokens_in: usize,
    pub(super) tokens_out: usize,
    pub(super) summary: String,
    pub(super) error: Option<String>,
    /// What the output kept of what matters (see [`crate::retention`]).
    pub(super) retention: Option<crate::retention::Retention>,
}

/// The cache key of a run: the text, its path, the engine choice (with the recorded text, for
/// the recorded compression), the tokenizer, and only the
/// knobs that can change the result (the router's and those of the engines the block routes to),
/// so turning a log knob does not recompute a JSON or prose block.
pub(super) fn key_of(job: &Job, sel: EngineSel) -> u64 {
    key_with(job, sel, routes_to(job, sel))
}

/// [`key_of`] with the engines the text goes to already known.
fn key_with(job: &Job, sel: EngineSel, kinds: Vec<EngineKind>) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    job.text.hash(&mut h);
    job.path.hash(&mut h);
    sel.hash(&mut h);
    // requests that resend the same text may record different compressions of it
    if sel == EngineSel::Recorded {
        job.recorded.hash(&mut h);
    }
    job.tokenizer.hash(&mut h);
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

/// The engines `sel` sends the job's text to (none for a recording), each once.
pub(super) fn routes_to(job: &Job, sel: EngineSel) -> Vec<EngineKind> {
    let mut kinds: Vec<EngineKind> = match sel {
        EngineSel::Recorded => Vec::new(),
        EngineSel::Only(k) => vec![k],
        EngineSel::Headroom => vec![crate::router::detect(&job.text).kind],
        EngineSel::Auto => crate::router::route(&job.text, &job.config.router, job.tokenizer, job.path.as_deref())
            .into_iter()
            .map(|r| r.kind)
            .collect(),
    };
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Whether the run of `sel` on the job, which goes to `kinds`, is cached.
pub(super) fn cached(job: &Job, sel: EngineSel, kinds: Vec<EngineKind>) -> bool {
    let key = key_with(job, sel, kinds);
    job.caches.runs.lock().is_ok_and(|c| c.runs.contains_key(&key))
}

/// Engine runs by (text, engine, knobs, tokenizer), bounded by the bytes they hold.
#[derive(Default)]
pub(super) struct Runs {
    runs: HashMap<u64, Run>,
    bytes: usize,
}

pub(super) const CACHE_BYTES: usize = 64 << 20;

/// What the workbench's jobs remember between runs, owned by the workbench and handed to every
/// job ([`Job::caches`]): the engines' memo, engine runs, token counts of texts, and the last
/// original laid out (its pretty form and tokens per line). A test or benchmark that wants cold
/// runs gives each job a new one.
#[derive(Default)]
pub struct Caches {
    /// What engines derive from an input (parses, list signals), passed in their context.
    pub memo: Arc<crate::engine::Memo>,
    pub(super) runs: Mutex<Runs>,
    pub(super) counts: Mutex<HashMap<(u64, Tokenizer), usize>>,
    pub(super) pretty: LastFor<(), Option<Arc<pretty::Pretty>>>,
    pub(super) line_tokens: LastFor<Tokenizer, Arc<Vec<u32>>>,
}

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").field("memo", &self.memo).finish_non_exhaustive()
    }
}

/// The real Headroom's compressor for the block's content type (as the router detects it), with
/// the knobs tuned here that it shares (by Headroom's names); a failure is the run's error, the
/// original shown unchanged.
fn headroom_run(job: &Job) -> Run {
    let caches = &*job.caches;
    let kind = crate::router::detect(&job.text).kind;
    let tokens_in = count_cached(caches, &job.text, job.tokenizer);
    let failed = |e: String| Run {
        outcome: None,
        output: job.text.clone(),
        tokens_in,
        tokens_out: tokens_in,
        summary: format!("headroom: {e}"),
        error: Some(e),
        retention: None,
    };
    let Some(side) = &job.headroom else {
        return failed("no Headroom here: give --headroom-python (a venv with headroom-ai)".into());
    };
    let knobs = crate::export::headroom_fields(&job.config, kind.name());
    match side.compress(kind, &job.text, job.path.as_deref(), &knobs) {
        Ok((c, version)) => {
            let output: Arc<str> = Arc::from(c.output.as_str());
            let notices = if c.notices.is_empty() { String::new() } else { format!(" ({})", c.notices.join("; ")) };
            Run {
                tokens_out: count_cached(caches, &output, job.tokenizer),
                tokens_in,
                summary: format!("headroom-ai {version}: its {kind} compressor{notices}"),
                retention: Some(crate::retention::measure(kind, &job.text, &output, None, job.path.as_deref())),
                output,
                outcome: None,
                error: None,
            }
        }
        Err(e) => failed(e.to_string()),
    }
}

/// A text's token count, remembered: a knob change recompresses a block but its input is the same.
pub(super) fn count_cached(caches: &Caches, text: &str, tokenizer: Tokenizer) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    let key = (h.finish(), tokenizer);
    let c = &caches.counts;
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

/// Files the cached run of `ran` (the job run with a prose time budget of its own) under `job`'s key
/// too, when that budget never cut it short: the result is then the one the block's own settings
/// give, and coming back to the block finds it instead of computing it again in parts.
pub(super) fn file_under_own_key(job: &Job, ran: &Job) {
    let Ok(mut c) = job.caches.runs.lock() else { return };
    let Some(r) = c.runs.get(&key_of(ran, ran.sel)).cloned() else { return };
    if r.outcome.as_ref().is_some_and(|o| !o.budget_hit()) {
        c.runs.insert(key_of(job, job.sel), r);
    }
}

pub(super) fn run(job: &Job, sel: EngineSel) -> Run {
    let key = key_of(job, sel);
    let caches = &*job.caches;
    if let Some(hit) = caches.runs.lock().ok().and_then(|c| c.runs.get(&key).cloned()) {
        return hit;
    }
    let r = match sel {
        EngineSel::Recorded => match &job.recorded {
            Some(rec) => Run {
                outcome: None,
                output: rec.clone(),
                tokens_in: count_cached(caches, &job.text, job.tokenizer),
                tokens_out: count_cached(caches, rec, job.tokenizer),
                summary: "recorded: what the capture says was sent".into(),
                error: None,
                // the recorded compressor's output, measured as the router sees the original
                retention: Some(crate::retention::measure(
                    crate::router::detect(&job.text).kind,
                    &job.text,
                    rec,
                    None,
                    job.path.as_deref(),
                )),
            },
            None => Run {
                outcome: None,
                output: job.text.clone(),
                tokens_in: count_cached(caches, &job.text, job.tokenizer),
                tokens_out: count_cached(caches, &job.text, job.tokenizer),
                summary: "recorded: the capture has no compressed version of this block".into(),
                error: Some("no recorded compression".into()),
                retention: None,
            },
        },
        EngineSel::Headroom => headroom_run(job),
        EngineSel::Auto | EngineSel::Only(_) => {
            let choice = match sel {
                EngineSel::Only(k) => EngineChoice::Only(k),
                _ => EngineChoice::Auto,
            };
            let tokens_in = Some(count_cached(caches, &job.text, job.tokenizer));
            let ctx = crate::engine::Context {
                tokenizer: job.tokenizer,
                tokens_in,
                memo: Some(caches.memo.clone()),
                stop: job.stop.clone(),
                ..Default::default()
            };
            let o = crate::blocks::compress(job.text.clone(), job.path.as_deref(), choice, &job.config, &ctx);
            let engine = o.engine.map_or_else(|| "mixed".to_string(), |k| k.to_string());
            Run {
                output: Arc::from(o.output.as_str()),
                tokens_in: o.tokens_in,
                tokens_out: o.tokens_out,
                summary: format!("{engine}: {}", o.decision.reason()),
                retention: Some(crate::retention::of_outcome(&o, None, job.path.as_deref())),
                outcome: Some(Arc::new(o)),
                error: None,
            }
        }
    };
    // a stopped run is no result
    let stopped = job.stop.as_ref().is_some_and(crate::engine::Stop::asked);
    if !stopped && let Ok(mut c) = caches.runs.lock() {
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
