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
use ratatui::widgets::{Block, Borders};

use super::app::{App, Mode};
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

/// A pane's frame: a border (bold when focused) and a title.
pub fn frame<'a>(app: &App, pane: Pane, title: Line<'a>) -> Block<'a> {
    let style = if app.focus == pane { app.theme.border_focus } else { app.theme.border };
    Block::default().borders(Borders::ALL).border_style(style).title(title)
}

/// Text cut to `width` columns (by characters, with an ellipsis) so a cell never overflows.
pub fn fit(s: &str, width: usize) -> String {
    let n = s.chars().count();
    if n <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// A line of text padded (or cut) to exactly `width` columns in one style.
pub fn padded(s: &str, width: usize, style: Style) -> Span<'static> {
    let t = fit(s, width);
    let pad = width.saturating_sub(t.chars().count());
    Span::styled(format!("{t}{}", " ".repeat(pad)), style)
}

/// The rows of a pane inside its border.
pub fn inner(r: Rect) -> Rect {
    Rect { x: r.x + 1, y: r.y + 1, width: r.width.saturating_sub(2), height: r.height.saturating_sub(2) }
}
