//! The flow list: flows (API requests) with their blocks beneath, each with its engine and tokens
//! before → after; the selected row is what the diff shows.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, frame, inner, padded};
use crate::tui::app::{App, Row, Sort, Stats, tokens_label};
use crate::tui::layout::Pane;

/// `12,345→2,345 -81%` (only `-81%` when `narrow`), or an ellipsis while the counts are coming.
fn counts(stats: Option<(usize, usize)>, narrow: bool) -> String {
    match stats {
        Some((i, o)) => {
            let pct = crate::tokens::saved_percent(i, o);
            let pct = if o == i { "  0%".to_string() } else { format!("{:>4}", format!("{:.0}%", -pct)) };
            if narrow { pct } else { format!("{}→{} {pct}", tokens_label(i), tokens_label(o)) }
        }
        None => "…".into(),
    }
}

/// Below this width rows show the saved percentage only.
const NARROW: usize = 36;

/// The retention badge of a row: shown only when something that matters was lost.
fn retention_badge(score: Option<f64>) -> String {
    match score {
        Some(r) if r < 0.995 => format!(" ret {r:.2}"),
        _ => String::new(),
    }
}

fn engine_tag(s: Option<&Stats>) -> String {
    match s.map(|s| s.engine.as_str()) {
        Some("recorded") => "rec".into(),
        Some(e) => e.into(),
        None => String::new(),
    }
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut title = vec![Span::styled(format!(" flows {} ", app.flows.len()), t.accent)];
    if let Some((text, _)) = &app.filter {
        title.push(Span::styled(format!("· {text} "), t.warn));
    }
    if app.sort != Sort::Input {
        title.push(Span::styled(format!("· {} ", app.sort.name()), t.dim));
    }
    f.render_widget(frame(app, Pane::List, Line::from(title)), area);
    let body = inner(area);
    let w = body.width as usize;
    if w == 0 {
        return;
    }
    let narrow = w < NARROW;
    let mut lines = Vec::new();
    if app.rows.is_empty() {
        let msg = if app.loading() {
            "loading…"
        } else if app.filter.is_some() {
            "no block matches the filter (f to change it)"
        } else {
            "nothing loaded"
        };
        lines.push(Line::styled(msg, t.dim));
    }
    for (i, row) in app.rows.iter().enumerate().skip(app.list_top).take(body.height as usize) {
        let selected = i == app.list_sel;
        let (label, tag, nums, style) = match *row {
            Row::Flow(fi) => {
                let fl = &app.flows[fi];
                let arrow = if fl.expanded { "▾" } else { "▸" };
                let src = if app.sources.len() > 1 { format!("{}:", fl.source + 1) } else { String::new() };
                let label = format!("{arrow} {src}{} {} ({})", fl.number, fl.label, fl.blocks.len());
                let done = fl.counted == fl.blocks.len();
                let nums = if fl.counted == 0 && !fl.blocks.is_empty() {
                    "…".into()
                } else {
                    let c = counts(Some((fl.tokens_in, fl.tokens_out)), narrow);
                    // the flow's weakest block
                    let worst = fl
                        .blocks
                        .iter()
                        .filter_map(|b| app.blocks[*b].stats.as_ref().and_then(|s| s.retention))
                        .reduce(f64::min);
                    let c = format!("{c}{}", retention_badge(worst));
                    if done { c } else { format!("{c}…") }
                };
                (label, String::new(), nums, t.accent)
            }
            Row::Block(b) => {
                let bl = &app.blocks[b];
                let indent = if app.sort == Sort::Input { "  " } else { "" };
                let err = if bl.is_error { " !" } else { "" };
                let label = format!("{indent}{}{err}", bl.label());
                let nums = counts(bl.stats.as_ref().map(|s| (s.tokens_in, s.tokens_out)), narrow)
                    + &retention_badge(bl.stats.as_ref().and_then(|s| s.retention));
                let style = if bl.is_error { t.warn } else { t.base };
                (label, engine_tag(bl.stats.as_ref()), nums, style)
            }
        };
        let style = if selected && app.focus == Pane::List {
            t.selection
        } else if selected {
            style.add_modifier(ratatui::style::Modifier::BOLD | ratatui::style::Modifier::UNDERLINED)
        } else {
            style
        };
        let right = if tag.is_empty() { nums } else { format!("{tag:>6} {nums}") };
        let right = right.trim_start().to_string();
        let right = fit(&right, w.saturating_sub(8).max(w / 2));
        let left_w = w.saturating_sub(super::width(&right) + 1);
        lines.push(Line::from(vec![
            padded(&label, left_w, style),
            Span::styled(" ", style),
            Span::styled(right, if selected && app.focus == Pane::List { t.selection } else { Style::default() }),
        ]));
    }
    f.render_widget(Paragraph::new(lines), body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_retention_badge_shows_only_a_loss() {
        assert_eq!(retention_badge(Some(0.83)), " ret 0.83");
        assert_eq!(retention_badge(Some(1.0)), "");
        assert_eq!(retention_badge(None), "");
    }
}
