//! The inspector: `ctxlens [FILE|DIR]…`. This module owns the terminal and the event loop; the
//! state lives in [`app`], drawing in [`views`], background work in [`work`].
//!
//! Three producers feed one loop: terminal events, a loader thread streaming captures (so the
//! first flows show while a big file is still being read), and a worker thread compressing,
//! counting and diffing. The loop turns each into an [`app::Action`], hands queued jobs to the
//! worker, and draws only when something changed.

pub mod app;
pub mod command;
pub mod diffview;
pub mod filter;
pub mod io;
pub mod layout;
pub mod pretty;
pub mod prices;
pub mod theme;
pub mod views;
pub mod work;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind, MouseEventKind};
use crossterm::execute;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::capture;
use crate::config::Config;
use crate::tokens::Tokenizer;
use app::{Action, App, Options};

/// What `ctxlens [FILE|DIR]…` was asked for.
pub struct Launch {
    pub paths: Vec<PathBuf>,
    pub config: Config,
    pub tokenizer: Tokenizer,
    /// A built-in theme name or a theme file.
    pub theme: String,
    /// Headroom's workspace (or its `ccr_store.db`), to resolve recorded markers; when `None`, a
    /// `ccr_store.db` beside a capture, else `$HEADROOM_WORKSPACE_DIR` or `~/.headroom`, if there.
    pub headroom_dir: Option<PathBuf>,
    /// A Python with headroom-ai for the bridge, so the real Headroom runs beside ctxlens's
    /// engines; when `None`, `$CTXLENS_HEADROOM_PYTHON` or the venv `ctxlens bridge install` made,
    /// if there.
    pub headroom_python: Option<PathBuf>,
}

/// Headroom's CCR store for a launch: the one named (an error when it cannot be read), else the
/// first found beside a capture or in Headroom's default workspace (skipped when unreadable).
pub fn headroom_store(launch: &Launch) -> Result<Option<crate::store::headroom::HeadroomStore>, String> {
    use crate::store::headroom::{FILE, HeadroomStore};
    if let Some(dir) = &launch.headroom_dir {
        return HeadroomStore::open(dir).map(Some).map_err(|e| format!("--headroom-dir: {e}"));
    }
    let beside = launch.paths.iter().map(|p| if p.is_dir() { p.join(FILE) } else { p.with_file_name(FILE) });
    let found = beside
        .chain(HeadroomStore::default_dir().map(|d| d.join(FILE)))
        .filter(|p| p.is_file())
        .find_map(|p| HeadroomStore::open(&p).ok());
    Ok(found)
}

/// Built-in theme names, for cycling.
pub fn theme_names(current: &str) -> Vec<String> {
    let mut v: Vec<String> = theme::BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    if !v.iter().any(|n| n == current) {
        v.push(current.to_string());
    }
    v
}

/// Builds the state for a launch, with every source registered (none loaded yet).
/// The real Headroom for a launch: the Python named (an error when it is not there), else the one
/// `$CTXLENS_HEADROOM_PYTHON` names or `ctxlens bridge install` made, when there. The helper
/// starts on first use.
fn headroom_side(launch: &Launch) -> Result<Option<Arc<crate::bridge::Shared>>, String> {
    let python = match &launch.headroom_python {
        Some(p) if !p.exists() => return Err(format!("--headroom-python {}: no such file", p.display())),
        Some(p) => Some(p.clone()),
        None => crate::bridge::python_for(None).filter(|p| p.exists()),
    };
    Ok(python.map(|p| Arc::new(crate::bridge::Shared::new(p))))
}

pub fn app_for(launch: &Launch, size: (u16, u16)) -> Result<App, String> {
    let theme = theme::Theme::choose(&launch.theme).map_err(|e| e.to_string())?;
    let ccr = headroom_store(launch)?.map(Arc::new);
    let settings = &launch.config.store;
    let keeper = match settings.location(None).filter(|_| settings.enabled) {
        Some(at) => Some(Arc::new(work::Keeper::new(
            crate::store::Store::open(&at, settings.policy()).map_err(|e| format!("[store]: {e}"))?,
        ))),
        None if settings.enabled => return Err("[store]: no data directory for the store: set [store] location".into()),
        None => None,
    };
    let mut app = App::new(Options {
        ccr,
        keeper,
        headroom: headroom_side(launch)?,
        config: launch.config.clone(),
        tokenizer: launch.tokenizer,
        themes: theme_names(&theme.name),
        theme,
        prices: prices::PriceBook::load(),
        dir: std::env::current_dir().unwrap_or_default(),
        size,
    });
    for p in &launch.paths {
        app.add_source(&p.display().to_string());
    }
    Ok(app)
}

