//! Stores that give a dropped span's original back by its key: ctxlens's own ([`sqlite`], written
//! by `compress --store`, read by `ctxlens retrieve`), and Headroom's CCR store read-only
//! ([`headroom`]), so a recorded Headroom compression's markers can be checked against what
//! Headroom can really still return.

pub mod headroom;
pub mod sqlite;

/// The lines of `text` that hold `query`, case-insensitively (every line for an empty query): what
/// `retrieve --query` and the MCP tools' `query` return.
pub fn lines_holding(text: &str, query: &str) -> String {
    let q = query.to_lowercase();
    text.split_inclusive('\n').filter(|l| l.to_lowercase().contains(&q)).collect()
}

/// A store that cannot be read, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("{path}: not a Headroom CCR store (no ccr_entries table)")]
    NotHeadroom { path: String },
    #[error("{path}: the entry for {hash} is not JSON with an original_content")]
    BadEntry { path: String, hash: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: no store there (compress --store writes one)")]
    NoStore { path: String },
    #[error("key {key} is not in {path} (was it compressed with --store?)")]
    Absent { key: String, path: String },
    #[error("key {key} is not the key of the bytes given")]
    WrongKey { key: String },
    #[error("{path}: key {key} already holds other bytes (a key collision); nothing overwritten")]
    Collision { key: String, path: String },
    #[error("key {key}: the stored bytes do not match their key (the store is corrupt)")]
    Corrupt { key: String },
    #[error("{file}:{line}: {why}")]
    Import { file: String, line: usize, why: String },
}
