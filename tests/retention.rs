//! Retention on the real fixtures at default knobs: what each engine must keep (issue targets),
//! measured on input and output text by `ctxlens::retention`, and the CLI's `--retention-min`.

mod common;

use common::*;
use ctxlens::retention::{self, Retention};
use ctxlens::{Config, Context, EngineChoice};

/// Each fixture of a folder compressed at default knobs, with its retention.
fn measured(dir: &str) -> Vec<(String, Retention)> {
    fixture_files(dir)
        .into_iter()
        .map(|f| {
            let ctx = Context { path: Some(f.clone()), ..Default::default() };
            let o = ctxlens::compress(&read(&f), EngineChoice::Auto, &Config::default(), &ctx);
            let r = retention::of_outcome(&o, None, Some(&f));
            (f, r)
        })
        .collect()
}

fn share(r: &Retention, metric: &str) -> f64 {
    r.metrics.iter().find(|m| m.name == metric).map_or(1.0, |m| m.share)
}

#[test]
fn json_keeps_its_schema() {
    let mut schema: Vec<f64> = measured("json").iter().map(|(_, r)| share(r, "schema")).collect();
    schema.sort_by(f64::total_cmp);
    assert!(schema[0] >= 0.90, "minimum schema coverage {schema:?}");
    assert!(schema[schema.len() / 2] >= 0.98, "median schema coverage {schema:?}");
}

#[test]
fn npm_view_keeps_every_key_and_samples_its_maps() {
    let text = read("json/npm-view-express.json");
    let o = run(&text, EngineChoice::Auto, &Config::default());
    let out: serde_json::Value = serde_json::from_str(&o.output).unwrap();
    for key in ["description", "dependencies", "repository", "scripts", "devDependencies", "time", "dist"] {
        assert!(out.get(key).is_some(), "{key} was dropped");
    }
    assert_eq!(out["dependencies"], serde_json::from_str::<serde_json::Value>(&text).unwrap()["dependencies"]);
    let time = out["time"].as_object().unwrap();
    assert!(time.len() < 40 && time.keys().any(|k| k.starts_with("_ctxlens_omitted")), "time is sampled, marked");
    assert!(o.tokens_out * 4 < o.tokens_in, "{} → {}", o.tokens_in, o.tokens_out);
}

#[test]
fn code_keeps_every_signature() {
    for (f, r) in measured("code") {
        assert_eq!(share(&r, "signatures"), 1.0, "{f}: {r:?}");
    }
    // the bundle defines its whole API inside one wrapper: hundreds of definitions, all kept
    let (_, r) = measured("code").into_iter().find(|(f, _)| f.ends_with("lodash-bundle.js")).unwrap();
    assert!(r.metrics[0].total > 400, "{r:?}");
}

#[test]
fn logs_keep_every_error_line_and_frame() {
    for (f, r) in measured("log") {
        assert_eq!(share(&r, "errors"), 1.0, "{f}: {r:?}");
        assert_eq!(share(&r, "frames"), 1.0, "{f}: {r:?}");
    }
}

#[test]
fn a_log_line_holding_the_query_stays() {
    for f in fixture_files("log") {
        let text = read(&f);
        let plain = run(&text, EngineChoice::Auto, &Config::default());
        let kept: std::collections::HashSet<&str> = plain.output.lines().collect();
        // a line the engine dropped unasked, specific enough to name it (its last 24 characters)
        let Some(line) = text.lines().rev().find(|l| l.trim().chars().count() > 30 && !kept.contains(l)) else {
            continue;
        };
        let q: String = line.trim().chars().rev().take(24).collect::<Vec<_>>().into_iter().rev().collect();
        let ctx = Context { query: Some(q.to_uppercase()), ..Default::default() };
        let o = ctxlens::compress(&text, EngineChoice::Auto, &Config::default(), &ctx);
        assert!(o.output.lines().any(|l| l == line), "{f}: {line:?} dropped with --query {q:?}");
        let r = retention::of_outcome(&o, ctx.query.as_deref(), None);
        assert_eq!(share(&r, "query_lines"), 1.0, "{f}: {r:?}");
        assert!(o.tokens_out < plain.tokens_in, "{f}: still compressed");
    }
}

#[test]
fn search_names_every_file_and_diffs_stay_applicable() {
    for (f, r) in measured("search") {
        assert_eq!(share(&r, "files"), 1.0, "{f}: {r:?}");
    }
    // a query's lines all stay, whatever else outranks them
    let text = read("search/grep-python-stdlib-raise.txt");
    let ctx = Context { query: Some("TypeError".into()), ..Default::default() };
    let o = ctxlens::compress(&text, EngineChoice::Auto, &Config::default(), &ctx);
    let r = retention::of_outcome(&o, Some("TypeError"), None);
    assert_eq!(share(&r, "query_lines"), 1.0, "{r:?}");
    // so do a diff's: a file past max_files that holds the query is kept
    let text = read("diff/requests-2.31.0-2.32.3.git.diff");
    let line = "+recursive-include tests/certs *";
    assert!(!run(&text, EngineChoice::Auto, &Config::default()).output.contains(line), "dropped without a query");
    let ctx = Context { query: Some("recursive-include tests/certs".into()), ..Default::default() };
    let o = ctxlens::compress(&text, EngineChoice::Auto, &Config::default(), &ctx);
    assert!(o.output.lines().any(|l| l == line), "kept when asked for");
    for (f, r) in measured("diff") {
        assert_eq!((share(&r, "files"), share(&r, "hunks_apply")), (1.0, 1.0), "{f}: {r:?}");
    }
}

