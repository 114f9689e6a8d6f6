//! The reversible store, on SQLite and on a real Redis server: every key a fixture's ledger names
//! (each dropped span and each marker's payload) is stored by `compress --store` and `ctxlens
//! retrieve` gives back exactly its bytes, also with several processes writing at once; every
//! output, through every engine, gives its original back byte for byte (`ctxlens restore`), on the
//! fixtures and on generated inputs, and never gives back the wrong one when two originals
//! compressed to the same output; a store that cannot be written never costs the compressed
//! output, and the ledger names what was not stored.
//!
//! The Redis tests start their own `redis-server` (Debian's package; `scripts/test.sh` installs it)
//! on a free port, without persistence, and stop it when done.

use std::path::{Path, PathBuf};
use std::process::Command;

use ctxlens::config::Config;
use ctxlens::engine::{Context, EngineKind};
use ctxlens::outcome::Outcome;
use ctxlens::pipeline::{EngineChoice, compress};
use ctxlens::store::{Location, Policy, Store};

const BIN: &str = env!("CARGO_BIN_EXE_ctxlens");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every text fixture of the engines' folders (prose included: the prose engine runs when its
/// model is set up, and passes through, with nothing to store, when it is not).
fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["json", "log", "search", "diff", "code", "mixed", "prose"] {
        for e in std::fs::read_dir(root().join("fixtures").join(dir)).unwrap() {
            let p = e.unwrap().path();
            if std::fs::read(&p).is_ok_and(|b| std::str::from_utf8(&b).is_ok()) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A redis-server of our own on a free port, stopped on drop.
struct RedisServer {
    child: std::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server; scripts/test.sh installs it)");
        let url = format!("redis://127.0.0.1:{port}/0");
        let server = RedisServer { child, url, _dir: dir };
        for _ in 0..200 {
            if redis::Client::open(server.url.as_str()).and_then(|c| c.get_connection()).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server did not answer on port {port} within 10 s");
    }

    fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url.as_str()).unwrap().get_connection().unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every key of `o`'s ledger and markers is in `store` with exactly its bytes, and the output
/// restores the original byte for byte.
fn check_round_trip(store: &Store, o: &Outcome, what: &str) -> usize {
    let r = store.put_outcome(o);
    assert!(r.failed.is_empty(), "{what}: {:?}", r.failed);
    let mut keys = 0;
    for key in o.drop_keys().into_iter().chain(o.ledger.markers.iter().map(|m| m.key)) {
        let key = &key;
        let want = o.ledger.retrieve(&o.original, key).unwrap();
        let got = store.get(key).unwrap().unwrap_or_else(|| panic!("{what}: {key} missing"));
        assert_eq!(got, want.as_bytes(), "{what}: {key}");
        keys += 1;
    }
    // every key the output's markers carry is in the store
    for m in ctxlens::ledger::MARKER_RE.captures_iter(&o.output) {
        let key = ctxlens::ledger::Key::parse(&m[2]).unwrap();
        assert!(store.get(&key).unwrap().is_some(), "{what}: marker key {key}");
    }
    if *o.output != *o.original {
        assert!(r.recipe, "{what}: no restore recipe stored");
        let back = store.restore(o.output.as_bytes(), None).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(back == o.original.as_bytes(), "{what}: the restored original differs");
    }
    keys
}

/// Every fixture through the router and through each engine by hand (prose only where it is
/// routed: its model is slow), into `store`.
fn every_fixture_through_every_engine(store: &Store) {
    let mut keys = 0;
    let mut restored = 0;
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let ctx = Context { path: Some(path.display().to_string()), ..Context::default() };
        let choices = std::iter::once(EngineChoice::Auto)
            .chain(EngineKind::ALL.iter().filter(|k| **k != EngineKind::Prose).map(|k| EngineChoice::Only(*k)));
        for choice in choices {
            let o = compress(&text, choice, &Config::default(), &ctx);
            let what = format!("{} ({choice})", path.display());
            keys += check_round_trip(store, &o, &what);
            restored += usize::from(*o.output != *o.original);
        }
    }
    assert!(keys > 100, "the fixtures drop many spans: {keys}");
    assert!(restored > 40, "most fixture × engine pairs change the text: {restored}");
}

