//! The prose engine: the tiny lookup models (per-token scores, so the kept words are known in
//! advance) exercise loading, chunking, word-id mapping, must-keep and reassembly; the default
//! model built by scripts/setup.sh is checked on a real document. Needs the ONNX Runtime library
//! that scripts/setup.sh installs (scripts/test.sh runs it first).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ctxlens::{Config, Context, EngineChoice, EngineKind};

fn tiny(flavour: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(flavour)
}

fn require_runtime() {
    if let Err(e) = ctxlens::models::runtime() {
        panic!("the prose tests need ONNX Runtime: {e}");
    }
}

fn prose(input: &str, sets: &[String]) -> ctxlens::Outcome {
    require_runtime();
    let mut config = Config::default();
    for s in sets {
        config.set(s).unwrap();
    }
    ctxlens::compress(input, EngineChoice::Only(EngineKind::Prose), &config, &Context::default())
}

fn with_model(dir: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec![format!("prose.model=\"{}\"", dir.display()), "prose.min_input_words=10".to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

const KEEP: [&str; 10] =
    ["disk", "database", "error", "failed", "timeout", "server", "memory", "fox", "connection", "unbelievable"];

fn sample() -> String {
    let mut s = String::new();
    for i in 0..12 {
        s.push_str(&format!("the quick brown fox and the lazy dog saw the disk error on server {i}\n"));
        s.push_str("    indented: the unbelievable database was not at /var/log but the cache was\n");
        s.push_str("the the the the\n\n");
    }
    s
}

fn words_of(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.contains("[ctxlens: ")).flat_map(str::split_whitespace).collect()
}

/// What the lookup model must keep: words holding a keep token, plus the must-keep rules.
fn expected(input: &str, must_keep: bool) -> Vec<&str> {
    input
        .split_whitespace()
        .filter(|w| {
            let core = w.trim_end_matches(':');
            KEEP.contains(&core) || (must_keep && ctxlens::engine::prose::must_keep(w))
        })
        .collect()
}

#[test]
fn tiny_model_keeps_exactly_the_words_it_scores_high() {
    let input = sample();
    for flavour in ["tiny-lookup", "tiny-lookup-logits"] {
        let o = prose(&input, &with_model(&tiny(flavour), &[]));
        assert!(o.decision.acted(), "{flavour}: {:?}", o.decision);
        assert_eq!(words_of(&o.output), expected(&input, true), "{flavour}");
        check_ledger(&o);
        check_lines_reconstruct(&o);
        // line structure: one output line per input line that kept a word, indentation intact
        assert!(o.output.contains("\n    unbelievable database not /var/log\n"), "{}", o.output);
        assert!(!o.output.contains("the the"), "a fully dropped line goes whole");
        let marker = &o.ledger.markers[0];
        assert!(marker.phrase.contains("words omitted by"), "{}", marker.phrase);
        let dropped: usize = o.ledger.drops.iter().map(|d| d.count).sum();
        assert_eq!(dropped + words_of(&o.output).len(), input.split_whitespace().count());
    }
}

#[test]
fn chunking_and_truncation_do_not_change_a_context_free_model() {
    let input = sample();
    let whole = prose(&input, &with_model(&tiny("tiny-lookup"), &[]));
    // 7-word chunks in a 12-token window: words are cut by the window and scored again next time
    let chunked = prose(&input, &with_model(&tiny("tiny-lookup"), &["prose.chunk_words=7", "prose.max_length=12"]));
    assert_eq!(chunked.output, whole.output);
    assert!(chunked.notes().any(|n| n.contains(" chunks")), "{:?}", chunked.sections);
    let c = |o: &ctxlens::Outcome| {
        o.notes()
            .find_map(|n| n.split(": ").nth(1).and_then(|r| r.split(' ').next()).and_then(|x| x.parse::<usize>().ok()))
    };
    assert!(c(&chunked) > c(&whole), "more chunks when they are smaller");
}

#[test]
fn a_word_longer_than_the_window_is_kept() {
    let long = "qqqqqqqqqqqqqqqqqqqq"; // twenty single-letter pieces
    let input =
        format!("{long} the the the the the the the the the the the the the the\n{}", "the lazy dog\n".repeat(40));
    let o = prose(&input, &with_model(&tiny("tiny-lookup"), &["prose.max_length=12", "prose.chunk_words=5"]));
    assert!(o.decision.acted(), "{:?}", o.decision);
    assert_eq!(words_of(&o.output), [long]);
}

#[test]
fn must_keep_can_be_turned_off_and_target_ratio_replaces_the_threshold() {
    let input = sample();
    let o = prose(&input, &with_model(&tiny("tiny-lookup"), &["prose.must_keep=false"]));
    assert_eq!(words_of(&o.output), expected(&input, false));
    assert!(!o.output.contains("/var/log"));
    let half = prose(&input, &with_model(&tiny("tiny-lookup"), &["prose.must_keep=false", "prose.target_ratio=0.5"]));
    let n = input.split_whitespace().count();
    let kept = words_of(&half.output).len();
    assert!(kept * 2 <= n + 2 && kept * 2 + 4 >= n, "kept {kept} of {n}");
}

#[test]
fn time_budget_and_small_inputs_are_reported() {
    let input = sample();
    let o = prose(&input, &with_model(&tiny("tiny-lookup"), &["prose.time_budget_ms=0"]));
    assert!(!o.decision.acted());
    assert!(o.decision.reason().starts_with("out_of_time"), "{}", o.decision.reason());
    assert!(o.decision.reason().contains("time budget"), "{}", o.decision.reason());
    assert!(o.budget_hit());
    assert_eq!(o.output, input);
    let small = prose("just a few words here", &[]);
    assert!(small.decision.reason().starts_with("too_small"), "{}", small.decision.reason());
}

/// With a memo (the workbench's), the model's scores are kept per batch: a threshold turned
/// afterwards decides from them, with the same result as a run without one.
#[test]
fn scores_are_memoised_per_batch_and_change_nothing() {
    let input = sample();
    let memo = std::sync::Arc::new(ctxlens::engine::Memo::default());
    let ctx = Context { memo: Some(memo.clone()), ..Context::default() };
    let sets = |extra: &[&str]| {
        let mut c = Config::default();
        for s in with_model(&tiny("tiny-lookup"), &[&["prose.chunk_words=7", "prose.max_length=12"], extra].concat()) {
            c.set(&s).unwrap();
        }
        c
    };
    let mut held = Vec::new();
    for extra in [&[][..], &["prose.target_ratio=0.5"], &["prose.must_keep=false"]] {
        let config = sets(extra);
        let memoised = ctxlens::compress(&input, EngineChoice::Only(EngineKind::Prose), &config, &ctx);
        let fresh = prose(
            &input,
            &with_model(&tiny("tiny-lookup"), &[&["prose.chunk_words=7", "prose.max_length=12"], extra].concat()),
        );
        assert!(memoised.decision.acted(), "{:?}", memoised.decision);
        assert_eq!(memoised.output, fresh.output, "{extra:?}");
        held.push(format!("{memo:?}"));
    }
    assert!(held[0].contains("(\"prose-scores\", "), "{}", held[0]);
    assert!(held.iter().all(|h| *h == held[0]), "later runs score no new batch: {held:?}");
}

/// The prose time budget bounds a whole call: when content is split into sections, a prose
/// section after one that used the budget up gets none of its own.
#[test]
fn the_time_budget_bounds_the_call_not_each_section() {
    require_runtime();
    let history =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/prose/requests-HISTORY.md"))
            .unwrap();
    let rows: Vec<String> = (0..60).map(|i| format!("  {{\"id\": {i}, \"status\": \"ok\"}}")).collect();
    let input = format!("{history}\n```json\n[\n{}\n]\n```\n\n{history}", rows.join(",\n"));
    let mut config = Config::default();
    config.set("prose.time_budget_ms=100").unwrap();
    let o = ctxlens::compress(&input, EngineChoice::Auto, &config, &Context::default());
    let prose: Vec<_> = o.sections.iter().filter(|s| s.kind == EngineKind::Prose).collect();
    assert!(prose.len() >= 2, "{:?}", o.sections.iter().map(|s| (s.kind, s.lines)).collect::<Vec<_>>());
    let out_of_time = |d: &ctxlens::outcome::Decision| {
        matches!(d, ctxlens::outcome::Decision::Skipped { reason: ctxlens::Skip::OutOfTime { .. } })
    };
    // 15,000 tokens (and the model's first load) take more than 100 ms
    assert!(prose[0].budget_hit || out_of_time(&prose[0].decision), "{:?}", prose[0].decision);
    let last = prose.last().unwrap();
    assert!(out_of_time(&last.decision), "the later section had no time left: {:?}", last.decision);
    assert!(o.budget_hit());
    // `--stats text` says where the time ran out, as `--stats json` does
    let text = ctxlens::output::Stats::of(&o, "auto", 0.0).to_text();
    for s in o.sections.iter().filter(|s| s.budget_hit && s.decision.acted()) {
        let said = format!("the prose engine's time budget ran out in lines {}-{}", s.lines.first, s.lines.last);
        assert!(text.contains(&said), "{said} not in {text}");
    }
    assert!(text.contains("time budget"), "{text}");
}

/// A caller that no longer wants the result stops the engine before its next model batch.
#[test]
fn a_caller_can_stop_the_engine_between_batches() {
    require_runtime();
    let mut config = Config::default();
    for s in with_model(&tiny("tiny-lookup"), &[]) {
        config.set(&s).unwrap();
    }
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let stop = ctxlens::engine::Stop::new(move || counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= 1);
    let ctx = Context { stop: Some(stop), ..Context::default() };
    let input = sample().repeat(20);
    let o = ctxlens::compress(&input, EngineChoice::Only(EngineKind::Prose), &config, &ctx);
    let reason = o.decision.reason();
    assert!(reason.starts_with("out_of_time") && reason.contains("stopped"), "{reason}");
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2, "asked before each batch, stopped at the second");
    assert_eq!(o.output, input);
}