#[test]
fn retention_min_gates_the_exit_status_and_stats_carry_it() {
    let file = fixtures().join("json/cargo-metadata.json");
    let run = |min: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ctxlens"))
            .args(["compress", "--stats", "json", "--retention-min", min])
            .arg(&file)
            .output()
            .unwrap()
    };
    let ok = run("0.5");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let stderr = String::from_utf8_lossy(&ok.stderr);
    let stats: serde_json::Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    let score = stats["retention"]["score"].as_f64().unwrap();
    assert!(score > 0.5 && score < 1.0, "{stats}");
    assert!(stats["sections"][0]["retention"]["metrics"].as_array().is_some_and(|m| m.len() == 2));
    let strict = run("1");
    assert_eq!(strict.status.code(), Some(1));
    assert!(!strict.stdout.is_empty(), "the output is written either way");
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(err.contains("below --retention-min 1") && err.contains("schema"), "{err}");
    for bad in ["1.5", "-1", "nan"] {
        let out = run(bad);
        assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not a share"), "{bad}");
    }
}

/// `ctxlens retention --kind json ORIGINAL COMPRESSED`.
fn retention_json(original: &std::path::Path, compressed: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ctxlens"))
        .args(["retention", "--kind", "json"])
        .arg(original)
        .arg(compressed)
        .output()
        .unwrap()
}

#[test]
fn any_compressor_s_output_can_be_scored() {
    let dir = tempfile::tempdir().unwrap();
    let original = fixtures().join("json/npm-view-express.json");
    let mut value: serde_json::Value = serde_json::from_str(&read("json/npm-view-express.json")).unwrap();
    value.as_object_mut().unwrap().remove("dependencies");
    let theirs = dir.path().join("theirs.json");
    std::fs::write(&theirs, value.to_string()).unwrap();
    let out = retention_json(&original, &theirs);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let schema = &r["metrics"][0];
    assert_eq!(schema["name"], "schema");
    // `dependencies` and its 28 keys are gone
    assert_eq!(schema["total"].as_u64().unwrap() - schema["kept"].as_u64().unwrap(), 29, "{r}");
    assert!(r["score"].as_f64().unwrap() < 1.0);
    assert_eq!((&r["valid"], &r["invalid"]), (&serde_json::Value::Bool(true), &serde_json::Value::Null), "{r}");
    // an output cut mid-value is scored and said to be no JSON
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &value.to_string()[..200]).unwrap();
    let r: serde_json::Value = serde_json::from_slice(&retention_json(&original, &cut).stdout).unwrap();
    assert_eq!((&r["valid"], r["invalid"].as_str()), (&serde_json::Value::Bool(false), Some("the output is not JSON")));
    // an empty output is no JSON either
    std::fs::write(&cut, " \n").unwrap();
    let r: serde_json::Value = serde_json::from_slice(&retention_json(&original, &cut).stdout).unwrap();
    assert_eq!(r["valid"], serde_json::Value::Bool(false), "{r}");
    // a type with no validity check says null
    let log = std::process::Command::new(env!("CARGO_BIN_EXE_ctxlens"))
        .args(["retention", "--kind", "log"])
        .arg(fixtures().join("log/rust-panic.log"))
        .arg(fixtures().join("log/rust-panic.log"))
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    assert!(r["valid"].is_null(), "{r}");
    // an original that is no JSON has nothing to measure against: said, not scored 1.0
    let not_json = dir.path().join("app.log");
    std::fs::write(&not_json, "INFO start\n").unwrap();
    let out = retention_json(&not_json, &theirs);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("not JSON"));
}

#[test]
fn a_hunk_that_lied_in_the_input_is_not_held_against_the_output() {
    // the header says 5 lines of each side; the body has 3 and 3
    let lying = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,5 +1,5 @@\n a\n-b\n+c\n d\n";
    let r = retention::measure(ctxlens::EngineKind::Diff, lying, lying, None, None);
    assert_eq!(share(&r, "hunks_apply"), 1.0, "{r:?}");
    // a hunk the output broke still counts: the same header over fewer lines
    let good = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n d\n";
    let cut = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -1,3 +1,3 @@\n a\n-b\n+c\n";
    let r = retention::measure(ctxlens::EngineKind::Diff, good, cut, None, None);
    assert_eq!(share(&r, "hunks_apply"), 0.0, "{r:?}");
    assert_eq!(r.score, 0.0);
    // the leaf share is shown and said not to count
    let json = read("json/npm-view-express.json");
    let o = ctxlens::compress(&json, EngineChoice::Auto, &Config::default(), &Context::default());
    let r = retention::of_outcome(&o, None, None);
    let leaves = r.metrics.iter().find(|m| m.name == "leaves").expect("leaves");
    assert!(!leaves.scored && leaves.share < r.score, "{r:?}");
    assert!(r.summary().contains("(not scored)"), "{}", r.summary());
}
