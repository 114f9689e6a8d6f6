//! Popups over the main screen: the help (generated from the key map, so it always matches the
//! keys in force), the list of capture lines that could not be loaded, and the original behind a
//! marker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::{fit, inner};
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
    };
    let block =
        Block::default().borders(Borders::ALL).border_style(t.border_focus).title(Span::styled(title, t.accent));
    f.render_widget(block.style(t.base), r);
    let body = inner(r);
    let width = body.width as usize;
    let lines: Vec<Line> = match kind {
        Overlay::Help => {
            let help = app.keymap.help();
            let kw = help.iter().map(|(k, _, _)| super::width(k)).max().unwrap_or(0).min(22);
            help.into_iter()
                .map(|(keys, name, doc)| {
                    Line::from(vec![
                        Span::styled(format!("{:<kw$}  ", fit(&keys, kw)), t.accent),
                        Span::styled(format!("{name:<13}"), t.dim),
                        Span::styled(fit(doc, width.saturating_sub(kw + 15)), t.base),
                    ])
                })
                .collect()
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
