//! Stores that give a dropped span's original back by its key.
//!
//! ctxlens's own store is a [`Store`]: content-addressed entries (every span an engine dropped and
//! every marker's payload, under the key the markers and ledgers already name) plus one restore
//! recipe per compressed output ([`restore`]), so the output and the store give the original back
//! byte for byte. It lives in a [`Backend`]: embedded SQLite ([`sqlite`], the default) or a Redis
//! server shared by a team ([`redis`]), chosen by a [`Location`] (a path or a `redis://` URL).
//! Headroom's CCR store is read, read-only, by [`headroom`], so a recorded Headroom compression's
//! markers can be checked against what Headroom can really still return.
//!
//! Keys are the first 64 bits of SHA-256 (16 hex). A store of a billion spans has about a 3%
//! chance of holding two different spans under one key; before that a `put` of other bytes under
//! a key already held is refused as a collision (never overwritten), and every `get` checks the
//! bytes against their key.

pub mod headroom;
pub mod redis;
pub mod restore;
pub mod sqlite;

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ledger::Key;
use crate::outcome::Outcome;

/// The lines of `text` that hold `query`, case-insensitively (every line for an empty query): what
/// `retrieve --query` and the MCP tools' `query` return.
pub fn lines_holding(text: &str, query: &str) -> String {
    let q = query.to_lowercase();
    text.split_inclusive('\n').filter(|l| l.to_lowercase().contains(&q)).collect()
}

/// Why a query found nothing in an original: what a caller says instead of an empty answer.
pub fn no_line_holds(text: &str, query: &str) -> String {
    let lines = text.split_inclusive('\n').count();
    let shown: String = query.chars().take(60).collect();
    format!(
        "no line of the original ({lines} lines) holds `{shown}` (case aside); without the query it comes back whole"
    )
}

/// A store that cannot be read or written, naming it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // the cause is in the message, not a `source`: error chains would print it twice
    #[error("{path}: {cause}")]
    Sqlite { path: String, cause: rusqlite::Error },
    #[error("{url}: {cause}")]
    Redis { url: String, cause: ::redis::RedisError },
    #[error("{path}: not a Headroom CCR store (no ccr_entries table)")]
    NotHeadroom { path: String },
    #[error("{path}: the entry for {hash} is not JSON with an original_content")]
    BadEntry { path: String, hash: String },
    #[error("{path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("bad store location: {why}")]
    BadLocation { why: String },
    #[error("{path}: no store there (compress --store writes one when it drops something)")]
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
    #[error("{file}: {why}; nothing was added")]
    ImportNotStarted { file: String, why: String },
    #[error(
        "{path} has no restore recipe for this text (key {key}): it is not an output `compress --store` wrote, \
         or it was changed since, or nothing was dropped from it (then it is its own original); \
         `ctxlens retrieve KEY` still gives each marker's original"
    )]
    NoRecipe { key: String, path: String },
    #[error("{path}: the restore recipe {key} is unreadable: {why}")]
    BadRecipe { key: String, path: String, why: String },
    #[error(
        "{path}: {n} different originals were compressed to this same text (key {key}): {originals}; \
         say which with `--original KEY`"
    )]
    Ambiguous { key: String, path: String, n: usize, originals: String },
    #[error(
        "{path}: no original with key {original} was compressed to this text (key {key}); it was made from {originals}"
    )]
    NotItsOriginal { key: String, path: String, original: String, originals: String },
    #[error("{path}: the restore recipe {key} kept changing under other writers; try again")]
    Busy { key: String, path: String },
}

/// Where a store lives: a SQLite file, or a Redis server (`redis://[:password@]host[:port][/db]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Redis(String),
}

impl Location {
    /// A `redis://` or `rediss://` URL names a Redis server; anything else is a file path.
    pub fn parse(s: &str) -> Location {
        let lower = s.trim_start().to_ascii_lowercase();
        if ["redis://", "rediss://", "redis+unix://", "unix://"].iter().any(|p| lower.starts_with(p)) {
            Location::Redis(s.trim().to_string())
        } else {
            Location::File(PathBuf::from(s))
        }
    }

