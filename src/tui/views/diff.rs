//! The main view: the current block's original | compressed side by side (or unified), aligned by
//! line, with word-level emphasis, drops told apart from markers and from silent loss, unchanged
//! runs folded, line numbers and syntax colour.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{frame, inner, padded};
use crate::tui::app::{App, View, tokens_label};
use crate::tui::diffview::{Cell, Display, Mark, Row};
use crate::tui::layout::Pane;
use crate::tui::theme::Theme;
use crate::tui::work::EngineSel;

fn sign(m: Mark) -> char {
    match m {
        Mark::Same => ' ',
        Mark::Dropped => '-',
        Mark::Silent => '!',
        Mark::Marker => '»',
        Mark::Added => '+',
        Mark::Changed => '~',
    }
}

fn untab(s: &str) -> String {
    s.replace('\t', "    ")
}

fn line_style(t: &Theme, m: Mark) -> Style {
    match m {
        Mark::Same | Mark::Changed => t.base,
        Mark::Dropped => t.dropped,
        Mark::Silent => t.silent,
        Mark::Marker => t.marker,
        Mark::Added => t.added,
    }
}

/// The spans of one cell's text: syntax colour on unchanged lines, emphasis on changed words.
fn text_spans(t: &Theme, c: &Cell, colours: Option<&Vec<(Range<usize>, Color)>>, left: bool) -> Vec<Span<'static>> {
    let base = line_style(t, c.mark);
    match c.mark {
        Mark::Changed => c
            .segs
            .iter()
            .map(|s| {
                let st = if s.emph {
                    let side = if left { t.dropped } else { t.added };
                    let st = side.add_modifier(t.emphasis);
                    if t.colour { st.fg(t.emphasis_fg) } else { st }
                } else {
                    base
                };
                Span::styled(untab(&s.text), st)
            })
            .collect(),
        Mark::Same => {
            let text = c.text();
            match colours {
                Some(cs) if t.colour => cs
                    .iter()
                    .filter_map(|(r, col)| {
                        let piece = text.get(r.start.min(text.len())..r.end.min(text.len()))?;
                        (!piece.is_empty()).then(|| Span::styled(untab(piece), base.fg(*col)))
                    })
                    .collect(),
                _ => vec![Span::styled(untab(&text), base)],
            }
        }
        _ => vec![Span::styled(untab(&c.text()), base)],
    }
}

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

struct Ctx<'a> {
    t: &'a Theme,
    v: &'a View,
    focused: bool,
    /// Columns of text scrolled off to the left.
    skip: usize,
}

