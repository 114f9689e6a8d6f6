//! Code engine: keeps imports, signatures, types, decorators and the first docstring line; cuts
//! function bodies at whole-statement boundaries, giving more room to the functions that matter.
//!
//! Technique and knobs follow Headroom's CodeCompressor (importance from references, visibility,
//! fan-out and the query; a line budget from `target_compression_rate`; `max_body_lines` per body).
//! Differences, on purpose: source order is kept (Headroom regroups imports, types, classes and
//! functions); each cut body gets its own marker in the language's comment syntax (Headroom appends
//! one `#` line even to Go or Rust), naming the omitted line count, the calls the omitted part made
//! and its key; the output is re-parsed and refused if it has a syntax error the input did not;
//! a function whose body is mostly other named functions (a module wrapper, lodash's `debounce`) is
//! not cut itself, its inner functions are, so nothing is emitted twice.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tree_sitter::Node;

use super::api::{Compressed, Context, Engine, Fraction, Skip};
use super::lang::{self, Lang, Step};
use super::text;
use crate::ledger::{LedgerBuilder, PayloadShape, Unit, group_thousands, name_list, worth_a_marker};

/// How much of a Python docstring stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocstringMode {
    /// The first line (the summary); the rest goes behind a marker.
    FirstLine,
    /// The whole docstring, counted against the body's line budget.
    Full,
}

/// Knobs of the code engine (Headroom `CodeCompressorConfig` names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CodeParams {
    /// Share of the file's lines to aim for; what is left after signatures and other non-body
    /// lines is shared among function bodies by importance.
    pub target_compression_rate: Fraction,
    /// Most lines kept of any one function body (at least one statement always stays).
    pub max_body_lines: usize,
    /// Files under this many tokens pass through.
    pub min_tokens_for_compression: usize,
    /// Python docstrings: `first_line` or `full`.
    pub docstring_mode: DocstringMode,
    /// Force a language by name (python, javascript, typescript, tsx, rust, go, java, c, cpp) or by
    /// file extension (py, js, ts, rs, h, hpp, …), in any case; empty detects it from the file
    /// extension, a shebang or the content.
    pub language_hint: String,
}

impl Default for CodeParams {
    fn default() -> Self {
        CodeParams {
            target_compression_rate: Fraction(0.2),
            max_body_lines: 5,
            min_tokens_for_compression: 100,
            docstring_mode: DocstringMode::FirstLine,
            language_hint: String::new(),
        }
    }
}

pub struct CodeEngine;

impl Engine for CodeEngine {
    type Params = CodeParams;

    fn compress(input: &str, p: &CodeParams, ctx: &Context) -> Result<Compressed, Skip> {
        if input.trim().is_empty() {
            return Err(Skip::Empty);
        }
        let tokens_in = ctx.input_tokens(input);
        if tokens_in < p.min_tokens_for_compression {
            return Err(Skip::TooSmall {
                detail: format!(
                    "{tokens_in} tokens; code under min_tokens_for_compression = {} passes through",
                    p.min_tokens_for_compression
                ),
            });
        }
        if text::listing_body(&text::first_lines(input, 200)).is_some() {
            return compress_listing(input, p, ctx);
        }
        compress_source(input, p, ctx)
    }
}

/// Code compressed as a listing of itself would be: the same cuts, made on the listing, so every
/// kept line keeps its number and a marker takes the number of the first line it stands for.
/// The code's output is read back against its ledger (kept text, then each marker where its cut
/// was, in order); when it does not read so, the listing is kept whole and says why.
fn compress_listing(input: &str, p: &CodeParams, ctx: &Context) -> Result<Compressed, Skip> {
    let whole = |why: &str| Skip::NotThisType {
        detail: format!("a numbered listing (cat -n, grep -n, N→) {why}; kept whole"),
    };
    let listing = text::listing(&text::lines(input)).ok_or_else(|| whole("only in its first lines"))?;
    let inner = compress_source(&listing.body, p, ctx).map_err(|e| match e {
        Skip::NotThisType { detail } | Skip::ParseFailed { detail } => {
            whole(&format!("whose code cannot be cut: {detail}"))
        }
        other => other,
    })?;
    let (body, o) = (listing.body.as_str(), inner.output.as_str());
    let line_break = text::foreign_line_break(input).unwrap_or("\n");
    let mut ledger = LedgerBuilder::new(input);
    let mut out = String::with_capacity(input.len() / 2);
    let (mut cursor, mut body_at, mut out_at) = (0, 0, 0);
    for m in &inner.ledger.markers {
        let &[d] = m.covers.as_slice() else { return Err(whole("cut in more than one place per marker")) };
        let d = &inner.ledger.drops[d];
        let (a, b) = (d.span.bytes.start, d.span.bytes.end);
        let kept = &body[body_at..a];
        let found = o[out_at..].strip_prefix(kept).and_then(|rest| rest.find(m.text.as_str()));
        let Some(lead_len) = found else { return Err(whole("whose cut output does not read back")) };
        let lead = &o[out_at + kept.len()..out_at + kept.len() + lead_len];
        out_at += kept.len() + lead_len + m.text.len();
        let ends_line = body[..b].ends_with('\n') && o[out_at..].starts_with('\n');
        out_at += usize::from(ends_line);
        let (from, to) = (listing.start_of(a), listing.end_of(b));
        out.push_str(&input[cursor..from]);
        let group = ledger.group();
        ledger.drop_span(from..to, None, d.unit, d.count, d.reason.clone());
        out.push_str(lead);
        out.push_str(&ledger.marker(group, m.phrase.clone(), m.shape));
        if ends_line {
            out.push_str(line_break);
        }
        (cursor, body_at) = (to, b);
    }
    if o[out_at..] != body[body_at..] {
        return Err(whole("whose cut output does not read back"));
    }
    out.push_str(&input[cursor..]);
    let strategy = format!("{}; cut on the numbered listing, every kept line with its number", inner.strategy);
    Ok(Compressed { output: out, ledger: ledger.finish(), strategy, notes: inner.notes, budget_hit: inner.budget_hit })
}

/// Sources from twice this size up are cut part by part, each part about this size and parsed
/// alone, so the syntax tree held (about 15 bytes per source byte) stays bounded.
const PART_BYTES: usize = 1 << 20;

/// tree-sitter counts rows at `\n` only: a text whose lines end in `\r` alone is parsed with
/// `\n` in their place (byte for byte, so every position holds for the input).
fn as_parsed(t: &str, cr_only: bool) -> Cow<'_, str> {
    if cr_only { Cow::Owned(t.replace('\r', "\n")) } else { Cow::Borrowed(t) }
}

