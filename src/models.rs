//! Token-scoring models for the prose engine: finding the ONNX Runtime library and the model
//! folders, smoke-testing them, and running them.
//!
//! Nothing is downloaded here. The ONNX Runtime library comes from `ORT_DYLIB_PATH`, then the
//! usual pip install locations, then `models/onnxruntime/` (where `scripts/setup.sh` puts the
//! library from the PyPI wheel). Models are folders with `model.onnx` (and `model.int8.onnx`, tried
//! first when the folder's `metrics.json` says it scores as well) or Kompress' `onnx/kompress-
//! {int8-wo,fp32,int8}.onnx` plus `tokenizer.json`, in the models folders or in the Hugging Face cache
//! layout (`~/.cache/huggingface/hub/models--org--name/snapshots/REV/`); a Kompress repo without a
//! tokenizer borrows ModernBERT-base's from the same cache. Each file gets a smoke run before use and
//! the next one is tried when it fails; `ctxlens models` lists what was found and why others were
//! rejected.
//!
//! Model contract (Headroom's Kompress): inputs `input_ids` and `attention_mask` (int64 [B,S]);
//! output `final_scores` [B,S] (also `token_scores` [B,S], or LLMLingua-2 style `logits` [B,S,2],
//! read as softmax[..., 1]).

use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ort::session::Session;
use ort::value::Tensor;

/// The folder name of the model `scripts/setup.sh` builds.
pub const DEFAULT_MODEL: &str = "minilm-tokscore";
/// The command that installs the runtime and the default model.
pub const SETUP_COMMAND: &str = "scripts/setup.sh";
const KOMPRESS_FILES: [&str; 3] = ["onnx/kompress-int8-wo.onnx", "onnx/kompress-fp32.onnx", "onnx/kompress-int8.onnx"];

/// A path from the environment; an empty value counts as unset.
fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// Folders that may hold models: `$CTXLENS_MODELS_DIR`, `./models`, and `models/` next to the
/// repository the binary was built in.
pub fn models_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = env_path("CTXLENS_MODELS_DIR") {
        dirs.push(d);
    }
    dirs.push(PathBuf::from("models"));
    if let Ok(exe) = std::env::current_exe() {
        // target/release/ctxlens → the repository's models/
        if let Some(repo) = exe.parent().and_then(Path::parent).and_then(Path::parent) {
            dirs.push(repo.join("models"));
        }
        if let Some(repo) = exe.parent().and_then(Path::parent).and_then(Path::parent).and_then(Path::parent) {
            dirs.push(repo.join("models"));
        }
    }
    dirs.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models"));
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        let new = !seen.contains(&key);
        seen.push(key);
        new && d.is_dir()
    });
    dirs
}

fn glob_libs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("libonnxruntime.so")))
        .filter(|p| !p.to_string_lossy().contains("providers"))
        .collect();
    v.sort();
    v.reverse();
    v
}

/// `site-packages` folders under a Python prefix.
fn site_packages(prefix: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for lib in ["lib", "lib64"] {
        let Ok(rd) = std::fs::read_dir(prefix.join(lib)) else { continue };
        let mut pys: Vec<PathBuf> =
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.to_string_lossy().contains("python3")).collect();
        pys.sort();
        for py in pys {
            out.push(py.join("site-packages"));
            out.push(py.join("dist-packages"));
        }
    }
    out
}

/// Every place an ONNX Runtime library may be when `ORT_DYLIB_PATH` is not set, in search order,
/// with how it was found.
pub fn ort_candidates() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let home = env_path("HOME");
    let mut prefixes: Vec<(PathBuf, String)> = Vec::new();
    for var in ["VIRTUAL_ENV", "CONDA_PREFIX"] {
        if let Some(p) = env_path(var) {
            prefixes.push((p, format!("${var}")));
        }
    }
    prefixes.push((PathBuf::from(".venv"), "./.venv".into()));
    if let Some(h) = &home {
        prefixes.push((h.join(".local"), "~/.local (pip --user)".into()));
        if let Ok(rd) = std::fs::read_dir(h.join(".pyenv/versions")) {
            let mut vs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            vs.sort();
            prefixes.extend(vs.into_iter().map(|v| (v, "pyenv".to_string())));
        }
    }
    prefixes.push((PathBuf::from("/usr/local"), "/usr/local".into()));
    prefixes.push((PathBuf::from("/usr"), "/usr".into()));
    for (prefix, how) in prefixes {
        for sp in site_packages(&prefix) {
            for lib in glob_libs(&sp.join("onnxruntime/capi")) {
                out.push((lib, format!("pip package onnxruntime ({how})")));
            }
        }
    }
    for d in models_dirs() {
        for lib in glob_libs(&d.join("onnxruntime")) {
            out.push((lib, format!("{}/onnxruntime (scripts/setup.sh)", d.display())));
        }
    }
    out
}

