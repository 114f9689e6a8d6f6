//! The ledger panel: every span the engine dropped from the current block, with where it was,
//! what and how much, why, and the key that retrieves it. Enter jumps the diff to it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, frame, inner, padded};
use crate::tui::app::App;
use crate::tui::layout::Pane;
use crate::tui::work::EngineSel;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let view = app.view.as_ref().filter(|v| Some(v.computed.block) == app.current());
    let outcome = view.and_then(|v| v.computed.outcome.as_ref());
    let n = outcome.map_or(0, |o| o.ledger.drops.len());
    let title = Line::from(vec![Span::styled(format!(" ledger {n} "), t.accent)]);
    f.render_widget(frame(app, Pane::Ledger, title), area);
    let body = inner(area);
    let w = body.width as usize;
    let mut lines = Vec::new();
    match (view, outcome) {
        (None, _) => lines.push(Line::styled("…", t.dim)),
        (Some(v), None) if v.computed.sel == EngineSel::Recorded => {
            lines.push(Line::styled("recorded compression: the capture has no ledger.", t.dim));
            lines.push(Line::styled("drops with no marker show as ! in the diff.", t.dim));
        }
        (Some(_), None) => lines.push(Line::styled("no engine ran", t.dim)),
        (Some(_), Some(o)) if o.ledger.drops.is_empty() => {
            let why = o.decision.reason();
            lines.push(Line::styled("nothing dropped", t.ok));
            lines.push(Line::styled(fit(&why, w), t.dim));
        }
        (Some(_), Some(o)) => {
            let focused = app.focus == Pane::Ledger;
            for (i, d) in o.ledger.drops.iter().enumerate().skip(app.ledger_top).take(body.height as usize) {
                let place = match &d.span.pointer {
                    Some(p) => p.clone(),
                    None if d.span.lines.first == d.span.lines.last => format!("L{}", d.span.lines.first),
                    None => format!("L{}–{}", d.span.lines.first, d.span.lines.last),
                };
                let key = d.key.as_str();
                let text = format!("{place} {} · {} · {}", d.unit.count(d.count), d.reason, &key[..key.len().min(8)]);
                let style = if i == app.ledger_sel && focused { t.selection } else { t.base };
                lines.push(Line::from(padded(&text, w, style)));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), body);
}
