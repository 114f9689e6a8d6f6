//! Popups over the main screen: the help (generated from the key map, so it always matches the
//! keys in force), the list of capture lines that could not be loaded, the original behind a
//! marker, and the verdicts of ctxlens's claims.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::{fit, inner};
use crate::audit::{Report, Status};
use crate::tui::app::{App, Overlay};

pub fn draw(f: &mut Frame, app: &App, area: Rect, kind: Overlay, scroll: usize) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2);
    if w < 10 || h < 4 {
        return;
    }
    let r = Rect { x: area.x + (area.width - w) / 2, y: area.y + 1, width: w, height: h };
    f.render_widget(Clear, r);
    let title = match kind {
        Overlay::Help => " keys (q closes; remap in the config's [keys] table) ".to_string(),
        Overlay::Problems => format!(" {} lines or entries not loaded ", app.problems()),
        Overlay::Original => format!(" {} (q closes) ", app.retrieved.as_ref().map_or("", |(t, _)| t.as_str())),
        Overlay::Claims => {
            let (whose, other) =
                if app.claims_headroom { ("Headroom's", "ctxlens's") } else { ("ctxlens's", "Headroom's") };
            let switch = if app.headroom.is_some() { format!("m: {other}; ") } else { String::new() };
            format!(" {whose} claims on the loaded blocks (enter: go to the evidence; {switch}q closes) ")
        }
    };
    let block =
        Block::default().borders(Borders::ALL).border_style(t.border_focus).title(Span::styled(title, t.accent));
    f.render_widget(block.style(t.base), r);
    let body = inner(r);
    let width = body.width as usize;
    let lines: Vec<Line> = match kind {
        Overlay::Help => {
            // one command per scroll step; a long description wraps under itself
            let help = app.keymap.help();
            let kw = help.iter().map(|(k, _, _)| super::width(k)).max().unwrap_or(0).min(22);
            let doc_width = width.saturating_sub(kw + 15).max(10);
            let shown: Vec<Line> = help
                .into_iter()
                .skip(scroll)
                .flat_map(|(keys, name, doc)| {
                    let mut rows = wrap(doc, doc_width).into_iter();
                    let first = Line::from(vec![
                        Span::styled(format!("{:<kw$}  ", fit(&keys, kw)), t.accent),
                        Span::styled(format!("{name:<13}"), t.dim),
                        Span::styled(rows.next().unwrap_or_default(), t.base),
                    ]);
                    let pad = " ".repeat(kw + 15);
                    std::iter::once(first).chain(rows.map(move |r| Line::styled(format!("{pad}{r}"), t.base)))
                })
                .take(body.height as usize)
                .collect();
            f.render_widget(Paragraph::new(shown), body);
            return;
        }
        Overlay::Problems => {
            let all: Vec<Line> = app
                .sources
                .iter()
                .flat_map(|s| s.problems.iter())
                .map(|p| Line::styled(fit(&format!("{}: {}", p.location, p.reason), width), t.base))
                .collect();
            if all.is_empty() { vec![Line::styled("every line loaded", t.ok)] } else { all }
        }
        Overlay::Claims => {
            if let Some(r) = app.claims.as_deref() {
                claims(f, app, r, body, scroll);
            }
            return;
        }
        Overlay::Original => {
            // only the lines on screen are cut to width (an original may be megabytes)
            let text = app.retrieved.as_ref().map_or("", |(_, t)| t.as_ref());
            let shown: Vec<Line> = text
                .lines()
                .skip(scroll)
                .take(body.height as usize)
                .map(|l| Line::styled(fit(&l.replace('\t', "    "), width), t.base))
                .collect();
            f.render_widget(Paragraph::new(shown), body);
            return;
        }
    };
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(body.height as usize).collect();
    f.render_widget(Paragraph::new(shown), body);
}

/// `text` in lines of at most `width` columns, broken between words (a word longer than a
/// line is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut rows = vec![String::new()];
    for word in text.split_whitespace() {
        let row = rows.last_mut().expect("one row at least");
        let used = super::width(row);
        if used > 0 && used + 1 + super::width(word) > width {
            rows.push(fit(word, width));
        } else if used > 0 {
            row.push(' ');
            row.push_str(word);
        } else {
            *row = fit(word, width);
        }
    }
    rows
}

/// The verdict table (the selected claim marked with `▶` and reversed, so it shows without
/// colour), then the selected claim: what it says, how it was tested, and its evidence.
fn claims(f: &mut Frame, app: &App, r: &Report, body: Rect, selected: usize) {
    let t = &app.theme;
    let width = body.width as usize;
    let rows = r.verdicts.len().min((body.height as usize / 2).max(1));
    let top = selected.saturating_sub(rows.saturating_sub(1));
    let mut lines = vec![Line::styled(fit(&format!("{} · {} samples", r.subject, r.samples), width), t.dim)];
    for (i, v) in r.verdicts.iter().enumerate().skip(top).take(rows) {
        let style = match v.verdict {
            Status::Holds => t.ok,
            Status::Fails => t.error,
            Status::NotTestable => t.dim,
        };
        let (mark, style) =
            if i == selected { ("▶ ", style.add_modifier(Modifier::REVERSED)) } else { ("  ", style) };
        let row = format!("{mark}{:<19} {:<26} {}", v.verdict.label(), v.id, v.observed);
        lines.push(Line::styled(fit(&row, width), style));
    }
    lines.push(Line::styled("─".repeat(width), t.dim));
    if let Some(v) = r.verdicts.get(selected) {
        lines.push(Line::styled(v.claim.clone(), t.accent));
        lines.push(Line::styled(format!("source: {}", v.source), t.dim));
        lines.push(Line::styled(format!("how: {}", v.method), t.base));
        lines.push(Line::styled(format!("observed: {}", v.observed), t.base));
        for e in &v.evidence {
            lines.push(Line::styled(format!("• {}: {}", e.sample, e.detail), t.base));
            lines.push(Line::styled(format!("  $ {}", e.reproduce), t.dim));
        }
    }
    for p in &r.problems {
        lines.push(Line::styled(format!("problem: {p}"), t.warn));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wraps_between_words_and_cuts_a_word_longer_than_a_line() {
        assert_eq!(wrap("Stop the workbench as a shell job", 12), ["Stop the", "workbench as", "a shell job"]);
        assert_eq!(wrap("", 5), [""]);
        assert!(wrap("abcdefghijklmnop x", 6)[0].chars().count() <= 6);
        assert_eq!(wrap("naïve café", 5), ["naïve", "café"]);
    }
}
