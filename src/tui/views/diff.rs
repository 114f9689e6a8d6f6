//! The main view: the current block's original | compressed side by side (or unified), aligned by
//! line, with word-level emphasis, drops told apart from markers and from silent loss, unchanged
//! runs folded, line numbers and syntax colour.

use std::ops::Range;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, frame, inner, padded};
use crate::tui::app::{App, View, change_label, tokens_label};
use crate::tui::diffview::{Cell, Display, Mark, Row};
use crate::tui::layout::Pane;
use crate::tui::theme::Theme;
use crate::tui::views::status::money;
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

/// While a block's diff is computed, the first lines of its original, so a large block (or a prose
/// block waiting for the model) can be read at once; the diff replaces it when it arrives. A frame
/// looks at a screenful of lines and at most [`PREVIEW_SCAN`] bytes, however long the block.
fn preview(f: &mut Frame, t: &Theme, text: &str, body: Rect) {
    let (h, w) = (body.height as usize, body.width as usize);
    let text = &text[..text.floor_char_boundary(PREVIEW_SCAN)];
    let mut lines = vec![Line::styled(fit("computing… (the original until the diff is ready)", w), t.dim)];
    for l in text.lines().take(h.saturating_sub(1)) {
        lines.push(Line::styled(fit(&untab(&l[..l.floor_char_boundary(w.saturating_mul(4))]), w), t.base));
    }
    f.render_widget(Paragraph::new(lines), body);
}

/// How much of a block's text a preview frame reads to find its lines.
const PREVIEW_SCAN: usize = 8 << 20;

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

/// Columns after a line number: the sign and a space.
const GUTTER: usize = 2;

fn digits(n: usize) -> usize {
    n.max(1).to_string().len()
}

struct Ctx<'a> {
    t: &'a Theme,
    v: &'a View,
    focused: bool,
    /// Columns of text scrolled off to the left.
    skip: usize,
    /// The search, lower case: its matches are shown reversed.
    needle: Option<&'a str>,
}

/// Byte ranges of `hay` matching `needle` (lower case) case-insensitively, compared character by
/// character so a character whose lower case is longer never shifts a range off a boundary.
fn matches_in(hay: &str, needle: &str) -> Vec<Range<usize>> {
    let want: Vec<char> = needle.chars().collect();
    let chars: Vec<(usize, char)> = hay.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while !want.is_empty() && i + want.len() <= chars.len() {
        let hit = want.iter().zip(&chars[i..]).all(|(w, (_, c))| c.to_lowercase().eq(std::iter::once(*w)));
        if hit {
            let end = chars.get(i + want.len()).map_or(hay.len(), |(b, _)| *b);
            out.push(chars[i].0..end);
            i += want.len();
        } else {
            i += 1;
        }
    }
    out
}

