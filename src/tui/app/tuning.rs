//! The tuning panel's state: the knobs of the current engine, their values, changing them one
//! step or by typing, undo and redo.

use super::*;

impl App {
    /// The knobs the tuning panel lists: the current engine's table, then the router's when the
    /// router picks the engine.
    pub fn knobs(&self) -> Vec<(&'static str, &'static Knob)> {
        let Some(b) = self.current() else { return Vec::new() };
        let sel = self.blocks[b].sel;
        let engine = match sel {
            EngineSel::Recorded => return Vec::new(),
            EngineSel::Only(k) => Some(k),
            // the knobs Headroom's compressor for the block's type shares reach it by its names
            EngineSel::Headroom => Some(crate::router::detect(&self.blocks[b].text).kind),
            EngineSel::Auto => self
                .view
                .as_ref()
                .filter(|v| v.computed.block == b)
                .and_then(|v| v.computed.outcome.as_ref())
                .and_then(|o| o.engine.or_else(|| o.sections.first().map(|s| s.kind)))
                .or_else(|| self.blocks[b].stats.as_ref().and_then(|s| s.engine.parse::<EngineKind>().ok())),
        };
        let mut out: Vec<(&'static str, &'static Knob)> = Vec::new();
        if let Some(k) = engine {
            out.extend(table_knobs(k.name()).iter().map(|kn| (k.name(), kn)));
        }
        if sel == EngineSel::Auto {
            out.extend(table_knobs("router").iter().map(|kn| ("router", kn)));
        }
        out
    }

    /// A knob's current value (`None`: unset), from the config's TOML form kept beside it.
    pub fn knob_value(&self, table: &str, knob: &str) -> Option<&toml::Value> {
        self.config_toml.get(table)?.get(knob)
    }

    /// Replaces the config, and its TOML form the tuning panel reads on every frame.
    pub(super) fn replace_config(&mut self, config: Config) {
        self.config_toml = toml::Table::try_from(&config).unwrap_or_default();
        self.config = Arc::new(config);
    }

    pub(super) fn set_config(&mut self, config: Config, why: String) {
        if config == *self.config {
            self.message = format!("{why} (no change)");
            return;
        }
        self.undo.push((*self.config).clone());
        self.redo.clear();
        self.replace_config(config);
        self.recount_all();
        self.message = why;
    }

    pub(super) fn assign(&mut self, table: &str, knob: &str, literal: &str) {
        let mut c = (*self.config).clone();
        match c.set(&format!("{table}.{knob}={literal}")) {
            Ok(()) => self.set_config(c, format!("{table}.{knob} = {literal}")),
            Err(e) => self.message = e.to_string(),
        }
    }

    pub(super) fn selected_knob(&self) -> Option<(&'static str, &'static Knob)> {
        self.knobs().into_iter().nth(self.knob_sel)
    }

    pub(super) fn adjust_knob(&mut self, up: bool) {
        let Some((table, k)) = self.selected_knob() else {
            self.message = "no knobs here: pick an engine with m".into();
            return;
        };
        match self.knob_value(table, &k.name).and_then(|v| step(k, v, up)) {
            Some(lit) => self.assign(table, &k.name, &lit),
            None => self.edit_knob(),
        }
    }

    pub(super) fn edit_knob(&mut self) {
        let Some((table, k)) = self.selected_knob() else { return };
        let v = self.knob_value(table, &k.name);
        if let Some(toml::Value::Boolean(b)) = v {
            let flipped = (!b).to_string();
            self.assign(table, &k.name, &flipped);
            return;
        }
        // a string is offered as its text (a typed value that is not TOML is taken as a string)
        let cur = match v {
            Some(toml::Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        self.prompt(Ask::Knob(table.to_string(), k.name.clone()), cur);
    }

    pub(super) fn undo_redo(&mut self, undo: bool) {
        let (from, to) = if undo { (&mut self.undo, &mut self.redo) } else { (&mut self.redo, &mut self.undo) };
        let Some(c) = from.pop() else {
            self.message = if undo { "nothing to undo" } else { "nothing to redo" }.into();
            return;
        };
        to.push((*self.config).clone());
        self.replace_config(c);
        self.recount_all();
        self.message = if undo { "undone" } else { "redone" }.into();
    }
}

/// The next value of a knob one step up or down, as a TOML literal (`None`: it needs typing).
pub fn step(k: &Knob, v: &toml::Value, up: bool) -> Option<String> {
    let clamp = |x: f64| {
        let x = k.minimum.map_or(x, |m| x.max(m));
        k.maximum.map_or(x, |m| x.min(m))
    };
    match v {
        toml::Value::Boolean(b) => Some((!b).to_string()),
        toml::Value::Integer(i) => {
            let mag = (i.abs() / 10).max(1);
            let p = 10i64.pow(mag.ilog10());
            let s = mag / p * p;
            let n = if up { i + s } else { i - s };
            Some((clamp(n as f64) as i64).to_string())
        }
        toml::Value::Float(f) => {
            let s = if k.maximum.is_some_and(|m| m <= 1.0) || f.abs() <= 1.0 { 0.05 } else { f.abs() * 0.1 };
            let n = clamp(if up { f + s } else { f - s });
            let n = (n * 1e4).round() / 1e4;
            Some(if n.fract() == 0.0 { format!("{n:.1}") } else { n.to_string() })
        }
        toml::Value::String(s) if !k.choices.is_empty() => {
            let i = k.choices.iter().position(|c| c == s).unwrap_or(0);
            let n = k.choices.len();
            let next = &k.choices[if up { (i + 1) % n } else { (i + n - 1) % n }];
            Some(toml::Value::String(next.clone()).to_string())
        }
        _ => None,
    }
}
