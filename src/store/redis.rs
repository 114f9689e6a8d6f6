//! The store's Redis backend, for a team sharing one store: `redis://[:password@]host[:port][/db]`
//! as the store's location. Entries are plain strings under `ctxlens:o:KEY` (originals) and
//! `ctxlens:r:KEY` (restore recipes), each value its creation time (8 bytes, big-endian Unix
//! seconds) then the bytes. `SET … NX` makes an insert atomic across writers; a TTL becomes the
//! entry's own expiry, so Redis removes it on time with no `gc`.

use std::sync::Mutex;
use std::time::Duration;

use redis::{Connection, RedisError, cmd};

use super::{Backend, Meta, StoreError, Table};

pub struct Redis {
    /// The URL with its password hidden, for messages.
    shown: String,
    client: redis::Client,
    conn: Mutex<Connection>,
}

const TIMEOUT: Duration = Duration::from_secs(10);

fn prefix(t: Table) -> &'static str {
    match t {
        Table::Originals => "ctxlens:o:",
        Table::Outputs => "ctxlens:r:",
    }
}

fn connect(client: &redis::Client) -> redis::RedisResult<Connection> {
    let conn = client.get_connection_with_timeout(TIMEOUT)?;
    conn.set_read_timeout(Some(TIMEOUT))?;
    conn.set_write_timeout(Some(TIMEOUT))?;
    Ok(conn)
}

/// The stored value's bytes, past its creation time; `None` for a value too short to hold one.
fn split(value: &[u8]) -> Option<(i64, &[u8])> {
    let (time, bytes) = value.split_first_chunk::<8>()?;
    Some((i64::from_be_bytes(*time), bytes))
}

impl Redis {
    /// Connects (within 10 s) to the server at `url`; `shown` names it in errors.
    pub fn open(url: &str, shown: &str) -> Result<Redis, StoreError> {
        let err = |cause| StoreError::Redis { url: shown.to_string(), cause };
        let client = redis::Client::open(url).map_err(err)?;
        let conn = connect(&client).map_err(err)?;
        Ok(Redis { shown: shown.to_string(), client, conn: Mutex::new(conn) })
    }

    /// Runs `f` on the connection. An I/O error (a signal interrupting a read, a dropped
    /// connection) leaves the connection in an unknown state: it is replaced and `f` runs again,
    /// up to three times; every command here is safe to repeat (`SET NX`, `GET`, `DEL`, `SCAN`,
    /// and a compare-and-set, which a writer reads again when it finds its value changed).
    fn with<T>(&self, f: impl Fn(&mut Connection) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut tries = 0;
        loop {
            match f(&mut conn) {
                Err(e) if e.is_io_error() && tries < 3 => {
                    tries += 1;
                    *conn = connect(&self.client).map_err(|e| self.err(e))?;
                }
                other => return other.map_err(|e| self.err(e)),
            }
        }
    }

    fn err(&self, source: RedisError) -> StoreError {
        StoreError::Redis { url: self.shown.clone(), cause: source }
    }

    fn bad_value(&self, key: &str) -> StoreError {
        let source = RedisError::from((redis::ErrorKind::Parse, "a value too short to be a ctxlens entry"));
        StoreError::Redis { url: format!("{} ({key})", self.shown), cause: source }
    }
}

impl Backend for Redis {
    fn insert(
        &self,
        table: Table,
        key: &str,
        bytes: &[u8],
        created_at: i64,
        ttl: Option<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let name = format!("{}{key}", prefix(table));
        let mut value = created_at.to_be_bytes().to_vec();
        value.extend_from_slice(bytes);
        let mut set = cmd("SET");
        set.arg(&name).arg(value).arg("NX");
        if let Some(secs) = ttl.filter(|&s| s > 0) {
            set.arg("EX").arg(secs);
        }
        let added: Option<String> = self.with(|c| set.query(c))?;
        if added.is_some() {
            return Ok(None);
        }
        let held: Option<Vec<u8>> = self.with(|c| cmd("GET").arg(&name).query(c))?;
        match held {
            Some(v) => split(&v).map(|(_, b)| Some(b.to_vec())).ok_or_else(|| self.bad_value(&name)),
            // expired between the two calls: held by nobody now, so add it again
            None => self.insert(table, key, bytes, created_at, ttl),
        }
    }

    fn fetch(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = format!("{}{key}", prefix(table));
        let held: Option<Vec<u8>> = self.with(|c| cmd("GET").arg(&name).query(c))?;
        held.map(|v| split(&v).map(|(_, b)| b.to_vec()).ok_or_else(|| self.bad_value(&name))).transpose()
    }

    fn swap(&self, table: Table, key: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        // compared and replaced inside the server, past the value's 8 bytes of creation time
        // (kept), with the entry's expiry kept
        const SCRIPT: &str = "local v = redis.call('GET', KEYS[1]) \
             if v and string.sub(v, 9) == ARGV[1] then \
               redis.call('SET', KEYS[1], string.sub(v, 1, 8) .. ARGV[2], 'KEEPTTL') \
               return 1 \
             end \
             return 0";
        let name = format!("{}{key}", prefix(table));
        let swapped: i64 = self.with(|c| cmd("EVAL").arg(SCRIPT).arg(1).arg(&name).arg(old).arg(new).query(c))?;
        Ok(swapped == 1)
    }

    fn list(&self, table: Table) -> Result<Vec<Meta>, StoreError> {
        let pattern = format!("{}*", prefix(table));
        let mut names = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) =
                self.with(|c| cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000).query(c))?;
            names.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        let mut metas = Vec::with_capacity(names.len());
        for chunk in names.chunks(500) {
            let mut pipe = redis::pipe();
            for n in chunk {
                pipe.cmd("STRLEN").arg(n).cmd("GETRANGE").arg(n).arg(0).arg(7);
            }
            let answers: Vec<redis::Value> = self.with(|c| pipe.query(c))?;
            for (n, pair) in chunk.iter().zip(answers.chunks(2)) {
                let len: u64 = redis::from_redis_value_ref(&pair[0]).map_err(|e| self.err(e.into()))?;
                let head: Vec<u8> = redis::from_redis_value_ref(&pair[1]).map_err(|e| self.err(e.into()))?;
                // gone since the scan (expired or removed)
                let Some((created_at, _)) = split(&head) else { continue };
                let key = n[prefix(table).len()..].to_string();
                metas.push(Meta { key, size: len.saturating_sub(8), created_at });
            }
        }
        Ok(metas)
    }

    fn expires_itself(&self) -> bool {
        true
    }

    fn remove(&self, table: Table, keys: &[String]) -> Result<usize, StoreError> {
        let mut n = 0;
        for chunk in keys.chunks(500) {
            let names: Vec<String> = chunk.iter().map(|k| format!("{}{k}", prefix(table))).collect();
            let gone: usize = self.with(|c| cmd("DEL").arg(&names).query(c))?;
            n += gone;
        }
        Ok(n)
    }
}
