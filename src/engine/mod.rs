//! The engines and their registry: one file per engine behind the [`Engine`] trait (the API
//! lives in the leaf module [`api`]), and one list, [`registry!`], from which the engine kinds,
//! their names, knob lists, dispatch, the config tables and the CLI's help text are all made.
//! Adding an engine is its file, its `pub mod` line and one line in [`registry!`].
//!
//! An engine takes text, its params and a [`Context`] (user query, tokenizer) and returns
//! [`Compressed`] (output + ledger) or a [`Skip`]. Engines never count the final tokens or decide
//! whether the result is worth it: the pipeline does that once for all of them.

pub mod api;
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

pub use api::{Compressed, Context, Engine, Factor, Fraction, Knob, Memo, Skip, Stop, knobs};

/// The registry: every engine as `table: Kind => EngineType`, in the order the CLI lists them.
/// The table name is the engine's module and its config table. It hands the list to `$make`, a
/// macro that builds something from it (the engine kinds below, the config in `config.rs`).
#[macro_export]
macro_rules! registry {
    ($make:ident) => {
        $make! {
            json: Json => JsonEngine,
            log: Log => LogEngine,
            search: Search => SearchEngine,
            diff: Diff => DiffEngine,
            code: Code => CodeEngine,
            prose: Prose => ProseEngine,
        }
    };
}

/// Builds [`EngineKind`], its names and knobs, and [`run`] from the registry.
macro_rules! engine_kinds {
    ($($table:ident: $kind:ident => $engine:ident,)*) => {
        /// A content type, and the engine that handles it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum EngineKind {
            $($kind,)*
        }

        impl EngineKind {
            pub const ALL: &[EngineKind] = &[$(EngineKind::$kind,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $(EngineKind::$kind => stringify!($table),)*
                }
            }

            /// The knobs of this engine.
            pub fn knobs(self) -> Vec<Knob> {
                match self {
                    $(EngineKind::$kind => knobs::<<$table::$engine as Engine>::Params>(),)*
                }
            }
        }

        /// Runs the engine for `kind` with its params from `config`.
        pub fn run(kind: EngineKind, input: &str, config: &$crate::config::Config, ctx: &Context) -> Result<Compressed, Skip> {
            match kind {
                $(EngineKind::$kind => $table::$engine::compress(input, &config.$table, ctx),)*
            }
        }
    };
}

registry!(engine_kinds);

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl EngineKind {
    /// Every engine's name, joined with `sep` (for help texts and errors).
    pub fn names(sep: &str) -> String {
        EngineKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(sep)
    }
}

impl std::str::FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| format!("unknown engine `{s}`: expected one of {}", EngineKind::names(", ")))
    }
}
