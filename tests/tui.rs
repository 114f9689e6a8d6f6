//! The inspector without a terminal: actions in, state out; and every view drawn on ratatui's
//! TestBackend and compared with committed insta snapshots (tests/snapshots/).

mod common;

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ctxlens::capture;
use ctxlens::config::Config;
use ctxlens::engine::{Context, EngineKind};
use ctxlens::pipeline::{EngineChoice, compress};
use ctxlens::tokens::Tokenizer;
use ctxlens::tui::app::{Action, App, Mode, Options, Row, Sort};
use ctxlens::tui::command::Command;
use ctxlens::tui::layout::Pane;
use ctxlens::tui::theme::Theme;
use ctxlens::tui::views;
use ctxlens::tui::work::{self, EngineSel};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const DEMO: &str = "fixtures/demo/headroom-requests.jsonl";

fn new_app(size: (u16, u16), dir: &Path) -> App {
    App::new(Options {
        themes: vec!["dark".into(), "light".into(), "high-contrast".into()],
        ..Options::new(dir.to_path_buf(), size)
    })
}

/// Runs every queued job and file work inline (as the worker and io threads would) until
/// nothing is left.
fn drive(app: &mut App) {
    for _ in 0..1000 {
        let jobs = app.settle();
        let io = app.take_io();
        if jobs.is_empty() && io.is_empty() {
            return;
        }
        for (job, _) in jobs {
            app.update(Action::Computed(Box::new(work::compute(&job))));
        }
        for job in io {
            app.update(Action::IoDone(Box::new(ctxlens::tui::io::run(job))));
        }
    }
    panic!("jobs never settled");
}

fn load(app: &mut App, rel: &str) {
    load_only(app, rel);
    drive(app);
}

/// Loads `rel` into the app without computing anything (the real workers do it).
fn load_only(app: &mut App, rel: &str) {
    let s = app.add_source(rel);
    let mut events = Vec::new();
    let r = capture::stream(&root().join(rel), &mut |e| events.push(e));
    for e in events {
        app.update(Action::Load(s, e));
    }
    app.update(Action::Loaded(s, r.map_err(|e| e.to_string())));
}

/// The workbench's real workers, with the queue they take from and the channel they answer on.
fn real_workers() -> (std::sync::Arc<work::Queue>, tokio::sync::mpsc::UnboundedReceiver<work::Computed>) {
    let queue = std::sync::Arc::new(work::Queue::default());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    work::spawn(queue.clone(), tx);
    (queue, rx)
}

/// Block `b` compressed in one run of its own, with the default knobs.
fn one_run(app: &App, b: usize) -> ctxlens::Outcome {
    let ctx = Context { path: app.blocks[b].path.clone(), ..Context::default() };
    ctxlens::blocks::compress(
        app.blocks[b].text.clone(),
        ctx.path.as_deref(),
        EngineChoice::Auto,
        &Config::default(),
        &ctx,
    )
}

fn demo(size: (u16, u16)) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app(size, dir.path());
    load(&mut app, DEMO);
    (app, dir)
}

fn cmd(app: &mut App, c: Command) {
    app.update(Action::Run(c));
    drive(app);
}

fn keys(app: &mut App, text: &str) {
    for ch in text.chars() {
        app.update(Action::Key(KeyEvent::new(KeyCode::Char(ch), KeyModifiers::NONE)));
    }
}

fn enter(app: &mut App) {
    app.update(Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    drive(app);
}

/// Answers a prompt: clears the suggested text, types `text`, presses enter.
fn answer(app: &mut App, c: Command, text: &str) {
    cmd(app, c);
    assert!(matches!(app.mode, Mode::Prompt { .. }), "{c} should open a prompt");
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    keys(app, text);
    enter(app);
}

/// Selects the first block (in list order) the auto engine sends to `engine` and compresses.
fn select_engine_block(app: &mut App, engine: &str) -> usize {
    let i = app
        .rows
        .iter()
        .position(|r| {
            matches!(r, Row::Block(b) if app.blocks[*b].stats.as_ref()
                .is_some_and(|s| s.engine == engine && s.tokens_out < s.tokens_in))
        })
        .unwrap_or_else(|| panic!("no {engine} block in the demo"));
    app.list_sel = i;
    drive(app);
    app.current().unwrap()
}

fn screen(app: &App) -> String {
    let (w, h) = app.size;
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| views::draw(f, app)).unwrap();
    let buf = t.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn loading_the_demo_lists_every_flow_and_block_with_counts() {
    let (app, _d) = demo((120, 36));
    let cap = capture::load(&root().join(DEMO)).unwrap();
    assert_eq!(app.flows.len(), cap.flows.len());
    let blocks: usize = cap.flows.iter().map(|f| f.blocks().count()).sum();
    assert_eq!(app.blocks.len(), blocks);
    assert_eq!(app.rows.len(), app.flows.len() + app.blocks.len(), "small captures start expanded");
    assert!(app.blocks.iter().all(|b| b.stats.is_some()), "every block counted");
    assert_eq!(app.totals.counted, blocks);
    let sum_in: usize = app.blocks.iter().map(|b| b.stats.as_ref().unwrap().tokens_in).sum();
    assert_eq!(app.totals.tokens_in, sum_in);
    assert!(app.totals.tokens_out < app.totals.tokens_in, "the demo compresses");
    assert!(app.totals.cost.is_some(), "the demo's model is priced");
    // tool results know the tool that made them, through the tool call's id
    assert!(app.blocks.iter().any(|b| b.kind == capture::BlockKind::ToolResult && b.tool.as_deref() == Some("Bash")));
    // Headroom's log records what was sent: those blocks can show it
    assert!(app.blocks.iter().any(|b| b.recorded.is_some()));
}

#[test]
fn filter_sort_and_expand_change_the_rows() {
    let (mut app, _d) = demo((120, 36));
    answer(&mut app, Command::Filter, "~engine log");
    let shown: Vec<usize> =
        app.rows.iter().filter_map(|r| if let Row::Block(b) = r { Some(*b) } else { None }).collect();
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|b| app.blocks[*b].stats.as_ref().unwrap().engine == "log"));
    // a bad filter keeps the prompt open with the text and says what is wrong
    answer(&mut app, Command::Filter, "~saved>>");
    assert!(matches!(&app.mode, Mode::Prompt { input, .. } if input == "~saved>>"), "{:?}", app.mode);
    assert!(app.message.starts_with("bad filter"), "{}", app.message);
    app.update(Action::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    answer(&mut app, Command::Filter, "");
    assert_eq!(app.rows.len(), app.flows.len() + app.blocks.len());

    cmd(&mut app, Command::Sort);
    assert_eq!(app.sort, Sort::Tokens);
    let first = match app.rows[0] {
        Row::Block(b) => b,
        Row::Flow(_) => panic!("sorted lists show blocks"),
    };
    let max = app.blocks.iter().map(|b| b.stats.as_ref().unwrap().tokens_in).max().unwrap();
    assert_eq!(app.blocks[first].stats.as_ref().unwrap().tokens_in, max);
    cmd(&mut app, Command::Sort);
    cmd(&mut app, Command::Sort);
    assert_eq!(app.sort, Sort::Input);
    // collapse the first flow
    app.list_sel = 0;
    cmd(&mut app, Command::Toggle);
    assert!(!app.flows[0].expanded);
    assert_eq!(app.rows.len(), app.flows.len() + app.blocks.len() - app.flows[0].blocks.len());
    cmd(&mut app, Command::ExpandAll);
    assert!(app.flows.iter().all(|f| f.expanded));
}