#[test]
fn every_fixture_through_every_engine_round_trips_through_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&Location::File(dir.path().join("store.db")), Policy::default()).unwrap();
    every_fixture_through_every_engine(&store);
}

#[test]
fn every_fixture_through_every_engine_round_trips_through_redis() {
    let server = RedisServer::start();
    let store = Store::open(&Location::parse(&server.url), Policy::default()).unwrap();
    every_fixture_through_every_engine(&store);
    let stats = store.stats().unwrap();
    assert!(stats.entries > 100 && stats.outputs > 40, "{stats:?}");
    // export from Redis, import into SQLite: the same entries, and outputs still restore
    let mut dump = Vec::new();
    let n = store.export(&mut dump).unwrap();
    assert_eq!(n as u64, stats.entries + stats.outputs);
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&Location::File(dir.path().join("s.db")), Policy::default()).unwrap();
    assert_eq!(local.import("dump", std::str::from_utf8(&dump).unwrap()).unwrap(), n);
    let text = std::fs::read_to_string(root().join("fixtures/log/pytest-failures.log")).unwrap();
    let o = compress(&text, EngineChoice::Auto, &Config::default(), &Context::default());
    assert_eq!(local.restore(o.output.as_bytes(), None).unwrap(), text.as_bytes());
}

#[test]
fn redis_entries_expire_on_their_own_and_gc_keeps_the_size_cap() {
    let server = RedisServer::start();
    let policy = Policy { ttl_secs: Some(3600), max_bytes: None };
    let store = Store::open(&Location::parse(&server.url), policy).unwrap();
    let text = std::fs::read_to_string(root().join("fixtures/log/pytest-failures.log")).unwrap();
    let o = compress(&text, EngineChoice::Auto, &Config::default(), &Context::default());
    assert!(store.put_outcome(&o).failed.is_empty());
    let mut conn = server.connection();
    let key = format!("ctxlens:o:{}", o.ledger.drops[0].key(&o.original));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query(&mut conn).unwrap();
    assert!((3590..=3600).contains(&ttl), "the entry expires in an hour: {ttl}");
    // a second writer of the same spans (another team member) adds nothing and changes nothing
    let again = Store::open(&Location::parse(&server.url), Policy::default()).unwrap().put_outcome(&o);
    assert_eq!((again.new, again.failed.len()), (0, 0));
    assert!(again.known > 0);
    let before = store.stats().unwrap();
    assert!(store.gc(None, Some(before.bytes / 2)).unwrap() > 0);
    assert!(store.stats().unwrap().bytes <= before.bytes / 2);
    // a stranger's value under our prefix is an error naming it, not a panic
    redis::cmd("SET").arg("ctxlens:o:0123456789abcdef").arg("x").query::<()>(&mut conn).unwrap();
    let e = store.get(&ctxlens::ledger::Key::parse("0123456789abcdef").unwrap()).unwrap_err().to_string();
    assert!(e.contains("ctxlens:o:0123456789abcdef"), "{e}");
    // a server that is not there: a clear error naming it, within the timeout
    drop(conn);
    let url = server.url.clone();
    drop(server);
    let e = Store::open(&Location::parse(&url), Policy::default()).unwrap_err().to_string();
    assert!(e.contains(&url), "{e}");
}

fn ctxlens(args: &[&str], store: &Path) -> std::process::Output {
    Command::new(BIN).args(args).env("CTXLENS_STORE", store).output().unwrap()
}

