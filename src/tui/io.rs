//! File work the workbench asks for (export, import, writing a block's output, reading ctxlens's
//! store): described by
//! `update` as an [`IoJob`], run by the event loop on its own thread, and answered with an
//! [`IoDone`] action, so no keystroke waits on a disk and `update` itself never touches one.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::export;
use crate::output::write_atomic;
use crate::tokens::Tokenizer;

/// One piece of file work.
#[derive(Debug, Clone)]
pub enum IoJob {
    /// The knobs as ctxlens TOML at `path`, and Headroom's `.headroom.env` and `.headroom.py`
    /// beside it.
    Export { path: PathBuf, config: Arc<Config> },
    /// A ctxlens config to load.
    Import { path: PathBuf },
    /// A block's compressed output; `label` names which output it is.
    Write { path: PathBuf, text: Arc<str>, label: String },
    /// The original behind a ctxlens key, from ctxlens's store.
    Retrieve { key: crate::ledger::Key, keeper: Arc<crate::tui::work::Keeper> },
    /// ctxlens's README claims checked on these samples (name, file path for the code engine,
    /// text) with these knobs; with a Python for the bridge, Headroom's claims on the real Headroom.
    Claims {
        samples: Vec<(String, Option<String>, Arc<str>)>,
        config: Arc<Config>,
        tokenizer: Tokenizer,
        headroom: Option<PathBuf>,
    },
}

/// What an [`IoJob`] came to.
#[derive(Debug, Clone)]
pub enum IoDone {
    /// The files written, or why not.
    Exported(Result<Vec<String>, String>),
    /// The config read from the path, or why not.
    Imported(PathBuf, Result<Box<Config>, String>),
    /// The status line's message for a written block.
    Written(Result<String, String>),
    /// The original behind a key (with the store's name), or why not.
    Retrieved(crate::ledger::Key, Result<(String, String), String>),
    /// The claims' verdicts, or why they could not be checked.
    Claims(Result<crate::audit::Report, String>),
}

/// Does the work (blocking: call it off the draw loop).
pub fn run(job: IoJob) -> IoDone {
    match job {
        IoJob::Export { path, config } => IoDone::Exported(export_files(&path, &config)),
        IoJob::Import { path } => {
            let r = Config::load(&path).map(Box::new).map_err(|e| e.to_string());
            IoDone::Imported(path, r)
        }
        IoJob::Retrieve { key, keeper } => {
            let r = keeper.store.retrieve(&key).map_err(|e| e.to_string());
            let r = r.map(|b| (keeper.store.location.to_string(), String::from_utf8_lossy(&b).into_owned()));
            IoDone::Retrieved(key, r)
        }
        IoJob::Claims { samples, config, tokenizer, headroom } => {
            IoDone::Claims(check_claims(samples, &config, tokenizer, headroom.as_deref()))
        }
        IoJob::Write { path, text, label } => IoDone::Written(
            write_atomic(&path, text.as_bytes())
                .map(|()| format!("wrote {} ({label} output)", path.display()))
                .map_err(|e| format!("cannot write {}: {e}", path.display())),
        ),
    }
}

/// The built-in claims run on the samples, as `ctxlens audit` runs them on files: ctxlens's by its
/// own engines (with a store of its own for the round trip), or Headroom's by the real Headroom
/// through a bridge started from `headroom` (its own helper, so the workers' one is not held for
/// the whole check). A panic in a check becomes an error here, never a silent io thread.
fn check_claims(
    samples: Vec<(String, Option<String>, Arc<str>)>,
    config: &Config,
    tokenizer: Tokenizer,
    headroom: Option<&Path>,
) -> Result<crate::audit::Report, String> {
    use crate::audit;
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let (name, text) = match headroom {
            Some(_) => ("claims/headroom.toml", audit::HEADROOM_CLAIMS),
            None => ("claims/ctxlens.toml", audit::CTXLENS_CLAIMS),
        };
        let claims = audit::ClaimsFile::parse(text).map_err(|e| format!("built-in {name}: {e}"))?;
        let samples: Vec<audit::Sample> = samples
            .into_iter()
            .map(|(name, path, text)| audit::Sample::new(name, None, path, text, tokenizer))
            .collect();
        if samples.is_empty() {
            return Err("no tool output or file is loaded to check the claims on".to_string());
        }
        let mut subject: Box<dyn audit::Subject> = match headroom {
            Some(python) => {
                let bridge = crate::bridge::Bridge::start(python).map_err(|e| e.to_string())?;
                Box::new(audit::Headroom { bridge, tokenizer })
            }
            None => Box::new(audit::Ctxlens::new(tokenizer)?),
        };
        audit::run(&claims, None, &samples, subject.as_mut(), config, &mut |_| {})
    }))
    .unwrap_or_else(|_| Err("a check panicked; the claims were not checked".to_string()))
}

fn export_files(path: &Path, config: &Config) -> Result<Vec<String>, String> {
    export::write_files(path, config)
        .map(|files| files.iter().map(|p| p.display().to_string()).collect())
        .map_err(|e| e.to_string())
}