#[test]
fn knob_changes_recompress_and_undo_redo_restore_them() {
    let (mut app, _d) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    let before = app.view.as_ref().unwrap().computed.tokens_out;
    let total_before = app.totals.tokens_out;
    app.focus = Pane::Tuning;
    let knobs = app.knobs();
    assert_eq!(knobs[0].0, "log");
    assert!(knobs.iter().any(|(t, _)| *t == "router"), "auto shows the router's knobs too");
    app.knob_sel = knobs.iter().position(|(_, k)| k.name == "max_total_lines").unwrap();
    let g = app.generation;
    cmd(&mut app, Command::KnobDown);
    cmd(&mut app, Command::KnobDown);
    assert_eq!(app.generation, g + 2);
    assert_eq!(app.config.log.max_total_lines, 81);
    assert_eq!(app.undo.len(), 2);
    let v = app.view.as_ref().unwrap();
    assert_eq!(v.computed.block, b);
    assert_eq!(v.computed.generation, app.generation, "the view shows the newest knobs");
    assert!(v.computed.tokens_out < before, "fewer lines kept, fewer tokens");
    assert!(app.totals.tokens_out < total_before, "totals follow");
    // the view's output is exactly what the pipeline produces with these knobs
    let text = app.blocks[b].text.clone();
    let expect = compress(&text, EngineChoice::Auto, &app.config, &Context::default());
    assert_eq!(&*v.computed.output, expect.output.as_str());

    cmd(&mut app, Command::Undo);
    assert_eq!(app.config.log.max_total_lines, 90);
    cmd(&mut app, Command::Undo);
    assert_eq!(*app.config, Config::default());
    assert_eq!(app.view.as_ref().unwrap().computed.tokens_out, before);
    assert_eq!(app.totals.tokens_out, total_before);
    cmd(&mut app, Command::Undo);
    assert_eq!(app.message, "nothing to undo");
    cmd(&mut app, Command::Redo);
    assert_eq!(app.config.log.max_total_lines, 90);
    // a boolean flips with enter; a typed value is validated by the config itself
    app.knob_sel = app.knobs().iter().position(|(_, k)| k.name == "dedupe_warnings").unwrap();
    cmd(&mut app, Command::Toggle);
    assert!(!app.config.log.dedupe_warnings);
    app.knob_sel = app.knobs().iter().position(|(_, k)| k.name == "max_errors").unwrap();
    cmd(&mut app, Command::Toggle);
    assert!(matches!(&app.mode, Mode::Prompt { input, .. } if input == "10"));
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    keys(&mut app, "many");
    enter(&mut app);
    assert!(app.message.contains("log.max_errors"), "{}", app.message);
    assert_eq!(app.config.log.max_errors, 10, "a bad value changes nothing");
}

#[test]
fn engines_recorded_and_compare() {
    let (mut app, _d) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    assert!(app.blocks[b].recorded.is_some());
    // the output's retention is on the block
    let r = app.view.as_ref().unwrap().computed.retention.clone().expect("retention of our output");
    assert!(r.metrics.iter().any(|m| m.name == "errors" && m.total > 0), "{r:?}");
    assert_eq!(app.blocks[b].stats.as_ref().unwrap().retention, Some(r.score));
    cmd(&mut app, Command::NextEngine);
    assert_eq!(app.blocks[b].sel, EngineSel::Recorded);
    assert!(app.blocks[b].stats.as_ref().unwrap().retention.is_some(), "the recording is scored too");
    let v = app.view.as_ref().unwrap();
    assert_eq!(&*v.computed.output, &**app.blocks[b].recorded.as_ref().unwrap());
    assert!(v.computed.outcome.is_none() && app.knobs().is_empty(), "no ledger, no knobs for a recording");
    assert_eq!(app.blocks[b].stats.as_ref().unwrap().engine, "recorded");
    cmd(&mut app, Command::NextEngine);
    assert_eq!(app.blocks[b].sel, EngineSel::Only(EngineKind::Json));
    assert_eq!(app.knobs()[0].0, "json");
    assert!(!app.knobs().iter().any(|(t, _)| *t == "router"));
    cmd(&mut app, Command::PrevEngine);
    cmd(&mut app, Command::PrevEngine);
    assert_eq!(app.blocks[b].sel, EngineSel::Auto);
    // compare: engine A's output on the left, B's on the right
    cmd(&mut app, Command::Compare);
    assert_eq!(app.compare, Some(EngineSel::Recorded));
    let v = app.view.as_ref().unwrap();
    assert_eq!(v.computed.compare, Some(EngineSel::Recorded));
    assert_eq!(&*v.computed.left, &*v.computed.output);
    let last = (0..20).find(|_| {
        cmd(&mut app, Command::Compare);
        app.compare.is_none()
    });
    assert!(last.is_some(), "compare cycles back to off");
}

#[test]
fn diff_navigation_search_folds_and_ledger_jumps() {
    let (mut app, _d) = demo((120, 36));
    select_engine_block(&mut app, "log");
    app.focus = Pane::Diff;
    let v = app.view.as_ref().unwrap();
    assert!(!v.changes.is_empty() && !v.computed.diff.folds.is_empty());
    let first_change = v.changes[0];
    cmd(&mut app, Command::Top);
    cmd(&mut app, Command::NextChange);
    assert_eq!(app.view.as_ref().unwrap().cursor, first_change);
    assert!(app.message.starts_with("change 1 of"));
    cmd(&mut app, Command::PrevChange);
    assert_eq!(app.message, "no earlier change");
    // n without a search also walks changes
    cmd(&mut app, Command::SearchNext);
    assert!(app.view.as_ref().unwrap().cursor > first_change);

    // search unfolds what it finds
    answer(&mut app, Command::Search, "FAILED");
    let v = app.view.as_ref().unwrap();
    let row = match v.display.get(v.cursor).unwrap() {
        ctxlens::tui::diffview::Display::Row(r) => r,
        other => panic!("cursor on {other:?}"),
    };
    let r = &v.computed.diff.row(row).unwrap();
    assert!([&r.left, &r.right].into_iter().flatten().any(|c| c.text().to_lowercase().contains("failed")));
    assert!(app.message.starts_with("`failed`: match "), "{}", app.message);
    cmd(&mut app, Command::Back);
    assert!(app.search.is_none() && !app.quit, "q first clears the search");

    // the ledger jumps the diff to the first line of a drop
    app.focus = Pane::Ledger;
    cmd(&mut app, Command::Down);
    let o = app.view.as_ref().unwrap().computed.outcome.clone().unwrap();
    let d = &o.ledger.drops[1];
    cmd(&mut app, Command::Toggle);
    assert_eq!(app.focus, Pane::Diff);
    let v = app.view.as_ref().unwrap();
    let ctxlens::tui::diffview::Display::Row(row) = v.display.get(v.cursor).unwrap() else {
        panic!("cursor on a fold")
    };
    assert_eq!(v.computed.diff.row(row).unwrap().left.as_ref().unwrap().line, d.span.lines.first);

    // expand every fold, then fold them again
    let folded = v.display.len();
    cmd(&mut app, Command::ExpandAll);
    let v = app.view.as_ref().unwrap();
    assert_eq!(v.display.len(), v.computed.diff.len());
    cmd(&mut app, Command::ExpandAll);
    assert_eq!(app.view.as_ref().unwrap().display.len(), folded);
}

