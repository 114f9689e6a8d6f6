//! The workbench state and the only way it changes: [`App::update`] with an [`Action`] (a key, a
//! loaded flow, a finished background job, a resize). Updating never compresses, counts or diffs:
//! it queues [`Job`]s, which [`App::settle`] hands to the caller, and takes their [`Computed`]
//! results back as actions; file work goes out the same way ([`App::take_io`]). Everything here
//! runs without a terminal, so tests drive it directly.
//!
//! This file holds the types and the dispatch (`update`, keys, commands); the methods behind them
//! live by concern in catalog (loading), jobs, list (rows, totals), view (moving around), tuning
//! (knobs) and prompt.

mod catalog;
mod jobs;
mod list;
mod prompt;
mod tuning;
mod view;

pub use tuning::step;

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::command::{Command, KeyMap};
use super::diffview::{Display, Layout, Mark};
use super::filter::{self, Facts, Filter};
use super::io::{IoDone, IoJob};
use super::layout::{Areas, Pane, layout};
use super::prices::{self, PriceBook};
use super::theme::Theme;
use super::work::{Computed, EngineSel, Job};
use crate::capture::{self, BlockKind, Event, Flow, Format, Problem, Role};
use crate::config::{Config, table_knobs};
use crate::engine::{EngineKind, Knob};
use crate::outcome::{Decision, Skip};
use crate::tokens::Tokenizer;

/// Something that changes the state.
#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    Run(Command),
    /// Mouse wheel over a cell.
    Scroll {
        column: u16,
        row: u16,
        down: bool,
    },
    /// A click on a cell (selects a row of the flow list).
    Click {
        column: u16,
        row: u16,
    },
    Resize(u16, u16),
    /// An event from loading source number `.0`.
    Load(usize, Event),
    /// Source `.0` finished loading (or could not be read).
    Loaded(usize, Result<(), String>),
    Computed(Box<Computed>),
    /// File work asked for by an earlier action came to this.
    IoDone(Box<IoDone>),
}

/// Counts of one block under its current engine and knobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub engine: String,
    /// The retention score of the output (1 when nothing that matters was lost).
    pub retention: Option<f64>,
    /// Audit mode: the tokens ctxlens's own engines leave (beside the recorded compressor's).
    pub ours_out: Option<usize>,
    /// Lines of the original the output lost with no marker saying so.
    pub silent: Option<usize>,
}

impl Stats {
    pub fn saved_pct(&self) -> f64 {
        crate::tokens::saved_percent(self.tokens_in, self.tokens_out)
    }
}

/// One block of one flow, as the workbench holds it.
#[derive(Debug, Clone)]
pub struct BlockItem {
    pub flow: usize,
    pub kind: BlockKind,
    pub role: Role,
    pub tool: Option<String>,
    pub is_error: bool,
    pub text: Arc<str>,
    /// What the capture says was actually sent for this block (Headroom's compressed_messages).
    pub recorded: Option<Arc<str>>,
    /// A file path the block came from (the tool call's `file_path`), for the code engine.
    pub path: Option<String>,
    pub location: String,
    pub sel: EngineSel,
    pub stats: Option<Stats>,
    /// Not in an earlier request of its capture (agent captures resend the whole history).
    pub new: bool,
    /// Part of the model's answer, not of the request: shown, never added to the request's totals.
    pub response: bool,
}

impl BlockItem {
    pub fn label(&self) -> String {
        let answer = if self.response { "← " } else { "" };
        match (&self.tool, self.kind) {
            (Some(t), _) => format!("{answer}{} {t}", self.kind.name()),
            (None, BlockKind::Text) => format!("{answer}text {}", self.role),
            (None, k) => format!("{answer}{}", k.name()),
        }
    }
}

