//! Background work: which jobs a block needs (counts, the detail of the block on screen), and
//! taking their results back.

use super::*;

impl App {
    pub(super) fn job(&self, block: usize, detail: bool) -> Job {
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
            caches: self.caches.clone(),
            highlight: if detail { self.theme.syntax.clone() } else { None },
            ccr: if detail { self.ccr.clone() } else { None },
            audit: self.audit && b.recorded.is_some(),
            detail,
            keeper: self.keeper.clone(),
            headroom: self.headroom.clone(),
            stop: None,
        }
    }

    pub(super) fn queue_stats(&mut self, block: usize) {
        let j = self.job(block, false);
        self.jobs.push((j, false));
    }

    /// Every block's counts are stale (knobs or tokenizer changed): queue them all, the rows on
    /// screen first, and ask for the view again.
    pub(super) fn recount_all(&mut self) {
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

    pub(super) fn row_block(&self, r: Row) -> Option<usize> {
        match r {
            Row::Block(b) => Some(b),
            // the first block the list shows (the view never shows a block the list hides), as the
            // rows were last built
            Row::Flow(f) => self.first_shown.get(f).copied().unwrap_or_else(|| self.flows[f].blocks.first().copied()),
        }
    }

    pub(super) fn visible_rows(&self) -> impl Iterator<Item = Row> + '_ {
        let h = self.areas().inner_height(Pane::List).max(1);
        self.rows.iter().skip(self.list_top).take(h).copied()
    }

    /// Asks for the current block's diff when the view does not show what is wanted.
    pub(super) fn request_view(&mut self) {
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
                c2.partial || (c2.block, c2.generation, c2.sel, c2.compare) != (b, g, s, c)
            }
            (None, Some(_)) => true,
            _ => false,
        }
    }

    pub(super) fn accept(&mut self, c: Computed) {
        if let Some(e) = &c.store_error {
            self.message = e.clone();
        }
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
        // a first part's counts are not the block's: its rows wait for the whole result
        if c.generation == self.generation && c.sel == block.sel && !c.partial {
            // a comparison measures neither retention nor silent loss: the block keeps its own
            let kept = block.stats.as_ref().filter(|_| c.compare.is_some());
            let new = Stats {
                tokens_in: c.tokens_in,
                tokens_out: c.tokens_out,
                engine: c.engine.clone(),
                retention: c.retention.as_ref().map(|r| r.score).or(kept.and_then(|s| s.retention)),
                ours_out: c.ours_out.or(kept.and_then(|s| s.ours_out)),
                silent: c.silent.or(kept.and_then(|s| s.silent)),
            };
            let old = block.stats.replace(new.clone());
            let flow = &mut self.flows[block.flow];
            if let Some(o) = &old {
                flow.tally(o, block.response, false);
            }
            flow.tally(&new, block.response, true);
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
        if self.message == "recompressing…" && fresh && !c.partial {
            self.message = c.summary.clone();
        }
        if c.capped && !same_block {
            self.message = format!(
                "JSON nested deeper than {} levels is shown without more indentation",
                crate::tui::pretty::MAX_INDENT
            );
        }
        let (cursor, top, mut expanded, landed) = match (&self.view, same_block) {
            (Some(v), true) => (v.cursor, v.top, v.expanded.clone(), v.landed),
            _ => (0, 0, HashSet::new(), None),
        };
        // a block the engine left unchanged is shown open: a single fold would hide all of it
        let d = &c.diff;
        if !same_block && d.all_same() {
            expanded = (0..d.folds.len()).collect();
        }
        if !same_block {
            self.ledger_sel = 0;
            self.ledger_top = 0;
        }
        let computed = Arc::new(c);
        let display = computed.diff.display(&expanded);
        let changes = computed.diff.change_starts(&display);
        let mut v = View { computed, expanded, display, changes, cursor, top, landed };
        v.cursor = v.cursor.min(v.display.len().saturating_sub(1));
        self.view = Some(v);
        self.scroll_into_view(Pane::Diff);
    }
}
