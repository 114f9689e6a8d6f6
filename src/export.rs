//! Config export: the current knobs as a ctxlens TOML file (with each knob's doc as a comment),
//! and as headroom-ai 0.42 settings where they map: environment variables / CLI flags for
//! `headroom proxy`, and Python kwargs for its config classes. Only knobs changed from ctxlens's
//! defaults become settings, so an untouched export leaves Headroom exactly as it was (the two
//! products' defaults differ in places, e.g. the proxy's `HEADROOM_MAX_ITEMS` is 50); the rest are
//! comments. A knob Headroom cannot express is written as a comment saying so, never dropped.
//! `scripts/check-headroom-export.py` loads both files into the real package.

use std::fmt::Write as _;

use crate::config::{Config, TABLES, table_knobs};

/// The ctxlens config, every knob with its doc comment.
pub fn ctxlens_toml(config: &Config) -> String {
    let values: toml::Table = toml::Table::try_from(config).unwrap_or_default();
    let mut out =
        String::from("# ctxlens config: load with `ctxlens compress --config FILE` or `i` in the workbench.\n");
    for &table in TABLES {
        let Some(toml::Value::Table(t)) = values.get(table) else { continue };
        let _ = writeln!(out, "\n[{table}]");
        for k in table_knobs(table) {
            let Some(v) = t.get(&k.name) else { continue };
            let doc = k.doc.split_whitespace().collect::<Vec<_>>().join(" ");
            let _ = writeln!(out, "# {doc}");
            let _ = writeln!(out, "{} = {}", k.name, v);
        }
    }
    if !config.keys.is_empty() {
        let _ = writeln!(out, "\n# Workbench key overrides: command = [keys]\n[keys]");
        for (command, keys) in &config.keys {
            let _ = writeln!(out, "{command} = {}", toml::Value::from(keys.clone()));
        }
    }
    out
}

