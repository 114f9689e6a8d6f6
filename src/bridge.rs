//! The bridge to the real Headroom: a long-lived Python helper (`scripts/headroom_bridge.py`,
//! embedded in the binary and run with `python -c`) in a venv that holds headroom-ai, spoken to in
//! JSON lines. It runs Headroom's own compressors on ctxlens's blocks, so the audit can hold
//! Headroom's claims against Headroom itself; every answer carries Headroom's version.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{Value, json};

use crate::engine::EngineKind;

/// The helper's source.
pub const SCRIPT: &str = include_str!("../scripts/headroom_bridge.py");

/// How long one answer may take (a whole compression of a large input included).
pub const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// The headroom-ai version `ctxlens bridge install` installs (and the tests run).
pub const PINNED: &str = "0.42.0";

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error(
        "no Python with headroom-ai at {python}: give --headroom-python (a venv's bin/python with \
         headroom-ai installed) or run `ctxlens bridge install`"
    )]
    NoPython { python: String },
    #[error(
        "{python}: headroom-ai cannot be imported there ({why}); `ctxlens bridge install` makes a venv that has it"
    )]
    NoHeadroom { python: String, why: String },
    #[error("the Headroom helper stopped: {why}")]
    Gone { why: String },
    #[error("Headroom {version}: {why}")]
    Headroom { version: String, why: String },
}

/// A compression by Headroom.
#[derive(Debug, Clone)]
pub struct Compressed {
    pub output: String,
    /// Median warm time of the compressor call, in ms.
    pub ms: f64,
    /// What Headroom logged or warned while compressing.
    pub notices: Vec<String>,
    /// For prose: the strategy Headroom's router chose for each section.
    pub routes: Vec<String>,
}

/// What Headroom's CCR store gives for a hash.
#[derive(Debug, Clone, PartialEq)]
pub enum Retrieved {
    Original { text: String, ttl_secs: Option<f64> },
    Missing,
}

/// A running helper.
pub struct Bridge {
    child: Child,
    /// Answer lines, read on a thread so a helper that stops answering cannot hang ctxlens.
    answers: std::sync::mpsc::Receiver<std::io::Result<String>>,
    /// The helper's last lines on stderr (drained on a thread, so a chatty import never blocks it).
    stderr: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    stdin: ChildStdin,
    pub python: PathBuf,
    /// headroom-ai's version, from the helper.
    pub version: String,
    /// Headroom's CCR TTL in seconds.
    pub ttl_secs: Option<u64>,
    /// Whether Kompress's runtime is importable (its model may still be absent).
    pub kompress: bool,
    /// The helper's own Headroom workspace: what it stores for retrieval goes here, never into
    /// the user's (`~/.headroom`), where audit mode would take it for Headroom's own entries.
    _workspace: tempfile::TempDir,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").field("python", &self.python).field("version", &self.version).finish()
    }
}

/// One bridge shared by threads (the workbench's workers), started on first use: calls take
/// turns. A helper that stopped is started again on the next call; one that cannot start says
/// why on every call.
#[derive(Debug)]
pub struct Shared {
    pub python: PathBuf,
    bridge: std::sync::Mutex<Option<Bridge>>,
}

impl Shared {
    pub fn new(python: PathBuf) -> Shared {
        Shared { python, bridge: std::sync::Mutex::new(None) }
    }

    /// Headroom's compressor for `kind` on `text`, with headroom-ai's version.
    pub fn compress(
        &self,
        kind: EngineKind,
        text: &str,
        path: Option<&str>,
        knobs: &serde_json::Map<String, Value>,
    ) -> Result<(Compressed, String), BridgeError> {
        let mut slot = self.bridge.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(Bridge::start(&self.python)?);
        }
        let bridge = slot.as_mut().expect("started above");
        let r = bridge.compress(kind, text, path, knobs, 1).map(|c| (c, bridge.version.clone()));
        if let Err(BridgeError::Gone { .. }) = r {
            *slot = None;
        }
        r
    }
}

/// Where `ctxlens bridge install` puts its venv: `headroom-venv` in ctxlens's data directory.
pub fn default_venv() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "ctxlens").map(|d| d.data_dir().join("headroom-venv"))
}

/// The Python a command uses: the one named, else `$CTXLENS_HEADROOM_PYTHON`, else the venv
/// `bridge install` made.
pub fn python_for(named: Option<&Path>) -> Option<PathBuf> {
    named
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CTXLENS_HEADROOM_PYTHON").filter(|p| !p.is_empty()).map(PathBuf::from))
        .or_else(|| default_venv().map(|v| v.join("bin").join("python")))
}

