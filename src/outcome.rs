//! The outcome of one compression: output, decision record, ledger and token counts.
//!
//! Engines return [`Compressed`] or a [`Skip`]; the pipeline counts tokens and wraps either into an
//! [`Outcome`], with one [`SectionReport`] per routed section (a single one when an engine was
//! chosen by hand). A skip is never silent: it passes the input through and says why.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
pub use crate::engine::api::{Compressed, Skip};
use crate::ledger::{Key, Ledger, Lines};
use crate::tokens::Tokenizer;

/// Whether an engine acted, with its strategy or its skip reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Acted { strategy: String },
    Skipped { reason: Skip },
}

impl Decision {
    pub fn acted(&self) -> bool {
        matches!(self, Decision::Acted { .. })
    }

    /// The strategy when acted, the skip reason otherwise.
    pub fn reason(&self) -> String {
        match self {
            Decision::Acted { strategy } => strategy.clone(),
            Decision::Skipped { reason } => reason.to_string(),
        }
    }
}

/// One contiguous section of the input and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectionReport {
    /// Byte range in the input.
    pub bytes: Range<usize>,
    /// Byte range of what the section became in the output.
    #[serde(default)]
    pub output_bytes: Range<usize>,
    pub lines: Lines,
    /// The content type the section was routed as.
    pub kind: EngineKind,
    /// Why the router chose that type (or "chosen by --engine").
    pub detected: String,
    pub decision: Decision,
    pub notes: Vec<String>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// Indices of this section's drops in the outcome's ledger.
    pub drops: Range<usize>,
    /// The engine's time budget ran out part way: the rest of the section is kept as it was.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub budget_hit: bool,
}

/// The result of running the pipeline on one input.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The engine that ran; `None` when sections went to different engines.
    pub engine: Option<EngineKind>,
    pub output: String,
    pub decision: Decision,
    pub ledger: Ledger,
    pub sections: Vec<SectionReport>,
    pub tokenizer: Tokenizer,
    pub tokens_in: usize,
    pub tokens_out: usize,
    /// The input, kept so every key in the ledger can be retrieved (shared: the workbench's block
    /// text is this same text).
    pub original: Arc<str>,
    /// Where the call's time went.
    pub timing: Timing,
}

/// Where one [`crate::compress`] call's time went: routing, the engines, and token counting
/// (the rest is copying sections into the output).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    pub route: std::time::Duration,
    pub engine: std::time::Duration,
    pub count: std::time::Duration,
}

impl Outcome {
    /// The original bytes behind a drop's or a marker's key.
    pub fn retrieve(&self, key: &Key) -> Option<String> {
        self.ledger.retrieve(&self.original, key)
    }

    /// Every drop's key, in ledger order (see [`crate::ledger::Dropped::key`]).
    pub fn drop_keys(&self) -> Vec<Key> {
        self.ledger.drops.iter().map(|d| d.key(&self.original)).collect()
    }

    /// Whether an engine's time budget ran out (part of the input kept as it was, or all of it).
    pub fn budget_hit(&self) -> bool {
        self.sections
            .iter()
            .any(|s| s.budget_hit || matches!(s.decision, Decision::Skipped { reason: Skip::OutOfTime { .. } }))
    }

    /// One section as if it were the whole input: its engine, and its drops placed relative to
    /// the section's first byte and line (what a view of that section alone needs).
    pub fn section_alone(&self, s: &SectionReport) -> Outcome {
        let (byte0, line0) = (s.bytes.start, s.lines.first.saturating_sub(1));
        let drops = self.ledger.drops.get(s.drops.clone()).unwrap_or_default().iter().map(|d| {
            let mut d = d.clone();
            d.span.bytes = d.span.bytes.start.saturating_sub(byte0)..d.span.bytes.end.saturating_sub(byte0);
            d.span.lines.first = d.span.lines.first.saturating_sub(line0);
            d.span.lines.last = d.span.lines.last.saturating_sub(line0);
            d
        });
        Outcome {
            engine: Some(s.kind),
            output: String::new(),
            decision: s.decision.clone(),
            ledger: Ledger { drops: drops.collect(), markers: Vec::new() },
            sections: Vec::new(),
            tokenizer: self.tokenizer,
            tokens_in: s.tokens_in,
            tokens_out: s.tokens_out,
            original: Arc::from(""),
            timing: Timing::default(),
        }
    }

    /// Every note of every section.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().flat_map(|s| s.notes.iter().map(String::as_str))
    }
}
