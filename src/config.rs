//! Configuration: one TOML table per engine (plus `[router]`), loaded from a file, changed with
//! `--set engine.knob=value`, and written back out.
//!
//! Every knob is a field of an engine's params struct, so an unknown table, unknown knob or a value
//! of the wrong type or out of range is rejected by deserialisation itself; errors name the file
//! and line (from the TOML parser) or the `--set` argument.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::engine::{EngineKind, Knob, knobs};
use crate::router::RouterParams;

/// Builds [`Config`] (`[router]`, then one table per engine of the registry, then `[keys]`) and
/// [`TABLES`] from the engine registry.
macro_rules! config {
    ($($table:ident: $kind:ident => $engine:ident,)*) => {
        /// All knobs of all engines.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            pub router: RouterParams,
            $(pub $table: <crate::engine::$table::$engine as crate::engine::Engine>::Params,)*
            /// Workbench key overrides: command name → keys (`next_change = ["]", "n"]`); see `?` in the TUI.
            #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            pub keys: std::collections::BTreeMap<String, Vec<String>>,
            /// Where and for how long dropped originals are kept (`[store]`; not an engine's knobs).
            #[serde(skip_serializing_if = "crate::store::Settings::is_default")]
            pub store: crate::store::Settings,
        }

        /// The config tables, in file order.
        pub const TABLES: &[&str] = &["router", $(stringify!($table),)*];
    };
}

crate::registry!(config);

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("bad config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("bad --set `{assignment}`: {message}")]
    Set { assignment: String, message: String },
}

impl Config {
    /// Reads a TOML config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_path_buf(), error })?;
        Config::parse(&text).map_err(|message| ConfigError::Parse { path: path.to_path_buf(), message })
    }

    /// Parses TOML text; the error carries the line and column.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        check_ranges(&toml::Table::try_from(&config).map_err(|e| e.to_string())?)?;
        config.check_names()?;
        Ok(config)
    }

    /// Applies one `table.knob=value` assignment. The value is read as TOML (`20`, `0.5`, `true`,
    /// `["a", "b"]`), or as a string when it is not TOML.
    pub fn set(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let err = |message: String| ConfigError::Set { assignment: assignment.to_string(), message };
        let (key, raw) = assignment.split_once('=').ok_or_else(|| err("expected table.knob=value".into()))?;
        let (table, knob) = key.trim().split_once('.').ok_or_else(|| {
            err(format!("expected table.knob, e.g. json.max_items_after_crush; tables: {}", TABLES.join(", ")))
        })?;
        if !TABLES.contains(&table) && table != "store" {
            return Err(err(format!("unknown table `{table}`; tables: {}, store", TABLES.join(", "))));
        }
        let known = table_knobs(table);
        if table != "store" && !known.iter().any(|k| k.name == knob) {
            let names: Vec<&str> = known.iter().map(|k| k.name.as_str()).collect();
            return Err(err(format!("unknown knob `{knob}` in [{table}]; knobs: {}", names.join(", "))));
        }
        let raw = raw.trim();
        if raw.contains(['\n', '\r']) {
            return Err(err("one value per --set: the value has a line break".into()));
        }
        let value = toml::from_str::<toml::Table>(&format!("v = {raw}")).ok().and_then(|mut t| t.remove("v"));
        // a whole number TOML cannot hold is a number out of range, not a string of the wrong type
        let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw).replace('_', "");
        if value.is_none() && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err(format!(
                "{key} = {raw} is out of range: whole numbers here are at most {}",
                i64::MAX,
                key = key.trim()
            )));
        }
        // a number TOML reads as infinite (`1e309`) is out of range too
        if value.is_none() && raw.parse::<f64>().is_ok_and(|f| !f.is_finite()) {
            return Err(err(format!("{key} = {raw} is out of range: not a finite number", key = key.trim())));
        }
        let value = value.unwrap_or_else(|| toml::Value::String(raw.to_string()));
        let mut doc = toml::Table::try_from(&*self).map_err(|e| err(e.to_string()))?;
        // [store] is left out of the TOML while it holds its defaults
        if let toml::Value::Table(t) = doc.entry(table).or_insert_with(|| toml::Value::Table(toml::Table::new())) {
            t.insert(knob.to_string(), value);
        }
        check_ranges(&doc).map_err(err)?;
        let set: Config = doc.try_into().map_err(|e: toml::de::Error| err(e.message().to_string()))?;
        set.check_names().map_err(err)?;
        *self = set;
        Ok(())
    }

    /// Knobs that name something (a language) name something that exists, so a typo fails when
    /// the config is read, not on every block at run time.
    fn check_names(&self) -> Result<(), String> {
        let hint = self.code.language_hint.trim();
        if !hint.is_empty() {
            let langs: Vec<&str> = crate::engine::lang::Lang::ALL.iter().map(|l| l.name()).collect();
            hint.parse::<crate::engine::lang::Lang>().map_err(|e| {
                format!(
                    "code.language_hint: {e}; known: {} or their file extensions (or empty to detect)",
                    langs.join(", ")
                )
            })?;
        }
        Ok(())
    }

    /// The config as TOML, every knob written out.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }
}

