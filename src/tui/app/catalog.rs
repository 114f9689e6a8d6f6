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
        let request = crate::blocks::of_flow(&flow).into_iter().map(|s| (s.block, s.recorded, s.tool, s.path, false));
        // the model's answer (SSE stream, HAR response, transcript reply) follows the request
        let answer =
            flow.response.iter().flat_map(|m| m.blocks.iter()).map(|b| (b, None, b.tool_name.clone(), None, true));
        for (block, recorded, tool, path, response) in request.chain(answer) {
            ids.push(self.blocks.len());
            let text = self.intern(&block.text);
            // agent captures resend the history: a text an earlier request of this source had is
            // not new
            let first = *self.first_seen.entry((Arc::as_ptr(&text) as *const u8 as usize, source)).or_insert(fi);
            let recorded = recorded.map(|r| self.intern(&r.text));
            if recorded.is_some() {
                self.recordings += 1;
                if let Some(store) = self.ccr.as_ref().filter(|_| self.recordings == 1) {
                    self.message = format!("Headroom's CCR store: {} · ? help · q quit", store.path.display());
                }
            }
            self.blocks.push(BlockItem {
                flow: fi,
                kind: block.kind,
                role: block.role,
                tool,
                is_error: block.is_error,
                text,
                recorded,
                path,
                location: block.location.to_string(),
                sel: EngineSel::Auto,
                stats: None,
                new: response || first == fi,
                response,
            });
        }
        let number = self.sources[source].flows + 1;
        self.sources[source].flows += 1;
        let when = flow.timestamp.as_deref().map(|t| t.get(11..19).unwrap_or(t)).unwrap_or("");
        let model = flow.model.clone();
        // a folder's files are told apart by name, relative to the folder given (the folder's
        // own path would take the room the names need)
        let what = match flow.api {
            capture::Api::Files => {
                let file = std::path::Path::new(&flow.location.file);
                match file.strip_prefix(&self.sources[source].name) {
                    Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
                    _ => flow.location.file.clone(),
                }
            }
            api => model.clone().unwrap_or_else(|| api_label(api).to_string()),
        };
        let label = format!("{when} {what}").trim().to_string();
        self.flows.push(FlowItem {
            source,
            number,
            model,
            label,
            blocks: ids.clone(),
            expanded: fi < EXPANDED_FLOWS,
            tokens_in: 0,
            tokens_out: 0,
            ours_out: 0,
            silent: 0,
            counted: 0,
            cache: flow.usage.as_ref().map_or((0, 0), |u| {
                let n = |x: Option<u64>| x.map_or(0, |x| usize::try_from(x).unwrap_or(usize::MAX));
                (n(u.cache_read_tokens), n(u.cache_write_tokens))
            }),
        });
        for b in ids {
            self.queue_stats(b);
        }
        self.rows_dirty = true;
        self.totals_dirty = true;
    }
}
