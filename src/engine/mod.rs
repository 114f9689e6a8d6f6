//! The engine API: one trait, one engine per file, typed knobs with Headroom's names and defaults.
//!
//! An engine takes text, its params and a [`Context`] (user query, tokenizer) and returns
//! [`Compressed`] (output + ledger) or a [`Skip`]. Engines never count the final tokens or decide
//! whether the result is worth it: the pipeline does that once for all of them.
//!
//! Params are serde structs whose doc comments are the knob documentation; [`knobs`] reads them
//! back through `schemars`, so the CLI, a config file and a tuning panel all see the same list.

pub mod code;
pub mod diff;
pub mod json;
pub mod jsonspan;
pub mod lang;
pub mod log;
pub mod prose;
pub mod search;
pub mod sizing;
pub mod text;

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::outcome::{Compressed, Skip};
use crate::tokens::Tokenizer;

/// A content type, and the engine that handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Json,
    Log,
    Search,
    Diff,
    Code,
    Prose,
}

impl EngineKind {
    pub const ALL: [EngineKind; 6] =
        [EngineKind::Json, EngineKind::Log, EngineKind::Search, EngineKind::Diff, EngineKind::Code, EngineKind::Prose];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Json => "json",
            EngineKind::Log => "log",
            EngineKind::Search => "search",
            EngineKind::Diff => "diff",
            EngineKind::Code => "code",
            EngineKind::Prose => "prose",
        }
    }

    /// The knobs of this engine (empty for types without an engine).
    pub fn knobs(self) -> Vec<Knob> {
        match self {
            EngineKind::Json => knobs::<json::JsonParams>(),
            EngineKind::Log => knobs::<log::LogParams>(),
            EngineKind::Search => knobs::<search::SearchParams>(),
            EngineKind::Diff => knobs::<diff::DiffParams>(),
            EngineKind::Code => knobs::<code::CodeParams>(),
            EngineKind::Prose => knobs::<prose::ProseParams>(),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<_> = EngineKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown engine `{s}`: expected one of {}", names.join(", "))
        })
    }
}

/// What every engine gets besides its input and params.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The user's question, for relevance scoring (Headroom uses the latest user message).
    pub query: Option<String>,
    /// The tokenizer used for every size decision and count.
    pub tokenizer: Tokenizer,
    /// The input's file name, when it has one (the code engine reads the language from it).
    pub path: Option<String>,
    /// The input's token count when the caller already has it (the pipeline counts every section
    /// once, so engines with a token gate do not count again).
    pub tokens_in: Option<usize>,
}

impl Context {
    /// The token count of `input`, from [`Self::tokens_in`] when set.
    pub fn input_tokens(&self, input: &str) -> usize {
        self.tokens_in.unwrap_or_else(|| crate::tokens::count(input, self.tokenizer))
    }
}

impl Context {
    /// Lower-cased query words longer than two characters.
    pub fn query_words(&self) -> Vec<String> {
        self.query.as_deref().map(text::words_over_two).unwrap_or_default()
    }
}

/// One content-type engine.
pub trait Engine {
    const KIND: EngineKind;
    /// The engine's knobs: a serde struct with Headroom's field names and defaults.
    type Params: Serialize + DeserializeOwned + JsonSchema + Default + Clone + fmt::Debug;

    fn compress(input: &str, params: &Self::Params, ctx: &Context) -> Result<Compressed, Skip>;
}

/// Forgets what engines remember between runs (list sizing signals, the last JSON parse), so
/// the next run costs what a first run does. For benchmarks of a single cold run.
pub fn forget() {
    sizing::forget();
    json::forget();
}

/// Runs the engine for `kind` with its params from `config`.
pub fn run(kind: EngineKind, input: &str, config: &Config, ctx: &Context) -> Result<Compressed, Skip> {
    match kind {
        EngineKind::Json => json::JsonEngine::compress(input, &config.json, ctx),
        EngineKind::Log => log::LogEngine::compress(input, &config.log, ctx),
        EngineKind::Search => search::SearchEngine::compress(input, &config.search, ctx),
        EngineKind::Diff => diff::DiffEngine::compress(input, &config.diff, ctx),
        EngineKind::Code => code::CodeEngine::compress(input, &config.code, ctx),
        EngineKind::Prose => prose::ProseEngine::compress(input, &config.prose, ctx),
    }
}

/// One knob, as a config file or a tuning panel sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Knob {
    pub name: String,
    /// The field's doc comment.
    pub doc: String,
    /// JSON type: boolean, integer, number, string or array.
    pub kind: String,
    pub default: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Allowed values of a string knob.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

/// Reads a params struct's knobs from its JSON schema.
pub fn knobs<P: JsonSchema>() -> Vec<Knob> {
    let schema = schemars::schema_for!(P);
    let root = schema.as_value();
    let defs = root.get("$defs");
    let Some(props) = root.get("properties").and_then(|p| p.as_object()) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let resolved = resolve_ref(prop, defs);
            let kind = resolved
                .get("type")
                .and_then(|t| t.as_str())
                .or_else(|| resolved.get("enum").map(|_| "string"))
                .or_else(|| resolved.get("oneOf").map(|_| "string"))
                .unwrap_or("value")
                .to_string();
            let choices = enum_choices(resolved);
            Knob {
                name: name.clone(),
                doc: prop
                    .get("description")
                    .or_else(|| resolved.get("description"))
                    .and_then(|d| d.as_str())
                    .unwrap_or_default()
                    .to_string(),
                kind,
                default: prop.get("default").cloned().unwrap_or(serde_json::Value::Null),
                minimum: resolved.get("minimum").and_then(|v| v.as_f64()),
                maximum: resolved.get("maximum").and_then(|v| v.as_f64()),
                choices,
            }
        })
        .collect()
}

fn resolve_ref<'a>(prop: &'a serde_json::Value, defs: Option<&'a serde_json::Value>) -> &'a serde_json::Value {
    let Some(r) = prop.get("$ref").and_then(|r| r.as_str()) else {
        return prop;
    };
    let name = r.rsplit('/').next().unwrap_or_default();
    defs.and_then(|d| d.get(name)).unwrap_or(prop)
}

fn enum_choices(schema: &serde_json::Value) -> Vec<String> {
    if let Some(values) = schema.get("enum").and_then(|e| e.as_array()) {
        return values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    }
    schema
        .get("oneOf")
        .and_then(|o| o.as_array())
        .map(|alts| alts.iter().filter_map(|a| a.get("const").and_then(|c| c.as_str()).map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A float knob restricted to a closed range, checked when a config is read (so a bad value is
/// reported with its file position).
macro_rules! bounded_f64 {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            pub const MIN: f64 = $min;
            pub const MAX: f64 = $max;

            pub fn get(self) -> f64 {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = f64::deserialize(d)?;
                if v.is_finite() && ($min..=$max).contains(&v) {
                    Ok($name(v))
                } else {
                    Err(serde::de::Error::custom(format!("{v} is out of range: expected {} to {}", $min, $max)))
                }
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "number", "minimum": $min, "maximum": $max })
            }

            fn inline_schema() -> bool {
                true
            }
        }
    };
}

bounded_f64!(
    /// A share between 0 and 1.
    Fraction,
    0.0,
    1.0
);
bounded_f64!(
    /// A multiplier between 0 and 100 (σ multipliers, biases).
    Factor,
    0.0,
    100.0
);
