//! `ctxlens bench`: where the time goes on a user's own files, measured in one process. Per
//! file: the first call (what a one-shot `ctxlens compress` pays, start-up structures included),
//! then repeated warm calls split into the engine alone, token counting alone and the whole
//! pipeline, each as a median with its spread, and the pipeline's throughput. The README's speed
//! figures come from this command.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::Config;
use crate::engine::Context;
use crate::pipeline::{self, EngineChoice};
use crate::tokens::Tokenizer;

/// A series of timings: its median and extremes, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    fn of(mut samples: Vec<Duration>) -> Spread {
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let n = samples.len();
        if n == 0 {
            return Spread { median_ms: 0.0, min_ms: 0.0, max_ms: 0.0 };
        }
        let median = if n % 2 == 1 { ms(samples[n / 2]) } else { (ms(samples[n / 2 - 1]) + ms(samples[n / 2])) / 2.0 };
        Spread { median_ms: median, min_ms: ms(samples[0]), max_ms: ms(samples[n - 1]) }
    }
}

/// One file's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileBench {
    pub file: String,
    /// The engine that ran (`mixed` when sections went to different engines).
    pub engine: String,
    pub acted: bool,
    pub bytes: usize,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// The first call in this process on this file.
    pub first_ms: f64,
    /// How many warm calls the spreads are of.
    pub repeat: usize,
    pub engine_ms: Spread,
    pub count_ms: Spread,
    pub total_ms: Spread,
    /// Input megabytes (10^6 bytes) per second of the whole pipeline, at its median.
    pub mb_per_s: f64,
}

/// Benchmarks one input: one first call, then `repeat` warm ones (each a fresh one-shot call: no
/// engine memo carries over, only what a long-lived process keeps, such as built tokenizers, and
/// each starts once the values the call before let go are freed).
pub fn run(
    file: &str,
    text: &str,
    choice: EngineChoice,
    config: &Config,
    tokenizer: Tokenizer,
    repeat: usize,
) -> FileBench {
    let ctx = Context { tokenizer, path: Some(file.to_string()), ..Context::default() };
    let clock = Instant::now();
    let first = pipeline::compress(text, choice, config, &ctx);
    let first_ms = clock.elapsed().as_secs_f64() * 1000.0;
    // warm means what a long-lived process has: the full tokenizer built
    tokenizer.warm();
    let (mut engine, mut count, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        // the call before frees its largest values on a helper thread; a one-shot call does not
        // share the cores with that
        crate::engine::api::drops_done();
        let clock = Instant::now();
        let o = pipeline::compress(text, choice, config, &ctx);
        total.push(clock.elapsed());
        engine.push(o.timing.engine);
        count.push(o.timing.count);
    }
    let total = Spread::of(total);
    let mb_per_s = if total.median_ms > 0.0 { text.len() as f64 / 1e6 / (total.median_ms / 1000.0) } else { 0.0 };
    FileBench {
        file: file.to_string(),
        engine: first.engine.map_or_else(|| "mixed".to_string(), |k| k.to_string()),
        acted: first.decision.acted(),
        bytes: text.len(),
        tokens_in: first.tokens_in,
        tokens_out: first.tokens_out,
        first_ms,
        repeat,
        engine_ms: Spread::of(engine),
        count_ms: Spread::of(count),
        total_ms: total,
        mb_per_s,
    }
}

/// The figures as a table for a terminal.
pub fn table(rows: &[FileBench]) -> String {
    let mut s = format!(
        "{:<44} {:<7} {:>9} {:>9} {:>19} {:>9} {:>19} {:>7}\n",
        "file", "engine", "KB", "first ms", "engine ms (min–max)", "count ms", "total ms (min–max)", "MB/s"
    );
    for r in rows {
        let name = if r.file.chars().count() > 44 {
            let tail: String = r.file.chars().rev().take(43).collect::<Vec<_>>().into_iter().rev().collect();
            format!("…{tail}")
        } else {
            r.file.clone()
        };
        let spread = |s: &Spread| format!("{:.2} ({:.2}–{:.2})", s.median_ms, s.min_ms, s.max_ms);
        s.push_str(&format!(
            "{:<44} {:<7} {:>9.1} {:>9.2} {:>19} {:>9.2} {:>19} {:>7.1}\n",
            name,
            r.engine,
            r.bytes as f64 / 1024.0,
            r.first_ms,
            spread(&r.engine_ms),
            r.count_ms.median_ms,
            spread(&r.total_ms),
            r.mb_per_s
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_and_the_spread_its_ends() {
        let d = |ms: u64| Duration::from_millis(ms);
        let s = Spread::of(vec![d(5), d(1), d(3)]);
        assert_eq!((s.median_ms, s.min_ms, s.max_ms), (3.0, 1.0, 5.0));
        assert_eq!(Spread::of(vec![d(4), d(2)]).median_ms, 3.0);
    }

    #[test]
    fn a_bench_splits_the_pipeline_into_engine_and_counting() {
        let log = "2024-05-01 INFO request ok id=1\n".repeat(400) + "2024-05-01 ERROR boom\n";
        let r = run("app.log", &log, EngineChoice::Auto, &Config::default(), Tokenizer::O200k, 3);
        assert_eq!((r.engine.as_str(), r.repeat, r.bytes), ("log", 3, log.len()));
        assert!(r.acted && r.tokens_out < r.tokens_in);
        assert!(r.engine_ms.median_ms > 0.0 && r.count_ms.median_ms > 0.0);
        assert!(r.engine_ms.min_ms + r.count_ms.min_ms <= r.total_ms.max_ms);
        assert!(r.mb_per_s > 0.0);
        assert!(table(&[r]).lines().nth(1).is_some_and(|l| l.starts_with("app.log") && l.contains("log")));
    }
}