/// Loads every source on a thread, sending each event as it is parsed. A panic while loading
/// one source ends that source with an error on the status line; the next ones still load.
fn spawn_loader(paths: Vec<PathBuf>, tx: mpsc::UnboundedSender<Action>) {
    spawn_loader_with(paths, tx, capture::stream);
}

/// [`spawn_loader`] with the loading function given (tests hand it one that panics).
fn spawn_loader_with<L>(paths: Vec<PathBuf>, tx: mpsc::UnboundedSender<Action>, load: L)
where
    L: Fn(&std::path::Path, &mut dyn FnMut(capture::Event)) -> Result<(), capture::CaptureError> + Send + 'static,
{
    std::thread::Builder::new()
        .name("ctxlens-loader".into())
        .spawn(move || {
            for (i, p) in paths.iter().enumerate() {
                let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    load(p, &mut |e| {
                        let _ = tx.send(Action::Load(i, e));
                    })
                }));
                let r = match loaded {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(panic) => Err(format!("{}: the loader failed: {}", p.display(), panic_text(&*panic))),
                };
                if tx.send(Action::Loaded(i, r)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn loader");
}

/// The message of a caught panic.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Puts the terminal back as it was: mouse capture off, main screen, cooked mode.
fn restore_terminal() {
    // the cursor too: a signal ends the process before the terminal's drop would show it
    let _ = execute!(std::io::stdout(), crossterm::event::DisableMouseCapture, crossterm::cursor::Show);
    ratatui::restore();
}

/// ctrl-z: gives the terminal back to the shell and stops, as a shell job does; on `fg` takes
/// the terminal again and redraws all of it.
fn suspend(terminal: &mut ratatui::DefaultTerminal) -> anyhow::Result<()> {
    restore_terminal();
    signal_hook::low_level::raise(signal_hook::consts::SIGTSTP)?;
    crossterm::terminal::enable_raw_mode()?;
    execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen, crossterm::event::EnableMouseCapture)?;
    terminal.clear()?;
    Ok(())
}

/// While the workbench owns the terminal: a panic on the draw thread restores the terminal before
/// its message is printed; a panic on a background thread prints nothing over the screen (the
/// thread catches it and reports it on the status line).
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let background = std::thread::current().name().is_some_and(|n| n.starts_with("ctxlens-"));
        if !background {
            restore_terminal();
            previous(info);
        }
    }));
}

/// Runs the workbench until the user quits.
pub fn run(launch: Launch) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let size = crossterm::terminal::size().unwrap_or((80, 24));
    let mut app = app_for(&launch, size).map_err(anyhow::Error::msg)?;
    let mut terminal = ratatui::try_init()?;
    install_panic_hook();
    let _ = execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    let result = rt.block_on(event_loop(&mut terminal, &mut app, launch.paths));
    restore_terminal();
    // ended by a signal: die of it, as the shell and a supervisor expect (status 128 + N), now
    // that the terminal is back
    if let Ok(Some(signal)) = result {
        signal_hook::low_level::emulate_default_handler(signal)?;
    }
    result.map(|_| ())
}

fn translate(e: TermEvent) -> Option<Action> {
    match e {
        TermEvent::Key(k) if k.kind != KeyEventKind::Release => Some(Action::Key(k)),
        TermEvent::Resize(w, h) => Some(Action::Resize(w, h)),
        TermEvent::Mouse(m) => match m.kind {
            MouseEventKind::ScrollDown => Some(Action::Scroll { column: m.column, row: m.row, down: true }),
            MouseEventKind::ScrollUp => Some(Action::Scroll { column: m.column, row: m.row, down: false }),
            MouseEventKind::Down(_) => Some(Action::Click { column: m.column, row: m.row }),
            _ => None,
        },
        _ => None,
    }
}