#[test]
fn compress_store_then_retrieve_from_the_cli_with_two_writers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("data/store.db");
    let inputs = [root().join("fixtures/log/pytest-failures.log"), root().join("fixtures/json/npm-view-express.json")];
    // two processes write the same new store at once
    let children: Vec<_> = inputs
        .iter()
        .map(|p| {
            let ledger = dir.path().join(format!("{}.ledger.json", p.file_name().unwrap().to_string_lossy()));
            Command::new(BIN)
                .args(["compress", "--store", "--ledger"])
                .arg(&ledger)
                .arg(p)
                .env("CTXLENS_STORE", &store)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for p in &inputs {
        let original = std::fs::read_to_string(p).unwrap();
        let ledger = dir.path().join(format!("{}.ledger.json", p.file_name().unwrap().to_string_lossy()));
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(ledger).unwrap()).unwrap();
        let drops = doc["drops"].as_array().unwrap();
        assert!(!drops.is_empty());
        for d in drops {
            let key = d["key"].as_str().unwrap();
            let out = ctxlens(&["retrieve", key], &store);
            assert!(out.status.success(), "{key}: {}", String::from_utf8_lossy(&out.stderr));
            let span = &d["span"]["bytes"];
            let (a, b) = (span["start"].as_u64().unwrap() as usize, span["end"].as_u64().unwrap() as usize);
            assert_eq!(out.stdout, original.as_bytes()[a..b].to_vec(), "{key}");
        }
    }
    // --query keeps the matching lines; stats and an export/import round trip
    let log = std::fs::read_to_string(&inputs[0]).unwrap();
    let o = compress(&log, EngineChoice::Auto, &Config::default(), &Context::default());
    let k = o.ledger.markers[0].key.to_string();
    let all = ctxlens(&["retrieve", &k], &store).stdout;
    let passed = ctxlens(&["retrieve", &k, "--query", "passed"], &store).stdout;
    let passed = String::from_utf8(passed).unwrap();
    let want: String =
        String::from_utf8(all).unwrap().split_inclusive('\n').filter(|l| l.to_lowercase().contains("passed")).collect();
    assert!(!passed.is_empty());
    assert_eq!(passed, want);
    // a query no line holds prints nothing and fails (as grep), saying why; a malformed key is a
    // usage error (2), a key the store lacks a failed lookup (1)
    let none = ctxlens(&["retrieve", &k, "--query", "no line has this"], &store);
    assert!(none.stdout.is_empty() && none.status.code() == Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("no line of the original"), "{none:?}");
    assert_eq!(ctxlens(&["retrieve", "not-a-key"], &store).status.code(), Some(2));
    assert_eq!(ctxlens(&["retrieve", "0000000000000000"], &store).status.code(), Some(1));
    assert_eq!(
        ctxlens(&["retrieve", &format!("[ctxlens: 3 lines omitted; key={k}]")], &store).stdout,
        ctxlens(&["retrieve", &k], &store).stdout
    );
    let stats: serde_json::Value = serde_json::from_slice(&ctxlens(&["store", "stats"], &store).stdout).unwrap();
    let entries = stats["entries"].as_u64().unwrap();
    assert!(entries > 2 && stats["outputs"] == 2, "{stats}");
    let entries = entries + 2;
    let dump = dir.path().join("dump.jsonl");
    assert!(ctxlens(&["store", "export", dump.to_str().unwrap()], &store).status.success());
    let other = dir.path().join("other.db");
    let out = ctxlens(&["store", "--store", other.to_str().unwrap(), "import", dump.to_str().unwrap()], &store);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("added {entries} entries")));
    // an import is all or nothing: a bad last line (an original that is not its key's) adds no
    // entry, neither does a write that fails half-way (a key another text holds, a collision)
    let dump_text = std::fs::read_to_string(&dump).unwrap();
    let fresh = dir.path().join("fresh.db");
    let lines = dump_text.lines().count();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, format!("{dump_text}{{\"key\":\"0123456789abcdef\",\"text\":\"not its key\"}}\n")).unwrap();
    let out = ctxlens(&["store", "--store", fresh.to_str().unwrap(), "import", bad.to_str().unwrap()], &store);
    let err = String::from_utf8_lossy(&out.stderr);
    let at = format!("bad.jsonl:{}: key 0123456789abcdef is not the key", lines + 1);
    assert!(!out.status.success() && err.contains(&at) && err.contains("nothing was added"), "{err}");
    let count = |db: &Path| -> u64 {
        let out = ctxlens(&["store", "--store", db.to_str().unwrap(), "stats"], &store);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        v["entries"].as_u64().unwrap_or(0) + v["outputs"].as_u64().unwrap_or(0)
    };
    assert_eq!(count(&fresh), 0, "the bad line's dump added nothing");
    let first: serde_json::Value = serde_json::from_str(dump_text.lines().next().unwrap()).unwrap();
    // the first original's key, holding other bytes, put there behind the store's back
    let conn = rusqlite::Connection::open(&fresh).unwrap();
    let n = conn
        .execute(
            "INSERT INTO originals (key, bytes, created_at) VALUES (?1, ?2, 0)",
            rusqlite::params![first["key"].as_str().unwrap(), b"other bytes".to_vec()],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    let out = ctxlens(&["store", "--store", fresh.to_str().unwrap(), "import", dump.to_str().unwrap()], &store);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("dump.jsonl:1: ") && err.contains("nothing was added"), "{err}");
    assert_eq!(count(&fresh), 1, "only the planted entry is there");
    // an editor's byte-order mark is not part of the first line; bytes that are not UTF-8 are an
    // error naming their line
    let bom = dir.path().join("bom.jsonl");
    std::fs::write(&bom, format!("\u{feff}{dump_text}")).unwrap();
    let with_bom = dir.path().join("with-bom.db");
    let out = ctxlens(&["store", "--store", with_bom.to_str().unwrap(), "import", bom.to_str().unwrap()], &store);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&with_bom), entries);
    let mut bytes = dump_text.clone().into_bytes();
    let second = bytes.iter().position(|b| *b == b'\n').unwrap() + 3;
    bytes[second] = 0xff;
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, bytes).unwrap();
    let out = ctxlens(&["store", "--store", with_bom.to_str().unwrap(), "import", broken.to_str().unwrap()], &store);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("broken.jsonl:2: not UTF-8"), "{err}");
    // an unknown key and a malformed one are clear errors
    let out = ctxlens(&["retrieve", "0000000000000000"], &store);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not in"));
    let out = ctxlens(&["retrieve", "xyz"], &store);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a ctxlens key"));
}