#[test]
fn a_missing_model_is_a_skip_that_says_how_to_fix_it() {
    let o = prose(&sample(), &["prose.model=\"/nonexistent/model\"".to_string()]);
    assert_eq!(o.output, sample());
    let r = o.decision.reason();
    assert!(r.starts_with("unavailable") && r.contains("scripts/setup.sh"), "{r}");
}

fn ctxlens_cmd(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ctxlens"));
    c.current_dir(dir).env_remove("CTXLENS_MODELS_DIR").env_remove("HF_HOME").env_remove("HF_HUB_CACHE");
    c
}

#[test]
fn a_missing_runtime_is_named_with_the_command_that_installs_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("in.txt");
    std::fs::write(&f, sample()).unwrap();
    let out = ctxlens_cmd(dir.path())
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .args(["compress", "--engine", "auto", "--stats", "json", f.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, sample().as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    let stats: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let reason = stats["sections"][0]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("unavailable") && reason.contains("ORT_DYLIB_PATH") && reason.contains("scripts/setup.sh"),
        "{reason}"
    );
}

/// Lays the tiny model out as a Kompress repo with a broken first file.
fn kompress_layout(dir: &Path) {
    std::fs::create_dir_all(dir.join("onnx")).unwrap();
    std::fs::write(dir.join("onnx/kompress-int8-wo.onnx"), b"not an onnx file").unwrap();
    std::fs::copy(tiny("tiny-lookup").join("model.onnx"), dir.join("onnx/kompress-fp32.onnx")).unwrap();
}

