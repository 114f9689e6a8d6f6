//! `ctxlens audit`: a compressor's claims held against what it really does.
//!
//! Claims come from a TOML file ([`ClaimsFile`]): each names a built-in check ([`checks::Check`])
//! and its bounds. The inputs (captures, folders, files) become [`Sample`]s: every tool output
//! or file in them, deduplicated, with the content type the router gives it. A [`Subject`] (ctxlens's
//! own engines, or the real Headroom through [`crate::bridge`]) compresses each sample once; each
//! check then reads those runs and returns a [`Verdict`]: how it was tested, the observed figure,
//! holds / fails / not testable here, and the evidence (which sample, with a command that
//! reproduces it).

pub mod checks;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::engine::{Context, EngineKind};
use crate::outcome::Outcome;
use crate::pipeline::{self, EngineChoice};
use crate::tokens::{self, Tokenizer};

/// The built-in claims files: ctxlens's (from its README) and Headroom's (from its README and docs).
pub const CTXLENS_CLAIMS: &str = include_str!("../../claims/ctxlens.toml");
pub const HEADROOM_CLAIMS: &str = include_str!("../../claims/headroom.toml");

/// A claims file: `[[claim]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsFile {
    /// Whose claims these are, e.g. "Headroom 0.42 README and docs".
    #[serde(default)]
    pub title: String,
    pub claim: Vec<Claim>,
}

/// One claim and the check that tests it.
#[derive(Debug, Clone, Deserialize)]
pub struct Claim {
    /// A short name, unique in the file (`--only` takes it).
    pub id: String,
    /// The claim as its source words it.
    pub claim: String,
    /// Where it is made.
    #[serde(default)]
    pub source: String,
    /// The content types it is about (all when empty).
    #[serde(default)]
    pub kinds: Vec<EngineKind>,
    /// Samples under this many tokens are left out (a compressor passes small inputs through).
    #[serde(default)]
    pub min_tokens: usize,
    #[serde(flatten)]
    pub check: checks::Check,
}