/// `span` split so its matches of `needle` are reversed (visible without colour).
fn with_matches(span: Span<'static>, needle: Option<&str>, out: &mut Vec<Span<'static>>) {
    let hits = needle.map(|n| matches_in(&span.content, n)).unwrap_or_default();
    if hits.is_empty() {
        out.push(span);
        return;
    }
    let text = span.content.as_ref();
    let mut at = 0;
    for r in hits {
        if r.start > at {
            out.push(Span::styled(text[at..r.start].to_string(), span.style));
        }
        out.push(Span::styled(text[r.clone()].to_string(), span.style.add_modifier(Modifier::REVERSED)));
        at = r.end;
    }
    if at < text.len() {
        out.push(Span::styled(text[at..].to_string(), span.style));
    }
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
        // the cursor line's gutter is reversed (and its sign is `>` on an unchanged line), so
        // it shows without colour; a space keeps a line's own `-` or `+` apart from the sign
        let (s, style) = match (cursor, self.focused) {
            (true, true) => (if s == ' ' { '>' } else { s }, self.t.selection.add_modifier(Modifier::REVERSED)),
            (true, false) => (s, self.t.dim.add_modifier(Modifier::REVERSED)),
            _ => (s, self.t.dim),
        };
        Span::styled(format!("{num}{s} "), style)
    }

    fn half(&self, c: Option<&Cell>, left: bool, width: usize, nw: usize, cursor: bool) -> Vec<Span<'static>> {
        let mut out = vec![self.gutter(c.map(|c| c.line), nw, c.map(|c| c.mark), cursor)];
        out.extend(self.text(c, left, width.saturating_sub(nw + GUTTER), cursor));
        out
    }

    /// A cell's text cut or padded to `width` columns (the cursor's row underlined).
    fn text(&self, c: Option<&Cell>, left: bool, width: usize, cursor: bool) -> Vec<Span<'static>> {
        let line = if cursor && self.focused { Modifier::UNDERLINED } else { Modifier::empty() };
        let Some(c) = c else { return vec![Span::styled(" ".repeat(width), self.t.dim.add_modifier(line))] };
        let mut out = Vec::new();
        let mut used = 0;
        let mut skip = self.skip;
        let mut spans = Vec::new();
        for s in text_spans(self.t, c, self.colours(left, c.line), left) {
            with_matches(s, self.needle, &mut spans);
        }
        for s in spans {
            let s = Span::styled(s.content, s.style.add_modifier(line));
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
            out.push(Span::styled(" ".repeat(width - used), fill.add_modifier(line)));
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
    let view = app.view.as_ref().filter(|v| v.computed.block == b);
    // said before any count, so a long title never cuts it off: the counts after it are stale
    if app.pending() {
        let part = view.is_some_and(|v| v.computed.partial);
        title.push(Span::styled(if part { "computing… first part shown · " } else { "computing… · " }, t.warn));
    }
    match app.compare.filter(|c| *c != block.sel) {
        // each engine's count under its own label
        Some(other) => {
            let counts = view.filter(|v| v.computed.compare == Some(other)).map(|v| &v.computed);
            let out = |n: Option<usize>| n.map(|n| format!(" {}", tokens_label(n))).unwrap_or_default();
            title.push(Span::styled(block.sel.label(), t.accent));
            title.push(Span::raw(format!("{} | ", out(counts.map(|c| c.tokens_out)))));
            title.push(Span::styled(other.label(), t.accent));
            title.push(Span::raw(format!("{} ", out(counts.and_then(|c| c.compare_out)))));
            if let Some(c) = counts {
                title.push(Span::styled(format!("(from {}) ", tokens_label(c.tokens_in)), t.dim));
            }
        }
        None => title.push(Span::styled(format!("{} ", block.sel.label()), t.accent)),
    }
    if let Some(v) = view.filter(|v| v.computed.compare.is_none()) {
        let c = &v.computed;
        if c.sel == EngineSel::Auto && c.engine != "none" {
            title.push(Span::styled(format!("({}) ", c.engine), t.dim));
        }
        // an engine that failed (a Headroom helper that cannot start) says so first
        if let Some(e) = &c.error {
            title.push(Span::styled(format!("· {e} "), t.error));
        }
        // a block that lost something says so before its counts (a long title is cut at its end)
        if let Some(n) = c.silent.filter(|n| *n > 0) {
            title.push(Span::styled(format!("· !{n} silent "), t.error));
        }
        if let Some(r) = c.retention.as_ref().filter(|r| r.score < 0.995) {
            title.push(Span::styled(format!("· ret {:.2} ", r.score), t.warn));
        }
        title.push(Span::raw(format!(
            "· {}→{} tok {} ",
            tokens_label(c.tokens_in),
            tokens_label(c.tokens_out),
            change_label(c.tokens_in, c.tokens_out)
        )));
        if let Some(o) = c.ours_out {
            title.push(Span::styled(format!("· ours →{} ", tokens_label(o)), t.accent));
        }
        if let Some((a, z)) = app.block_cost(block) {
            title.push(Span::styled(format!("· {}→{} ", money(a), money(z)), t.dim));
        }
    }
    if view.is_some() {
        if app.unified {
            title.push(Span::styled("· unified ", t.dim));
        }
        if app.hscroll > 0 {
            title.push(Span::styled(format!("· →{} ", app.hscroll), t.dim));
        }
    }
    f.render_widget(frame(app, Pane::Diff, Line::from(title)), area);
    let body = inner(area);
    let Some(v) = view else {
        preview(f, t, &block.text, body);
        return;
    };
    let ctx = Ctx { t, v, focused: app.focus == Pane::Diff, skip: app.hscroll, needle: app.search.as_deref() };
    let h = body.height as usize;
    let w = body.width as usize;
    let d = &v.computed.diff;
    if let Some(err) = &v.computed.error
        && d.is_empty()
    {
        f.render_widget(Paragraph::new(Line::styled(err.clone(), t.error)), body);
        return;
    }
    let nw = digits(d.left_lines.max(d.right_lines));
    let mut lines: Vec<Line> = Vec::with_capacity(h);
    if app.unified {
        // rows may take two lines here: start late enough that the cursor is on screen
        let cost = |i: usize| match v.display.get(i) {
            Some(Display::Row(r)) if d.head(r).is_some_and(|h| h.left_mark() == Some(Mark::Changed)) => 2,
            _ => 1,
        };
        let mut top = v.top.min(v.cursor);
        while top < v.cursor && (top..=v.cursor).map(cost).sum::<usize>() > h {
            top += 1;
        }
        for (i, disp) in v.display.iter_from(top) {
            if lines.len() >= h {
                break;
            }
            let cursor = i == v.cursor;
            match disp {
                Display::Fold(fi) => lines.push(ctx.fold_line(fi, w, cursor)),
                Display::Row(r) => {
                    if let Some(row) = d.row(r) {
                        unified_row(&ctx, &row, nw, w, cursor, &mut lines);
                    }
                }
            }
        }
        lines.truncate(h);
    } else {
        let half = w.saturating_sub(1) / 2;
        for (i, disp) in v.display.iter_from(v.top).take(h) {
            let cursor = i == v.cursor;
            match disp {
                Display::Fold(fi) => lines.push(ctx.fold_line(fi, w, cursor)),
                Display::Row(r) => {
                    let Some(row) = d.row(r) else { continue };
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
    let text_w = w.saturating_sub(2 * (nw + GUTTER));
    let line = |ln: Option<usize>, rn: Option<usize>, c: &Cell, left: bool, cur: bool| {
        let mut spans = vec![ctx.gutter(ln, nw, None, cur), ctx.gutter(rn, nw, Some(c.mark), cur)];
        spans.extend(ctx.text(Some(c), left, text_w, cur));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_matches_are_found_case_insensitively_on_char_boundaries() {
        assert_eq!(matches_in("KeyError and keyerror", "keyerror"), vec![0..8, 13..21]);
        // `İ` lowers to two characters: it never matches one, and ranges stay on boundaries
        assert_eq!(matches_in("İx ix", "ix"), vec![4..6]);
        assert_eq!(matches_in("日本語の本", "本"), vec![3..6, 12..15]);
        assert!(matches_in("abc", "").is_empty());
        let mut out = Vec::new();
        with_matches(Span::raw("a KEY b"), Some("key"), &mut out);
        let texts: Vec<&str> = out.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(texts, vec!["a ", "KEY", " b"]);
        assert!(out[1].style.add_modifier.contains(Modifier::REVERSED));
    }
}