#[test]
fn export_import_and_write_block_reproduce_the_view() {
    let (mut app, dir) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    app.focus = Pane::Tuning;
    app.knob_sel = app.knobs().iter().position(|(_, k)| k.name == "max_total_lines").unwrap();
    cmd(&mut app, Command::KnobDown);
    answer(&mut app, Command::Export, "tuned.toml");
    for f in ["tuned.toml", "tuned.headroom.env", "tuned.headroom.py"] {
        assert!(dir.path().join(f).is_file(), "{f} written: {}", app.message);
    }
    let exported = Config::load(&dir.path().join("tuned.toml")).unwrap();
    assert_eq!(exported, *app.config);
    let py = std::fs::read_to_string(dir.path().join("tuned.headroom.py")).unwrap();
    assert!(py.contains("max_total_lines=90,  # log.max_total_lines\n"), "{py}");
    assert!(!py.contains("max_errors="), "only the tuned knob is set: {py}");

    answer(&mut app, Command::WriteBlock, "out.txt");
    let written = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    let expect = compress(&app.blocks[b].text, EngineChoice::Auto, &exported, &Context::default());
    assert_eq!(written, expect.output);

    // back to defaults, then import the tuned file
    cmd(&mut app, Command::Undo);
    assert_eq!(*app.config, Config::default());
    answer(&mut app, Command::Import, "tuned.toml");
    assert_eq!(*app.config, exported);
    answer(&mut app, Command::Import, "missing.toml");
    assert!(app.message.contains("missing.toml"), "{}", app.message);
    assert_eq!(*app.config, exported, "a failed import changes nothing");
}

#[test]
fn tokenizer_prices_theme_and_keys() {
    let (mut app, _d) = demo((120, 36));
    let o200k = app.totals.tokens_in;
    cmd(&mut app, Command::Tokenizer);
    assert_eq!(app.tokenizer, Tokenizer::Cl100k);
    assert_ne!(app.totals.tokens_in, o200k);
    let count = ctxlens::tokens::count(&app.blocks[0].text, Tokenizer::Cl100k);
    assert_eq!(app.blocks[0].stats.as_ref().unwrap().tokens_in, count);
    let own = app.totals.cost.unwrap();
    cmd(&mut app, Command::PriceModel);
    assert_eq!(app.price_choice, Some(0));
    assert_ne!(app.totals.cost.unwrap(), own);
    assert!(app.message.contains("2026-11-26"), "prices say their date: {}", app.message);
    let dark = app.theme.name.clone();
    cmd(&mut app, Command::Theme);
    assert_ne!(app.theme.name, dark);
    // every key runs a named command; unbound keys say so
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('Z'), KeyModifiers::SHIFT)));
    assert!(app.message.contains("not bound"));
    app.update(Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)));
    assert_eq!(app.focus, Pane::Diff);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE)));
    assert!(matches!(app.mode, Mode::Overlay(..)));
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)));
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.quit);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE)));
    assert!(app.quit);
}

#[test]
fn key_overrides_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::parse("[keys]\ndown = [\"x\"]\n").unwrap();
    let mut app = App::new(Options {
        config: config.clone(),
        theme: Theme::monochrome(),
        ..Options::new(dir.path().to_path_buf(), (80, 24))
    });
    load(&mut app, DEMO);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)));
    assert_eq!(app.list_sel, 1);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)));
    assert_eq!(app.list_sel, 1, "j no longer moves down");
    config.keys.insert("nonsense".into(), vec!["y".into()]);
    let app =
        App::new(Options { config, theme: Theme::monochrome(), ..Options::new(dir.path().to_path_buf(), (80, 24)) });
    assert!(app.keymap_error.as_deref().unwrap().contains("nonsense"));
}

#[test]
fn mouse_and_resize() {
    let (mut app, _d) = demo((100, 30));
    let a = app.areas();
    let list = a.list.unwrap();
    app.update(Action::Scroll { column: list.x + 2, row: list.y + 2, down: true });
    assert_eq!(app.list_sel, 3);
    app.update(Action::Click { column: list.x + 2, row: list.y + 1 });
    assert_eq!(app.list_sel, 0);
    let diff = a.diff.unwrap();
    app.update(Action::Click { column: diff.x + 5, row: diff.y + 3 });
    assert_eq!(app.focus, Pane::Diff);
    app.update(Action::Resize(30, 8));
    let a = app.areas();
    assert!(a.list.is_none() && a.diff.is_some(), "a tiny terminal shows the focused pane only");
    let s = screen(&app);
    assert_eq!(s.lines().count(), 8);
}

#[test]
fn a_bad_capture_line_is_listed_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(root().join(DEMO)).unwrap();
    let mut lines: Vec<&str> = src.lines().collect();
    lines.insert(1, "{\"request_id\": tru");
    let path = dir.path().join("broken.jsonl");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let mut app = new_app((100, 30), dir.path());
    load(&mut app, path.to_str().unwrap());
    assert_eq!(app.problems(), 1);
    assert_eq!(app.sources[0].problems[0].location.line, 2);
    assert!(!app.flows.is_empty());
    cmd(&mut app, Command::Problems);
    assert!(screen(&app).contains("broken.jsonl:2"));
    let mut app = new_app((100, 30), dir.path());
    load(&mut app, "no/such/file.jsonl");
    assert!(app.sources[0].error.as_deref().unwrap().contains("no/such/file.jsonl"));
    assert!(screen(&app).contains("nothing loaded"));
}

const PROXY: &str = "fixtures/headroom-proxy/requests.jsonl";

use ctxlens::store::headroom::marker_hashes;

fn key(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    drive(app);
}

