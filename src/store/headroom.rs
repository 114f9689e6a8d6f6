//! Headroom's CCR store (`ccr_store.db` in its workspace, SQLite, table
//! `ccr_entries(hash, entry_json, created_at, ttl)`), opened read-only: whether a marker's original
//! is still retrievable, and what it holds. Also Headroom's marker shapes and the hashes in them.

use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

use regex::Regex;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::Value;

use super::StoreError;

/// Headroom's retrieval markers, the hash in group 1 or 2: `[… hash=<24 hex> …]` (log, search,
/// diff, Kompress, code, read lifecycle, dense elision) and `<<ccr:<12–24 hex> …>>` (SmartCrusher,
/// the Rust live zone).
pub static MARKER_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[[^\[\]\n]{0,200}?hash=([0-9a-f]{24})[^\[\]\n]{0,200}\]|<<ccr:([0-9a-f]{12,24})\b")
        .expect("headroom marker regex")
});

/// The hashes of Headroom's markers in `text`, in order, each once.
pub fn marker_hashes(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in MARKER_RE.captures_iter(text) {
        let Some(h) = c.get(1).or_else(|| c.get(2)) else { continue };
        if !out.iter().any(|x| x == h.as_str()) {
            out.push(h.as_str().to_string());
        }
    }
    out
}

/// What the store says about one hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// Retrievable until `expires` (Unix seconds).
    Present(Entry),
    /// Still in the file but past its TTL: Headroom will not return it.
    Expired(Entry),
    /// Not in the store: the dropped content is lost.
    Missing,
}

/// One CCR entry, as far as ctxlens reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub hash: String,
    pub original: String,
    pub strategy: Option<String>,
    pub created_at: f64,
    pub expires: f64,
}

impl Lookup {
    /// `present`, `expired` or `missing`.
    pub fn state(&self) -> &'static str {
        match self {
            Lookup::Present(_) => "present",
            Lookup::Expired(_) => "expired",
            Lookup::Missing => "missing",
        }
    }

    pub fn entry(&self) -> Option<&Entry> {
        match self {
            Lookup::Present(e) | Lookup::Expired(e) => Some(e),
            Lookup::Missing => None,
        }
    }
}

/// Headroom's CCR store, open read-only (Headroom may be writing it at the same time).
pub struct HeadroomStore {
    pub path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for HeadroomStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadroomStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// The store file in a Headroom workspace.
pub const FILE: &str = "ccr_store.db";

impl HeadroomStore {
    /// Headroom's workspace when none is named: `$HEADROOM_WORKSPACE_DIR`, else `~/.headroom`.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::var_os("HEADROOM_WORKSPACE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".headroom")))
    }

    /// Opens `ccr_store.db` in workspace `dir` (or `dir` itself when it is the file).
    pub fn open(dir: &Path) -> Result<HeadroomStore, StoreError> {
        let path = if dir.is_dir() { dir.join(FILE) } else { dir.to_path_buf() };
        let shown = path.display().to_string();
        let err = |cause| StoreError::Sqlite { path: shown.clone(), cause };
        let conn =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_millis(500)).map_err(err)?;
        let has_table: Option<String> = conn
            .query_row("SELECT name FROM sqlite_master WHERE type='table' AND name='ccr_entries'", [], |r| r.get(0))
            .optional()
            .map_err(err)?;
        if has_table.is_none() {
            return Err(StoreError::NotHeadroom { path: shown });
        }
        Ok(HeadroomStore { path, conn: Mutex::new(conn) })
    }

    /// What the store holds for `hash` at time `now` (Unix seconds). A 12-hex SmartCrusher hash
    /// is looked up exactly; Headroom stores it under the same 12 characters.
    pub fn lookup(&self, hash: &str, now: f64) -> Result<Lookup, StoreError> {
        let shown = self.path.display().to_string();
        let err = |cause| StoreError::Sqlite { path: shown.clone(), cause };
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let row: Option<(String, f64, f64)> = conn
            .query_row("SELECT entry_json, created_at, ttl FROM ccr_entries WHERE hash = ?1", [hash], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(err)?;
        let Some((json, created_at, ttl)) = row else { return Ok(Lookup::Missing) };
        let original = serde_json::from_str::<Value>(&json).ok().and_then(|v| {
            let o = v.get("original_content").and_then(Value::as_str)?.to_string();
            Some((o, v))
        });
        let Some((original, v)) = original else {
            return Err(StoreError::BadEntry { path: shown, hash: hash.to_string() });
        };
        let entry = Entry {
            hash: hash.to_string(),
            original,
            strategy: v.get("compression_strategy").and_then(Value::as_str).map(str::to_string),
            created_at,
            expires: created_at + ttl,
        };
        Ok(if entry.expires > now { Lookup::Present(entry) } else { Lookup::Expired(entry) })
    }
}