#[test]
fn a_kompress_layout_folder_is_used_after_a_failed_smoke_run() {
    require_runtime();
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("kompress-v2-base");
    kompress_layout(&repo);
    std::fs::copy(tiny("tiny-lookup").join("tokenizer.json"), repo.join("tokenizer.json")).unwrap();
    let input = sample();
    let o = prose(&input, &with_model(&repo, &[]));
    assert_eq!(words_of(&o.output), expected(&input, true));
    // `ctxlens models` shows the rejection and the choice
    let out = ctxlens_cmd(dir.path()).env("CTXLENS_MODELS_DIR", dir.path()).arg("models").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("kompress-int8-wo.onnx") && text.contains("rejected"), "{text}");
    assert!(text.contains("kompress-fp32.onnx"), "{text}");
}

#[test]
fn the_hugging_face_cache_layout_is_found_and_preferred() {
    require_runtime();
    let hub = tempfile::tempdir().unwrap();
    let snap = hub.path().join("models--chopratejas--kompress-v2-base/snapshots/b1563631b35b");
    kompress_layout(&snap);
    let tok = hub.path().join("models--answerdotai--ModernBERT-base/snapshots/8949b909ec90");
    std::fs::create_dir_all(&tok).unwrap();
    std::fs::copy(tiny("tiny-lookup").join("tokenizer.json"), tok.join("tokenizer.json")).unwrap();
    let out = ctxlens_cmd(hub.path()).env("HF_HUB_CACHE", hub.path()).arg("models").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().find(|l| l.contains("Hugging Face cache")).unwrap_or_default();
    assert!(first.starts_with("chopratejas/kompress-v2-base"), "{text}");
    let chosen = text.split("\n\n").next().unwrap_or_default();
    assert!(text.contains("ModernBERT-base"), "the Kompress repo borrows ModernBERT's tokenizer: {text}");
    assert!(text.contains("ok, used by model = auto"), "{chosen}");
    let used = text.lines().position(|l| l.contains("ok, used by model = auto")).unwrap();
    let file_line = text.lines().nth(used - 2).unwrap();
    assert!(file_line.contains("kompress-fp32.onnx"), "{text}");
}