/// Every numeric knob within the range its schema declares (`prose.batch_size` 1 to 64…): a
/// value past it is refused here, with its knob named, rather than reaching an engine that
/// would allocate for it or pass it to the model runtime.
fn check_ranges(doc: &toml::Table) -> Result<(), String> {
    for table in TABLES {
        let Some(toml::Value::Table(values)) = doc.get(*table) else { continue };
        for k in table_knobs(table) {
            let v = match values.get(&k.name) {
                Some(toml::Value::Integer(i)) => *i as f64,
                Some(toml::Value::Float(f)) => *f,
                _ => continue,
            };
            if !v.is_finite() {
                return Err(format!("{table}.{} = {v} is out of range: not a finite number", k.name));
            }
            let low = k.minimum.is_some_and(|m| v < m);
            let high = k.maximum.is_some_and(|m| v > m);
            if low || high {
                let range = match (k.minimum, k.maximum) {
                    (Some(a), Some(b)) => format!("{a} to {b}"),
                    (Some(a), None) => format!("at least {a}"),
                    (None, Some(b)) => format!("at most {b}"),
                    (None, None) => unreachable!("a bound was crossed"),
                };
                return Err(format!("{table}.{} = {v} is out of range: expected {range}", k.name));
            }
        }
    }
    Ok(())
}

/// The knobs of one config table (empty for an unknown table). Read from the params' schemas
/// once per process: the workbench lists them on every frame.
pub fn table_knobs(table: &str) -> &'static [Knob] {
    static ALL: std::sync::OnceLock<Vec<(&'static str, Vec<Knob>)>> = std::sync::OnceLock::new();
    let all = ALL.get_or_init(|| {
        TABLES
            .iter()
            .map(|&t| {
                let ks = match t {
                    "router" => knobs::<RouterParams>(),
                    other => other.parse::<EngineKind>().map(EngineKind::knobs).unwrap_or_default(),
                };
                (t, ks)
            })
            .collect()
    });
    all.iter().find(|(t, _)| *t == table).map_or(&[], |(_, ks)| ks.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_line_and_unknown_keys() {
        let e = Config::parse("[json]\nmax_items_after_crush = 20\nmax_itemz = 3\n").unwrap_err();
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("max_itemz"), "{e}");
        let e = Config::parse("[jsno]\n").unwrap_err();
        assert!(e.contains("jsno"), "{e}");
        let e = Config::parse("[json]\nfirst_fraction = 1.5\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("out of range"), "{e}");
        let e = Config::parse("[log]\nmax_errors = \"ten\"\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn knobs_past_their_range_are_refused_with_their_name() {
        let mut c = Config::default();
        let e = c.set("prose.batch_size=4294967296").unwrap_err().to_string();
        assert!(e.contains("prose.batch_size") && e.contains("1 to 64"), "{e}");
        assert!(c.set("prose.max_length=100000").unwrap_err().to_string().contains("8 to 8192"));
        assert_eq!(c, Config::default(), "a refused --set changes nothing");
        let e = Config::parse("[prose]\nbatch_size = 0\n").unwrap_err();
        assert!(e.contains("prose.batch_size = 0"), "{e}");
        assert!(c.set("prose.batch_size=8").is_ok());
    }

    #[test]
    fn set_changes_one_knob() {
        let mut c = Config::default();
        c.set("json.max_items_after_crush=20").unwrap();
        assert_eq!(c.json.max_items_after_crush, 20);
        c.set("search.context_keywords=[\"auth\", \"token\"]").unwrap();
        assert_eq!(c.search.context_keywords, ["auth", "token"]);
        assert!(c.set("json.nope=1").unwrap_err().to_string().contains("unknown knob `nope`"));
        assert!(c.set("xml.a=1").unwrap_err().to_string().contains("unknown table"));
        assert!(c.set("json.first_fraction=2").unwrap_err().to_string().contains("out of range"));
        let e = c.set("diff.max_context_lines=123456789012345678901").unwrap_err().to_string();
        assert!(e.contains("diff.max_context_lines = 123456789012345678901 is out of range"), "{e}");
        let e = c.set("log.max_total_lines=40\nmin_lines_for_ccr=100000").unwrap_err().to_string();
        assert!(e.contains("line break"), "{e}");
        assert!(c.set("log.max_errors=-1").is_err());
        for inf in ["json.first_fraction=1e309", "json.first_fraction=inf", "json.first_fraction=nan"] {
            let e = c.set(inf).unwrap_err().to_string();
            assert!(e.contains("not a finite number"), "{e}");
        }
        let e = c.set("code.language_hint=klingon").unwrap_err().to_string();
        assert!(e.contains("unknown language `klingon`") && e.contains("python"), "{e}");
        c.set("code.language_hint=rs").unwrap();
        let e = Config::parse("[code]\nlanguage_hint = \"cobol\"\n").unwrap_err();
        assert!(e.contains("unknown language `cobol`"), "{e}");
        c.set("store.enabled=true").unwrap();
        c.set("store.location=redis://cache/0").unwrap();
        assert!(c.store.enabled && c.store.location.as_deref() == Some("redis://cache/0"));
        assert!(c.set("store.ttl=3").unwrap_err().to_string().contains("ttl"));
        assert_eq!(Config::parse(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn round_trips_through_toml() {
        let mut c = Config::default();
        c.set("diff.max_context_lines=5").unwrap();
        assert_eq!(Config::parse(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn knobs_have_docs_and_defaults() {
        for t in TABLES {
            let ks = table_knobs(t);
            assert!(!ks.is_empty(), "{t}");
            for k in ks {
                assert!(!k.doc.is_empty(), "{t}.{} has no doc", k.name);
                assert!(!k.default.is_null(), "{t}.{} has no default", k.name);
            }
        }
        let ff = table_knobs("json").iter().find(|k| k.name == "first_fraction").unwrap();
        assert_eq!((ff.minimum, ff.maximum), (Some(0.0), Some(1.0)));
        assert_eq!(ff.default, serde_json::json!(0.3));
    }
}
