//! The ledger panel: every span the engine dropped from the current block, with where it was,
//! what and how much, why, and the key that retrieves it; for a recorded Headroom compression,
//! each of its markers and what Headroom's CCR store still holds. Enter jumps the diff to it, r
//! shows the original.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, frame, inner, padded};
use crate::store::headroom::Lookup;
use crate::tui::app::App;
use crate::tui::layout::Pane;
use crate::tui::work::EngineSel;

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let view = app.view.as_ref().filter(|v| Some(v.computed.block) == app.current());
    let outcome = view.and_then(|v| v.computed.outcome.as_ref());
    let n = app.ledger_len();
    let title = match outcome {
        None if view.is_some_and(|v| !v.computed.ccr.is_empty()) => format!(" Headroom markers {n} "),
        _ => format!(" ledger {n} "),
    };
    let title = Line::from(vec![Span::styled(title, t.accent)]);
    f.render_widget(frame(app, Pane::Ledger, title), area);
    let body = inner(area);
    let w = body.width as usize;
    let mut lines = Vec::new();
    match (view, outcome) {
        (None, _) => lines.push(Line::styled("…", t.dim)),
        (Some(v), None) if v.computed.sel == EngineSel::Recorded && !v.computed.ccr.is_empty() => {
            // each Headroom marker, with what its CCR store still holds
            let focused = app.focus == Pane::Ledger;
            for (i, (hash, found)) in v.computed.ccr.iter().enumerate().skip(app.ledger_top).take(body.height as usize)
            {
                let (state, style) = match found {
                    Some(Ok(l)) => {
                        let what = l.entry().map_or(String::new(), |e| {
                            let how = e.strategy.as_deref().map(|s| format!(" · {}", fit(s, 24))).unwrap_or_default();
                            format!(" · {} B{how}", e.original.len())
                        });
                        let style = match l {
                            Lookup::Present(_) => t.ok,
                            Lookup::Expired(_) => t.warn,
                            Lookup::Missing => t.error,
                        };
                        (format!("{}{what}", l.state()), style)
                    }
                    Some(Err(_)) => ("unreadable".to_string(), t.error),
                    None => ("unchecked (--headroom-dir)".to_string(), t.dim),
                };
                let style = if i == app.ledger_sel && focused { t.selection } else { style };
                lines.push(Line::from(padded(&format!("{hash} {state}"), w, style)));
            }
        }
        (Some(v), None) if v.computed.sel == EngineSel::Recorded => {
            lines.push(Line::styled("recorded compression: the capture has no ledger.", t.dim));
            lines.push(Line::styled("drops with no marker show as ! in the diff.", t.dim));
        }
        (Some(v), None) if v.computed.sel == EngineSel::Headroom => {
            let c = &v.computed;
            match &c.error {
                Some(e) => lines.push(Line::styled(fit(e, w), t.error)),
                None => {
                    lines.push(Line::styled("Headroom's output keeps no ledger.", t.dim));
                    lines.push(Line::styled("drops with no marker show as ! in the diff.", t.dim));
                    lines.push(Line::styled(fit(&c.summary, w), t.dim));
                }
            }
        }
        (Some(_), None) => lines.push(Line::styled("no engine ran", t.dim)),
        (Some(_), Some(o)) if o.ledger.drops.is_empty() => {
            let why = o.decision.reason();
            lines.push(Line::styled("nothing dropped", t.ok));
            lines.push(Line::styled(fit(&why, w), t.dim));
        }
        (Some(v), Some(o)) => {
            let focused = app.focus == Pane::Ledger;
            for (i, d) in o.ledger.drops.iter().enumerate().skip(app.ledger_top).take(body.height as usize) {
                let place = match d.span.pointer_text() {
                    Some(p) => p,
                    None if d.span.lines.first == d.span.lines.last => format!("L{}", d.span.lines.first),
                    None => format!("L{}–{}", d.span.lines.first, d.span.lines.last),
                };
                let key = v.computed.drop_keys.get(i).map_or("", |k| &k.as_str()[..8]);
                let text = format!("{place} {} · {} · {key}", d.unit.count(d.count), d.reason);
                let style = if i == app.ledger_sel && focused { t.selection } else { t.base };
                lines.push(Line::from(padded(&text, w, style)));
            }
        }
    }
    f.render_widget(Paragraph::new(lines), body);
}
