//! Themes: `themes/*.toml` (dark, light, high-contrast ship built in; `--theme FILE` loads
//! another), each naming a syntect theme for syntax colour. `NO_COLOR` turns every colour off and
//! marks drops, markers and selection with text attributes instead.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

pub const BUILT_IN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

#[derive(Debug, Clone, Deserialize)]
struct File {
    name: String,
    syntax: String,
    #[serde(flatten)]
    colours: BTreeMap<String, String>,
}

/// Resolved styles for every part of the UI.
#[derive(Debug, Clone)]
pub struct Theme {
    pub name: String,
    /// The syntect theme for syntax colour (`None`: no syntax colour).
    pub syntax: Option<String>,
    pub base: Style,
    pub dim: Style,
    pub accent: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selection: Style,
    /// A dropped span that a marker accounts for.
    pub dropped: Style,
    /// A dropped span with no marker (e.g. a recorded Headroom compression).
    pub silent: Style,
    pub marker: Style,
    pub added: Style,
    /// Word-level emphasis inside a changed line.
    pub emphasis: Modifier,
    pub emphasis_fg: Color,
    pub ok: Style,
    pub warn: Style,
    pub error: Style,
    pub colour: bool,
}

/// A theme that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("no theme named `{name}` (the shipped themes: {known}) and no theme file there: {error}")]
    Read { name: String, known: String, error: std::io::Error },
    #[error("not a theme file: {0}")]
    Toml(String),
    #[error("bad colour `{0}`")]
    Colour(String),
    #[error("theme `{theme}` has no `{key}`")]
    Missing { theme: String, key: String },
    #[error("theme {name}: {inner}")]
    In { name: String, inner: Box<ThemeError> },
}

fn colour(s: &str) -> Result<Color, ThemeError> {
    let s = s.trim().to_lowercase();
    if let Some(hex) = s.strip_prefix('#') {
        let v = u32::from_str_radix(hex, 16).map_err(|_| ThemeError::Colour(s.clone()))?;
        return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    Ok(match s.as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark_gray" | "dark_grey" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        other => return Err(ThemeError::Colour(other.into())),
    })
}

impl Theme {
    /// Parses a theme file's text.
    pub fn parse(text: &str) -> Result<Theme, ThemeError> {
        let f: File = toml::from_str(text).map_err(|e| ThemeError::Toml(e.to_string()))?;
        let c = |k: &str| -> Result<Color, ThemeError> {
            f.colours
                .get(k)
                .map(|v| colour(v))
                .unwrap_or_else(|| Err(ThemeError::Missing { theme: f.name.clone(), key: k.into() }))
        };
        let fgbg = |fg: &str, bg: &str| -> Result<Style, ThemeError> { Ok(Style::default().fg(c(fg)?).bg(c(bg)?)) };
        Ok(Theme {
            name: f.name.clone(),
            syntax: Some(f.syntax.clone()).filter(|s| !s.is_empty()),
            base: fgbg("fg", "bg")?,
            dim: Style::default().fg(c("dim")?),
            accent: Style::default().fg(c("accent")?),
            border: Style::default().fg(c("border")?),
            border_focus: Style::default().fg(c("border_focus")?).add_modifier(Modifier::BOLD),
            selection: fgbg("selection_fg", "selection_bg")?,
            dropped: fgbg("dropped_fg", "dropped_bg")?,
            silent: fgbg("silent_fg", "silent_bg")?.add_modifier(Modifier::BOLD),
            marker: fgbg("marker_fg", "marker_bg")?.add_modifier(Modifier::BOLD),
            added: fgbg("added_fg", "added_bg")?,
            emphasis: Modifier::BOLD | Modifier::UNDERLINED,
            emphasis_fg: c("emphasis")?,
            ok: Style::default().fg(c("ok")?),
            warn: Style::default().fg(c("warn")?),
            error: Style::default().fg(c("error")?),
            colour: true,
        })
    }

    /// A built-in theme by name.
    pub fn named(name: &str) -> Option<Theme> {
        BUILT_IN.iter().find(|(n, _)| *n == name).and_then(|(_, t)| Theme::parse(t).ok())
    }

    /// No colour at all (for `NO_COLOR`): attributes carry the meaning.
    pub fn monochrome() -> Theme {
        let plain = Style::default();
        Theme {
            name: "no-color".into(),
            syntax: None,
            base: plain,
            dim: plain.add_modifier(Modifier::DIM),
            accent: plain.add_modifier(Modifier::BOLD),
            border: plain,
            border_focus: plain.add_modifier(Modifier::BOLD),
            selection: plain.add_modifier(Modifier::REVERSED),
            dropped: plain.add_modifier(Modifier::CROSSED_OUT | Modifier::DIM),
            silent: plain.add_modifier(Modifier::REVERSED | Modifier::CROSSED_OUT),
            marker: plain.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            added: plain.add_modifier(Modifier::ITALIC),
            emphasis: Modifier::BOLD | Modifier::UNDERLINED,
            emphasis_fg: Color::Reset,
            ok: plain,
            warn: plain.add_modifier(Modifier::BOLD),
            error: plain.add_modifier(Modifier::BOLD),
            colour: false,
        }
    }

    /// The theme to use: monochrome under `NO_COLOR`, else `name` (a built-in name or a file).
    pub fn choose(name: &str) -> Result<Theme, ThemeError> {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            return Ok(Theme::monochrome());
        }
        if let Some(t) = Theme::named(name) {
            return Ok(t);
        }
        let text = std::fs::read_to_string(name).map_err(|error| ThemeError::Read {
            name: name.into(),
            known: BUILT_IN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            error,
        })?;
        Theme::parse(&text).map_err(|e| ThemeError::In { name: name.into(), inner: Box::new(e) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_themes_parse_and_differ() {
        let themes: Vec<Theme> = BUILT_IN.iter().map(|(_, t)| Theme::parse(t).unwrap()).collect();
        assert_eq!(themes.len(), 3);
        assert_ne!(themes[0].dropped, themes[1].dropped);
        assert_eq!(colour("#ff0080").unwrap(), Color::Rgb(255, 0, 128));
        assert!(Theme::parse("name = \"x\"\nsyntax = \"\"\nfg = \"nope\"").is_err());
        let m = Theme::monochrome();
        assert!(!m.colour && m.dropped.add_modifier.contains(Modifier::CROSSED_OUT));
    }

    #[test]
    fn an_unknown_theme_name_lists_the_shipped_ones() {
        if std::env::var_os("NO_COLOR").is_some() {
            return;
        }
        let e = Theme::choose("solarised-nope").unwrap_err().to_string();
        assert!(e.contains("`solarised-nope`") && e.contains("dark, light, high-contrast"), "{e}");
    }
}