#[test]
fn a_store_that_cannot_be_written_never_costs_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = root().join("fixtures/log/pytest-failures.log");
    let plain = Command::new(BIN).args(["compress"]).arg(&input).output().unwrap();
    // not a database
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    // a directory where the file should be
    let taken = dir.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    let ledger = dir.path().join("ledger.json");
    for bad in [&junk, &taken] {
        let out = Command::new(BIN)
            .args(["compress", "--ledger"])
            .arg(&ledger)
            .arg("--store-path")
            .arg(bad)
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, plain.stdout, "the output is printed whole");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing stored") && err.contains(&*bad.to_string_lossy()), "{err}");
        // the ledger names every key that will not retrieve, and why
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&ledger).unwrap()).unwrap();
        assert_eq!(doc["store"]["location"], bad.to_string_lossy().as_ref(), "the store asked for is named");
        assert_eq!(doc["store"]["opened"], false);
        let unstored: std::collections::HashSet<&str> =
            doc["store"]["unstored"].as_array().unwrap().iter().map(|u| u["key"].as_str().unwrap()).collect();
        let named = doc["drops"].as_array().unwrap().iter().chain(doc["markers"].as_array().unwrap());
        for d in named {
            assert!(unstored.contains(d["key"].as_str().unwrap()), "{d} is not said to be unstored");
        }
        assert!(doc["store"]["unstored"][0]["why"].as_str().unwrap().contains(&*bad.to_string_lossy()), "{doc}");
    }
    assert_eq!(std::fs::read(&junk).unwrap(), vec![7u8; 4096], "a file that is not a store is left as it was");
}

#[test]
fn restore_gives_the_original_back_from_the_cli_and_the_config_can_turn_the_store_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let config = dir.path().join("c.toml");
    std::fs::write(&config, format!("[store]\nenabled = true\nlocation = {:?}\n", store.display().to_string()))
        .unwrap();
    for input in ["fixtures/json/npm-view-express.json", "fixtures/diff/requests-2.31.0-2.32.3.git.diff"] {
        let input = root().join(input);
        let out = Command::new(BIN).arg("compress").arg("--config").arg(&config).arg(&input).output().unwrap();
        assert!(out.status.success() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
        let compressed = dir.path().join("out.txt");
        std::fs::write(&compressed, &out.stdout).unwrap();
        let back = Command::new(BIN).arg("restore").arg(&compressed).arg("--store").arg(&store).output().unwrap();
        assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
        assert!(back.stdout == std::fs::read(&input).unwrap(), "{}: restored byte for byte", input.display());
        // one byte changed: no recipe, and the error says what still works
        let mut edited = out.stdout.clone();
        edited.push(b' ');
        std::fs::write(&compressed, &edited).unwrap();
        let back = Command::new(BIN).arg("restore").arg(&compressed).arg("--store").arg(&store).output().unwrap();
        let err = String::from_utf8_lossy(&back.stderr);
        assert!(!back.status.success() && back.stdout.is_empty(), "{err}");
        assert!(err.contains("no restore recipe") && err.contains("ctxlens retrieve"), "{err}");
    }
}

