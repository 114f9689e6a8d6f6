//! The two sides of the diff: the original as shown (pretty JSON when it is JSON), the output
//! aligned to it, and the line ranges the ledger says were dropped whole.

use super::*;

/// The lines of the left side each ledger drop covers, in ledger order, and the lines drops remove
/// entirely (so the line diff only has to align what is left). JSON is shown pretty-printed on
/// both sides (so a line diff means something), and its drops are placed by their JSON pointers;
/// everything else is shown as is, with the ledger's own line ranges. `left_pretty` is the left
/// side already pretty-printed with every pointer, when the caller has it.
pub(super) fn display_sides(
    left: &Arc<str>,
    right: &Arc<str>,
    o: Option<&Outcome>,
    with_ledger: bool,
    left_pretty: Option<Arc<pretty::Pretty>>,
) -> Sides {
    let drops = o.filter(|_| with_ledger).map(|o| o.ledger.drops.as_slice());
    // a recorded compression (no outcome) of JSON is laid out like ours, so its dropped rows and
    // markers line up against the original's
    let json = |t: &str| t.trim_start().starts_with(['{', '[']);
    let recorded_json = o.is_none() && with_ledger && json(left) && json(right);
    if recorded_json || o.is_some_and(|o| o.engine == Some(EngineKind::Json)) {
        let wanted: HashSet<String> =
            drops.unwrap_or_default().iter().flat_map(|d| pretty::wanted(&d.span, d.count)).flatten().collect();
        let l = match left_pretty {
            Some(p) if wanted.is_empty() => Some(p),
            // the cached layout is the text shown; the drops' lines come from laying it out again
            Some(p) => pretty::pretty(left, &wanted)
                .map(|q| Arc::new(pretty::Pretty { text: p.text.clone(), lines: q.lines, capped: p.capped })),
            None => pretty::pretty(left, &wanted).map(Arc::new),
        };
        let r = pretty::pretty(right, &HashSet::new());
        if let (Some(l), Some(r)) = (l, r) {
            let lines = drops.map(|ds| {
                ds.iter().map(|d| pretty::span_lines(&l, &d.span, d.count).unwrap_or((0, 0))).collect::<Vec<_>>()
            });
            // a dropped value takes its pretty lines with it (in a packed array of scalars, the
            // lines it shares with kept items too: they read as dropped, and the kept items as
            // the output's own lines); a cut string keeps its line
            let removed = match (drops, &lines) {
                (Some(ds), Some(ls)) => {
                    ds.iter().zip(ls).filter(|(d, l)| d.unit != Unit::Chars && l.0 > 0).map(|(_, l)| *l).collect()
                }
                _ => Vec::new(),
            };
            let capped = l.capped || r.capped;
            return Sides { left: l.text.clone(), right: r.text, drop_lines: lines, removed, in_place: false, capped };
        }
    }
    let lines = drops.map(|ds| ds.iter().map(|d| (d.span.lines.first, d.span.lines.last)).collect());
    let removed = drops.unwrap_or_default().iter().filter_map(|d| whole_lines(left, &d.span)).collect();
    // JSON Lines the engine re-serialised: both sides compact, line by line, so a value it left
    // alone reads as the same line (its drops keep their line numbers: one value per line)
    let json_lines = recorded_json || o.is_some_and(|o| o.engine == Some(EngineKind::Json));
    if let Some((l, r)) = json_lines.then(|| Some((compact_lines(left)?, compact_lines(right)?))).flatten() {
        return Sides { left: l, right: r, drop_lines: lines, removed, in_place: false, capped: false };
    }
    // the prose engine keeps every line in its place: line faces line
    let in_place = o.is_some_and(|o| o.engine == Some(EngineKind::Prose)) && lines.is_some();
    Sides { left: left.clone(), right: right.clone(), drop_lines: lines, removed, in_place, capped: false }
}

/// Each line of JSON Lines as serde_json writes it compactly; `None` when a line is not JSON.
fn compact_lines(text: &str) -> Option<Arc<str>> {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if !line.trim().is_empty() {
            out.push_str(&serde_json::from_str::<serde_json::Value>(line).ok()?.to_string());
        }
        out.push('\n');
    }
    Some(Arc::from(out.as_str()))
}

/// The lines a dropped byte span covers from their start through their newline.
pub(super) fn whole_lines(text: &str, span: &Span) -> Option<(usize, usize)> {
    let b = text.as_bytes();
    let (start, end) = (span.bytes.start, span.bytes.end.min(b.len()));
    if start >= end {
        return None;
    }
    let first = span.lines.first + usize::from(start > 0 && b[start - 1] != b'\n');
    let last = span.lines.last.saturating_sub(usize::from(end < b.len() && b[end - 1] != b'\n'));
    (first >= 1 && first <= last).then_some((first, last))
}

/// The block on screen's original, pretty-printed (when it is JSON), kept while the block is
/// tuned: each knob change then only prints the new output (and, when it dropped something, finds
/// the lines of its drops in the original again: no line table of every value is kept).
pub(super) fn original_pretty(caches: &Caches, text: &Arc<str>) -> Option<Arc<pretty::Pretty>> {
    caches.pretty.get_or(text, (), || {
        // one JSON value and nothing after it: a scan, with no values built, rules out a block
        // of sections (a JSON document and then a log) or JSON Lines before the parse
        let starts_json = text.trim_start().starts_with(['{', '[']);
        let one_value = || crate::engine::jsonspan::value_end(text).is_some_and(|end| text[end..].trim().is_empty());
        if starts_json && one_value() { pretty::pretty(text, &HashSet::new()).map(Arc::new) } else { None }
    })
}

