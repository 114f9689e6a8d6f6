//! The README's examples are tests: every `console` block of README.md and models/README.md runs
//! (trycmd) and its output must match, so a changed output fails until the README says so. In the
//! README, `[..]` stands for a figure that changes between runs and a `...` line for lines left
//! out. The fixture table is checked against the engines too, and the model card against
//! metrics.json.

mod common;

use common::*;

/// Environment that would make `ctxlens models` see the tester's own runtimes and model caches
/// (an empty value counts as unset).
const MODEL_ENV: [&str; 6] =
    ["HF_HOME", "HF_HUB_CACHE", "CTXLENS_MODELS_DIR", "ORT_DYLIB_PATH", "VIRTUAL_ENV", "CONDA_PREFIX"];

#[test]
fn readme_console_examples_hold() {
    let cases = trycmd::TestCases::new();
    for var in MODEL_ENV {
        // an empty folder, so only the repository's own models/ is found
        cases.env(var, "");
    }
    cases
        .env("HOME", "/nonexistent-ctxlens-home")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .case("README.md")
        .case("models/README.md");
}

/// One row of the README's fixture table: fixture, routed as, tokens before, after, dropped
/// spans, decision (the saved % follows from the counts).
fn fixture_rows(readme: &str) -> Vec<(String, String, usize, usize, usize, String)> {
    let section = readme.split("## Results on the fixtures").nth(1).expect("README has the fixture table");
    let num = |s: &str| s.trim().replace(',', "").parse::<usize>().unwrap_or_else(|_| panic!("not a count: {s:?}"));
    section
        .lines()
        .take_while(|l| !l.starts_with("## ") && !l.starts_with("### "))
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
            let fixture = cells[0].trim_matches('`').to_string();
            (fixture, cells[1].to_string(), num(cells[2]), num(cells[3]), num(cells[5]), cells[6].to_string())
        })
        .collect()
}

/// The README's fixture table (written by scripts/fixture-report.py) matches what the engines do
/// now. Rows that go through the prose model are compared with a tolerance: its scores come from
/// float kernels that differ between CPUs, so a word near the threshold may go either way.
#[test]
fn readme_fixture_table_matches_the_engines() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows = fixture_rows(&readme);
    let mut listed: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    listed.sort();
    let mut all: Vec<String> =
        ["code", "diff", "json", "log", "mixed", "prose", "search"].iter().flat_map(|d| fixture_files(d)).collect();
    all.sort();
    assert_eq!(listed, all, "every fixture has a row (scripts/fixture-report.py)");
    let config = ctxlens::Config::default();
    for (fixture, routed, before, after, spans, decision) in &rows {
        let ctx = ctxlens::Context { path: Some(fixtures().join(fixture).display().to_string()), ..Default::default() };
        let o = ctxlens::compress(&read(fixture), ctxlens::EngineChoice::Auto, &config, &ctx);
        let engine = o.engine.map_or("mixed".to_string(), |k| k.to_string());
        let got_decision = if o.decision.acted() {
            "acted".to_string()
        } else {
            o.decision.reason().split(':').next().unwrap().to_string()
        };
        let why = format!("{fixture}: README row out of date; rerun scripts/fixture-report.py");
        assert_eq!((&engine, o.tokens_in, &got_decision), (routed, *before, decision), "{why}");
        let prose = o.sections.iter().any(|s| s.kind == ctxlens::EngineKind::Prose && s.decision.acted());
        if prose {
            let slack = before / 50;
            assert!(o.tokens_out.abs_diff(*after) <= slack, "{why}: {} tokens after, README {after}", o.tokens_out);
        } else {
            assert_eq!((o.tokens_out, o.ledger.drops.len()), (*after, *spans), "{why}");
        }
    }
}

/// The model card's held-out figures are the ones in metrics.json.
#[test]
fn model_card_matches_metrics_json() {
    let root = env!("CARGO_MANIFEST_DIR");
    let card = std::fs::read_to_string(format!("{root}/models/README.md")).unwrap();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{root}/models/minilm-tokscore/metrics.json")).unwrap())
            .unwrap();
    let held = &metrics["held_out"];
    for (key, what) in
        [("auc_head", "AUC"), ("auc_baseline_stopwords_length", "baseline"), ("keep_rate_at_0.5", "kept")]
    {
        let v = held[key].as_f64().unwrap();
        let shown = format!("{v:.3}");
        assert!(card.contains(&shown), "models/README.md should show {what} {shown} (metrics.json {key} = {v})");
    }
    let sha = metrics["model_sha256"].as_str().unwrap();
    assert!(card.contains(sha), "models/README.md names the model's sha256 {sha}");
    let int8 = &metrics["int8"];
    for key in ["auc_fp32", "auc_int8", "agreement_at_0.5"] {
        let shown = format!("{:.4}", int8[key].as_f64().unwrap());
        assert!(card.contains(&shown), "models/README.md should show the int8 entry's {key} {shown}");
    }
    let sha8 = int8["sha256"].as_str().unwrap();
    assert!(card.contains(sha8), "models/README.md names the int8 model's sha256 {sha8}");
}

/// The Rust version the README asks for is the manifest's `rust-version`.
#[test]
fn readme_rust_version_is_the_manifests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let manifest: toml::Table = std::fs::read_to_string(format!("{root}/Cargo.toml")).unwrap().parse().unwrap();
    let want = manifest["package"]["rust-version"].as_str().unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    assert!(readme.contains(&format!("Needs Rust ≥ {want} ")), "README should say `Needs Rust ≥ {want}`");
}