/// Two originals that compress to the same bytes (a diff with and without its final newline):
/// `store` keeps a recipe for each, a restore without `original` refuses and lists both, with it
/// gives each back; an export and import keep both.
fn same_output_from_two_originals(store: &Store, other: &Store) {
    use ctxlens::ledger::Key;
    use ctxlens::store::StoreError;
    let with = std::fs::read_to_string(root().join("fixtures/diff/requests-2.31.0-2.32.3.ru.diff")).unwrap();
    let without = with.strip_suffix('\n').unwrap().to_string();
    let a = compress(&with, EngineChoice::Auto, &Config::default(), &Context::default());
    let b = compress(&without, EngineChoice::Auto, &Config::default(), &Context::default());
    assert!(a.output == b.output && a.output != with, "the two inputs compress to the same output");
    let out = a.output.as_bytes();
    assert_eq!(store.put_outcome(&a).shared_by, None);
    assert_eq!(store.restore(out, None).unwrap(), with.as_bytes());
    assert_eq!(store.put_outcome(&b).shared_by, Some(2), "the second original is filed beside the first");
    assert_eq!(store.put_outcome(&b).shared_by, None, "the same original again is known");
    let (ka, kb) = (Key::of(with.as_bytes()), Key::of(without.as_bytes()));
    let check = |s: &Store| {
        match s.restore(out, None) {
            Err(e @ StoreError::Ambiguous { n: 2, .. }) => {
                let msg = e.to_string();
                assert!(msg.contains(ka.as_str()) && msg.contains(kb.as_str()) && msg.contains("--original"), "{msg}");
            }
            other => panic!("a restore that cannot know which original refuses: {other:?}"),
        }
        assert_eq!(s.restore(out, Some(&ka)).unwrap(), with.as_bytes());
        assert_eq!(s.restore(out, Some(&kb)).unwrap(), without.as_bytes());
        let stranger = Key::of(b"not an original");
        assert!(matches!(s.restore(out, Some(&stranger)), Err(StoreError::NotItsOriginal { .. })));
    };
    check(store);
    let mut dump = Vec::new();
    let exported = store.export(&mut dump).unwrap();
    assert_eq!(other.import("dump", std::str::from_utf8(&dump).unwrap()).unwrap(), exported, "one entry per line");
    check(other);
    // a forged line filed beside the real recipes (an original whose pieces are not the pieces
    // it claims, and one whose piece is in no store) is passed over: it makes nothing ambiguous
    // that was not, and a restore of it by name says why it fails
    let forged = |claims: &[u8], pieces: &[&Key]| {
        let recipe = serde_json::json!({
            "ctxlens_restore": 1, "original": Key::of(claims).as_str(), "len": with.len(),
            "pieces": pieces.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        });
        serde_json::json!({ "output": Key::of(out).as_str(), "created_at": 0, "recipe": recipe.to_string() })
    };
    let lies = forged(b"a forged original", &[&a.ledger.drops[0].key(&a.original)]);
    let gone = forged(b"x", &[&Key::of(b"in no store")]);
    let only_a = tempfile::tempdir().unwrap();
    let single = Store::open(&Location::File(only_a.path().join("one.db")), Policy::default()).unwrap();
    assert_eq!(single.put_outcome(&a).shared_by, None);
    single.import("forged", &format!("{lies}\n{gone}\n")).unwrap();
    assert_eq!(single.restore(out, None).unwrap(), with.as_bytes(), "the one recipe that rebuilds its original");
    let named = single.restore(out, Some(&Key::of(b"a forged original")));
    assert!(matches!(&named, Err(StoreError::BadRecipe { why, .. }) if why.contains("do not make")), "{named:?}");
    other.import("forged", &format!("{lies}\n")).unwrap();
    assert!(
        matches!(other.restore(out, None), Err(StoreError::Ambiguous { n: 2, .. })),
        "two real originals still are"
    );
    // the output compressed again passes through unchanged: it is a third original of these bytes
    let again = compress(&a.output, EngineChoice::Auto, &Config::default(), &Context::default());
    assert_eq!(again.output, a.output, "an output is not compressed further");
    assert_eq!(store.put_outcome(&again).shared_by, Some(3));
    assert!(matches!(store.restore(out, None), Err(StoreError::Ambiguous { n: 3, .. })));
    assert_eq!(store.restore(out, Some(&Key::of(out))).unwrap(), out);
}

