//! The tuning panel: every knob of the current engine (and the router's when it picks), its
//! value, whether it differs from the default, and the selected knob's doc comment.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::{frame, inner, padded};
use crate::tui::app::App;
use crate::tui::layout::Pane;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let knobs = app.knobs();
    let title = Line::from(vec![
        Span::styled(" knobs ", t.accent),
        Span::styled(format!("undo {} redo {} ", app.undo.len(), app.redo.len()), t.dim),
    ]);
    f.render_widget(frame(app, Pane::Tuning, title), area);
    let body = inner(area);
    if knobs.is_empty() {
        let msg = match app.current() {
            Some(_) => "no knobs for this engine (m picks another)",
            None => "select a block",
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim)), body);
        return;
    }
    let w = body.width as usize;
    let doc_h = if body.height >= 5 { 2 } else { 0 };
    let list_h = (body.height as usize).saturating_sub(doc_h);
    let sel = app.knob_sel.min(knobs.len() - 1);
    let top = sel.saturating_sub(list_h.saturating_sub(1));
    let focused = app.focus == Pane::Tuning;
    let mut lines = Vec::new();
    for (i, (table, k)) in knobs.iter().enumerate().skip(top).take(list_h) {
        let value = app.knob_value(table, &k.name);
        let shown = value.as_ref().map_or_else(|| "(unset)".to_string(), |v| v.to_string());
        let default = serde_json::to_string(&k.default).unwrap_or_default();
        let changed = value
            .as_ref()
            .is_some_and(|v| serde_json::to_value(v).ok().as_ref() != Some(&k.default) && v.to_string() != default);
        let prefix = if *table == "router" { "router." } else { "" };
        let text = format!("{}{}{} = {shown}", if changed { "*" } else { " " }, prefix, k.name);
        let style = if i == sel && focused {
            t.selection
        } else if changed {
            t.warn
        } else {
            t.base
        };
        lines.push(Line::from(padded(&text, w, style)));
    }
    f.render_widget(Paragraph::new(lines), Rect { height: list_h as u16, ..body });
    if doc_h > 0 {
        let (_, k) = &knobs[sel];
        let doc = k.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        let doc_area = Rect { y: body.y + list_h as u16, height: doc_h as u16, ..body };
        f.render_widget(Paragraph::new(Line::styled(doc, t.dim)).wrap(Wrap { trim: true }), doc_area);
    }
}
