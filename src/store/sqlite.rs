//! ctxlens's own store of dropped originals: embedded SQLite (WAL, file mode 0600, several
//! processes may write at once), content-addressed by the key the engines already write into
//! markers and ledgers. Every span an engine dropped and every marker's payload go in under their
//! key, so `ctxlens retrieve KEY` gives the exact bytes back. Entries live until the store's size
//! cap or a TTL asks `gc` to remove them; nothing expires by default, so a marker's key keeps its
//! word.
//!
//! Keys are the first 64 bits of SHA-256 (16 hex). A store of a billion spans has about a 3%
//! chance of holding two different spans under one key; before that a `put` of other bytes under
//! a key already held is refused as a collision (never overwritten), and every `get` checks the
//! bytes against their key.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::ledger::Key;
use crate::outcome::Outcome;

/// The store's file when none is named: `$CTXLENS_STORE`, else `store.db` in the platform's data
/// directory for ctxlens (`$XDG_DATA_HOME/ctxlens` or `~/.local/share/ctxlens` on Linux).
pub fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CTXLENS_STORE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    directories::ProjectDirs::from("", "", "ctxlens").map(|d| d.data_dir().join("store.db"))
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    New,
    /// The same bytes were already there.
    Known,
}

/// Counts of a store.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    pub entries: u64,
    pub bytes: u64,
    /// Unix seconds of the oldest and newest entry.
    pub oldest: Option<i64>,
    pub newest: Option<i64>,
}

/// What storing an outcome's drops came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub new: usize,
    pub known: usize,
    /// Keys that could not be stored, with why.
    pub failed: Vec<(Key, String)>,
}