/// Runs until the user quits (`None`) or a signal ends it (its number).
async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    paths: Vec<PathBuf>,
) -> anyhow::Result<Option<i32>> {
    let (load_tx, mut load_rx) = mpsc::unbounded_channel();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let queue = Arc::new(work::Queue::default());
    work::spawn(queue.clone(), done_tx);
    let io_tx = load_tx.clone();
    spawn_loader(paths, load_tx);
    let mut events = EventStream::new();
    // SIGTERM, SIGINT and SIGHUP end the loop like `q`, so the terminal is restored on the way out
    let signal = |kind| tokio::signal::unix::signal(kind);
    use tokio::signal::unix::SignalKind;
    let (mut term, mut int, mut hup) =
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?, signal(SignalKind::hangup())?);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut dirty = true;
    // the shortest time between frames (a 60 Hz screen shows no more)
    const FRAME: Duration = Duration::from_millis(15);
    let mut last_frame = Instant::now().checked_sub(FRAME).unwrap_or_else(Instant::now);
    loop {
        for (job, urgent) in app.settle() {
            queue.push(job, urgent);
        }
        for job in app.take_io() {
            let tx = io_tx.clone();
            // file work runs beside the draw loop; its answer comes back like a loader event
            let spawned = std::thread::Builder::new().name("ctxlens-io".into()).spawn(move || {
                let _ = tx.send(Action::IoDone(Box::new(io::run(job))));
            });
            if let Err(e) = spawned {
                app.update(Action::IoDone(Box::new(io::IoDone::Written(Err(format!("cannot start file work: {e}"))))));
            }
        }
        // at most one frame per FRAME: a paste is thousands of key events, each a change, and a
        // frame for each would take longer than the paste (the frame timer below draws the last)
        if dirty && last_frame.elapsed() >= FRAME {
            terminal.draw(|f| views::draw(f, app))?;
            dirty = false;
            last_frame = Instant::now();
        }
        if app.quit {
            return Ok(None);
        }
        if std::mem::take(&mut app.suspend) {
            suspend(terminal)?;
            dirty = true;
            continue;
        }
        tokio::select! {
            e = events.next() => match e {
                Some(Ok(e)) => if let Some(a) = translate(e) {
                    app.update(a);
                    dirty = true;
                },
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(None),
            },
            Some(a) = load_rx.recv() => {
                app.update(a);
                // take what else is waiting, but keep the screen moving on a big capture
                for _ in 0..2000 {
                    match load_rx.try_recv() {
                        Ok(a) => app.update(a),
                        Err(_) => break,
                    }
                }
                dirty = true;
            },
            Some(c) = done_rx.recv() => {
                app.update(Action::Computed(Box::new(c)));
                for _ in 0..500 {
                    match done_rx.try_recv() {
                        Ok(c) => app.update(Action::Computed(Box::new(c))),
                        Err(_) => break,
                    }
                }
                dirty = true;
            },
            _ = term.recv() => return Ok(Some(signal_hook::consts::SIGTERM)),
            _ = int.recv() => return Ok(Some(signal_hook::consts::SIGINT)),
            _ = hup.recv() => return Ok(Some(signal_hook::consts::SIGHUP)),
            _ = tokio::time::sleep_until((last_frame + FRAME).into()), if dirty => {},
            _ = tick.tick() => {
                // a spinner-free UI: only redraw on ticks while background work is showing
                if app.loading() || app.pending() {
                    dirty = true;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A loader that panics ends its source with an error the status line shows; the next source
    /// still loads, and nothing is printed over the screen.
    #[test]
    fn a_loader_panic_becomes_an_error_and_the_next_source_loads() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let paths = vec![PathBuf::from("boom.json"), PathBuf::from("fine.txt")];
        spawn_loader_with(paths, tx, |p, sink| {
            if p.ends_with("boom.json") {
                panic!("bad input in {}", p.display());
            }
            capture::load_bytes(&p.display().to_string(), b"hello\n", sink);
            Ok(())
        });
        let mut app = App::new(Options::new(PathBuf::from("."), (80, 24)));
        app.add_source("boom.json");
        app.add_source("fine.txt");
        while let Some(a) = rx.blocking_recv() {
            app.update(a);
        }
        assert!(
            app.sources[0].error.as_deref().is_some_and(|e| e.contains("the loader failed: bad input in boom.json"))
        );
        assert!(app.message.contains("loader failed"), "{}", app.message);
        assert_eq!(app.blocks.len(), 1, "the second source loaded");
    }
}
