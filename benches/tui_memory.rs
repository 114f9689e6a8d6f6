//! Peak memory of the workbench holding a 100 MB capture (a Headroom log and a HAR), against the
//! target of under 2× the capture's size. Loads the way the TUI does (streamed flows into the
//! state, with the flow list's count jobs run), then reads the process's peak resident size.
//! Also a 25 MB JSON file opened on its own, its block compressed and laid out (target under 10×),
//! and the same for arrays whose cost is all per item: 10 MB of `1,`, of `[],` or of `{"a":1},`,
//! 10 MB of `1,` 127 arrays deep, ten pages of rows (10 MB), 10 MB of distinct numbers with a
//! copy every fifth item, 1,000 large rows (20 MB, a short array) and eight pages as JSON Lines
//! (10 MB).
//! Run: `cargo bench --bench tui_memory -- headroom|har|json|numbers|empties|deep|objects|pages|alternating|rows|lines`
//! (one input per process, so each peak is its own).

#[path = "support/big_capture.rs"]
mod big_capture;

use ctxlens::capture;
use ctxlens::config::Config;
use ctxlens::tui::app::{Action, App, Options};
use ctxlens::tui::work;

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let which = std::env::args().skip(1).find(|a| !a.starts_with('-')).unwrap_or_else(|| "headroom".into());
    // a capture is held (target under 2× its size); a JSON file is held and its block compressed
    // and laid out side by side, the original pretty-printed (target under 10×)
    let (path, target) = match which.as_str() {
        "har" => (big_capture::har(100 << 20), 2.0),
        "json" => (big_capture::json_file(25 << 20), 10.0),
        "numbers" => (big_capture::tiny_items(10 << 20, "1", 1), 10.0),
        "empties" => (big_capture::tiny_items(10 << 20, "[]", 1), 10.0),
        "deep" => (big_capture::tiny_items(10 << 20, "1", 127), 10.0),
        "objects" => (big_capture::tiny_items(10 << 20, r#"{"a":1}"#, 1), 10.0),
        "pages" => (big_capture::pages(10 << 20), 10.0),
        "alternating" => (big_capture::alternating(10 << 20), 10.0),
        "rows" => (big_capture::large_rows(20 << 20), 10.0),
        "lines" => (big_capture::page_lines(10 << 20), 10.0),
        "map" => (big_capture::lockfile(10 << 20), 10.0),
        _ => (big_capture::headroom_log(100 << 20), 2.0),
    };
    let size = std::fs::metadata(&path).unwrap().len();
    // the prose model's runtime, the tokenizer's tables and the redaction rules' compiled
    // patterns (with their match caches) are fixed costs, not the capture's: load them before
    // the baseline
    ctxlens::tokens::Tokenizer::O200k.warm();
    let mut secrets = String::from("password = hunter2xyz\nAuthorization: Bearer abcdefghijklmnop\n{\"k\": \"v\"}");
    let redacted = ctxlens::capture::redact::redact(&mut secrets);
    let warm = ctxlens::pipeline::compress(
        &"The quick brown fox jumps over the lazy dog while the team reviews the release notes. ".repeat(40),
        ctxlens::pipeline::EngineChoice::Only(ctxlens::engine::EngineKind::Prose),
        &Config::default(),
        &ctxlens::engine::Context::default(),
    );
    let base = peak_rss_bytes();
    println!(
        "tui_memory: prose model, runtime, tokenizer and redaction loaded first ({}; {redacted} redacted), baseline {:.1} MB",
        warm.decision.reason(),
        base as f64 / 1e6
    );
    let mut app = App::new(Options::new(std::env::temp_dir(), (120, 40)));
    let src = app.add_source(&path.display().to_string());
    let started = std::time::Instant::now();
    capture::stream(&path, &mut |e| app.update(Action::Load(src, e))).unwrap();
    app.update(Action::Loaded(src, Ok(())));
    let loaded = started.elapsed();
    let after_load = peak_rss_bytes().saturating_sub(base);
    // count every block (the cache makes repeated history cheap)
    loop {
        let jobs = app.settle();
        if jobs.is_empty() {
            break;
        }
        for (j, _) in jobs {
            app.update(Action::Computed(Box::new(work::compute(&j))));
        }
    }
    // the block on screen: its drawn lines laid out, as the diff pane holds them
    let shown = app.view.as_ref().map_or(0, |v| v.display.len());
    let peak = peak_rss_bytes().saturating_sub(base);
    let ratio = peak as f64 / size as f64;
    println!(
        "tui_memory/{which}: capture {:.1} MB, {} flows, {} blocks ({shown} lines on screen's diff); loaded in {:.2} s (peak +{:.1} MB), counted in {:.1} s; peak +{:.1} MB = {ratio:.2}× the capture (target < {target}×)",
        size as f64 / 1e6,
        app.flows.len(),
        app.blocks.len(),
        loaded.as_secs_f64(),
        after_load as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        peak as f64 / 1e6,
    );
    if ratio >= target {
        eprintln!("tui_memory/{which}: over the {target}× target");
        std::process::exit(1);
    }
}
