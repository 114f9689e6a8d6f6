//! Syntax colour for a side (syntect), for texts small enough to colour.

use super::*;

/// Texts larger than this are not coloured (syntect is slow on them, and a view shows a screenful).
pub(super) const HIGHLIGHT_MAX_BYTES: usize = 256 * 1024;

pub(super) fn highlight(text: &str, ext: &str, theme: &str) -> Option<Colours> {
    static SS: OnceLock<SyntaxSet> = OnceLock::new();
    static TS: OnceLock<ThemeSet> = OnceLock::new();
    if text.len() > HIGHLIGHT_MAX_BYTES {
        return None;
    }
    let ss = SS.get_or_init(SyntaxSet::load_defaults_newlines);
    let ts = TS.get_or_init(ThemeSet::load_defaults);
    let syntax = ss.find_syntax_by_extension(ext)?;
    let theme = ts.themes.get(theme)?;
    let mut h = HighlightLines::new(syntax, theme);
    let mut out = Vec::new();
    for line in syntect::util::LinesWithEndings::from(text) {
        let ranges = h.highlight_line(line, ss).ok()?;
        let mut at = 0;
        let mut spans = Vec::new();
        for (style, piece) in ranges {
            let c = style.foreground;
            spans.push((at..at + piece.len(), Color::Rgb(c.r, c.g, c.b)));
            at += piece.len();
        }
        out.push(spans);
    }
    Some(out)
}
