//! The `ctxlens` command line: thin subcommands over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};

use ctxlens::config::{self, Config};
use ctxlens::engine::Context;
use ctxlens::output::{LedgerDoc, Stats, write_atomic};
use ctxlens::{Decision, EngineChoice, Tokenizer, input, tokens};

#[derive(Parser)]
#[command(name = "ctxlens", version, about = "A workbench for LLM context compression: see what every engine drops")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compress a file (or stdin) and print the result on stdout.
    Compress(CompressArgs),
    /// List the knobs of every engine (or one), with defaults and docs.
    Knobs {
        /// A table: router, json, log, search, diff, code.
        table: Option<String>,
        /// Print a complete config file with every knob at its default instead.
        #[arg(long)]
        toml: bool,
    },
    /// List the ONNX Runtime library and every prose model found, with why any was rejected.
    Models {
        /// ONNX Runtime threads for the smoke runs (0: the runtime's default).
        #[arg(long, default_value_t = 0)]
        threads: usize,
    },
    /// Count the tokens of a file (or stdin).
    Count {
        #[arg(long, default_value = "o200k")]
        tokenizer: Tokenizer,
        #[arg(default_value = "-")]
        file: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatsFormat {
    Text,
    Json,
}

#[derive(clap::Args)]
struct CompressArgs {
    /// auto (detect and split mixed content), json, log, search, diff, code or prose.
    #[arg(long, default_value = "auto")]
    engine: EngineChoice,
    /// A TOML config: one table per engine ([json], [log], [search], [diff], [code], [router]).
    #[arg(long)]
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
    /// The input file, or - for stdin.
    #[arg(default_value = "-")]
    file: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compress(args) => compress(args),
        Command::Knobs { table, toml } => knobs(table.as_deref(), toml),
        Command::Count { tokenizer, file } => count(&file, tokenizer),
        Command::Models { threads } => list_models(threads),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            if e.downcast_ref::<config::ConfigError>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
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
    let source = input::read(&args.file).with_context(|| format!("cannot read {}", args.file))?;
    let started = Instant::now();
    let path = (args.file != "-").then(|| args.file.clone());
    let ctx = Context { query: args.query.clone(), tokenizer: args.tokenizer, path, tokens_in: None };
    let requested = args.engine.to_string();
    let mut stdout = std::io::stdout().lock();
    let stats = match input::decode(&source.bytes) {
        Ok(text) => {
            let outcome = ctxlens::compress(text, args.engine, &config, &ctx);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if let Some(path) = &args.ledger {
                let doc = serde_json::to_vec_pretty(&LedgerDoc::of(&outcome, &source.name))?;
                write_atomic(path, &doc).with_context(|| format!("cannot write ledger {}", path.display()))?;
            }
            stdout.write_all(outcome.output.as_bytes())?;
            Stats::of(&outcome, &requested, ms)
        }
        Err(reason) => {
            stdout.write_all(&source.bytes)?;
            let tokens = tokens::count(&String::from_utf8_lossy(&source.bytes), args.tokenizer);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let decision = Decision::Skipped { reason };
            if let Some(path) = &args.ledger {
                let doc =
                    serde_json::json!({ "source": source.name, "decision": decision, "markers": [], "drops": [] });
                write_atomic(path, &serde_json::to_vec_pretty(&doc)?)?;
            }
            Stats::passthrough(&decision, &requested, source.bytes.len(), tokens, args.tokenizer, ms)
        }
    };
    stdout.flush()?;
    match args.stats {
        Some(StatsFormat::Json) => eprintln!("{}", serde_json::to_string(&stats)?),
        Some(StatsFormat::Text) => eprintln!("{}", stats.to_text()),
        None => {}
    }
    Ok(())
}

fn knobs(table: Option<&str>, toml: bool) -> Result<()> {
    if toml {
        print!("{}", Config::default().to_toml());
        return Ok(());
    }
    let tables: Vec<&str> = match table {
        Some(t) if config::TABLES.contains(&t) => vec![t],
        Some(t) => anyhow::bail!("unknown table `{t}`; tables: {}", config::TABLES.join(", ")),
        None => config::TABLES.to_vec(),
    };
    for t in tables {
        println!("[{t}]");
        for k in config::table_knobs(t) {
            let range = match (k.minimum, k.maximum) {
                (Some(a), Some(b)) => format!(" ({a}..={b})"),
                _ => String::new(),
            };
            println!("  {} = {}  # {}{range}\n      {}", k.name, k.default, k.kind, k.doc);
        }
        println!();
    }
    Ok(())
}

fn list_models(threads: usize) -> Result<()> {
    let (runtime, trials) = ctxlens::models::survey(threads);
    match &runtime {
        Ok(p) => println!("ONNX Runtime: {}", p.display()),
        Err(e) => println!("ONNX Runtime: not available: {e}"),
    }
    println!("models folders: {}", {
        let dirs: Vec<String> = ctxlens::models::models_dirs().iter().map(|d| d.display().to_string()).collect();
        if dirs.is_empty() { "none".to_string() } else { dirs.join(", ") }
    });
    if trials.is_empty() {
        println!("no model found; run `{}` to build the default model", ctxlens::models::SETUP_COMMAND);
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
        println!(
            "{}  ({})
  file: {}
  tokenizer: {tok}
  {status}",
            t.candidate.name,
            t.candidate.source,
            t.file.display()
        );
    }
    Ok(())
}

fn count(file: &str, tokenizer: Tokenizer) -> Result<()> {
    let source = input::read(file).with_context(|| format!("cannot read {file}"))?;
    let text = String::from_utf8_lossy(&source.bytes);
    println!("{} {}", tokens::count(&text, tokenizer), tokenizer.encoding_name());
    Ok(())
}