/// The engine on source text (not a listing): one language for the whole text, then the text cut
/// whole, or part by part when it is large.
fn compress_source(input: &str, p: &CodeParams, ctx: &Context) -> Result<Compressed, Skip> {
    let cr_only = text::line_end(input) == b'\r';
    let parsed_input = as_parsed(input, cr_only);
    let (lang, how) = if p.language_hint.trim().is_empty() {
        lang::detect(&parsed_input, ctx.path.as_deref()).ok_or_else(|| Skip::NotThisType {
            detail: "no supported language detected (python, javascript, typescript, tsx, rust, go, java, c, cpp)"
                .to_string(),
        })?
    } else {
        let l: Lang = p.language_hint.parse().map_err(|e: String| Skip::NotThisType { detail: e })?;
        (l, format!("{l} from language_hint"))
    };
    let parts = parts(input);
    if parts.len() < 2 {
        return compress_part(input, &parsed_input, cr_only, lang, how, p, ctx, input.len() >= HALVES_FROM, false);
    }
    let mut output = String::with_capacity(input.len() / 2);
    let mut ledger = crate::ledger::Ledger::default();
    let mut notes = vec![how];
    let (mut lines_before, mut counted_to, mut cut) = (0, 0, 0);
    for range in &parts {
        lines_before += memchr::memchr_iter(text::line_end(input), &input.as_bytes()[counted_to..range.start]).count();
        counted_to = range.start;
        let (part, parsed) = (&input[range.clone()], &parsed_input[range.clone()]);
        match compress_part(part, parsed, cr_only, lang, String::new(), p, ctx, part.len() >= HALVES_FROM, true) {
            Ok(c) => {
                let mut l = c.ledger;
                l.shift(range.start, lines_before);
                ledger.append(l);
                output.push_str(&c.output);
                notes.extend(c.notes.into_iter().map(|n| format!("lines from {}: {n}", lines_before + 1)));
                cut += 1;
            }
            Err(Skip::NothingToDrop { .. }) => output.push_str(part),
            Err(Skip::ParseFailed { detail }) => {
                output.push_str(part);
                notes.push(format!("lines from {} kept whole: {detail}", lines_before + 1));
            }
            Err(other) => return Err(other),
        }
    }
    if ledger.is_empty() {
        return Err(Skip::NothingToDrop {
            detail: format!("{lang}: none of its {} parts had a body or doc comment to cut", parts.len()),
        });
    }
    let strategy = format!(
        "{lang}: cut {cut} of {} parts of about {} MB, each parsed alone ({} lines omitted)",
        parts.len(),
        PART_BYTES >> 20,
        group_thousands(ledger.drops.iter().map(|d| d.count).sum())
    );
    Ok(Compressed { output, ledger, strategy, notes, budget_hit: false })
}

/// The parts the engine cuts `input` in, one syntax tree at a time (one part under 2 MB).
pub fn parts(input: &str) -> Vec<Range<usize>> {
    top_level_parts(input, PART_BYTES)
}

/// `input` split before top-level lines (a line at column 0 after a blank line, not closing a
/// bracket) into parts of about the same size, `size` bytes or a little more (one part when it
/// is under twice that or has no such line). Even parts keep the largest syntax tree, which is
/// what the memory peak follows, near the size of one part (a last part of leftovers could be
/// twice it).
fn top_level_parts(input: &str, size: usize) -> Vec<Range<usize>> {
    let b = input.as_bytes();
    let brk = text::line_end(input);
    let blank_before =
        |p: usize| (p >= 2 && b[p - 2] == brk) || (brk == b'\n' && p >= 3 && b[p - 2] == b'\r' && b[p - 3] == b'\n');
    let top_level = |p: usize| !b[p].is_ascii_whitespace() && !matches!(b[p], b'}' | b')' | b']' | b',' | b'.');
    // a line that starts a definition is a safer place than any line at column 0, which may be
    // a paragraph of a docstring or a template string
    let definition = |p: usize| DEFINITION_STARTS.iter().any(|k| b[p..].starts_with(k.as_bytes()));
    let wanted = b.len() / size.max(1);
    let even = b.len() / wanted.max(1);
    let (mut parts, mut start) = (Vec::new(), 0);
    while parts.len() + 1 < wanted && start + even < b.len() {
        let from = start + even;
        let window = || {
            memchr::memchr_iter(brk, &b[from..b.len().min(from + 2 * size)])
                .map(|i| from + i + 1)
                .filter(|&p| p < b.len() && blank_before(p) && top_level(p))
        };
        let cut = window().find(|&p| definition(p)).or_else(|| window().next());
        let Some(p) = cut else { break };
        parts.push(start..p);
        start = p;
    }
    parts.push(start..b.len());
    parts
}

/// How top-level definitions start in the languages the engine reads (decorators, attributes
/// and doc comments go with the item after them).
const DEFINITION_STARTS: [&str; 27] = [
    "def ",
    "class ",
    "async ",
    "@",
    "function ",
    "export ",
    "const ",
    "let ",
    "var ",
    "fn ",
    "pub ",
    "impl ",
    "struct ",
    "enum ",
    "trait ",
    "mod ",
    "#[",
    "///",
    "func ",
    "type ",
    "interface ",
    "public ",
    "private ",
    "static ",
    "template",
    "namespace ",
    "/**",
];

/// The engine on one text, or on one part of a larger one (`parsed` is `input` as tree-sitter
/// reads it), parsed in two halves at once when `halves` (see [`Syntax`]); its syntax trees are
/// freed on this thread when `free_here` (a part of a larger text), else on a thread of their own.
#[allow(clippy::too_many_arguments)]
fn compress_part(
    input: &str,
    parsed_input: &str,
    cr_only: bool,
    lang: Lang,
    how: String,
    p: &CodeParams,
    ctx: &Context,
    halves: bool,
    free_here: bool,
) -> Result<Compressed, Skip> {
    let syntax = Syntax::parse(lang, parsed_input, halves)
        .ok_or_else(|| Skip::ParseFailed { detail: format!("tree-sitter could not parse the input as {lang}") })?;
    let roots: Vec<Node> = syntax.trees.iter().map(|t| t.root_node()).collect();
    let input_errors: usize = roots.iter().map(|r| lang::error_count(*r)).sum();
    let mut planner = Planner::new(input, lang, p, ctx);
    planner.collect(&roots);
    let mut cuts = planner.plan();
    // a cut never hides a marker an earlier compression left: the lines and calls it counts would
    // be lost behind a new marker that counts only its own line
    let planned = cuts.len();
    cuts.retain(|c| !crate::ledger::holds_marker(&input[c.bytes.clone()]));
    let spared = planned - cuts.len();
    if cuts.is_empty() && spared > 0 {
        return Err(Skip::NothingToDrop {
            detail: format!(
                "{lang}: each of its {spared} cuts would hide a marker of an earlier compression; kept as it is"
            ),
        });
    }
    if cuts.is_empty() {
        // a file that does not parse has fewer bodies than it seems: say so
        let broken = if input_errors > 0 {
            format!(" (the input has {input_errors} syntax error(s) as {lang}; bodies inside them are not seen)")
        } else {
            String::new()
        };
        return Err(Skip::NothingToDrop {
            detail: format!(
                "{lang}: {} function bodies, all within max_body_lines = {} or not cuttable at line boundaries, and no long doc comments{broken}",
                planner.funcs.len(),
                p.max_body_lines
            ),
        });
    }
    let funcs = planner.funcs.len();
    drop(planner);
    drop(roots);
    let (output, ledger, bodies, spans) = render(input, &cuts);
    // the output is parsed from the input's trees with the cuts applied as edits: tree-sitter
    // reuses every subtree a cut did not touch, so the check costs a fraction of a parse
    let mut syntax = syntax;
    let parsed_output = as_parsed(&output, cr_only);
    syntax.edit(&tree_edits(parsed_input, &parsed_output, &spans));
    let reparsed = syntax.reparse(lang, &parsed_output, &spans);
    let output_errors =
        reparsed.as_ref().map_or(usize::MAX, |trees| trees.iter().map(|t| lang::error_count(t.root_node())).sum());
    drop(parsed_output);
    // freeing the trees is a tenth of the work: for a whole text it happens off this thread; a
    // part's are freed here, before the next part is parsed (freed on a third thread while the
    // next part's halves were parsed on two cores, 10 MB of code took 12 MB more and 15% longer)
    if free_here {
        drop((syntax.trees, reparsed));
    } else {
        super::api::drop_later((syntax.trees, reparsed));
    }
    if output_errors > input_errors {
        return Err(Skip::ParseFailed {
            detail: format!(
                "the cut {lang} would have {output_errors} syntax errors where the input has {input_errors}; passed through"
            ),
        });
    }
    let strategy = format!(
        "{lang}: cut {bodies} of {funcs} function bodies and {} doc comments ({} lines omitted)",
        cuts.len() - bodies,
        group_thousands(cuts.iter().map(|c| c.lines).sum())
    );
    let mut notes: Vec<String> = [how].into_iter().filter(|h| !h.is_empty()).collect();
    if input_errors > 0 {
        notes.push(format!("the input already has {input_errors} syntax errors; the output has no more"));
    }
    if spared > 0 {
        notes.push(format!("{spared} cut(s) not made: each would hide a marker of an earlier compression"));
    }
    Ok(Compressed { output, ledger, strategy, notes, budget_hit: false })
}

