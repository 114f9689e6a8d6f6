//! The engine API, a leaf: what an engine is given ([`Context`], its params), what it returns
//! ([`Compressed`] or a [`Skip`]), and how its knobs are described ([`Knob`]). It imports no
//! engine and no config; engines, the registry, the pipeline and the outcome all build on it.
//!
//! Params are serde structs whose doc comments are the knob documentation; [`knobs`] reads them
//! back through `schemars`, so the CLI, a config file and a tuning panel all see the same list.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::text;
use crate::ledger::Ledger;
use crate::tokens::Tokenizer;

/// Frees a large value (a parsed document, a syntax tree) on a helper thread: taking one apart
/// costs milliseconds a caller (a knob change waiting for its diff) need not wait for. Where no
/// thread can be started, the value is freed here.
pub fn drop_later<T: Send + 'static>(v: T) {
    type Sender = std::sync::mpsc::Sender<Box<dyn Send>>;
    static TX: std::sync::OnceLock<Option<std::sync::Mutex<Sender>>> = std::sync::OnceLock::new();
    let tx = TX.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn Send>>();
        let thread = std::thread::Builder::new().name("ctxlens-drop".into());
        let free = move || {
            for v in rx {
                drop(v);
                PENDING.fetch_sub(1, Ordering::SeqCst);
            }
        };
        thread.spawn(free).ok().map(|_| std::sync::Mutex::new(tx))
    });
    if let Some(tx) = tx.as_ref().and_then(|t| t.lock().ok()) {
        PENDING.fetch_add(1, Ordering::SeqCst);
        if tx.send(Box::new(v)).is_err() {
            // freed here, as the value came back with the error
            PENDING.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Values handed to [`drop_later`]'s thread and not yet freed.
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// Returns once every value handed to [`drop_later`] before this call is freed: a benchmark's
/// calls each start as a one-shot call would, not beside the freeing of the call before.
pub fn drops_done() {
    // most calls free nothing later: no round trip to the helper thread for them
    if PENDING.load(Ordering::SeqCst) == 0 {
        return;
    }
    /// Sends when it is freed, which the helper thread does in order.
    struct Signal(std::sync::mpsc::Sender<()>);
    impl Drop for Signal {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    drop_later(Signal(tx));
    let _ = rx.recv();
}

/// What engines may remember between calls, owned by a caller that compresses the same inputs
/// again (the workbench, on every knob change) and passed in [`Context::memo`]; a single run
/// passes none and pays nothing. Each kind of entry (an engine's own name for it) is a bounded
/// LRU of its own, so a few large parses never crowd out many small signals or the reverse.
/// Entries are keyed by what they were derived from, never by a knob.
#[derive(Default)]
pub struct Memo {
    kinds: std::sync::Mutex<std::collections::HashMap<&'static str, lru::LruCache<u64, Entry>>>,
}

type Entry = std::sync::Arc<dyn std::any::Any + Send + Sync>;

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes: Vec<(&str, usize)> =
            self.kinds.lock().map(|k| k.iter().map(|(n, c)| (*n, c.len())).collect()).unwrap_or_default();
        f.debug_struct("Memo").field("entries", &sizes).finish()
    }
}

impl Memo {
    /// The entry of `kind` under `key`, if it is there and of type `T`.
    pub fn get<T: std::any::Any + Send + Sync>(&self, kind: &'static str, key: u64) -> Option<std::sync::Arc<T>> {
        let mut kinds = self.kinds.lock().ok()?;
        kinds.get_mut(kind)?.get(&key).cloned()?.downcast::<T>().ok()
    }

    /// Remembers `value` as `kind`'s entry under `key`; a kind holds at most `capacity` entries,
    /// the least recently used going first.
    pub fn put<T: std::any::Any + Send + Sync>(&self, kind: &'static str, capacity: usize, key: u64, value: T) {
        let Ok(mut kinds) = self.kinds.lock() else { return };
        let cap = std::num::NonZeroUsize::new(capacity.max(1)).expect("capacity is at least 1");
        kinds.entry(kind).or_insert_with(|| lru::LruCache::new(cap)).put(key, std::sync::Arc::new(value));
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
    /// Where engines keep what they derived from an input, for the next call on the same input
    /// (see [`Memo`]); `None` in one-shot runs.
    pub memo: Option<std::sync::Arc<Memo>>,
    /// Whether the caller still wants the result, asked by a long engine between its steps.
    pub stop: Option<Stop>,
    /// How many lines of the whole input come before this text (a section's place in it), so a
    /// reason naming a line names the input's line; 0 for a whole input.
    pub lines_before: usize,
}

/// A caller's "stop now": the workbench stops a job whose block went off screen or whose knobs
/// changed. The prose engine asks between model batches; a stopped call's result is thrown away.
#[derive(Clone)]
pub struct Stop(std::sync::Arc<dyn Fn() -> bool + Send + Sync>);

impl Stop {
    pub fn new(asked: impl Fn() -> bool + Send + Sync + 'static) -> Stop {
        Stop(std::sync::Arc::new(asked))
    }

    pub fn asked(&self) -> bool {
        (self.0)()
    }
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Stop(..)")
    }
}

impl Context {
    /// The token count of `input`, from [`Self::tokens_in`] when set.
    pub fn input_tokens(&self, input: &str) -> usize {
        self.tokens_in.unwrap_or_else(|| crate::tokens::count(input, self.tokenizer))
    }
}

impl Context {
    /// Whether the caller asked to stop.
    pub fn stopped(&self) -> bool {
        self.stop.as_ref().is_some_and(Stop::asked)
    }

    /// The whole query, trimmed and lower-cased, when one was given: a line or hunk holding it is
    /// what the user asked for, and the line engines always keep it.
    pub fn whole_query(&self) -> Option<String> {
        self.query.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(str::to_lowercase)
    }

    /// Lower-cased query words longer than two characters.
    pub fn query_words(&self) -> Vec<String> {
        self.query.as_deref().map(text::words_over_two).unwrap_or_default()
    }
}

/// One content-type engine.
pub trait Engine {
    /// The engine's knobs: a serde struct with Headroom's field names and defaults.
    type Params: Serialize + DeserializeOwned + JsonSchema + Default + Clone + PartialEq + fmt::Debug;

    fn compress(input: &str, params: &Self::Params, ctx: &Context) -> Result<Compressed, Skip>;
}

/// What an engine produced when it acted.
#[derive(Debug, Clone, Default)]
pub struct Compressed {
    pub output: String,
    pub ledger: Ledger,
    /// Short description of what was done, e.g. "kept 34 of 1,204 lines".
    pub strategy: String,
    /// Decisions about parts of the input, e.g. "/packages: kept all 120 rows (unique entities)".
    pub notes: Vec<String>,
    /// The engine's time budget ran out: the rest of the input is kept as it was.
    pub budget_hit: bool,
}

/// Why an engine (or the pipeline) did not act; the input is passed through unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Skip {
    /// The input is empty.
    Empty,
    /// The input holds a NUL byte or mostly control bytes.
    Binary { offset: usize },
    /// The input is not UTF-8.
    InvalidUtf8 { offset: usize, line: usize },
    /// The input is UTF-16 text (it starts with a UTF-16 byte-order mark).
    Utf16 { big_endian: bool },
    /// The input is below a size gate.
    TooSmall { detail: String },
    /// The input is not what this engine handles.
    NotThisType { detail: String },
    /// The input looks like this engine's type but does not parse.
    ParseFailed { detail: String },
    /// The compressed form would not be smaller.
    WouldGrow { tokens_in: usize, tokens_out: usize },
    /// The engine found nothing it may drop under the current knobs.
    NothingToDrop { detail: String },
    /// The engine needs something that is not installed (a runtime, a model).
    Unavailable { detail: String },
    /// The engine's time budget ran out before it decided anything.
    OutOfTime { detail: String },
}

