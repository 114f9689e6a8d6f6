//! Derived state of the flow list: filter facts, the visible rows, totals and prices.

use super::*;

impl App {
    pub(super) fn facts<'a>(&'a self, b: &'a BlockItem) -> Facts<'a> {
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
            new: b.new,
            silent: b.stats.as_ref().and_then(|s| s.silent),
            response: b.response,
            text: &b.text,
        }
    }

    /// Whether the list shows block `b`: it passes the filter and the new-only switch, or it is
    /// the block the reader just changed the engine of (so the view does not jump away from it).
    pub(super) fn passes(&self, b: usize) -> bool {
        if self.pinned == Some(b) {
            return true;
        }
        let bl = &self.blocks[b];
        (!self.new_only || bl.new) && self.filter.as_ref().is_none_or(|(_, f)| f.matches(&self.facts(bl)))
    }

    /// Whether the list hides some blocks.
    pub(super) fn narrowed(&self) -> bool {
        self.filter.is_some() || self.new_only
    }

    pub(super) fn rebuild_rows(&mut self) {
        self.rows_dirty = false;
        if self.pinned.is_some() && self.pinned != self.current() {
            self.pinned = None;
        }
        let keep = self.rows.get(self.list_sel).copied();
        let mut rows = Vec::new();
        let mut first_shown = Vec::new();
        match self.sort {
            Sort::Input => {
                for (fi, f) in self.flows.iter().enumerate() {
                    let shown: Vec<usize> = f.blocks.iter().copied().filter(|b| self.passes(*b)).collect();
                    first_shown.push(shown.first().copied());
                    if shown.is_empty() && (self.narrowed() || !f.blocks.is_empty()) {
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
        self.first_shown = first_shown;
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

    pub(super) fn recompute_totals(&mut self) {
        self.totals_dirty = false;
        let mut t = Totals { blocks: self.blocks.len(), ..Totals::default() };
        let (mut cin, mut cout) = (0.0, 0.0);
        for f in &self.flows {
            t.tokens_in += f.tokens_in;
            t.tokens_out += f.tokens_out;
            t.counted += f.counted;
            if let Some((a, b)) = self.flow_cost(f) {
                t.priced_flows += 1;
                cin += a;
                cout += b;
            }
        }
        if t.priced_flows > 0 {
            t.cost = Some((cin, cout));
        }
        self.totals = t;
    }

    /// A flow's input cost in USD before and after compression, at its price. When the capture
    /// says how many of the request's tokens were read from the provider's prompt cache or written
    /// to it, those are priced as the provider bills them and the rest at the input price; the
    /// cached part is the request's prefix, the same before and after.
    pub fn flow_cost(&self, f: &FlowItem) -> Option<(f64, f64)> {
        let p = self.price_for(f)?;
        let (read, write) = f.cache;
        let billed = |n: usize| {
            let r = read.min(n);
            let w = write.min(n - r);
            prices::input_cost(p, n - r - w) + prices::cache_cost(p, r, w)
        };
        Some((billed(f.tokens_in), billed(f.tokens_out)))
    }

    /// A block's input cost in USD before and after, at its flow's input price.
    pub fn block_cost(&self, b: &BlockItem) -> Option<(f64, f64)> {
        let p = self.price_for(&self.flows[b.flow])?;
        let s = b.stats.as_ref()?;
        Some((prices::input_cost(p, s.tokens_in), prices::input_cost(p, s.tokens_out)))
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
}
