//! The workbench state and the only way it changes: [`App::update`] with an [`Action`] (a key, a
//! loaded flow, a finished background job, a resize). Updating never compresses, counts or diffs:
//! it queues [`Job`]s, which [`App::settle`] hands to the caller, and takes their [`Computed`]
//! results back as actions. Everything here runs without a terminal, so tests drive it directly.

use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::command::{Command, KeyMap};
use super::diffview::Display;
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
}

impl BlockItem {
    pub fn label(&self) -> String {
        match (&self.tool, self.kind) {
            (Some(t), _) => format!("{} {t}", self.kind.name()),
            (None, BlockKind::Text) => format!("text {}", self.role),
            (None, k) => k.name().to_string(),
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
    /// Blocks whose counts are in (the sums are partial until this equals `blocks.len()`).
    pub counted: usize,
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
    pub display: Vec<Display>,
    pub changes: Vec<usize>,
    /// The cursor, a display index.
    pub cursor: usize,
    pub top: usize,
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
        }
    }
}

pub struct App {
    pub sources: Vec<Source>,
    pub flows: Vec<FlowItem>,
    pub blocks: Vec<BlockItem>,
    pub rows: Vec<Row>,
    pub list_sel: usize,
    pub list_top: usize,
    pub filter: Option<(String, Filter)>,
    pub sort: Sort,
    pub focus: Pane,
    pub mode: Mode,
    pub config: Arc<Config>,
    /// `config` as TOML, for reading knob values without a round trip per knob per frame.
    config_toml: toml::Table,
    pub undo: Vec<Config>,
    pub redo: Vec<Config>,
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
    /// One copy of each distinct block text (agent captures resend the whole history each request).
    texts: HashMap<u64, Vec<Arc<str>>>,
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

impl App {
    pub fn new(opts: Options) -> App {
        let (keymap, keymap_error) = match KeyMap::new(&opts.config.keys) {
            Ok(k) => (k, None),
            Err(e) => (KeyMap::new(&Default::default()).expect("default keys"), Some(e)),
        };
        App {
            sources: Vec::new(),
            flows: Vec::new(),
            blocks: Vec::new(),
            rows: Vec::new(),
            list_sel: 0,
            list_top: 0,
            filter: None,
            sort: Sort::Input,
            focus: Pane::List,
            mode: Mode::Normal,
            config_toml: toml::Table::try_from(&opts.config).unwrap_or_default(),
            config: Arc::new(opts.config),
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
            message: keymap_error.clone().unwrap_or_else(|| "? help · tab next pane · q quit".into()),
            io: Vec::new(),
            keymap,
            keymap_error,
            unavailable: None,
            totals: Totals::default(),
            size: opts.size,
            dir: opts.dir,
            quit: false,
            texts: HashMap::new(),
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

    // ---- loading ----

    /// The shared copy of `text`.
    fn intern(&mut self, text: &str) -> Arc<str> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut h);
        let same = self.texts.entry(h.finish()).or_default();
        if let Some(t) = same.iter().find(|t| ***t == *text) {
            return t.clone();
        }
        let t: Arc<str> = Arc::from(text);
        same.push(t.clone());
        t
    }

    fn add_flow(&mut self, source: usize, flow: Flow) {
        let fi = self.flows.len();
        let mut ids: Vec<usize> = Vec::new();
        for s in crate::blocks::of_flow(&flow) {
            ids.push(self.blocks.len());
            let text = self.intern(&s.block.text);
            let recorded = s.recorded.map(|r| self.intern(&r.text));
            self.blocks.push(BlockItem {
                flow: fi,
                kind: s.block.kind,
                role: s.block.role,
                tool: s.tool,
                is_error: s.block.is_error,
                text,
                recorded,
                path: s.path,
                location: s.block.location.to_string(),
                sel: EngineSel::Auto,
                stats: None,
            });
        }
        let number = self.sources[source].flows + 1;
        self.sources[source].flows += 1;
        let when = flow.timestamp.as_deref().map(|t| t.get(11..19).unwrap_or(t)).unwrap_or("");
        let model = flow.model.clone();
        let label = format!("{} {}", when, model.as_deref().unwrap_or(api_label(flow.api))).trim().to_string();
        self.flows.push(FlowItem {
            source,
            number,
            model,
            label,
            blocks: ids.clone(),
            expanded: fi < EXPANDED_FLOWS,
            tokens_in: 0,
            tokens_out: 0,
            counted: 0,
        });
        for b in ids {
            self.queue_stats(b);
        }
        self.rows_dirty = true;
        self.totals_dirty = true;
    }