#[test]
fn two_originals_with_one_output_each_restore_through_sqlite_and_redis() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = |name: &str| Store::open(&Location::File(dir.path().join(name)), Policy::default()).unwrap();
    let server = RedisServer::start();
    let redis = Store::open(&Location::parse(&server.url), Policy::default()).unwrap();
    same_output_from_two_originals(&sqlite("a.db"), &sqlite("b.db"));
    same_output_from_two_originals(&redis, &sqlite("c.db"));
    // and from the command line: the second compress says how to restore it
    let store = dir.path().join("cli.db");
    let with = root().join("fixtures/diff/requests-2.31.0-2.32.3.ru.diff");
    let bytes = std::fs::read(&with).unwrap();
    let without = dir.path().join("without.diff");
    std::fs::write(&without, &bytes[..bytes.len() - 1]).unwrap();
    let first = ctxlens(&["compress", "--store", with.to_str().unwrap()], &store);
    let second = ctxlens(&["compress", "--store", without.to_str().unwrap()], &store);
    assert!(first.status.success() && second.status.success());
    assert_eq!(first.stdout, second.stdout);
    let note = String::from_utf8_lossy(&second.stderr);
    let key = ctxlens::ledger::Key::of(&bytes[..bytes.len() - 1]);
    assert!(note.contains(&format!("--original {key}")), "{note}");
    let output = dir.path().join("out.diff");
    std::fs::write(&output, &second.stdout).unwrap();
    let refused = ctxlens(&["restore", output.to_str().unwrap()], &store);
    assert!(!refused.status.success() && refused.stdout.is_empty());
    let back = ctxlens(&["restore", "--original", key.as_str(), output.to_str().unwrap()], &store);
    assert!(back.status.success(), "{}", String::from_utf8_lossy(&back.stderr));
    assert!(back.stdout == bytes[..bytes.len() - 1], "the original without its final newline");
    // the output compressed again passes through: a third original of the same bytes
    let third = ctxlens(&["compress", "--store", output.to_str().unwrap()], &store);
    assert_eq!(third.stdout, second.stdout);
    let note = String::from_utf8_lossy(&third.stderr);
    assert!(note.contains("3 different originals"), "{note}");
    let refused = ctxlens(&["restore", output.to_str().unwrap()], &store);
    assert!(!refused.status.success(), "{}", String::from_utf8_lossy(&refused.stdout));
}

mod generated {
    use super::*;
    use proptest::prelude::*;

    /// Log lines, JSON rows and grep matches with non-ASCII at the edges: what the router sends to
    /// the line engines and the JSON engine.
    fn text() -> impl Strategy<Value = String> {
        let word = prop::sample::select(vec!["ok", "ERROR", "é", "日本", "timeout", "x=1", "🙂", "\\", "\"q\""]);
        let line = prop::collection::vec(word, 1..8).prop_map(|w| w.join(" "));
        let log = prop::collection::vec(line.clone(), 1..400).prop_map(|ls| {
            ls.iter().enumerate().map(|(i, l)| format!("2026-12-02 10:00:{:02} INFO {l}\n", i % 60)).collect()
        });
        let json = prop::collection::vec((0..1000u32, line.clone()), 1..200).prop_map(|rows| {
            let rows: Vec<String> =
                rows.iter().map(|(i, l)| format!("  {{\"id\": {i}, \"msg\": {}}}", serde_json::json!(l))).collect();
            format!("[\n{}\n]\n", rows.join(",\n"))
        });
        let grep = prop::collection::vec((0..500u32, line), 1..300)
            .prop_map(|ms| ms.iter().map(|(n, l)| format!("src/f{}.rs:{n}:{l}\n", n % 7)).collect());
        prop_oneof![log, json, grep]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 48,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x0057_07e5),
            ..ProptestConfig::default()
        })]
        #[test]
        fn every_generated_output_restores_its_original(t in text()) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&Location::File(dir.path().join("s.db")), Policy::default()).unwrap();
            let o = compress(&t, EngineChoice::Auto, &Config::default(), &Context::default());
            check_round_trip(&store, &o, "generated");
        }
    }
}