#[test]
fn knob_keys_turn_knobs_only_in_the_knobs_pane_and_quitting_asks_for_unexported_knobs() {
    let (mut app, dir) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    // in the flow list, ← closes the flow and → opens it; no knob moves
    app.focus = Pane::List;
    for k in
        [KeyCode::Char('h'), KeyCode::Left, KeyCode::Char('-'), KeyCode::Char('l'), KeyCode::Right, KeyCode::Char('+')]
    {
        key(&mut app, k);
    }
    assert_eq!(*app.config, Config::default(), "navigating never retunes");
    let flow = app.blocks[b].flow;
    assert!(app.flows[flow].expanded);
    key(&mut app, KeyCode::Left);
    assert_eq!(app.rows[app.list_sel], Row::Flow(flow), "← on a block goes to its flow");
    key(&mut app, KeyCode::Left);
    assert!(!app.flows[flow].expanded, "← on an open flow closes it");
    key(&mut app, KeyCode::Right);
    assert!(app.flows[flow].expanded);
    // in the diff they scroll sideways
    key(&mut app, KeyCode::Char('2'));
    assert_eq!(app.focus, Pane::Diff, "panes are focused by number");
    key(&mut app, KeyCode::Char('l'));
    assert_eq!(app.hscroll, 20);
    key(&mut app, KeyCode::Char('h'));
    assert_eq!((app.hscroll, &*app.config), (0, &Config::default()));
    // esc never quits
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.focus, Pane::List, "esc goes back to the list");
    key(&mut app, KeyCode::Esc);
    assert!(!app.quit && app.message.contains("q quits"), "{}", app.message);
    // only the knobs pane turns knobs
    app.list_sel = app.rows.iter().position(|r| *r == Row::Block(b)).unwrap();
    drive(&mut app);
    key(&mut app, KeyCode::Char('4'));
    key(&mut app, KeyCode::Char('l'));
    assert_ne!(*app.config, Config::default());
    // quitting with tuned knobs asks; anything else in between disarms it
    key(&mut app, KeyCode::Char('q'));
    assert!(!app.quit && app.message.contains("not exported"), "{}", app.message);
    key(&mut app, KeyCode::Char('j'));
    key(&mut app, KeyCode::Char('q'));
    assert!(!app.quit, "a quit after another key asks again");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit, "a second quit in a row quits");
    // exported knobs quit at once
    app.quit = false;
    answer(&mut app, Command::Export, "tuned.toml");
    assert!(dir.path().join("tuned.toml").is_file(), "{}", app.message);
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit, "nothing unexported: q quits");
}

#[test]
fn compare_counts_stay_with_their_engines_and_the_view_follows_the_list() {
    let (mut app, _d) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    let (flow_out, total_out) = (app.flows[app.blocks[b].flow].tokens_out, app.totals.tokens_out);
    let own = app.blocks[b].stats.as_ref().unwrap().tokens_out;
    cmd(&mut app, Command::Compare);
    let c = &app.view.as_ref().unwrap().computed;
    assert_eq!(c.compare, Some(EngineSel::Recorded));
    assert_eq!(c.tokens_out, own, "engine A's count is A's");
    let rec = ctxlens::tokens::count(app.blocks[b].recorded.as_deref().unwrap(), Tokenizer::O200k);
    assert_eq!(c.compare_out, Some(rec), "engine B's count is B's");
    // A's lines that B lacks are differences, not silent loss of the original
    assert!(c.diff.rows().any(|r| r.right.is_none()), "the two outputs differ");
    assert_eq!(c.diff.silent_lines(), 0);
    assert_eq!(app.flows[app.blocks[b].flow].tokens_out, flow_out, "a comparison changes no sum");
    assert_eq!(app.totals.tokens_out, total_out);
    let s = screen(&app);
    assert!(s.contains(&format!("auto {}", ctxlens::tui::app::tokens_label(own))), "{s}");
    cmd(&mut app, Command::Compare);
    while app.compare.is_some() {
        cmd(&mut app, Command::Compare);
    }
    // choosing another engine for a block the filter lists keeps it on screen
    answer(&mut app, Command::Filter, "~engine log");
    let b = select_engine_block(&mut app, "log");
    cmd(&mut app, Command::NextEngine);
    assert_eq!(app.current(), Some(b), "the view stays on the block");
    assert!(app.rows.contains(&Row::Block(b)), "and the list still shows it");
    app.list_sel = 0;
    drive(&mut app);
    // a flow row shows its first listed block, never one the filter hides
    let shown = app.current().unwrap();
    assert!(app.blocks[shown].stats.as_ref().is_some_and(|s| s.engine == "log") || shown == b);
    // a filter that does not parse says why while it is typed
    cmd(&mut app, Command::Filter);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    keys(&mut app, "~engine json | (");
    assert!(screen(&app).contains("filter error at"), "{}", screen(&app));
}

#[test]
fn the_claims_popup_shows_verdicts_and_enter_goes_to_the_evidence() {
    let (mut app, _dir) = demo((120, 40));
    // the list hides the evidence's block: going there clears the filter
    answer(&mut app, Command::Filter, "~engine search");
    cmd(&mut app, Command::Claims);
    assert!(!app.claims_running, "{}", app.message);
    let report = app.claims.clone().expect("a report");
    assert_eq!(app.mode, Mode::Overlay(ctxlens::tui::app::Overlay::Claims, 0), "{}", app.message);
    assert_eq!(report.verdicts.len(), 10);
    let failing: Vec<&str> =
        report.verdicts.iter().filter(|v| v.verdict != ctxlens::audit::Status::Holds).map(|v| v.id.as_str()).collect();
    assert!(failing.is_empty(), "ctxlens's README claims hold on the demo: {failing:?}");
    assert!(app.message.starts_with("claims: 10 hold, 0 fail"), "{}", app.message);
    let s = screen(&app);
    assert!(s.contains("▶ holds") && s.contains("every-drop-marked"), "{s}");
    // select the claim with evidence in a block, then enter
    let i = report.verdicts.iter().position(|v| v.id == "no-silent-fallback").unwrap();
    for _ in 0..i {
        cmd(&mut app, Command::Down);
    }
    assert!(screen(&app).contains("the prose path run with its model missing"));
    cmd(&mut app, Command::Toggle);
    assert_eq!(app.mode, Mode::Normal);
    assert!(app.filter.is_none());
    let b = app.current().expect("the evidence's block");
    let sample = &report.verdicts[i].evidence[0].sample;
    assert_eq!(sample, &app.blocks[b].location);
    let cmd = &report.verdicts[i].evidence[0].reproduce;
    assert!(cmd.contains(DEMO) && !cmd.contains("block "), "a command that runs: {cmd}");
    assert_eq!(app.focus, Pane::Diff);
    assert!(app.message.starts_with("no-silent-fallback (holds):"), "{}", app.message);
}