/// The default model, built by scripts/setup.sh, on a real document.
#[test]
fn the_default_model_compresses_real_prose_and_keeps_what_must_stay() {
    require_runtime();
    let input = read("prose/requests-HISTORY.md");
    let o = prose(&input, &[format!("prose.model=\"{}\"", ctxlens::models::DEFAULT_MODEL)]);
    assert!(o.decision.acted(), "{:?}", o.decision);
    let ratio = o.tokens_out as f64 / o.tokens_in as f64;
    assert!((0.45..0.9).contains(&ratio), "token ratio {ratio}");
    check_ledger(&o);
    check_lines_reconstruct(&o);
    // every changed line is in the ledger, so the workbench shows no silent loss, also where the
    // model drops a word in one place and keeps it in another (one word a line, below)
    assert_eq!(silent(&input, &o), 0);
    let kept: std::collections::HashSet<&str> = words_of(&o.output).into_iter().collect();
    for w in input.split_whitespace() {
        let core = w.trim_matches(|c: char| ",;:()\"'!?[]".contains(c));
        let must = core.chars().any(|c| c.is_ascii_digit())
            || core.contains('/')
            || ["not", "never", "cannot", "must", "only"].contains(&core.to_lowercase().as_str());
        if must {
            assert!(kept.contains(w), "dropped {w:?}");
        }
    }
    let words = ["the", "disk", "the", "the", "error", "lazy", "fox", "the", "server", "dog"];
    let one_word: String = words.repeat(60).iter().flat_map(|w| [*w, "\n"]).collect();
    let o = prose(&one_word, &[format!("prose.model=\"{}\"", ctxlens::models::DEFAULT_MODEL)]);
    assert!(o.output.lines().any(str::is_empty), "{}", o.output);
    assert_eq!(silent(&one_word, &o), 0);
}

