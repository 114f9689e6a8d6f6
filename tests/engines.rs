//! Every engine on every fixture it is meant for: outputs valid, markers present for every drop,
//! the ledger accounting exactly for what is missing, errors and stack traces never dropped.

mod common;

use common::*;
use ctxlens::ledger::MARKER_RE;
use ctxlens::{Config, EngineChoice, EngineKind, tokens};
use regex::Regex;

fn acted(o: &ctxlens::Outcome, name: &str) {
    assert!(o.decision.acted(), "{name}: expected the engine to act, got {:?}", o.decision);
    assert!(o.tokens_out < o.tokens_in, "{name}: {} → {}", o.tokens_in, o.tokens_out);
}

#[test]
fn json_fixtures_stay_valid_and_account_for_every_drop() {
    for f in fixture_files("json") {
        let input = read(&f);
        let o = run(&input, EngineChoice::Only(EngineKind::Json), &Config::default());
        acted(&o, &f);
        check_ledger(&o);
        check_json_reconstruct(&o);
        assert!(!o.ledger.drops.is_empty(), "{f}: nothing dropped");
    }
}

#[test]
fn json_lines_fixture_made_from_cargo_messages() {
    // cargo --message-format=json output is JSON Lines; build one from the metadata fixture's
    // packages so the test needs no network.
    let meta: serde_json::Value = serde_json::from_str(&read("json/cargo-metadata.json")).unwrap();
    let lines: Vec<String> =
        meta["packages"].as_array().unwrap().iter().map(|p| serde_json::to_string(p).unwrap()).collect();
    let input = lines.join("\n") + "\n";
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert_eq!(o.engine, Some(EngineKind::Json));
    acted(&o, "jsonl");
    check_ledger(&o);
    check_json_reconstruct(&o);
    for l in o.output.lines() {
        serde_json::from_str::<serde_json::Value>(l).expect("each output line is JSON");
    }
}

/// Error lines and stack-trace lines, found independently of the engine's own rules.
fn must_keep_lines(input: &str) -> Vec<&str> {
    let error = Regex::new(
        r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|PANIC)\b|^E {2,}\S|panicked at|^[\w.]*(?:Error|Exception):|^error(?:\[E\d+\])?:|^FAILED ",
    )
    .unwrap();
    let frame =
        Regex::new(r"^\s+at \S|^Caused by: |^\s+\.\.\. \d+ more|^\s+\d+: \S|^\s+at /|^stack backtrace:").unwrap();
    let mut out = Vec::new();
    let mut in_py = false;
    for l in input.lines() {
        if l.starts_with("Traceback (most recent call last):") {
            in_py = true;
        }
        if in_py || error.is_match(l) || frame.is_match(l) {
            out.push(l);
        }
        if in_py
            && !l.starts_with(' ')
            && !l.starts_with("Traceback")
            && !l.is_empty()
            && !l.starts_with("During")
            && !l.starts_with("The above")
        {
            in_py = false;
        }
    }
    out
}

#[test]
fn log_fixtures_keep_every_error_and_trace_line() {
    for f in fixture_files("log") {
        let input = read(&f);
        let o = run(&input, EngineChoice::Only(EngineKind::Log), &Config::default());
        check_ledger(&o);
        if o.decision.acted() {
            check_lines_reconstruct(&o);
        }
        let out_lines: std::collections::HashSet<&str> = o.output.lines().collect();
        for l in must_keep_lines(&input) {
            assert!(out_lines.contains(l), "{f}: dropped an error or stack-trace line: {l:?}");
        }
    }
}

#[test]
fn log_fixtures_compress() {
    for f in ["log/dpkg.log", "log/apt-term.log", "log/python-service.log", "log/pytest-failures.log"] {
        let o = run(&read(f), EngineChoice::Only(EngineKind::Log), &Config::default());
        acted(&o, f);
        assert!(o.tokens_out * 2 < o.tokens_in, "{f}: only {} → {}", o.tokens_in, o.tokens_out);
    }
}

#[test]
fn every_log_fixture_routes_to_the_log_engine() {
    // npm 11's `npm error`, a bare Node.js stack, pip's verbose steps and a coloured terminal
    // capture went to prose (seconds of model time for nothing) before
    for f in fixture_files("log") {
        let o = run(&read(&f), EngineChoice::Auto, &Config::default());
        assert_eq!(o.engine, Some(EngineKind::Log), "{f}: {:?}", o.sections.first().map(|s| &s.detected));
    }
}

