//! Drawing: one module per view, each a pure function of the [`App`] state onto a frame. Nothing
//! here compresses, counts or diffs; it reads what background jobs produced.

pub mod diff;
pub mod help;
pub mod ledger;
pub mod list;
pub mod status;
pub mod tuning;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::app::{App, Mode};
use super::command::Command;
use super::layout::Pane;

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    f.buffer_mut().set_style(area, app.theme.base);
    let a = super::layout::layout(area, app.focus);
    status::title(f, app, a.title);
    if let Some(r) = a.list {
        list::draw(f, app, r);
    }
    if let Some(r) = a.diff {
        diff::draw(f, app, r);
    }
    if let Some(r) = a.ledger {
        ledger::draw(f, app, r);
    }
    if let Some(r) = a.tuning {
        tuning::draw(f, app, r);
    }
    status::draw(f, app, a.status);
    if let Mode::Overlay(kind, scroll) = app.mode {
        help::draw(f, app, area, kind, scroll);
    }
}

/// A pane's frame: its number and title; when focused, a double border and a `▶` (visible
/// without colour) and the keys that act in it along the bottom edge.
pub fn frame<'a>(app: &App, pane: Pane, title: Line<'a>) -> Block<'a> {
    let focused = app.focus == pane;
    let n = Pane::ALL.iter().position(|p| *p == pane).map_or(0, |i| i + 1);
    let mut spans = vec![Span::styled(if focused { format!("▶{n}") } else { format!(" {n}") }, app.theme.accent)];
    spans.extend(title.spans);
    let block = Block::default().borders(Borders::ALL).title(Line::from(spans));
    if !focused {
        return block.border_style(app.theme.border);
    }
    // as many hints as fit along the bottom edge
    let room = app.areas().of(pane).map_or(0, |r| r.width as usize).saturating_sub(4);
    let mut text = String::new();
    for (c, what) in hints(pane) {
        let Some(k) = app.keymap.key_for(*c) else { continue };
        let next = if text.is_empty() { format!(" {k} {what} ") } else { format!("{text}· {k} {what} ") };
        if width(&next) > room {
            break;
        }
        text = next;
    }
    block
        .border_type(BorderType::Double)
        .border_style(app.theme.border_focus)
        .title_bottom(Line::styled(text, app.theme.dim).right_aligned())
}

/// The keys shown along the focused pane's bottom edge.
fn hints(pane: Pane) -> &'static [(Command, &'static str)] {
    match pane {
        Pane::List => &[
            (Command::Toggle, "open"),
            (Command::Filter, "filter"),
            (Command::Sort, "sort"),
            (Command::NextEngine, "engine"),
            (Command::Audit, "audit"),
            (Command::Help, "help"),
        ],
        Pane::Diff => &[
            (Command::NextChange, "next change"),
            (Command::Search, "search"),
            (Command::Toggle, "fold"),
            (Command::Unified, "unified"),
            (Command::Compare, "compare"),
            (Command::ScrollRight, "scroll"),
        ],
        Pane::Ledger => &[(Command::Toggle, "show in diff"), (Command::Down, "next")],
        Pane::Tuning => &[
            (Command::KnobUp, "up"),
            (Command::KnobDown, "down"),
            (Command::Toggle, "type"),
            (Command::Undo, "undo"),
            (Command::Export, "export"),
        ],
    }
}

/// How many terminal columns `s` takes (CJK and most emoji take two).
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// Text cut to `width` columns (with an ellipsis) so a cell never overflows, whatever the
/// characters' display widths.
pub fn fit(s: &str, width: usize) -> String {
    if self::width(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `s` without its first `cols` columns (horizontal scroll); a wide character cut in half becomes
/// a space, so what follows stays in its column.
pub fn skip_columns(s: &str, cols: usize) -> String {
    let mut skipped = 0;
    let mut out = String::new();
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if skipped >= cols {
            out.push(c);
        } else if skipped + w > cols {
            out.push_str(&" ".repeat(skipped + w - cols));
            skipped += w;
        } else {
            skipped += w;
        }
    }
    out
}

/// A line of text padded (or cut) to exactly `width` columns in one style.
pub fn padded(s: &str, width: usize, style: Style) -> Span<'static> {
    let t = fit(s, width);
    let pad = width.saturating_sub(self::width(&t));
    Span::styled(format!("{t}{}", " ".repeat(pad)), style)
}

/// The rows of a pane inside its border.
pub fn inner(r: Rect) -> Rect {
    Rect { x: r.x + 1, y: r.y + 1, width: r.width.saturating_sub(2), height: r.height.saturating_sub(2) }
}

#[cfg(test)]
mod width_tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns_everywhere() {
        for s in ["日本語のテキストです", "emoji 🚀🚀🚀 here", "plain ascii text", "mixé ü 中文 ok"]
        {
            for w in 0..24 {
                let f = fit(s, w);
                assert!(width(&f) <= w, "{s:?} at {w}: {f:?}");
                assert_eq!(width(&padded(s, w, Style::default()).content), w, "{s:?} padded to {w}");
            }
        }
        assert_eq!(skip_columns("日本語", 1), " 本語", "half a wide character is a space");
        assert_eq!(skip_columns("日本語", 2), "本語");
        assert_eq!(width(&skip_columns("a🚀b", 2)), 2);
    }
}
