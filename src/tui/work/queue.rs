//! The job queue (the newest job per block; the block on screen first) and the workers that
//! drain it: one that takes only urgent jobs (the block on screen, the rows in view), so they never
//! wait behind a long count, and two that take anything; a panic in a job becomes its error.

use super::*;

/// The job queue shared by the UI and the worker thread. Only the newest job per block runs: an
/// older one still queued is skipped when popped (so queueing stays O(1) for 100,000 blocks), and a
/// counts-only job never replaces a pending detail job of the same or a newer generation.
#[derive(Default)]
pub struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
}

#[derive(Default)]
pub(super) struct QueueState {
    /// Urgent jobs first (they are pushed at the front), each with its sequence number.
    jobs: VecDeque<(u64, bool, Job)>,
    /// Per block: the sequence number of its newest job, whether it is a detail job, its generation.
    newest: HashMap<usize, (u64, bool, u64)>,
    /// The same for the last job pushed for each block, kept while it runs.
    pushed: HashMap<usize, (u64, bool, u64)>,
    /// The sequence number of the last detail job pushed (the view's).
    last_detail: u64,
    seq: u64,
}

/// A job taken from the queue, with its sequence number (what [`Queue::stale`] compares).
pub(super) struct Taken {
    pub(super) seq: u64,
    pub(super) job: Job,
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
        q.pushed.insert(job.block, (seq, job.detail, job.generation));
        if job.detail {
            q.last_detail = seq;
        }
        if urgent {
            q.jobs.push_front((seq, true, job))
        } else {
            q.jobs.push_back((seq, false, job))
        }
        self.ready.notify_all();
    }

    /// The next job that is still the newest for its block (blocks until there is one).
    pub fn pop(&self) -> Job {
        self.take(false).job
    }

    /// The next urgent job that is still the newest for its block (blocks until there is one).
    pub fn pop_urgent(&self) -> Job {
        self.take(true).job
    }

    pub(super) fn take(&self, urgent_only: bool) -> Taken {
        let mut q = self.state.lock().expect("job queue");
        loop {
            while q.jobs.front().is_some_and(|(_, urgent, _)| *urgent || !urgent_only) {
                let Some((seq, _, job)) = q.jobs.pop_front() else { break };
                if q.newest.get(&job.block).is_some_and(|n| n.0 == seq) {
                    q.newest.remove(&job.block);
                    return Taken { seq, job };
                }
            }
            q = self.ready.wait(q).expect("job queue");
        }
    }

    /// Drops every job waiting (those running finish).
    pub fn clear(&self) {
        if let Ok(mut q) = self.state.lock() {
            q.jobs.clear();
            q.newest.clear();
        }
    }

    /// Whether a running job (taken as `seq`) has gone stale: a later job for its block is a
    /// detail job or has newer settings, or it is a detail job and a later one was pushed (the
    /// screen shows one block). A later count of the same settings leaves it running.
    pub(super) fn stale(&self, seq: u64, job: &Job) -> bool {
        let Ok(q) = self.state.lock() else { return false };
        let replaced = q
            .pushed
            .get(&job.block)
            .is_some_and(|&(s, detail, generation)| s > seq && (detail || generation > job.generation));
        replaced || (job.detail && q.last_detail > seq)
    }

    /// A stopped job whose block the view left, but whose settings still hold, is queued again
    /// to count: the flow list's row would otherwise never get its counts.
    pub(super) fn count_instead(&self, seq: u64, job: Job) {
        if job.detail && !self.stale(seq, &Job { detail: false, ..job.clone() }) {
            self.push(Job { detail: false, compare: None, highlight: None, ccr: None, stop: None, ..job }, false);
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

/// Workers that take anything, beside the one kept for urgent jobs.
const GENERAL_WORKERS: usize = 2;

/// [`spawn`] with the work given (tests hand it work that panics).
pub(super) fn spawn_with(
    queue: Arc<Queue>,
    done: tokio::sync::mpsc::UnboundedSender<Computed>,
    compute: impl Fn(&Job) -> Computed + Send + Sync + 'static,
) {
    let compute = Arc::new(compute);
    for i in 0..=GENERAL_WORKERS {
        let (queue, done, compute) = (queue.clone(), done.clone(), compute.clone());
        let urgent_only = i == 0;
        std::thread::Builder::new()
            .name(format!("ctxlens-worker-{i}"))
            .spawn(move || {
                let guarded = |job: &Job| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compute(job)))
                {
                    Ok(c) => c,
                    Err(panic) => error_result(
                        job,
                        &format!(
                            "the engine failed on this block ({}); it is shown unchanged",
                            crate::tui::panic_text(&*panic)
                        ),
                    ),
                };
                if urgent_only {
                    crate::models::runs_first_on_this_thread();
                }
                loop {
                    if !run_job(&queue, queue.take(urgent_only), &guarded, &done) {
                        return;
                    }
                }
            })
            .expect("spawn worker");
    }
}