/// The ONNX Runtime environment, or why there is none (with the tried places).
fn environment() -> &'static Result<(ort::environment::Environment, PathBuf), String> {
    static ENV: OnceLock<Result<(ort::environment::Environment, PathBuf), String>> = OnceLock::new();
    ENV.get_or_init(|| {
        // An explicit ORT_DYLIB_PATH that does not work is reported, not silently bypassed.
        if let Some(p) = env_path("ORT_DYLIB_PATH") {
            let fail = |why: String| {
                Err(format!("ORT_DYLIB_PATH={}: {why}; fix it, or unset it and run `{SETUP_COMMAND}`", p.display()))
            };
            if !p.exists() {
                return fail("does not exist".into());
            }
            return match ort::init_from(&p) {
                Ok(builder) => quiet(builder).build().map(|env| (env, p.clone())).or_else(|e| fail(e.to_string())),
                Err(e) => fail(e.to_string()),
            };
        }
        let mut tried = Vec::new();
        for (path, how) in ort_candidates() {
            if !path.exists() {
                tried.push(format!("{} ({how}): does not exist", path.display()));
                continue;
            }
            match ort::init_from(&path) {
                Ok(builder) => match quiet(builder).build() {
                    Ok(env) => return Ok((env, path)),
                    Err(e) => tried.push(format!("{} ({how}): {e}", path.display())),
                },
                Err(e) => tried.push(format!("{} ({how}): {e}", path.display())),
            }
        }
        let detail = if tried.is_empty() { "nothing found".to_string() } else { tried.join("; ") };
        Err(format!(
            "no usable ONNX Runtime library (≥ 1.24) was found ({detail}); run `{SETUP_COMMAND}` to install it"
        ))
    })
}

/// The environment named, with ONNX Runtime's own log lines dropped: every failure reaches
/// ctxlens as an error it reports, and a line the runtime printed itself would land on the
/// workbench's screen, or on the shell after it quits while a run is cut short.
fn quiet(builder: ort::environment::EnvironmentBuilder) -> ort::environment::EnvironmentBuilder {
    builder.with_name("ctxlens").with_logger(Arc::new(|_, _, _, _, _| {}))
}

/// Where the ONNX Runtime library was loaded from, or why it could not be.
pub fn runtime() -> Result<PathBuf, String> {
    environment().as_ref().map(|(_, p)| p.clone()).map_err(Clone::clone)
}

/// A model folder and the files in it worth trying, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub name: String,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub tokenizer: Option<PathBuf>,
    /// Where it was found.
    pub source: String,
}

fn candidate_in(dir: &Path, name: String, source: String, fallback_tokenizer: Option<PathBuf>) -> Option<Candidate> {
    let mut files = Vec::new();
    if let Ok(f) = std::env::var("HEADROOM_KOMPRESS_ONNX_FILENAME")
        && dir.join(&f).is_file()
    {
        files.push(dir.join(f));
    }
    let local =
        if int8_is_default(dir) { ["model.int8.onnx", "model.onnx"] } else { ["model.onnx", "model.int8.onnx"] };
    for f in local.into_iter().chain(KOMPRESS_FILES) {
        let p = dir.join(f);
        if p.is_file() && !files.contains(&p) {
            files.push(p);
        }
    }
    if files.is_empty() {
        return None;
    }
    let tokenizer = Some(dir.join("tokenizer.json")).filter(|p| p.is_file()).or(fallback_tokenizer);
    Some(Candidate { name, dir: dir.to_path_buf(), files, tokenizer, source })
}