#[test]
fn hostile_store_commands_fail_clearly_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    let input = root().join("fixtures/log/pytest-failures.log");
    assert!(ctxlens(&["compress", "--store", input.to_str().unwrap()], &store).status.success());
    let before = std::fs::read(&store).unwrap();
    // an export onto the store itself is refused, and the store is left as it was
    let out = ctxlens(&["store", "export", store.to_str().unwrap()], &store);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is the store itself"));
    assert_eq!(std::fs::read(&store).unwrap(), before);
    // reading a store that is not there does not create one
    let missing = dir.path().join("none/s.db");
    let out = ctxlens(&["store", "stats"], &missing);
    assert!(!out.status.success() && !missing.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    // a file: URI or another scheme is no path ctxlens can keep private
    let out = ctxlens(&["store", "import", "x.jsonl"], Path::new("file:///tmp/ctxlens-x.db"));
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("is a URL"));
    // a password in the query never reaches a message
    let out = ctxlens(&["store", "stats", "--store", "REDIS://127.0.0.1:1/0?password=hunter2"], &store);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && !err.contains("hunter2") && err.contains("password=***"), "{err}");
    // stdout that cannot be written is an error, not a panic
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out =
            Command::new(BIN).args(["store", "stats"]).env("CTXLENS_STORE", &store).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn gc_never_leaves_a_recipe_without_its_pieces_and_import_keeps_ages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&Location::File(path.clone()), Policy::default()).unwrap();
    let mut outputs = Vec::new();
    for f in ["json/npm-view-express.json", "log/pytest-failures.log", "search/grep-tokio-fn-new.txt"] {
        let text = std::fs::read_to_string(root().join("fixtures").join(f)).unwrap();
        let o = compress(&text, EngineChoice::Auto, &Config::default(), &Context::default());
        assert!(store.put_outcome(&o).recipe);
        outputs.push((o.output.clone(), text));
    }
    let mut dump = Vec::new();
    store.export(&mut dump).unwrap();
    // the database and its write-ahead log together
    let on_disk = || {
        let wal = std::path::PathBuf::from(format!("{}-wal", path.display()));
        std::fs::metadata(&path).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len())
    };
    let size = on_disk();
    let stats = store.stats().unwrap();
    assert!(store.gc(None, Some(stats.bytes / 3)).unwrap() > 0);
    // every output either restores whole or has no recipe left: never a recipe with a hole
    let mut restored = 0;
    for (out, text) in &outputs {
        match store.restore(out.as_bytes(), None) {
            Ok(b) => {
                assert_eq!(b, text.as_bytes());
                restored += 1;
            }
            Err(e) => assert!(e.to_string().contains("no restore recipe"), "{e}"),
        }
    }
    assert!(restored < outputs.len(), "a third of the bytes cannot hold all three");
    assert!(on_disk() < size, "the files give the space back: {} → {}", size, on_disk());
    // an import keeps each entry's age, so a TTL does not restart on a migration
    let other = Store::open(&Location::File(dir.path().join("t.db")), Policy::default()).unwrap();
    let old: String = String::from_utf8(dump)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["created_at"] = 1_000_000.into();
            format!("{v}\n")
        })
        .collect();
    other.import("old.jsonl", &old).unwrap();
    assert_eq!(other.stats().unwrap().oldest, Some(1_000_000));
    assert!(other.gc(Some(3600), None).unwrap() > 0);
    assert_eq!(other.stats().unwrap().entries, 0, "entries from long ago are old");
}
