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
            q.jobs.push_front((seq, true, job))
        } else {
            q.jobs.push_back((seq, false, job))
        }
        self.ready.notify_all();
    }

    /// The next job that is still the newest for its block (blocks until there is one).
    pub fn pop(&self) -> Job {
        self.pop_where(false)
    }

    /// The next urgent job that is still the newest for its block (blocks until there is one).
    pub fn pop_urgent(&self) -> Job {
        self.pop_where(true)
    }

    fn pop_where(&self, urgent_only: bool) -> Job {
        let mut q = self.state.lock().expect("job queue");
        loop {
            while q.jobs.front().is_some_and(|(_, urgent, _)| *urgent || !urgent_only) {
                let Some((seq, _, job)) = q.jobs.pop_front() else { break };
                if q.newest.get(&job.block).is_some_and(|n| n.0 == seq) {
                    q.newest.remove(&job.block);
                    return job;
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
                loop {
                    let job = if urgent_only { queue.pop_urgent() } else { queue.pop() };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compute(&job)));
                    let msg = match result {
                        Ok(c) => c,
                        Err(panic) => error_result(
                            &job,
                            &format!(
                                "the engine failed on this block ({}); it is shown unchanged",
                                crate::tui::panic_text(&*panic)
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
    }
}
