//! The store's SQLite backend, the default: one file (WAL, mode 0600, several processes may
//! write at once), a table of originals and a table of restore recipes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::{Backend, Meta, StoreError, Table};

pub struct Sqlite {
    path: PathBuf,
    conn: Mutex<Connection>,
}

fn table_name(t: Table) -> &'static str {
    match t {
        Table::Originals => "originals",
        Table::Outputs => "outputs",
    }
}

impl Sqlite {
    /// Opens (creating it, readable by its owner only) the store at `path`.
    pub fn open(path: &Path) -> Result<Sqlite, StoreError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| StoreError::Io { path: shown.clone(), cause: e };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: shown.clone(),
                cause: std::io::Error::new(e.kind(), format!("cannot make its folder {}: {e}", dir.display())),
            })?;
        }
        create_private(path).map_err(io)?;
        let err = |cause| StoreError::Sqlite { path: shown.clone(), cause };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS originals (
                 key TEXT PRIMARY KEY,
                 bytes BLOB NOT NULL,
                 created_at INTEGER NOT NULL
             );
             CREATE TABLE IF NOT EXISTS outputs (
                 key TEXT PRIMARY KEY,
                 bytes BLOB NOT NULL,
                 created_at INTEGER NOT NULL
             );",
        )
        .map_err(err)?;
        Ok(Sqlite { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.display().to_string(), cause: source }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for Sqlite {
    fn insert(
        &self,
        table: Table,
        key: &str,
        bytes: &[u8],
        created_at: i64,
        _ttl: Option<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let t = table_name(table);
        let conn = self.conn();
        let sql = format!("INSERT OR IGNORE INTO {t} (key, bytes, created_at) VALUES (?1, ?2, ?3)");
        let added = conn
            .prepare_cached(&sql)
            .and_then(|mut st| st.execute(params![key, bytes, created_at]))
            .map_err(|e| self.err(e))?;
        if added == 1 {
            return Ok(None);
        }
        let sql = format!("SELECT bytes FROM {t} WHERE key = ?1");
        conn.prepare_cached(&sql)
            .and_then(|mut st| st.query_row([key], |r| r.get(0)))
            .map(Some)
            .map_err(|e| self.err(e))
    }

    fn fetch(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = format!("SELECT bytes FROM {} WHERE key = ?1", table_name(table));
        self.conn().query_row(&sql, [key], |r| r.get(0)).optional().map_err(|e| self.err(e))
    }

    fn swap(&self, table: Table, key: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let sql = format!("UPDATE {} SET bytes = ?3 WHERE key = ?1 AND bytes = ?2", table_name(table));
        let changed = self.conn().execute(&sql, params![key, old, new]).map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    fn list(&self, table: Table) -> Result<Vec<Meta>, StoreError> {
        let conn = self.conn();
        let sql = format!("SELECT key, LENGTH(bytes), created_at FROM {}", table_name(table));
        let mut stmt = conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                let size: i64 = r.get(1)?;
                Ok(Meta { key: r.get(0)?, size: size.max(0) as u64, created_at: r.get(2)? })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn remove(&self, table: Table, keys: &[String]) -> Result<usize, StoreError> {
        let conn = self.conn();
        let sql = format!("DELETE FROM {} WHERE key = ?1", table_name(table));
        let mut n = 0;
        for key in keys {
            n += conn.execute(&sql, [key]).map_err(|e| self.err(e))?;
        }
        Ok(n)
    }

    fn compact(&self) -> Result<(), StoreError> {
        self.conn().execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);").map_err(|e| self.err(e))
    }

    fn begin(&self) -> Result<bool, StoreError> {
        self.conn().execute_batch("BEGIN IMMEDIATE").map(|()| true).map_err(|e| self.err(e))
    }

    fn commit(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute_batch("COMMIT").map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            self.err(e)
        })
    }

    fn rollback(&self) {
        let _ = self.conn().execute_batch("ROLLBACK");
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
    use super::super::{Location, Policy, Put, Stats, Store};
    use super::*;
    use crate::ledger::Key;

    fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&Location::File(dir.path().join("sub/store.db")), Policy::default()).unwrap();
        (dir, s)
    }

    fn path(s: &Store) -> PathBuf {
        match &s.location {
            Location::File(p) => p.clone(),
            Location::Redis(_) => unreachable!(),
        }
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
        let conn = Connection::open(path(&s)).unwrap();
        conn.execute("UPDATE originals SET bytes = x'00' WHERE key = ?1", [k.as_str()]).unwrap();
        assert!(matches!(s.get(&k), Err(StoreError::Corrupt { .. })));
        assert!(matches!(s.put(&k, b"hello\n"), Err(StoreError::Collision { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, s) = temp();
        let mode = std::fs::metadata(path(&s)).unwrap().permissions().mode() & 0o777;
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
