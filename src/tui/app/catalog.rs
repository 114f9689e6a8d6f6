//! Loading: flows from a capture become the workbench's flows and blocks (texts shared when
//! a capture repeats its history).

use super::*;

impl App {
    /// The shared copy of `text`.
    pub(super) fn intern(&mut self, text: &str) -> Arc<str> {
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

    pub(super) fn add_flow(&mut self, source: usize, flow: Flow) {
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
}