    /// A location that is neither a file path nor a Redis URL ctxlens can use: a `file:` URI
    /// (SQLite would take it as one, past ctxlens's file mode), another URL scheme, an empty path.
    pub fn check(&self) -> Result<(), String> {
        match self {
            Location::File(p) => {
                let s = p.to_string_lossy();
                let scheme = s
                    .split_once("://")
                    .map(|(a, _)| a)
                    .filter(|a| a.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)));
                if s.trim().is_empty() {
                    Err("an empty store location".into())
                } else if s.starts_with("file:") || scheme.is_some() {
                    Err(format!("`{}` is a URL: give a file path, or a redis:// URL", self))
                } else {
                    Ok(())
                }
            }
            Location::Redis(_) => Ok(()),
        }
    }

    /// `$CTXLENS_STORE` (a path or a URL), else `store.db` in the platform's data directory for
    /// ctxlens (`$XDG_DATA_HOME/ctxlens` or `~/.local/share/ctxlens` on Linux).
    pub fn default_location() -> Option<Location> {
        if let Some(p) = std::env::var_os("CTXLENS_STORE").filter(|p| !p.is_empty()) {
            return Some(Location::parse(&p.to_string_lossy()));
        }
        directories::ProjectDirs::from("", "", "ctxlens").map(|d| Location::File(d.data_dir().join("store.db")))
    }
}

impl fmt::Display for Location {
    /// A file's path, or a URL with its password hidden.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Redis(url) => {
                let scheme_end = url.find("://").map_or(0, |i| i + 3);
                let shown = match url[scheme_end..].rfind('@') {
                    Some(at) => format!("{}***@{}", &url[..scheme_end], &url[scheme_end + at + 1..]),
                    None => url.clone(),
                };
                // a password may also ride in the query (`?password=…`, `&pass=…`)
                f.write_str(&SECRET_QUERY.replace_all(&shown, "$1=***"))
            }
        }
    }
}

static SECRET_QUERY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?i)\b(password|pass|passwd|pwd|token)=[^&#]*").expect("secret query regex")
});

/// How long entries live: both off by default, so a marker's key keeps its word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Entries older than this many seconds are removed (Redis: they expire on their own).
    pub ttl_secs: Option<u64>,
    /// After each write the oldest entries go until the store holds at most this many bytes.
    pub max_bytes: Option<u64>,
}

/// `[store]` in the config: whether `compress` and the workbench keep what they drop, where, and
/// for how long.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Keep every dropped span (as `compress --store` does), from `compress`, `mcp` and the workbench.
    pub enabled: bool,
    /// A SQLite file or a `redis://` URL [default: $CTXLENS_STORE, else store.db in ctxlens's data
    /// directory].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Remove entries older than this many days (0: keep them until removed by hand).
    pub ttl_days: u64,
    /// After each write, remove the oldest entries until the store holds at most this many MB
    /// (0: no cap).
    pub max_mb: u64,
}

impl Settings {
    pub fn is_default(&self) -> bool {
        *self == Settings::default()
    }

    pub fn policy(&self) -> Policy {
        Policy {
            ttl_secs: (self.ttl_days > 0).then(|| self.ttl_days.saturating_mul(86_400)),
            max_bytes: (self.max_mb > 0).then(|| self.max_mb.saturating_mul(1 << 20)),
        }
    }

    /// The location a command names, else this table's, else the default one.
    pub fn location(&self, named: Option<&str>) -> Option<Location> {
        named.or(self.location.as_deref()).map(Location::parse).or_else(Location::default_location)
    }
}

/// The two kinds of entry: dropped originals (content-addressed), and restore recipes (under the
/// key of the output they restore; several when different originals gave the same output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Originals,
    Outputs,
}

/// One entry's key, size and creation time (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub key: String,
    pub size: u64,
    pub created_at: i64,
}