/// Whether a folder's `metrics.json` (written by `scripts/setup.sh --evaluate`) says its int8
/// variant scored within 0.01 of the full-precision model's held-out AUC, so it goes first.
fn int8_is_default(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("metrics.json")) else { return false };
    serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|m| m["int8"]["default"] == serde_json::Value::Bool(true))
}

fn hf_hub_dirs() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = env_path("HF_HUB_CACHE") {
        v.push(p);
    }
    if let Some(p) = env_path("HF_HOME") {
        v.push(p.join("hub"));
    }
    if let Some(h) = env_path("HOME") {
        v.push(h.join(".cache/huggingface/hub"));
    }
    v.retain(|d| d.is_dir());
    v
}

/// The snapshot folders of one Hugging Face cache repo, newest first.
fn hf_snapshots(hub: &Path, repo: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(hub.join(format!("models--{}", repo.replace('/', "--"))).join("snapshots")) else {
        return Vec::new();
    };
    let mut snaps: Vec<(std::time::SystemTime, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .map(|e| (e.metadata().and_then(|m| m.modified()).unwrap_or(std::time::UNIX_EPOCH), e.path()))
        .collect();
    snaps.sort();
    snaps.into_iter().rev().map(|(_, p)| p).collect()
}

/// Every model folder found, in preference order: Kompress from the Hugging Face cache, the
/// default model, then the other folders by name.
pub fn candidates() -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for hub in hf_hub_dirs() {
        let modernbert = hf_snapshots(&hub, "answerdotai/ModernBERT-base")
            .into_iter()
            .map(|s| s.join("tokenizer.json"))
            .find(|p| p.is_file());
        let Ok(rd) = std::fs::read_dir(&hub) else { continue };
        let mut repos: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name().to_str().and_then(|n| n.strip_prefix("models--")).map(|n| n.replacen("--", "/", 1))
            })
            .collect();
        repos.sort_by_key(|r| (!r.contains("kompress"), r.clone()));
        for repo in repos {
            for snap in hf_snapshots(&hub, &repo) {
                let fallback = repo.contains("kompress").then(|| modernbert.clone()).flatten();
                if let Some(c) =
                    candidate_in(&snap, repo.clone(), format!("Hugging Face cache {}", hub.display()), fallback)
                {
                    out.push(c);
                    break;
                }
            }
        }
    }
    let mut local: Vec<Candidate> = Vec::new();
    for d in models_dirs() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        let mut subs: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
        subs.sort();
        for sub in subs {
            let name = sub.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            if local.iter().any(|c| c.name == name) {
                continue;
            }
            if let Some(c) = candidate_in(&sub, name, d.display().to_string(), None) {
                local.push(c);
            }
        }
    }
    local.sort_by_key(|c| (c.name != DEFAULT_MODEL, c.name.clone()));
    out.extend(local);
    out
}

/// The candidates for a `model` knob: `auto` (all, in preference order), a model file, a folder path, or a name.
pub fn candidates_for(model: &str) -> Vec<Candidate> {
    let model = model.trim();
    if model.is_empty() || model == "auto" {
        return candidates();
    }
    let p = Path::new(model);
    if p.is_file() {
        // one model file: its tokenizer is the one beside it
        let dir = p.parent().unwrap_or(Path::new("."));
        let tokenizer = Some(dir.join("tokenizer.json")).filter(|t| t.is_file());
        let source = "model knob (file)".to_string();
        return vec![Candidate {
            name: model.to_string(),
            dir: dir.to_path_buf(),
            files: vec![p.to_path_buf()],
            tokenizer,
            source,
        }];
    }
    if p.is_dir() {
        return candidate_in(p, model.to_string(), "model knob (path)".into(), None).into_iter().collect();
    }
    candidates().into_iter().filter(|c| c.name == model || c.name.ends_with(&format!("/{model}"))).collect()
}

/// Which output a model has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Output {
    /// `final_scores` or `token_scores` [B,S]: the keep probability.
    Scores(&'static str),
    /// `logits` [B,S,2]: softmax[..., 1].
    Logits,
}

/// A loaded, smoke-tested model.
pub struct Scorer {
    pub name: String,
    pub file: PathBuf,
    session: Mutex<Session>,
    pub tokenizer: tokenizers::Tokenizer,
    output: Output,
    cls: u32,
    sep: u32,
    pad: u32,
}