impl Skip {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Skip::Empty => "empty",
            Skip::Binary { .. } => "binary",
            Skip::InvalidUtf8 { .. } => "invalid_utf8",
            Skip::Utf16 { .. } => "utf16",
            Skip::TooSmall { .. } => "too_small",
            Skip::NotThisType { .. } => "not_this_type",
            Skip::ParseFailed { .. } => "parse_failed",
            Skip::WouldGrow { .. } => "would_grow",
            Skip::NothingToDrop { .. } => "nothing_to_drop",
            Skip::Unavailable { .. } => "unavailable",
            Skip::OutOfTime { .. } => "out_of_time",
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.code())?;
        match self {
            Skip::Empty => f.write_str("the input is empty"),
            Skip::Binary { offset } => {
                write!(f, "binary input (NUL or control bytes from byte {offset})")
            }
            Skip::InvalidUtf8 { offset, line } => {
                write!(f, "input is not valid UTF-8 (first bad byte at offset {offset}, line {line})")
            }
            Skip::Utf16 { big_endian } => {
                let (order, mark) = if *big_endian { ("BE", "FE FF") } else { ("LE", "FF FE") };
                write!(
                    f,
                    "UTF-16{order} text (byte-order mark {mark}); the engines read UTF-8: convert it first \
                     (iconv -f UTF-16 -t UTF-8)"
                )
            }
            Skip::TooSmall { detail }
            | Skip::NotThisType { detail }
            | Skip::ParseFailed { detail }
            | Skip::NothingToDrop { detail }
            | Skip::Unavailable { detail }
            | Skip::OutOfTime { detail } => f.write_str(detail),
            Skip::WouldGrow { tokens_in, tokens_out } => {
                write!(f, "output would not be smaller ({tokens_in} → {tokens_out} tokens)")
            }
        }
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