    // ---- jobs ----

    fn job(&self, block: usize, detail: bool) -> Job {
        let b = &self.blocks[block];
        Job {
            block,
            generation: self.generation,
            text: b.text.clone(),
            recorded: b.recorded.clone(),
            sel: b.sel,
            compare: if detail { self.compare.filter(|c| *c != b.sel) } else { None },
            config: self.config.clone(),
            tokenizer: self.tokenizer,
            path: b.path.clone(),
            highlight: if detail { self.theme.syntax.clone() } else { None },
            detail,
        }
    }

    fn queue_stats(&mut self, block: usize) {
        let j = self.job(block, false);
        self.jobs.push((j, false));
    }

    /// Every block's counts are stale (knobs or tokenizer changed): queue them all, the rows on
    /// screen first, and ask for the view again.
    fn recount_all(&mut self) {
        self.generation += 1;
        let visible: Vec<usize> = self.visible_rows().filter_map(|r| self.row_block(r)).collect();
        for b in 0..self.blocks.len() {
            if !visible.contains(&b) {
                self.queue_stats(b);
            }
        }
        for b in visible.into_iter().rev() {
            let j = self.job(b, false);
            self.jobs.push((j, true));
        }
        self.wanted = None;
        self.message = "recompressing…".into();
    }

    /// The block the view shows: the selected block, or the first block of a selected flow.
    pub fn current(&self) -> Option<usize> {
        self.rows.get(self.list_sel).and_then(|r| self.row_block(*r))
    }

    fn row_block(&self, r: Row) -> Option<usize> {
        match r {
            Row::Block(b) => Some(b),
            Row::Flow(f) => self.flows[f].blocks.first().copied(),
        }
    }

    fn visible_rows(&self) -> impl Iterator<Item = Row> + '_ {
        let h = self.areas().inner_height(Pane::List).max(1);
        self.rows.iter().skip(self.list_top).take(h).copied()
    }

    /// Asks for the current block's diff when the view does not show what is wanted.
    fn request_view(&mut self) {
        let Some(b) = self.current() else {
            self.view = None;
            return;
        };
        let sel = self.blocks[b].sel;
        let compare = self.compare.filter(|c| *c != sel);
        let want = (b, self.generation, sel, compare);
        if self.wanted != Some(want) {
            self.wanted = Some(want);
            let j = self.job(b, true);
            self.jobs.push((j, true));
        }
    }

    /// Whether the view is behind what is wanted (a job is running).
    pub fn pending(&self) -> bool {
        match (&self.view, self.wanted) {
            (Some(v), Some((b, g, s, c))) => {
                let c2 = &v.computed;
                (c2.block, c2.generation, c2.sel, c2.compare) != (b, g, s, c)
            }
            (None, Some(_)) => true,
            _ => false,
        }
    }

    fn accept(&mut self, c: Computed) {
        if self.unavailable.is_none()
            && let Some(o) = &c.outcome
        {
            self.unavailable = o.sections.iter().find_map(|s| match &s.decision {
                Decision::Skipped { reason: Skip::Unavailable { detail } } => {
                    Some(format!("{} unavailable: {detail}", s.kind))
                }
                _ => None,
            });
        }
        let Some(block) = self.blocks.get_mut(c.block) else { return };
        if c.generation == self.generation && c.sel == block.sel {
            let new = Stats { tokens_in: c.tokens_in, tokens_out: c.tokens_out, engine: c.engine.clone() };
            let old = block.stats.replace(new.clone());
            let flow = &mut self.flows[block.flow];
            if let Some(o) = &old {
                flow.tokens_in -= o.tokens_in;
                flow.tokens_out -= o.tokens_out;
            } else {
                flow.counted += 1;
            }
            flow.tokens_in += new.tokens_in;
            flow.tokens_out += new.tokens_out;
            self.totals_dirty = true;
            if matches!(self.sort, Sort::Tokens | Sort::Saved) || self.filter.is_some() {
                self.rows_dirty = true;
            }
        }
        if !c.detail {
            return;
        }
        let Some((b, _, sel, _)) = self.wanted else { return };
        if c.block != b || c.sel != sel {
            return;
        }
        let same_block = self.view.as_ref().is_some_and(|v| v.computed.block == c.block);
        let fresh = c.generation == self.generation;
        if !fresh && same_block {
            return;
        }
        if self.message == "recompressing…" && fresh {
            self.message = c.summary.clone();
        }
        let (cursor, top, expanded) = match (&self.view, same_block) {
            (Some(v), true) => (v.cursor, v.top, v.expanded.clone()),
            _ => (0, 0, HashSet::new()),
        };
        if !same_block {
            self.ledger_sel = 0;
            self.ledger_top = 0;
        }
        let computed = Arc::new(c);
        let display = computed.diff.display(&expanded);
        let changes = computed.diff.change_starts(&display);
        let mut v = View { computed, expanded, display, changes, cursor, top };
        v.cursor = v.cursor.min(v.display.len().saturating_sub(1));
        self.view = Some(v);
        self.scroll_into_view(Pane::Diff);
    }