impl ClaimsFile {
    /// Reads a claims file; errors name the file and line.
    pub fn load(path: &Path) -> Result<ClaimsFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read claims {}: {e}", path.display()))?;
        ClaimsFile::parse(&text).map_err(|e| format!("bad claims {}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<ClaimsFile, String> {
        let file: ClaimsFile = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        // the check's bounds are flattened into the claim, where serde cannot refuse a stray key:
        // a misspelt bound (`min_save`) would leave the check at its default without a word
        let raw: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let tables = raw.get("claim").and_then(toml::Value::as_array).map_or(&[][..], Vec::as_slice);
        for (c, t) in file.claim.iter().zip(tables) {
            let bounds = toml::Table::try_from(&c.check).unwrap_or_default();
            let stray = t.as_table().into_iter().flat_map(|t| t.keys()).find(|k| {
                !["id", "claim", "source", "kinds", "min_tokens"].contains(&k.as_str()) && !bounds.contains_key(*k)
            });
            if let Some(k) = stray {
                let takes: Vec<&str> = bounds.keys().filter(|b| *b != "check").map(String::as_str).collect();
                return Err(format!(
                    "claim `{}`: unknown field `{k}` (check `{}` takes {})",
                    c.id,
                    bounds.get("check").and_then(toml::Value::as_str).unwrap_or("?"),
                    if takes.is_empty() { "no bounds".to_string() } else { takes.join(", ") }
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for c in &file.claim {
            if c.id.trim().is_empty() || c.claim.trim().is_empty() {
                return Err(format!("a claim needs an `id` and the `claim` text (claim `{}`)", c.id));
            }
            if !seen.insert(c.id.as_str()) {
                return Err(format!("claim id `{}` appears twice", c.id));
            }
            c.check.validate().map_err(|e| format!("claim `{}`: {e}", c.id))?;
        }
        Ok(file)
    }
}

/// One input the claims are tested on.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Where it came from: a file, or `capture#flow/block`.
    pub name: String,
    /// The file it is (for `ctxlens compress` to reproduce), when it is a whole file.
    pub file: Option<PathBuf>,
    /// The file path its context names (the code engine reads the language from it).
    pub path: Option<String>,
    pub text: Arc<str>,
    pub kind: EngineKind,
    /// Whether the router finds one content type in it (not prose around code or JSON).
    pub pure: bool,
    pub tokens: usize,
}

impl Sample {
    /// A sample of `text`, routed and counted (the router's content type, its token count).
    pub fn new(
        name: String,
        file: Option<PathBuf>,
        path: Option<String>,
        text: Arc<str>,
        tokenizer: Tokenizer,
    ) -> Self {
        let (kind, pure) = kind_of(&text, path.as_deref(), tokenizer);
        let tokens = tokens::count(&text, tokenizer);
        Sample { name, file, path, text, kind, pure, tokens }
    }
}

/// Every tool output and file in `paths` (folders walked, captures opened), each text once.
pub fn samples(paths: &[PathBuf], tokenizer: Tokenizer) -> Result<(Vec<Sample>, Vec<String>), String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in paths {
        let cap = crate::capture::load(p).map_err(|e| format!("{e}"))?;
        problems.extend(cap.problems.iter().map(|pr| format!("{}: {}", pr.location, pr.reason)));
        // a file that is no text (binary, not UTF-8) stands as a placeholder line: nothing to audit
        let placeholders: std::collections::HashSet<&str> = cap
            .problems
            .iter()
            .filter(|pr| pr.reason.starts_with("kept as a placeholder"))
            .map(|pr| pr.location.file.as_str())
            .collect();
        for flow in &cap.flows {
            for src in crate::blocks::of_flow(flow) {
                let b = src.block;
                let wanted = matches!(b.kind, crate::capture::BlockKind::ToolResult | crate::capture::BlockKind::File);
                let placeholder =
                    b.kind == crate::capture::BlockKind::File && placeholders.contains(b.location.file.as_str());
                if !wanted || placeholder || b.text.trim().is_empty() || !seen.insert(text_hash(&b.text)) {
                    continue;
                }
                let is_file = b.kind == crate::capture::BlockKind::File;
                let name = if is_file { b.location.file.clone() } else { b.location.to_string() };
                let file = is_file.then(|| PathBuf::from(&b.location.file));
                out.push(Sample::new(name, file, src.path.clone(), Arc::from(b.text.as_str()), tokenizer));
            }
        }
    }
    Ok((out, problems))
}

fn text_hash(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The content type of the largest section the router finds, and whether it found only one.
fn kind_of(text: &str, path: Option<&str>, tokenizer: Tokenizer) -> (EngineKind, bool) {
    let routes = crate::router::route(text, &Default::default(), tokenizer, path);
    let kind = routes.iter().max_by_key(|r| r.bytes.len()).map_or(EngineKind::Prose, |r| r.kind);
    (kind, routes.len() <= 1)
}

/// What one subject did to one sample.
#[derive(Debug, Clone)]
pub struct Run {
    pub output: Arc<str>,
    pub tokens_out: usize,
    /// Warm time of the compressor alone, in ms.
    pub ms: f64,
    /// ctxlens's outcome (ledger, decision); none for Headroom.
    pub outcome: Option<Arc<Outcome>>,
    /// What the compressor said while compressing (Headroom's warnings, ctxlens's skip reasons).
    pub notices: Vec<String>,
}

/// Why a subject could not compress a sample.
#[derive(Debug, Clone)]
pub enum Failure {
    /// This sample only.
    Sample(String),
    /// The subject cannot go on (the Headroom helper stopped or broke its protocol).
    Fatal(String),
}

/// The compressor whose claims are checked.
pub trait Subject {
    /// `ctxlens 0.1.0`, `headroom-ai 0.42.0`.
    fn name(&self) -> String;
    /// What follows `--engine` in a command that reproduces a verdict: `ctxlens`, or `headroom`
    /// with the Python it ran.
    fn engine(&self) -> String;
    /// A failure that ends the audit (the helper is gone) is `Err(Fatal)`; any other is one
    /// sample's problem.
    fn compress(&mut self, s: &Sample, config: &Config) -> Result<Run, Failure>;
    /// What the subject gives back for a marker key or hash found in its output.
    fn retrieve(&mut self, key: &str) -> Result<Option<String>, String>;
    /// The keys or hashes of the markers in an output.
    fn marker_keys(&self, output: &str) -> Vec<String>;
    /// The whole original an output was made from, where the subject can rebuild it (`None`: it
    /// has no such thing).
    fn restore(&mut self, output: &str) -> Option<Result<String, String>>;
    /// How long its store keeps an original, in seconds (`None`: until removed).
    fn retention_secs(&self) -> Option<u64>;
    /// The subject's prose path with no model present; `None` when that cannot be shown on this
    /// sample here (the model is installed, the text is too small to reach the model, or the
    /// subject routes it to other compressors).
    fn without_model(&mut self, s: &Sample) -> Result<Option<Run>, String>;
}

/// ctxlens's own engines at the given config; markers' keys come back from a private store the
/// audit fills as it goes.
pub struct Ctxlens {
    pub tokenizer: Tokenizer,
    store: crate::store::Store,
    _dir: tempfile::TempDir,
}

impl Ctxlens {
    pub fn new(tokenizer: Tokenizer) -> Result<Ctxlens, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("a temporary store: {e}"))?;
        let at = crate::store::Location::File(dir.path().join("audit.db"));
        let store = crate::store::Store::open(&at, Default::default()).map_err(|e| e.to_string())?;
        Ok(Ctxlens { tokenizer, store, _dir: dir })
    }

    fn run(&self, s: &Sample, config: &Config) -> Run {
        let ctx = Context { path: s.path.clone(), tokenizer: self.tokenizer, ..Context::default() };
        // the first call warms the caches (tokenizer, model, parsers); the second is timed
        let _ = pipeline::compress(&s.text, EngineChoice::Auto, config, &ctx);
        let started = Instant::now();
        let o = pipeline::compress(&s.text, EngineChoice::Auto, config, &ctx);
        let engine = o.timing.engine.as_secs_f64() * 1000.0;
        let ms = if engine > 0.0 { engine } else { started.elapsed().as_secs_f64() * 1000.0 };
        let notices = o
            .sections
            .iter()
            .filter(|x| !x.decision.acted())
            .map(|x| format!("{}: {}", x.kind, x.decision.reason()))
            .collect();
        Run { output: Arc::from(o.output.as_str()), tokens_out: o.tokens_out, ms, outcome: Some(Arc::new(o)), notices }
    }
}

impl Subject for Ctxlens {
    fn name(&self) -> String {
        format!("ctxlens {}", env!("CARGO_PKG_VERSION"))
    }

    fn engine(&self) -> String {
        "ctxlens".into()
    }

    fn compress(&mut self, s: &Sample, config: &Config) -> Result<Run, Failure> {
        let run = self.run(s, config);
        if let Some(o) = &run.outcome {
            let stored = self.store.put_outcome(o);
            if let Some((k, why)) = stored.failed.first() {
                return Err(Failure::Sample(format!("the audit's store refused {k}: {why}")));
            }
        }
        Ok(run)
    }

    fn retrieve(&mut self, key: &str) -> Result<Option<String>, String> {
        let Some(k) = crate::ledger::Key::parse(key) else { return Ok(None) };
        self.store.get(&k).map(|b| b.map(|b| String::from_utf8_lossy(&b).into_owned())).map_err(|e| e.to_string())
    }

    fn marker_keys(&self, output: &str) -> Vec<String> {
        crate::ledger::MARKER_RE.captures_iter(output).map(|c| c[2].to_string()).collect()
    }

    fn restore(&mut self, output: &str) -> Option<Result<String, String>> {
        let r = self.store.restore(output.as_bytes(), None);
        Some(r.map(|b| String::from_utf8_lossy(&b).into_owned()).map_err(|e| e.to_string()))
    }

    fn retention_secs(&self) -> Option<u64> {
        None
    }

    fn without_model(&mut self, s: &Sample) -> Result<Option<Run>, String> {
        let mut config = Config::default();
        config.prose.model = "/nonexistent/ctxlens-audit-model".into();
        let ctx = Context { path: s.path.clone(), tokenizer: self.tokenizer, ..Context::default() };
        let o = pipeline::compress(&s.text, EngineChoice::Only(EngineKind::Prose), &config, &ctx);
        // a text too small for the engine never reaches the model: nothing to show on it
        let unavailable = |x: &crate::outcome::SectionReport| {
            matches!(
                &x.decision,
                crate::outcome::Decision::Skipped { reason: crate::outcome::Skip::Unavailable { .. } }
            )
        };
        if o.decision.acted() || !o.sections.iter().any(unavailable) {
            if o.decision.acted() {
                return Err(format!("{}: the prose engine acted with no model", s.name));
            }
            return Ok(None);
        }
        let notices = o.sections.iter().filter(|x| !x.decision.acted()).map(|x| x.decision.reason()).collect();
        Ok(Some(Run {
            output: Arc::from(o.output.as_str()),
            tokens_out: o.tokens_out,
            ms: 0.0,
            outcome: Some(Arc::new(o)),
            notices,
        }))
    }
}

/// The real Headroom, through the bridge, at its defaults, except the knobs tuned in the config
/// that Headroom's compressors share (set by their Headroom names).
pub struct Headroom {
    pub bridge: crate::bridge::Bridge,
    pub tokenizer: Tokenizer,
}

impl Headroom {
    /// A bridge answer as a run, its tokens counted as ctxlens counts them.
    fn run_of(&self, c: crate::bridge::Compressed) -> Run {
        let tokens_out = tokens::count(&c.output, self.tokenizer);
        Run { output: Arc::from(c.output.as_str()), tokens_out, ms: c.ms, outcome: None, notices: c.notices }
    }
}

impl Subject for Headroom {
    fn name(&self) -> String {
        format!("headroom-ai {}", self.bridge.version)
    }

    fn engine(&self) -> String {
        format!("headroom --headroom-python '{}'", self.bridge.python.display())
    }

    fn compress(&mut self, s: &Sample, config: &Config) -> Result<Run, Failure> {
        // the knobs tuned in ctxlens that Headroom's compressor has, by its names
        let knobs = crate::export::headroom_fields(config, s.kind.name());
        let c = self.bridge.compress(s.kind, &s.text, s.path.as_deref(), &knobs, 1).map_err(|e| match e {
            crate::bridge::BridgeError::Headroom { .. } => Failure::Sample(e.to_string()),
            other => Failure::Fatal(other.to_string()),
        })?;
        Ok(self.run_of(c))
    }

    fn retrieve(&mut self, key: &str) -> Result<Option<String>, String> {
        match self.bridge.retrieve(key).map_err(|e| e.to_string())? {
            crate::bridge::Retrieved::Original { text, .. } => Ok(Some(text)),
            crate::bridge::Retrieved::Missing => Ok(None),
        }
    }

    fn marker_keys(&self, output: &str) -> Vec<String> {
        crate::store::headroom::marker_hashes(output)
    }

    fn restore(&mut self, _output: &str) -> Option<Result<String, String>> {
        None
    }

    fn retention_secs(&self) -> Option<u64> {
        self.bridge.ttl_secs
    }

    fn without_model(&mut self, s: &Sample) -> Result<Option<Run>, String> {
        // Headroom's prose path with no Kompress model cached (this machine cannot download one)
        let models = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface/hub"));
        let cached = models.and_then(|m| std::fs::read_dir(m).ok()).is_some_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().to_lowercase().contains("kompress")))
        });
        if cached {
            return Ok(None);
        }
        let c = self
            .bridge
            .compress(EngineKind::Prose, &s.text, s.path.as_deref(), &Default::default(), 1)
            .map_err(|e| e.to_string())?;
        // a section Headroom's router sent elsewhere (a table, code) was not the model's to drop
        if c.routes.iter().any(|r| !matches!(r.as_str(), "text" | "kompress" | "passthrough")) {
            return Ok(None);
        }
        Ok(Some(self.run_of(c)))
    }
}

