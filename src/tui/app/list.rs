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
            text: &b.text,
        }
    }

    pub(super) fn passes(&self, b: usize) -> bool {
        self.filter.as_ref().is_none_or(|(_, f)| f.matches(&self.facts(&self.blocks[b])))
    }

    pub(super) fn rebuild_rows(&mut self) {
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

    pub(super) fn recompute_totals(&mut self) {
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
}