    // ---- derived state ----

    fn facts<'a>(&'a self, b: &'a BlockItem) -> Facts<'a> {
        Facts {
            engine: b.stats.as_ref().map(|s| s.engine.as_str()),
            role: b.role.name(),
            kind: b.kind.name(),
            tool: b.tool.as_deref(),
            model: self.flows[b.flow].model.as_deref(),
            saved: b.stats.as_ref().map(Stats::saved_pct),
            tokens: b.stats.as_ref().map(|s| s.tokens_in),
            is_error: b.is_error,
            recorded: b.recorded.is_some(),
            text: &b.text,
        }
    }

    fn passes(&self, b: usize) -> bool {
        self.filter.as_ref().is_none_or(|(_, f)| f.matches(&self.facts(&self.blocks[b])))
    }

    fn rebuild_rows(&mut self) {
        self.rows_dirty = false;
        let keep = self.rows.get(self.list_sel).copied();
        let mut rows = Vec::new();
        match self.sort {
            Sort::Input => {
                for (fi, f) in self.flows.iter().enumerate() {
                    let shown: Vec<usize> = f.blocks.iter().copied().filter(|b| self.passes(*b)).collect();
                    if shown.is_empty() && (self.filter.is_some() || !f.blocks.is_empty()) {
                        continue;
                    }
                    rows.push(Row::Flow(fi));
                    if f.expanded {
                        rows.extend(shown.into_iter().map(Row::Block));
                    }
                }
            }
            Sort::Tokens | Sort::Saved => {
                let mut bs: Vec<usize> = (0..self.blocks.len()).filter(|b| self.passes(*b)).collect();
                let key = |b: &usize| -> i64 {
                    let s = self.blocks[*b].stats.as_ref();
                    match self.sort {
                        Sort::Tokens => s.map_or(-1, |s| s.tokens_in as i64),
                        _ => s.map_or(-1, |s| s.tokens_in as i64 - s.tokens_out as i64),
                    }
                };
                bs.sort_by_key(|b| std::cmp::Reverse(key(b)));
                rows.extend(bs.into_iter().map(Row::Block));
            }
        }
        self.rows = rows;
        self.list_sel = keep
            .and_then(|k| self.rows.iter().position(|r| *r == k))
            .or_else(|| {
                // a hidden block: stay on its flow
                let Some(Row::Block(b)) = keep else { return None };
                self.rows.iter().position(|r| *r == Row::Flow(self.blocks[b].flow))
            })
            .unwrap_or(self.list_sel.min(self.rows.len().saturating_sub(1)));
        self.scroll_into_view(Pane::List);
    }

    fn recompute_totals(&mut self) {
        self.totals_dirty = false;
        let mut t = Totals { blocks: self.blocks.len(), ..Totals::default() };
        let (mut cin, mut cout) = (0.0, 0.0);
        for f in &self.flows {
            t.tokens_in += f.tokens_in;
            t.tokens_out += f.tokens_out;
            t.counted += f.counted;
            if let Some(p) = self.price_for(f) {
                t.priced_flows += 1;
                cin += prices::input_cost(p, f.tokens_in);
                cout += prices::input_cost(p, f.tokens_out);
            }
        }
        if t.priced_flows > 0 {
            t.cost = Some((cin, cout));
        }
        self.totals = t;
    }

