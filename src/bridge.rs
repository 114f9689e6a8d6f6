//! The bridge to the real Headroom: a long-lived Python helper (`scripts/headroom_bridge.py`,
//! embedded in the binary and run with `python -c`) in a venv that holds headroom-ai, spoken to in
//! JSON lines. It runs Headroom's own compressors on ctxlens's blocks, so the audit can hold
//! Headroom's claims against Headroom itself; every answer carries Headroom's version.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::engine::EngineKind;

/// The helper's source.
pub const SCRIPT: &str = include_str!("../scripts/headroom_bridge.py");

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
    /// The helper's last lines on stderr (drained on a thread, so a chatty import never blocks it).
    stderr: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pub python: PathBuf,
    /// headroom-ai's version, from the helper.
    pub version: String,
    /// Headroom's CCR TTL in seconds.
    pub ttl_secs: Option<u64>,
    /// Whether Kompress's runtime is importable (its model may still be absent).
    pub kompress: bool,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge").field("python", &self.python).field("version", &self.version).finish()
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
        let mut child = Command::new(python)
            .args(["-u", "-c", SCRIPT])
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
        let mut b = Bridge {
            child,
            stderr,
            stdin,
            stdout: BufReader::new(stdout),
            python: python.to_path_buf(),
            version: String::new(),
            ttl_secs: None,
            kompress: false,
        };
        let hello = b.ask(&json!({ "op": "hello" })).map_err(|e| match e {
            BridgeError::Gone { why } => BridgeError::NoHeadroom { python: shown.clone(), why },
            other => other,
        })?;
        b.version = hello["version"].as_str().unwrap_or("unknown").to_string();
        b.ttl_secs = hello["ttl"].as_u64();
        b.kompress = hello["kompress"].as_bool().unwrap_or(false);
        Ok(b)
    }

    /// One request, one answer line.
    fn ask(&mut self, request: &Value) -> Result<Value, BridgeError> {
        let gone = |why: String| BridgeError::Gone { why };
        writeln!(self.stdin, "{request}").and_then(|()| self.stdin.flush()).map_err(|e| gone(e.to_string()))?;
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line).map_err(|e| gone(e.to_string()))?;
        if n == 0 {
            // let the drain thread read what the helper said last
            let _ = self.child.wait();
            std::thread::sleep(std::time::Duration::from_millis(50));
            let tail = self.stderr.lock().unwrap_or_else(|p| p.into_inner());
            let why = tail.iter().rev().take(3).rev().cloned().collect::<Vec<_>>().join(" | ");
            return Err(gone(if why.is_empty() { "it exited".into() } else { why }));
        }
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
        let notices =
            a["notices"].as_array().map(|n| n.iter().filter_map(|x| x.as_str().map(str::to_string)).collect());
        Ok(Compressed {
            output: a["output"].as_str().unwrap_or_default().to_string(),
            ms: a["ms"].as_f64().unwrap_or(0.0),
            notices: notices.unwrap_or_default(),
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