#[test]
fn a_block_being_computed_shows_its_original_at_once() {
    let dir = tempfile::tempdir().unwrap();
    // a 3 MB first line of two-byte characters (no screen-width cut lands on a boundary by luck)
    let path = dir.path().join("long.log");
    std::fs::write(&path, format!("{}\nERROR second line\n", "é".repeat(1_500_000))).unwrap();
    let other = dir.path().join("other.log");
    std::fs::write(&other, "INFO another file\n").unwrap();
    let mut app = new_app((100, 30), dir.path());
    load(&mut app, other.to_str().unwrap());
    load(&mut app, path.to_str().unwrap());
    let blocks: Vec<usize> = (0..app.rows.len()).filter(|&i| matches!(app.rows[i], Row::Block(_))).collect();
    app.list_sel = blocks[0];
    drive(&mut app);
    app.list_sel = blocks[1];
    // before the worker answers: the original, cut to the screen
    let s = screen(&app);
    assert!(s.contains("computing… (the original"), "{s}");
    assert!(s.contains("éééé") && s.contains("ERROR second line"), "{s}");
    drive(&mut app);
    let s = screen(&app);
    assert!(!s.contains("computing"), "{s}");
    assert!(app.view.as_ref().is_some_and(|v| v.computed.block == app.current().unwrap()));
}

#[test]
fn an_unchanged_block_opens_unfolded_and_small_changes_show_in_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((120, 36), dir.path());
    load(&mut app, PROXY);
    // Headroom left the diff of the last request as it was
    cmd(&mut app, Command::Audit);
    let i = app
        .rows
        .iter()
        .position(|r| {
            matches!(r, Row::Block(b) if app.blocks[*b].text.lines().count() > 12
                && app.blocks[*b].recorded.as_deref() == Some(&*app.blocks[*b].text))
        })
        .expect("a block of more than 12 lines Headroom left unchanged");
    app.list_sel = i;
    drive(&mut app);
    let v = app.view.as_ref().unwrap();
    assert!(!v.computed.diff.folds.is_empty(), "it has a foldable run");
    assert!(v.display.iter().all(|d| matches!(d, ctxlens::tui::diffview::Display::Row(_))), "shown open");
    assert_eq!(ctxlens::tui::app::change_label(10_000, 10_003), "+3 tok");
    assert_eq!(ctxlens::tui::app::change_label(100, 19), "-81%");
}

#[test]
fn folders_list_their_files_by_name_and_responses_are_answer_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((160, 40), dir.path());
    // named relative to the folder given, with no block count (a file is one block)
    let folder = root().join("fixtures/log");
    load(&mut app, folder.to_str().unwrap());
    assert!(app.flows.len() > 2);
    let files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(
        app.flows.iter().all(|f| files.contains(&f.label)),
        "{:?}",
        app.flows.iter().map(|f| &f.label).collect::<Vec<_>>()
    );
    assert!(screen(&app).lines().any(|l| l.contains("▾ 3 cargo-build-verbose-errors.log ")), "{}", screen(&app));
    assert!(!screen(&app).contains("(1)"), "{}", screen(&app));

    let mut app = new_app((120, 36), dir.path());
    load(&mut app, "fixtures/headroom-proxy/session.har");
    let answers: Vec<&ctxlens::tui::app::BlockItem> = app.blocks.iter().filter(|b| b.response).collect();
    assert!(!answers.is_empty(), "HAR responses are blocks");
    assert!(answers.iter().all(|b| b.label().starts_with("← ") && b.new));
    assert!(
        answers.iter().filter(|b| b.kind == ctxlens::capture::BlockKind::ToolUse).all(|b| b.tool.is_some()),
        "an answer's tool call names its tool"
    );
    // the request's sums leave the answer out
    for (fi, f) in app.flows.iter().enumerate() {
        let sum: usize = app
            .blocks
            .iter()
            .filter(|b| b.flow == fi && !b.response)
            .map(|b| b.stats.as_ref().unwrap().tokens_in)
            .sum();
        assert_eq!(f.tokens_in, sum);
    }
    cmd(&mut app, Command::Filter);
    app.update(Action::Key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)));
    keys(&mut app, "~response");
    enter(&mut app);
    assert!(app.rows.iter().all(|r| match r {
        Row::Block(b) => app.blocks[*b].response,
        Row::Flow(_) => true,
    }));
}

/// Headroom's store is named on the status line only where it can resolve something: blocks
/// with a recorded compression (a folder of tool outputs has none).
#[test]
fn a_plain_folder_does_not_claim_headroom_s_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = ctxlens::store::headroom::HeadroomStore::open(&root().join("fixtures/headroom-proxy")).unwrap();
    let mut app = App::new(Options {
        ccr: Some(std::sync::Arc::new(store)),
        ..Options::new(dir.path().to_path_buf(), (140, 40))
    });
    load(&mut app, "fixtures/log");
    assert!(!app.blocks.is_empty() && app.recordings == 0);
    assert!(!screen(&app).contains("Headroom CCR store"), "{}", screen(&app));
    assert!(!app.message.contains("CCR store"), "{}", app.message);
}

