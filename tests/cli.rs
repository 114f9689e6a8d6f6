//! The `ctxlens compress` command: stats, ledger files, config errors, and bad input that must be
//! skipped with a clear reason (never a panic, a hang or lost bytes).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::*;
use ctxlens::ledger::Key;
use serde_json::Value;

fn ctxlens(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctxlens"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ctxlens starts");
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stats_of(out: &Output) -> Value {
    let err = String::from_utf8_lossy(&out.stderr);
    let last =
        err.lines().last().unwrap_or_else(|| panic!("no stderr; stdout {}", String::from_utf8_lossy(&out.stdout)));
    serde_json::from_str(last).unwrap_or_else(|e| panic!("last stderr line is not JSON ({e}): {last}"))
}

fn compress_stdin(extra: &[&str], input: &[u8]) -> (Output, Value) {
    let mut args = vec!["compress", "--stats", "json"];
    args.extend_from_slice(extra);
    let out = ctxlens(&args, input);
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    let stats = stats_of(&out);
    (out, stats)
}

#[test]
fn stats_json_has_every_field_and_true_numbers() {
    let input = read("log/python-service.log");
    let (out, s) = compress_stdin(&["--engine", "auto"], input.as_bytes());
    for k in [
        "engine",
        "acted",
        "reason",
        "in_bytes",
        "out_bytes",
        "in_tokens",
        "out_tokens",
        "dropped_spans",
        "ms_total",
        "ms_engine",
        "ms_count",
        "ms_route",
    ] {
        assert!(s.get(k).is_some(), "missing {k} in {s}");
    }
    assert_eq!(s["engine"], "log");
    assert_eq!(s["acted"], true);
    assert_eq!(s["in_bytes"], input.len());
    assert_eq!(s["out_bytes"], out.stdout.len());
    let output = String::from_utf8(out.stdout).unwrap();
    assert_eq!(s["in_tokens"], ctxlens::tokens::count(&input, ctxlens::Tokenizer::O200k));
    assert_eq!(s["out_tokens"], ctxlens::tokens::count(&output, ctxlens::Tokenizer::O200k));
    assert!(s["dropped_spans"].as_u64().unwrap() > 0);
    let ms = |k: &str| s[k].as_f64().unwrap();
    assert!(ms("ms_total") > 0.0 && ms("ms_engine") > 0.0 && ms("ms_count") > 0.0);
    assert!(ms("ms_engine") + ms("ms_count") + ms("ms_route") <= ms("ms_total"), "{s}");
    // cl100k counts differently and says so
    let (_, s2) = compress_stdin(&["--tokenizer", "cl100k"], input.as_bytes());
    assert_eq!(s2["tokenizer"], "cl100k");
    assert_eq!(s2["in_tokens"], ctxlens::tokens::count(&input, ctxlens::Tokenizer::Cl100k));
    assert_ne!(s2["in_tokens"], s["in_tokens"]);
    // --redact says in the stats how many secrets it replaced (and nothing when not asked)
    assert!(s.get("redacted").is_none(), "{s}");
    let secret = b"curl -H 'x-api-key: sk-ant-api03-AbCdEf0123456789AbCdEf0123456789' https://api.example.com\n";
    let (out, s3) = compress_stdin(&["--redact"], secret);
    assert_eq!(s3["redacted"], 1, "{s3}");
    assert_eq!(s3["in_bytes"], out.stdout.len(), "in_bytes is the redacted input's");
}

#[test]
fn every_fixture_compresses_from_the_cli_with_correct_stats() {
    for dir in ["json", "log", "search", "diff", "code", "prose", "mixed"] {
        for f in fixture_files(dir) {
            let path = fixtures().join(&f);
            let out = ctxlens(&["compress", "--engine", "auto", "--stats", "json", path.to_str().unwrap()], b"");
            assert!(out.status.success(), "{f}");
            let s = stats_of(&out);
            let input = std::fs::read(&path).unwrap();
            assert_eq!(s["in_bytes"], input.len(), "{f}");
            assert_eq!(s["out_bytes"], out.stdout.len(), "{f}");
            if s["acted"] == false {
                assert_eq!(out.stdout, input, "{f}: skipped input must pass through");
            } else {
                assert!(s["out_tokens"].as_u64() < s["in_tokens"].as_u64(), "{f}: {s}");
            }
        }
    }
}