/// Texts (or parts) from this size are parsed in two halves at once, one on each core.
const HALVES_FROM: usize = 12 << 10;

/// A text's syntax trees: the text parsed whole, or in two halves at once (split before a
/// top-level line, as parts are), each tree with the whole text's offsets and rows, so the plan
/// over both is the plan over the whole. Halves are kept only when each one's ends parsed
/// cleanly (see [`clean_ends`]); otherwise the text is parsed whole.
struct Syntax {
    trees: Vec<tree_sitter::Tree>,
    /// Where the second half starts, when there are two.
    split: Option<usize>,
}

impl Syntax {
    fn parse(lang: Lang, text: &str, halves: bool) -> Option<Syntax> {
        if halves && let [first, _] = top_level_parts(text, text.len() / 2).as_slice() {
            let mid = first.end;
            let (a, b) = both(
                || lang::parse_lines(lang, text, 0..mid, 0, None),
                || lang::parse_lines(lang, text, mid..text.len(), rows_before(text, mid), None),
            );
            match (a, b) {
                (Some(a), Some(b)) if clean_ends(&a) && clean_ends(&b) => {
                    return Some(Syntax { trees: vec![a, b], split: Some(mid) });
                }
                halves => super::api::drop_later(halves),
            }
        }
        Some(Syntax { trees: vec![lang::parse(lang, text)?], split: None })
    }

    /// Applies the cuts' edits to the trees, the last first (so each finds the positions before
    /// it as they were); two halves' trees at once, one per core (7 of 90 ms on 1 MB of
    /// JavaScript, 840 edits, done in turn; 4 at once).
    fn edit(&mut self, edits: &[tree_sitter::InputEdit]) {
        let apply = |tree: &mut tree_sitter::Tree| edits.iter().rev().for_each(|edit| tree.edit(edit));
        match self.trees.as_mut_slice() {
            [a, b] => {
                both(|| apply(a), || apply(b));
            }
            trees => trees.iter_mut().for_each(apply),
        }
    }

    /// The syntax of `text`, the text these trees were parsed from with `spans` cut (and the cuts
    /// already applied to every tree as edits), reusing every subtree the cuts did not touch.
    fn reparse(&self, lang: Lang, text: &str, spans: &[Span]) -> Option<Vec<tree_sitter::Tree>> {
        match (self.split, self.trees.as_slice()) {
            (None, [tree]) => lang::reparse(lang, text, tree).map(|t| vec![t]),
            // no cut crosses the split (each lies in one half's nodes): it moves by the cuts before it
            (Some(mid), [a, b]) if !spans.iter().any(|(old, _)| old.start < mid && mid < old.end) => {
                let moved =
                    spans.iter().rfind(|(old, _)| old.end <= mid).map_or(mid, |(old, new)| mid - old.end + new.end);
                let (a, b) = both(
                    || lang::parse_lines(lang, text, 0..moved, 0, Some(a)),
                    || lang::parse_lines(lang, text, moved..text.len(), rows_before(text, moved), Some(b)),
                );
                Some(vec![a?, b?])
            }
            _ => lang::parse(lang, text).map(|t| vec![t]),
        }
    }
}

/// Whether a half's first and last top-level items parsed without error: a split inside a
/// construct (a string, a comment, a preprocessor block) breaks one of them. Errors elsewhere are
/// the text's own (a macro tree-sitter cannot read), which the whole text's parse has too.
fn clean_ends(half: &tree_sitter::Tree) -> bool {
    let root = half.root_node();
    let count = root.child_count();
    !root.is_error() && count > 0 && [0, count - 1].iter().all(|&i| root.child(i).is_some_and(|c| !c.has_error()))
}

/// Runs `a` here and `b` on the other core, and returns both results.
fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    std::thread::scope(|s| {
        let other = s.spawn(b);
        let a = a();
        // a panic there is one here too
        let b = other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// The row tree-sitter gives byte `at` of `text` (which must start a line).
fn rows_before(text: &str, at: usize) -> usize {
    memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count()
}

/// A function whose body may be cut.
struct Func<'a, 't> {
    name: String,
    stmts: Vec<Node<'t>>,
    /// Identifiers used in the body.
    uses: HashSet<&'a str>,
    body_lines: usize,
    public: bool,
    score: f64,
    /// The calls in the body, in source order (a cut names those it hides).
    calls: Vec<Node<'t>>,
}

/// A function or declaration whose doc comment may be cut, with what the walk knew of its place:
/// the node the comment sits above (itself, or the `export`, decorator or declaration around it)
/// and that node's parent.
#[derive(Clone, Copy)]
struct Documented<'t> {
    node: Node<'t>,
    anchor: Node<'t>,
    parent: Option<Node<'t>>,
    /// The node's own parent (a nameless function is named by what it is assigned to).
    own_parent: Option<Node<'t>>,
}

impl<'t> Documented<'t> {
    fn new(node: Node<'t>, up: &[Node<'t>]) -> Self {
        let climbs = |p: &Node| {
            matches!(
                p.kind(),
                "export_statement"
                    | "decorated_definition"
                    | "template_declaration"
                    | "variable_declarator"
                    | "lexical_declaration"
            )
        };
        let mut i = up.len();
        while i > 0 && climbs(&up[i - 1]) {
            i -= 1;
        }
        let anchor = if i == up.len() { node } else { up[i] };
        // above the walk's root (a documented node is never a walk's root but for a whole file),
        // tree-sitter is asked, once
        let parent = i.checked_sub(1).map(|j| up[j]).or_else(|| anchor.parent());
        Documented { node, anchor, parent, own_parent: up.last().copied() }
    }
}