/// One flow (API request).
#[derive(Debug, Clone)]
pub struct FlowItem {
    pub source: usize,
    pub number: usize,
    pub model: Option<String>,
    pub label: String,
    pub blocks: Vec<usize>,
    pub expanded: bool,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// Audit mode: the sums of the blocks' [`Stats::ours_out`] and [`Stats::silent`].
    pub ours_out: usize,
    pub silent: usize,
    /// Blocks whose counts are in (the sums are partial until this equals `blocks.len()`).
    pub counted: usize,
    /// Tokens of the request the provider read from its prompt cache and wrote to it, as the
    /// capture's usage says (0 when it does not).
    pub cache: (usize, usize),
}

impl FlowItem {
    /// Adds a block's counts to the flow's sums, or takes them out. The model's answer is counted
    /// as in but not summed: the sums are the request's.
    pub(super) fn tally(&mut self, s: &Stats, response: bool, add: bool) {
        if add {
            self.counted += 1;
        } else {
            self.counted -= 1;
        }
        if response {
            return;
        }
        let apply = |sum: &mut usize, n: usize| *sum = if add { *sum + n } else { *sum - n };
        apply(&mut self.tokens_in, s.tokens_in);
        apply(&mut self.tokens_out, s.tokens_out);
        apply(&mut self.ours_out, s.ours_out.unwrap_or(s.tokens_out));
        apply(&mut self.silent, s.silent.unwrap_or(0));
    }
}

/// A loaded (or loading) capture.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub name: String,
    pub format: Option<Format>,
    pub flows: usize,
    pub problems: Vec<Problem>,
    pub redacted: usize,
    pub done: bool,
    pub error: Option<String>,
}

/// A row of the flow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    Flow(usize),
    Block(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Flows in input order, their blocks beneath.
    Input,
    /// Every block, most tokens first.
    Tokens,
    /// Every block, most tokens saved first.
    Saved,
}

impl Sort {
    pub fn name(self) -> &'static str {
        match self {
            Sort::Input => "input order",
            Sort::Tokens => "most tokens",
            Sort::Saved => "most saved",
        }
    }
}

/// What a prompt line is asking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Filter,
    Search,
    Export,
    Import,
    WriteBlock,
    /// A new value for `table.knob`.
    Knob(String, String),
}

