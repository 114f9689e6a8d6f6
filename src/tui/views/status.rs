//! The title line (what is loaded) and the status line (messages, totals, tokenizer, cost; the
//! prompt when one is open).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{fit, padded};
use crate::tui::app::{App, Ask, Mode, change_label, tokens_label};
use crate::tui::filter;

pub fn title(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let w = area.width as usize;
    let mut parts: Vec<String> = Vec::new();
    match app.sources.as_slice() {
        [one] => {
            let format = one.format.map(|f| format!(" ({})", f.name())).unwrap_or_default();
            parts.push(format!("{}{format}", one.name));
        }
        many => parts.push(format!("{} sources", many.len())),
    }
    parts.push(format!("{} flows, {} blocks", app.flows.len(), app.blocks.len()));
    let problems = app.problems();
    if problems > 0 {
        parts.push(format!("{problems} unreadable (!)"));
    }
    let redacted: usize = app.sources.iter().map(|s| s.redacted).sum();
    if redacted > 0 {
        parts.push(format!("{redacted} secrets redacted"));
    }
    if let Some(why) = &app.unavailable {
        parts.push(why.clone());
    }
    // Headroom's default workspace is opened for any launch; it matters only to recordings
    if app.ccr.is_some() && app.recordings > 0 {
        parts.push("Headroom CCR store".into());
    }
    if app.loading() {
        parts.push("loading…".into());
    }
    let text = format!(" ctxlens · {}", parts.join(" · "));
    f.render_widget(Paragraph::new(Line::from(padded(&text, w, t.accent))), area);
}

pub fn money(x: f64) -> String {
    if x > 0.0 && x < 0.0001 {
        // a few tokens: not rounded to nothing
        return "<$0.0001".into();
    }
    if x >= 100.0 {
        format!("${x:.0}")
    } else if x >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

pub fn draw(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let w = area.width as usize;
    if w == 0 || area.height == 0 {
        return;
    }
    if let Mode::Prompt { ask, input } = &app.mode {
        let text = format!("{}: {input}▏", ask.label());
        // a filter says what is wrong with it while it is typed
        let problem = match ask {
            Ask::Filter if !input.trim().is_empty() => filter::parse(input).err().map(|e| format!("  {e}")),
            _ => None,
        };
        let (hint, style) = match &problem {
            Some(p) => (p.as_str(), t.error),
            None => ("  enter ok · esc cancel", t.dim),
        };
        let line = Line::from(vec![
            Span::styled(fit(&text, w), t.accent),
            Span::styled(fit(hint, w.saturating_sub(super::width(&text))), style),
        ]);
        f.render_widget(Paragraph::new(line), area);
        return;
    }
    let tt = &app.totals;
    let mut right = format!(
        "{}→{} tok {} · {}",
        tokens_label(tt.tokens_in),
        tokens_label(tt.tokens_out),
        change_label(tt.tokens_in, tt.tokens_out),
        app.tokenizer.short_name()
    );
    // nothing counted yet: no sums to show, only that they are coming
    let counting = tt.counted == 0 && tt.blocks > 0;
    if counting {
        let n = tt.blocks;
        right = format!("counting {n} block{}… · {}", if n == 1 { "" } else { "s" }, app.tokenizer.short_name());
    } else if tt.counted < tt.blocks {
        right = format!("{}/{} counted · {right}", tt.counted, tt.blocks);
    }
    match tt.cost {
        _ if counting => {}
        Some((a, b)) => right.push_str(&format!(" · {}→{} @ {}", money(a), money(b), app.price_label())),
        None => right.push_str(" · unpriced ($)"),
    }
    let right = fit(&right, w.saturating_sub(10));
    let left_w = w.saturating_sub(super::width(&right) + 1);
    let line = Line::from(vec![
        padded(&format!(" {}", app.message), left_w, t.base),
        Span::raw(" "),
        Span::styled(right, t.dim),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::money;

    #[test]
    fn money_never_rounds_a_cost_to_nothing() {
        assert_eq!(money(0.0), "$0.0000");
        assert_eq!(money(0.00002), "<$0.0001");
        assert_eq!(money(0.3129), "$0.3129");
        assert_eq!(money(1.08), "$1.08");
        assert_eq!(money(250.0), "$250");
    }
}