#[test]
fn ledger_file_lists_drops_whose_keys_retrieve_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger_path = dir.path().join("ledger.json");
    let path = fixtures().join("search/grep-serde-json-fn.txt");
    let out = ctxlens(&["compress", "--ledger", ledger_path.to_str().unwrap(), path.to_str().unwrap()], b"");
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&std::fs::read(&ledger_path).unwrap()).unwrap();
    let input = std::fs::read_to_string(&path).unwrap();
    let drops = doc["drops"].as_array().unwrap();
    assert!(!drops.is_empty());
    for d in drops {
        let (s, e) = (
            d["span"]["bytes"]["start"].as_u64().unwrap() as usize,
            d["span"]["bytes"]["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(Key::of(&input.as_bytes()[s..e]).as_str(), d["key"].as_str().unwrap());
        assert!(d["span"]["lines"]["first"].as_u64().unwrap() >= 1);
        assert!(!d["reason"].as_str().unwrap().is_empty());
    }
    let stdout = String::from_utf8(out.stdout).unwrap();
    for m in doc["markers"].as_array().unwrap() {
        assert!(stdout.contains(m["text"].as_str().unwrap()));
    }
}

#[test]
fn a_ledger_path_that_is_the_input_file_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.log");
    let text = std::fs::read(fixtures().join("log/python-service.log")).unwrap();
    std::fs::write(&path, &text).unwrap();
    // the same file under another spelling
    let other = dir.path().join(".").join("in.log");
    let out = ctxlens(&["compress", "--ledger", other.to_str().unwrap(), path.to_str().unwrap()], b"");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is the input file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), text, "the input must be untouched");
    // `-` would put the ledger into stdout with the output
    let out = ctxlens(&["compress", "--ledger", "-", path.to_str().unwrap()], b"");
    assert!(!out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("give it a file"));
}

#[test]
fn export_names_what_it_wrote_when_a_later_file_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tuned.headroom.py")).unwrap();
    let toml = dir.path().join("tuned.toml");
    let out = ctxlens(&["export", toml.to_str().unwrap(), "--set", "log.max_total_lines=40"], b"");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot write") && err.contains("tuned.headroom.py"), "{err}");
    assert!(err.contains("tuned.toml and") && err.contains("tuned.headroom.env written before it"), "{err}");
    assert!(!err.contains("at path"), "the temporary file's name leaked into the message: {err}");
    let written = std::fs::read_to_string(&toml).unwrap();
    assert!(written.contains("max_total_lines = 40"), "{written}");
}

#[test]
fn config_file_and_set_change_knobs() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "[search]\nmax_total_matches = 8\nmax_files = 4\n").unwrap();
    let input = read("search/grep-serde-json-fn.txt");
    let (out, s) = compress_stdin(&["--config", cfg.to_str().unwrap()], input.as_bytes());
    assert_eq!(s["engine"], "search");
    let kept = String::from_utf8(out.stdout).unwrap().lines().filter(|l| l.contains(".rs:")).count();
    assert!(kept <= 8, "kept {kept}");
    let (out2, _) = compress_stdin(
        &["--config", cfg.to_str().unwrap(), "--set", "search.max_total_matches=20", "--set", "search.max_files=20"],
        input.as_bytes(),
    );
    let kept2 = String::from_utf8(out2.stdout).unwrap().lines().filter(|l| l.contains(".rs:")).count();
    assert!(kept2 > kept, "--set after --config wins: {kept2} vs {kept}");
}

