//! The two sides of the diff: the original as shown (pretty JSON when it is JSON), the output
//! aligned to it, and the line ranges the ledger says were dropped whole.

use super::*;
use crate::ledger::Dropped;

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
        let ds = drops.unwrap_or_default();
        let rows = item_runs(ds);
        let ask = pretty::Ask {
            wanted: ds.iter().flat_map(|d| pretty::wanted(&d.span, d.count)).flatten().collect(),
            rows: rows.keys().cloned().collect(),
            ..pretty::Ask::default()
        };
        let l = match left_pretty {
            Some(p) if ask.wanted.is_empty() => Some(p),
            // the cached layout is the text shown; the drops' lines come from laying it out again
            Some(p) => pretty::pretty_with(left, &pretty::Ask { lines_only: true, ..ask }).map(|q| {
                Arc::new(pretty::Pretty { text: p.text.clone(), lines: q.lines, rows: q.rows, capped: p.capped })
            }),
            None => pretty::pretty_with(left, &ask).map(Arc::new),
        };
        // the output's packed arrays are laid out along their original's lines
        let breaks = l.as_ref().map(|l| output_breaks(&l.rows, &rows)).unwrap_or_default();
        let r = pretty::pretty_with(right, &pretty::Ask { breaks, ..pretty::Ask::default() });
        if let (Some(l), Some(r)) = (l, r) {
            let lines = drops.map(|ds| {
                ds.iter().map(|d| pretty::span_lines(&l, &d.span, d.count).unwrap_or((0, 0))).collect::<Vec<_>>()
            });
            // a dropped value takes its pretty lines with it, but for a packed array's lines it
            // shares with kept items: those face the output's line of the same items; a cut
            // string keeps its line
            let removed = match (drops, &lines) {
                (Some(ds), Some(ls)) => ds
                    .iter()
                    .zip(ls)
                    .filter(|(d, l)| d.unit != Unit::Chars && l.0 > 0)
                    .filter_map(|(d, &(first, last))| {
                        let Some((array, run)) = item_run(d, false) else { return Some((first, last)) };
                        let Some((starts, n)) = l.rows.get(array) else { return Some((first, last)) };
                        let begins = |i: usize| i as u32 >= *n || starts.binary_search(&(i as u32)).is_ok();
                        let first = first + usize::from(!begins(run.start));
                        let last = last - usize::from(!begins(run.end));
                        (first <= last).then_some((first, last))
                    })
                    .collect(),
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

/// A drop of a run of array items (scalars, or rows with `rows`): the array's pointer and the
/// items' indices.
fn item_run(d: &Dropped, rows: bool) -> Option<(&str, std::ops::Range<usize>)> {
    if d.unit != Unit::Items && !(rows && d.unit == Unit::Rows) {
        return None;
    }
    let (array, index) = d.span.pointer.as_deref()?.rsplit_once('/')?;
    let start: usize = index.parse().ok()?;
    Some((array, start..start + d.count))
}

/// The arrays whose items drops removed, each with its runs of dropped indices, in order. An array
/// inside another array that lost items or rows is left out: its pointer in the output may name
/// another array.
fn item_runs(drops: &[Dropped]) -> HashMap<String, Vec<std::ops::Range<usize>>> {
    let cut: HashSet<&str> = drops.iter().filter_map(|d| item_run(d, true)).map(|(array, _)| array).collect();
    let mut runs: HashMap<String, Vec<std::ops::Range<usize>>> = HashMap::new();
    for d in drops {
        if let Some((array, run)) = item_run(d, false)
            && !array.match_indices('/').any(|(i, _)| cut.contains(&array[..i]))
        {
            runs.entry(array.to_string()).or_default().push(run);
        }
    }
    for r in runs.values_mut() {
        r.sort_by_key(|r| r.start);
    }
    runs
}

/// For each array the original laid out packed (its lines' first items in `rows`), the output
/// array's line breaks: an output item begins a line when the item it keeps sat on another
/// original line than the one before it. The kept items are the original's, in order, less the
/// dropped runs; the markers after them are packed by width.
fn output_breaks(
    rows: &HashMap<String, (Vec<u32>, u32)>,
    runs: &HashMap<String, Vec<std::ops::Range<usize>>>,
) -> HashMap<String, (Vec<u32>, u32)> {
    let mut out = HashMap::new();
    for (array, (starts, n)) in rows {
        let Some(runs) = runs.get(array) else { continue };
        // the number of lines begun at or before item `i`, so a line's index; `starts[line_of(i)]`
        // begins the next line
        let line_of = |i: usize| starts.partition_point(|&s| s as usize <= i);
        let (mut begins, mut kept, mut last_line) = (Vec::new(), 0u32, usize::MAX);
        // each stretch of kept items, between the dropped runs, a line at a time
        let mut from = 0;
        for gap in runs.iter().map(|r| (r.start, r.end)).chain([(*n as usize, *n as usize)]) {
            let (mut i, end) = (from, gap.0.min(*n as usize));
            while i < end {
                let line = line_of(i);
                if line != last_line {
                    begins.push(kept + (i - from) as u32);
                    last_line = line;
                }
                i = starts.get(line).map_or(end, |&s| (s as usize).clamp(i + 1, end));
            }
            kept += end.saturating_sub(from) as u32;
            from = from.max(gap.1);
        }
        out.insert(array.clone(), (begins, kept));
    }
    out
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
        let l0 = model.left_lines;
        let shift = |r: (usize, usize)| if r.0 == 0 { r } else { (r.0 + l0, r.1 + l0) };
        drop_lines.extend(part.drop_lines.iter().flatten().map(|&r| shift(r)));
        removed.extend(part.removed.iter().map(|&r| shift(r)));
        model.append(m);
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
    model.on_sides(&sides.left, &sides.right);
    Some((sides, model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_array_breaks_where_its_kept_items_changed_original_line() {
        // 10 items on lines beginning at 0, 4 and 8
        let rows = HashMap::from([("/a".to_string(), (vec![0, 4, 8], 10))]);
        let breaks = |dropped: &[std::ops::Range<usize>]| {
            output_breaks(&rows, &HashMap::from([("/a".to_string(), dropped.to_vec())])).remove("/a").unwrap()
        };
        // kept 0, 1, 6, 7, 9: lines 1, 1, 2, 2, 3
        assert_eq!(breaks(&[2..6, 8..9]), (vec![0, 2, 4], 5));
        // a run from the start and one to the end: kept 5, 6 on line 2
        assert_eq!(breaks(&[0..5, 7..10]), (vec![0], 2));
        // everything dropped: nothing to lay out
        assert_eq!(breaks(&[0..6, 6..10]), (vec![], 0));
        // overlapping runs, as two reasons' runs may be: kept 3 and 8
        assert_eq!(breaks(&[0..3, 2..3, 4..8, 9..10]), (vec![0, 1], 2));
    }

    #[test]
    fn an_array_under_an_array_that_lost_items_or_rows_is_not_laid_out_by_its_pointer() {
        use crate::ledger::Lines;
        let drop = |pointer: &str, unit: Unit, count: usize| Dropped {
            span: Span {
                bytes: 0..1,
                lines: Lines { first: 1, last: 1 },
                pointer: Some(pointer.into()),
                pointer_last: None,
            },
            unit,
            count,
            reason: "".into(),
            marker: 0,
        };
        let drops = [
            drop("/list/0", Unit::Rows, 2),
            drop("/list/5/values/3", Unit::Items, 4),
            drop("/other/9", Unit::Items, 2),
            drop("/other/1", Unit::Items, 3),
            drop("/text", Unit::Chars, 100),
        ];
        let runs = item_runs(&drops);
        assert_eq!(runs.len(), 1, "{runs:?}");
        assert_eq!(runs["/other"], [1..4, 9..11], "in order");
        // the root array's pointer is empty, and an array in it that lost items is left out
        let runs = item_runs(&[drop("/2", Unit::Items, 1), drop("/0/7", Unit::Items, 2)]);
        assert_eq!(runs.keys().collect::<Vec<_>>(), [""]);
    }
}