/// One span to replace by a marker line.
struct Cut {
    bytes: Range<usize>,
    lines: usize,
    /// The marker line before the marker: indentation, the closing quotes or `*/` of a cut
    /// docstring or block comment, and the comment token.
    lead: String,
    phrase: String,
    unit_reason: &'static str,
}

struct Planner<'a, 't> {
    input: &'a str,
    lang: Lang,
    kinds: &'static lang::Kinds,
    p: &'a CodeParams,
    query: Vec<String>,
    tokenizer: crate::tokens::Tokenizer,
    funcs: Vec<Func<'a, 't>>,
    /// Every function and declaration node, for doc comments and class docstrings.
    documented: Vec<Documented<'t>>,
    /// How often each identifier occurs in the file.
    idents: HashMap<&'a str, usize>,
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
}

impl<'a, 't> Planner<'a, 't> {
    fn new(input: &'a str, lang: Lang, p: &'a CodeParams, ctx: &Context) -> Self {
        let mut line_starts = vec![0];
        // rows as tree-sitter counts them in the text it parsed (`\r` for `\n` in a text of `\r`s)
        let brk = char::from(text::line_end(input));
        line_starts.extend(input.match_indices(brk).map(|(i, _)| i + 1));
        Planner {
            input,
            lang,
            kinds: lang.kinds(),
            p,
            query: ctx.query_words(),
            tokenizer: ctx.tokenizer,
            funcs: Vec::new(),
            documented: Vec::new(),
            idents: HashMap::new(),
            line_starts,
        }
    }

    /// A planner for another part of the same text, with nothing collected (and no line starts:
    /// a walk does not read them).
    fn fork(&self) -> Self {
        Planner {
            query: self.query.clone(),
            funcs: Vec::new(),
            documented: Vec::new(),
            idents: HashMap::new(),
            line_starts: Vec::new(),
            ..*self
        }
    }