#[test]
fn bad_config_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[json]\nmax_items_after_crush = 20\nfirst_fraction = 3.0\n").unwrap();
    let out = ctxlens(&["compress", "--config", cfg.to_str().unwrap()], b"[]");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 3") && err.contains("out of range"), "{err}");
    assert!(out.stdout.is_empty(), "nothing is written on a config error");

    std::fs::write(&cfg, "[log]\nmax_errorz = 1\n").unwrap();
    let out = ctxlens(&["compress", "--config", cfg.to_str().unwrap()], b"x");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("max_errorz"), "{err}");

    std::fs::write(&cfg, "[log\n").unwrap();
    let out = ctxlens(&["compress", "--config", cfg.to_str().unwrap()], b"x");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1"));

    let out = ctxlens(&["compress", "--set", "diff.max_files=many"], b"x");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("diff.max_files=many"));

    let out = ctxlens(&["compress", "/nonexistent/input.txt"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/input.txt"));

    // the reason a config cannot be read is said once
    let out = ctxlens(&["compress", "--config", "/nonexistent/c.toml"], b"x");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/c.toml"), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

fn assert_skipped(input: &[u8], engine: &str, code: &str) -> Value {
    let (out, s) = compress_stdin(&["--engine", engine], input);
    assert_eq!(s["acted"], false, "{engine}: {s}");
    assert!(s["reason"].as_str().unwrap().starts_with(code), "{engine}: expected {code}, got {}", s["reason"]);
    assert!(out.stdout == input, "{engine}: skipped input must pass through byte for byte");
    s
}

#[test]
fn empty_binary_and_invalid_utf8_pass_through_with_a_reason() {
    for engine in ["auto", "json", "log", "search", "diff", "code", "prose"] {
        assert_skipped(b"", engine, "empty");
        let s = assert_skipped(b"GIF89a\x00\x01\x02binary", engine, "binary");
        assert!(s["reason"].as_str().unwrap().contains("byte 6"));
        let s = assert_skipped(b"line one\nline two \xff\xfe tail\n", engine, "invalid_utf8");
        assert!(s["reason"].as_str().unwrap().contains("offset 18, line 2"), "{}", s["reason"]);
    }
}

#[test]
fn a_ten_megabyte_line_is_handled_by_every_engine() {
    let line = "k".repeat(10 * 1024 * 1024);
    for (engine, code) in [
        ("auto", "too_small"),
        ("json", "not_this_type"),
        ("log", "too_small"),
        ("search", "not_this_type"),
        ("diff", "not_this_type"),
        ("code", "not_this_type"),
        ("prose", "too_small"),
    ] {
        assert_skipped(line.as_bytes(), engine, code);
    }
    // a 10 MB line of JSON is just JSON
    let rows: Vec<String> = (0..160_000)
        .map(|i| format!(r#"{{"id":{i},"status":"ok","region":"eu-{}","latency_ms":{}}}"#, i % 3, i % 97))
        .collect();
    let json = format!("[{}]", rows.join(","));
    assert!(json.len() > 9_000_000);
    let (out, s) = compress_stdin(&[], json.as_bytes());
    assert_eq!(s["engine"], "json");
    assert_eq!(s["acted"], true);
    serde_json::from_slice::<Value>(&out.stdout).unwrap();
}

#[test]
fn deep_and_truncated_json_are_skipped_with_the_parser_position() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for engine in ["auto", "json"] {
        let s = assert_skipped(deep.as_bytes(), engine, "parse_failed");
        assert!(s["reason"].as_str().unwrap().contains("128 levels deep or more"), "{}", s["reason"]);
    }
    let full = read("json/npm-view-typescript.json");
    let truncated = &full[..full.len() / 2];
    for engine in ["auto", "json"] {
        let s = assert_skipped(truncated.as_bytes(), engine, "parse_failed");
        let r = s["reason"].as_str().unwrap();
        assert!(r.contains("truncated") && r.contains("line "), "{r}");
    }
}

#[test]
fn knobs_lists_every_table_with_docs() {
    let out = ctxlens(&["knobs"], b"");
    let text = String::from_utf8(out.stdout).unwrap();
    for t in [
        "[router]",
        "[json]",
        "[log]",
        "[search]",
        "[diff]",
        "first_fraction = 0.3",
        "max_items_after_crush = 15",
        "protect_errors = true",
    ] {
        assert!(text.contains(t), "missing {t}");
    }
    let toml = String::from_utf8(ctxlens(&["knobs", "--toml"], b"").stdout).unwrap();
    assert_eq!(ctxlens::Config::parse(&toml).unwrap(), ctxlens::Config::default());
}

#[test]
fn bench_times_each_file_and_skips_what_it_cannot_read() {
    let log = fixtures().join("log/python-service.log");
    let json = fixtures().join("json/pip-inspect.json");
    let log = log.to_str().unwrap();
    let json = json.to_str().unwrap();
    let out = ctxlens(&["bench", "--json", "--repeat", "3", log, "no/such/file.txt", json], b"");
    // the others are timed; the exit status says one was not
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no/such/file.txt: skipped"), "{stderr}");
    assert!(stderr.contains("1 of 3 file(s) skipped"), "{stderr}");
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for (row, engine) in rows.iter().zip(["log", "json"]) {
        assert_eq!(row["engine"], engine);
        assert_eq!(row["repeat"], 3);
        let total = &row["total_ms"];
        let (lo, mid, hi) = (
            total["min_ms"].as_f64().unwrap(),
            total["median_ms"].as_f64().unwrap(),
            total["max_ms"].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi && lo > 0.0, "{row}");
        assert!(row["engine_ms"]["min_ms"].as_f64().unwrap() + row["count_ms"]["min_ms"].as_f64().unwrap() <= hi);
        assert_eq!(
            row["bytes"].as_u64().unwrap() as usize,
            std::fs::metadata(row["file"].as_str().unwrap()).unwrap().len() as usize
        );
    }
    // all readable: success; stdin cannot be read twice; an unknown engine names auto among the
    // choices
    assert!(ctxlens(&["bench", "--repeat", "1", log], b"").status.success());
    assert!(!ctxlens(&["bench", "-", "-"], b"x").status.success());
    let bad = ctxlens(&["bench", "--engine", "bogus", log], b"");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("auto"));
}
