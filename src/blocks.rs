//! Capture block → compressed block: the one step between a loaded capture and the pipeline, so
//! the workbench, `ctxlens blocks --compress` (and later the audit and the proxy) treat a block
//! the same way. A block learns what its context says about it (the file its tool call read, the
//! tool's name, what a compressor recorded sending for it); the pipeline compresses it with that
//! path; the result says how to show it (the language to colour it as).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capture::{Block, BlockKind, Flow};
use crate::config::Config;
use crate::engine::lang::Lang;
use crate::engine::{Context, EngineKind};
use crate::outcome::{Decision, Outcome};
use crate::pipeline::{self, EngineChoice};
use crate::tokens::{self, Tokenizer};

/// A request block of a flow, with what the rest of the flow says about it.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub block: &'a Block,
    /// The file the block is about: the `file_path` of the tool call a result answers, or a plain
    /// file's own name. The code engine reads the language from it.
    pub path: Option<String>,
    /// The tool that made a result (or the tool a call invokes).
    pub tool: Option<String>,
    /// What the capture says was sent for this block instead (Headroom's `compressed_messages`),
    /// when the recorded request lines up with this one.
    pub recorded: Option<&'a Block>,
}

/// The file path a tool call's input names (`file_path`, `path`, `notebook_path`), if any.
pub fn path_of_tool_input(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    ["file_path", "path", "notebook_path", "filePath"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|p| p.as_str()))
        .map(str::to_string)
}

/// Every request block of `flow`, in order, each with its path, tool and recorded twin.
pub fn of_flow(flow: &Flow) -> Vec<Source<'_>> {
    let recorded_lines_up = flow.recorded.as_ref().is_some_and(|r| r.len() == flow.messages.len());
    // tool call id → (tool name, file path), so a tool result knows what made it
    let mut calls: std::collections::HashMap<&str, (Option<&str>, Option<String>)> = Default::default();
    let mut out = Vec::new();
    for (mi, m) in flow.messages.iter().enumerate() {
        for (bi, b) in m.blocks.iter().enumerate() {
            if b.kind == BlockKind::ToolUse
                && let Some(id) = &b.tool_id
            {
                calls.insert(id, (b.tool_name.as_deref(), path_of_tool_input(&b.text)));
            }
            let recorded = flow
                .recorded
                .as_ref()
                .filter(|_| recorded_lines_up)
                .and_then(|r| r[mi].blocks.get(bi))
                .filter(|r| r.kind == b.kind);
            let call = b.tool_id.as_deref().and_then(|id| calls.get(id));
            let path =
                call.and_then(|c| c.1.clone()).or_else(|| (b.kind == BlockKind::File).then(|| b.location.file.clone()));
            let tool = b.tool_name.clone().or_else(|| call.and_then(|c| c.0.map(str::to_string)));
            out.push(Source { block: b, path, tool, recorded });
        }
    }
    out
}

/// Compresses one block's text through the pipeline, with the file path its context gave it;
/// the rest of the context (tokenizer, the caller's count of `text`, its memo) is `base`'s.
pub fn compress(text: Arc<str>, path: Option<&str>, choice: EngineChoice, config: &Config, base: &Context) -> Outcome {
    let ctx = Context { path: path.map(str::to_string), ..base.clone() };
    pipeline::compress_shared(text, choice, config, &ctx)
}

/// The file extension a block should be coloured as: its path's own, else one for the engine that
/// handled it (none for logs, search results, or engines without a syntax).
pub fn language(text: &str, outcome: Option<&Outcome>, path: Option<&str>) -> Option<String> {
    if let Some(path) = path {
        if let Some(lang) = Lang::from_path(path) {
            return Some(lang.syntax_ext().to_string());
        }
        if let Some((_, ext)) = path.rsplit_once('.') {
            return Some(ext.to_string());
        }
    }
    let kind = outcome.and_then(|o| o.engine).unwrap_or_else(|| crate::router::detect(text).kind);
    let ext = match kind {
        EngineKind::Json => "json",
        EngineKind::Diff => "diff",
        EngineKind::Prose => "md",
        EngineKind::Code => crate::engine::lang::detect(text, None)?.0.syntax_ext(),
        _ => return None,
    };
    Some(ext.to_string())
}

/// One block's line in `ctxlens blocks --compress`.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The engine that ran, `mixed` for several, `-` for none (the time budget ran out first).
    pub engine: String,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// Dropped spans in the ledger.
    pub drops: usize,
    /// `acted`, or why nothing was dropped (a skip reason's code, or `time-budget`).
    pub decision: String,
    /// What the output kept of what matters (all of it when nothing was dropped).
    pub retention: crate::retention::Retention,
}

/// A wall-clock bound over a run of many blocks: blocks that start after it are counted, not
/// compressed, and the prose engine's own budget is cut to what is left, so one slow block
/// cannot outlast it.
#[derive(Debug)]
pub struct Deadline {
    end: Instant,
    /// Blocks not compressed because the time ran out.
    pub missed: Cell<usize>,
}

impl Deadline {
    pub fn after(budget: Duration) -> Deadline {
        Deadline { end: Instant::now() + budget, missed: Cell::new(0) }
    }
}

/// [`compress`] for one source, summarised, within `deadline`.
pub fn summarize(s: &Source, config: &Config, tokenizer: Tokenizer, deadline: &Deadline) -> Summary {
    let left = deadline.end.saturating_duration_since(Instant::now());
    if left.is_zero() {
        deadline.missed.set(deadline.missed.get() + 1);
        let n = tokens::count(&s.block.text, tokenizer);
        return Summary {
            engine: "-".into(),
            tokens_in: n,
            tokens_out: n,
            drops: 0,
            decision: "time-budget".into(),
            retention: Default::default(),
        };
    }
    let left_ms = u64::try_from(left.as_millis()).unwrap_or(u64::MAX);
    let bounded;
    let config = if config.prose.time_budget_ms > left_ms {
        let mut c = config.clone();
        c.prose.time_budget_ms = left_ms;
        bounded = c;
        &bounded
    } else {
        config
    };
    let ctx = Context { tokenizer, ..Context::default() };
    let o = compress(Arc::from(s.block.text.as_str()), s.path.as_deref(), EngineChoice::Auto, config, &ctx);
    Summary {
        engine: o.engine.map_or_else(|| "mixed".to_string(), |k| k.to_string()),
        tokens_in: o.tokens_in,
        tokens_out: o.tokens_out,
        drops: o.ledger.drops.len(),
        decision: match &o.decision {
            Decision::Acted { .. } => "acted".into(),
            Decision::Skipped { reason } => reason.code().into(),
        },
        retention: crate::retention::of_outcome(&o, None, s.path.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_result_knows_its_call_and_file() {
        let cap = crate::capture::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/demo/anthropic-request.json"
        )))
        .unwrap();
        let sources = of_flow(&cap.flows[0]);
        let read = sources
            .iter()
            .find(|s| s.block.kind == BlockKind::ToolResult && s.tool.as_deref() == Some("Read"))
            .expect("the demo reads a file");
        assert!(read.path.as_deref().is_some_and(|p| p.ends_with(".py")), "{:?}", read.path);
        assert_eq!(language(&read.block.text, None, read.path.as_deref()).as_deref(), Some("py"));
        let o = compress(
            Arc::from(read.block.text.as_str()),
            read.path.as_deref(),
            EngineChoice::Auto,
            &Config::default(),
            &Context::default(),
        );
        assert_eq!(o.engine, Some(EngineKind::Code));
    }
}
