//! The flow list: flows (API requests) with their blocks beneath, each with its engine and tokens
//! before → after; the selected row is what the diff shows.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, frame, inner, padded};
use crate::tui::app::{App, Row, Sort, Stats, change_label, tokens_label};
use crate::tui::layout::Pane;
use crate::tui::work::EngineSel;

/// `12,345→2,345 -81%` (only `-81%` when `narrow`; only `12,345→2,345` in audit mode, where
/// ctxlens's count follows), or an ellipsis while the counts are coming.
fn counts(stats: Option<(usize, usize)>, narrow: bool, audit: bool) -> String {
    match stats {
        Some((i, o)) => {
            let change = format!("{:>4}", change_label(i, o));
            if narrow {
                change
            } else if audit {
                format!("{}→{}", tokens_label(i), tokens_label(o))
            } else {
                format!("{}→{} {change}", tokens_label(i), tokens_label(o))
            }
        }
        None => "…".into(),
    }
}

/// Audit mode's extra: what ctxlens's own engines leave, and the lines lost with no marker.
fn audit_extra(ours: Option<usize>, silent: Option<usize>, narrow: bool) -> String {
    let mut out = String::new();
    if let Some(o) = ours.filter(|_| !narrow) {
        out.push_str(&format!(" ours {}", tokens_label(o)));
    }
    if let Some(n) = silent.filter(|n| *n > 0) {
        out.push_str(&format!(" !{n}"));
    }
    out
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
    if app.new_only {
        title.push(Span::styled("· new only ", t.warn));
    }
    if app.audit {
        title.push(Span::styled("· audit ", t.warn));
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
                let new = fl.blocks.iter().filter(|b| app.blocks[**b].new).count();
                let n = fl.blocks.len();
                // blocks in the flow (a flow of one block, such as a file, says nothing)
                let count = match (n, new) {
                    (1, 1) => String::new(),
                    (n, new) if new < n => format!(" ({n} blocks, {new} new)"),
                    (n, _) => format!(" ({n} blocks)"),
                };
                let label = format!("{arrow} {src}{} {}{count}", fl.number, fl.label);
                let done = fl.counted == fl.blocks.len();
                let nums = if n == 1 && fl.expanded {
                    // its one block's row, right below, says the same: the name gets the room
                    String::new()
                } else if fl.counted == 0 && !fl.blocks.is_empty() {
                    "…".into()
                } else {
                    let c = counts(Some((fl.tokens_in, fl.tokens_out)), narrow, app.audit);
                    // the flow's weakest block
                    let worst = fl
                        .blocks
                        .iter()
                        .filter_map(|b| app.blocks[*b].stats.as_ref().and_then(|s| s.retention))
                        .reduce(f64::min);
                    let ours = app.audit.then_some(fl.ours_out);
                    let c = format!("{c}{}{}", audit_extra(ours, Some(fl.silent), narrow), retention_badge(worst));
                    if done { c } else { format!("{c}…") }
                };
                (label, String::new(), nums, t.accent)
            }
            Row::Block(b) => {
                let bl = &app.blocks[b];
                let indent = if app.sort == Sort::Input { "  " } else { "" };
                let err = if bl.is_error { " !" } else { "" };
                let label = format!("{indent}{}{err}", bl.label());
                let st = bl.stats.as_ref();
                let nums = counts(st.map(|s| (s.tokens_in, s.tokens_out)), narrow, app.audit)
                    + &audit_extra(st.and_then(|s| s.ours_out), st.and_then(|s| s.silent), narrow)
                    + &retention_badge(st.and_then(|s| s.retention));
                // history a request resends is dimmed: the new blocks stand out
                let style = if bl.is_error {
                    t.warn
                } else if bl.new {
                    t.base
                } else {
                    t.dim
                };
                // in audit mode every recorded block is `rec`: the tag is left out
                let tag = if app.audit && bl.sel == EngineSel::Recorded { String::new() } else { engine_tag(st) };
                (label, tag, nums, style)
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
    fn counts_say_a_small_change_in_tokens_and_audit_adds_ours_and_silent() {
        assert_eq!(counts(Some((10_000, 10_003)), false, false), "10.0k→10.0k +3 tok");
        assert_eq!(counts(Some((100, 19)), true, false), "-81%");
        assert_eq!(counts(Some((7, 7)), true, false), "  0%");
        assert_eq!(counts(Some((100, 19)), false, true), "100→19");
        assert_eq!(audit_extra(Some(1_900), Some(37), false), " ours 1,900 !37");
        assert_eq!(audit_extra(Some(1_900), Some(0), true), "");
    }

    #[test]
    fn the_retention_badge_shows_only_a_loss() {
        assert_eq!(retention_badge(Some(0.83)), " ret 0.83");
        assert_eq!(retention_badge(Some(1.0)), "");
        assert_eq!(retention_badge(None), "");
    }
}