impl Ask {
    pub fn label(&self) -> String {
        match self {
            Ask::Filter => "filter".into(),
            Ask::Search => "search".into(),
            Ask::Export => "export config to".into(),
            Ask::Import => "import config from".into(),
            Ask::WriteBlock => "write output to".into(),
            Ask::Knob(t, k) => format!("{t}.{k} ="),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
    Problems,
    /// The original behind a marker ([`App::retrieved`]).
    Original,
    /// The verdicts of ctxlens's claims on the loaded blocks ([`App::claims`]); the number is
    /// the selected claim.
    Claims,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Overlay(Overlay, usize),
    Prompt { ask: Ask, input: String },
}

/// The diff of the block on screen and where the reader is in it.
#[derive(Debug, Clone)]
pub struct View {
    pub computed: Arc<Computed>,
    pub expanded: HashSet<usize>,
    pub display: Layout,
    pub changes: Vec<usize>,
    /// The cursor, a display index.
    pub cursor: usize,
    pub top: usize,
    /// Where the last jump to a mark left the cursor: a cursor on the top line that no jump put
    /// there has not seen the first mark yet.
    pub landed: Option<usize>,
}

/// Token and cost totals over every flow.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Totals {
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub blocks: usize,
    pub counted: usize,
    /// USD before and after, over the flows that have a price.
    pub cost: Option<(f64, f64)>,
    pub priced_flows: usize,
}

/// What the workbench starts with.
pub struct Options {
    pub config: Config,
    pub tokenizer: Tokenizer,
    pub theme: Theme,
    /// Themes `T` cycles through (built-in names and files).
    pub themes: Vec<String>,
    pub prices: PriceBook,
    /// Where exported files go when a prompt gets a relative path.
    pub dir: PathBuf,
    pub size: (u16, u16),
    /// Headroom's CCR store, to resolve a recorded compression's markers.
    pub ccr: Option<Arc<crate::store::headroom::HeadroomStore>>,
    /// ctxlens's store, when `[store] enabled` is set.
    pub keeper: Option<Arc<crate::tui::work::Keeper>>,
    /// The real Headroom through the bridge: `m` offers it as an engine, `c` compares with it.
    pub headroom: Option<Arc<crate::bridge::Shared>>,
}

impl Options {
    /// The defaults a launch without flags gets (default knobs, o200k, the dark theme, the shipped
    /// prices), writing exports to `dir`.
    pub fn new(dir: PathBuf, size: (u16, u16)) -> Options {
        Options {
            config: Config::default(),
            tokenizer: Tokenizer::O200k,
            theme: Theme::named("dark").unwrap_or_else(Theme::monochrome),
            themes: Vec::new(),
            prices: PriceBook::shipped(),
            dir,
            size,
            ccr: None,
            keeper: None,
            headroom: None,
        }
    }
}

pub struct App {
    pub sources: Vec<Source>,
    pub flows: Vec<FlowItem>,
    pub blocks: Vec<BlockItem>,
    pub rows: Vec<Row>,
    /// Per flow, the first of its blocks the list shows (built with `rows`; what a flow row shows).
    first_shown: Vec<Option<usize>>,
    pub list_sel: usize,
    pub list_top: usize,
    pub filter: Option<(String, Filter)>,
    pub sort: Sort,
    pub focus: Pane,
    pub mode: Mode,
    pub config: Arc<Config>,
    /// What jobs remember between runs (engine memo, runs, counts, layouts), shared by all.
    caches: Arc<super::work::Caches>,
    /// `config` as TOML, for reading knob values without a round trip per knob per frame.
    config_toml: toml::Table,
    pub undo: Vec<Config>,
    pub redo: Vec<Config>,
    /// The knobs as launched, last imported or last exported: quitting with others asks first.
    saved: Arc<Config>,
    /// An export on its way (it becomes `saved` when written).
    exporting: Option<Arc<Config>>,
    /// The last command was a quit that asked first; another quit now quits.
    quit_armed: bool,
    pub tokenizer: Tokenizer,
    pub generation: u64,
    pub view: Option<View>,
    /// The block the view should show (what was last asked of the worker).
    pub wanted: Option<(usize, u64, EngineSel, Option<EngineSel>)>,
    pub unified: bool,
    /// Columns the diff's text is scrolled right by.
    pub hscroll: usize,
    pub compare: Option<EngineSel>,
    pub ledger_sel: usize,
    pub ledger_top: usize,
    pub knob_sel: usize,
    pub search: Option<String>,
    pub prices: PriceBook,
    /// `None`: each flow's own model; `Some(i)`: `prices.prices[i]` for every flow.
    pub price_choice: Option<usize>,
    pub theme: Theme,
    pub themes: Vec<String>,
    pub keymap: KeyMap,
    pub keymap_error: Option<String>,
    pub message: String,
    /// File work asked for and not yet handed to the event loop.
    io: Vec<IoJob>,
    /// Why an engine could not run at all (the prose model or its runtime is missing), with the
    /// command that fixes it; shown on the title line until it is fixed.
    pub unavailable: Option<String>,
    pub totals: Totals,
    pub size: (u16, u16),
    pub dir: PathBuf,
    pub quit: bool,
    /// Asked to stop as a shell job: the event loop gives the terminal back, stops, and on `fg`
    /// takes it again.
    pub suspend: bool,
    /// One copy of each distinct block text (agent captures resend the whole history each request).
    texts: HashMap<u64, Vec<Arc<str>>>,
    /// Per (shared text, source): the flow it first appeared in.
    first_seen: HashMap<(usize, usize), usize>,
    /// The block whose engine was just chosen: listed even when the filter would now hide it.
    pinned: Option<usize>,
    /// Audit mode: blocks with a recorded compression show it against the original, with
    /// ctxlens's counts and the silent losses beside it.
    pub audit: bool,
    /// The list shows only the blocks new in each request.
    pub new_only: bool,
    /// Headroom's CCR store, when its workspace was given or found beside the capture.
    pub ccr: Option<Arc<crate::store::headroom::HeadroomStore>>,
    /// Blocks with a recorded compression (the only ones whose markers the CCR store resolves).
    pub recordings: usize,
    /// ctxlens's store, when `[store] enabled` is set: every output's drops are kept there.
    pub keeper: Option<Arc<crate::tui::work::Keeper>>,
    /// The real Headroom through the bridge, when a Python for it was given or found.
    pub headroom: Option<Arc<crate::bridge::Shared>>,
    /// What the last retrieve showed: a title and the original text.
    pub retrieved: Option<(String, Arc<str>)>,
    /// The last claims check's report.
    pub claims: Option<Arc<crate::audit::Report>>,
    /// By sample name, the block each sample of the last claims check is.
    claim_blocks: HashMap<String, usize>,
    /// A claims check is running on the io thread.
    pub claims_running: bool,
    /// The claims checked are Headroom's, on the real Headroom (else ctxlens's, on ours).
    pub claims_headroom: bool,
    rows_dirty: bool,
    totals_dirty: bool,
    jobs: Vec<(Job, bool)>,
}

/// Flows beyond this many start collapsed in the list.
const EXPANDED_FLOWS: usize = 50;

/// `12,345`-style or `12.3k`-style token count.
pub fn tokens_label(n: usize) -> String {
    match n {
        0..=9_999 => {
            let s = n.to_string();
            if s.len() > 3 { format!("{},{}", &s[..s.len() - 3], &s[s.len() - 3..]) } else { s }
        }
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}

/// The change from `before` to `after` tokens: `-81%`; in tokens (`+3 tok`) when the percentage
/// would round to 0 but the count moved; `0%` when it did not.
pub fn change_label(before: usize, after: usize) -> String {
    let pct = -crate::tokens::saved_percent(before, after);
    if before == after {
        "0%".into()
    } else if pct.abs() < 0.5 || before == 0 {
        format!("{:+} tok", after as i64 - before as i64)
    } else {
        format!("{pct:+.0}%")
    }
}

impl App {
    pub fn new(opts: Options) -> App {
        let (keymap, keymap_error) = match KeyMap::new(&opts.config.keys) {
            Ok(k) => (k, None),
            Err(e) => (KeyMap::new(&Default::default()).expect("default keys"), Some(e.to_string())),
        };
        App {
            sources: Vec::new(),
            flows: Vec::new(),
            blocks: Vec::new(),
            rows: Vec::new(),
            first_shown: Vec::new(),
            list_sel: 0,
            list_top: 0,
            filter: None,
            sort: Sort::Input,
            focus: Pane::List,
            mode: Mode::Normal,
            config_toml: toml::Table::try_from(&opts.config).unwrap_or_default(),
            saved: Arc::new(opts.config.clone()),
            exporting: None,
            quit_armed: false,
            config: Arc::new(opts.config),
            caches: Default::default(),
            undo: Vec::new(),
            redo: Vec::new(),
            tokenizer: opts.tokenizer,
            generation: 1,
            view: None,
            wanted: None,
            unified: false,
            hscroll: 0,
            compare: None,
            ledger_sel: 0,
            ledger_top: 0,
            knob_sel: 0,
            search: None,
            prices: opts.prices,
            price_choice: None,
            theme: opts.theme,
            themes: opts.themes,
            message: keymap_error.clone().unwrap_or_else(|| {
                // Headroom's CCR store is named once a recording it can resolve is loaded
                match opts.keeper.as_ref() {
                    None => "? help · tab next pane · q quit".into(),
                    Some(k) => format!("keeping drops in {} · ? help · q quit", k.store.location),
                }
            }),
            io: Vec::new(),
            keymap,
            keymap_error,
            unavailable: None,
            totals: Totals::default(),
            size: opts.size,
            dir: opts.dir,
            quit: false,
            suspend: false,
            texts: HashMap::new(),
            first_seen: HashMap::new(),
            pinned: None,
            audit: false,
            recordings: 0,
            new_only: false,
            ccr: opts.ccr,
            keeper: opts.keeper,
            headroom: opts.headroom,
            retrieved: None,
            claims: None,
            claim_blocks: HashMap::new(),
            claims_running: false,
            claims_headroom: false,
            rows_dirty: true,
            totals_dirty: true,
            jobs: Vec::new(),
        }
    }

    /// Registers a source about to load; returns its number for [`Action::Load`].
    pub fn add_source(&mut self, name: &str) -> usize {
        self.sources.push(Source { name: name.to_string(), ..Source::default() });
        self.sources.len() - 1
    }

    pub fn areas(&self) -> Areas {
        layout(Rect::new(0, 0, self.size.0, self.size.1), self.focus)
    }

    pub fn loading(&self) -> bool {
        self.sources.iter().any(|s| !s.done)
    }

    /// Jobs queued since the last call, after bringing derived state (rows, totals, the view's
    /// request) up to date. The caller runs them (a worker thread; tests run them inline).
    pub fn settle(&mut self) -> Vec<(Job, bool)> {
        if self.rows_dirty {
            self.rebuild_rows();
        }
        if self.totals_dirty {
            self.recompute_totals();
        }
        self.request_view();
        std::mem::take(&mut self.jobs)
    }

    // ---- actions ----

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Key(k) => self.key(k),
            Action::Run(c) => self.run(c),
            Action::Scroll { column, row, down } => {
                if let Some(p) = self.areas().pane_at(column, row) {
                    self.move_in(p, if down { 3 } else { -3 });
                }
            }
            Action::Click { column, row } => {
                let a = self.areas();
                if let Some(p) = a.pane_at(column, row) {
                    self.focus = p;
                    if p == Pane::List {
                        let r = a.list.map_or(0, |r| row.saturating_sub(r.y + 1)) as usize;
                        let idx = self.list_top + r;
                        if idx < self.rows.len() {
                            self.list_sel = idx;
                        }
                    }
                }
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                for p in Pane::ALL {
                    self.scroll_into_view(p);
                }
            }
            Action::Load(s, e) => match e {
                Event::Format(f) => self.sources[s].format = Some(f),
                Event::Flow(f) => self.add_flow(s, *f),
                Event::Problem(p) => self.sources[s].problems.push(p),
                Event::Redacted(n) => self.sources[s].redacted += n,
            },
            Action::Loaded(s, r) => {
                self.sources[s].done = true;
                if let Err(e) = r {
                    self.message = e.clone();
                    self.sources[s].error = Some(e);
                }
            }
            Action::Computed(c) => self.accept(*c),
            Action::IoDone(d) => self.io_done(*d),
        }
    }