    fn text(&self, n: Node) -> &'a str {
        &self.input[n.byte_range()]
    }

    fn is_function(&self, n: Node) -> bool {
        self.kinds.is_function(n)
    }

    /// A function or declaration: a node whose doc comment may be cut.
    fn is_documented(&self, n: Node) -> bool {
        self.kinds.is_function(n) || self.kinds.is_declaration(n)
    }

    /// The function's body block, if it has one made of statements.
    fn body(&self, f: Node<'t>) -> Option<Node<'t>> {
        let b = f.child_by_field_name("body")?;
        matches!(b.kind(), "block" | "statement_block" | "compound_statement" | "constructor_body").then_some(b)
    }

    /// Walks the tree: counts identifiers, and collects functions that are not inside another
    /// collected function. A function whose body is mostly named functions is a container: its
    /// inner functions are collected instead.
    fn collect(&mut self, roots: &[Node<'t>]) {
        if let [first, second] = roots {
            // two halves: each walked on its own core, then joined in source order (what one walk
            // over the whole would have found, in the order it would have found it)
            let mut other = self.fork();
            both(|| self.walk(*first), || other.walk(*second));
            self.funcs.append(&mut other.funcs);
            self.documented.append(&mut other.documented);
            for (name, n) in other.idents {
                *self.idents.entry(name).or_default() += n;
            }
        } else {
            roots.iter().for_each(|root| self.walk(*root));
        }
        // A function's own definition is not a reference to it.
        for f in &mut self.funcs {
            let refs = self.idents.get(f.name.as_str()).copied().unwrap_or(0).saturating_sub(1);
            f.score += refs as f64;
        }
    }

    fn walk(&mut self, root: Node<'t>) {
        lang::walk(root, |n, up| {
            if n.child_count() == 0 && self.kinds.is_identifier(n) {
                *self.idents.entry(self.text(n)).or_default() += 1;
            }
            if self.is_documented(n) {
                self.documented.push(Documented::new(n, up));
            }
            if self.is_function(n)
                && let Some(body) = self.body(n)
                && !body.has_error()
                && let Some((uses, calls)) = self.scan_leaf(body)
            {
                self.add_function(n, body, uses, calls, up);
                return Step::Over;
            }
            Step::Into
        });
    }

    /// A function body read in one walk: `None` when it is a container, one that defines named
    /// functions or types of its own (a module wrapper, a factory, a function with a helper or a
    /// struct inside, also through an anonymous wrapper such as an IIFE), whose inner definitions
    /// are cut instead so no signature goes with it. Otherwise its identifiers are counted, its
    /// documented nodes collected, and the identifiers it uses and its calls returned. A callback
    /// (`items.map(() => …)`) defines nothing anyone calls by name: what it holds does not make
    /// a container.
    fn scan_leaf(&mut self, body: Node<'t>) -> Option<(HashSet<&'a str>, Vec<Node<'t>>)> {
        let (mut idents, mut documented, mut calls) = (Vec::new(), Vec::new(), Vec::new());
        let mut container = false;
        // the end of the callback being read: nothing before it makes a container
        let mut callback_end = 0;
        lang::walk(body, |x, up| {
            if x.id() != body.id() && x.start_byte() >= callback_end {
                if self.is_function(x) {
                    let anonymous = x.child_by_field_name("name").is_none() && !named_by_parent(up.last());
                    if is_callback(x, up.last()) {
                        callback_end = x.end_byte();
                    } else if !anonymous {
                        container = true;
                        return Step::Stop;
                    }
                }
                if self.kinds.is_declaration(x) && is_type_definition(x.kind()) {
                    container = true;
                    return Step::Stop;
                }
            }
            if x.child_count() == 0 && self.kinds.is_identifier(x) {
                idents.push(self.text(x));
            }
            if self.is_documented(x) {
                documented.push(Documented::new(x, up));
            }
            if self.kinds.is_call(x) {
                calls.push(x);
            }
            Step::Into
        });
        if container {
            return None;
        }
        let mut uses = HashSet::new();
        for t in idents {
            *self.idents.entry(t).or_default() += 1;
            uses.insert(t);
        }
        self.documented.extend(documented);
        Some((uses, calls))
    }

    fn statements(&self, body: Node<'t>) -> Vec<Node<'t>> {
        let mut c = body.walk();
        let kids: Vec<Node<'t>> = body.named_children(&mut c).collect();
        if kids.len() == 1 && kids[0].kind().ends_with("statement_list") {
            let inner = kids[0];
            let mut c2 = inner.walk();
            return inner.named_children(&mut c2).collect();
        }
        kids
    }

    /// A function's name; `parent` is the function's parent node (a nameless function is named by
    /// what it is assigned to).
    fn name_of(&self, f: Node, parent: Option<Node>) -> String {
        if let Some(n) = f.child_by_field_name("name") {
            return self.text(n).to_string();
        }
        // C/C++: the identifier inside the declarator chain
        let mut d = f.child_by_field_name("declarator");
        while let Some(x) = d {
            if x.kind().contains("identifier") || x.kind().ends_with("_name") {
                return self.text(x).rsplit("::").next().unwrap_or_default().to_string();
            }
            d = x.child_by_field_name("declarator");
        }
        // JS: `const f = () => {}`, `key: function () {}`
        if let Some(parent) = parent
            && let Some(n) = parent.child_by_field_name("name").or_else(|| parent.child_by_field_name("key"))
        {
            return self.text(n).to_string();
        }
        String::new()
    }

    /// Whether a function is part of its file's API; `up` are its ancestors, the parent last.
    fn is_public(&self, f: Node, name: &str, up: &[Node]) -> bool {
        let has_child = |kind: &str, text: &str| {
            let mut c = f.walk();
            f.children(&mut c).any(|k| k.kind() == kind && self.text(k).contains(text))
        };
        match self.lang {
            Lang::Python => !name.starts_with('_') || (name.starts_with("__") && name.ends_with("__")),
            Lang::Rust => has_child("visibility_modifier", "pub"),
            Lang::Go => name.chars().next().is_some_and(char::is_uppercase),
            Lang::Java => has_child("modifiers", "public"),
            Lang::C | Lang::Cpp => !self.text(f).trim_start().starts_with("static"),
            Lang::JavaScript | Lang::TypeScript | Lang::Tsx => {
                let exported = up.iter().rev().take(3).any(|p| p.kind() == "export_statement");
                exported || (f.kind() == "method_definition" && !name.starts_with(['#', '_']))
            }
        }
    }

    fn add_function(
        &mut self,
        f: Node<'t>,
        body: Node<'t>,
        uses: HashSet<&'a str>,
        calls: Vec<Node<'t>>,
        up: &[Node<'t>],
    ) {
        let stmts = self.statements(body);
        if stmts.is_empty() {
            return;
        }
        let name = self.name_of(f, up.last().copied());
        let public = self.is_public(f, &name, up);
        let first = stmts[0].start_position().row;
        let last = stmts[stmts.len() - 1].end_position().row;
        let mut score = if public { 1.0 } else { 0.0 };
        if self.lang == Lang::Python && name.starts_with("__") && name.ends_with("__") {
            score += 2.0;
        }
        let lname = name.to_lowercase();
        if !lname.is_empty() && self.query.iter().any(|w| *w == lname || (lname.len() > 3 && w.contains(&lname))) {
            score += 3.0;
        }
        self.funcs.push(Func { name, stmts, uses, body_lines: last - first + 1, public, score, calls });
    }

    /// The names called in `range` of a body, from the body's calls: each once, sorted.
    fn calls_in(&self, range: Range<usize>, calls: &[Node]) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        for x in calls.iter().filter(|x| range.contains(&x.start_byte())) {
            let Some(callee) = x
                .child_by_field_name("function")
                .or_else(|| x.child_by_field_name("name"))
                .or_else(|| x.child_by_field_name("macro"))
                .or_else(|| x.child_by_field_name("constructor"))
                .or_else(|| x.child_by_field_name("type"))
            else {
                continue;
            };
            let text = self.text(callee);
            let last = text.rsplit(['.', ':', '>']).next().unwrap_or(text).trim();
            let mut name: String = last.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '$').collect();
            if x.kind() == "macro_invocation" {
                name.push('!');
            }
            if !name.is_empty() && seen.insert(name.clone()) {
                names.push(name);
            }
        }
        names.sort();
        names
    }

    fn line_start(&self, row: usize) -> usize {
        self.line_starts[row]
    }

    /// End of the line (after its newline).
    fn line_end(&self, row: usize) -> usize {
        self.line_starts.get(row + 1).copied().unwrap_or(self.input.len())
    }

    fn blank(&self, r: Range<usize>) -> bool {
        self.input[r].trim().is_empty()
    }

    /// The cuts for every function: a share of the line budget by importance, at most
    /// `max_body_lines` each, whole statements only.
    fn plan(&mut self) -> Vec<Cut> {
        if self.funcs.is_empty() {
            return self.doc_cuts(Vec::new());
        }
        let total_lines = self.line_starts.len();
        // Fan-out: distinct other functions this one mentions.
        let names: HashSet<String> = self.funcs.iter().map(|f| f.name.clone()).filter(|n| !n.is_empty()).collect();
        for f in &mut self.funcs {
            let fan_out = f.uses.iter().filter(|u| **u != f.name && names.contains(**u)).count();
            f.score += 0.5 * fan_out as f64;
        }
        let (lo, hi) = self.funcs.iter().fold((f64::MAX, f64::MIN), |(a, b), f| (a.min(f.score), b.max(f.score)));
        let norm = |s: f64| if hi > lo { (s - lo) / (hi - lo) } else { 0.5 };
        let body_total: usize = self.funcs.iter().map(|f| f.body_lines).sum();
        let target = (total_lines as f64 * self.p.target_compression_rate.get()).ceil() as usize;
        let budget = target.saturating_sub(total_lines.saturating_sub(body_total)) as f64;
        let weights: Vec<f64> = self.funcs.iter().map(|f| norm(f.score).max(0.05) * f.body_lines as f64).collect();
        let weight_sum: f64 = weights.iter().sum();
        let mut cuts = Vec::new();
        for (i, f) in self.funcs.iter().enumerate() {
            let alloc = if weight_sum > 0.0 { (budget * weights[i] / weight_sum).floor() as usize } else { 0 };
            let limit = alloc.min(f.body_lines).min(self.p.max_body_lines);
            if f.body_lines <= limit + 2 {
                continue;
            }
            cuts.extend(self.cut_function(f, limit));
        }
        self.doc_cuts(cuts)
    }

    /// Adds the doc-comment cuts that do not overlap body cuts, and sorts.
    fn doc_cuts(&self, mut cuts: Vec<Cut>) -> Vec<Cut> {
        if self.p.docstring_mode == DocstringMode::FirstLine {
            // each parent's children, listed once: asking tree-sitter for a previous sibling
            // searches down from the root and then along the parent's children
            let mut children = HashMap::new();
            let docs: Vec<Cut> = self.documented.iter().filter_map(|d| self.doc_cut(d, &mut children)).collect();
            for d in docs {
                if !cuts.iter().any(|c| c.bytes.start < d.bytes.end && d.bytes.start < c.bytes.end) {
                    cuts.push(d);
                }
            }
        }
        cuts.sort_by_key(|c| c.bytes.start);
        cuts.dedup_by_key(|c| c.bytes.start);
        cuts
    }

    /// A Python docstring (the first statement of a body) cut after its first line with words;
    /// the marker line closes the string.
    fn docstring_cut(&self, first: Node, name: &str) -> Option<Cut> {
        if self.lang != Lang::Python || self.p.docstring_mode != DocstringMode::FirstLine {
            return None;
        }
        let doc = docstring(first)?;
        let start_row = first.start_position().row;
        let end_row = first.end_position().row;
        let quote = self.text(doc).trim_start_matches(|c: char| c.is_ascii_alphabetic());
        let closer = if quote.starts_with("'''") { "'''" } else { "\"\"\"" };
        // the text may start on the line after the opening quotes
        let opening = &self.input[doc.start_byte()..self.line_end(start_row)];
        let after_quotes = opening.trim_start_matches(|c: char| c.is_ascii_alphabetic()).trim_start_matches(closer);
        let first_words = if after_quotes.trim().is_empty() { start_row + 1 } else { start_row };
        if end_row < first_words + 2
            || !quote.starts_with(closer)
            || !self.blank(first.end_byte()..self.line_end(end_row))
        {
            return None;
        }
        let bytes = self.line_start(first_words + 1)..self.line_end(end_row);
        let indent = leading_ws(&self.input[self.line_start(start_row)..]);
        let lines = end_row - first_words;
        Some(Cut {
            lines,
            bytes,
            lead: format!("{indent}{closer}  {}", self.lang.comment()),
            phrase: format!("{} of the docstring of {} omitted", Unit::Lines.count(lines), display_name(name)),
            unit_reason: "docstring beyond its first line (docstring_mode = first_line)",
        })
    }

    /// The doc comment above a function or declaration; for a Python class, its docstring.
    fn doc_cut(&self, d: &Documented<'t>, children: &mut HashMap<usize, Vec<Node<'t>>>) -> Option<Cut> {
        let n = d.node;
        if self.lang == Lang::Python {
            let body = n.child_by_field_name("body").filter(|_| n.kind() == "class_definition")?;
            let first = self.statements(body).into_iter().next()?;
            return self
                .docstring_cut(first, &self.name_of(n, d.own_parent))
                .filter(|c| worth_a_marker(&self.input[c.bytes.clone()], self.tokenizer));
        }
        self.doc_comment_cut(d, children)
    }

    /// The doc comment right above a function (`/** … */`, a run of `///` or `//` lines), cut after
    /// its first line with words.
    fn doc_comment_cut(&self, d: &Documented<'t>, children: &mut HashMap<usize, Vec<Node<'t>>>) -> Option<Cut> {
        let (f, anchor, parent) = (d.node, d.anchor, d.parent?);
        let siblings = children.entry(parent.id()).or_insert_with(|| {
            let mut c = parent.walk();
            parent.children(&mut c).collect()
        });
        // the children are in order and do not overlap; several may start where the anchor does
        let from = siblings.partition_point(|k| k.start_byte() < anchor.start_byte());
        let at = from + siblings[from..].iter().position(|k| k.id() == anchor.id())?;
        let mut before = siblings[..at].iter().rev().copied().peekable();
        while before.next_if(|p| matches!(p.kind(), "attribute_item" | "decorator" | "annotation")).is_some() {}
        let mut comments: Vec<Node<'t>> = Vec::new();
        let mut next_row = anchor.start_position().row;
        while let Some(p) = before.next_if(|p| p.kind().contains("comment") && last_row(*p) + 1 >= next_row) {
            comments.push(p);
            next_row = p.start_position().row;
        }
        comments.reverse();
        let first = *comments.first()?;
        let last = *comments.last()?;
        let start_row = first.start_position().row;
        let end_row = last_row(last);
        if end_row < start_row + 2 || !self.blank(last.end_byte().min(self.line_end(end_row))..self.line_end(end_row)) {
            return None;
        }
        let text = self.text(first);
        let indent = leading_ws(&self.input[self.line_start(start_row)..]).to_string();
        let (keep_row, lead) = if comments.len() == 1 && text.starts_with("/*") {
            // block comment: keep through its first line with words, close it on the marker line
            let opening = text.lines().next().unwrap_or_default().trim_start_matches(['/', '*', '!']).trim();
            let keep_row = if opening.is_empty() { start_row + 1 } else { start_row };
            if !text.trim_end().ends_with("*/") {
                return None;
            }
            (keep_row, format!("{indent} */  {}", self.lang.comment()))
        } else {
            // line comments: keep the first, write the marker with the same prefix
            if comments.iter().any(|c| c.start_position().row != last_row(*c)) {
                return None;
            }
            let prefix: String = text.chars().take_while(|c| *c == '/' || *c == '#' || *c == '!').collect();
            (start_row, format!("{indent}{prefix}"))
        };
        if keep_row >= end_row {
            return None;
        }
        let bytes = self.line_start(keep_row + 1)..self.line_end(end_row);
        if !worth_a_marker(&self.input[bytes.clone()], self.tokenizer) {
            return None;
        }
        let lines = end_row - keep_row;
        let name = self.name_of(f, d.own_parent);
        Some(Cut {
            bytes,
            lines,
            lead,
            phrase: format!(
                "{} of the doc comment of {} omitted",
                Unit::Lines.count(lines),
                display_name_of(f.kind(), &name)
            ),
            unit_reason: "doc comment beyond its first line (docstring_mode = first_line)",
        })
    }

    fn cut_function(&self, f: &Func<'a, 't>, limit: usize) -> Vec<Cut> {
        let mut cuts = Vec::new();
        let stmts = &f.stmts;
        let rows = |n: &Node| n.end_position().row - n.start_position().row + 1;
        let mut used = 0;
        let mut k = 0;
        if let Some(doc) = self.docstring_cut(stmts[0], &f.name) {
            used = stmts[0].end_position().row - stmts[0].start_position().row + 1 - doc.lines;
            k = 1;
            cuts.push(doc);
        }
        // Whole statements while they fit; at least one that is not a comment.
        let mut kept_code = k > 0;
        while k < stmts.len() {
            let r = rows(&stmts[k]);
            let comment = stmts[k].kind().contains("comment");
            if kept_code && used + r > limit {
                break;
            }
            used += r;
            kept_code |= !comment;
            k += 1;
        }
        // The cut must start on a line of its own, and never right after an attribute, decorator
        // or annotation: those go with their item (`#[cold]` left before a cut item is an error
        // to rustc although tree-sitter accepts it), so the item is kept too.
        loop {
            while k < stmts.len() && stmts[k].start_position().row <= stmts[k - 1].end_position().row {
                k += 1;
            }
            let after_attribute =
                stmts[..k].iter().rev().find(|n| !n.kind().contains("comment")).is_some_and(is_attribute);
            if k < stmts.len() && after_attribute {
                k += 1;
                continue;
            }
            break;
        }
        if k >= stmts.len() {
            return cuts;
        }
        let first = stmts[k];
        let last = stmts[stmts.len() - 1];
        let start = self.line_start(first.start_position().row);
        let end_row = last.end_position().row;
        if !self.blank(start..first.start_byte()) || !self.blank(last.end_byte()..self.line_end(end_row)) {
            return cuts;
        }
        let bytes = start..self.line_end(end_row);
        let lines = end_row - first.start_position().row + 1;
        let calls = self.calls_in(bytes.clone(), &f.calls);
        let calls = if calls.is_empty() { String::new() } else { format!("; calls: {}", name_list(&calls, 5)) };
        let body = Cut {
            lead: format!("{}{}", leading_ws(&self.input[start..]), self.lang.comment()),
            phrase: format!("{} of {} omitted{calls}", Unit::Lines.count(lines), display_name(&f.name)),
            bytes,
            lines,
            unit_reason: if f.public {
                "function body beyond its share of the line budget (target_compression_rate, max_body_lines)"
            } else {
                "body of a less-referenced, non-public function beyond its share of the line budget"
            },
        };
        // A docstring tail right before the cut body goes under the same marker.
        match cuts.pop() {
            Some(doc) if doc.bytes.end == body.bytes.start => cuts.push(Cut {
                bytes: doc.bytes.start..body.bytes.end,
                lines: doc.lines + body.lines,
                lead: doc.lead,
                phrase: format!(
                    "{} of {} omitted (docstring after its first line, then the body){calls}",
                    Unit::Lines.count(doc.lines + body.lines),
                    display_name(&f.name)
                ),
                unit_reason: body.unit_reason,
            }),
            Some(doc) => cuts.extend([doc, body]),
            None => cuts.push(body),
        }
        cuts.retain(|c| worth_a_marker(&self.input[c.bytes.clone()], self.tokenizer));
        cuts
    }
}

/// A function passed as an argument (`items.map(() => …)`, `go func() {…}()` is not one).
/// `parent` is the function's parent node.
pub fn is_callback(f: Node, parent: Option<&Node>) -> bool {
    f.child_by_field_name("name").is_none() && parent.is_some_and(|p| matches!(p.kind(), "arguments" | "argument_list"))
}

/// Whether a nameless function is named by what it is assigned to (`const f = () => …`,
/// `exports.f = function …`, `{ f: function … }`).
/// `parent` is the function's parent node.
pub fn named_by_parent(parent: Option<&Node>) -> bool {
    parent.is_some_and(|p| matches!(p.kind(), "variable_declarator" | "assignment_expression" | "pair"))
}

/// Declaration kinds that define a type (as opposed to a field, a constant or a variable).
pub fn is_type_definition(kind: &str) -> bool {
    matches!(
        kind,
        "class_definition"
            | "class_declaration"
            | "abstract_class_declaration"
            | "interface_declaration"
            | "struct_item"
            | "enum_item"
            | "trait_item"
            | "impl_item"
            | "enum_declaration"
            | "class_specifier"
            | "struct_specifier"
    )
}

fn is_attribute(n: &Node) -> bool {
    matches!(n.kind(), "attribute_item" | "inner_attribute_item" | "decorator" | "annotation" | "marker_annotation")
}

/// The last row a node's text is on (a line comment may end at column 0 of the next row).
fn last_row(n: Node) -> usize {
    let end = n.end_position();
    if end.column == 0 && end.row > n.start_position().row { end.row - 1 } else { end.row }
}

fn display_name_of(kind: &str, name: &str) -> String {
    if kind.contains("function") || kind.contains("method") || kind.contains("constructor") {
        display_name(name)
    } else if name.is_empty() {
        "a declaration".to_string()
    } else {
        format!("`{name}`")
    }
}

fn display_name(name: &str) -> String {
    if name.is_empty() { "an anonymous function".to_string() } else { format!("{name}()") }
}

fn leading_ws(s: &str) -> &str {
    let end = s.find(|c: char| c != ' ' && c != '\t').unwrap_or(s.len());
    &s[..end]
}

/// The string of a Python docstring statement.
fn docstring(stmt: Node) -> Option<Node> {
    if stmt.kind() != "expression_statement" || stmt.named_child_count() != 1 {
        return None;
    }
    let s = stmt.named_child(0)?;
    (s.kind() == "string").then_some(s)
}

/// Where a cut was in the input and where its marker is in the output.
type Span = (Range<usize>, Range<usize>);

/// Writes the input with each cut replaced by a marker comment line; returns the output, the
/// ledger, how many function bodies were cut, and each cut's span in the input and the output.
fn render(input: &str, cuts: &[Cut]) -> (String, crate::ledger::Ledger, usize, Vec<Span>) {
    let mut ledger = LedgerBuilder::new(input);
    let mut out = String::with_capacity(input.len() / 2);
    let mut cursor = 0;
    let mut bodies = 0;
    let mut spans = Vec::with_capacity(cuts.len());
    for c in cuts {
        out.push_str(&input[cursor..c.bytes.start]);
        let out_start = out.len();
        let group = ledger.group();
        ledger.drop_span(c.bytes.clone(), None, Unit::Lines, c.lines, c.unit_reason);
        let marker = ledger.marker(group, c.phrase.clone(), PayloadShape::Concat);
        out.push_str(&format!("{} {marker}", c.lead));
        if input[..c.bytes.end].ends_with(['\n', '\r']) {
            out.push('\n');
        }
        if c.unit_reason.contains("body") {
            bodies += 1;
        }
        spans.push((c.bytes.clone(), out_start..out.len()));
        cursor = c.bytes.end;
    }
    out.push_str(&input[cursor..]);
    (out, ledger.finish(), bodies, spans)
}

/// The tree-sitter edits that turn the input into the output, in order: each cut's span and the
/// marker that replaced it. Applied last to first, each edit's positions are the input's own.
fn tree_edits(input: &str, output: &str, spans: &[Span]) -> Vec<tree_sitter::InputEdit> {
    use tree_sitter::{InputEdit, Point};
    // the point of byte `at` of `text`, walking forward from the last one asked for
    struct Walk<'a> {
        text: &'a [u8],
        at: usize,
        row: usize,
        line_start: usize,
    }
    impl Walk<'_> {
        fn point(&mut self, to: usize) -> Point {
            for nl in memchr::memchr_iter(b'\n', &self.text[self.at..to]) {
                self.row += 1;
                self.line_start = self.at + nl + 1;
            }
            self.at = to;
            Point { row: self.row, column: to - self.line_start }
        }
    }
    let mut walk = Walk { text: input.as_bytes(), at: 0, row: 0, line_start: 0 };
    spans
        .iter()
        .map(|(old, new)| {
            let start_position = walk.point(old.start);
            let old_end_position = walk.point(old.end);
            let marker = &output.as_bytes()[new.clone()];
            let rows = memchr::memchr_iter(b'\n', marker).count();
            let new_end_position = match memchr::memrchr(b'\n', marker) {
                Some(last) => Point { row: start_position.row + rows, column: marker.len() - last - 1 },
                None => Point { row: start_position.row, column: start_position.column + marker.len() },
            };
            InputEdit {
                start_byte: old.start,
                old_end_byte: old.end,
                new_end_byte: old.start + marker.len(),
                start_position,
                old_end_position,
                new_end_position,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_even_and_start_at_definitions() {
        // a module docstring with a paragraph at column 0 after a blank line, then functions
        let unit = "\"\"\"Doc.\n\nA paragraph at column 0.\n\"\"\"\n\ndef f(x):\n    return x\n\n";
        let input = unit.repeat(10_000);
        let size = 50_000;
        let parts = top_level_parts(&input, size);
        assert_eq!(parts.len(), input.len() / size, "one part per `size` bytes");
        assert_eq!(parts.first().map(|p| p.start), Some(0));
        assert_eq!(parts.last().map(|p| p.end), Some(input.len()));
        assert!(parts.windows(2).all(|w| w[0].end == w[1].start), "the parts tile the input");
        let even = input.len() / parts.len();
        assert!(parts.iter().all(|p| p.len() < even + unit.len() * 2), "even parts: {parts:?}");
        for p in &parts[1..] {
            assert!(input[p.start..].starts_with("def "), "a part starts at a definition, not in a docstring");
        }
        // under twice the size: one part
        assert_eq!(top_level_parts(&input[..2 * size - 1], size).len(), 1);
    }

    fn run(src: &str, path: &str) -> Result<Compressed, Skip> {
        let ctx = Context { path: Some(path.to_string()), ..Context::default() };
        let p = CodeParams { min_tokens_for_compression: 0, ..CodeParams::default() };
        CodeEngine::compress(src, &p, &ctx)
    }

    #[test]
    fn halves_parsed_at_once_are_cut_as_the_whole_text_is() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/code");
        let (p, ctx) = (CodeParams::default(), Context::default());
        let mut split = 0;
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        for path in files {
            let input = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some((lang, _)) = lang::detect(&input, Some(&name)) else { continue };
            split += usize::from(Syntax::parse(lang, &input, true).is_some_and(|s| s.split.is_some()));
            let run = |halves| compress_part(&input, &input, false, lang, String::new(), &p, &ctx, halves, false);
            match (run(false), run(true)) {
                (Ok(whole), Ok(halves)) => {
                    assert_eq!(whole.output, halves.output, "{name}");
                    assert_eq!(whole.ledger, halves.ledger, "{name}");
                    assert_eq!(whole.strategy, halves.strategy, "{name}");
                }
                (whole, halves) => assert_eq!(whole.err(), halves.err(), "{name}"),
            }
        }
        // most fixtures split cleanly (one whose halves would not parse alone is parsed whole)
        assert!(split >= 10, "{split} fixtures parsed in halves");
    }

    #[test]
    fn compressing_output_again_keeps_the_earlier_markers() {
        let src = std::fs::read_to_string("fixtures/code/requests-sessions.py").unwrap();
        let with = |max_body_lines: usize| CodeParams { max_body_lines, ..CodeParams::default() };
        let ctx = Context { path: Some("sessions.py".into()), ..Context::default() };
        let first = CodeEngine::compress(&src, &with(12), &ctx).unwrap();
        let markers: Vec<&str> = crate::ledger::MARKER_RE.find_iter(&first.output).map(|m| m.as_str()).collect();
        assert!(markers.len() > 10);
        // with a smaller body limit nothing that holds a marker is cut again
        let again = CodeEngine::compress(&first.output, &with(2), &ctx).unwrap_err();
        assert!(
            matches!(&again, Skip::NothingToDrop { detail } if detail.contains("would hide a marker")),
            "{again:?}"
        );
        // a new long function beside them is cut; the earlier markers all stay
        let body: String = (0..30).map(|i| format!("    v{i} = helper(x, {i})\n")).collect();
        let more = format!("{}\n\ndef fresh(x):\n{body}    return x\n", first.output);
        let second = CodeEngine::compress(&more, &with(2), &ctx).unwrap();
        for m in &markers {
            assert!(second.output.contains(m), "{m} hidden");
        }
        assert!(second.output.contains("lines of fresh() omitted"), "{}", second.output);
        assert!(second.ledger.drops.iter().all(|d| !crate::ledger::holds_marker(&more[d.span.bytes.clone()])));
        assert!(second.notes.iter().any(|n| n.contains("would hide a marker")), "{:?}", second.notes);
    }

    #[test]
    fn python_body_cut_with_docstring_and_marker() {
        let src = "import os\n\n@decorator\ndef load(path):\n    \"\"\"Load a file.\n\n    Longer text\n    here.\n    \"\"\"\n    a = 1\n    b = helper(a)\n    c = os.path.join(path, 'x')\n    d = open(c)\n    e = d.read()\n    f = e.strip()\n    return f\n";
        let c = run(src, "m.py").unwrap();
        assert!(
            c.output.contains("@decorator\ndef load(path):\n    \"\"\"Load a file.\n    \"\"\"  # [ctxlens: 11 lines of load() omitted (docstring after its first line, then the body); calls: "),
            "{}",
            c.output
        );
        assert_eq!(c.ledger.drops.len(), 1);
        let tree = lang::parse(Lang::Python, &c.output).unwrap();
        assert_eq!(lang::error_count(tree.root_node()), 0);
    }

    #[test]
    fn rust_uses_slash_comments_and_keeps_source_order() {
        let mut src = String::from("use std::fmt;\n\n/// Doc.\npub fn first<T: fmt::Debug>(x: T) -> String {\n");
        for i in 0..12 {
            src.push_str(&format!("    let v{i} = format!(\"{{:?}}\", x);\n"));
        }
        src.push_str("    v0\n}\n\nstruct Later;\n\nfn ünïcode() -> u8 {\n");
        for i in 0..10 {
            src.push_str(&format!("    let _a{i} = {i};\n"));
        }
        src.push_str("    0\n}\n");
        let c = run(&src, "lib.rs").unwrap();
        assert!(c.output.contains("    // [ctxlens: "), "{}", c.output);
        assert!(!c.output.contains("# [ctxlens"));
        let first = c.output.find("pub fn first").unwrap();
        let later = c.output.find("struct Later").unwrap();
        let uni = c.output.find("fn ünïcode").unwrap();
        assert!(first < later && later < uni);
        assert!(c.output.contains("format!"), "the first statement stays");
    }

    #[test]
    fn the_output_parsed_from_the_edited_input_tree_is_the_output_parsed_afresh() {
        for f in ["requests-sessions.py", "serde_json-value-mod.rs", "express-router.js", "pkg-errors.go"] {
            let input = std::fs::read_to_string(format!("{}/fixtures/code/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            let lang = lang::detect(&input, Some(f)).unwrap().0;
            let mut tree = lang::parse(lang, &input).unwrap();
            // every third line run of five lines cut, wherever it falls (mid-statement too)
            let starts: Vec<usize> = std::iter::once(0).chain(input.match_indices('\n').map(|(i, _)| i + 1)).collect();
            let cuts: Vec<Cut> = starts
                .chunks(15)
                .filter(|c| c.len() == 15)
                .map(|c| (c[5], c[10]))
                .map(|(a, b)| Cut {
                    bytes: a..b,
                    lines: 5,
                    lead: "    #".into(),
                    phrase: "5 lines".into(),
                    unit_reason: "body cut",
                })
                .collect();
            let (output, _, _, spans) = render(&input, &cuts);
            for e in tree_edits(&input, &output, &spans).iter().rev() {
                tree.edit(e);
            }
            let incremental = lang::reparse(lang, &output, &tree).unwrap();
            let fresh = lang::parse(lang, &output).unwrap();
            assert_eq!(incremental.root_node().to_sexp(), fresh.root_node().to_sexp(), "{f}");
        }
    }

    #[test]
    fn wrappers_are_not_emitted_twice() {
        let mut src = String::from("function debounce(func, wait) {\n  let timer;\n");
        for name in ["leading", "trailing", "flush"] {
            src.push_str(&format!("  function {name}(time) {{\n"));
            for i in 0..8 {
                src.push_str(&format!("    timer = setTimeout(func, wait + {i});\n"));
            }
            src.push_str("    return time;\n  }\n");
        }
        src.push_str("  return leading;\n}\n");
        let c = run(&src, "debounce.js").unwrap();
        assert_eq!(c.output.matches("function leading").count(), 1);
        assert_eq!(c.output.matches("function debounce").count(), 1);
        assert_eq!(c.ledger.markers.len(), 3, "{}", c.output);
        assert!(c.output.contains("return leading;"));
    }
}