/// Runs one job: a prose block on screen in parts (see [`stages`]), anything else at once. A job
/// that goes stale stops at the engine's next step and sends nothing (a view job whose block the
/// view left is queued again to count). False when the UI is gone.
fn run_job(
    queue: &Arc<Queue>,
    Taken { seq, mut job }: Taken,
    compute: &dyn Fn(&Job) -> Computed,
    done: &tokio::sync::mpsc::UnboundedSender<Computed>,
) -> bool {
    let (q, me) = (queue.clone(), job.clone());
    let stale = crate::engine::Stop::new(move || q.stale(seq, &me));
    job.stop = Some(stale.clone());
    let begun = Instant::now();
    let spent = || u64::try_from(begun.elapsed().as_millis()).unwrap_or(u64::MAX);
    let with_budget = |ms: u64, first: bool| {
        let mut config = (*job.config).clone();
        config.prose.time_budget_ms = ms;
        if first {
            // the first part is one window of half the length (a batch of two full windows takes
            // four times as long)
            config.prose.batch_size = 1;
            config.prose.max_length = (config.prose.max_length / 2).max(64);
            config.prose.chunk_words = (config.prose.chunk_words / 2).max(16);
        }
        Arc::new(config)
    };
    let keep = |c: &mut Computed| {
        c.store_error = job.keeper.as_ref().zip(c.outcome.as_deref()).and_then(|(k, o)| k.keep(o));
    };
    let mut last = None;
    for (i, stage) in stages(&job).into_iter().enumerate() {
        // each part runs until `stage` ms from the job's start (the memo gives the windows scored
        // before at once), so the parts and the whole together keep to the block's budget
        let Some(left) = stage.checked_sub(spent()).filter(|ms| *ms > 0) else { continue };
        // a part is neither stored nor coloured: only a whole result is
        let part = Job { config: with_budget(left, i == 0), keeper: None, highlight: None, ..job.clone() };
        let mut c = compute(&part);
        if stale.asked() {
            queue.count_instead(seq, job);
            return true;
        }
        if !c.outcome.as_ref().is_some_and(|o| o.budget_hit()) {
            // done inside this part's time: that is the whole result (a first part's shorter
            // windows decide differently, so only a later part's stands for the block's settings)
            if i > 0 {
                file_under_own_key(&job, &part);
            }
            keep(&mut c);
            return done.send(c).is_ok();
        }
        c.partial = true;
        if done.send(c.clone()).is_err() {
            return false;
        }
        last = Some(c);
    }
    // what is left of the block's budget, read once (read twice, the clock could pass the budget
    // between the check and the subtraction)
    let rest_ms = job.config.prose.time_budget_ms.saturating_sub(spent());
    let c = match last {
        // the block's budget ran out during the parts: the last part is its result
        Some(mut part) if rest_ms == 0 => {
            part.partial = false;
            keep(&mut part);
            part
        }
        Some(_) => {
            let rest = Job { config: with_budget(rest_ms, false), ..job.clone() };
            let c = compute(&rest);
            file_under_own_key(&job, &rest);
            c
        }
        None => compute(&job),
    };
    if stale.asked() {
        queue.count_instead(seq, job);
        return true;
    }
    done.send(c).is_ok()
}

/// The first part's prose time budget (ms), and the most a later part adds.
const FIRST_PART_MS: u64 = 30;
const PART_STEP_MAX_MS: u64 = 2_000;

/// The prose time budgets (ms) of the parts that show a prose block on screen before its whole
/// result, up to the block's own budget. The first is one short window (about a tenth of a
/// second with the model loaded); each next one is twice as long, by at most two seconds more.
/// Between parts a stale job stops, and the model's scores are memoised, so each part costs only
/// its new windows. None for every other job, and for a result already cached.
pub(super) fn stages(job: &Job) -> Vec<u64> {
    let prose = crate::engine::EngineKind::Prose;
    let shown = job.detail && job.compare.is_none() && matches!(job.sel, EngineSel::Auto | EngineSel::Only(_));
    if !shown {
        return Vec::new();
    }
    let kinds = routes_to(job, job.sel);
    if !kinds.contains(&prose) || cached(job, job.sel, kinds) {
        return Vec::new();
    }
    let whole = job.config.prose.time_budget_ms;
    let mut budgets = Vec::new();
    let mut b = FIRST_PART_MS;
    while b < whole {
        budgets.push(b);
        b += b.min(PART_STEP_MAX_MS);
    }
    budgets
}

pub(super) fn error_result(job: &Job, why: &str) -> Computed {
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
        drop_keys: Vec::new(),
        diff: Arc::new(DiffModel::default()),
        colours: None,
        summary: why.into(),
        retention: None,
        compare_out: None,
        ours_out: None,
        silent: None,
        ccr: Vec::new(),
        ms: 0.0,
        error: Some(why.into()),
        detail: job.detail,
        store_error: None,
        partial: false,
        capped: false,
    }
}