#[test]
fn colour_codes_and_progress_bars_do_not_hide_an_error() {
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&format!("\x1b[1m\x1b[92m   Compiling\x1b[0m crate{i} v1.0.{i}\r\n"));
    }
    input.push_str("  Building [=====>    ] 40/81\r  Building [========> ] 79/81\r\x1b[1m\x1b[91merror[E0308]\x1b[0m\x1b[1m: mismatched types\x1b[0m\r\n");
    for i in 0..100 {
        input.push_str(&format!("\x1b[1m\x1b[92m   Compiling\x1b[0m late{i} v0.{i}.0\r\n"));
    }
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert_eq!(o.engine, Some(EngineKind::Log));
    acted(&o, "coloured build");
    assert!(o.output.contains("mismatched types"), "the error line stays: {}", o.output);
    assert!(o.tokens_out * 2 < o.tokens_in);
}

#[test]
fn search_fixtures_account_for_every_match_and_keep_other_lines() {
    for f in fixture_files("search") {
        let input = read(&f);
        let o = run(&input, EngineChoice::Only(EngineKind::Search), &Config::default());
        acted(&o, &f);
        check_ledger(&o);
        check_lines_reconstruct(&o);
        // grep's own notes (binary file matches…) are not results and stay.
        for l in input.lines().filter(|l| l.starts_with("grep: ")) {
            assert!(o.output.contains(l), "{f}: dropped a non-result line {l:?}");
        }
    }
}

#[test]
fn diff_fixtures_account_for_every_drop() {
    for f in fixture_files("diff") {
        let input = read(&f);
        for set in [None, Some("diff.max_files=3"), Some("diff.max_hunks_per_file=1"), Some("diff.max_context_lines=0")]
        {
            let mut config = Config::default();
            if let Some(s) = set {
                config.set(s).unwrap();
            }
            let o = run(&input, EngineChoice::Only(EngineKind::Diff), &config);
            acted(&o, &f);
            check_ledger(&o);
            check_lines_reconstruct(&o);
        }
    }
}

#[test]
fn auto_routes_every_fixture_and_counts_right() {
    let expect = |f: &str| -> Option<EngineKind> {
        Some(match f.split('/').next().unwrap() {
            "json" => EngineKind::Json,
            "log" => EngineKind::Log,
            "search" => EngineKind::Search,
            "diff" => EngineKind::Diff,
            "code" => EngineKind::Code,
            _ => return None,
        })
    };
    for dir in ["json", "log", "search", "diff", "code", "prose", "mixed"] {
        for f in fixture_files(dir) {
            let input = read(&f);
            let o = run(&input, EngineChoice::Auto, &Config::default());
            if let Some(kind) = expect(&f) {
                assert_eq!(o.engine, Some(kind), "{f} routed as {:?}: {:?}", o.engine, o.sections);
            }
            assert_eq!(o.tokens_in, tokens::count(&input, o.tokenizer), "{f}");
            assert_eq!(o.tokens_out, tokens::count(&o.output, o.tokenizer), "{f}");
            // sections cover the input in order
            let mut cursor = 0;
            for s in &o.sections {
                assert_eq!(s.bytes.start, cursor, "{f}");
                cursor = s.bytes.end;
            }
            assert_eq!(cursor, input.len(), "{f}");
            check_ledger(&o);
            if !o.decision.acted() {
                assert_eq!(o.output, input, "{f}: a skip must pass the input through");
            }
        }
    }
}

#[test]
fn mixed_fixture_compresses_its_json_and_gives_each_section_a_reason() {
    let input = read("mixed/agent-answer.md");
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert!(o.engine.is_none(), "mixed content has several sections");
    let kinds: Vec<EngineKind> = o.sections.iter().map(|s| s.kind).collect();
    assert!(kinds.contains(&EngineKind::Json), "{kinds:?}");
    assert!(kinds.contains(&EngineKind::Prose), "{kinds:?}");
    for s in &o.sections {
        assert!(!s.decision.reason().is_empty());
        if s.kind == EngineKind::Json {
            assert!(s.decision.acted(), "{:?}", s.decision);
        }
    }
    assert!(MARKER_RE.is_match(&o.output));
    check_ledger(&o);
}