/// holds / fails / not testable here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Holds,
    Fails,
    NotTestable,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Holds => "holds",
            Status::Fails => "fails",
            Status::NotTestable => "not testable here",
        }
    }
}

/// One sample that shows a verdict, with a command that reproduces it.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    pub sample: String,
    pub detail: String,
    pub reproduce: String,
}

/// A claim's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub id: String,
    pub claim: String,
    pub source: String,
    /// How it was tested.
    pub method: String,
    /// The figure observed.
    pub observed: String,
    pub verdict: Status,
    pub evidence: Vec<Evidence>,
}

/// The audit's result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub title: String,
    /// The subject with its version.
    pub subject: String,
    pub samples: usize,
    pub verdicts: Vec<Verdict>,
    /// Inputs that could not be read whole, and samples the subject failed on.
    pub problems: Vec<String>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.verdicts.iter().any(|v| v.verdict == Status::Fails)
    }

    /// The verdict table as Markdown, then the evidence of every claim that does not hold.
    pub fn markdown(&self) -> String {
        let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
        let mut out = format!(
            "# Audit: {}\n\nSubject: {} · {} samples\n\n| claim | how it was tested | observed | verdict |\n|---|---|---|---|\n",
            cell(&self.title),
            self.subject,
            self.samples
        );
        for v in &self.verdicts {
            out.push_str(&format!(
                "| **{}**: {} | {} | {} | {} |\n",
                cell(&v.id),
                cell(&v.claim),
                cell(&v.method),
                cell(&v.observed),
                v.verdict.label()
            ));
        }
        for v in self.verdicts.iter().filter(|v| !v.evidence.is_empty()) {
            out.push_str(&format!("\n## {} ({})\n\n", v.id, v.verdict.label()));
            for e in &v.evidence {
                out.push_str(&format!("- {}: {}\n  `{}`\n", e.sample, e.detail, e.reproduce));
            }
        }
        if !self.problems.is_empty() {
            out.push_str("\n## Problems\n\n");
            for p in &self.problems {
                out.push_str(&format!("- {p}\n"));
            }
        }
        out
    }
}

