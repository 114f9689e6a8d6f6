//! Stores that give a dropped span's original back by its key. Here: reading Headroom's own CCR
//! store ([`headroom`]), so a recorded Headroom compression's markers can be checked against what
//! Headroom can really still return.

pub mod headroom;

/// A store that cannot be read, naming its file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sqlite { path: String, source: rusqlite::Error },
    #[error("{path}: not a Headroom CCR store (no ccr_entries table)")]
    NotHeadroom { path: String },
}
