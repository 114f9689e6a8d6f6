//! Where each pane goes for a terminal size. One function, used by the renderer to draw and by the
//! state to know page sizes and which pane the mouse is over, so the two never disagree.

use ratatui::layout::Rect;

/// A pane that can take focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    List,
    Diff,
    Ledger,
    Tuning,
}

impl Pane {
    pub const ALL: [Pane; 4] = [Pane::List, Pane::Diff, Pane::Ledger, Pane::Tuning];

    pub fn name(self) -> &'static str {
        match self {
            Pane::List => "flows",
            Pane::Diff => "diff",
            Pane::Ledger => "ledger",
            Pane::Tuning => "knobs",
        }
    }
}

/// The rectangles of one frame; a pane that does not fit is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    pub title: Rect,
    pub list: Option<Rect>,
    pub diff: Option<Rect>,
    pub ledger: Option<Rect>,
    pub tuning: Option<Rect>,
    pub status: Rect,
}

/// Below this the screen shows only the focused pane.
pub const MIN_SPLIT_WIDTH: u16 = 60;
pub const MIN_SPLIT_HEIGHT: u16 = 12;

impl Areas {
    pub fn of(&self, pane: Pane) -> Option<Rect> {
        match pane {
            Pane::List => self.list,
            Pane::Diff => self.diff,
            Pane::Ledger => self.ledger,
            Pane::Tuning => self.tuning,
        }
    }

    /// The pane under a screen cell.
    pub fn pane_at(&self, column: u16, row: u16) -> Option<Pane> {
        let hit = |r: Option<Rect>| {
            r.is_some_and(|r| column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height)
        };
        Pane::ALL.into_iter().find(|p| hit(self.of(*p)))
    }

    /// Rows inside a pane's border (0 when the pane is hidden).
    pub fn inner_height(&self, pane: Pane) -> usize {
        self.of(pane).map_or(0, |r| r.height.saturating_sub(2) as usize)
    }
}

/// Lays out a frame: a title line, the panes, a status line.
pub fn layout(area: Rect, focus: Pane) -> Areas {
    let title = Rect { height: area.height.min(1), ..area };
    let status_h = u16::from(area.height >= 2);
    let status = Rect { y: area.y + area.height.saturating_sub(status_h), height: status_h, ..area };
    let body = Rect { y: area.y + 1, height: area.height.saturating_sub(1 + status_h), ..area };
    let mut a = Areas { title, status, ..Areas::default() };
    if body.height == 0 {
        return a;
    }
    if body.width < MIN_SPLIT_WIDTH || body.height < MIN_SPLIT_HEIGHT {
        match focus {
            Pane::List => a.list = Some(body),
            Pane::Diff => a.diff = Some(body),
            Pane::Ledger => a.ledger = Some(body),
            Pane::Tuning => a.tuning = Some(body),
        }
        return a;
    }
    // wide screens give the list room for labels and audit counts
    let list_w = if body.width >= 120 { (body.width * 3 / 10).clamp(44, 64) } else { (body.width * 7 / 20).max(24) };
    a.list = Some(Rect { width: list_w, ..body });
    let right = Rect { x: body.x + list_w, width: body.width - list_w, ..body };
    let bottom_h = if body.height >= 30 { 11 } else { 8 };
    let diff_h = right.height - bottom_h;
    a.diff = Some(Rect { height: diff_h, ..right });
    let bottom = Rect { y: right.y + diff_h, height: bottom_h, ..right };
    let ledger_w = bottom.width / 2;
    a.ledger = Some(Rect { width: ledger_w, ..bottom });
    a.tuning = Some(Rect { x: bottom.x + ledger_w, width: bottom.width - ledger_w, ..bottom });
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panes_tile_the_body_and_tiny_screens_show_the_focused_pane() {
        let a = layout(Rect::new(0, 0, 80, 24), Pane::List);
        let total: u32 = Pane::ALL.iter().filter_map(|p| a.of(*p)).map(|r| r.area()).sum();
        assert_eq!(total, 80 * 22);
        assert_eq!(a.pane_at(1, 2), Some(Pane::List));
        assert_eq!(a.pane_at(79, 2), Some(Pane::Diff));
        assert_eq!(a.pane_at(79, 21), Some(Pane::Tuning));
        let t = layout(Rect::new(0, 0, 40, 10), Pane::Ledger);
        assert!(t.list.is_none() && t.diff.is_none() && t.ledger.is_some());
        let z = layout(Rect::new(0, 0, 1, 1), Pane::Diff);
        assert_eq!(z.inner_height(Pane::Diff), 0);
    }
}