impl Bridge {
    /// Starts the helper with `python` and says hello.
    pub fn start(python: &Path) -> Result<Bridge, BridgeError> {
        let shown = python.display().to_string();
        if !python.exists() {
            return Err(BridgeError::NoPython { python: shown });
        }
        let workspace = tempfile::Builder::new()
            .prefix("ctxlens-headroom-")
            .tempdir()
            .map_err(|e| BridgeError::Gone { why: format!("no temporary workspace for the helper: {e}") })?;
        let mut child = Command::new(python)
            .args(["-u", "-c", SCRIPT])
            .env("HEADROOM_WORKSPACE_DIR", workspace.path())
            .env("PYTHONIOENCODING", "utf-8")
            .env("TRANSFORMERS_OFFLINE", "1")
            .env("HF_HUB_OFFLINE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| BridgeError::NoPython { python: format!("{shown} ({e})") })?;
        let (Some(stdin), Some(stdout), Some(err)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(BridgeError::Gone { why: "no pipes to the helper".into() });
        };
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let tail = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
                if t.len() == 5 {
                    t.pop_front();
                }
                t.push_back(line.chars().take(300).collect::<String>());
            }
        });
        let (tx, answers) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) => break,
                    Ok(_) => {
                        if tx.send(Ok(line)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
            }
        });
        let mut b = Bridge {
            child,
            answers,
            stderr,
            stdin,
            python: python.to_path_buf(),
            version: String::new(),
            ttl_secs: None,
            kompress: false,
            _workspace: workspace,
        };
        let hello = b.ask(&json!({ "op": "hello" })).map_err(|e| match e {
            BridgeError::Gone { why } => BridgeError::NoHeadroom { python: shown.clone(), why },
            other => other,
        })?;
        let version = hello["version"].as_str().unwrap_or("unknown");
        // shown in every report: printable characters only
        b.version = version.chars().filter(|c| !c.is_control()).take(40).collect();
        b.ttl_secs = hello["ttl"].as_u64();
        b.kompress = hello["kompress"].as_bool().unwrap_or(false);
        Ok(b)
    }

    /// One request, one answer line (within [`ANSWER_TIMEOUT`]).
    fn ask(&mut self, request: &Value) -> Result<Value, BridgeError> {
        let gone = |why: String| BridgeError::Gone { why };
        writeln!(self.stdin, "{request}").and_then(|()| self.stdin.flush()).map_err(|e| gone(e.to_string()))?;
        let line = match self.answers.recv_timeout(ANSWER_TIMEOUT) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Err(gone(e.to_string())),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(gone(format!("no answer within {} s; stopped it", ANSWER_TIMEOUT.as_secs())));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                // let the drain thread read what the helper said last
                let _ = self.child.wait();
                std::thread::sleep(std::time::Duration::from_millis(50));
                let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
                let why = tail.iter().rev().take(3).rev().cloned().collect::<Vec<_>>().join(" | ");
                return Err(gone(if why.is_empty() { "it exited".into() } else { why }));
            }
        };
        let answer: Value = serde_json::from_str(&line).map_err(|e| gone(format!("unreadable answer: {e}")))?;
        if let Some(why) = answer["error"].as_str() {
            let version = answer["version"].as_str().unwrap_or(&self.version).to_string();
            return Err(BridgeError::Headroom { version, why: why.to_string() });
        }
        Ok(answer)
    }

    /// Headroom's compressor for `kind` on `text` (`knobs` set on its config by name).
    pub fn compress(
        &mut self,
        kind: EngineKind,
        text: &str,
        path: Option<&str>,
        knobs: &serde_json::Map<String, Value>,
        repeat: usize,
    ) -> Result<Compressed, BridgeError> {
        let a = self.ask(&json!({
            "op": "compress", "kind": kind.name(), "text": text, "path": path, "knobs": knobs, "repeat": repeat,
        }))?;
        let strings = |v: &Value| -> Vec<String> {
            v.as_array().map(|n| n.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default()
        };
        let (Some(output), Some(ms)) = (a["output"].as_str(), a["ms"].as_f64().filter(|m| m.is_finite() && *m >= 0.0))
        else {
            return Err(BridgeError::Gone {
                why: "an answer without a text `output` and a time `ms` (not ctxlens's helper?)".into(),
            });
        };
        Ok(Compressed {
            output: output.to_string(),
            ms,
            notices: strings(&a["notices"]),
            routes: strings(&a["routes"]),
        })
    }

    /// What Headroom's CCR store (in the helper's process) holds for `hash`.
    pub fn retrieve(&mut self, hash: &str) -> Result<Retrieved, BridgeError> {
        let a = self.ask(&json!({ "op": "retrieve", "hash": hash }))?;
        Ok(match a["original"].as_str() {
            Some(t) => Retrieved::Original { text: t.to_string(), ttl_secs: a["ttl"].as_f64() },
            None => Retrieved::Missing,
        })
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes `venv` with headroom-ai (the pinned version, code extra) from the package registry, with
/// the first `python3` on PATH; returns its Python.
pub fn install(venv: &Path) -> Result<PathBuf, String> {
    let python = venv.join("bin").join("python");
    if !python.exists() {
        let ok = Command::new("python3").arg("-m").arg("venv").arg(venv).status();
        if !ok.is_ok_and(|s| s.success()) {
            return Err(format!("python3 -m venv {} failed (is python3 with venv installed?)", venv.display()));
        }
    }
    let spec = format!("headroom-ai[code]=={PINNED}");
    let ok = Command::new(&python).args(["-m", "pip", "install", "-q", &spec]).status();
    if !ok.is_ok_and(|s| s.success()) {
        return Err(format!("pip install {spec} into {} failed", venv.display()));
    }
    Ok(python)
}