pub struct Store {
    pub path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Opens (creating it, readable by its owner only) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| StoreError::Io { path: shown.clone(), source: e };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        create_private(path).map_err(io)?;
        let err = |source| StoreError::Sqlite { path: shown.clone(), source };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS originals (
                 key TEXT PRIMARY KEY,
                 bytes BLOB NOT NULL,
                 created_at INTEGER NOT NULL
             );",
        )
        .map_err(err)?;
        Ok(Store { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    /// The bytes under `key` in the store at `path`, which must already exist (reading never
    /// creates a store): an absent store or key is an error naming it.
    pub fn retrieve(path: &Path, key: &Key) -> Result<Vec<u8>, StoreError> {
        let shown = || path.display().to_string();
        if !path.exists() {
            return Err(StoreError::NoStore { path: shown() });
        }
        Store::open(path)?.get(key)?.ok_or_else(|| StoreError::Absent { key: key.to_string(), path: shown() })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.display().to_string(), source }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `bytes` under `key`, which must be their key.
    pub fn put(&self, key: &Key, bytes: &[u8]) -> Result<Put, StoreError> {
        if Key::of(bytes) != *key {
            return Err(StoreError::WrongKey { key: key.to_string() });
        }
        let conn = self.conn();
        let added = conn
            .execute(
                "INSERT OR IGNORE INTO originals (key, bytes, created_at) VALUES (?1, ?2, ?3)",
                params![key.as_str(), bytes, now()],
            )
            .map_err(|e| self.err(e))?;
        if added == 1 {
            return Ok(Put::New);
        }
        let held: Vec<u8> = conn
            .query_row("SELECT bytes FROM originals WHERE key = ?1", [key.as_str()], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        if held == bytes {
            Ok(Put::Known)
        } else {
            Err(StoreError::Collision { key: key.to_string(), path: self.path.display().to_string() })
        }
    }

    /// The bytes under `key`, checked against it.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        let held: Option<Vec<u8>> = self
            .conn()
            .query_row("SELECT bytes FROM originals WHERE key = ?1", [key.as_str()], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))?;
        match held {
            Some(b) if Key::of(&b) != *key => Err(StoreError::Corrupt { key: key.to_string() }),
            other => Ok(other),
        }
    }

    /// Stores every span `o` dropped and every marker's payload, in one transaction; what could not
    /// be stored is listed, not fatal.
    pub fn put_outcome(&self, o: &Outcome) -> Stored {
        let mut out = Stored::default();
        let keys: Vec<Key> = o
            .ledger
            .drops
            .iter()
            .map(|d| d.key.clone())
            .chain(o.ledger.markers.iter().map(|m| m.key.clone()))
            .collect();
        // one transaction (one fsync, and other writers see all of it or none); without one (the
        // store busy past its timeout) each put commits alone
        let began = self.conn().execute_batch("BEGIN IMMEDIATE").is_ok();
        for key in keys.iter().cloned() {
            let Some(text) = o.ledger.retrieve(&o.original, &key) else {
                out.failed.push((key, "not in the ledger".into()));
                continue;
            };
            match self.put(&key, text.as_bytes()) {
                Ok(Put::New) => out.new += 1,
                Ok(Put::Known) => out.known += 1,
                Err(e) => out.failed.push((key, e.to_string())),
            }
        }
        if began && let Err(e) = self.conn().execute_batch("COMMIT") {
            // nothing of it was stored
            let why = self.err(e).to_string();
            let _ = self.conn().execute_batch("ROLLBACK");
            out.failed = keys.into_iter().map(|k| (k, why.clone())).collect();
            out.new = 0;
            out.known = 0;
        }
        out
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        self.conn()
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(LENGTH(bytes)), 0), MIN(created_at), MAX(created_at) FROM originals",
                [],
                |r| {
                    let (entries, bytes): (i64, i64) = (r.get(0)?, r.get(1)?);
                    Ok(Stats {
                        entries: entries.max(0) as u64,
                        bytes: bytes.max(0) as u64,
                        oldest: r.get(2)?,
                        newest: r.get(3)?,
                    })
                },
            )
            .map_err(|e| self.err(e))
    }

    /// Removes entries older than `ttl_secs` (when given), then the oldest until the store holds
    /// at most `max_bytes`; returns how many went.
    pub fn gc(&self, ttl_secs: Option<u64>, max_bytes: Option<u64>) -> Result<usize, StoreError> {
        let conn = self.conn();
        let mut removed = 0;
        if let Some(ttl) = ttl_secs {
            let cutoff = now().saturating_sub(i64::try_from(ttl).unwrap_or(i64::MAX));
            removed +=
                conn.execute("DELETE FROM originals WHERE created_at < ?1", [cutoff]).map_err(|e| self.err(e))?;
        }
        if let Some(cap) = max_bytes {
            // newest first: keep entries while their running total fits
            let mut stmt = conn
                .prepare("SELECT key, LENGTH(bytes) FROM originals ORDER BY created_at DESC, key")
                .map_err(|e| self.err(e))?;
            let rows: Vec<(String, i64)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.err(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.err(e))?;
            let mut total = 0u64;
            let mut gone = Vec::new();
            for (key, size) in rows {
                total = total.saturating_add(size.max(0) as u64);
                if total > cap {
                    gone.push(key);
                }
            }
            for key in gone {
                removed += conn.execute("DELETE FROM originals WHERE key = ?1", [key]).map_err(|e| self.err(e))?;
            }
        }
        Ok(removed)
    }

    /// Every entry as JSON lines: `{"key", "created_at", "text"}` (or `"base64"` for bytes that are
    /// not UTF-8).
    pub fn export(&self, out: &mut dyn std::io::Write) -> Result<usize, StoreError> {
        use base64::Engine as _;
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT key, bytes, created_at FROM originals ORDER BY key").map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let (key, bytes, created): (String, Vec<u8>, i64) = (
                r.get(0).map_err(|e| self.err(e))?,
                r.get(1).map_err(|e| self.err(e))?,
                r.get(2).map_err(|e| self.err(e))?,
            );
            let mut line = serde_json::json!({ "key": key, "created_at": created });
            match String::from_utf8(bytes) {
                Ok(text) => line["text"] = text.into(),
                Err(e) => line["base64"] = base64::engine::general_purpose::STANDARD.encode(e.as_bytes()).into(),
            }
            writeln!(out, "{line}").map_err(|e| StoreError::Io { path: "export".into(), source: e })?;
            n += 1;
        }
        Ok(n)
    }

    /// Reads lines written by [`Store::export`]; each entry's bytes must match its key. Returns the
    /// entries added; a bad line is an error naming its line number, and nothing after it is read.
    pub fn import(&self, name: &str, text: &str) -> Result<usize, StoreError> {
        use base64::Engine as _;
        let mut added = 0;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = |why: String| StoreError::Import { file: name.to_string(), line: i + 1, why };
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let key = v["key"].as_str().and_then(Key::parse).ok_or_else(|| bad("no valid `key`".into()))?;
            let bytes = match (v["text"].as_str(), v["base64"].as_str()) {
                (Some(t), _) => t.as_bytes().to_vec(),
                (None, Some(b)) => {
                    base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| bad(e.to_string()))?
                }
                _ => return Err(bad("no `text` or `base64`".into())),
            };
            match self.put(&key, &bytes) {
                Ok(Put::New) => added += 1,
                Ok(Put::Known) => {}
                Err(e) => return Err(bad(e.to_string())),
            }
        }
        Ok(added)
    }
}

