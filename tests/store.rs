//! The reversible store: every key a fixture's ledger names (each dropped span and each marker's
//! payload) is stored by `compress --store` and `ctxlens retrieve` gives back exactly its bytes,
//! also with several processes writing at once; a store that cannot be written never costs the
//! compressed output.

use std::path::{Path, PathBuf};
use std::process::Command;

use ctxlens::config::Config;
use ctxlens::engine::Context;
use ctxlens::pipeline::{EngineChoice, compress};
use ctxlens::store::sqlite::Store;

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

#[test]
fn every_key_of_every_fixture_s_ledger_comes_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store.db")).unwrap();
    let mut keys = 0;
    for path in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let ctx = Context { path: Some(path.display().to_string()), ..Context::default() };
        let o = compress(&text, EngineChoice::Auto, &Config::default(), &ctx);
        let r = store.put_outcome(&o);
        assert!(r.failed.is_empty(), "{}: {:?}", path.display(), r.failed);
        for key in o.ledger.drops.iter().map(|d| &d.key).chain(o.ledger.markers.iter().map(|m| &m.key)) {
            let want = o.ledger.retrieve(&o.original, key).unwrap();
            let got = store.get(key).unwrap().unwrap_or_else(|| panic!("{}: {key} missing", path.display()));
            assert_eq!(got, want.as_bytes(), "{}: {key}", path.display());
            keys += 1;
        }
        // every key the output's markers carry is in the store
        for m in ctxlens::ledger::MARKER_RE.captures_iter(&o.output) {
            let key = ctxlens::ledger::Key::parse(&m[2]).unwrap();
            assert!(store.get(&key).unwrap().is_some(), "{}: marker key {key}", path.display());
        }
    }
    assert!(keys > 100, "the fixtures drop many spans: {keys}");
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
    assert!(ctxlens(&["retrieve", &k, "--query", "no line has this"], &store).stdout.is_empty());
    let stats: serde_json::Value = serde_json::from_slice(&ctxlens(&["store", "stats"], &store).stdout).unwrap();
    let entries = stats["entries"].as_u64().unwrap();
    assert!(entries > 2, "{stats}");
    let dump = dir.path().join("dump.jsonl");
    assert!(ctxlens(&["store", "export", dump.to_str().unwrap()], &store).status.success());
    let other = dir.path().join("other.db");
    let out = ctxlens(&["store", "--store", other.to_str().unwrap(), "import", dump.to_str().unwrap()], &store);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("added {entries} entries")));
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
    for bad in [&junk, &taken] {
        let out = Command::new(BIN).args(["compress", "--store-path"]).arg(bad).arg(&input).output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, plain.stdout, "the output is printed whole");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing stored") && err.contains(&*bad.to_string_lossy()), "{err}");
    }
    assert_eq!(std::fs::read(&junk).unwrap(), vec![7u8; 4096], "a file that is not a store is left as it was");
}