    fn key(&mut self, k: KeyEvent) {
        if let Mode::Prompt { .. } = self.mode {
            self.prompt_key(k);
            return;
        }
        match self.keymap.command(&k) {
            Some(c) => self.run(c),
            None => {
                self.quit_armed = false;
                self.message = format!("{} is not bound; ? lists the keys", super::command::Key::of(&k))
            }
        }
    }

    /// Quits, unless knobs were tuned and not exported: then says so, and the next quit quits.
    fn ask_quit(&mut self, armed: bool) {
        if armed || *self.config == *self.saved {
            self.quit = true;
            return;
        }
        self.quit_armed = true;
        let q = self.keymap.key_for(Command::Quit).unwrap_or_else(|| "q".into());
        let e = self.keymap.key_for(Command::Export).unwrap_or_else(|| "e".into());
        self.message = format!("the tuned knobs are not exported: {q} again quits without them, {e} exports them");
    }

    /// `h`, `l`, `←`, `→`, `+`, `-`: they turn a knob only in the knobs pane; in the flow list
    /// they open and close flows, in the diff they scroll sideways.
    fn knob_key(&mut self, up: bool) {
        match self.focus {
            Pane::Tuning => self.adjust_knob(up),
            Pane::Diff => self.run(if up { Command::ScrollRight } else { Command::ScrollLeft }),
            Pane::List => match self.rows.get(self.list_sel).copied() {
                Some(Row::Flow(f)) if self.flows[f].expanded != up => {
                    self.flows[f].expanded = up;
                    self.rows_dirty = true;
                }
                Some(Row::Block(b)) if !up && self.sort == Sort::Input => {
                    let f = self.blocks[b].flow;
                    if let Some(i) = self.rows.iter().position(|r| *r == Row::Flow(f)) {
                        self.list_sel = i;
                        self.scroll_into_view(Pane::List);
                    }
                }
                _ => {}
            },
            Pane::Ledger => {
                let k = self.keymap.key_for(Command::FocusKnobs).unwrap_or_else(|| "tab".into());
                self.message = format!("knobs turn in the knobs pane ({k})");
            }
        }
    }