/// How many threads marked by [`runs_first_on_this_thread`] wait for a model session.
static FIRST_WAITING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static RUNS_FIRST: Cell<bool> = const { Cell::new(false) };
}

/// Marks this thread's model runs as going before any other waiting thread's: the workbench's
/// worker for the block on screen, so its prose does not wait behind other blocks' counts.
pub fn runs_first_on_this_thread() {
    RUNS_FIRST.with(|f| f.set(true));
}

impl Scorer {
    /// The session, one run at a time; a thread that runs first gets it before the others
    /// waiting (it waits at most for the run in progress).
    fn lock_session(&self) -> Result<MutexGuard<'_, Session>, String> {
        let poisoned = |_| "model session poisoned".to_string();
        if RUNS_FIRST.with(Cell::get) {
            FIRST_WAITING.fetch_add(1, Ordering::SeqCst);
            let session = self.session.lock();
            FIRST_WAITING.fetch_sub(1, Ordering::SeqCst);
            return session.map_err(poisoned);
        }
        loop {
            while FIRST_WAITING.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let session = self.session.lock().map_err(poisoned)?;
            if FIRST_WAITING.load(Ordering::SeqCst) == 0 {
                return Ok(session);
            }
            // one that runs first came while this took the lock: it goes first
            drop(session);
        }
    }

    /// Keep probabilities for each token id of one sequence.
    pub fn score(&self, ids: &[u32]) -> Result<Vec<f32>, String> {
        self.score_batch(&[ids]).map(|mut v| v.remove(0))
    }

    /// Keep probabilities for several sequences in one run (padded to the longest, masked).
    pub fn score_batch(&self, seqs: &[&[u32]]) -> Result<Vec<Vec<f32>>, String> {
        let b = seqs.len();
        let n = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut input_ids = vec![i64::from(self.pad); b * n];
        let mut mask = vec![0i64; b * n];
        for (r, s) in seqs.iter().enumerate() {
            for (c, &id) in s.iter().enumerate() {
                input_ids[r * n + c] = i64::from(id);
                mask[r * n + c] = 1;
            }
        }
        let ids_t = Tensor::from_array(([b, n], input_ids)).map_err(|e| e.to_string())?;
        let mask_t = Tensor::from_array(([b, n], mask)).map_err(|e| e.to_string())?;
        let mut session = self.lock_session()?;
        let outputs =
            session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t]).map_err(|e| e.to_string())?;
        let name = match self.output {
            Output::Scores(n) => n,
            Output::Logits => "logits",
        };
        let value = outputs.get(name).ok_or_else(|| format!("model has no `{name}` output"))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(|e| e.to_string())?;
        let flat: Vec<f32> = match self.output {
            Output::Scores(_) if data.len() == b * n => data.to_vec(),
            Output::Logits if data.len() == 2 * b * n => data
                .chunks(2)
                .map(|c| {
                    let m = c[0].max(c[1]);
                    let (x, y) = ((c[0] - m).exp(), (c[1] - m).exp());
                    y / (x + y)
                })
                .collect(),
            _ => return Err(format!("`{name}` has {} values for {b}×{n} tokens", data.len())),
        };
        Ok(seqs.iter().enumerate().map(|(r, s)| flat[r * n..r * n + s.len()].to_vec()).collect())
    }
}

