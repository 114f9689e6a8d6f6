//! Workbench latency: the first screen of a 100 MB capture (Headroom log and HAR), a keystroke to
//! its frame, a knob change to the new diff of a 1 MB block, and the block on screen behind a full
//! queue (the demo just loaded, every count still queued, cold caches: a selection change and a
//! knob change to their diff, through the real workers). Targets on this 2-core machine: < 0.5 s,
//! < 16 ms, < 100 ms and < 150 ms. `scripts/bench-report.sh` collects the figures for the README.

#[path = "support/big_capture.rs"]
mod big_capture;
#[path = "support/inputs.rs"]
mod inputs;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ctxlens::capture::{self, Event};
use ctxlens::config::Config;
use ctxlens::engine::EngineKind;
use ctxlens::tokens::Tokenizer;
use ctxlens::tui::app::{Action, App, Options, Row};
use ctxlens::tui::command::Command;
use ctxlens::tui::views;
use ctxlens::tui::work::{self, EngineSel, Job};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn app() -> App {
    App::new(Options::new(std::env::temp_dir(), (120, 40)))
}

/// Time from launch to the first frame showing a flow: the loader thread streams the capture as
/// the TUI's does; the frame is drawn as soon as the first flow arrives.
fn first_screen(path: &Path) -> Duration {
    let start = Instant::now();
    let mut app = app();
    let src = app.add_source(&path.display().to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    let loader = std::thread::spawn(move || {
        let _ = capture::stream(&p, &mut |e| {
            let _ = tx.send(e);
        });
    });
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    loop {
        let e = rx.recv().expect("a flow before the end");
        let flow = matches!(e, Event::Flow(_));
        app.update(Action::Load(src, e));
        if flow {
            break;
        }
    }
    let _ = app.settle();
    term.draw(|f| views::draw(f, &app)).unwrap();
    let took = start.elapsed();
    assert!(!app.flows.is_empty());
    drop(rx);
    loader.join().unwrap();
    took
}

fn bench_first_screen(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_first_screen");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, path) in
        [("headroom_100mb", big_capture::headroom_log(100 << 20)), ("har_100mb", big_capture::har(100 << 20))]
    {
        g.bench_function(name, |b| b.iter_custom(|n| (0..n).map(|_| first_screen(&path)).sum()));
    }
    g.finish();
}

/// The demo loaded with every count and the view in place.
fn loaded_demo() -> App {
    let mut app = app();
    let src = app.add_source("demo");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/headroom-requests.jsonl");
    capture::stream(&path, &mut |e| app.update(Action::Load(src, e))).unwrap();
    app.update(Action::Loaded(src, Ok(())));
    loop {
        let jobs = app.settle();
        if jobs.is_empty() {
            break;
        }
        for (j, _) in jobs {
            app.update(Action::Computed(Box::new(work::compute(&j))));
        }
    }
    app
}

fn bench_keystroke(c: &mut Criterion) {
    let mut app = loaded_demo();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut g = c.benchmark_group("tui_keystroke_to_frame");
    let mut down = true;
    g.bench_function("move_in_list_120x40", |b| {
        b.iter(|| {
            let key = if down { KeyCode::Char('j') } else { KeyCode::Char('k') };
            down = !down;
            app.update(Action::Key(KeyEvent::new(key, KeyModifiers::NONE)));
            let _ = app.settle();
            term.draw(|f| views::draw(f, &app)).unwrap();
        })
    });
    g.finish();
}

fn bench_knob_change(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_knob_to_diff_1mb");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for (name, text, knob) in [
        ("log", inputs::log_input(inputs::MB), "log.max_total_lines"),
        ("json", inputs::json_input(inputs::MB), "json.max_items_after_crush"),
    ] {
        let text: Arc<str> = Arc::from(text.as_str());
        let mut n = 0;
        // one set of caches across the runs, as the workbench keeps one
        let caches = std::sync::Arc::new(work::Caches::default());
        g.bench_function(name, |b| {
            b.iter_with_large_drop(|| {
                // a new value each time, so nothing comes from the cache
                n += 1;
                let mut config = Config::default();
                config.set(&format!("{knob}={}", 20 + n % 5000)).unwrap();
                let job = Job {
                    block: 0,
                    generation: n,
                    text: text.clone(),
                    recorded: None,
                    sel: EngineSel::Auto,
                    compare: None,
                    config: Arc::new(config),
                    tokenizer: Tokenizer::O200k,
                    path: None,
                    caches: caches.clone(),
                    highlight: Some("base16-ocean.dark".into()),
                    ccr: None,
                    audit: false,
                    detail: true,
                    keeper: None,
                    headroom: None,
                    stop: None,
                };
                let c = work::compute(&job);
                assert!(!c.diff.is_empty());
                c
            })
        });
    }
    g.finish();
}

/// From a selection change (or a knob change) on the demo just loaded, every block's counts still
/// queued behind it and nothing cached, to the diff of the block on screen arriving from the real
/// workers (its first part, for prose, unless `whole`). The block is the demo's last one the
/// router sends to `kind`.
fn visible_behind_a_queue(kind: EngineKind, knob: bool, whole: bool) -> Duration {
    let mut app = app();
    let src = app.add_source("demo");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo/headroom-requests.jsonl");
    capture::stream(&path, &mut |e| app.update(Action::Load(src, e))).unwrap();
    app.update(Action::Loaded(src, Ok(())));
    let queue = Arc::new(work::Queue::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    work::spawn(queue.clone(), tx);
    for (j, urgent) in app.settle() {
        queue.push(j, urgent);
    }
    let row = app
        .rows
        .iter()
        .rposition(|r| match r {
            Row::Block(b) => ctxlens::router::detect(&app.blocks[*b].text).kind == kind,
            Row::Flow(_) => false,
        })
        .expect("a block of that kind");
    app.list_sel = row;
    let start = Instant::now();
    if knob {
        let _ = app.settle();
        app.update(Action::Run(Command::FocusKnobs));
        app.update(Action::Run(Command::KnobUp));
    }
    for (j, urgent) in app.settle() {
        queue.push(j, urgent);
    }
    let (want, generation) = (app.current().unwrap(), app.generation);
    loop {
        let c = rx.blocking_recv().expect("the workers answer");
        if c.detail && c.block == want && c.generation == generation && !(whole && c.partial) {
            let took = start.elapsed();
            // the next run starts with idle workers
            queue.clear();
            return took;
        }
    }
}

fn bench_visible_block_first(c: &mut Criterion) {
    let mut g = c.benchmark_group("tui_visible_block_behind_a_full_queue");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    for kind in [EngineKind::Log, EngineKind::Search, EngineKind::Prose] {
        for (what, knob) in [("selection", false), ("knob", true)] {
            g.bench_function(format!("{kind}_{what}"), |b| {
                b.iter_custom(|n| (0..n).map(|_| visible_behind_a_queue(kind, knob, false)).sum())
            });
            // a prose block is shown in parts: the first part above, the whole result here
            if kind == EngineKind::Prose {
                g.bench_function(format!("{kind}_{what}_whole"), |b| {
                    b.iter_custom(|n| (0..n).map(|_| visible_behind_a_queue(kind, knob, true)).sum())
                });
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench_first_screen, bench_keystroke, bench_knob_change, bench_visible_block_first);
criterion_main!(benches);
