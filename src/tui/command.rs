//! Named commands and the key map. Every key runs a named command; the help screen is generated
//! from this table, and a config's `[keys]` table rebinds commands (`next_change = ["]", "n"]`).

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

macro_rules! commands {
    ($($variant:ident => $name:literal, $doc:literal, [$($key:literal),*];)*) => {
        /// A named command.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Command { $($variant),* }

        impl Command {
            pub const ALL: &'static [Command] = &[$(Command::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Command::$variant => $name),* }
            }

            pub fn doc(self) -> &'static str {
                match self { $(Command::$variant => $doc),* }
            }

            fn default_keys(self) -> &'static [&'static str] {
                match self { $(Command::$variant => &[$($key),*]),* }
            }
        }
    };
}

commands! {
    Quit => "quit", "Close a popup; on the main screen quit (asks first when tuned knobs are not exported)", ["q", "Q", "ctrl-c"];
    Back => "back", "Close a popup or prompt; clear the search; never quits", ["esc"];
    Suspend => "suspend", "Stop the workbench as a shell job (fg brings it back)", ["ctrl-z"];
    Help => "help", "Show this help", ["?", "f1"];
    Problems => "problems", "List the lines and entries of the capture that could not be loaded", ["!"];
    Down => "down", "Move down in the focused pane", ["j", "down"];
    Up => "up", "Move up in the focused pane", ["k", "up"];
    Top => "top", "Go to the top", ["g", "home"];
    Bottom => "bottom", "Go to the bottom", ["G", "end"];
    HalfDown => "half_down", "Half a page down", ["ctrl-d"];
    HalfUp => "half_up", "Half a page up", ["ctrl-u"];
    PageDown => "page_down", "A page down", ["pgdn", "space", "ctrl-f"];
    PageUp => "page_up", "A page up", ["pgup", "ctrl-b"];
    NextPane => "next_pane", "Focus the next pane (flows, diff, ledger, knobs)", ["tab"];
    PrevPane => "prev_pane", "Focus the previous pane", ["backtab"];
    FocusFlows => "focus_flows", "Focus the flow list", ["1"];
    FocusDiff => "focus_diff", "Focus the diff", ["2"];
    FocusLedger => "focus_ledger", "Focus the ledger of dropped spans", ["3"];
    FocusKnobs => "focus_knobs", "Focus the knobs (the only pane where h, l, +, - turn a knob)", ["4"];
    Toggle => "toggle", "Expand or collapse a flow or fold; jump to a ledger span; edit a knob", ["enter"];
    ExpandAll => "expand_all", "Expand or collapse every flow (list) or every fold (diff)", ["z"];
    ScrollRight => "scroll_right", "Scroll the diff right, to read long lines", ["L"];
    ScrollLeft => "scroll_left", "Scroll the diff back left", ["H"];
    NextChange => "next_change", "Jump to the next change", ["]"];
    PrevChange => "prev_change", "Jump to the previous change", ["["];
    Search => "search", "Search the text of the current block", ["/"];
    SearchNext => "search_next", "Next search match (next change when not searching)", ["n"];
    SearchPrev => "search_prev", "Previous search match (previous change when not searching)", ["N"];
    Unified => "unified", "Switch between side-by-side and unified view", ["s"];
    NextEngine => "next_engine", "Next engine for this block (auto, recorded, json, log, …)", ["m"];
    PrevEngine => "prev_engine", "Previous engine for this block", ["M"];
    Retrieve => "retrieve", "Show the original behind the marker on the cursor line or the ledger row (ctxlens's, or Headroom's from its CCR store)", ["r"];
    Audit => "audit", "Audit mode: every block with a recorded compression shows it against the original, with ctxlens's tokens and the silent losses beside it", ["a"];
    Claims => "claims", "Check ctxlens's README claims (claims/ctxlens.toml) on the loaded tool outputs and files: a verdict table; enter on a claim jumps to its evidence; m switches to Headroom's claims on the real Headroom (with --headroom-python)", ["A"];
    NextSilent => "next_silent", "Jump to the next line lost with no marker (!)", ["}"];
    PrevSilent => "prev_silent", "Jump to the previous line lost with no marker", ["{"];
    NewOnly => "new_only", "List only the blocks new in each request (agent captures resend the history)", ["v"];
    Compare => "compare", "Compare with a second engine (cycles; off at the end)", ["c"];
    Filter => "filter", "Filter the flow list (~engine json, ~role tool, ~saved>50, ~err, ! & |)", ["f"];
    Sort => "sort", "Sort: flows in input order, blocks by most tokens, blocks by most saved", ["o"];
    KnobUp => "knob_up", "Knobs: increase the selected knob (flip a true/false one); flows: open a flow; diff: scroll right", ["+", "l", "right"];
    KnobDown => "knob_down", "Knobs: decrease the selected knob; flows: close a flow; diff: scroll left", ["-", "h", "left"];
    Undo => "undo", "Undo the last knob change", ["u"];
    Redo => "redo", "Redo a knob change", ["ctrl-r"];
    Tokenizer => "tokenizer", "Switch the tokenizer (o200k / cl100k)", ["t"];
    PriceModel => "price_model", "Cycle the model used for cost (each flow's own model first)", ["$"];
    Export => "export", "Export the knobs: ctxlens TOML, Headroom env and Python", ["e"];
    Import => "import", "Load a ctxlens config file", ["i"];
    WriteBlock => "write_block", "Write the current block's compressed output to a file", ["w"];
    Theme => "theme", "Cycle the colour theme", ["T"];
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A key as written in configs and help: `j`, `G`, `ctrl-d`, `shift-tab`, `enter`, `f1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// A key binding that cannot be read (from `[keys]` in a config).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("unknown modifier `{modifier}` in `{key}`")]
    Modifier { modifier: String, key: String },
    #[error("unknown key `{0}`")]
    Key(String),
    #[error("[keys]: unknown command `{0}`")]
    Command(String),
    #[error("[keys] {command}: {inner}")]
    Binding { command: String, inner: Box<KeyError> },
}

impl Key {
    pub fn parse(s: &str) -> Result<Key, KeyError> {
        let (mods, rest) = match s.rsplit_once('-').filter(|(m, r)| !r.is_empty() && !m.is_empty()) {
            Some((m, r)) => {
                let mut mods = KeyModifiers::NONE;
                for part in m.split('-') {
                    mods |= match part {
                        "ctrl" | "c" => KeyModifiers::CONTROL,
                        "alt" | "a" | "meta" => KeyModifiers::ALT,
                        "shift" | "s" => KeyModifiers::SHIFT,
                        other => return Err(KeyError::Modifier { modifier: other.into(), key: s.into() }),
                    };
                }
                (mods, r)
            }
            None => (KeyModifiers::NONE, s),
        };
        let code = match rest {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => {
                return Ok(Key { code: KeyCode::BackTab, mods: KeyModifiers::NONE });
            }
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().unwrap_or(1))
            }
            c if c.chars().count() == 1 => KeyCode::Char(c.chars().next().unwrap_or(' ')),
            other => return Err(KeyError::Key(other.into())),
        };
        Ok(Key { code, mods })
    }

    /// The key of a terminal event (shift folded into the character, as terminals send it).
    pub fn of(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(e.code, KeyCode::Char(_)) {
            mods |= e.modifiers & KeyModifiers::SHIFT;
        }
        if e.code == KeyCode::BackTab {
            mods = KeyModifiers::NONE;
        }
        Key { code: e.code, mods }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{}", format!("{other:?}").to_lowercase()),
        }
    }
}

/// Keys → commands.
#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: Vec<(Key, Command)>,
}

impl KeyMap {
    /// The default map with user overrides applied: a command named in `overrides` gets exactly
    /// the keys listed (other commands keep theirs, minus any key taken over).
    pub fn new(overrides: &BTreeMap<String, Vec<String>>) -> Result<KeyMap, KeyError> {
        let mut bindings: Vec<(Key, Command)> = Vec::new();
        for (name, keys) in overrides {
            let cmd = Command::ALL.iter().find(|c| c.name() == name).ok_or_else(|| KeyError::Command(name.clone()))?;
            for k in keys {
                let key = Key::parse(k).map_err(|e| KeyError::Binding { command: name.clone(), inner: Box::new(e) })?;
                bindings.push((key, *cmd));
            }
        }
        for cmd in Command::ALL {
            if overrides.contains_key(cmd.name()) {
                continue;
            }
            for k in cmd.default_keys() {
                let key = Key::parse(k).expect("default keys parse");
                if !bindings.iter().any(|(b, _)| *b == key) {
                    bindings.push((key, *cmd));
                }
            }
        }
        Ok(KeyMap { bindings })
    }

    pub fn command(&self, e: &KeyEvent) -> Option<Command> {
        let k = Key::of(e);
        self.bindings.iter().find(|(b, _)| *b == k).map(|(_, c)| *c)
    }

    /// The first key bound to a command, as help writes it.
    pub fn key_for(&self, c: Command) -> Option<String> {
        self.bindings.iter().find(|(_, x)| *x == c).map(|(k, _)| k.to_string())
    }

    /// Help lines: keys, command name, doc; in command order.
    pub fn help(&self) -> Vec<(String, &'static str, &'static str)> {
        Command::ALL
            .iter()
            .map(|c| {
                let keys: Vec<String> =
                    self.bindings.iter().filter(|(_, x)| x == c).map(|(k, _)| k.to_string()).collect();
                (keys.join(", "), c.name(), c.doc())
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn defaults_and_overrides() {
        let km = KeyMap::new(&BTreeMap::new()).unwrap();
        assert_eq!(km.command(&ev(KeyCode::Char('j'), KeyModifiers::NONE)), Some(Command::Down));
        assert_eq!(km.command(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)), Some(Command::Bottom));
        assert_eq!(km.command(&ev(KeyCode::Char('d'), KeyModifiers::CONTROL)), Some(Command::HalfDown));
        assert_eq!(km.command(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Command::PrevPane));
        let mut o = BTreeMap::new();
        o.insert("down".to_string(), vec!["x".to_string()]);
        o.insert("quit".to_string(), vec!["j".to_string()]);
        let km = KeyMap::new(&o).unwrap();
        assert_eq!(km.command(&ev(KeyCode::Char('x'), KeyModifiers::NONE)), Some(Command::Down));
        assert_eq!(km.command(&ev(KeyCode::Char('j'), KeyModifiers::NONE)), Some(Command::Quit));
        assert!(km.help().iter().any(|(k, n, _)| n == &"down" && k == "x"));
        o.insert("nope".into(), vec!["y".into()]);
        assert!(KeyMap::new(&o).unwrap_err().to_string().contains("unknown command"));
        assert_eq!(Key::parse("ctrl-shift-x").unwrap().mods, KeyModifiers::CONTROL | KeyModifiers::SHIFT);
        assert!(Key::parse("hyper-x").is_err());
    }

    #[test]
    fn help_lists_every_command() {
        let km = KeyMap::new(&BTreeMap::new()).unwrap();
        let h = km.help();
        assert_eq!(h.len(), Command::ALL.len());
        assert!(h.iter().all(|(keys, _, doc)| !keys.is_empty() && !doc.is_empty()));
    }
}
