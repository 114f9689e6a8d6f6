//! The outcome of one compression: output, decision record, ledger and token counts.
//!
//! Engines return [`Compressed`] or a [`Skip`]; the pipeline counts tokens and wraps either into an
//! [`Outcome`], with one [`SectionReport`] per routed section (a single one when an engine was
//! chosen by hand). A skip is never silent: it passes the input through and says why.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::engine::EngineKind;
use crate::ledger::{Key, Ledger, Lines};
use crate::tokens::Tokenizer;

/// What an engine produced when it acted.
#[derive(Debug, Clone, Default)]
pub struct Compressed {
    pub output: String,
    pub ledger: Ledger,
    /// Short description of what was done, e.g. "kept 34 of 1,204 lines".
    pub strategy: String,
    /// Decisions about parts of the input, e.g. "/packages: kept all 120 rows (unique entities)".
    pub notes: Vec<String>,
}

/// Why an engine (or the pipeline) did not act; the input is passed through unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Skip {
    /// The input is empty.
    Empty,
    /// The input holds a NUL byte or mostly control bytes.
    Binary { offset: usize },
    /// The input is not UTF-8.
    InvalidUtf8 { offset: usize, line: usize },
    /// The input is below a size gate.
    TooSmall { detail: String },
    /// The input is not what this engine handles.
    NotThisType { detail: String },
    /// The input looks like this engine's type but does not parse.
    ParseFailed { detail: String },
    /// The compressed form would not be smaller.
    WouldGrow { tokens_in: usize, tokens_out: usize },
    /// The engine found nothing it may drop under the current knobs.
    NothingToDrop { detail: String },
    /// The router detected a type whose engine does not exist yet.
    NoEngineYet { kind: EngineKind },
    /// The engine needs something that is not installed (a runtime, a model).
    Unavailable { detail: String },
}

impl Skip {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Skip::Empty => "empty",
            Skip::Binary { .. } => "binary",
            Skip::InvalidUtf8 { .. } => "invalid_utf8",
            Skip::TooSmall { .. } => "too_small",
            Skip::NotThisType { .. } => "not_this_type",
            Skip::ParseFailed { .. } => "parse_failed",
            Skip::WouldGrow { .. } => "would_grow",
            Skip::NothingToDrop { .. } => "nothing_to_drop",
            Skip::NoEngineYet { .. } => "no_engine_yet",
            Skip::Unavailable { .. } => "unavailable",
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            Skip::Empty => f.write_str("the input is empty"),
            Skip::Binary { offset } => {
                write!(f, "binary input (NUL or control bytes from byte {offset})")
            }
            Skip::InvalidUtf8 { offset, line } => {
                write!(f, "input is not valid UTF-8 (first bad byte at offset {offset}, line {line})")
            }
            Skip::TooSmall { detail }
            | Skip::NotThisType { detail }
            | Skip::ParseFailed { detail }
            | Skip::NothingToDrop { detail }
            | Skip::Unavailable { detail } => f.write_str(detail),
            Skip::WouldGrow { tokens_in, tokens_out } => {
                write!(f, "output would not be smaller ({tokens_in} → {tokens_out} tokens)")
            }
            Skip::NoEngineYet { kind } => {
                write!(f, "{kind} content detected; its engine is not built yet, passed through")
            }
        }
    }
}

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
    /// The input, kept so every key in the ledger can be retrieved.
    pub original: String,
}

impl Outcome {
    /// The original bytes behind a drop's or a marker's key.
    pub fn retrieve(&self, key: &Key) -> Option<String> {
        self.ledger.retrieve(&self.original, key)
    }

    /// Every note of every section.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.sections.iter().flat_map(|s| s.notes.iter().map(String::as_str))
    }
}