    pub fn price_for(&self, f: &FlowItem) -> Option<&prices::Price> {
        match self.price_choice {
            Some(i) => self.prices.prices.get(i),
            None => f.model.as_deref().and_then(|m| self.prices.find(m)),
        }
    }

    pub fn price_label(&self) -> String {
        match self.price_choice {
            Some(i) => self.prices.prices.get(i).map_or_else(String::new, |p| p.id.clone()),
            None => "each flow's model".into(),
        }
    }

    /// The knobs the tuning panel lists: the current engine's table, then the router's when the
    /// router picks the engine.
    pub fn knobs(&self) -> Vec<(&'static str, &'static Knob)> {
        let Some(b) = self.current() else { return Vec::new() };
        let sel = self.blocks[b].sel;
        let engine = match sel {
            EngineSel::Recorded => return Vec::new(),
            EngineSel::Only(k) => Some(k),
            EngineSel::Auto => self
                .view
                .as_ref()
                .filter(|v| v.computed.block == b)
                .and_then(|v| v.computed.outcome.as_ref())
                .and_then(|o| o.engine.or_else(|| o.sections.first().map(|s| s.kind)))
                .or_else(|| self.blocks[b].stats.as_ref().and_then(|s| s.engine.parse::<EngineKind>().ok())),
        };
        let mut out: Vec<(&'static str, &'static Knob)> = Vec::new();
        if let Some(k) = engine {
            out.extend(table_knobs(k.name()).iter().map(|kn| (k.name(), kn)));
        }
        if sel == EngineSel::Auto {
            out.extend(table_knobs("router").iter().map(|kn| ("router", kn)));
        }
        out
    }

    /// A knob's current value (`None`: unset), from the config's TOML form kept beside it.
    pub fn knob_value(&self, table: &str, knob: &str) -> Option<&toml::Value> {
        self.config_toml.get(table)?.get(knob)
    }