/// Now, in Unix seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_hashes_cover_headroom_s_shapes_once_each() {
        let text = "a\n[13 dense machine-generated lines elided. Retrieve original: hash=e373e5aa635d4fc16d6789e7]\n\
                    [184 lines compressed to 33. Retrieve more: hash=d3afeca78f6803a8dc3c17c8]\n\
                    \"… 245 more items <<ccr:4a518b1745f5 245_items_offloaded>>\"\n\
                    again hash=e373e5aa635d4fc16d6789e7 outside brackets, [Retrieve more: hash=e373e5aa635d4fc16d6789e7]";
        assert_eq!(marker_hashes(text), vec!["e373e5aa635d4fc16d6789e7", "d3afeca78f6803a8dc3c17c8", "4a518b1745f5"]);
        assert!(marker_hashes("[ctxlens: 3 lines dropped; key=0123456789abcdef]").is_empty());
    }

    fn fixture() -> HeadroomStore {
        HeadroomStore::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/headroom-proxy")).unwrap()
    }

    #[test]
    fn an_entry_is_present_until_its_ttl_then_expired_and_an_unknown_hash_is_missing() {
        let s = fixture();
        let Lookup::Expired(e) = s.lookup("e373e5aa635d4fc16d6789e7", f64::MAX).unwrap() else { panic!("expired") };
        assert!(e.original.contains("Compiling memchr"), "{}", &e.original[..80]);
        assert_eq!(e.expires - e.created_at, 1800.0, "Headroom's default TTL");
        assert!(matches!(s.lookup("e373e5aa635d4fc16d6789e7", e.created_at + 1.0).unwrap(), Lookup::Present(_)));
        assert!(matches!(s.lookup("4a518b1745f5", e.created_at).unwrap(), Lookup::Present(_)), "a 12-hex hash");
        assert_eq!(s.lookup("000000000000000000000000", 0.0).unwrap(), Lookup::Missing);
    }

    #[test]
    fn an_entry_that_does_not_parse_is_an_error_not_an_empty_original() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join(FILE);
        std::fs::copy(fixture().path, &copy).unwrap();
        let c = Connection::open(&copy).unwrap();
        c.execute("UPDATE ccr_entries SET entry_json = '{not json'", []).unwrap();
        drop(c);
        let e = HeadroomStore::open(&copy).unwrap().lookup("e373e5aa635d4fc16d6789e7", 0.0).unwrap_err().to_string();
        assert!(e.contains("e373e5aa635d4fc16d6789e7") && e.contains("ccr_store.db"), "{e}");
    }

    #[test]
    fn a_file_that_is_not_a_store_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join(FILE);
        std::fs::write(&junk, b"not sqlite at all, just bytes").unwrap();
        let e = HeadroomStore::open(dir.path()).unwrap_err().to_string();
        assert!(e.contains("ccr_store.db"), "{e}");
        let other = dir.path().join("other.db");
        rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE t(x)").unwrap();
        let e = HeadroomStore::open(&other).unwrap_err().to_string();
        assert!(e.contains("other.db") && e.contains("not a Headroom CCR store"), "{e}");
        assert!(HeadroomStore::open(&dir.path().join("none")).is_err());
    }
}