/// Creates `path` readable and writable by its owner only when it does not exist (SQLite gives its
/// WAL files the database's mode); an existing file is left as it is.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.create_new(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    match open.open(path) {
        // another process created it first
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("sub/store.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn put_get_collisions_and_wrong_keys() {
        let (_d, s) = temp();
        let k = Key::of(b"hello\n");
        assert_eq!(s.put(&k, b"hello\n").unwrap(), Put::New);
        assert_eq!(s.put(&k, b"hello\n").unwrap(), Put::Known);
        assert_eq!(s.get(&k).unwrap().as_deref(), Some(&b"hello\n"[..]));
        assert!(matches!(s.put(&k, b"other"), Err(StoreError::WrongKey { .. })));
        assert_eq!(s.get(&Key::of(b"nope")).unwrap(), None);
        // a row whose bytes no longer match its key (disk corruption, a foreign writer) is refused
        s.conn().execute("UPDATE originals SET bytes = x'00' WHERE key = ?1", [k.as_str()]).unwrap();
        assert!(matches!(s.get(&k), Err(StoreError::Corrupt { .. })));
        assert!(matches!(s.put(&k, b"hello\n"), Err(StoreError::Collision { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, s) = temp();
        let mode = std::fs::metadata(&s.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn gc_by_age_and_size_and_export_import_round_trip() {
        let (_d, s) = temp();
        let texts: Vec<Vec<u8>> = (0..5).map(|i| format!("span {i}\n").repeat(10).into_bytes()).collect();
        for t in &texts {
            s.put(&Key::of(t), t).unwrap();
        }
        s.put(&Key::of(&[0xff, 0xfe, 0x00]), &[0xff, 0xfe, 0x00]).unwrap();
        let mut out = Vec::new();
        assert_eq!(s.export(&mut out).unwrap(), 6);
        let (_d2, t) = temp();
        assert_eq!(t.import("x.jsonl", std::str::from_utf8(&out).unwrap()).unwrap(), 6);
        assert_eq!(t.get(&Key::of(&[0xff, 0xfe, 0x00])).unwrap().unwrap(), vec![0xff, 0xfe, 0x00]);
        assert_eq!(t.stats().unwrap().entries, 6);
        let e = t.import("bad.jsonl", "{\"key\":\"0123456789abcdef\",\"text\":\"x\"}\n").unwrap_err().to_string();
        assert!(e.contains("bad.jsonl:1") && e.contains("0123456789abcdef"), "{e}");
        let (_d3, u) = temp();
        for t in &texts {
            u.put(&Key::of(t), t).unwrap();
        }
        assert_eq!(u.gc(Some(3600), None).unwrap(), 0, "nothing is an hour old");
        assert_eq!(u.gc(None, Some(150)).unwrap(), 3, "two 70-byte spans fit in 150 bytes");
        assert_eq!(u.stats().unwrap(), Stats { entries: 2, bytes: 140, ..u.stats().unwrap() });
    }
}