#[test]
fn audit_mode_on_a_real_headroom_capture() {
    let dir = tempfile::tempdir().unwrap();
    let store = ctxlens::store::headroom::HeadroomStore::open(&root().join("fixtures/headroom-proxy")).unwrap();
    let mut app = App::new(Options {
        ccr: Some(std::sync::Arc::new(store)),
        ..Options::new(dir.path().to_path_buf(), (140, 40))
    });
    load(&mut app, PROXY);
    assert_eq!(app.flows.len(), 6);
    assert!(screen(&app).lines().next().unwrap().contains("Headroom CCR store"), "{}", screen(&app));
    assert!(app.message.starts_with("Headroom's CCR store: "), "{}", app.message);
    // each request resends the history: only the last turn's blocks are new
    let new = app.blocks.iter().filter(|b| b.new).count();
    assert!(new < app.blocks.len() / 2, "{new} of {}", app.blocks.len());
    cmd(&mut app, Command::NewOnly);
    let listed = app.rows.iter().filter(|r| matches!(r, Row::Block(_))).count();
    assert_eq!(listed, new);

    cmd(&mut app, Command::Audit);
    assert!(app.audit);
    let recorded: Vec<usize> = (0..app.blocks.len()).filter(|b| app.blocks[*b].recorded.is_some()).collect();
    assert!(recorded.iter().all(|b| app.blocks[*b].sel == EngineSel::Recorded));
    for b in &recorded {
        let s = app.blocks[*b].stats.as_ref().unwrap();
        assert!(s.ours_out.is_some() && s.silent.is_some(), "block {b}: {s:?}");
    }
    // the flows add up what ctxlens would leave and what Headroom lost silently
    let f = &app.flows[1];
    let ours: usize = f.blocks.iter().map(|b| app.blocks[*b].stats.as_ref().unwrap().ours_out.unwrap()).sum();
    assert_eq!(f.ours_out, ours);
    assert!(app.flows.iter().any(|f| f.silent > 0), "Headroom drops lines with no marker near them");
    // ~silent lists only blocks that lost lines silently; } jumps to the first one
    answer(&mut app, Command::Filter, "~silent");
    let rows: Vec<usize> =
        app.rows.iter().filter_map(|r| if let Row::Block(b) = r { Some(*b) } else { None }).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|b| app.blocks[*b].stats.as_ref().unwrap().silent.unwrap() > 0));
    app.list_sel = app.rows.iter().position(|r| *r == Row::Block(rows[0])).unwrap();
    drive(&mut app);
    cmd(&mut app, Command::Top);
    app.focus = Pane::Diff;
    cmd(&mut app, Command::Top);
    cmd(&mut app, Command::NextSilent);
    // from the top, the first run is the first one, even when it starts on the top line; the
    // next } goes on to the second
    assert!(app.message.starts_with("silent run 1 of "), "{}", app.message);
    let first = app.view.as_ref().unwrap().cursor;
    cmd(&mut app, Command::NextSilent);
    assert!(app.message.starts_with("silent run 2 of "), "{}", app.message);
    assert!(app.view.as_ref().unwrap().cursor > first);
    cmd(&mut app, Command::PrevSilent);
    cmd(&mut app, Command::PrevSilent);
    assert_eq!(app.view.as_ref().unwrap().cursor, first, "{{ comes back to the first");
    let v = app.view.as_ref().unwrap();
    let ctxlens::tui::diffview::Display::Row(r) = v.display.get(v.cursor).unwrap() else { panic!("cursor on a fold") };
    assert_eq!(v.computed.diff.row(r).unwrap().left.as_ref().unwrap().mark, ctxlens::tui::diffview::Mark::Silent);

    // every Headroom marker in the capture is looked up in its CCR store
    answer(&mut app, Command::Filter, "~new");
    let mut hashes = std::collections::HashSet::new();
    let marked: Vec<usize> = (0..app.blocks.len())
        .filter(|b| app.blocks[*b].new)
        .filter(|b| app.blocks[*b].recorded.as_deref().is_some_and(|r| !marker_hashes(r).is_empty()))
        .collect();
    assert_eq!(marked.len(), 3, "three tool results carry Headroom markers");
    for b in marked {
        app.list_sel = app.rows.iter().position(|r| *r == Row::Block(b)).unwrap();
        drive(&mut app);
        let c = &app.view.as_ref().unwrap().computed;
        for (h, found) in &c.ccr {
            let l = found.as_ref().expect("a store was given").as_ref().expect("readable");
            assert!(l.entry().is_some(), "{h}: {}", l.state());
            hashes.insert(h.clone());
        }
    }
    assert_eq!(hashes.len(), 3, "the capture's three CCR hashes: {hashes:?}");
    // r on a ledger row shows what Headroom holds for it
    app.focus = Pane::Ledger;
    app.ledger_sel = 0;
    cmd(&mut app, Command::Retrieve);
    assert!(matches!(app.mode, Mode::Overlay(ctxlens::tui::app::Overlay::Original, 0)), "{}", app.message);
    let (title, text) = app.retrieved.clone().unwrap();
    assert!(title.contains("Headroom hash") && !text.is_empty(), "{title}");
    assert!(screen(&app).contains(text.lines().next().unwrap().trim()), "the original is on screen");
}

#[test]
fn a_named_headroom_workspace_must_be_readable_and_one_beside_the_capture_is_found() {
    let launch = |paths: Vec<PathBuf>, dir: Option<PathBuf>| ctxlens::tui::Launch {
        paths,
        config: Config::default(),
        tokenizer: Tokenizer::O200k,
        theme: "dark".into(),
        headroom_dir: dir,
        headroom_python: None,
    };
    let e = ctxlens::tui::headroom_store(&launch(vec![], Some("no/such/workspace".into()))).unwrap_err();
    assert!(e.contains("--headroom-dir") && e.contains("no/such/workspace"), "{e}");
    let found = ctxlens::tui::headroom_store(&launch(vec![root().join(PROXY)], None)).unwrap().unwrap();
    assert!(found.path.ends_with("fixtures/headroom-proxy/ccr_store.db"));
    let bad = ctxlens::tui::Launch { headroom_python: Some("no/such/python".into()), ..launch(vec![], None) };
    let e = ctxlens::tui::app_for(&bad, (80, 24)).err().expect("a Python that is not there is an error");
    assert!(e.contains("--headroom-python") && e.contains("no/such/python"), "{e}");
}

#[test]
fn the_real_headroom_is_an_engine_and_a_comparison_beside_ours() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(Options {
        headroom: Some(std::sync::Arc::new(ctxlens::bridge::Shared::new(common::headroom_python()))),
        ..Options::new(dir.path().to_path_buf(), (120, 40))
    });
    load(&mut app, DEMO);
    let b = select_engine_block(&mut app, "log");
    let ours = app.view.as_ref().unwrap().computed.tokens_out;
    for _ in 0..3 {
        if app.blocks[b].sel == EngineSel::Headroom {
            break;
        }
        cmd(&mut app, Command::NextEngine);
    }
    assert_eq!(app.blocks[b].sel, EngineSel::Headroom, "m offers Headroom after auto");
    let c = &app.view.as_ref().unwrap().computed;
    assert_eq!(c.error, None, "{}", c.summary);
    assert!(c.summary.starts_with("headroom-ai 0.42") && c.summary.contains("log compressor"), "{}", c.summary);
    assert!(c.tokens_out < c.tokens_in && c.tokens_out != ours, "{} → {} (ours {ours})", c.tokens_in, c.tokens_out);
    assert_eq!(c.engine, "headroom");
    assert!(c.retention.is_some() && !c.diff.is_empty());
    assert!(app.knobs().iter().any(|(t, _)| *t == "log"), "the log knobs Headroom shares are tuned here");
    assert!(screen(&app).contains("Headroom's output keeps no ledger"));
    // back to ours, compared with Headroom's on the same block
    while app.blocks[b].sel != EngineSel::Auto {
        cmd(&mut app, Command::PrevEngine);
    }
    for _ in 0..3 {
        if app.compare == Some(EngineSel::Headroom) {
            break;
        }
        cmd(&mut app, Command::Compare);
    }
    let c = &app.view.as_ref().unwrap().computed;
    assert_eq!(c.compare, Some(EngineSel::Headroom));
    assert_eq!(c.tokens_out, ours);
    assert!(c.compare_out.is_some_and(|h| h != ours), "{:?}", c.compare_out);
    assert!(c.summary.contains(" | headroom-ai 0.42"), "{}", c.summary);
    // the claims popup switches to Headroom's claims, checked on the real Headroom
    cmd(&mut app, Command::Claims);
    assert!(app.claims.as_ref().is_some_and(|r| r.subject.starts_with("ctxlens")), "{}", app.message);
    assert!(screen(&app).contains("m: Headroom's"));
    cmd(&mut app, Command::NextEngine);
    let report = app.claims.clone().expect("Headroom's report");
    assert!(report.subject.starts_with("headroom-ai 0.42"), "{}: {}", report.subject, app.message);
    assert_eq!(report.verdicts.len(), 12, "claims/headroom.toml");
    assert!(app.claims_headroom && screen(&app).contains("Headroom's claims on the loaded blocks"));
}