impl Ctx<'_> {
    fn colours(&self, left: bool, line: usize) -> Option<&Vec<(Range<usize>, Color)>> {
        let (l, r) = self.v.computed.colours.as_ref()?;
        let side = if left { l } else { r };
        side.get(line.checked_sub(1)?)
    }

    fn gutter(&self, n: Option<usize>, width: usize, m: Option<Mark>, cursor: bool) -> Span<'static> {
        let num = n.map_or_else(|| " ".repeat(width), |n| format!("{n:>width$}"));
        let s = m.map_or(' ', sign);
        let style = if cursor && self.focused { self.t.selection } else { self.t.dim };
        Span::styled(format!("{num}{s}"), style)
    }

    fn half(&self, c: Option<&Cell>, left: bool, width: usize, nw: usize, cursor: bool) -> Vec<Span<'static>> {
        let mut out = vec![self.gutter(c.map(|c| c.line), nw, c.map(|c| c.mark), cursor)];
        out.extend(self.text(c, left, width.saturating_sub(nw + 1)));
        out
    }

    /// A cell's text cut or padded to `width` columns.
    fn text(&self, c: Option<&Cell>, left: bool, width: usize) -> Vec<Span<'static>> {
        let Some(c) = c else { return vec![Span::styled(" ".repeat(width), self.t.dim)] };
        let mut out = Vec::new();
        let mut used = 0;
        let mut skip = self.skip;
        for s in text_spans(self.t, c, self.colours(left, c.line), left) {
            let n = super::width(&s.content);
            let s = if skip >= n {
                skip -= n;
                continue;
            } else if skip > 0 {
                let rest = super::skip_columns(&s.content, skip);
                skip = 0;
                Span::styled(rest, s.style)
            } else {
                s
            };
            let room = width.saturating_sub(used);
            if room == 0 {
                break;
            }
            let content = super::fit(&s.content, room);
            used += super::width(&content);
            out.push(Span::styled(content, s.style));
        }
        let fill =
            if matches!(c.mark, Mark::Same | Mark::Changed) { Style::default() } else { line_style(self.t, c.mark) };
        if used < width {
            out.push(Span::styled(" ".repeat(width - used), fill));
        }
        out
    }

    fn fold_line(&self, f: usize, width: usize, cursor: bool) -> Line<'static> {
        let fold = &self.v.computed.diff.folds[f];
        let text =
            format!("⋯ {} lines kept, {} tokens (enter to unfold) ⋯", fold.rows.len(), tokens_label(fold.tokens));
        let style = if cursor && self.focused { self.t.selection } else { self.t.dim };
        let pad = width.saturating_sub(super::width(&text)) / 2;
        Line::from(padded(&format!("{}{text}", " ".repeat(pad)), width, style))
    }
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let current = app.current();
    let Some(b) = current else {
        f.render_widget(frame(app, Pane::Diff, Line::from(" diff ")), area);
        let msg = if app.loading() { "loading…" } else { "select a block in the flow list" };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim)), inner(area));
        return;
    };
    let block = &app.blocks[b];
    let mut title = vec![Span::styled(format!(" block {}/{} ", b + 1, app.blocks.len()), t.accent)];
    title.push(Span::raw(format!("· {} · ", block.label())));
    let engine = match app.compare.filter(|c| *c != block.sel) {
        Some(c) => format!("{} | {}", block.sel.label(), c.label()),
        None => block.sel.label(),
    };
    title.push(Span::styled(format!("{engine} "), t.accent));
    let view = app.view.as_ref().filter(|v| v.computed.block == b);
    if let Some(v) = view {
        let c = &v.computed;
        if c.sel == EngineSel::Auto && c.engine != "none" {
            title.push(Span::styled(format!("({}) ", c.engine), t.dim));
        }
        // a block that lost something that matters says so before its counts (a long title
        // is cut at its end)
        if let Some(r) = c.retention.as_ref().filter(|r| r.score < 0.995) {
            title.push(Span::styled(format!("· ret {:.2} ", r.score), t.warn));
        }
        let saved = crate::tokens::saved_percent(c.tokens_in, c.tokens_out);
        title.push(Span::raw(format!(
            "· {}→{} tok {:+.0}% ",
            tokens_label(c.tokens_in),
            tokens_label(c.tokens_out),
            -saved
        )));
        if app.unified {
            title.push(Span::styled("· unified ", t.dim));
        }
        if app.hscroll > 0 {
            title.push(Span::styled(format!("· →{} ", app.hscroll), t.dim));
        }
    }
    if app.pending() {
        title.push(Span::styled("· computing… ", t.warn));
    }
    f.render_widget(frame(app, Pane::Diff, Line::from(title)), area);
    let body = inner(area);
    let Some(v) = view else {
        f.render_widget(Paragraph::new(Line::styled("computing…", t.dim)), body);
        return;
    };
    let ctx = Ctx { t, v, focused: app.focus == Pane::Diff, skip: app.hscroll };
    let h = body.height as usize;
    let w = body.width as usize;
    let d = &v.computed.diff;
    if let Some(err) = &v.computed.error
        && d.rows.is_empty()
    {
        f.render_widget(Paragraph::new(Line::styled(err.clone(), t.error)), body);
        return;
    }
    let nw = digits(d.left_lines.max(d.right_lines));
    let mut lines: Vec<Line> = Vec::with_capacity(h);
    if app.unified {
        // rows may take two lines here: start late enough that the cursor is on screen
        let cost = |i: usize| match v.display[i] {
            Display::Row(r) => {
                let row = &d.rows[r];
                if row.left.as_ref().is_some_and(|c| c.mark == Mark::Changed) { 2 } else { 1 }
            }
            Display::Fold(_) => 1,
        };
        let mut top = v.top.min(v.cursor);
        while top < v.cursor && (top..=v.cursor).map(cost).sum::<usize>() > h {
            top += 1;
        }
        for (i, disp) in v.display.iter().enumerate().skip(top) {
            if lines.len() >= h {
                break;
            }
            let cursor = i == v.cursor;
            match *disp {
                Display::Fold(fi) => lines.push(ctx.fold_line(fi, w, cursor)),
                Display::Row(r) => unified_row(&ctx, &d.rows[r], nw, w, cursor, &mut lines),
            }
        }
        lines.truncate(h);
    } else {
        let half = w.saturating_sub(1) / 2;
        for (i, disp) in v.display.iter().enumerate().skip(v.top).take(h) {
            let cursor = i == v.cursor;
            match *disp {
                Display::Fold(fi) => lines.push(ctx.fold_line(fi, w, cursor)),
                Display::Row(r) => {
                    let row = &d.rows[r];
                    let mut spans = ctx.half(row.left.as_ref(), true, half, nw, cursor);
                    spans.push(Span::styled("│", t.border));
                    spans.extend(ctx.half(row.right.as_ref(), false, w.saturating_sub(half + 1), nw, cursor));
                    lines.push(Line::from(spans));
                }
            }
        }
    }
    if lines.is_empty() {
        lines.push(Line::styled("(empty block)", t.dim));
    }
    f.render_widget(Paragraph::new(lines), body);
}

fn unified_row(ctx: &Ctx, row: &Row, nw: usize, w: usize, cursor: bool, out: &mut Vec<Line<'static>>) {
    let text_w = w.saturating_sub(2 * (nw + 1));
    let line = |ln: Option<usize>, rn: Option<usize>, c: &Cell, left: bool, cur: bool| {
        let mut spans = vec![ctx.gutter(ln, nw, None, cur), ctx.gutter(rn, nw, Some(c.mark), cur)];
        spans.extend(ctx.text(Some(c), left, text_w));
        Line::from(spans)
    };
    match (&row.left, &row.right) {
        (Some(l), Some(r)) if l.mark == Mark::Same => out.push(line(Some(l.line), Some(r.line), l, true, cursor)),
        (Some(l), Some(r)) => {
            out.push(line(Some(l.line), None, l, true, cursor));
            out.push(line(None, Some(r.line), r, false, false));
        }
        (Some(l), None) => out.push(line(Some(l.line), None, l, true, cursor)),
        (None, Some(r)) => out.push(line(None, Some(r.line), r, false, cursor)),
        (None, None) => {}
    }
}