/// The left side's tokens per line, kept for the last left text asked about: while a block is
/// tuned its left side stays the same, so folds cost nothing to count after the first time.
pub(super) fn left_line_tokens(caches: &Caches, text: &Arc<str>, tokenizer: Tokenizer) -> Arc<Vec<u32>> {
    caches.line_tokens.get_or(text, tokenizer, || Arc::new(tokens::count_per_line(text, tokenizer)))
}

/// One value kept for the last text asked about (the same `Arc`, so the text is never hashed) and
/// a setting it depends on.
pub(super) struct LastFor<E, V>(Mutex<Option<(Arc<str>, E, V)>>);

impl<E, V> Default for LastFor<E, V> {
    fn default() -> Self {
        LastFor(Mutex::new(None))
    }
}

impl<E: PartialEq + Copy, V: Clone> LastFor<E, V> {
    fn get_or(&self, text: &Arc<str>, setting: E, make: impl FnOnce() -> V) -> V {
        if let Ok(slot) = self.0.lock()
            && let Some((t, e, v)) = slot.as_ref()
            && Arc::ptr_eq(t, text)
            && *e == setting
        {
            return v.clone();
        }
        let v = make();
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((text.clone(), setting, v.clone()));
        }
        v
    }
}

pub(super) struct Sides {
    pub(super) left: Arc<str>,
    pub(super) right: Arc<str>,
    pub(super) drop_lines: Option<Vec<(usize, usize)>>,
    /// Line ranges of the left side that drops remove entirely.
    pub(super) removed: Vec<(usize, usize)>,
    /// The output keeps every original line in its place (prose), so lines pair by number.
    pub(super) in_place: bool,
    /// JSON nested deeper than [`pretty::MAX_INDENT`] is shown without more indentation.
    pub(super) capped: bool,
}

impl Sides {
    /// The side-by-side model of the two sides.
    pub(super) fn model(&self, left_tokens: &[u32]) -> DiffModel {
        match &self.drop_lines {
            Some(dropped) if self.in_place => diffview::build_in_place(&self.left, &self.right, dropped, left_tokens),
            dropped => diffview::build(&self.left, &self.right, dropped.as_deref(), &self.removed, left_tokens),
        }
    }
}

/// The sides of a block split into sections, and its model: each section laid out by its own
/// engine's rules (JSON pretty-printed by pointer, prose line by line) with its own drops, then
/// joined in order, so one section's layout or markers never misalign another's lines. `None` when
/// there is one section or a section's range does not fit the texts.
///
/// `tokens` are the original's tokens per line and the tokenizer, for the folds' counts (a part
/// shown as it is takes its lines' counts from them; a part laid out anew is counted); without
/// them the folds have no counts.
pub(super) fn sectioned(
    original: &str,
    output: &str,
    o: &Outcome,
    tokens: Option<(&[u32], Tokenizer)>,
) -> Option<(Sides, DiffModel)> {
    if o.sections.len() < 2 {
        return None;
    }
    let (mut left, mut right) = (String::with_capacity(original.len()), String::with_capacity(output.len()));
    let (mut drop_lines, mut removed, mut capped) = (Vec::new(), Vec::new(), false);
    let mut model = DiffModel::default();
    for s in &o.sections {
        let a: Arc<str> = original.get(s.bytes.clone())?.into();
        let b: Arc<str> = output.get(s.output_bytes.clone())?.into();
        let part = display_sides(&a, &b, Some(&o.section_alone(s)), true, None);
        let lines = s.lines.first.saturating_sub(1)..s.lines.last;
        let part_tokens = match tokens {
            None => Vec::new(),
            Some((all, _)) if *part.left == *a && part.left.split_inclusive('\n').count() == lines.len() => {
                all.get(lines).map(<[u32]>::to_vec).unwrap_or_default()
            }
            Some((_, tokenizer)) => tokens::count_per_line(&part.left, tokenizer),
        };
        let m = part.model(&part_tokens);
        let (l0, r0, rows0) = (model.left_lines, model.right_lines, model.rows.len());
        let shift = |r: (usize, usize)| if r.0 == 0 { r } else { (r.0 + l0, r.1 + l0) };
        drop_lines.extend(part.drop_lines.iter().flatten().map(|&r| shift(r)));
        removed.extend(part.removed.iter().map(|&r| shift(r)));
        model.rows.extend(m.rows.into_iter().map(|mut row| {
            row.left.iter_mut().for_each(|c| c.line += l0);
            row.right.iter_mut().for_each(|c| c.line += r0);
            row
        }));
        model.folds.extend(
            m.folds.into_iter().map(|f| diffview::Fold { rows: f.rows.start + rows0..f.rows.end + rows0, ..f }),
        );
        model.left_lines += m.left_lines;
        model.right_lines += m.right_lines;
        capped |= part.capped;
        // each part starts on a line of its own
        for (text, part) in [(&mut left, &part.left), (&mut right, &part.right)] {
            text.push_str(part);
            if !part.is_empty() && !part.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    let sides = Sides {
        left: left.into(),
        right: right.into(),
        drop_lines: Some(drop_lines),
        removed,
        in_place: false,
        capped,
    };
    Some((sides, model))
}