    fn run(&mut self, c: Command) {
        if let Mode::Overlay(kind, scroll) = self.mode {
            let lines = match kind {
                Overlay::Help => Command::ALL.len(),
                Overlay::Problems => self.sources.iter().map(|s| s.problems.len()).sum(),
                Overlay::Original => self.retrieved.as_ref().map_or(0, |(_, t)| t.lines().count()),
                Overlay::Claims => self.claims.as_ref().map_or(0, |r| r.verdicts.len()),
            };
            if kind == Overlay::Claims && c == Command::Toggle {
                self.jump_to_evidence(scroll);
                return;
            }
            if kind == Overlay::Claims && c == Command::NextEngine {
                self.mode = Mode::Normal;
                self.check_claims(!self.claims_headroom);
                return;
            }
            let page = self.size.1.saturating_sub(6) as usize;
            let next = match c {
                Command::Down => scroll + 1,
                Command::Up => scroll.saturating_sub(1),
                Command::PageDown | Command::HalfDown => scroll + page,
                Command::PageUp | Command::HalfUp => scroll.saturating_sub(page),
                Command::Top => 0,
                Command::Bottom => lines,
                _ => {
                    self.mode = Mode::Normal;
                    return;
                }
            };
            self.mode = Mode::Overlay(kind, next.min(lines.saturating_sub(1)));
            return;
        }
        let armed = std::mem::take(&mut self.quit_armed);
        match c {
            Command::Quit => self.ask_quit(armed),
            Command::Suspend => self.suspend = true,
            Command::Back => {
                if self.search.is_some() {
                    self.search = None;
                    self.message = "search cleared".into();
                } else if self.focus != Pane::List {
                    self.focus = Pane::List;
                } else {
                    self.message = "q quits (esc never does)".into();
                }
            }
            Command::FocusFlows => self.focus = Pane::List,
            Command::FocusDiff => self.focus = Pane::Diff,
            Command::FocusLedger => self.focus = Pane::Ledger,
            Command::FocusKnobs => self.focus = Pane::Tuning,
            Command::Help => self.mode = Mode::Overlay(Overlay::Help, 0),
            Command::Problems => self.mode = Mode::Overlay(Overlay::Problems, 0),
            Command::Down => self.move_in(self.focus, 1),
            Command::Up => self.move_in(self.focus, -1),
            Command::Top => self.move_in(self.focus, isize::MIN / 2),
            Command::Bottom => self.move_in(self.focus, isize::MAX / 2),
            Command::HalfDown => self.move_in(self.focus, self.page(self.focus) / 2),
            Command::HalfUp => self.move_in(self.focus, -(self.page(self.focus) / 2)),
            Command::PageDown => self.move_in(self.focus, self.page(self.focus)),
            Command::PageUp => self.move_in(self.focus, -self.page(self.focus)),
            Command::NextPane | Command::PrevPane => {
                let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = Pane::ALL.len();
                self.focus = Pane::ALL[if c == Command::NextPane { (i + 1) % n } else { (i + n - 1) % n }];
            }
            Command::Toggle => self.toggle(),
            Command::ExpandAll => self.expand_all(),
            Command::ScrollRight => self.hscroll += 20,
            Command::ScrollLeft => self.hscroll = self.hscroll.saturating_sub(20),
            Command::NextChange => self.jump_change(true),
            Command::PrevChange => self.jump_change(false),
            // a new search starts empty (n and N repeat the last one)
            Command::Search => self.prompt(Ask::Search, String::new()),
            Command::SearchNext | Command::SearchPrev => {
                let fwd = c == Command::SearchNext;
                if self.search.is_some() { self.jump_search(fwd) } else { self.jump_change(fwd) }
            }
            Command::Unified => {
                self.unified = !self.unified;
                self.message = if self.unified { "unified view" } else { "side-by-side view" }.into();
            }
            Command::NextEngine | Command::PrevEngine => self.cycle_engine(c == Command::NextEngine),
            Command::Compare => self.cycle_compare(),
            Command::Audit => self.toggle_audit(),
            Command::Claims => self.check_claims(self.claims_headroom),
            Command::Retrieve => self.retrieve(),
            Command::NextSilent | Command::PrevSilent => self.jump_silent(c == Command::NextSilent),
            Command::NewOnly => {
                self.new_only = !self.new_only;
                self.rows_dirty = true;
                self.message = if self.new_only {
                    "only the blocks new in each request".into()
                } else {
                    "every block of every request".into()
                };
            }
            Command::Filter => {
                let cur = self.filter.as_ref().map(|(s, _)| s.clone()).unwrap_or_default();
                self.prompt(Ask::Filter, cur)
            }
            Command::Sort => {
                self.sort = match self.sort {
                    Sort::Input => Sort::Tokens,
                    Sort::Tokens => Sort::Saved,
                    Sort::Saved => Sort::Input,
                };
                self.message = format!("sorted by {}", self.sort.name());
                self.rows_dirty = true;
            }
            Command::KnobUp | Command::KnobDown => self.knob_key(c == Command::KnobUp),
            Command::Undo => self.undo_redo(true),
            Command::Redo => self.undo_redo(false),
            Command::Tokenizer => {
                self.tokenizer = match self.tokenizer {
                    Tokenizer::O200k => Tokenizer::Cl100k,
                    Tokenizer::Cl100k => Tokenizer::O200k,
                };
                self.recount_all();
                self.message = format!("tokenizer {}: recounting…", self.tokenizer.short_name());
            }
            Command::PriceModel => {
                let n = self.prices.prices.len();
                self.price_choice = match self.price_choice {
                    None if n > 0 => Some(0),
                    Some(i) if i + 1 < n => Some(i + 1),
                    _ => None,
                };
                self.totals_dirty = true;
                self.message = format!("cost at {} ({})", self.price_label(), self.prices.provenance);
            }
            Command::Export => self.prompt(Ask::Export, "ctxlens.toml".into()),
            Command::Import => self.prompt(Ask::Import, "ctxlens.toml".into()),
            Command::WriteBlock => match self.current() {
                Some(b) => {
                    let name = format!("block-{}.{}.txt", b + 1, self.blocks[b].sel.label());
                    self.prompt(Ask::WriteBlock, name)
                }
                None => self.message = "no block to write".into(),
            },
            Command::Theme => self.cycle_theme(),
        }
    }

    /// Number of problems over every source.
    pub fn problems(&self) -> usize {
        self.sources.iter().map(|s| s.problems.len()).sum()
    }
}

fn api_label(api: capture::Api) -> &'static str {
    match api {
        capture::Api::AnthropicMessages => "anthropic",
        capture::Api::OpenAiChat => "openai chat",
        capture::Api::OpenAiResponses => "openai responses",
        capture::Api::Transcript => "transcript",
        capture::Api::Files => "files",
        capture::Api::Unknown => "request",
    }
}
