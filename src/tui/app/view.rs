//! Moving around: cursors and scrolling per pane, folds, jumps between changes, search
//! matches and dropped spans, and the engine, comparison and theme shown.

use super::*;

impl App {
    pub(super) fn page(&self, p: Pane) -> isize {
        let h = self.areas().inner_height(p);
        let h = if p == Pane::Tuning { h.saturating_sub(2) } else { h };
        h.max(1) as isize
    }

    pub(super) fn len_of(&self, p: Pane) -> usize {
        match p {
            Pane::List => self.rows.len(),
            Pane::Diff => self.view.as_ref().map_or(0, |v| v.display.len()),
            Pane::Ledger => self.ledger_len(),
            Pane::Tuning => self.knobs().len(),
        }
    }

    /// Rows of the ledger pane: the engine's drops, or a recorded compression's Headroom markers.
    pub fn ledger_len(&self) -> usize {
        self.view
            .as_ref()
            .map_or(0, |v| v.computed.outcome.as_ref().map_or(v.computed.ccr.len(), |o| o.ledger.drops.len()))
    }

    pub(super) fn move_in(&mut self, p: Pane, delta: isize) {
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
    pub(super) fn scroll_into_view(&mut self, p: Pane) {
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

    pub(super) fn refold(&mut self) {
        let h = self.page(Pane::Diff) as usize;
        if let Some(v) = self.view.as_mut() {
            v.refold(h);
        }
    }

    pub(super) fn toggle(&mut self) {
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
                        v.expanded.insert(f);
                    }
                    Some(Display::Row(r)) => {
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

    pub(super) fn expand_all(&mut self) {
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

    pub(super) fn jump_change(&mut self, forward: bool) {
        let h = self.page(Pane::Diff) as usize;
        let Some(v) = self.view.as_mut() else { return };
        self.message = match v.jump_change(forward, h) {
            Some((n, total)) => format!("change {n} of {total}"),
            None => if forward { "no later change" } else { "no earlier change" }.into(),
        };
    }

    pub(super) fn jump_search(&mut self, forward: bool) {
        let Some(needle) = self.search.clone() else { return };
        let h = self.page(Pane::Diff) as usize;
        let Some(v) = self.view.as_mut() else { return };
        self.message = match v.jump_search(&needle, forward, h) {
            Some((n, total)) => format!("`{needle}`: match {n} of {total}"),
            None => format!("`{needle}` not found in this block"),
        };
    }

    /// Puts the cursor on a diff row, unfolding it if needed.
    pub(super) fn show_row(&mut self, row: usize) {
        let h = self.page(Pane::Diff) as usize;
        if let Some(v) = self.view.as_mut() {
            v.show_row(row, h);
        }
    }

    pub(super) fn jump_to_drop(&mut self) {
        let Some(v) = self.view.as_ref() else { return };
        let Some(o) = v.computed.outcome.as_ref() else {
            // a recorded compression: its Headroom marker
            let Some((hash, found)) = v.computed.ccr.get(self.ledger_sel) else { return };
            let message = format!("hash {hash}: {}", ccr_state(found.as_ref()));
            let diff = &v.computed.diff;
            match diff.first_row_where(|_, r| r.is_some_and(|r| r.contains(hash.as_str()))) {
                Some(r) => {
                    self.show_row(r);
                    self.focus = Pane::Diff;
                    self.message = message;
                }
                None => self.message = format!("{message}; not visible in this view"),
            }
            return;
        };
        let Some(d) = o.ledger.drops.get(self.ledger_sel) else { return };
        let diff = &v.computed.diff;
        let lines = v.computed.drop_lines.as_ref().and_then(|l| l.get(self.ledger_sel)).filter(|l| l.0 > 0);
        let row = match lines {
            Some(&(first, _)) => diff.row_of_left_line(first),
            // a comparison has no original side: find the marker carrying the drop's key
            None => v.computed.drop_keys.get(self.ledger_sel).and_then(|key| {
                let key = &key.as_str()[..12];
                diff.first_row_where(|l, r| [l, r].into_iter().flatten().any(|t| t.contains(key)))
            }),
        };
        let place = match d.span.pointer_text() {
            Some(p) => p,
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

    pub(super) fn cycle_engine(&mut self, forward: bool) {
        let Some(b) = self.current() else { return };
        let all = EngineSel::all(self.blocks[b].recorded.is_some(), self.headroom.is_some());
        let i = all.iter().position(|s| *s == self.blocks[b].sel).unwrap_or(0);
        let n = all.len();
        let next = all[if forward { (i + 1) % n } else { (i + n - 1) % n }];
        self.set_engine(b, next);
    }

    pub(super) fn set_engine(&mut self, b: usize, sel: EngineSel) {
        self.blocks[b].sel = sel;
        if self.narrowed() {
            self.pinned = Some(b);
        }
        self.knob_sel = 0;
        let old = self.blocks[b].stats.take();
        if let Some(o) = old {
            let response = self.blocks[b].response;
            self.flows[self.blocks[b].flow].tally(&o, response, false);
            self.totals_dirty = true;
        }
        self.queue_stats(b);
        self.message = format!("block {}: engine {}", b + 1, sel.label());
    }

    pub(super) fn cycle_compare(&mut self) {
        let Some(b) = self.current() else { return };
        let sel = self.blocks[b].sel;
        let all: Vec<EngineSel> = EngineSel::all(self.blocks[b].recorded.is_some(), self.headroom.is_some())
            .into_iter()
            .filter(|s| *s != sel)
            .collect();
        self.compare = match self.compare {
            None => all.first().copied(),
            Some(c) => all.iter().position(|s| *s == c).and_then(|i| all.get(i + 1)).copied(),
        };
        self.message = match self.compare {
            Some(c) => format!("comparing {} | {}", sel.label(), c.label()),
            None => "compare off".into(),
        };
    }

    /// Shows the original behind a marker: the ledger row's (in the ledger) or the one on the
    /// cursor line (in the diff); ctxlens's from the block's own input, Headroom's from its store.
    pub(super) fn retrieve(&mut self) {
        let Some(v) = self.view.as_ref() else { return };
        let c = &v.computed;
        // what to look for: a ctxlens key or a Headroom hash
        let (key, hash) = match self.focus {
            Pane::Ledger => match &c.outcome {
                Some(_) => (c.drop_keys.get(self.ledger_sel).copied(), None),
                None => (None, c.ccr.get(self.ledger_sel).map(|(h, _)| h.clone())),
            },
            _ => {
                let line = match v.display.get(v.cursor) {
                    Some(Display::Row(r)) => c.diff.row(r).and_then(|r| r.right).map(|c| c.text()).unwrap_or_default(),
                    _ => String::new(),
                };
                let key = crate::ledger::MARKER_RE
                    .captures(&line)
                    .and_then(|m| m.get(2))
                    .and_then(|k| crate::ledger::Key::parse(k.as_str()));
                (key, crate::store::headroom::marker_hashes(&line).into_iter().next())
            }
        };
        if let Some(key) = key {
            match c.outcome.as_ref().and_then(|o| o.ledger.retrieve_known(&o.original, &key, Some(&c.drop_keys))) {
                Some(text) => {
                    let title = format!("key {key} · {} bytes, from this block's input", text.len());
                    self.show_original(title, text);
                }
                None => match &self.keeper {
                    Some(keeper) => {
                        self.message = format!("reading key {key} from the store {}", keeper.store.location);
                        self.io.push(IoJob::Retrieve { key, keeper: keeper.clone() });
                    }
                    None => {
                        self.message = format!(
                            "key {key} is not in this block's ledger (`ctxlens retrieve {key}` reads the store)"
                        )
                    }
                },
            }
            return;
        }
        let Some(hash) = hash else {
            self.message = "no marker here: put the cursor on a marker line (») or a ledger row".into();
            return;
        };
        let found = c.ccr.iter().find(|(h, _)| *h == hash).and_then(|(_, f)| f.clone());
        let state = ccr_state(found.as_ref());
        match found.as_ref().and_then(|f| f.as_ref().ok()).and_then(|l| l.entry()) {
            Some(e) => {
                let title = format!("Headroom hash {hash} · {state} · {} bytes", e.original.len());
                let text = e.original.clone();
                self.show_original(title, text);
            }
            None => self.message = format!("hash {hash}: {state}"),
        }
    }

    pub(super) fn show_original(&mut self, title: String, text: String) {
        self.retrieved = Some((title, Arc::from(text.as_str())));
        self.mode = Mode::Overlay(Overlay::Original, 0);
    }

    /// Audit mode on: every block with a recorded compression is shown through it, and every
    /// job also measures ctxlens's own output and the silent losses; off: back to auto.
    pub(super) fn toggle_audit(&mut self) {
        let recorded: Vec<usize> = (0..self.blocks.len()).filter(|b| self.blocks[*b].recorded.is_some()).collect();
        if recorded.is_empty() && !self.audit {
            self.message = "audit mode needs a capture with a recorded compression (Headroom's request log)".into();
            return;
        }
        self.audit = !self.audit;
        let sel = if self.audit { EngineSel::Recorded } else { EngineSel::Auto };
        for b in recorded {
            self.blocks[b].sel = sel;
        }
        self.compare = None;
        self.recount_all();
        self.message = if self.audit {
            "audit: recorded against the original; ctxlens's tokens and silent losses (!) beside".into()
        } else {
            "audit off: ctxlens's engines".into()
        };
    }

    /// Checks ctxlens's README claims (or, with `headroom`, Headroom's on the real Headroom) on
    /// every loaded tool output and file (each text once) on the io thread; the verdicts open in a
    /// popup when they arrive.
    pub(super) fn check_claims(&mut self, headroom: bool) {
        if self.claims_running {
            self.message = "the claims are still being checked…".into();
            return;
        }
        let python = match (headroom, &self.headroom) {
            (false, _) => None,
            (true, Some(side)) => Some(side.python.clone()),
            (true, None) => {
                self.message = "Headroom's claims need the real Headroom: give --headroom-python".into();
                return;
            }
        };
        let mut seen = HashSet::new();
        let mut samples = Vec::new();
        let mut names = HashMap::new();
        for (b, bl) in self.blocks.iter().enumerate() {
            let wanted = matches!(bl.kind, BlockKind::ToolResult | BlockKind::File) && !bl.response;
            // blocks share one Arc per distinct text, so its address names the text
            if !wanted || bl.text.trim().is_empty() || !seen.insert(Arc::as_ptr(&bl.text) as *const u8 as usize) {
                continue;
            }
            // the block's place (`file`, or `capture:line …`), so an evidence command names a real file
            let name = bl.location.clone();
            names.entry(name.clone()).or_insert(b);
            samples.push((name, bl.path.clone(), bl.text.clone()));
        }
        if samples.is_empty() {
            self.message = "no tool output or file is loaded to check the claims on".into();
            return;
        }
        let whose = if headroom { "Headroom's" } else { "ctxlens's" };
        self.message = format!("checking {whose} claims on {} blocks…", samples.len());
        self.claims_running = true;
        self.claims_headroom = headroom;
        self.claim_blocks = names;
        self.io.push(IoJob::Claims {
            samples,
            config: self.config.clone(),
            tokenizer: self.tokenizer,
            headroom: python,
        });
    }

    /// Leaves the claims popup for the block of the selected claim's first evidence.
    pub(super) fn jump_to_evidence(&mut self, i: usize) {
        let Some(v) = self.claims.as_ref().and_then(|r| r.verdicts.get(i)) else { return };
        let found = v.evidence.iter().find_map(|e| self.claim_blocks.get(&e.sample).map(|b| (e, *b)));
        let Some((e, b)) = found else {
            self.message = format!("{}: no evidence in a block", v.id);
            return;
        };
        let message = format!("{} ({}): {}", v.id, v.verdict.label(), e.detail);
        self.mode = Mode::Normal;
        let f = self.blocks[b].flow;
        self.flows[f].expanded = true;
        if !self.passes(b) {
            // the evidence is never hidden behind the list's filter
            self.filter = None;
            self.new_only = false;
        }
        self.rebuild_rows();
        if let Some(row) = self.rows.iter().position(|r| *r == Row::Block(b)) {
            self.list_sel = row;
            self.scroll_into_view(Pane::List);
        }
        self.focus = Pane::Diff;
        self.message = message;
    }

    /// Moves to the next (or previous) line lost with no marker.
    pub(super) fn jump_silent(&mut self, forward: bool) {
        let h = self.page(Pane::Diff) as usize;
        let Some(v) = self.view.as_mut() else { return };
        self.message = match v.jump_mark(Mark::Silent, forward, h) {
            Some((n, total)) => {
                self.focus = Pane::Diff;
                format!("silent run {n} of {total}")
            }
            None if v.computed.diff.silent_lines() == 0 => "no line of this block was lost silently".into(),
            None => if forward { "no later silent loss" } else { "no earlier silent loss" }.into(),
        };
    }

    pub(super) fn cycle_theme(&mut self) {
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
            Err(e) => self.message = e.to_string(),
        }
    }
}

/// What Headroom's store said about a marker, in words.
pub fn ccr_state(found: Option<&Result<crate::store::headroom::Lookup, String>>) -> String {
    use crate::store::headroom::Lookup;
    let at = |t: f64| {
        let secs = t.max(0.0) as u64 % 86_400;
        format!("{:02}:{:02}:{:02} UTC", secs / 3600, secs / 60 % 60, secs % 60)
    };
    match found {
        None => "not checked: no Headroom CCR store (--headroom-dir DIR)".into(),
        Some(Err(e)) => format!("the store could not be read: {e}"),
        Some(Ok(Lookup::Missing)) => "missing from Headroom's store: the dropped content is lost".into(),
        Some(Ok(Lookup::Expired(e))) => format!("expired at {} (Headroom no longer returns it)", at(e.expires)),
        Some(Ok(Lookup::Present(e))) => format!("retrievable until {}", at(e.expires)),
    }
}

/// Moving within the diff of the block on screen: what needs only the view itself (and the
/// height of the pane it is drawn in, `page`).
impl View {
    /// Puts the cursor on a display index, scrolling when it leaves the page.
    pub fn set_cursor(&mut self, display_idx: usize, page: usize) {
        self.cursor = display_idx.min(self.display.len().saturating_sub(1));
        if self.cursor < self.top || self.cursor >= self.top + page {
            self.top = self.cursor.saturating_sub(page / 4);
        }
    }

    /// Rebuilds the display after folds changed, keeping the cursor on the same row or fold.
    pub fn refold(&mut self, page: usize) {
        let row = self.display.get(self.cursor);
        self.display = self.computed.diff.display(&self.expanded);
        self.changes = self.computed.diff.change_starts(&self.display);
        let at = row.and_then(|r| match r {
            Display::Row(i) => self.display.position_row(i),
            Display::Fold(f) => self
                .display
                .position_fold(f)
                .or_else(|| self.display.position_row(self.computed.diff.folds[f].rows.start)),
        });
        self.set_cursor(at.unwrap_or(self.cursor), page);
    }

    /// Puts the cursor on a diff row, unfolding it if needed.
    pub fn show_row(&mut self, row: usize, page: usize) {
        if let Some(fi) = self.computed.diff.folds.iter().position(|f| f.rows.contains(&row)) {
            self.expanded.insert(fi);
            self.display = self.computed.diff.display(&self.expanded);
            self.changes = self.computed.diff.change_starts(&self.display);
        }
        if let Some(at) = self.display.position_row(row) {
            self.set_cursor(at, page);
        }
    }

    /// Moves to the next (or previous) change; which one of how many, or `None` at the end.
    pub fn jump_change(&mut self, forward: bool, page: usize) -> Option<(usize, usize)> {
        let target = if forward {
            self.changes.iter().copied().find(|c| *c > self.cursor)
        } else {
            self.changes.iter().rev().copied().find(|c| *c < self.cursor)
        }?;
        let n = self.changes.iter().position(|c| *c == target).unwrap_or(0) + 1;
        self.set_cursor(target, page);
        Some((n, self.changes.len()))
    }

    /// Moves to the next (or previous) run of rows whose original side has mark `m`, unfolding as
    /// needed; which run of how many, or `None` past the last.
    pub fn jump_mark(&mut self, m: Mark, forward: bool, page: usize) -> Option<(usize, usize)> {
        let starts = self.computed.diff.mark_starts(m);
        let cur = match self.display.get(self.cursor) {
            // from the top, the first run is the next one, even on the top line (unless a jump
            // put the cursor there)
            _ if self.cursor == 0 && self.landed != Some(0) => -1,
            Some(Display::Row(r)) => r as isize,
            Some(Display::Fold(f)) => self.computed.diff.folds[f].rows.start as isize - 1,
            None => -1,
        };
        let target = if forward {
            starts.iter().copied().find(|r| *r as isize > cur)
        } else {
            starts.iter().rev().copied().find(|r| (*r as isize) < cur)
        }?;
        self.show_row(target, page);
        self.landed = Some(self.cursor);
        Some((starts.iter().position(|s| *s == target).unwrap_or(0) + 1, starts.len()))
    }

    /// Moves to the next (or previous) row matching `needle`, wrapping around; which match of
    /// how many, or `None` when nothing matches.
    pub fn jump_search(&mut self, needle: &str, forward: bool, page: usize) -> Option<(usize, usize)> {
        let hits = self
            .computed
            .diff
            .rows_where(|l, r| [l, r].into_iter().flatten().any(|t| t.to_lowercase().contains(needle)));
        let (first, last) = (*hits.first()?, *hits.last()?);
        let cur_row = match self.display.get(self.cursor) {
            Some(Display::Row(r)) => r as isize,
            Some(Display::Fold(f)) => self.computed.diff.folds[f].rows.start as isize - 1,
            None => -1,
        };
        let target = if forward {
            hits.iter().copied().find(|r| *r as isize > cur_row).unwrap_or(first)
        } else {
            hits.iter().rev().copied().find(|r| (*r as isize) < cur_row).unwrap_or(last)
        };
        self.show_row(target, page);
        Some((hits.iter().position(|h| *h == target).unwrap_or(0) + 1, hits.len()))
    }
}