/// The engine keeps every detail the prose retention metric counts (numbers, paths, identifiers
/// such as `raise_for_status`, `CPython`, `Content-Length`, `URLs`, and negations), even where
/// the model keeps least: the two read one definition. Before, the engine's own list missed
/// snake_case and mixed-case words, and the README fixture lost 8% of them at default knobs.
#[test]
fn every_detail_the_retention_metric_counts_is_kept_on_every_prose_fixture() {
    for name in ["prose/requests-HISTORY.md", "prose/requests-LICENSE", "prose/requests-README.md"] {
        let input = read(name);
        for ratio in ["0", "0.05"] {
            let sets =
                [format!("prose.model=\"{}\"", ctxlens::models::DEFAULT_MODEL), format!("prose.target_ratio={ratio}")];
            let o = prose(&input, &sets);
            assert!(o.decision.acted(), "{name}: {:?}", o.decision);
            let r = ctxlens::retention::measure(EngineKind::Prose, &input, &o.output, None, None);
            let m = r.metrics.iter().find(|m| m.name == "must_keep").expect("must_keep metric");
            assert!(m.total > 30, "{name}: only {} details counted", m.total);
            assert_eq!(m.kept, m.total, "{name} at target_ratio {ratio}");
        }
    }
}

fn silent(input: &str, o: &ctxlens::Outcome) -> usize {
    ctxlens::tui::work::silent_loss(&input.into(), &o.output.as_str().into(), Some(o))
}

/// The workbench pairs a prose output's lines with the original's by number: lines emptied or cut
/// in place are drops the ledger names, never silent loss (a line diff paired emptied one-word
/// lines with the wrong neighbours and flagged them). In a file split between engines each
/// section is judged with its own drops.
#[test]
fn prose_output_never_reads_as_silent_loss() {
    let dir = tiny("tiny-lookup");
    let mut one_word = String::new();
    for w in ["the", "disk", "the", "the", "error", "lazy", "fox", "the", "server", "dog"].repeat(6) {
        one_word.push_str(w);
        one_word.push('\n');
    }
    let o = prose(&one_word, &with_model(&dir, &[]));
    assert!(o.output.lines().any(str::is_empty) && o.decision.acted(), "{}", o.output);
    assert_eq!(silent(&one_word, &o), 0, "{}", o.output);
    let (left, right) = (std::sync::Arc::from(one_word.as_str()), std::sync::Arc::from(o.output.as_str()));
    let model = ctxlens::tui::diffview::build_in_place(&left, &right, &[], &[]);
    assert!(model.silent_lines() > 0, "with no ledger, the emptied lines are silent loss");

    let mixed = format!("{}\n```json\n{}\n```\n\n{}", sample(), json_rows(40), one_word);
    let mut config = ctxlens::Config::default();
    for s in with_model(&dir, &[]) {
        config.set(&s).unwrap();
    }
    let o = ctxlens::compress(&mixed, EngineChoice::Auto, &config, &Context::default());
    let kinds: std::collections::HashSet<_> = o.sections.iter().map(|s| s.kind).collect();
    assert!(kinds.contains(&EngineKind::Prose) && kinds.contains(&EngineKind::Json), "{:?}", o.sections);
    assert!(o.output != mixed);
    assert_eq!(silent(&mixed, &o), 0, "{}", o.output);
}

fn json_rows(n: usize) -> String {
    let rows: Vec<String> =
        (0..n).map(|i| format!("{{\"id\": {i}, \"name\": \"row {i}\", \"status\": \"ok\"}}")).collect();
    format!("[{}]", rows.join(",\n"))
}