#[test]
fn r_shows_the_original_behind_a_ctxlens_marker() {
    let (mut app, _d) = demo((120, 36));
    let b = select_engine_block(&mut app, "log");
    app.focus = Pane::Ledger;
    app.ledger_sel = 0;
    cmd(&mut app, Command::Retrieve);
    let (title, text) = app.retrieved.clone().expect("retrieved");
    let o = app.view.as_ref().unwrap().computed.outcome.clone().unwrap();
    let d = &o.ledger.drops[0];
    assert_eq!(&*text, &app.blocks[b].text[d.span.bytes.clone()], "the exact dropped bytes");
    assert!(title.contains(d.key(&o.original).as_str()));
    cmd(&mut app, Command::Quit);
    assert_eq!(app.mode, Mode::Normal, "q closes the popup");
    assert!(!app.quit);
}

// ---- snapshots ----

#[test]
fn snapshot_main_screen_80x24() {
    let (mut app, _d) = demo((80, 24));
    select_engine_block(&mut app, "log");
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn snapshot_diff_focused_after_a_jump_120x36() {
    let (mut app, _d) = demo((120, 36));
    select_engine_block(&mut app, "search");
    app.focus = Pane::Diff;
    cmd(&mut app, Command::NextChange);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn snapshot_unified_view() {
    let (mut app, _d) = demo((100, 30));
    select_engine_block(&mut app, "log");
    app.focus = Pane::Diff;
    cmd(&mut app, Command::Unified);
    cmd(&mut app, Command::NextChange);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn snapshot_ledger_and_tuning_focused() {
    let (mut app, _d) = demo((120, 40));
    select_engine_block(&mut app, "json");
    app.focus = Pane::Tuning;
    cmd(&mut app, Command::KnobDown);
    app.focus = Pane::Ledger;
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn snapshot_help_and_prompt() {
    let (mut app, _d) = demo((90, 30));
    cmd(&mut app, Command::Help);
    insta::assert_snapshot!("help", screen(&app));
    app.mode = Mode::Normal;
    cmd(&mut app, Command::Filter);
    keys(&mut app, "~role tool & ~saved>50");
    insta::assert_snapshot!("filter_prompt", screen(&app));
}

#[test]
fn snapshot_tiny_terminal() {
    let (mut app, _d) = demo((40, 10));
    select_engine_block(&mut app, "log");
    insta::assert_snapshot!(screen(&app));
}

/// Without its model the prose engine cannot act; the title line says so, with the fix, while
/// every block still shows (passed through).
#[test]
fn a_missing_prose_model_is_named_on_the_title_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.set("prose.model=\"/nonexistent/ctxlens-model\"").unwrap();
    let mut app = App::new(Options { config, ..Options::new(dir.path().to_path_buf(), (160, 30)) });
    load(&mut app, "fixtures/prose/requests-HISTORY.md");
    let why = app.unavailable.clone().expect("the prose engine was unavailable");
    assert!(why.starts_with("prose unavailable") && why.contains("scripts/setup.sh"), "{why}");
    let title = screen(&app).lines().next().unwrap().to_string();
    assert!(title.contains("prose unavailable"), "{title}");
}

/// A prose block on screen is shown part by part through the real workers: first what the model
/// scored in its first window (the rest unchanged, the title saying a part is shown, the
/// block's counts untouched), then the whole result, the same as one run of its own.
#[test]
fn a_prose_block_on_screen_shows_a_first_part_then_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((160, 30), dir.path());
    // the folder's first file is the prose block on screen
    load_only(&mut app, "fixtures/prose");
    let (queue, mut rx) = real_workers();
    let text = app.blocks[0].text.clone();
    let tail = &text[text.len() - 300..];
    let mut parts = 0;
    loop {
        for (j, urgent) in app.settle() {
            queue.push(j, urgent);
        }
        let c = rx.blocking_recv().expect("the workers answer");
        let (detail, partial) = (c.detail && c.block == 0, c.partial);
        if partial {
            parts += 1;
            assert!(c.outcome.as_ref().is_some_and(|o| o.budget_hit()), "a part is a run whose time ran out");
            assert!(c.output.contains(tail), "the rest is shown unchanged");
        }
        app.update(Action::Computed(Box::new(c)));
        if partial {
            assert!(app.pending(), "a part is not the result");
            assert!(screen(&app).contains("computing… first part shown"), "{}", screen(&app));
            assert!(app.blocks[0].stats.is_none(), "a part's counts are not the block's");
        }
        if detail && !partial {
            break;
        }
    }
    assert!(parts >= 1, "15,000 tokens of prose are more than one window of scoring");
    assert!(!app.pending());
    let whole = app.view.as_ref().unwrap().computed.clone();
    let once = one_run(&app, 0);
    assert!(once.decision.acted() && !once.budget_hit(), "{:?}", once.decision);
    assert_eq!(&*whole.output, once.output, "the parts add up to one whole run");

    // coming back to the block finds its whole result under its own settings: no parts again
    let at = app.list_sel;
    for code in [KeyCode::Down, KeyCode::Down, KeyCode::Up, KeyCode::Up] {
        app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        for (j, urgent) in app.settle() {
            queue.push(j, urgent);
        }
    }
    assert_eq!(app.list_sel, at);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let again = loop {
        assert!(std::time::Instant::now() < deadline, "no view of the block came back");
        for (j, urgent) in app.settle() {
            queue.push(j, urgent);
        }
        let Ok(c) = rx.try_recv() else {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        };
        let mine = c.detail && c.block == 0;
        app.update(Action::Computed(Box::new(c.clone())));
        if mine {
            break c;
        }
    };
    assert!(!again.partial, "the whole result is cached under the block's own settings");
    assert_eq!(again.output, whole.output);
}

/// Leaving a prose block while it is shown in parts stops its inference at the next batch: no
/// later part or whole result of it arrives for the view, but its row still gets its counts.
#[test]
fn leaving_a_prose_block_stops_its_parts_but_not_its_count() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((160, 30), dir.path());
    for rel in ["fixtures/prose/requests-HISTORY.md", "fixtures/json/pip-inspect.json"] {
        load_only(&mut app, rel);
    }
    let (queue, mut rx) = real_workers();
    let push = |app: &mut App| app.settle().into_iter().for_each(|(j, urgent)| queue.push(j, urgent));
    push(&mut app);
    let prose = app.current().unwrap();
    assert!(app.blocks[prose].path.as_deref().is_some_and(|p| p.ends_with(".md")));
    loop {
        let c = rx.blocking_recv().expect("the workers answer");
        let first_part = c.partial && c.block == prose;
        app.update(Action::Computed(Box::new(c)));
        if first_part {
            break;
        }
    }
    // the view moves to the JSON file
    app.list_sel = app.rows.iter().position(|r| matches!(r, Row::Block(b) if *b != prose)).unwrap();
    push(&mut app);
    let (mut later_parts, mut whole_views, mut prose_counts) = (0, 0, None);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while prose_counts.is_none() && std::time::Instant::now() < until {
        match rx.try_recv() {
            Ok(c) => {
                if c.block == prose {
                    match (c.detail, c.partial) {
                        (true, true) => later_parts += 1,
                        (true, false) => whole_views += 1,
                        (false, _) => prose_counts = Some(c.tokens_out),
                    }
                }
                app.update(Action::Computed(Box::new(c)));
                push(&mut app);
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    assert_eq!(whole_views, 0, "the prose block's view job stopped");
    assert!(later_parts <= 1, "at most the part already on its way: {later_parts}");
    let counted = prose_counts.expect("the prose block is still counted");
    let once = one_run(&app, prose);
    assert_eq!(counted, once.tokens_out, "its count is the whole result's");
    assert_eq!(app.blocks[prose].stats.as_ref().map(|s| s.tokens_out), Some(counted));
}

/// With `[store] enabled`, every output the workbench computes is kept: each block's output gives
/// its original back from the store, and a key the block's own ledger lacks is read from the store
/// off the draw loop.
#[test]
fn the_workbench_keeps_what_it_drops_in_the_store() {
    use ctxlens::store::{Location, Policy, Store};
    use ctxlens::tui::io::{self, IoJob};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::File(dir.path().join("s.db")), Policy::default()).unwrap();
    let keeper = std::sync::Arc::new(work::Keeper::new(store));
    let mut app =
        App::new(Options { keeper: Some(keeper.clone()), ..Options::new(dir.path().to_path_buf(), (120, 36)) });
    load(&mut app, DEMO);
    drive(&mut app);
    let mut restored = 0;
    for b in &app.blocks {
        let ctx = Context { path: b.path.clone(), ..Context::default() };
        let o = compress(&b.text, EngineChoice::Auto, &Config::default(), &ctx);
        if *o.output != *o.original {
            let back =
                keeper.store.restore(o.output.as_bytes(), None).unwrap_or_else(|e| panic!("{}: {e}", b.location));
            assert!(back == b.text.as_bytes(), "{}: restored byte for byte", b.location);
            restored += 1;
        }
    }
    assert!(restored > 10, "the demo's compressed blocks are all in the store: {restored}");
    // a key read from the store opens the original overlay
    let key = ctxlens::ledger::Key::of(b"a line only the store holds\n");
    keeper.store.put(&key, b"a line only the store holds\n").unwrap();
    let done = io::run(IoJob::Retrieve { key, keeper: keeper.clone() });
    app.update(Action::IoDone(Box::new(done)));
    let (title, text) = app.retrieved.clone().unwrap();
    assert!(title.contains(key.as_str()) && title.contains("from the store"), "{title}");
    assert_eq!(&*text, "a line only the store holds\n");
    let missing = ctxlens::ledger::Key::of(b"never stored");
    app.update(Action::IoDone(Box::new(io::run(IoJob::Retrieve { key: missing, keeper }))));
    assert!(app.message.contains(missing.as_str()) && app.message.contains("not in"), "{}", app.message);
}

/// A Markdown file split between prose and code is laid out section by section: its prose lines
/// face their own output lines and every changed line is a drop the ledger names, so the block on
/// screen and its row show no silent loss (a line diff of the whole block paired lines across
/// sections and flagged some).
#[test]
fn a_block_split_between_engines_is_laid_out_by_section_with_no_false_silent_loss() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((160, 40), dir.path());
    // a README's prose and code, then lines of one word that the model keeps in one place and
    // drops in another (a line diff pairs those with the wrong neighbours)
    let words = ["the", "disk", "the", "the", "error", "lazy", "fox", "the", "server", "dog"];
    let one_word: String = words.repeat(60).iter().flat_map(|w| [*w, "\n"]).collect();
    let readme = std::fs::read_to_string(root().join("fixtures/prose/requests-README.md")).unwrap();
    let path = dir.path().join("mixed.md");
    std::fs::write(&path, format!("{readme}\n{one_word}")).unwrap();
    load(&mut app, path.to_str().unwrap());
    let o = one_run(&app, 0);
    assert!(o.engine.is_none() && o.sections.iter().any(|s| s.kind == EngineKind::Prose), "{:?}", o.sections);
    let v = app.view.as_ref().unwrap();
    let c = &v.computed;
    assert_eq!(c.output.as_ref(), o.output.as_str());
    assert_eq!((c.diff.silent_lines(), c.silent), (0, Some(0)));
    assert_eq!(c.diff.left_lines, app.blocks[0].text.lines().count());
    // each section's lines keep their numbers: the original's line N is on the row of its own
    let lefts: Vec<usize> = c.diff.rows().filter_map(|r| r.left.as_ref().map(|l| l.line)).collect();
    assert_eq!(lefts, (1..=c.diff.left_lines).collect::<Vec<_>>());
    let changed = c
        .diff
        .rows()
        .filter(|r| r.left.as_ref().is_some_and(|l| l.mark == ctxlens::tui::diffview::Mark::Changed))
        .count();
    assert!(changed > 10, "prose lines cut in place read as changed lines: {changed}");
}

/// Before any count is in, the totals say they are coming instead of showing sums of nothing.
#[test]
fn totals_say_counting_until_a_count_is_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut app = new_app((160, 40), dir.path());
    load_only(&mut app, "fixtures/prose/requests-LICENSE");
    let jobs = app.settle();
    let s = screen(&app);
    let status = s.lines().last().unwrap();
    assert!(status.contains("counting 1 block… · o200k") && !status.contains("0→0"), "{status}");
    for (job, _) in jobs {
        app.update(Action::Computed(Box::new(work::compute(&job))));
    }
    drive(&mut app);
    let s = screen(&app);
    let status = s.lines().last().unwrap();
    assert!(!status.contains("counting") && status.contains(" tok -"), "{status}");
}

#[test]
fn deep_json_says_on_the_status_line_that_its_indentation_stops() {
    let dir = tempfile::tempdir().unwrap();
    let deep = |levels: usize| {
        let rows: Vec<String> = (0..300).map(|i| format!("{{\"id\":{i},\"v\":\"row {i}\"}}")).collect();
        format!("{}[{}]{}", "{\"a\":".repeat(levels), rows.join(","), "}".repeat(levels))
    };
    for (levels, capped) in [(30, true), (5, false)] {
        let path = dir.path().join(format!("deep{levels}.json"));
        std::fs::write(&path, deep(levels)).unwrap();
        let mut app = new_app((120, 40), dir.path());
        load(&mut app, path.to_str().unwrap());
        let said = app.message.contains("shown without more indentation");
        assert_eq!(said, capped, "{levels} levels: {}", app.message);
        if capped {
            assert!(screen(&app).contains("shown without more indentation"), "{}", screen(&app));
        }
    }
}