/// Runs every claim (or the one named by `only`) on `samples` through `subject`.
/// `progress` is told after each sample is compressed. A subject that stops (or compresses
/// none of the samples) is an error, never a report of untested verdicts.
pub fn run(
    claims: &ClaimsFile,
    only: Option<&str>,
    samples: &[Sample],
    subject: &mut dyn Subject,
    config: &Config,
    progress: &mut dyn FnMut(&Sample),
) -> Result<Report, String> {
    let chosen: Vec<&Claim> = claims.claim.iter().filter(|c| only.is_none_or(|o| c.id == o)).collect();
    let mut problems = Vec::new();
    let mut runs: Vec<Option<Run>> = Vec::with_capacity(samples.len());
    for s in samples {
        let wanted = chosen.iter().any(|c| c.wants(s));
        let run = if wanted {
            match subject.compress(s, config) {
                Ok(r) => Some(r),
                Err(Failure::Sample(e)) => {
                    problems.push(format!("{}: {e}", s.name));
                    None
                }
                Err(Failure::Fatal(e)) => return Err(format!("{}: {e} (at {})", subject.name(), s.name)),
            }
        } else {
            None
        };
        runs.push(run);
        progress(s);
    }
    let wanted = samples.iter().filter(|s| chosen.iter().any(|c| c.wants(s))).count();
    if wanted > 0 && runs.iter().all(Option::is_none) {
        return Err(format!("{} compressed none of the {wanted} samples: {}", subject.name(), problems.join("; ")));
    }
    let verdicts = chosen
        .iter()
        .map(|c| {
            let picked: Vec<(&Sample, &Run)> = samples
                .iter()
                .zip(&runs)
                .filter(|(s, _)| c.wants(s))
                .filter_map(|(s, r)| Some((s, r.as_ref()?)))
                .collect();
            c.check.judge(c, &picked, subject)
        })
        .collect();
    Ok(Report { title: claims.title.clone(), subject: subject.name(), samples: samples.len(), verdicts, problems })
}

impl Claim {
    fn wants(&self, s: &Sample) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&s.kind)) && s.tokens >= self.min_tokens
    }
}