/// Each input word's byte offset and whether a drop of the outcome covers it.
fn dropped_words(o: &ctxlens::Outcome) -> Vec<bool> {
    let spans: Vec<_> = o.ledger.drops.iter().map(|d| d.span.bytes.clone()).collect();
    let base = o.original.as_ptr() as usize;
    o.original.split_whitespace().map(|w| spans.iter().any(|s| s.contains(&(w.as_ptr() as usize - base)))).collect()
}

/// scripts/setup.sh builds an int8 variant beside the default model; metrics.json records that
/// its held-out AUC is within 0.01 of the full-precision model's, so `auto` tries it first. On a
/// real document it decides nearly every word as the full-precision model does, and the `model`
/// knob can name either file.
#[test]
fn the_int8_variant_goes_first_and_decides_like_full_precision() {
    require_runtime();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(ctxlens::models::DEFAULT_MODEL);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    let (fp32, int8) = (metrics["int8"]["auc_fp32"].as_f64().unwrap(), metrics["int8"]["auc_int8"].as_f64().unwrap());
    assert_eq!(metrics["int8"]["default"], serde_json::json!((fp32 - int8).abs() <= 0.01));
    let chosen = ctxlens::models::load(ctxlens::models::DEFAULT_MODEL, 0).unwrap();
    if !dir.join("model.int8.onnx").is_file() {
        // setup found the int8 model failing its check on this CPU and left it out
        assert!(dir.join("model.int8.onnx.failed").is_file(), "setup neither built the int8 model nor said why");
        assert!(chosen.file.ends_with("model.onnx"), "{}", chosen.file.display());
        return;
    }
    assert!(chosen.file.ends_with("model.int8.onnx"), "{}", chosen.file.display());

    let input = read("prose/requests-HISTORY.md");
    let run = |file: &str| {
        // no time budget: on a loaded machine one run could stop early and keep the rest whole,
        // which would read as the two models disagreeing
        let model = format!("prose.model=\"{}\"", dir.join(file).display());
        let o = prose(&input, &[model, "prose.time_budget_ms=3600000".to_string()]);
        assert!(o.decision.acted(), "{file}: {:?}", o.decision);
        check_ledger(&o);
        assert!(o.sections[0].notes.iter().any(|n| n.contains("minilm-tokscore") || n.contains(file)), "{file}");
        dropped_words(&o)
    };
    let (a, b) = (run("model.int8.onnx"), run("model.onnx"));
    assert_eq!(a.len(), b.len());
    let same = a.iter().zip(&b).filter(|(x, y)| x == y).count();
    let share = same as f64 / a.len() as f64;
    assert!(share >= 0.9, "int8 and fp32 agree on {share:.3} of the words");
    assert!(a != b, "two different models gave identical decisions: the knob did not pick the file");
}

#[test]
fn the_router_sends_prose_to_the_model() {
    require_runtime();
    let input = read("prose/requests-HISTORY.md");
    let o = ctxlens::compress(&input, EngineChoice::Auto, &Config::default(), &Context::default());
    assert!(o.sections.iter().any(|s| s.kind == EngineKind::Prose && s.decision.acted()), "{:?}", o.sections);
}

#[test]
fn the_real_architecture_at_toy_size_runs_and_is_deterministic() {
    // tests/data/tiny-bert-random: the default model's graph (embeddings, attention, GELU, layer
    // norms, head) with seeded random weights, so every operator runs without the 90 MB model.
    let input = sample();
    let sets = with_model(&tiny("tiny-bert-random"), &["prose.must_keep=false", "prose.target_ratio=0.5"]);
    let a = prose(&input, &sets);
    let b = prose(&input, &sets);
    assert!(a.decision.acted(), "{:?}", a.decision);
    assert_eq!(a.output, b.output);
    let n = input.split_whitespace().count();
    let kept = words_of(&a.output).len();
    assert!(kept * 2 <= n + 2 && kept * 2 + 4 >= n, "kept {kept} of {n}");
    check_ledger(&a);
    check_lines_reconstruct(&a);
}