/// Where a ctxlens knob goes in headroom-ai 0.42.
struct Target {
    table: &'static str,
    knob: &'static str,
    /// Python: (import, class, field).
    python: Option<(&'static str, &'static str, &'static str)>,
    /// Environment variable of `headroom proxy` (and its CLI flag).
    env: Option<(&'static str, &'static str)>,
    /// Why Headroom cannot express it (or a caveat), for the comment.
    note: &'static str,
}

const SC: &str = "headroom.transforms.smart_crusher";
const LC: &str = "headroom.transforms.log_compressor";
const SEARCH: &str = "headroom.transforms.search_compressor";
const DC: &str = "headroom.transforms.diff_compressor";
const CC: &str = "headroom.transforms.code_compressor";
const KC: &str = "headroom.transforms.kompress_compressor";
const CR: &str = "headroom.transforms.content_router";

/// What a knob with no entry in [`TARGETS`] exports as: a comment.
const UNMAPPED: Target =
    Target { table: "", knob: "", python: None, env: None, note: "ctxlens only: Headroom has no such knob" };

/// What a `prose.model` that is no Hugging Face repo id exports as: a comment.
const NOT_A_REPO_ID: Target =
    Target { note: "Kompress's model_id takes a Hugging Face repo id; this value is not one", ..UNMAPPED };

macro_rules! t {
    ($table:expr, $knob:expr, py: $m:expr, $class:expr, $field:expr) => {
        Target { table: $table, knob: $knob, python: Some(($m, $class, $field)), env: None, note: "" }
    };
    ($table:expr, $knob:expr, py: $m:expr, $class:expr, $field:expr, env: $env:expr, $flag:expr) => {
        Target { table: $table, knob: $knob, python: Some(($m, $class, $field)), env: Some(($env, $flag)), note: "" }
    };
    ($table:expr, $knob:expr, env: $env:expr, $flag:expr, $note:expr) => {
        Target { table: $table, knob: $knob, python: None, env: Some(($env, $flag)), note: $note }
    };
    ($table:expr, $knob:expr, note: $note:expr) => {
        Target { table: $table, knob: $knob, python: None, env: None, note: $note }
    };
}

const TARGETS: &[Target] = &[
    t!("router", "min_section_tokens", py: CR, "ContentRouterConfig", "min_section_tokens"),
    t!("router", "split_mixed", note: "Headroom always splits mixed content (mixed_content_threshold 2)"),
    t!("json", "min_items_to_analyze", py: SC, "SmartCrusherConfig", "min_items_to_analyze"),
    t!("json", "min_tokens_to_crush", py: SC, "SmartCrusherConfig", "min_tokens_to_crush"),
    t!("json", "variance_threshold", py: SC, "SmartCrusherConfig", "variance_threshold"),
    t!("json", "max_items_after_crush", py: SC, "SmartCrusherConfig", "max_items_after_crush", env: "HEADROOM_MAX_ITEMS", ""),
    t!("json", "preserve_change_points", py: SC, "SmartCrusherConfig", "preserve_change_points"),
    t!("json", "dedup_identical_items", py: SC, "SmartCrusherConfig", "dedup_identical_items"),
    t!("json", "first_fraction", py: SC, "SmartCrusherConfig", "first_fraction"),
    t!("json", "last_fraction", py: SC, "SmartCrusherConfig", "last_fraction"),
    t!("json", "relevance_threshold", note: "Headroom hard-codes 0.3 in its SmartCrusher shim"),
    t!("json", "bias", note: "Headroom takes the bias per tool (HEADROOM_TOOL_PROFILES), not as a config field"),
    t!("json", "crush_wide_objects", note: "ctxlens only: Headroom always crushes wide objects (without a marker)"),
    t!("json", "long_string_chars", note: "ctxlens only: Headroom offloads strings over 256 bytes whole (opaque CCR markers)"),
    t!("log", "max_errors", py: LC, "LogCompressorConfig", "max_errors"),
    t!("log", "error_context_lines", py: LC, "LogCompressorConfig", "error_context_lines"),
    t!("log", "keep_first_error", py: LC, "LogCompressorConfig", "keep_first_error"),
    t!("log", "keep_last_error", py: LC, "LogCompressorConfig", "keep_last_error"),
    t!("log", "max_stack_traces", py: LC, "LogCompressorConfig", "max_stack_traces"),
    t!("log", "stack_trace_max_lines", py: LC, "LogCompressorConfig", "stack_trace_max_lines"),
    t!("log", "max_warnings", py: LC, "LogCompressorConfig", "max_warnings"),
    t!("log", "dedupe_warnings", py: LC, "LogCompressorConfig", "dedupe_warnings"),
    t!("log", "keep_summary_lines", py: LC, "LogCompressorConfig", "keep_summary_lines"),
    t!("log", "max_total_lines", py: LC, "LogCompressorConfig", "max_total_lines"),
    t!("log", "min_lines_for_ccr", py: LC, "LogCompressorConfig", "min_lines_for_ccr"),
    t!("log", "bias", note: "Headroom takes the bias per tool (HEADROOM_TOOL_PROFILES), not as a config field"),
    t!("log", "protect_errors", note: "ctxlens only: Headroom applies the caps to error and stack-trace lines too"),
    t!("search", "max_matches_per_file", py: SEARCH, "SearchCompressorConfig", "max_matches_per_file"),
    t!("search", "always_keep_first", py: SEARCH, "SearchCompressorConfig", "always_keep_first"),
    t!("search", "always_keep_last", py: SEARCH, "SearchCompressorConfig", "always_keep_last"),
    t!("search", "max_total_matches", py: SEARCH, "SearchCompressorConfig", "max_total_matches"),
    t!("search", "max_files", py: SEARCH, "SearchCompressorConfig", "max_files"),
    t!("search", "context_keywords", py: SEARCH, "SearchCompressorConfig", "context_keywords"),
    t!("search", "boost_errors", py: SEARCH, "SearchCompressorConfig", "boost_errors"),
    t!("search", "min_matches_for_ccr", py: SEARCH, "SearchCompressorConfig", "min_matches_for_ccr"),
    t!("search", "group_by_file", py: SEARCH, "SearchCompressorConfig", "group_by_file"),
    t!("search", "bias", note: "Headroom takes the bias per tool (HEADROOM_TOOL_PROFILES), not as a config field"),
    t!("diff", "max_context_lines", py: DC, "DiffCompressorConfig", "max_context_lines"),
    t!("diff", "max_hunks_per_file", py: DC, "DiffCompressorConfig", "max_hunks_per_file"),
    t!("diff", "max_files", py: DC, "DiffCompressorConfig", "max_files"),
    t!("diff", "min_lines_for_ccr", py: DC, "DiffCompressorConfig", "min_lines_for_ccr"),
    t!("code", "target_compression_rate", py: CC, "CodeCompressorConfig", "target_compression_rate"),
    t!("code", "max_body_lines", py: CC, "CodeCompressorConfig", "max_body_lines"),
    t!("code", "min_tokens_for_compression", py: CC, "CodeCompressorConfig", "min_tokens_for_compression"),
    t!("code", "docstring_mode", py: CC, "CodeCompressorConfig", "docstring_mode"),
    t!("code", "language_hint", py: CC, "CodeCompressorConfig", "language_hint"),
    t!("prose", "model", py: KC, "KompressConfig", "model_id"),
    t!("prose", "chunk_words", py: KC, "KompressConfig", "chunk_words"),
    t!("prose", "max_length", note: "Headroom fixes the window at 512 tokens"),
    t!("prose", "score_threshold", py: KC, "KompressConfig", "score_threshold"),
    t!("prose", "target_ratio", env: "HEADROOM_TARGET_RATIO", "--target-ratio", "0 means off in ctxlens: the variable is not set"),
    t!("prose", "must_keep", env: "HEADROOM_KOMPRESS_MUST_KEEP", "", ""),
    t!("prose", "min_input_words", py: KC, "KompressConfig", "min_input_words"),
    t!("prose", "time_budget_ms", env: "HEADROOM_COMPRESSION_DEADLINE_MS", "", ""),
    t!("prose", "threads", note: "Headroom leaves ONNX Runtime thread counts unset"),
    t!("prose", "batch_size", env: "HEADROOM_KOMPRESS_BATCH_SIZE", "", "Headroom's default is 32"),
];

fn python_value(v: &toml::Value) -> String {
    match v {
        toml::Value::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
        // a JSON string literal is a Python one too (Rust's `{:?}` writes `\u{200b}`, which is not)
        toml::Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        toml::Value::Array(a) => format!("[{}]", a.iter().map(python_value).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// A value on one line, for a comment: a string as a JSON literal (a newline in it would end the
/// comment and put the rest on a line of its own, which a shell sourcing the .env would run).
fn one_line(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string().replace(['\n', '\r'], " "),
    }
}

fn env_value(v: &toml::Value) -> String {
    match v {
        toml::Value::Boolean(b) => if *b { "1" } else { "0" }.to_string(),
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a `prose.model` value names a Hugging Face repo (what Kompress's `model_id` takes):
/// `auto`, a folder name in models/ or a local path does not.
fn is_repo_id(model: &str) -> bool {
    let parts: Vec<&str> = model.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
        && !std::path::Path::new(model).exists()
}

/// Headroom's own knobs that ctxlens does not model, named so a reader knows they exist.
const HEADROOM_ONLY: &str = "# Headroom knobs ctxlens does not model (Headroom's defaults apply): \
LogCompressorConfig.collapse_runtime_frames, trace_head_frames, trace_app_frames; \
SmartCrusherConfig.lossless_only and the compaction_* fields; CodeCompressorConfig.preserve_* and ccr_ttl.";

/// Headroom settings: (environment file for `headroom proxy`, Python snippet for its config
/// classes). Knobs at ctxlens's defaults are comments, so an untouched export changes nothing.
/// The knobs of `table` changed from ctxlens's defaults that Headroom's config class for that
/// engine has, by Headroom's field names: what the bridge sets when it runs Headroom's compressor.
pub fn headroom_fields(config: &Config, table: &str) -> serde_json::Map<String, serde_json::Value> {
    let values: toml::Table = toml::Table::try_from(config).unwrap_or_default();
    let defaults: toml::Table = toml::Table::try_from(Config::default()).unwrap_or_default();
    let get = |t: &toml::Table, k: &str| t.get(table).and_then(|v| v.get(k)).cloned();
    TARGETS
        .iter()
        .filter(|t| t.table == table)
        .filter_map(|t| {
            let (_, _, field) = t.python?;
            let v = get(&values, t.knob).filter(|v| Some(v) != get(&defaults, t.knob).as_ref())?;
            Some((field.to_string(), serde_json::to_value(v).ok()?))
        })
        .collect()
}

pub fn headroom(config: &Config) -> (String, String) {
    let values: toml::Table = toml::Table::try_from(config).unwrap_or_default();
    let get = |t: &str, k: &str| values.get(t).and_then(|v| v.get(k)).cloned();
    let defaults: toml::Table = toml::Table::try_from(Config::default()).unwrap_or_default();
    let is_default = |t: &str, k: &str| defaults.get(t).and_then(|v| v.get(k)).cloned() == get(t, k);
    let mut env = String::from(
        "# headroom-ai 0.42 environment for `headroom proxy` (or pass the flags shown), exported by ctxlens.\n\
         # Only knobs changed in ctxlens are set; engine knobs without an environment variable are in\n\
         # the Python file beside this one.\n",
    );
    let mut py = String::from(
        "# headroom-ai 0.42 config classes with the knobs changed in ctxlens (the others keep Headroom's\n\
         # defaults).\n",
    );
    let mut classes: Vec<(&str, &str, Vec<String>)> = Vec::new();
    let (mut unchanged, mut comments): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
    // every knob of every registered engine: set when changed and Headroom has it, explained otherwise
    let knobs: Vec<(&str, String)> =
        TABLES.iter().flat_map(|&table| table_knobs(table).iter().map(move |k| (table, k.name.clone()))).collect();
    for (table, knob) in &knobs {
        let (table, knob) = (*table, knob.as_str());
        let mut t = TARGETS.iter().find(|t| t.table == table && t.knob == knob).unwrap_or(&UNMAPPED);
        let Some(v) = get(table, knob) else { continue };
        let name = format!("{table}.{knob} = {}", one_line(&v));
        if table == "prose" && knob == "model" && !v.as_str().is_some_and(is_repo_id) {
            t = &NOT_A_REPO_ID;
        }
        if t.python.is_none() && t.env.is_none() {
            comments.push(format!("# {name}: not expressible in Headroom: {}", t.note));
            continue;
        }
        if is_default(table, knob) {
            unchanged.push(format!("# {name}"));
            continue;
        }
        let note = if t.note.is_empty() { String::new() } else { format!(" ({})", t.note) };
        if let Some((var, flag)) = t.env {
            if table == "prose" && knob == "target_ratio" && v.as_float() == Some(0.0) {
                let _ = writeln!(env, "# {name}: {var} not set{note}");
            } else {
                let flag = if flag.is_empty() { String::new() } else { format!(" / {flag} {}", env_value(&v)) };
                let _ = writeln!(env, "# {table}.{knob}{flag}{note}\n{var}={}", env_value(&v));
            }
        }
        if let Some((module, class, field)) = t.python {
            let entry = match classes.iter_mut().find(|c| c.1 == class) {
                Some(e) => e,
                None => {
                    classes.push((module, class, Vec::new()));
                    classes.last_mut().expect("pushed")
                }
            };
            let value = if field == "docstring_mode" {
                format!("DocstringMode.{}", env_value(&v).to_uppercase())
            } else {
                python_value(&v)
            };
            entry.2.push(format!("    {field}={value},  # {table}.{knob}"));
        }
    }
    if classes.is_empty() {
        let _ = writeln!(py, "\n# Nothing mapped to a config class was changed.");
    }
    for (module, class, _) in &classes {
        let extra = if *class == "CodeCompressorConfig" { ", DocstringMode" } else { "" };
        let _ = writeln!(py, "from {module} import {class}{extra}");
    }
    for (_, class, fields) in &classes {
        let var = class.trim_end_matches("Config").to_lowercase();
        let _ = writeln!(py, "\n{var} = {class}(\n{}\n)", fields.join("\n"));
    }
    for text in [&mut env, &mut py] {
        let _ = writeln!(
            text,
            "\n# Unchanged in ctxlens, so not set (Headroom keeps its own defaults):\n{}",
            unchanged.join("\n")
        );
        let _ = writeln!(text, "\n# Knobs Headroom cannot express:\n{}", comments.join("\n"));
        let _ = writeln!(text, "\n{HEADROOM_ONLY}");
    }
    (env, py)
}

/// Writes the three export files for `path` (`X.toml`): the ctxlens config, and beside it
/// `X.headroom.env` and `X.headroom.py`; returns their paths.
pub fn write_files(path: &std::path::Path, config: &Config) -> std::io::Result<Vec<std::path::PathBuf>> {
    let (env, py) = headroom(config);
    let stem = path.with_extension("");
    let env_path = std::path::PathBuf::from(format!("{}.headroom.env", stem.display()));
    let py_path = std::path::PathBuf::from(format!("{}.headroom.py", stem.display()));
    let files = [(path.to_path_buf(), ctxlens_toml(config)), (env_path, env), (py_path, py)];
    let mut written: Vec<std::path::PathBuf> = Vec::new();
    for (p, text) in files {
        if let Err(e) = crate::output::write_atomic(&p, text.as_bytes()) {
            let done = if written.is_empty() {
                "nothing was written".to_string()
            } else {
                let names: Vec<String> = written.iter().map(|w| w.display().to_string()).collect();
                format!("{} written before it", names.join(" and "))
            };
            return Err(std::io::Error::new(e.kind(), format!("cannot write {}: {e} ({done})", p.display())));
        }
        written.push(p);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_fields_are_the_changed_knobs_by_headroom_s_names() {
        let mut c = Config::default();
        assert!(headroom_fields(&c, "json").is_empty());
        c.set("json.max_items_after_crush=25").unwrap();
        c.set("json.bias=1.5").unwrap();
        let f = headroom_fields(&c, "json");
        assert_eq!(serde_json::Value::Object(f), serde_json::json!({ "max_items_after_crush": 25 }));
        assert!(headroom_fields(&c, "log").is_empty(), "only the table asked for");
    }

    #[test]
    fn every_knob_is_mapped_or_explained() {
        // every mapping names a knob that exists
        for t in TARGETS {
            assert!(table_knobs(t.table).iter().any(|k| k.name == t.knob), "{}.{} is no knob", t.table, t.knob);
        }
        // and every knob of every engine appears in the export, mapped or explained
        let (env, py) = headroom(&Config::default());
        for &table in TABLES {
            for k in table_knobs(table) {
                let name = format!("{table}.{}", k.name);
                assert!(env.contains(&name) || py.contains(&name), "{name} has no Headroom mapping or note");
            }
        }
    }

    #[test]
    fn toml_round_trips_and_headroom_sets_only_the_changes() {
        let mut c = Config::default();
        c.set("log.max_total_lines=40").unwrap();
        c.set("json.max_items_after_crush=25").unwrap();
        let text = ctxlens_toml(&c);
        assert_eq!(Config::parse(&text).unwrap(), c);
        assert!(text.contains("# Upper bound of the adaptive line budget"));
        let (env, py) = headroom(&c);
        assert!(env.contains("\nHEADROOM_MAX_ITEMS=25\n"), "{env}");
        assert!(!env.contains("--max-items"), "headroom proxy has no such flag: {env}");
        assert!(py.contains("max_total_lines=40,  # log.max_total_lines"), "{py}");
        assert!(py.contains("from headroom.transforms.log_compressor import LogCompressorConfig"));
        assert!(py.contains("# log.protect_errors = true: not expressible in Headroom"), "{py}");
        // unchanged knobs are comments, never settings
        assert!(py.contains("# log.max_errors = 10"), "{py}");
        assert!(!py.contains("max_errors="), "{py}");
        assert!(!py.contains("SearchCompressorConfig("), "{py}");
    }

    #[test]
    fn a_newline_in_a_value_never_leaves_a_comment() {
        let mut c = Config::default();
        c.set(r#"prose.model="x\ntouch /tmp/PWNED\n""#).unwrap();
        let (env, py) = headroom(&c);
        for text in [&env, &py] {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                assert!(line.starts_with('#'), "a line outside a comment: {line:?}\n{text}");
            }
            assert!(text.contains(r#"prose.model = "x\ntouch /tmp/PWNED\n""#), "{text}");
        }
    }

    #[test]
    fn an_untouched_export_sets_nothing_and_never_writes_auto_as_a_model() {
        let (env, py) = headroom(&Config::default());
        let settings = |text: &str| text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).count();
        assert_eq!(settings(&env), 0, "{env}");
        assert_eq!(settings(&py), 0, "{py}");
        let mut c = Config::default();
        c.set("prose.model=\"minilm-tokscore\"").unwrap();
        c.set("prose.batch_size=4").unwrap();
        let (env, py) = headroom(&c);
        assert!(!py.contains("model_id="), "{py}");
        assert!(py.contains("prose.model = \"minilm-tokscore\": not expressible"), "{py}");
        assert!(env.contains("HEADROOM_KOMPRESS_BATCH_SIZE=4"), "{env}");
        // TOML escapes: a zero-width space and a tab inside keywords
        c.set(r#"search.context_keywords=["zero\u200bwidth", "tab\there"]"#).unwrap();
        let (_, py) = headroom(&c);
        assert!(py.contains("context_keywords=[\"zero\u{200b}width\", \"tab\\there\"],"), "{py}");
        c.set("prose.model=\"chopratejas/kompress-v2-base\"").unwrap();
        c.set("prose.min_input_words=30").unwrap();
        let (_, py) = headroom(&c);
        assert!(py.contains("model_id=\"chopratejas/kompress-v2-base\","), "{py}");
        assert!(py.contains("min_input_words=30,"), "{py}");
    }
}