    /// Replaces the config, and its TOML form the tuning panel reads on every frame.
    fn replace_config(&mut self, config: Config) {
        self.config_toml = toml::Table::try_from(&config).unwrap_or_default();
        self.config = Arc::new(config);
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
            None => self.message = format!("{} is not bound; ? lists the keys", super::command::Key::of(&k)),
        }
    }

    fn prompt_key(&mut self, k: KeyEvent) {
        let Mode::Prompt { ask, input } = &mut self.mode else { return };
        match k.code {
            KeyCode::Esc => self.mode = Mode::Normal,
            KeyCode::Enter => {
                let (ask, input) = (ask.clone(), input.clone());
                self.mode = Mode::Normal;
                self.submit(ask, input);
            }
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => input.clear(),
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
    }

    fn prompt(&mut self, ask: Ask, input: String) {
        self.mode = Mode::Prompt { ask, input };
    }

    fn run(&mut self, c: Command) {
        if let Mode::Overlay(kind, scroll) = self.mode {
            let lines = match kind {
                Overlay::Help => Command::ALL.len(),
                Overlay::Problems => self.sources.iter().map(|s| s.problems.len()).sum(),
            };
            let page = self.size.1.saturating_sub(6) as usize;
            let next = match c {
                Command::Down => scroll + 1,
                Command::Up => scroll.saturating_sub(1),
                Command::PageDown | Command::HalfDown => scroll + page,
                Command::PageUp | Command::HalfUp => scroll.saturating_sub(page),
                Command::Top => 0,
                Command::Bottom => lines,
                Command::Quit => {
                    self.quit = true;
                    return;
                }
                _ => {
                    self.mode = Mode::Normal;
                    return;
                }
            };
            self.mode = Mode::Overlay(kind, next.min(lines.saturating_sub(1)));
            return;
        }
        match c {
            Command::Quit => self.quit = true,
            Command::Back => {
                if self.search.is_some() {
                    self.search = None;
                    self.message = "search cleared".into();
                } else {
                    self.quit = true;
                }
            }
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
            Command::Search => self.prompt(Ask::Search, self.search.clone().unwrap_or_default()),
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
            Command::KnobUp => self.adjust_knob(true),
            Command::KnobDown => self.adjust_knob(false),
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

    fn page(&self, p: Pane) -> isize {
        let h = self.areas().inner_height(p);
        let h = if p == Pane::Tuning { h.saturating_sub(2) } else { h };
        h.max(1) as isize
    }

    fn len_of(&self, p: Pane) -> usize {
        match p {
            Pane::List => self.rows.len(),
            Pane::Diff => self.view.as_ref().map_or(0, |v| v.display.len()),
            Pane::Ledger => self.ledger_len(),
            Pane::Tuning => self.knobs().len(),
        }
    }

    pub fn ledger_len(&self) -> usize {
        self.view.as_ref().and_then(|v| v.computed.outcome.as_ref()).map_or(0, |o| o.ledger.drops.len())
    }

    fn move_in(&mut self, p: Pane, delta: isize) {
        let len = self.len_of(p);
        if len == 0 {
            return;
        }
        let step = |cur: usize| (cur as isize).saturating_add(delta).clamp(0, len as isize - 1) as usize;
        match p {
            Pane::List => self.list_sel = step(self.list_sel),
            Pane::Diff => {
                if let Some(v) = self.view.as_mut() {
                    v.cursor = step(v.cursor);
                }
            }
            Pane::Ledger => self.ledger_sel = step(self.ledger_sel),
            Pane::Tuning => self.knob_sel = step(self.knob_sel),
        }
        self.scroll_into_view(p);
    }

    /// Moves a pane's first visible row so its selection is on screen.
    fn scroll_into_view(&mut self, p: Pane) {
        let h = self.page(p) as usize;
        let fit = |sel: usize, top: &mut usize| {
            if sel < *top {
                *top = sel;
            } else if sel >= *top + h {
                *top = sel + 1 - h;
            }
        };
        match p {
            Pane::List => fit(self.list_sel, &mut self.list_top),
            Pane::Diff => {
                // the diff keeps a little context above the cursor when it jumps
                if let Some(v) = self.view.as_mut() {
                    let top = &mut v.top;
                    fit(v.cursor, top);
                }
            }
            Pane::Ledger => fit(self.ledger_sel, &mut self.ledger_top),
            Pane::Tuning => {}
        }
    }

    fn set_cursor(&mut self, display_idx: usize) {
        let h = self.page(Pane::Diff) as usize;
        if let Some(v) = self.view.as_mut() {
            v.cursor = display_idx.min(v.display.len().saturating_sub(1));
            if v.cursor < v.top || v.cursor >= v.top + h {
                v.top = v.cursor.saturating_sub(h / 4);
            }
        }
    }

    fn refold(&mut self) {
        if let Some(v) = self.view.as_mut() {
            let row = v.display.get(v.cursor).copied();
            v.display = v.computed.diff.display(&v.expanded);
            v.changes = v.computed.diff.change_starts(&v.display);
            let at = row.and_then(|r| match r {
                Display::Row(i) => v.display.iter().position(|d| *d == Display::Row(i)),
                Display::Fold(f) => v.display.iter().position(|d| match d {
                    Display::Row(i) => v.computed.diff.folds[f].rows.start == *i,
                    Display::Fold(g) => *g == f,
                }),
            });
            let at = at.unwrap_or(v.cursor);
            self.set_cursor(at);
        }
    }

    fn toggle(&mut self) {
        match self.focus {
            Pane::List => match self.rows.get(self.list_sel) {
                Some(Row::Flow(f)) => {
                    let f = *f;
                    self.flows[f].expanded = !self.flows[f].expanded;
                    self.rows_dirty = true;
                }
                Some(Row::Block(_)) => self.focus = Pane::Diff,
                None => {}
            },
            Pane::Diff => {
                let Some(v) = self.view.as_mut() else { return };
                match v.display.get(v.cursor) {
                    Some(Display::Fold(f)) => {
                        v.expanded.insert(*f);
                    }
                    Some(Display::Row(r)) => {
                        let r = *r;
                        if let Some(fi) = v.computed.diff.folds.iter().position(|f| f.rows.contains(&r)) {
                            v.expanded.remove(&fi);
                        }
                    }
                    None => return,
                }
                self.refold();
            }
            Pane::Ledger => self.jump_to_drop(),
            Pane::Tuning => self.edit_knob(),
        }
    }

    fn expand_all(&mut self) {
        if self.focus == Pane::List {
            let open = !self.flows.iter().all(|f| f.expanded);
            self.flows.iter_mut().for_each(|f| f.expanded = open);
            self.rows_dirty = true;
            return;
        }
        let Some(v) = self.view.as_mut() else { return };
        let n = v.computed.diff.folds.len();
        if v.expanded.len() == n {
            v.expanded.clear();
        } else {
            v.expanded = (0..n).collect();
        }
        self.refold();
    }

    fn jump_change(&mut self, forward: bool) {
        let Some(v) = self.view.as_ref() else { return };
        let target = if forward {
            v.changes.iter().copied().find(|c| *c > v.cursor)
        } else {
            v.changes.iter().rev().copied().find(|c| *c < v.cursor)
        };
        match target {
            Some(t) => {
                let n = v.changes.iter().position(|c| *c == t).unwrap_or(0) + 1;
                let total = v.changes.len();
                self.set_cursor(t);
                self.message = format!("change {n} of {total}");
            }
            None => self.message = if forward { "no later change" } else { "no earlier change" }.into(),
        }
    }

    fn row_matches(&self, r: usize, needle: &str) -> bool {
        let Some(v) = self.view.as_ref() else { return false };
        let row = &v.computed.diff.rows[r];
        [&row.left, &row.right].into_iter().flatten().any(|c| c.text().to_lowercase().contains(needle))
    }

    fn jump_search(&mut self, forward: bool) {
        let Some(needle) = self.search.clone() else { return };
        let Some(v) = self.view.as_ref() else { return };
        let rows = v.computed.diff.rows.len();
        let hits: Vec<usize> = (0..rows).filter(|r| self.row_matches(*r, &needle)).collect();
        if hits.is_empty() {
            self.message = format!("`{needle}` not found in this block");
            return;
        }
        let cur_row = match v.display.get(v.cursor) {
            Some(Display::Row(r)) => *r as isize,
            Some(Display::Fold(f)) => v.computed.diff.folds[*f].rows.start as isize - 1,
            None => -1,
        };
        let target = if forward {
            hits.iter().copied().find(|r| *r as isize > cur_row).unwrap_or(hits[0])
        } else {
            hits.iter().rev().copied().find(|r| (*r as isize) < cur_row).unwrap_or(hits[hits.len() - 1])
        };
        let n = hits.iter().position(|h| *h == target).unwrap_or(0) + 1;
        self.show_row(target);
        self.message = format!("`{needle}`: match {n} of {}", hits.len());
    }

    /// Puts the cursor on a diff row, unfolding it if needed.
    fn show_row(&mut self, row: usize) {
        let Some(v) = self.view.as_mut() else { return };
        if let Some(fi) = v.computed.diff.folds.iter().position(|f| f.rows.contains(&row)) {
            v.expanded.insert(fi);
            v.display = v.computed.diff.display(&v.expanded);
            v.changes = v.computed.diff.change_starts(&v.display);
        }
        if let Some(at) = v.display.iter().position(|d| *d == Display::Row(row)) {
            self.set_cursor(at);
        }
    }

    fn jump_to_drop(&mut self) {
        let Some(v) = self.view.as_ref() else { return };
        let Some(o) = v.computed.outcome.as_ref() else { return };
        let Some(d) = o.ledger.drops.get(self.ledger_sel) else { return };
        let rows = &v.computed.diff.rows;
        let lines = v.computed.drop_lines.as_ref().and_then(|l| l.get(self.ledger_sel)).filter(|l| l.0 > 0);
        let row = match lines {
            Some(&(first, _)) => rows.iter().position(|r| r.left.as_ref().is_some_and(|c| c.line == first)),
            // a comparison has no original side: find the marker carrying the drop's key
            None => {
                let key = &d.key.as_str()[..d.key.as_str().len().min(12)];
                rows.iter().position(|r| [&r.left, &r.right].into_iter().flatten().any(|c| c.text().contains(key)))
            }
        };
        let place = match &d.span.pointer {
            Some(p) => p.clone(),
            None => format!("lines {}–{}", d.span.lines.first, d.span.lines.last),
        };
        let message = format!("{place}: {} ({})", d.reason, d.unit.count(d.count));
        match row {
            Some(r) => {
                self.show_row(r);
                self.focus = Pane::Diff;
                self.message = message;
            }
            None => self.message = format!("{message}; not visible in this view"),
        }
    }

    fn cycle_engine(&mut self, forward: bool) {
        let Some(b) = self.current() else { return };
        let all = EngineSel::all(self.blocks[b].recorded.is_some());
        let i = all.iter().position(|s| *s == self.blocks[b].sel).unwrap_or(0);
        let n = all.len();
        let next = all[if forward { (i + 1) % n } else { (i + n - 1) % n }];
        self.set_engine(b, next);
    }

    fn set_engine(&mut self, b: usize, sel: EngineSel) {
        self.blocks[b].sel = sel;
        self.knob_sel = 0;
        let old = self.blocks[b].stats.take();
        if let Some(o) = old {
            let f = &mut self.flows[self.blocks[b].flow];
            f.tokens_in -= o.tokens_in;
            f.tokens_out -= o.tokens_out;
            f.counted -= 1;
            self.totals_dirty = true;
        }
        self.queue_stats(b);
        self.message = format!("block {}: engine {}", b + 1, sel.label());
    }

    fn cycle_compare(&mut self) {
        let Some(b) = self.current() else { return };
        let sel = self.blocks[b].sel;
        let all: Vec<EngineSel> =
            EngineSel::all(self.blocks[b].recorded.is_some()).into_iter().filter(|s| *s != sel).collect();
        self.compare = match self.compare {
            None => all.first().copied(),
            Some(c) => all.iter().position(|s| *s == c).and_then(|i| all.get(i + 1)).copied(),
        };
        self.message = match self.compare {
            Some(c) => format!("comparing {} | {}", sel.label(), c.label()),
            None => "compare off".into(),
        };
    }

    fn cycle_theme(&mut self) {
        if self.themes.is_empty() {
            return;
        }
        let i = self.themes.iter().position(|t| *t == self.theme.name).map_or(0, |i| (i + 1) % self.themes.len());
        match Theme::choose(&self.themes[i]) {
            Ok(t) => {
                self.theme = t;
                self.wanted = None;
                self.message = format!("theme {}", self.theme.name);
            }
            Err(e) => self.message = e,
        }
    }

    // ---- knobs ----

    fn set_config(&mut self, config: Config, why: String) {
        if config == *self.config {
            self.message = format!("{why} (no change)");
            return;
        }
        self.undo.push((*self.config).clone());
        self.redo.clear();
        self.replace_config(config);
        self.recount_all();
        self.message = why;
    }

    fn assign(&mut self, table: &str, knob: &str, literal: &str) {
        let mut c = (*self.config).clone();
        match c.set(&format!("{table}.{knob}={literal}")) {
            Ok(()) => self.set_config(c, format!("{table}.{knob} = {literal}")),
            Err(e) => self.message = e.to_string(),
        }
    }

    fn selected_knob(&self) -> Option<(&'static str, &'static Knob)> {
        self.knobs().into_iter().nth(self.knob_sel)
    }

    fn adjust_knob(&mut self, up: bool) {
        let Some((table, k)) = self.selected_knob() else {
            self.message = "no knobs here: pick an engine with m".into();
            return;
        };
        match self.knob_value(table, &k.name).and_then(|v| step(k, v, up)) {
            Some(lit) => self.assign(table, &k.name, &lit),
            None => self.edit_knob(),
        }
    }

    fn edit_knob(&mut self) {
        let Some((table, k)) = self.selected_knob() else { return };
        let v = self.knob_value(table, &k.name);
        if let Some(toml::Value::Boolean(b)) = v {
            let flipped = (!b).to_string();
            self.assign(table, &k.name, &flipped);
            return;
        }
        let cur = v.map(|v| v.to_string()).unwrap_or_default();
        self.prompt(Ask::Knob(table.to_string(), k.name.clone()), cur);
    }

    fn undo_redo(&mut self, undo: bool) {
        let (from, to) = if undo { (&mut self.undo, &mut self.redo) } else { (&mut self.redo, &mut self.undo) };
        let Some(c) = from.pop() else {
            self.message = if undo { "nothing to undo" } else { "nothing to redo" }.into();
            return;
        };
        to.push((*self.config).clone());
        self.replace_config(c);
        self.recount_all();
        self.message = if undo { "undone" } else { "redone" }.into();
    }

    // ---- prompts ----

    fn path(&self, input: &str) -> PathBuf {
        let p = Path::new(input.trim());
        if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) }
    }

    fn submit(&mut self, ask: Ask, input: String) {
        match ask {
            Ask::Filter => {
                if input.trim().is_empty() {
                    self.filter = None;
                    self.message = "filter cleared".into();
                } else {
                    match filter::parse(&input) {
                        Ok(f) => {
                            self.filter = Some((input.clone(), f));
                            self.message = format!("filter: {input}");
                        }
                        Err(e) => {
                            self.message = format!("bad filter: {e}");
                            self.prompt(Ask::Filter, input);
                            return;
                        }
                    }
                }
                self.list_sel = 0;
                self.list_top = 0;
                self.rows_dirty = true;
            }
            Ask::Search => {
                let needle = input.trim().to_lowercase();
                self.search = (!needle.is_empty()).then_some(needle);
                if self.search.is_some() {
                    self.focus = Pane::Diff;
                    self.jump_search(true);
                }
            }
            Ask::Knob(table, knob) => self.assign(&table, &knob, input.trim()),
            Ask::Export => {
                let path = self.path(&input);
                self.file_work(IoJob::Export { path, config: self.config.clone() });
            }
            Ask::Import => {
                let path = self.path(&input);
                self.file_work(IoJob::Import { path });
            }
            Ask::WriteBlock => {
                let path = self.path(&input);
                let Some(v) = self.view.as_ref().filter(|_| !self.pending()) else {
                    self.message = "the block is still being compressed; try again".into();
                    return;
                };
                let (text, label) = (v.computed.output.clone(), v.computed.sel.label());
                self.file_work(IoJob::Write { path, text, label });
            }
        }
    }

    /// Queues file work for the event loop (see [`Self::take_io`]).
    fn file_work(&mut self, job: IoJob) {
        self.message = "working…".into();
        self.io.push(job);
    }

    /// The file work waiting to run; its results come back as [`Action::IoDone`].
    pub fn take_io(&mut self) -> Vec<IoJob> {
        std::mem::take(&mut self.io)
    }

    fn io_done(&mut self, done: IoDone) {
        match done {
            IoDone::Exported(r) => {
                self.message = r.map_or_else(|e| e, |files| format!("wrote {}", files.join(", ")));
            }
            IoDone::Imported(path, Ok(c)) => {
                if let Err(e) = KeyMap::new(&c.keys).map(|k| self.keymap = k) {
                    self.message = e;
                    return;
                }
                self.set_config(*c, format!("loaded {}", path.display()));
            }
            IoDone::Imported(_, Err(e)) => self.message = e,
            IoDone::Written(r) => self.message = r.unwrap_or_else(|e| e),
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

/// The next value of a knob one step up or down, as a TOML literal (`None`: it needs typing).
pub fn step(k: &Knob, v: &toml::Value, up: bool) -> Option<String> {
    let clamp = |x: f64| {
        let x = k.minimum.map_or(x, |m| x.max(m));
        k.maximum.map_or(x, |m| x.min(m))
    };
    match v {
        toml::Value::Boolean(b) => Some((!b).to_string()),
        toml::Value::Integer(i) => {
            let mag = (i.abs() / 10).max(1);
            let p = 10i64.pow(mag.ilog10());
            let s = mag / p * p;
            let n = if up { i + s } else { i - s };
            Some((clamp(n as f64) as i64).to_string())
        }
        toml::Value::Float(f) => {
            let s = if k.maximum.is_some_and(|m| m <= 1.0) || f.abs() <= 1.0 { 0.05 } else { f.abs() * 0.1 };
            let n = clamp(if up { f + s } else { f - s });
            let n = (n * 1e4).round() / 1e4;
            Some(if n.fract() == 0.0 { format!("{n:.1}") } else { n.to_string() })
        }
        toml::Value::String(s) if !k.choices.is_empty() => {
            let i = k.choices.iter().position(|c| c == s).unwrap_or(0);
            let n = k.choices.len();
            let next = &k.choices[if up { (i + 1) % n } else { (i + n - 1) % n }];
            Some(toml::Value::String(next.clone()).to_string())
        }
        _ => None,
    }
}