/// What a store is kept in. Keys are checked by [`Store`]; a backend only keeps bytes.
pub trait Backend: Send + Sync {
    /// Adds `bytes` under `key` unless the key is held (atomically: two writers never both add);
    /// returns what was already held, if anything. `ttl_secs`: a backend that expires entries on
    /// its own (Redis) does so; others leave it to [`Store::gc`].
    fn insert(
        &self,
        table: Table,
        key: &str,
        bytes: &[u8],
        created_at: i64,
        ttl_secs: Option<u64>,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    fn fetch(&self, table: Table, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replaces the bytes under `key` by `new` if they are still `old` (atomically: of two writers
    /// that both read `old`, one wins); returns whether they were replaced. The entry keeps its
    /// creation time and expiry.
    fn swap(&self, table: Table, key: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;
    /// Every entry of `table`.
    fn list(&self, table: Table) -> Result<Vec<Meta>, StoreError>;
    fn remove(&self, table: Table, keys: &[String]) -> Result<usize, StoreError>;
    /// Gives the space of removed entries back (SQLite: VACUUM).
    fn compact(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Whether entries given a TTL expire with no `gc` (Redis).
    fn expires_itself(&self) -> bool {
        false
    }
    /// Starts a group of inserts that other writers see all of or none of, where the backend can
    /// (SQLite); returns whether one was started, or why one could not be (another writer held
    /// the store past the busy timeout).
    fn begin(&self) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// Ends the group [`Backend::begin`] started.
    fn commit(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Undoes the group [`Backend::begin`] started.
    fn rollback(&self) {}
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    New,
    /// The same bytes were already there.
    Known,
}

/// Counts of a store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub entries: u64,
    pub bytes: u64,
    /// Restore recipes (one per output stored).
    pub outputs: u64,
    /// Unix seconds of the oldest and newest entry.
    pub oldest: Option<i64>,
    pub newest: Option<i64>,
}

/// What storing an outcome came to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stored {
    pub new: usize,
    pub known: usize,
    /// Keys that could not be stored, with why.
    pub failed: Vec<(Key, String)>,
    /// Whether the output's restore recipe was stored.
    pub recipe: bool,
    /// How many different originals were compressed to this same output, when more than one: a
    /// restore of it then has to be told which (`--original KEY`).
    pub shared_by: Option<usize>,
}

/// What filing a restore recipe came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filed {
    New,
    /// A recipe for the same original was there already.
    Known,
    /// Recipes for other originals were there: this one now sits beside them, `n` in all.
    Beside(usize),
}

/// ctxlens's store: a backend, where it is, and how long entries live.
pub struct Store {
    pub location: Location,
    pub policy: Policy,
    backend: Box<dyn Backend>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("location", &self.location.to_string()).finish_non_exhaustive()
    }
}

/// An exported entry's creation time when it is a time ctxlens could have written (not in the
/// future), else now.
fn created_at(v: &serde_json::Value) -> i64 {
    v["created_at"].as_i64().filter(|t| (0..=now()).contains(t)).unwrap_or_else(now)
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

impl Store {
    /// Opens the store at `location`, creating a SQLite file (readable by its owner only) when
    /// there is none.
    pub fn open(location: &Location, policy: Policy) -> Result<Store, StoreError> {
        location.check().map_err(|why| StoreError::BadLocation { why })?;
        let backend: Box<dyn Backend> = match location {
            Location::File(p) => Box::new(sqlite::Sqlite::open(p)?),
            Location::Redis(url) => Box::new(redis::Redis::open(url, &location.to_string())?),
        };
        Ok(Store { location: location.clone(), policy, backend })
    }

    /// Opens a store that must already exist (reading never creates a SQLite file).
    pub fn open_existing(location: &Location) -> Result<Store, StoreError> {
        if let Location::File(p) = location
            && location.check().is_ok()
            && !p.exists()
        {
            return Err(StoreError::NoStore { path: location.to_string() });
        }
        Store::open(location, Policy::default())
    }

    fn name(&self) -> String {
        self.location.to_string()
    }

    /// Stores `bytes` under `key`, which must be their key.
    pub fn put(&self, key: &Key, bytes: &[u8]) -> Result<Put, StoreError> {
        self.put_at(key, bytes, now())
    }

    /// [`Store::put`] with the entry's creation time given (an import keeps the exported one).
    fn put_at(&self, key: &Key, bytes: &[u8], created_at: i64) -> Result<Put, StoreError> {
        if Key::of(bytes) != *key {
            return Err(StoreError::WrongKey { key: key.to_string() });
        }
        match self.backend.insert(Table::Originals, key.as_str(), bytes, created_at, self.policy.ttl_secs)? {
            None => Ok(Put::New),
            Some(held) if held == bytes => Ok(Put::Known),
            Some(_) => Err(StoreError::Collision { key: key.to_string(), path: self.name() }),
        }
    }

    /// The bytes under `key`, checked against it.
    pub fn get(&self, key: &Key) -> Result<Option<Vec<u8>>, StoreError> {
        match self.backend.fetch(Table::Originals, key.as_str())? {
            Some(b) if Key::of(&b) != *key => Err(StoreError::Corrupt { key: key.to_string() }),
            other => Ok(other),
        }
    }

    /// The bytes under `key`; an absent key is an error naming the store.
    pub fn retrieve(&self, key: &Key) -> Result<Vec<u8>, StoreError> {
        self.get(key)?.ok_or_else(|| StoreError::Absent { key: key.to_string(), path: self.name() })
    }

    /// Stores every span `o` dropped, every marker's payload and the output's restore recipe (with
    /// the kept stretches it needs), as one transaction where the backend has them; what could not
    /// be stored is listed, not fatal. Then applies the policy.
    pub fn put_outcome(&self, o: &Outcome) -> Stored {
        let mut out = Stored::default();
        // each drop's span and each marker's payload, straight from the ledger (looking every key
        // up again would cost drops × markers on an input with tens of thousands of spans)
        let mut entries: Vec<(Key, String)> = Vec::new();
        for d in &o.ledger.drops {
            match o.original.get(d.span.bytes.clone()) {
                Some(text) => entries.push((Key::of(text.as_bytes()), text.to_string())),
                None => out.failed.push((d.key(&o.original), "its span is not in the input".into())),
            }
        }
        entries.extend(o.ledger.markers.iter().map(|m| (m.key, o.ledger.payload(&o.original, m))));
        // an output that is its own original needs no recipe, unless another original was
        // compressed to the same bytes: then it is filed beside that one, or a restore of these
        // bytes would give back the other original
        let output_key = Key::of(o.output.as_bytes());
        let shared = || self.backend.fetch(Table::Outputs, output_key.as_str()).is_ok_and(|held| held.is_some());
        let recipe = (*o.output != *o.original || shared()).then(|| restore::Recipe::of(o));
        if let Some(r) = &recipe {
            entries.extend(r.kept.iter().map(|t| (Key::of(t.as_bytes()), t.to_string())));
        }
        // when no group can be started, each put says why it failed
        let began = self.backend.begin().unwrap_or(false);
        for (key, text) in &entries {
            match self.put(key, text.as_bytes()) {
                Ok(Put::New) => out.new += 1,
                Ok(Put::Known) => out.known += 1,
                Err(e) => out.failed.push((*key, e.to_string())),
            }
        }
        if let Some(r) = &recipe
            && out.failed.is_empty()
        {
            match self.file_recipe(&output_key, r, now()) {
                Ok(filed) => {
                    out.recipe = true;
                    out.shared_by = match filed {
                        Filed::Beside(n) => Some(n),
                        Filed::New | Filed::Known => None,
                    };
                }
                Err(e) => out.failed.push((output_key, e.to_string())),
            }
        }
        if began && let Err(e) = self.backend.commit() {
            // nothing of it was stored
            let why = e.to_string();
            out.failed = entries.into_iter().map(|(k, _)| (k, why.clone())).collect();
            out.new = 0;
            out.known = 0;
            out.recipe = false;
            out.shared_by = None;
        }
        let ttl = self.policy.ttl_secs.filter(|_| !self.backend.expires_itself());
        if (ttl.is_some() || self.policy.max_bytes.is_some())
            && let Err(e) = self.gc(ttl, self.policy.max_bytes)
        {
            out.failed.push((Key::of(b""), format!("gc after the write: {e}")));
        }
        out
    }

    /// Files `recipe` under `output`'s key. A recipe for another original already there is kept:
    /// both are, side by side, so a restore of this output never gives back the wrong original.
    fn file_recipe(&self, output: &Key, recipe: &restore::Recipe, created_at: i64) -> Result<Filed, StoreError> {
        let bytes = restore::set_bytes(std::slice::from_ref(recipe));
        // another writer may change the entry between reading and replacing it: read it again
        for _ in 0..16 {
            let ttl = self.policy.ttl_secs;
            let Some(held) = self.backend.insert(Table::Outputs, output.as_str(), &bytes, created_at, ttl)? else {
                return Ok(Filed::New);
            };
            let mut set = restore::parse_set(&held).map_err(|why| StoreError::BadRecipe {
                key: output.to_string(),
                path: self.name(),
                why,
            })?;
            if set.iter().any(|r| r.original == recipe.original) {
                return Ok(Filed::Known);
            }
            set.push(recipe.clone());
            if self.backend.swap(Table::Outputs, output.as_str(), &held, &restore::set_bytes(&set))? {
                return Ok(Filed::Beside(set.len()));
            }
        }
        Err(StoreError::Busy { key: output.to_string(), path: self.name() })
    }

    /// The original `output` was compressed from, byte for byte, from its restore recipe. When
    /// several originals were compressed to the same output, `original` (a key) says which; without
    /// it, the recipes that rebuild their original are tried, and more than one is an error listing
    /// them. A recipe that does not (its pieces are gone, or an imported line was forged) is
    /// passed over, so it cannot make a good output ambiguous.
    pub fn restore(&self, output: &[u8], original: Option<&Key>) -> Result<Vec<u8>, StoreError> {
        let key = Key::of(output);
        let bytes = self
            .backend
            .fetch(Table::Outputs, key.as_str())?
            .ok_or_else(|| StoreError::NoRecipe { key: key.to_string(), path: self.name() })?;
        let bad = |why: String| StoreError::BadRecipe { key: key.to_string(), path: self.name(), why };
        let set = restore::parse_set(&bytes).map_err(bad)?;
        let named = |set: &[&restore::Recipe]| {
            let named: Vec<String> = set.iter().map(|r| format!("{} ({} bytes)", r.original, r.len)).collect();
            named.join(", ")
        };
        let rebuild = |recipe: &restore::Recipe| {
            let mut original = Vec::new();
            for piece in &recipe.pieces {
                original.extend(self.retrieve(piece)?);
                if original.len() > recipe.len {
                    return Err(bad(format!("its pieces run past the original's {} bytes", recipe.len)));
                }
            }
            if Key::of(&original) != recipe.original {
                return Err(bad(format!("its pieces do not make the original {}", recipe.original)));
            }
            Ok(original)
        };
        match (original, set.as_slice()) {
            (Some(want), _) => match set.iter().find(|r| r.original == *want) {
                Some(r) => rebuild(r),
                None => Err(StoreError::NotItsOriginal {
                    key: key.to_string(),
                    path: self.name(),
                    original: want.to_string(),
                    originals: named(&set.iter().collect::<Vec<_>>()),
                }),
            },
            (None, [one]) => rebuild(one),
            (None, several) => {
                let mut good = Vec::new();
                let mut failed = None;
                for r in several {
                    match rebuild(r) {
                        Ok(bytes) => good.push((r, bytes)),
                        // a piece gone or a recipe that lies: this one cannot be the original
                        Err(e @ (StoreError::Absent { .. } | StoreError::BadRecipe { .. })) => {
                            failed.get_or_insert(e);
                        }
                        Err(e) => return Err(e),
                    }
                }
                match good.len() {
                    0 => Err(failed.unwrap_or_else(|| bad("it holds no recipe".into()))),
                    1 => Ok(good.pop().map(|(_, bytes)| bytes).unwrap_or_default()),
                    n => Err(StoreError::Ambiguous {
                        key: key.to_string(),
                        path: self.name(),
                        n,
                        originals: named(&good.iter().map(|(r, _)| *r).collect::<Vec<_>>()),
                    }),
                }
            }
        }
    }

    pub fn stats(&self) -> Result<Stats, StoreError> {
        let all = self.backend.list(Table::Originals)?;
        let outputs = self.backend.list(Table::Outputs)?.len() as u64;
        Ok(Stats {
            entries: all.len() as u64,
            bytes: all.iter().map(|m| m.size).sum(),
            outputs,
            oldest: all.iter().map(|m| m.created_at).min(),
            newest: all.iter().map(|m| m.created_at).max(),
        })
    }

    /// Removes entries older than `ttl_secs` (when given), then the oldest until the originals take
    /// at most `max_bytes`, then every recipe that needs a piece gone (its output could no longer
    /// be restored); gives the space back. Returns how many entries went.
    pub fn gc(&self, ttl_secs: Option<u64>, max_bytes: Option<u64>) -> Result<usize, StoreError> {
        let cutoff = ttl_secs.map(|t| now().saturating_sub(i64::try_from(t).unwrap_or(i64::MAX)));
        let mut all = self.backend.list(Table::Originals)?;
        // newest first: keep entries while they are young enough and their running total fits
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.key.cmp(&b.key)));
        let mut total = 0u64;
        let gone: Vec<String> = all
            .into_iter()
            .filter(|m| {
                total = total.saturating_add(m.size);
                cutoff.is_some_and(|c| m.created_at < c) || max_bytes.is_some_and(|cap| total > cap)
            })
            .map(|m| m.key)
            .collect();
        let mut removed = self.backend.remove(Table::Originals, &gone)?;
        let gone: std::collections::HashSet<&str> = gone.iter().map(String::as_str).collect();
        let mut stale = Vec::new();
        for m in self.backend.list(Table::Outputs)? {
            let old = cutoff.is_some_and(|c| m.created_at < c);
            // a recipe beside others stays until every one of them is broken: removing it alone
            // would leave a restore of its output to give back another original
            let broken = !gone.is_empty()
                && self.backend.fetch(Table::Outputs, &m.key)?.is_some_and(|b| {
                    restore::parse_set(&b)
                        .map_or(true, |set| set.iter().all(|r| r.pieces.iter().any(|p| gone.contains(p.as_str()))))
                });
            if old || broken {
                stale.push(m.key);
            }
        }
        removed += self.backend.remove(Table::Outputs, &stale)?;
        if removed > 0 {
            self.backend.compact()?;
        }
        Ok(removed)
    }

    /// Every original as JSON lines: `{"key", "created_at", "text"}` (or `"base64"` for bytes that
    /// are not UTF-8), then every recipe as `{"output", "created_at", "recipe"}`.
    pub fn export(&self, out: &mut dyn std::io::Write) -> Result<usize, StoreError> {
        use base64::Engine as _;
        let io = |e| StoreError::Io { path: "export".into(), cause: e };
        let mut n = 0;
        for table in [Table::Originals, Table::Outputs] {
            let mut all = self.backend.list(table)?;
            all.sort_by(|a, b| a.key.cmp(&b.key));
            for m in all {
                // removed by another process since the listing
                let Some(bytes) = self.backend.fetch(table, &m.key)? else { continue };
                let line = match (table, String::from_utf8(bytes)) {
                    (Table::Originals, Ok(text)) => {
                        serde_json::json!({ "key": m.key, "created_at": m.created_at, "text": text })
                    }
                    (Table::Originals, Err(e)) => serde_json::json!({
                        "key": m.key, "created_at": m.created_at,
                        "base64": base64::engine::general_purpose::STANDARD.encode(e.as_bytes()),
                    }),
                    (Table::Outputs, Ok(recipe)) => {
                        serde_json::json!({ "output": m.key, "created_at": m.created_at, "recipe": recipe })
                    }
                    (Table::Outputs, Err(_)) => continue,
                };
                writeln!(out, "{line}").map_err(io)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Reads lines written by [`Store::export`]; each original must match its key and each recipe
    /// must parse. Returns the entries added. Every line is checked before anything is written, so
    /// a bad line (an error naming its line number) adds nothing; the writes are then one
    /// transaction where the backend has them (SQLite), so a failed write adds nothing either
    /// (Redis has none: its error says how many entries were added before it).
    pub fn import(&self, name: &str, text: &str) -> Result<usize, StoreError> {
        use base64::Engine as _;
        enum Entry {
            Original(Key, Vec<u8>),
            Recipes(Key, Vec<restore::Recipe>),
        }
        let mut entries = Vec::new();
        // a byte-order mark an editor added is not part of the first line
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = |why: String| StoreError::Import {
                file: name.to_string(),
                line: i + 1,
                why: format!("{why} (nothing was added)"),
            };
            let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let entry = if let Some(output) = v["output"].as_str() {
                let key = Key::parse(output).ok_or_else(|| bad("no valid `output` key".into()))?;
                let recipe = v["recipe"].as_str().ok_or_else(|| bad("no `recipe`".into()))?;
                Entry::Recipes(key, restore::parse_set(recipe.as_bytes()).map_err(&bad)?)
            } else {
                let key = v["key"].as_str().and_then(Key::parse).ok_or_else(|| bad("no valid `key`".into()))?;
                let bytes = match (v["text"].as_str(), v["base64"].as_str()) {
                    (Some(t), _) => t.as_bytes().to_vec(),
                    (None, Some(b)) => {
                        base64::engine::general_purpose::STANDARD.decode(b).map_err(|e| bad(e.to_string()))?
                    }
                    _ => return Err(bad("no `text` or `base64`".into())),
                };
                if Key::of(&bytes) != key {
                    return Err(bad(StoreError::WrongKey { key: key.to_string() }.to_string()));
                }
                Entry::Original(key, bytes)
            };
            entries.push((i + 1, created_at(&v), entry));
        }
        let began = self
            .backend
            .begin()
            .map_err(|e| StoreError::ImportNotStarted { file: name.to_string(), why: e.to_string() })?;
        let mut added = 0;
        for (line, at, entry) in &entries {
            let wrote = match entry {
                Entry::Original(key, bytes) => self.put_at(key, bytes, *at).map(|put| put == Put::New),
                // one entry, however many recipes it holds (as the export counted it)
                Entry::Recipes(key, set) => set
                    .iter()
                    .try_fold(false, |new, r| self.file_recipe(key, r, *at).map(|filed| new | (filed != Filed::Known))),
            };
            match wrote {
                Ok(new) => added += usize::from(new),
                Err(e) => {
                    let why = if began {
                        self.backend.rollback();
                        format!("{e} (nothing was added)")
                    } else {
                        format!("{e} ({added} entries added before this line)")
                    };
                    return Err(StoreError::Import { file: name.to_string(), line: *line, why });
                }
            }
        }
        if began {
            self.backend.commit()?;
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_their_names() {
        assert_eq!(Location::parse("/tmp/s.db"), Location::File("/tmp/s.db".into()));
        let r = Location::parse("redis://:hunter2@cache:6379/2");
        assert!(matches!(r, Location::Redis(_)));
        assert_eq!(r.to_string(), "redis://***@cache:6379/2", "the password never reaches a message");
        assert_eq!(Location::parse("redis://cache/0").to_string(), "redis://cache/0");
        let q = Location::parse("REDIS://cache/0?password=hunter2&db=1");
        assert!(matches!(q, Location::Redis(_)), "schemes are case-insensitive");
        assert_eq!(q.to_string(), "REDIS://cache/0?password=***&db=1");
        assert!(Location::parse("file:///tmp/x.db").check().is_err(), "SQLite would take it as a URI");
        assert!(Location::parse("http://x/y").check().is_err());
        assert!(Location::parse("data/s.db").check().is_ok());
        let s = Settings { ttl_days: 2, max_mb: 1, ..Settings::default() };
        assert_eq!(s.policy(), Policy { ttl_secs: Some(172_800), max_bytes: Some(1 << 20) });
        assert_eq!(Settings::default().policy(), Policy::default());
        assert_eq!(s.location(Some("x.db")), Some(Location::File("x.db".into())));
    }
}
