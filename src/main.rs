//! The `ctxlens` command line: thin subcommands over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use ctxlens::config::{self, Config};
use ctxlens::engine::Context;
use ctxlens::output::{LedgerDoc, Stats, StoreReport, Unstored, printable, write_atomic, write_atomic_with};
use ctxlens::store::{Location, Store};
use ctxlens::{Decision, EngineChoice, EngineKind, Tokenizer, input, tokens};

#[derive(Parser)]
#[command(
    name = "ctxlens",
    version,
    about = "A workbench for LLM context compression: see what every engine drops",
    long_about = "A workbench for LLM context compression: see what every engine drops.\n\n\
                  `ctxlens FILE|DIR…` opens the inspector on captures (Headroom request logs, HAR, \
                  Anthropic/OpenAI bodies and SSE streams, Claude Code transcripts, Codex rollouts) \
                  or plain files; the subcommands below work without a terminal.",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    open: OpenArgs,
}

/// Opening the inspector.
#[derive(clap::Args)]
struct OpenArgs {
    /// Captures, files or folders to inspect.
    paths: Vec<PathBuf>,
    /// A ctxlens TOML config (knobs, and key overrides in [keys]).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Change one knob, e.g. --set log.max_total_lines=40 (repeatable, applied after --config).
    #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
    sets: Vec<String>,
    /// Tokenizer for every count: o200k (o200k_base) or cl100k (cl100k_base).
    #[arg(long, default_value = "o200k")]
    tokenizer: Tokenizer,
    /// dark, light, high-contrast, or a theme file (NO_COLOR turns colour off).
    #[arg(long, default_value = "dark")]
    theme: String,
    /// Headroom's workspace (or its ccr_store.db), to check a recorded compression's markers
    /// against what Headroom can still return [default: a ccr_store.db beside the capture, else
    /// $HEADROOM_WORKSPACE_DIR or ~/.headroom]
    #[arg(long, value_name = "DIR")]
    headroom_dir: Option<PathBuf>,
    /// A Python with headroom-ai (a venv's bin/python): the real Headroom becomes an engine (`m`)
    /// and a comparison (`c`) beside ours [default: $CTXLENS_HEADROOM_PYTHON, else the venv
    /// `ctxlens bridge install` made, when there]
    #[arg(long, value_name = "PY")]
    headroom_python: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Compress a file (or stdin) and print the result on stdout.
    Compress(CompressArgs),
    /// List the knobs of every engine (or one), with defaults and docs.
    Knobs {
        #[arg(help = format!("A table: {}", config::TABLES.join(", ")))]
        table: Option<String>,
        /// Print a complete config file with every knob at its default instead.
        #[arg(long)]
        toml: bool,
    },
    /// Write a config (--config and --set applied) as FILE.toml for ctxlens and, beside it,
    /// FILE.headroom.env and FILE.headroom.py for headroom-ai (only changed knobs are set there).
    Export {
        /// Where to write the ctxlens config (the Headroom files go beside it).
        file: PathBuf,
        /// A ctxlens TOML config to start from.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Change one knob (repeatable, applied after --config).
        #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
        sets: Vec<String>,
    },
    /// Load a capture (or a folder) and list its flows and blocks with token counts.
    Blocks {
        /// Capture file or folder.
        file: PathBuf,
        /// One JSON document with every flow, block (with its text), problem and redaction count.
        #[arg(long)]
        json: bool,
        /// Also compress every block (as the workbench does): engine, tokens before → after and
        /// dropped spans per block; with --json, a `compressed` object per block.
        #[arg(long)]
        compress: bool,
        /// A ctxlens TOML config for --compress.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Change one knob for --compress (repeatable, applied after --config).
        #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
        sets: Vec<String>,
        /// Tokenizer for every count: o200k (o200k_base) or cl100k (cl100k_base).
        #[arg(long, default_value = "o200k")]
        tokenizer: Tokenizer,
        /// With --compress: stop compressing after this many seconds (blocks after it are
        /// listed with `time-budget`, uncompressed).
        #[arg(long, value_name = "SECONDS", default_value_t = 300.0)]
        time_budget: f64,
    },
    /// List the ONNX Runtime library and every prose model found, with why any was rejected.
    Models {
        /// ONNX Runtime threads for the smoke runs (0: the runtime's default).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Measure what a compressed text kept of its original (any compressor's output, e.g.
    /// Headroom's) by the retention metrics of a content type; prints one JSON object.
    ///
    /// Beside the score and metrics, `valid` says whether the output is still what the type
    /// needs (JSON parses, code re-parses with no new syntax errors, every diff hunk applies;
    /// null for other types), with `invalid` saying why not.
    Retention {
        #[arg(long, help = format!("The content type whose metrics apply: {}", EngineKind::names(", ")))]
        kind: EngineKind,
        /// The user's question (search results: the share of lines holding it that were kept).
        #[arg(long)]
        query: Option<String>,
        /// The original text.
        original: String,
        /// The compressed text.
        compressed: String,
    },
    /// Time the pipeline on files: the first call, then warm calls split into engine, token
    /// counting and total (median and spread), with throughput.
    Bench {
        #[arg(long, default_value = "auto", help = format!("auto (detect and split mixed content), {}", EngineKind::names(", ")))]
        engine: EngineChoice,
        /// Warm calls per file.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        repeat: u32,
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
        #[arg(long, help = config_help())]
        config: Option<PathBuf>,
        /// Change one knob (repeatable, applied after --config).
        #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
        sets: Vec<String>,
        /// Tokenizer for every count: o200k (o200k_base) or cl100k (cl100k_base).
        #[arg(long, default_value = "o200k")]
        tokenizer: Tokenizer,
        /// Files to time (text; a file that is not is reported and skipped).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Print the original bytes behind a key from a marker (`key=…`) or a ledger, from the store
    /// `compress --store` wrote.
    Retrieve {
        /// The 16-hex key.
        key: String,
        /// Print only the lines holding this text (case-insensitive).
        #[arg(long)]
        query: Option<String>,
        /// The store: a SQLite file or a redis:// URL [default: the config's [store] location,
        /// else $CTXLENS_STORE, else store.db in ctxlens's data directory].
        #[arg(long, value_name = "LOCATION", alias = "store-path")]
        store: Option<String>,
        #[arg(long, help = config_help())]
        config: Option<PathBuf>,
    },
    /// Print the original a compressed output (as `compress --store` printed it) was made from,
    /// byte for byte, from the store.
    Restore {
        /// The compressed output, or - for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// The store: a SQLite file or a redis:// URL [default: the config's [store] location,
        /// else $CTXLENS_STORE, else store.db in ctxlens's data directory].
        #[arg(long, value_name = "LOCATION", alias = "store-path")]
        store: Option<String>,
        /// Which original, when several were compressed to this same text: its key, as the error
        /// lists them and `compress --store` named it when it filed the second.
        #[arg(long, value_name = "KEY")]
        original: Option<String>,
        #[arg(long, help = config_help())]
        config: Option<PathBuf>,
    },
    /// Serve MCP over stdio: headroom_retrieve (Headroom's shape: hash, query), ctxlens_retrieve
    /// and compress, for agents (see the README for Claude Code and Codex).
    Mcp {
        /// The store: a SQLite file or a redis:// URL [default: the config's [store] location,
        /// else $CTXLENS_STORE, else store.db in ctxlens's data directory].
        #[arg(long, value_name = "LOCATION", alias = "store-path")]
        store: Option<String>,
        /// Headroom's workspace (or its ccr_store.db), so Headroom's hashes are retrieved too.
        #[arg(long, value_name = "DIR")]
        headroom_dir: Option<PathBuf>,
        #[arg(long, help = config_help())]
        config: Option<PathBuf>,
    },
    /// Check a compressor's claims against what it really does on captures, folders or files: a
    /// verdict table (claim, how it was tested, observed, holds / fails / not testable here) with
    /// evidence and a command that reproduces it. Exit status 1 when a claim fails, 2 when the audit
    /// cannot run.
    Audit {
        /// A claims file (TOML, `[[claim]]` tables) [default: the built-in claims/ctxlens.toml, or
        /// claims/headroom.toml with --engine headroom].
        #[arg(long)]
        claims: Option<PathBuf>,
        /// Whose behaviour: ctxlens's own engines, or the real Headroom through the bridge.
        #[arg(long, default_value = "ctxlens")]
        engine: AuditEngine,
        #[arg(long, default_value = "md")]
        format: AuditFormat,
        /// Only the claim with this id.
        #[arg(long, value_name = "ID")]
        only: Option<String>,
        /// A Python that imports headroom-ai (a venv's bin/python) [default:
        /// $CTXLENS_HEADROOM_PYTHON, else the venv `ctxlens bridge install` makes].
        #[arg(long, value_name = "PYTHON")]
        headroom_python: Option<PathBuf>,
        #[arg(long, help = config_help())]
        config: Option<PathBuf>,
        /// Change one knob (ctxlens's engines), e.g. --set log.max_total_lines=40.
        #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
        sets: Vec<String>,
        /// Captures, folders or files.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The bridge to the real Headroom (a Python helper in a venv with headroom-ai).
    Bridge {
        #[command(subcommand)]
        action: BridgeAction,
    },
    /// The store of dropped originals: stats, gc, export, import.
    Store {
        #[command(subcommand)]
        action: StoreAction,
        /// The store: a SQLite file or a redis:// URL [default: the config's [store] location,
        /// else $CTXLENS_STORE, else store.db in ctxlens's data directory].
        #[arg(long, value_name = "LOCATION", global = true, alias = "store-path")]
        store: Option<String>,
        #[arg(long, help = config_help(), global = true)]
        config: Option<PathBuf>,
    },
    /// Count the tokens of a file (or stdin).
    Count {
        /// Tokenizer for every count: o200k (o200k_base) or cl100k (cl100k_base).
        #[arg(long, default_value = "o200k")]
        tokenizer: Tokenizer,
        #[arg(default_value = "-")]
        file: String,
    },
}

#[derive(Subcommand)]
enum StoreAction {
    /// Entries, bytes, oldest and newest, as one JSON object.
    Stats,
    /// Remove entries older than --ttl-days, then the oldest until the store fits --max-mb
    /// (each defaults to the config's [store] setting).
    Gc {
        #[arg(long, value_name = "DAYS")]
        ttl_days: Option<u64>,
        #[arg(long, value_name = "MB")]
        max_mb: Option<u64>,
    },
    /// Write every entry as JSON lines (`{"key", "created_at", "text"|"base64"}`) to FILE.
    Export { file: PathBuf },
    /// Add the entries of a file `store export` wrote (each checked against its key).
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum BridgeAction {
    /// Make a venv with headroom-ai (the pinned version, from PyPI) for `audit --engine headroom`.
    Install {
        /// Where [default: headroom-venv in ctxlens's data directory].
        #[arg(long, value_name = "DIR")]
        venv: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum AuditEngine {
    Ctxlens,
    Headroom,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    Md,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CompressArgs {
    #[arg(long, default_value = "auto", help = format!("auto (detect and split mixed content), {}", EngineKind::names(", ")))]
    engine: EngineChoice,
    #[arg(long, help = config_help())]
    config: Option<PathBuf>,
    /// Change one knob, e.g. --set json.max_items_after_crush=20 (repeatable, applied after --config).
    #[arg(long = "set", value_name = "TABLE.KNOB=VALUE")]
    sets: Vec<String>,
    /// The user's question, for relevance (rows, matches and hunks that match it are kept).
    #[arg(long)]
    query: Option<String>,
    /// Tokenizer for every count: o200k (o200k_base) or cl100k (cl100k_base).
    #[arg(long, default_value = "o200k")]
    tokenizer: Tokenizer,
    /// Print stats on stderr: text, or one JSON object as the last line.
    #[arg(long)]
    stats: Option<StatsFormat>,
    /// Write the ledger (every dropped span, marker and key) as JSON to this file.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Exit with status 1 when a section's retention score (its weakest metric: schema,
    /// signatures, errors, frames, files, query lines, hunks, must-keep words) is below this
    /// share, e.g. 0.9. The output is written either way.
    #[arg(long, value_name = "SHARE", value_parser = share, allow_hyphen_values = true)]
    retention_min: Option<f64>,
    /// Replace secrets (API keys, tokens, passwords, private keys) with [REDACTED] before
    /// compressing. Off by default: compress is a filter, and its output is what the model reads.
    #[arg(long)]
    redact: bool,
    /// Keep every dropped span's original in the store (the config's [store] location, else
    /// $CTXLENS_STORE, else store.db in ctxlens's data directory), so `ctxlens retrieve KEY` gives
    /// it back and `ctxlens restore` the whole original; `[store] enabled = true` in the config
    /// does the same. A store that cannot be written is reported on stderr (and in --ledger); the
    /// output is printed either way.
    #[arg(long)]
    store: bool,
    /// --store, into this store: a SQLite file or a redis:// URL.
    #[arg(long, value_name = "LOCATION")]
    store_path: Option<String>,
    /// The input file, or - for stdin.
    #[arg(default_value = "-")]
    file: String,
}

/// The store a command names, or the config's, or the default one.
fn store_location(named: Option<&str>, settings: &ctxlens::store::Settings) -> Result<Location> {
    settings
        .location(named)
        .ok_or_else(|| anyhow::anyhow!("no data directory for the store (HOME unset?): give --store"))
}

/// Opens the store a command names (creating a SQLite file), with the config's TTL and size cap.
fn open_store(named: Option<&str>, settings: &ctxlens::store::Settings) -> Result<Store> {
    Ok(Store::open(&store_location(named, settings)?, settings.policy())?)
}

/// A command line that cannot mean anything (exit status 2, as for a bad config): a wrong
/// argument is told apart from a run that found nothing (exit status 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

/// A key as a user gave it on the command line.
fn parse_key(key: &str) -> Result<ctxlens::ledger::Key> {
    ctxlens::ledger::Key::parse_given(key).ok_or_else(|| {
        let shown: String = key.chars().take(40).collect();
        let more = if key.chars().count() > 40 { "…" } else { "" };
        UsageError(format!("`{shown}{more}` is not a ctxlens key (16 hex digits, as in `key=…`)")).into()
    })
}

fn retrieve(key: &str, query: Option<&str>, store: Option<&str>, config: Option<&PathBuf>) -> Result<()> {
    let k = parse_key(key)?;
    let settings = load_config(config, &[])?.store;
    let bytes = Store::open_existing(&store_location(store, &settings)?)?.retrieve(&k)?;
    let mut out = std::io::stdout().lock();
    match query {
        None => out.write_all(&bytes)?,
        Some(q) => {
            let text = String::from_utf8_lossy(&bytes);
            let held = ctxlens::store::lines_holding(&text, q);
            if held.is_empty() {
                // as grep: nothing printed, status 1, and here a word on why
                anyhow::bail!("{}", ctxlens::store::no_line_holds(&text, q));
            }
            out.write_all(held.as_bytes())?
        }
    }
    out.flush()?;
    Ok(())
}

fn restore(file: &str, store: Option<&str>, original: Option<&str>, config: Option<&PathBuf>) -> Result<()> {
    let original = original.map(parse_key).transpose()?;
    let output = input::read(file).with_context(|| format!("cannot read {file}"))?;
    let settings = load_config(config, &[])?.store;
    let original = Store::open_existing(&store_location(store, &settings)?)?
        .restore(&output.bytes, original.as_ref())
        .with_context(|| format!("cannot restore {}", output.name))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&original)?;
    out.flush()?;
    Ok(())
}

/// Stores what `outcome` dropped and its restore recipe, saying on stderr what could not be.
fn store_outcome(outcome: &ctxlens::Outcome, named: Option<&str>, settings: &ctxlens::store::Settings) -> StoreReport {
    // every key the output and ledger name: each drop's and each marker's
    let every_key = || {
        let mut keys = outcome.drop_keys();
        keys.extend(outcome.ledger.markers.iter().map(|m| m.key));
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(*k));
        keys
    };
    let (location, unstored) = match open_store(named, settings) {
        Ok(s) => {
            let r = s.put_outcome(outcome);
            note_shared(&s, &r, outcome);
            (s.location.to_string(), r.failed)
        }
        Err(e) => {
            let why = format!("{e:#}");
            eprintln!("nothing stored: {why}");
            let unstored = every_key().into_iter().map(|key| Unstored { key, why: why.clone() }).collect();
            let location = store_location(named, settings).ok().map(|l| l.to_string());
            return StoreReport { location, opened: false, unstored };
        }
    };
    if !unstored.is_empty() {
        eprintln!("{location}: {} entries were not stored (their keys will not retrieve):", unstored.len());
        for (k, why) in unstored.iter().take(5) {
            eprintln!("  {k}: {why}");
        }
    }
    let unstored = unstored.into_iter().map(|(key, why)| Unstored { key, why }).collect();
    StoreReport { location: Some(location), opened: true, unstored }
}

/// A text that passed through unchanged is its own original: nothing to store, unless its bytes
/// already have a restore recipe in an existing store (it is an output compressed again). Then
/// its own recipe goes beside that one, so a restore of these bytes asks which original.
fn file_unchanged(outcome: &ctxlens::Outcome, named: Option<&str>, settings: &ctxlens::store::Settings) {
    let Ok(at) = store_location(named, settings) else { return };
    // no store yet: no recipe to share these bytes with
    let Ok(s) = Store::open_existing(&at) else { return };
    let r = s.put_outcome(outcome);
    note_shared(&s, &r, outcome);
    for (k, why) in r.failed.iter().take(5) {
        eprintln!("{}: not stored: {k}: {why}", s.location);
    }
}

/// Says on stderr when other originals were compressed to the same output as `outcome`.
fn note_shared(s: &Store, r: &ctxlens::store::Stored, outcome: &ctxlens::Outcome) {
    if let Some(n) = r.shared_by {
        let key = ctxlens::ledger::Key::of(outcome.original.as_bytes());
        eprintln!(
            "{}: {n} different originals were compressed to this same output; \
             restore this one with `ctxlens restore --original {key}`",
            s.location
        );
    }
}

fn store_command(action: StoreAction, store: Option<&str>, config: Option<&PathBuf>) -> Result<()> {
    let settings = load_config(config, &[])?.store;
    let at = store_location(store, &settings)?;
    // only an import writes: the other actions read a store that must be there
    let s = match action {
        StoreAction::Import { .. } => Store::open(&at, settings.policy())?,
        _ => Store::open_existing(&at)?,
    };
    let mut out = std::io::stdout().lock();
    match action {
        StoreAction::Stats => {
            let mut v = serde_json::to_value(s.stats()?)?;
            v["location"] = s.location.to_string().into();
            v["ttl_days"] = settings.ttl_days.into();
            v["max_mb"] = settings.max_mb.into();
            writeln!(out, "{v}")?;
        }
        StoreAction::Gc { ttl_days, max_mb } => {
            let ttl = ttl_days.map(|d| d.saturating_mul(86_400)).or(s.policy.ttl_secs);
            let n = s.gc(ttl, max_mb.map(|m| m.saturating_mul(1 << 20)).or(s.policy.max_bytes))?;
            writeln!(out, "removed {n} entries from {}", s.location)?;
        }
        StoreAction::Export { file } => {
            if let Location::File(db) = &s.location
                && std::fs::canonicalize(db).ok().is_some_and(|d| std::fs::canonicalize(&file).ok() == Some(d))
            {
                anyhow::bail!(
                    "{} is the store itself: an export there would overwrite it; nothing written",
                    file.display()
                );
            }
            let mut buf = Vec::new();
            let n = s.export(&mut buf)?;
            write_atomic(&file, &buf).with_context(|| format!("cannot write {}", file.display()))?;
            writeln!(out, "wrote {n} entries to {}", file.display())?;
        }
        StoreAction::Import { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let text = String::from_utf8(bytes).map_err(|e| {
                let line = input::invalid_utf8_line(e.as_bytes(), e.utf8_error().valid_up_to());
                anyhow::anyhow!(
                    "{}:{line}: not UTF-8 (an export is UTF-8 JSON lines); nothing was added",
                    file.display()
                )
            })?;
            let n = s.import(&file.display().to_string(), &text)?;
            writeln!(out, "added {n} entries to {}", s.location)?;
        }
    }
    Ok(())
}

struct AuditArgs {
    claims: Option<PathBuf>,
    engine: AuditEngine,
    format: AuditFormat,
    only: Option<String>,
    headroom_python: Option<PathBuf>,
    paths: Vec<PathBuf>,
}

/// `ctxlens audit`: exit status 1 when a claim fails.
fn audit(args: AuditArgs, config: &Config) -> Result<()> {
    use ctxlens::audit::{self, ClaimsFile};
    let claims = match &args.claims {
        Some(p) => ClaimsFile::load(p).map_err(|e| anyhow::anyhow!(e))?,
        None => {
            let (name, text) = match args.engine {
                AuditEngine::Ctxlens => ("claims/ctxlens.toml", audit::CTXLENS_CLAIMS),
                AuditEngine::Headroom => ("claims/headroom.toml", audit::HEADROOM_CLAIMS),
            };
            ClaimsFile::parse(text).map_err(|e| anyhow::anyhow!("built-in {name}: {e}"))?
        }
    };
    if let Some(id) = &args.only
        && !claims.claim.iter().any(|c| &c.id == id)
    {
        let ids: Vec<&str> = claims.claim.iter().map(|c| c.id.as_str()).collect();
        anyhow::bail!("no claim `{id}`; claims: {}", ids.join(", "));
    }
    let tokenizer = Tokenizer::O200k;
    // the samples first: nothing to audit is an error before a helper is started for it
    let (samples, mut problems) = audit::samples(&args.paths, tokenizer).map_err(|e| anyhow::anyhow!(e))?;
    if samples.is_empty() {
        let paths: Vec<String> = args.paths.iter().map(|p| p.display().to_string()).collect();
        anyhow::bail!(
            "nothing to audit in {}: no tool output or text file (binary files are skipped){}",
            paths.join(", "),
            problems.first().map(|p| format!("; {p}")).unwrap_or_default()
        );
    }
    let mut subject: Box<dyn audit::Subject> = match args.engine {
        AuditEngine::Ctxlens => Box::new(audit::Ctxlens::new(tokenizer).map_err(|e| anyhow::anyhow!(e))?),
        AuditEngine::Headroom => {
            let python = ctxlens::bridge::python_for(args.headroom_python.as_deref()).ok_or_else(|| {
                anyhow::anyhow!("no data directory to find the bridge's venv in (HOME unset?): give --headroom-python")
            })?;
            let bridge = ctxlens::bridge::Bridge::start(&python)?;
            Box::new(audit::Headroom { bridge, tokenizer })
        }
    };
    let bar = indicatif::ProgressBar::new(samples.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} samples · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = audit::run(&claims, args.only.as_deref(), &samples, subject.as_mut(), config, &mut |s| {
        bar.set_message(s.name.chars().take(60).collect::<String>());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let mut report = report.map_err(|e| anyhow::anyhow!(e))?;
    problems.append(&mut report.problems);
    report.problems = problems;
    let mut out = std::io::stdout().lock();
    match args.format {
        AuditFormat::Md => out.write_all(report.markdown().as_bytes())?,
        AuditFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
    }
    out.flush()?;
    let failed: Vec<&str> =
        report.verdicts.iter().filter(|v| v.verdict == audit::Status::Fails).map(|v| v.id.as_str()).collect();
    if !failed.is_empty() {
        return Err(ClaimsFail(format!(
            "{} of {} claims fail: {}",
            failed.len(),
            report.verdicts.len(),
            failed.join(", ")
        ))
        .into());
    }
    Ok(())
}

/// `--config`'s help, naming every table of the registry.
fn config_help() -> String {
    let tables: Vec<String> = config::TABLES.iter().map(|t| format!("[{t}]")).collect();
    format!("A TOML config: one table per engine ({})", tables.join(", "))
}

/// An audit that ran and found a claim failing (exit status 1); any other audit error is one that
/// kept it from running (exit status 2), so CI can tell a broken claim from a broken run.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ClaimsFail(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let auditing = matches!(cli.command, Some(Command::Audit { .. }));
    let result = match cli.command {
        None => open(cli.open),
        Some(c) => run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<config::ConfigError>().is_some()
                || e.downcast_ref::<UsageError>().is_some()
                || auditing && e.downcast_ref::<ClaimsFail>().is_none()
            {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn open(args: OpenArgs) -> Result<()> {
    if args.paths.is_empty() {
        anyhow::bail!(
            "nothing to open: give a capture, file or folder (e.g. `ctxlens fixtures/demo/headroom-requests.jsonl`), or see --help"
        );
    }
    for p in &args.paths {
        std::fs::metadata(p).with_context(|| format!("cannot open {}", p.display()))?;
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        anyhow::bail!("the inspector needs a terminal; for scripts use `ctxlens blocks` or `ctxlens compress`");
    }
    let config = load_config(args.config.as_ref(), &args.sets)?;
    ctxlens::tui::run(ctxlens::tui::Launch {
        paths: args.paths,
        config,
        tokenizer: args.tokenizer,
        theme: args.theme,
        headroom_dir: args.headroom_dir,
        headroom_python: args.headroom_python,
    })
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Compress(args) => compress(args),
        Command::Knobs { table, toml } => knobs(table.as_deref(), toml),
        Command::Export { file, config, sets } => {
            let config = load_config(config.as_ref(), &sets)?;
            for path in ctxlens::export::write_files(&file, &config)? {
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        Command::Count { tokenizer, file } => count(&file, tokenizer),
        Command::Retrieve { key, query, store, config } => {
            retrieve(&key, query.as_deref(), store.as_deref(), config.as_ref())
        }
        Command::Restore { file, store, original, config } => {
            restore(&file, store.as_deref(), original.as_deref(), config.as_ref())
        }
        Command::Audit { claims, engine, format, only, headroom_python, config, sets, paths } => {
            let config = load_config(config.as_ref(), &sets)?;
            let args = AuditArgs { claims, engine, format, only, headroom_python, paths };
            audit(args, &config)
        }
        Command::Bridge { action: BridgeAction::Install { venv } } => {
            let venv = venv
                .or_else(ctxlens::bridge::default_venv)
                .ok_or_else(|| anyhow::anyhow!("no data directory for the venv (HOME unset?): give --venv"))?;
            eprintln!("installing headroom-ai {} from PyPI into {}", ctxlens::bridge::PINNED, venv.display());
            let python = ctxlens::bridge::install(&venv).map_err(|e| anyhow::anyhow!(e))?;
            println!("{}", python.display());
            Ok(())
        }
        Command::Store { action, store, config } => store_command(action, store.as_deref(), config.as_ref()),
        Command::Mcp { store, headroom_dir, config } => {
            let headroom = match headroom_dir {
                Some(d) => Some(
                    ctxlens::store::headroom::HeadroomStore::open(&d)
                        .map_err(|e| anyhow::anyhow!("--headroom-dir: {e}"))?,
                ),
                None => None,
            };
            let config = load_config(config.as_ref(), &[])?;
            let location = store_location(store.as_deref(), &config.store)?;
            let server = ctxlens::mcp::Server::new(location, headroom, config);
            ctxlens::mcp::serve(server)
        }
        Command::Bench { engine, repeat, json, config, sets, tokenizer, files } => {
            let config = load_config(config.as_ref(), &sets)?;
            bench(&files, engine, &config, tokenizer, repeat as usize, json)
        }
        Command::Models { threads } => list_models(threads),
        Command::Retention { kind, query, original, compressed } => {
            let read = |p: &str| -> Result<String> {
                let bytes = input::read(p).with_context(|| format!("cannot read {p}"))?.bytes;
                String::from_utf8(bytes)
                    .map_err(|e| anyhow::anyhow!("{p}: not UTF-8 (first bad byte at {})", e.utf8_error().valid_up_to()))
            };
            let (a, b) = (read(&original)?, read(&compressed)?);
            let r = ctxlens::retention::measure(kind, &a, &b, query.as_deref(), Some(&original));
            if kind == EngineKind::Json && r.metrics.is_empty() {
                anyhow::bail!("{original}: not JSON (nor JSON Lines) that parses; nothing to measure against");
            }
            // the audit's validity check beside the scores: null when the type has none
            let mut out = serde_json::to_value(&r)?;
            let validity = ctxlens::audit::checks::validity(kind, &a, &b, Some(&original));
            out["valid"] = validity.as_ref().map_or(serde_json::Value::Null, |v| v.is_ok().into());
            if let Some(Err(why)) = validity {
                out["invalid"] = why.into();
            }
            println!("{out}");
            Ok(())
        }
        Command::Blocks { file, json, compress, config, sets, tokenizer, time_budget } => {
            let config = if compress { Some(load_config(config.as_ref(), &sets)?) } else { None };
            let budget = std::time::Duration::try_from_secs_f64(time_budget)
                .map_err(|_| anyhow::anyhow!("--time-budget {time_budget}: expected a number of seconds, 0 or more"))?;
            blocks(&file, json, config.as_ref(), tokenizer, &ctxlens::blocks::Deadline::after(budget))
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    let pipe = Some(std::io::ErrorKind::BrokenPipe);
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().map(std::io::Error::kind) == pipe
            || c.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind) == pipe
    })
}

fn load_config(path: Option<&PathBuf>, sets: &[String]) -> Result<Config> {
    let mut config = match path {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    for s in sets {
        config.set(s)?;
    }
    Ok(config)
}

fn compress(args: CompressArgs) -> Result<()> {
    let config = load_config(args.config.as_ref(), &args.sets)?;
    if args.ledger.as_deref() == Some(std::path::Path::new("-")) {
        anyhow::bail!("--ledger - would mix the ledger into the compressed output on stdout: give it a file");
    }
    if let Some(ledger) = &args.ledger
        && args.file != "-"
        && std::fs::canonicalize(ledger).ok().is_some_and(|l| std::fs::canonicalize(&args.file).ok() == Some(l))
    {
        anyhow::bail!("--ledger {} is the input file: it would be overwritten; nothing written", ledger.display());
    }
    let source = input::read(&args.file).with_context(|| format!("cannot read {}", args.file))?;
    let started = Instant::now();
    let path = (args.file != "-").then(|| args.file.clone());
    let ctx = Context { query: args.query.clone(), tokenizer: args.tokenizer, path, ..Context::default() };
    let requested = args.engine.to_string();
    let mut stdout = std::io::stdout().lock();
    let stats = match input::decode_owned(source.bytes) {
        Ok(mut text) => {
            let redacted = if args.redact { ctxlens::capture::redact::redact(&mut text) } else { 0 };
            if redacted > 0 && args.stats.is_some() {
                eprintln!("{redacted} secret(s) redacted");
            }
            // shared from here: the copy is made before any engine's memory is
            let outcome = ctxlens::compress_shared(std::sync::Arc::from(text), args.engine, &config, &ctx);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            stdout.write_all(outcome.output.as_bytes())?;
            let storing = args.store || args.store_path.is_some() || config.store.enabled;
            // the output is already out: a store that fails is reported, never fatal
            let report = (storing && *outcome.output != *outcome.original)
                .then(|| store_outcome(&outcome, args.store_path.as_deref(), &config.store));
            if storing && *outcome.output == *outcome.original {
                file_unchanged(&outcome, args.store_path.as_deref(), &config.store);
            }
            if let Some(path) = &args.ledger {
                let mut doc = LedgerDoc::of(&outcome, &source.name);
                doc.store = report.as_ref();
                write_atomic_with(path, |w| serde_json::to_writer_pretty(w, &doc).map_err(std::io::Error::from))
                    .with_context(|| format!("cannot write ledger {}", path.display()))?;
            }
            let mut stats = Stats::of(&outcome, &requested, ms);
            stats.redacted = redacted;
            if args.stats.is_some() || args.retention_min.is_some() {
                stats.measure_retention(&outcome, args.query.as_deref(), ctx.path.as_deref());
            }
            stats
        }
        Err((_, reason)) if args.redact => {
            // asked to redact, and the input is no text the redaction can read: nothing is written
            anyhow::bail!("{}: cannot redact: {reason}; nothing written", source.name)
        }
        Err((bytes, reason)) => {
            stdout.write_all(&bytes)?;
            let counting = Instant::now();
            let tokens = tokens::count(&String::from_utf8_lossy(&bytes), args.tokenizer);
            let ms_count = counting.elapsed().as_secs_f64() * 1000.0;
            let ms = (started.elapsed().as_secs_f64() * 1000.0, ms_count);
            let decision = Decision::Skipped { reason };
            if let Some(path) = &args.ledger {
                let doc =
                    serde_json::json!({ "source": source.name, "decision": decision, "markers": [], "drops": [] });
                write_atomic(path, &serde_json::to_vec_pretty(&doc)?)?;
            }
            let mut stats = Stats::passthrough(&decision, &requested, bytes.len(), tokens, args.tokenizer, ms);
            // passed through whole: everything kept
            stats.retention = Some(ctxlens::retention::Retention::default());
            stats
        }
    };
    stdout.flush()?;
    match args.stats {
        Some(StatsFormat::Json) => eprintln!("{}", serde_json::to_string(&stats)?),
        Some(StatsFormat::Text) => eprintln!("{}", stats.to_text()),
        None => {}
    }
    if let Some(min) = args.retention_min {
        let low: Vec<String> = stats
            .below(min)
            .map(|s| {
                let r = s.retention.as_ref().map(|r| format!("{:.2} ({})", r.score, r.summary())).unwrap_or_default();
                format!("lines {}-{} ({}): retention {r}", s.lines[0], s.lines[1], s.kind)
            })
            .collect();
        if !low.is_empty() {
            anyhow::bail!("{}: below --retention-min {min}: {}", source.name, low.join("; "));
        }
    }
    Ok(())
}

/// A share between 0 and 1, for --retention-min.
fn share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not a share between 0 and 1")),
    }
}

fn knobs(table: Option<&str>, toml: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if toml {
        write!(out, "{}", Config::default().to_toml())?;
        return Ok(());
    }
    let tables: Vec<&str> = match table {
        Some(t) if config::TABLES.contains(&t) => vec![t],
        Some(t) => anyhow::bail!("unknown table `{t}`; tables: {}", config::TABLES.join(", ")),
        None => config::TABLES.to_vec(),
    };
    for t in tables {
        writeln!(out, "[{t}]")?;
        for k in config::table_knobs(t) {
            let range = match (k.minimum, k.maximum) {
                (Some(a), Some(b)) => format!(" ({a}..={b})"),
                _ => String::new(),
            };
            writeln!(out, "  {} = {}  # {}{range}\n      {}", k.name, k.default, k.kind, k.doc)?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// A sequence serialised from an iterator, once, as it is written.
struct Lazy<I>(std::cell::RefCell<Option<I>>);

impl<I> Lazy<I> {
    fn new(items: I) -> Self {
        Lazy(std::cell::RefCell::new(Some(items)))
    }
}

/// The `blocks --json` form of one flow; `block_json` renders a block (with its source, when the
/// block is a request block that `--compress` compresses).
fn flow_doc<'a, F>(f: &'a ctxlens::capture::Flow, block_json: &'a F) -> impl serde::Serialize + 'a
where
    F: Fn(&ctxlens::capture::Block, Option<&ctxlens::blocks::Source>) -> serde_json::Value,
{
    let mut head = serde_json::to_value(f.summary()).unwrap_or_default();
    if let Some(obj) = head.as_object_mut() {
        // an empty response is not written; the request's messages always are
        obj.remove("messages");
    }
    let list = move |msgs: &'a [ctxlens::capture::Message]| {
        msgs.iter().flat_map(|m| m.blocks.iter()).map(move |b| block_json(b, None))
    };
    let blocks = ctxlens::blocks::of_flow(f).into_iter().map(move |s| block_json(s.block, Some(&s)));
    FlowDoc {
        head,
        blocks: Lazy::new(blocks),
        recorded: f.recorded.as_deref().map(|r| Lazy::new(list(r))),
        response: Lazy::new(list(&f.response)),
    }
}

/// One flow of `blocks --json`: its own fields, then its blocks, written as they are made.
struct FlowDoc<B, R> {
    head: serde_json::Value,
    blocks: Lazy<B>,
    recorded: Option<Lazy<R>>,
    response: Lazy<R>,
}

impl<B, R> serde::Serialize for FlowDoc<B, R>
where
    B: Iterator<Item = serde_json::Value>,
    R: Iterator<Item = serde_json::Value>,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for (k, v) in self.head.as_object().into_iter().flatten() {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("blocks", &self.blocks)?;
        if let Some(r) = &self.recorded {
            map.serialize_entry("recorded_blocks", r)?;
        }
        map.serialize_entry("response_blocks", &self.response)?;
        map.end()
    }
}

impl<I: Iterator<Item = T>, T: serde::Serialize> serde::Serialize for Lazy<I> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.0.borrow_mut().take().ok_or_else(|| serde::ser::Error::custom("serialised twice"))?;
        s.collect_seq(items)
    }
}

fn blocks(
    path: &std::path::Path,
    json: bool,
    config: Option<&Config>,
    tokenizer: Tokenizer,
    deadline: &ctxlens::blocks::Deadline,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    use ctxlens::capture;
    let cap = capture::load(path)?;
    let block_json = |b: &capture::Block, source: Option<&ctxlens::blocks::Source>| {
        let mut v = serde_json::to_value(b).unwrap_or_default();
        v["tokens"] = tokens::count(&b.text, tokenizer).into();
        if let (Some(config), Some(s)) = (config, source) {
            let c = ctxlens::blocks::summarize(s, config, tokenizer, deadline);
            v["compressed"] = serde_json::json!({
                "engine": c.engine, "path": s.path, "tokens_in": c.tokens_in, "tokens_out": c.tokens_out,
                "dropped_spans": c.drops, "decision": c.decision, "retention": c.retention,
            });
        }
        v
    };

    if json {
        // written as it is serialised, one flow at a time: a capture of 300,000 blocks must not
        // become one JSON tree in memory first
        let flows = Lazy::new(cap.flows.iter().map(|f| flow_doc(f, &block_json)));
        let doc = serde_json::json!({
            "source": cap.source, "format": cap.format, "tokenizer": tokenizer, "redacted": cap.redacted,
            "problems": cap.problems,
        });
        let mut w = std::io::BufWriter::new(&mut out);
        let mut ser = serde_json::Serializer::pretty(&mut w);
        use serde::ser::{SerializeMap, Serializer};
        let mut map = ser.serialize_map(None)?;
        for (k, v) in doc.as_object().expect("doc object") {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("flows", &flows)?;
        map.end()?;
        writeln!(w)?;
        w.flush()?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({}): {} flows, {} problems, {} secrets redacted",
        printable(&cap.source),
        cap.format.name(),
        cap.flows.len(),
        cap.problems.len(),
        cap.redacted
    )?;
    for f in &cap.flows {
        let n: usize = f.blocks().map(|b| tokens::count(&b.text, tokenizer)).sum();
        writeln!(
            out,
            "#{:<4} {:<18} {:<28} {:>3} blocks {:>8} tokens{}{}",
            f.index,
            format!("{:?}", f.api),
            printable(f.model.as_deref().unwrap_or("-")),
            f.blocks().count(),
            n,
            match f.response.iter().map(|m| m.blocks.len()).sum::<usize>() {
                0 => String::new(),
                r => format!("  (+ {r} response blocks, marked ←)"),
            },
            if f.recorded.is_some() { "  (+ recorded compression)" } else { "" }
        )?;
        for s in ctxlens::blocks::of_flow(f) {
            let b = s.block;
            let first = b.text.lines().next().unwrap_or_default();
            let first: String = first.chars().take(60).collect();
            let first = printable(&first);
            match config {
                Some(config) => {
                    let c = ctxlens::blocks::summarize(&s, config, tokenizer, deadline);
                    writeln!(
                        out,
                        "        {:<9} {:<13} {:<6} {:>7} → {:<7} tok {:>4} spans  ret {:.2}  {:<15} {first}",
                        b.role.name(),
                        b.kind.name(),
                        c.engine,
                        c.tokens_in,
                        c.tokens_out,
                        c.drops,
                        c.retention.score,
                        c.decision,
                    )?;
                }
                None => writeln!(
                    out,
                    "        {:<9} {:<13} {:>7} tok  {}",
                    b.role.name(),
                    b.kind.name(),
                    tokens::count(&b.text, tokenizer),
                    first
                )?,
            }
        }
        // the answer (SSE stream, HAR response, transcript reply): shown, not compressed
        for b in f.response.iter().flat_map(|m| m.blocks.iter()) {
            let first: String = b.text.lines().next().unwrap_or_default().chars().take(60).collect();
            writeln!(
                out,
                "      ← {:<9} {:<13} {:>7} tok  {}",
                b.role.name(),
                b.kind.name(),
                tokens::count(&b.text, tokenizer),
                printable(&first)
            )?;
        }
    }
    for p in &cap.problems {
        writeln!(out, "problem: {}", printable(&format!("{}: {}", p.location, p.reason)))?;
    }
    if deadline.missed.get() > 0 {
        writeln!(
            out,
            "note: {} block(s) not compressed: the --time-budget ran out (they are listed as time-budget)",
            deadline.missed.get()
        )?;
    }
    Ok(())
}

fn list_models(threads: usize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let (runtime, trials) = ctxlens::models::survey(threads);
    match &runtime {
        Ok(p) => writeln!(out, "ONNX Runtime: {}", p.display())?,
        Err(e) => writeln!(out, "ONNX Runtime: not available: {e}")?,
    }
    let dirs: Vec<String> = ctxlens::models::models_dirs().iter().map(|d| d.display().to_string()).collect();
    writeln!(out, "models folders: {}", if dirs.is_empty() { "none".to_string() } else { dirs.join(", ") })?;
    if trials.is_empty() {
        writeln!(out, "no model found; run `{}` to build the default model", ctxlens::models::SETUP_COMMAND)?;
    }
    let mut chosen = false;
    for t in &trials {
        let status = match &t.result {
            Ok(()) if !chosen => {
                chosen = true;
                "ok, used by model = auto".to_string()
            }
            Ok(()) => "ok".to_string(),
            Err(e) => format!("rejected: {e}"),
        };
        let tok = t.candidate.tokenizer.as_ref().map_or("no tokenizer.json".to_string(), |p| p.display().to_string());
        writeln!(
            out,
            "{}  ({})\n  file: {}\n  tokenizer: {tok}\n  {status}",
            t.candidate.name,
            t.candidate.source,
            t.file.display()
        )?;
    }
    Ok(())
}

fn bench(
    files: &[String],
    engine: EngineChoice,
    config: &Config,
    tokenizer: Tokenizer,
    repeat: usize,
    json: bool,
) -> Result<()> {
    let mut rows = Vec::new();
    if files.iter().filter(|f| *f == "-").count() > 1 {
        anyhow::bail!("stdin (-) can be read once; give it at most once");
    }
    let mut skipped = 0;
    for file in files {
        // a file that cannot be read is reported and skipped: the others' figures still count,
        // and the exit status says one was skipped (as `wc` does)
        let source = match input::read(file) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{file}: skipped: cannot read it: {e}");
                skipped += 1;
                continue;
            }
        };
        match input::decode(&source.bytes) {
            Ok(text) => rows.push(ctxlens::bench::run(file, text, engine, config, tokenizer, repeat)),
            Err(reason) => {
                eprintln!("{file}: skipped: {}", Decision::Skipped { reason }.reason());
                skipped += 1;
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
    } else {
        write!(out, "{}", ctxlens::bench::table(&rows))?;
    }
    if skipped > 0 {
        anyhow::bail!("{skipped} of {} file(s) skipped (named above): nothing was timed for them", files.len());
    }
    Ok(())
}

fn count(file: &str, tokenizer: Tokenizer) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let source = input::read(file).with_context(|| format!("cannot read {file}"))?;
    let text = String::from_utf8_lossy(&source.bytes);
    writeln!(out, "{} {}", tokens::count(&text, tokenizer), tokenizer.encoding_name())?;
    Ok(())
}
