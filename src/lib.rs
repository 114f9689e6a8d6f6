//! ctxlens: a workbench for LLM context compression whose engines say exactly what they dropped.
//!
//! The pipeline reads top to bottom in the module list:
//! [`input`] (bytes → text) → [`router`] (sections) → [`engine`] (one engine per content type)
//! → [`ledger`] / [`outcome`] (what was dropped, why, and its retrieval key) → [`output`]
//! (stats, ledger files). [`pipeline::compress`] runs it; [`tokens`] counts, [`config`] holds
//! every knob; [`models`] finds and runs the prose engine's ONNX models. [`store`] keeps dropped
//! originals by key (and reads Headroom's CCR store); [`mcp`] serves retrieval to agents;
//! [`audit`] holds a compressor's claims against its behaviour, on ctxlens's engines or on the
//! real Headroom through [`bridge`].

pub mod audit;
pub mod bench;
pub mod blocks;
pub mod bridge;
pub mod capture;
pub mod config;
pub mod engine;
pub mod export;
pub mod input;
pub mod ledger;
pub mod mcp;
pub mod models;
pub mod outcome;
pub mod output;
pub mod pipeline;
pub mod retention;
pub mod router;
pub mod store;
pub mod tokens;
pub mod tui;

pub use config::Config;
pub use engine::{Context, EngineKind};
pub use outcome::{Decision, Outcome, Skip};
pub use pipeline::{EngineChoice, compress, compress_shared};
pub use tokens::Tokenizer;
