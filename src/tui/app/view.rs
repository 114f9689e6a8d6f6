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

    pub fn ledger_len(&self) -> usize {
        self.view.as_ref().and_then(|v| v.computed.outcome.as_ref()).map_or(0, |o| o.ledger.drops.len())
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

    pub(super) fn cycle_engine(&mut self, forward: bool) {
        let Some(b) = self.current() else { return };
        let all = EngineSel::all(self.blocks[b].recorded.is_some());
        let i = all.iter().position(|s| *s == self.blocks[b].sel).unwrap_or(0);
        let n = all.len();
        let next = all[if forward { (i + 1) % n } else { (i + n - 1) % n }];
        self.set_engine(b, next);
    }

    pub(super) fn set_engine(&mut self, b: usize, sel: EngineSel) {
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

    pub(super) fn cycle_compare(&mut self) {
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
        let row = self.display.get(self.cursor).copied();
        self.display = self.computed.diff.display(&self.expanded);
        self.changes = self.computed.diff.change_starts(&self.display);
        let at = row.and_then(|r| match r {
            Display::Row(i) => self.display.iter().position(|d| *d == Display::Row(i)),
            Display::Fold(f) => self.display.iter().position(|d| match d {
                Display::Row(i) => self.computed.diff.folds[f].rows.start == *i,
                Display::Fold(g) => *g == f,
            }),
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
        if let Some(at) = self.display.iter().position(|d| *d == Display::Row(row)) {
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

    /// Whether diff row `r` contains `needle` (lower case) on either side.
    pub fn row_matches(&self, r: usize, needle: &str) -> bool {
        let row = &self.computed.diff.rows[r];
        [&row.left, &row.right].into_iter().flatten().any(|c| c.text().to_lowercase().contains(needle))
    }

    /// Moves to the next (or previous) row matching `needle`, wrapping around; which match of
    /// how many, or `None` when nothing matches.
    pub fn jump_search(&mut self, needle: &str, forward: bool, page: usize) -> Option<(usize, usize)> {
        let hits: Vec<usize> = (0..self.computed.diff.rows.len()).filter(|r| self.row_matches(*r, needle)).collect();
        let (first, last) = (*hits.first()?, *hits.last()?);
        let cur_row = match self.display.get(self.cursor) {
            Some(Display::Row(r)) => *r as isize,
            Some(Display::Fold(f)) => self.computed.diff.folds[*f].rows.start as isize - 1,
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