fn open(candidate: &Candidate, file: &Path, threads: usize) -> Result<Scorer, String> {
    let (env, _) = environment().as_ref().map_err(Clone::clone)?;
    let tok_path = candidate.tokenizer.as_ref().ok_or("no tokenizer.json beside the model")?;
    let mut tokenizer =
        tokenizers::Tokenizer::from_file(tok_path).map_err(|e| format!("{}: {e}", tok_path.display()))?;
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).map_err(|e| e.to_string())?;
    let mut builder = Session::builder(env).map_err(|e| e.to_string())?;
    if threads > 0 {
        builder = builder.with_intra_threads(threads).map_err(|e| e.to_string())?;
    }
    let session = builder.commit_from_file(file).map_err(|e| e.to_string())?;
    let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
    for want in ["input_ids", "attention_mask"] {
        if !inputs.contains(&want) {
            return Err(format!("no `{want}` input (inputs: {})", inputs.join(", ")));
        }
    }
    let outs: Vec<String> = session.outputs().iter().map(|o| o.name().to_string()).collect();
    let output = if outs.iter().any(|o| o == "final_scores") {
        Output::Scores("final_scores")
    } else if outs.iter().any(|o| o == "token_scores") {
        Output::Scores("token_scores")
    } else if outs.iter().any(|o| o == "logits") {
        Output::Logits
    } else {
        return Err(format!("no final_scores, token_scores or logits output (outputs: {})", outs.join(", ")));
    };
    let special = |t: &str| tokenizer.token_to_id(t);
    let cls = special("[CLS]").or_else(|| special("<s>")).or_else(|| special("<|endoftext|>")).unwrap_or(0);
    let sep = special("[SEP]").or_else(|| special("</s>")).unwrap_or(cls);
    let pad = special("[PAD]").or_else(|| special("<pad>")).unwrap_or(0);
    // the int8 variant says so wherever the model is named (stats, markers, the ledger)
    let int8 = file.file_name().is_some_and(|n| n == "model.int8.onnx");
    let scorer = Scorer {
        name: if int8 { format!("{} int8", candidate.name) } else { candidate.name.clone() },
        file: file.to_path_buf(),
        session: Mutex::new(session),
        tokenizer,
        output,
        cls,
        sep,
        pad,
    };
    // smoke run: a two-token sequence must give two scores in [0, 1]
    let probe = scorer.score(&[scorer.cls, scorer.sep]).map_err(|e| format!("smoke run failed: {e}"))?;
    if probe.len() != 2 || probe.iter().any(|p| !(0.0..=1.0).contains(p) || p.is_nan()) {
        return Err(format!("smoke run gave {probe:?}, not two scores in [0, 1]"));
    }
    Ok(scorer)
}

/// What happened to each model file that was tried.
#[derive(Debug, Clone)]
pub struct Trial {
    pub candidate: Candidate,
    pub file: PathBuf,
    pub result: Result<(), String>,
}

/// Loads the first candidate file of `model` that passes its smoke run (cached per knob value).
pub fn load(model: &str, threads: usize) -> Result<Arc<Scorer>, String> {
    type Cache = Mutex<HashMap<(String, usize), Result<Arc<Scorer>, String>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (model.to_string(), threads);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let result = load_uncached(model, threads).map(|(s, _)| Arc::new(s));
    if let Ok(mut c) = cache.lock() {
        c.insert(key, result.clone());
    }
    result
}

fn load_uncached(model: &str, threads: usize) -> Result<(Scorer, Vec<Trial>), String> {
    environment().as_ref().map_err(Clone::clone)?;
    let cands = candidates_for(model);
    if cands.is_empty() {
        let dirs: Vec<String> = models_dirs().iter().map(|d| d.display().to_string()).collect();
        return Err(format!(
            "no prose model found (model = `{model}`; looked in {} and the Hugging Face cache); run `{SETUP_COMMAND}` to build the default model",
            if dirs.is_empty() { "no models folder".to_string() } else { dirs.join(", ") }
        ));
    }
    let mut trials = Vec::new();
    for c in cands {
        for f in &c.files {
            match open(&c, f, threads) {
                Ok(s) => return Ok((s, trials)),
                Err(e) => trials.push(Trial { candidate: c.clone(), file: f.clone(), result: Err(e) }),
            }
        }
    }
    let why: Vec<String> =
        trials.iter().map(|t| format!("{}: {}", t.file.display(), t.result.clone().unwrap_err())).collect();
    Err(format!("no prose model passed its smoke run ({}); run `{SETUP_COMMAND}`", why.join("; ")))
}

/// Every candidate file with the outcome of its smoke run, for `ctxlens models`.
pub fn survey(threads: usize) -> (Result<PathBuf, String>, Vec<Trial>) {
    let runtime = runtime();
    let mut trials = Vec::new();
    for c in candidates() {
        for f in &c.files {
            let result = if runtime.is_ok() { open(&c, f, threads).map(|_| ()) } else { Err("no ONNX Runtime".into()) };
            trials.push(Trial { candidate: c.clone(), file: f.clone(), result });
        }
    }
    (runtime, trials)
}
