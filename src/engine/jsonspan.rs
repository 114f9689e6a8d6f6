//! A non-recursive JSON scanner that records where every value is in the source text.
//!
//! serde_json gives the values; this gives their byte spans, so the JSON engine's ledger can say
//! exactly which bytes a dropped row or key occupied. It never recurses, so 100,000-deep input
//! cannot overflow the stack, and it can stop after a prefix, which is how the router checks that
//! a text really starts like JSON without parsing all of it.

use std::ops::Range;

/// What kind of value a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Object,
    Array,
    Scalar,
}

const NONE: u32 = u32::MAX;

/// One value in the source: 24 bytes (offsets are u32, and [`scan`] refuses text of 4 GiB or
/// more), so the tree of a million small numbers stays a few times their text.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    /// A lean array or object (see [`scan_lean`]): none of its items or members is in the tree.
    pub lean: bool,
    start: u32,
    end: u32,
    /// For object members: where the member's key string starts ([`NONE`] otherwise).
    key_start: u32,
    first_child: u32,
    next_sibling: u32,
}

impl Node {
    /// Byte range of the value.
    pub fn span(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn start(&self) -> usize {
        self.start as usize
    }

    pub fn end(&self) -> usize {
        self.end as usize
    }

    /// For object members: where the member's key string starts.
    pub fn key_start(&self) -> Option<usize> {
        (self.key_start != NONE).then_some(self.key_start as usize)
    }

    /// Byte range of the member (`"key": value`) for object members, of the value otherwise.
    pub fn member_span(&self) -> Range<usize> {
        self.key_start.min(self.start) as usize..self.end as usize
    }
}

/// The spans of one JSON document (or of a JSON Lines stream, whose values become the children
/// of a synthetic root array).
#[derive(Debug, Clone)]
pub struct SpanTree {
    nodes: Vec<Node>,
    /// Where each lean array or object starts, in source order.
    leans: Vec<u32>,
    /// How many items (members) each lean array (object) with a node has, by node (in node
    /// order): counted by the scan, so the JSON engine holds their starts at their size from one
    /// reading of the text.
    lean_counts: Vec<(u32, u32)>,
    /// The root is a JSON Lines stream: it spans the text, with no brackets.
    lines: bool,
}

/// Where a scan failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub offset: usize,
    pub message: &'static str,
}

impl SpanTree {
    pub fn root(&self) -> usize {
        0
    }

    pub fn node(&self, id: usize) -> &Node {
        &self.nodes[id]
    }

    /// The children of a container, in source order.
    pub fn children(&self, id: usize) -> impl Iterator<Item = usize> + '_ {
        let mut next = self.nodes[id].first_child;
        std::iter::from_fn(move || {
            if next == NONE {
                return None;
            }
            let cur = next as usize;
            next = self.nodes[cur].next_sibling;
            Some(cur)
        })
    }

    pub fn child_count(&self, id: usize) -> usize {
        self.children(id).count()
    }

    /// How many items lean array `id` (members, lean object `id`) has, as the scan counted them.
    pub fn lean_count(&self, id: usize) -> Option<usize> {
        let at = self.lean_counts.binary_search_by_key(&(id as u32), |(node, _)| *node).ok()?;
        Some(self.lean_counts[at].1 as usize)
    }

    /// The spans of a lean array's items in order (see [`scan_lean`]), read from `text` where
    /// they are: the values a lean parse does not hold. None for any other array.
    pub fn lean_items<'t>(&'t self, id: usize, text: &'t str) -> impl Iterator<Item = Range<usize>> + 't {
        let node = &self.nodes[id];
        let (mut pos, to) = match node.lean && node.kind == NodeKind::Array {
            true if self.lines && id == 0 => (node.start(), node.end()),
            true => (node.start() + 1, node.end() - 1),
            false => (0, 0),
        };
        let b = text.as_bytes();
        std::iter::from_fn(move || next_value(b, &mut pos, to))
    }

    /// The spans of a lean object's members in order (see [`scan_lean`]), each as its key's
    /// literal and its value's, read from `text` where they are. None for any other object.
    pub fn lean_members<'t>(
        &'t self,
        id: usize,
        text: &'t str,
    ) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + 't {
        let node = &self.nodes[id];
        let (mut pos, to) = match node.lean && node.kind == NodeKind::Object {
            true => (node.start() + 1, node.end() - 1),
            false => (0, 0),
        };
        let b = text.as_bytes();
        std::iter::from_fn(move || {
            let key = next_value(b, &mut pos, to)?;
            // past the colon
            pos = past_ws(b, pos) + 1;
            Some((key, next_value(b, &mut pos, to)?))
        })
    }

    /// Whether a lean array or object (see [`scan_lean`]) is in `span`: a value there lacks, in a
    /// lean parse, items or members its text has.
    pub fn holds_lean(&self, span: Range<usize>) -> bool {
        let first = self.leans.partition_point(|&at| (at as usize) < span.start);
        self.leans.get(first).is_some_and(|&at| (at as usize) < span.end)
    }

    /// How many object members the source has (a parser that collapses duplicate keys ends up
    /// with fewer).
    pub fn member_count(&self) -> usize {
        self.nodes.iter().filter(|n| n.key_start != NONE).count()
    }

    /// A member's key, decoded, and where it is written.
    fn key(&self, id: usize, text: &str) -> Option<(String, usize)> {
        let at = self.nodes[id].key_start().filter(|&at| at < text.len())?;
        let len = value_end(&text[at..])?;
        Some((serde_json::from_str::<String>(&text[at..at + len]).ok()?, at))
    }

    /// Where a member whose key is `key` (decoded) is first written.
    pub fn find_key(&self, text: &str, key: &str) -> Option<usize> {
        (0..self.nodes.len()).filter_map(|id| self.key(id, text)).find(|(k, _)| k == key).map(|(_, at)| at)
    }

    /// The first object key that appears twice in one object, decoded, with the byte offset of
    /// its second occurrence.
    pub fn first_duplicate_key(&self, text: &str) -> Option<(String, usize)> {
        self.duplicate_keys(text).next()
    }

    /// Every key written again in its object, with the byte offset of the repeat, in the text's
    /// order object by object.
    pub fn duplicate_keys<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (String, usize)> + 'a {
        self.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Object).flat_map(move |(id, _)| {
            let mut seen = std::collections::HashSet::new();
            self.children(id).filter_map(|c| self.key(c, text)).filter(move |(k, _)| !seen.insert(k.clone()))
        })
    }
}

/// From this many items up, an array is lean: the JSON engine's parse keeps none of its items as
/// values, and [`scan_lean`] puts none in the tree (a node is 24 bytes; a small number's text, a
/// few; a parsed `{"a":1}` took about 450 bytes). Its items are read from the text when needed.
pub const LEAN_ITEMS: usize = 1024;

/// An array in no array whose first this many items take more than [`SIZE_LEAN_BYTES`] of text is
/// lean too, when a scan tells a parse beside it (see [`LongArrays`]): its items are large, and
/// 1,000 rows of 20 KB were built whole at 27 times their text.
pub const SIZE_LEAN_ITEMS: usize = 64;

/// See [`SIZE_LEAN_ITEMS`].
pub const SIZE_LEAN_BYTES: usize = 256 * 1024;

/// A small container holds at most this many children, all atoms (scalars and empty containers:
/// `{"id":1,"ok":true}`, `[1,"a"]`). The JSON engine never cuts inside one but for a long string
/// (an object needs 8 keys to be sampled, an array 9 items to be planned), so a kept one goes to
/// the output as its text.
pub const SMALL_ITEMS: usize = 7;

/// Whether the value at the start of `text` is a container with something in it: it opens a
/// bracket that does not close right away.
pub fn has_items(text: &str) -> bool {
    text.starts_with(['[', '{']) && !text[1..].trim_start_matches([' ', '\t', '\n', '\r']).starts_with([']', '}'])
}

/// Whether the valid JSON value at the start of `text` is a small container (see
/// [`SMALL_ITEMS`]).
pub fn small_container(text: &str) -> bool {
    if !has_items(text) {
        return false;
    }
    let b = text.as_bytes();
    let end = item_end(b, 0, b.len());
    let (mut children, mut pos) = (1, 1);
    while pos < end {
        match b[pos] {
            b'"' => {
                pos = item_end(b, pos, end);
                continue;
            }
            b',' => children += 1,
            b'[' | b'{' if has_items(&text[pos..]) => return false,
            _ => {}
        }
        if children > SMALL_ITEMS {
            return false;
        }
        pos += 1;
    }
    true
}

/// Scans a whole document. With `lines`, several top-level values are allowed (JSON Lines) and
/// the root is a synthetic array spanning the text.
pub fn scan(text: &str, lines: bool) -> Result<SpanTree, ScanError> {
    scan_with(text, lines, usize::MAX, None)
}

/// [`scan`] of one document with its long arrays and large objects left out of the tree, as the
/// JSON engine parses them: an array of [`LEAN_ITEMS`] items or more is marked [`Node::lean`] and
/// has none of its items in the tree ([`SpanTree::lean_items`] reads them from the text), and so
/// has an object of [`LEAN_ITEMS`] members or more ([`SpanTree::lean_members`]).
pub fn scan_lean(text: &str) -> Result<SpanTree, ScanError> {
    scan_with(text, false, LEAN_ITEMS, None)
}

/// [`scan_lean`], telling `long` of each array in no array as it turns lean.
pub fn scan_lean_telling(text: &str, long: &LongArrays) -> Result<SpanTree, ScanError> {
    /// Tells the scan stopped however it stops, a panic included: a parse may be waiting.
    struct Stops<'a>(&'a LongArrays);
    impl Drop for Stops<'_> {
        fn drop(&mut self) {
            self.0.done();
        }
    }
    let _stops = Stops(long);
    scan_with(text, false, LEAN_ITEMS, Some(long))
}

/// [`scan_lean`] of the one value at `at` in `text` (offsets are `text`'s): a lean array's item
/// or a lean object's value, scanned when it is kept.
pub fn scan_lean_at(text: &str, at: usize) -> Result<SpanTree, ScanError> {
    let mut s = Scanner::new(text, true);
    s.lean_from = LEAN_ITEMS;
    s.first_only = true;
    s.pos = at;
    s.run(usize::MAX, false)?;
    Ok(s.tree(false))
}

/// [`scan`] of JSON Lines whose stream is lean as an array is (see [`scan_lean`]), for a stream
/// the parse made lean (of [`LEAN_ITEMS`] values or more, or of more than 64 KB): the root has no
/// children. It is lean from its first value on, so the nodes inside the values before the
/// 1,024th are not all made to be let go (eight 5 MB lines among 1,100 made 100 MB of them). The
/// values themselves are whole (no array in them is lean).
pub fn scan_lean_lines(text: &str) -> Result<SpanTree, ScanError> {
    scan_with(text, true, 1, None)
}

fn scan_with(text: &str, lines: bool, lean_from: usize, long: Option<&LongArrays>) -> Result<SpanTree, ScanError> {
    if text.len() >= NONE as usize {
        return Err(ScanError { offset: 0, message: "too large to scan (4 GiB or more)" });
    }
    let mut s = Scanner::new(text, true);
    s.lean_from = lean_from;
    s.long = long;
    if lines {
        s.nodes.push(Node {
            kind: NodeKind::Array,
            lean: false,
            start: 0,
            end: text.len() as u32,
            key_start: NONE,
            first_child: NONE,
            next_sibling: NONE,
        });
        s.stack.push(Frame { state: State::ArrayValue, ..Frame::new(0, true) });
        s.arrays_open = 1;
    }
    s.lean_root_only = lines;
    s.run(usize::MAX, lines)?;
    Ok(s.tree(lines))
}

/// The end offset of the one JSON value at the start of `text` (after leading whitespace), if it
/// is complete and valid; whatever follows it is not looked at.
pub fn value_end(text: &str) -> Option<usize> {
    value_scan(text).ok()
}

/// [`value_end`], or on failure how many bytes were read before the value proved invalid or
/// unclosed (so a caller scanning many starts can bound its total work).
pub fn value_scan(text: &str) -> Result<usize, usize> {
    let mut s = Scanner::new(text, false);
    s.first_only = true;
    match s.run(usize::MAX, false) {
        Ok(_) => Ok(s.pos),
        Err(e) => Err(e.offset.max(s.pos).min(text.len())),
    }
}

/// Whether `text` starts with valid JSON: true when the first `limit` bytes scan without error
/// (the value may continue past the limit), or a whole value ends before it.
pub fn starts_like_json(text: &str, limit: usize) -> Result<(), ScanError> {
    let mut s = Scanner::new(text, false);
    s.run(limit, false).map(|_| ())
}

/// [`starts_like_json`] of a stream of values one after another (JSON Lines, or `jq` output with
/// values over several lines): the first `limit` bytes hold no error.
pub fn starts_like_json_stream(text: &str, limit: usize) -> Result<(), ScanError> {
    let mut s = Scanner::new(text, false);
    s.stack.push(Frame { state: State::ArrayValue, ..Frame::new(NONE, true) });
    s.arrays_open = 1;
    s.run(limit, true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a value or `]` (right after `[`).
    ArrayFirst,
    /// Expecting a value (after `,`).
    ArrayValue,
    /// Expecting `,` or `]`.
    ArrayNext,
    /// Expecting a key or `}` (right after `{`).
    ObjectFirst,
    /// Expecting a key (after `,`).
    ObjectKey,
    /// Expecting `:`.
    ObjectColon,
    /// Expecting a value (after `:`).
    ObjectValue,
    /// Expecting `,` or `}`.
    ObjectNext,
}

struct Frame {
    node: u32,
    last_child: u32,
    state: State,
    array: bool,
    /// Items (members) so far.
    items: usize,
    /// Its items or members are not put in the tree (see [`scan_lean`]).
    lean: bool,
    /// For an array in no array, its place among those in the text (see [`LongArrays`]).
    chain: u32,
    /// The text ahead was read for whether it holds enough items to make the array long, once
    /// its items made many nodes (see [`Scanner::item_done`]).
    peeked: bool,
    /// The same, for [`SIZE_LEAN_ITEMS`] items once its text passed [`SIZE_LEAN_BYTES`].
    sized: bool,
}

impl Frame {
    fn new(node: u32, array: bool) -> Frame {
        let state = if array { State::ArrayFirst } else { State::ObjectFirst };
        Frame { node, last_child: NONE, state, array, items: 0, lean: false, chain: NONE, peeked: false, sized: false }
    }
}

/// The arrays a lean scan found long, told as it finds them to a parse of the same text running
/// beside it, so the parse stops building their items early (see `json::parse_beside`): it
/// would build 1,024 of them only to let them go. An array is named by its place among the
/// arrays that are in no array (`[…]` at the root, `{"packages": […]}`), which the scan and the
/// parse meet in the same order; the others are not told. The scan also tells how many of them
/// it has passed the end of, and when it stops: a parse can wait to know (see [`LongArrays::wait`]).
#[derive(Debug, Default)]
pub struct LongArrays {
    told: std::sync::Mutex<Told>,
    changed: std::sync::Condvar,
}

#[derive(Debug, Default)]
struct Told {
    /// The long ones, in text order.
    long: Vec<u32>,
    /// How many the scan has passed the end of (they end in the order they start: none is in
    /// another).
    passed: u32,
    /// How many it has passed the [`SIZE_LEAN_ITEMS`]th item of, or the end of.
    checked: u32,
    /// The scan stopped, at the end or at an error.
    done: bool,
}

impl LongArrays {
    fn tell(&self, f: impl FnOnce(&mut Told)) {
        if let Ok(mut t) = self.told.lock() {
            f(&mut t);
        }
        self.changed.notify_all();
    }

    /// Found in text order, so the list stays sorted.
    fn found(&self, chain: u32) {
        self.tell(|t| t.long.push(chain));
    }

    fn passed(&self, chain: u32) {
        self.tell(|t| t.passed = t.passed.max(chain + 1));
    }

    fn checked(&self, chain: u32) {
        self.tell(|t| t.checked = t.checked.max(chain + 1));
    }

    fn done(&self) {
        self.tell(|t| t.done = true);
    }

    /// Whether the array at place `chain` was found long yet.
    pub fn has(&self, chain: u32) -> bool {
        self.told.lock().is_ok_and(|t| t.long.binary_search(&chain).is_ok())
    }

    /// Whether the array at place `chain` is lean, waiting until the scan has found it so, passed
    /// its end, or stopped (then it is not known lean); with `checked`, only until the scan has
    /// passed its [`SIZE_LEAN_ITEMS`]th item.
    pub fn wait(&self, chain: u32, checked: bool) -> bool {
        let Ok(mut t) = self.told.lock() else { return false };
        loop {
            let long = t.long.binary_search(&chain).is_ok();
            if long || t.passed > chain || t.done || checked && t.checked > chain {
                return long;
            }
            t = match self.changed.wait(t) {
                Ok(t) => t,
                Err(_) => return false,
            };
        }
    }
}

/// The next value of a lean container's text from `b[*pos]` on, before `to`, past the
/// whitespace and commas between values; `*pos` moves past it.
fn next_value(b: &[u8], pos: &mut usize, to: usize) -> Option<Range<usize>> {
    while *pos < to && matches!(b[*pos], b' ' | b'\t' | b'\n' | b'\r' | b',') {
        *pos += 1;
    }
    if *pos >= to {
        return None;
    }
    let start = *pos;
    *pos = item_end(b, start, to);
    Some(start..*pos)
}

/// Where the JSON whitespace from `b[pos]` on ends.
pub fn past_ws(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && matches!(b[pos], b' ' | b'\t' | b'\n' | b'\r') {
        pos += 1;
    }
    pos
}

/// Nodes an array's items make before the scan looks ahead for whether it is long (see
/// [`Scanner::item_done`]).
const PEEK_AFTER_NODES: usize = 1 << 16;

/// Whether an array has `n` items or more after the one that ends at `b[pos]`, read from the text
/// without a tree. The text there is not scanned yet: on valid JSON the count is exact; on
/// invalid JSON it is some answer, and the scan that goes on fails there.
fn has_items_ahead(b: &[u8], mut pos: usize, n: usize) -> bool {
    let mut count = 0;
    loop {
        pos = past_ws(b, pos);
        if b.get(pos) != Some(&b',') {
            return n == 0;
        }
        pos = past_ws(b, pos + 1);
        if pos >= b.len() {
            return false;
        }
        count += 1;
        if count >= n {
            return true;
        }
        pos = item_end(b, pos, b.len());
    }
}

/// Where the value before the one at `b[next]` ends, in a run of values with whitespace and a
/// comma (or whitespace alone, in JSON Lines) between them: no value ends in either.
pub fn end_before(b: &[u8], next: usize) -> usize {
    let mut end = next;
    while end > 0 && matches!(b[end - 1], b' ' | b'\t' | b'\n' | b'\r' | b',') {
        end -= 1;
    }
    end
}

/// Where the value (a lean array's item, valid JSON, already scanned) that starts at `b[start]`
/// ends, read no further than `to`: a string after its closing quote, a container after its
/// closing bracket, any other literal at the whitespace, comma or bracket after it.
pub fn item_end(b: &[u8], start: usize, to: usize) -> usize {
    let mut pos = start;
    match b.get(pos) {
        Some(b'"') => {
            // from one quote or backslash to the next (twice as fast as byte by byte on short
            // strings, and planners read a lean array's strings several times each)
            pos += 1;
            let to = to.min(b.len());
            while pos < to {
                match memchr::memchr2(b'"', b'\\', &b[pos..to]) {
                    Some(k) if b[pos + k] == b'"' => return pos + k + 1,
                    Some(k) => pos += k + 2,
                    None => return to,
                }
            }
            to
        }
        Some(b'[' | b'{') => {
            // to its closing bracket, past the brackets inside its strings
            let mut depth = 0usize;
            while pos < to {
                match b[pos] {
                    b'"' => {
                        pos = item_end(b, pos, to);
                        continue;
                    }
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return pos + 1;
                        }
                    }
                    _ => {}
                }
                pos += 1;
            }
            to
        }
        _ => {
            while pos < to && !matches!(b[pos], b' ' | b'\t' | b'\n' | b'\r' | b',' | b']' | b'}') {
                pos += 1;
            }
            pos
        }
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    build: bool,
    nodes: Vec<Node>,
    stack: Vec<Frame>,
    pending_key: u32,
    /// Stop as soon as the first top-level value is complete.
    first_only: bool,
    /// A whole top-level value has been read.
    top_done: bool,
    /// Arrays that reach this many scalar items are lean.
    lean_from: usize,
    /// Only the root (a JSON Lines stream) may be lean.
    lean_root_only: bool,
    /// Told of each array in no array that turns lean.
    long: Option<&'a LongArrays>,
    /// Arrays in no array opened so far, and arrays open now.
    chains: u32,
    arrays_open: u32,
    /// See [`SpanTree::lean_counts`].
    lean_counts: Vec<(u32, u32)>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, build: bool) -> Self {
        Scanner {
            b: text.as_bytes(),
            pos: 0,
            build,
            nodes: Vec::new(),
            stack: Vec::new(),
            pending_key: NONE,
            first_only: false,
            top_done: false,
            lean_from: usize::MAX,
            lean_root_only: false,
            long: None,
            chains: 0,
            arrays_open: 0,
            lean_counts: Vec::new(),
        }
    }

    /// The tree built.
    fn tree(mut self, lines: bool) -> SpanTree {
        // the vector doubled as it grew: give back up to half of it
        self.nodes.shrink_to_fit();
        let leans = self.nodes.iter().filter(|n| n.lean).map(|n| n.start).collect();
        self.lean_counts.sort_unstable_by_key(|(node, _)| *node);
        SpanTree { nodes: self.nodes, leans, lean_counts: self.lean_counts, lines }
    }

    fn err<T>(&self, message: &'static str) -> Result<T, ScanError> {
        Err(ScanError { offset: self.pos, message })
    }

    fn skip_ws(&mut self) {
        self.pos = past_ws(self.b, self.pos);
    }

    /// Adds a node as the next child of the current container (none for a lean array's item, a
    /// lean object's member or anything in one: a container without a node, when a tree is
    /// built).
    fn open(&mut self, kind: NodeKind, start: usize) -> u32 {
        if !self.build {
            return NONE;
        }
        if let Some(f) = self.stack.last_mut() {
            if f.node == NONE {
                self.pending_key = NONE;
                return NONE;
            }
            f.items += 1;
            if f.lean {
                self.pending_key = NONE;
                return NONE;
            }
        }
        let id = self.nodes.len() as u32;
        let key_start = std::mem::replace(&mut self.pending_key, NONE);
        // `scan` refused text past u32, so every offset fits
        let start = start as u32;
        self.nodes.push(Node {
            kind,
            lean: false,
            start,
            end: start,
            key_start,
            first_child: NONE,
            next_sibling: NONE,
        });
        self.link(id);
        // a scalar is a whole item; a container is one when it closes (see `end_container`)
        if kind == NodeKind::Scalar && self.item_done(false) {
            return NONE;
        }
        id
    }

    /// The item (member) just read of the array (object) on top of the stack is whole. The array
    /// turns lean at its [`LEAN_ITEMS`]th item (true is returned: the item's nodes went with the
    /// others), or as soon as its items made [`PEEK_AFTER_NODES`] nodes and the text ahead holds the rest
    /// (`after`: the item ended at `pos`): 1,100 rows of 17 KB made 100 MB of nodes before the
    /// 1,024th. A long array's tree is the same whenever it turns. An object turns lean at its
    /// [`LEAN_ITEMS`]th member: a map of 300,000 keys was built whole at 25 times its text.
    fn item_done(&mut self, after: bool) -> bool {
        let lean_from = if self.lean_root_only && self.stack.len() > 1 { usize::MAX } else { self.lean_from };
        let nodes = self.nodes.len();
        let Some(f) = self.stack.last_mut().filter(|f| !f.lean) else { return false };
        let mut long_ahead = false;
        if after && f.array && !f.peeked && lean_from != usize::MAX && nodes - f.node as usize > PEEK_AFTER_NODES {
            f.peeked = true;
            long_ahead = has_items_ahead(self.b, self.pos, lean_from.saturating_sub(f.items));
        }
        // an array in no array, with a parse beside waiting to know: lean when its first items are
        // large, decided at its SIZE_LEAN_ITEMSth item, or as soon as its text is large and the
        // text ahead holds the rest of those items (64 rows of 100 KB made 50 MB of nodes)
        let mut large = false;
        if let Some(long) = self.long.filter(|_| f.chain != NONE) {
            let bytes = self.pos - self.nodes[f.node as usize].start as usize;
            if f.items == SIZE_LEAN_ITEMS {
                large = bytes > SIZE_LEAN_BYTES;
                if !large {
                    long.checked(f.chain);
                }
            } else if after && !f.sized && f.items < SIZE_LEAN_ITEMS && bytes > SIZE_LEAN_BYTES {
                f.sized = true;
                large = has_items_ahead(self.b, self.pos, SIZE_LEAN_ITEMS - f.items);
            }
        }
        if !(f.items == lean_from || long_ahead || large) {
            return false;
        }
        // its items (members) so far are the nodes right after its own: they go, and so do the
        // counts of lean containers among them
        let array = f.node as usize;
        self.lean_counts.retain(|(node, _)| *node as usize <= array);
        let Some(f) = self.stack.last_mut() else { return false };
        f.lean = true;
        if let Some(long) = self.long.filter(|_| f.chain != NONE) {
            long.found(f.chain);
        }
        f.last_child = NONE;
        self.nodes.truncate(array + 1);
        self.nodes[array].lean = true;
        self.nodes[array].first_child = NONE;
        true
    }

    /// A closed lean array's item count goes to the tree (see [`SpanTree::lean_counts`]).
    fn keep_count(&mut self, f: &Frame) {
        if self.build && f.lean && f.node != NONE {
            self.lean_counts.push((f.node, f.items as u32));
        }
    }

    /// Makes `id` the next child of the current container.
    fn link(&mut self, id: u32) {
        if let Some(f) = self.stack.last_mut() {
            if f.last_child == NONE {
                self.nodes[f.node as usize].first_child = id;
            } else {
                self.nodes[f.last_child as usize].next_sibling = id;
            }
            f.last_child = id;
        }
    }

    fn close(&mut self, id: u32, end: usize) {
        if self.build && id != NONE {
            self.nodes[id as usize].end = end as u32;
        }
    }

    fn run(&mut self, limit: usize, multi: bool) -> Result<(), ScanError> {
        loop {
            if self.top_done && self.first_only {
                return Ok(());
            }
            self.skip_ws();
            if self.pos >= limit && !self.stack.is_empty() {
                return Ok(());
            }
            if self.pos >= self.b.len() {
                if !(self.stack.is_empty() || multi && self.stack.len() == 1) {
                    return self.err("unexpected end of input inside a value");
                }
                if !self.top_done && !multi {
                    return self.err("no JSON value");
                }
                if multi && let Some(root) = self.stack.pop() {
                    self.keep_count(&root);
                }
                return Ok(());
            }
            let c = self.b[self.pos];
            let state = self.stack.last().map(|f| f.state);
            match state {
                None => {
                    if self.top_done {
                        return self.err("trailing characters after the JSON value");
                    }
                    self.value(c)?;
                    if self.stack.is_empty() {
                        self.top_done = true;
                        if self.pos >= limit {
                            return Ok(());
                        }
                    }
                }
                Some(State::ArrayFirst) if c == b']' => self.end_container()?,
                Some(State::ArrayFirst | State::ArrayValue) => {
                    if multi && self.stack.len() == 1 && c == b',' {
                        return self.err("a comma between JSON Lines values");
                    }
                    self.set_state(State::ArrayNext);
                    self.value(c)?;
                }
                Some(State::ArrayNext) => {
                    if multi && self.stack.len() == 1 {
                        // JSON Lines: values follow each other separated only by whitespace.
                        self.value(c)?;
                        continue;
                    }
                    match c {
                        b',' => {
                            self.pos += 1;
                            self.set_state(State::ArrayValue);
                        }
                        b']' => self.end_container()?,
                        _ => return self.err("expected `,` or `]`"),
                    }
                }
                Some(State::ObjectFirst) if c == b'}' => self.end_container()?,
                Some(State::ObjectFirst | State::ObjectKey) => {
                    if c != b'"' {
                        return self.err("expected a string key");
                    }
                    self.pending_key = self.pos as u32;
                    self.string()?;
                    self.set_state(State::ObjectColon);
                }
                Some(State::ObjectColon) => {
                    if c != b':' {
                        return self.err("expected `:`");
                    }
                    self.pos += 1;
                    self.set_state(State::ObjectValue);
                }
                Some(State::ObjectValue) => {
                    self.set_state(State::ObjectNext);
                    self.value(c)?;
                }
                Some(State::ObjectNext) => match c {
                    b',' => {
                        self.pos += 1;
                        self.set_state(State::ObjectKey);
                    }
                    b'}' => self.end_container()?,
                    _ => return self.err("expected `,` or `}`"),
                },
            }
        }
    }

    fn set_state(&mut self, s: State) {
        if let Some(f) = self.stack.last_mut() {
            f.state = s;
        }
    }

    fn end_container(&mut self) -> Result<(), ScanError> {
        self.pos += 1;
        let f = self.stack.pop().expect("container frame");
        if f.array {
            self.arrays_open = self.arrays_open.saturating_sub(1);
            if let Some(long) = self.long.filter(|_| f.chain != NONE) {
                long.passed(f.chain);
            }
        }
        self.close(f.node, self.pos);
        self.keep_count(&f);
        if self.stack.is_empty() {
            self.top_done = true;
        }
        if self.build && f.node != NONE {
            self.item_done(true);
        }
        Ok(())
    }

    /// Starts a value at `c`: containers push a frame, scalars are consumed whole.
    fn value(&mut self, c: u8) -> Result<(), ScanError> {
        let start = self.pos;
        match c {
            b'{' | b'[' => {
                let kind = if c == b'{' { NodeKind::Object } else { NodeKind::Array };
                let id = self.open(kind, start);
                self.pos += 1;
                let mut frame = Frame::new(id, c == b'[');
                if frame.array {
                    // an array in a lean object's member has no node, and a parse beside does
                    // not number it: it reads the member for its validity only
                    if self.arrays_open == 0 && (id != NONE || !self.build) {
                        frame.chain = self.chains;
                        self.chains += 1;
                    }
                    self.arrays_open += 1;
                }
                self.stack.push(frame);
                Ok(())
            }
            b'"' => {
                let id = self.open(NodeKind::Scalar, start);
                self.string()?;
                self.close(id, self.pos);
                Ok(())
            }
            b't' | b'f' | b'n' => {
                let word: &[u8] = match c {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                if !self.b[self.pos..].starts_with(word) {
                    return self.err("invalid literal");
                }
                let id = self.open(NodeKind::Scalar, start);
                self.pos += word.len();
                self.close(id, self.pos);
                Ok(())
            }
            b'-' | b'0'..=b'9' => {
                let id = self.open(NodeKind::Scalar, start);
                self.number()?;
                self.close(id, self.pos);
                Ok(())
            }
            _ => self.err("expected a JSON value"),
        }
    }

    fn string(&mut self) -> Result<(), ScanError> {
        self.pos += 1; // opening quote
        while self.pos < self.b.len() {
            match self.b[self.pos] {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => match self.b.get(self.pos + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 2,
                    Some(b'u') => {
                        let hex = self.b.get(self.pos + 2..self.pos + 6);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return self.err("invalid \\u escape");
                        }
                        self.pos += 6;
                    }
                    _ => return self.err("invalid escape"),
                },
                0..=0x1f => return self.err("control character in string"),
                _ => self.pos += 1,
            }
        }
        self.err("unterminated string")
    }

    fn number(&mut self) -> Result<(), ScanError> {
        let digits = |s: &mut Self| {
            let st = s.pos;
            while s.pos < s.b.len() && s.b[s.pos].is_ascii_digit() {
                s.pos += 1;
            }
            s.pos - st
        };
        if self.b[self.pos] == b'-' {
            self.pos += 1;
        }
        match self.b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                digits(self);
            }
            _ => return self.err("invalid number"),
        }
        if self.b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        if matches!(self.b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return self.err("invalid number");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_array_and_object_members() {
        let t = r#" [ {"a": 1, "b": [true, null]}, "x\"y", -1.5e3 ] "#;
        let tree = scan(t, false).unwrap();
        let root = tree.root();
        assert_eq!(&t[tree.node(root).span()], r#"[ {"a": 1, "b": [true, null]}, "x\"y", -1.5e3 ]"#);
        let kids: Vec<_> = tree.children(root).map(|c| &t[tree.node(c).span()]).collect();
        assert_eq!(kids, [r#"{"a": 1, "b": [true, null]}"#, r#""x\"y""#, "-1.5e3"]);
        let obj = tree.children(root).next().unwrap();
        let members: Vec<_> = tree.children(obj).map(|c| &t[tree.node(c).member_span()]).collect();
        assert_eq!(members, [r#""a": 1"#, r#""b": [true, null]"#]);
    }

    #[test]
    fn json_lines_root() {
        let t = "{\"a\":1}\n{\"a\":2}\n\n[3]\n";
        let tree = scan(t, true).unwrap();
        let kids: Vec<_> = tree.children(0).map(|c| &t[tree.node(c).span()]).collect();
        assert_eq!(kids, ["{\"a\":1}", "{\"a\":2}", "[3]"]);
        assert!(scan(t, false).is_err());
    }

    #[test]
    fn errors_and_prefixes() {
        assert_eq!(scan("[1, 2", false).unwrap_err().message, "unexpected end of input inside a value");
        assert!(scan("[1 2]", false).is_err());
        assert!(scan("{\"a\" 1}", false).is_err());
        assert!(scan("[01]", false).is_err());
        assert!(starts_like_json("[2024-01-01 12:00] INFO up", 4096).is_err());
        assert!(starts_like_json("[{\"a\": 1}, {\"a\": 2}, {\"a\"", 12).is_ok());
        assert_eq!(value_end("{\"a\": [1, 2]} trailing text"), Some(13));
        assert_eq!(value_end("  42\n"), Some(4));
        assert_eq!(value_end("{\"a\": "), None);
    }

    /// Every value of a tree as (span, kind, key start), depth first.
    fn flat(t: &SpanTree, id: usize, out: &mut Vec<(Range<usize>, NodeKind, Option<usize>)>) {
        let n = t.node(id);
        out.push((n.span(), n.kind, n.key_start()));
        for c in t.children(id) {
            flat(t, c, out);
        }
    }

    #[test]
    fn long_arrays_are_lean_and_their_items_are_read_from_the_text() {
        let kinds = [
            "-1.5e3",
            r#""a\"b, ]""#,
            "true",
            " null ",
            r#""é""#,
            "[ ]",
            "{\n}",
            r#"{"a":"]}[{","b":[ ]}"#,
            r#"{"id":1,"a":[1,{"x":"}"}],"m":{"k":null}}"#,
        ];
        let items: Vec<&str> = (0..LEAN_ITEMS + 5).map(|i| kinds[i % kinds.len()]).collect();
        let list = items.join(" ,\n");
        let doc = format!(
            r#"{{"lean":[{list}],"short":[1,{{"a":[2]}}],"nested":[[{list}]],"deep":[{{"x":[{list}]}},{list}]}}"#
        );
        let lean = scan_lean(&doc).unwrap();
        let whole = scan(&doc, false).unwrap();
        let member = |t: &SpanTree, i: usize| t.children(t.root()).nth(i).unwrap();
        let spans = |t: &SpanTree, id: usize| t.children(id).map(|c| t.node(c).span()).collect::<Vec<_>>();
        // a lean array has no children; its items are read from the text, the same spans
        for m in [0, 3] {
            let (l, w) = (member(&lean, m), member(&whole, m));
            assert!(lean.node(l).lean && lean.child_count(l) == 0);
            assert_eq!(lean.lean_items(l, &doc).collect::<Vec<_>>(), spans(&whole, w));
        }
        // a short array is a whole tree
        let (l, w) = (member(&lean, 1), member(&whole, 1));
        assert!(!lean.node(l).lean);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        flat(&lean, l, &mut a);
        flat(&whole, w, &mut b);
        assert_eq!(a, b);
        // an array under an array is lean as any other; the one above it holds a lean array
        let nested = member(&lean, 2);
        let inner = lean.children(nested).next().unwrap();
        assert!(lean.node(inner).lean && lean.child_count(inner) == 0);
        assert_eq!(lean.lean_items(inner, &doc).count(), LEAN_ITEMS + 5);
        assert!(lean.holds_lean(lean.node(nested).span()) && lean.holds_lean(lean.node(inner).span()));
        assert!(!lean.holds_lean(lean.node(member(&lean, 1)).span()));
        // the members left in the text are the ones the whole tree has more
        let left_out: usize = [0, 2, 3]
            .iter()
            .flat_map(|&m| {
                let arr = member(&whole, m);
                let arr = if m == 2 { whole.children(arr).next().unwrap() } else { arr };
                whole.children(arr).map(|c| scan(&doc[whole.node(c).span()], false).unwrap().member_count())
            })
            .sum();
        assert_eq!(lean.member_count() + left_out, whole.member_count());
        // an item scanned where it is: its own lean tree, at the document's offsets
        let deep = member(&whole, 3);
        let first = whole.node(whole.children(deep).next().unwrap()).span();
        let at = scan_lean_at(&doc, first.start).unwrap();
        assert_eq!(at.node(at.root()).span(), first);
        let x = at.children(at.root()).next().unwrap();
        assert!(at.node(x).lean && at.node(x).key_start() == Some(first.start + 1));
        assert_eq!(at.lean_items(x, &doc).count(), LEAN_ITEMS + 5);
        assert!(at.holds_lean(first.clone()));
        // JSON Lines turn lean as an array does, their values whole in the text
        let lines: String = items.iter().map(|s| format!("{}\n", s.trim())).collect();
        let (lean, whole) = (scan_lean_lines(&lines).unwrap(), scan(&lines, true).unwrap());
        assert!(lean.node(0).lean && lean.child_count(0) == 0);
        assert_eq!(lean.lean_items(0, &lines).collect::<Vec<_>>(), spans(&whole, 0));
        assert_eq!(lean.lean_count(0), Some(lean.lean_items(0, &lines).count()));
    }

    /// An object turns lean at its 1,024th member, as a long array does at its 1,024th item, in
    /// an array too and scanned alone where it is: its members are read from the text, the spans
    /// a whole tree has. One member short it is whole, and so is it in a JSON Lines stream's
    /// tree. Arrays in its members past the 1,024th are not numbered for a parse beside.
    #[test]
    fn objects_of_many_members_are_lean_and_their_members_are_read_from_the_text() {
        let values =
            ["-1.5e3", r#""a\"b, }""#, "true", " null ", " [ 1, {\"k\": \"]}\"} ]", r#"{"a":"}{","b":{ }}"#, "{\n}"];
        let members = |n: usize| {
            let member = |i: usize| format!(r#""k{i}\"é" :  {}"#, values[i % values.len()]);
            (0..n).map(member).collect::<Vec<_>>().join(" ,\n ")
        };
        let doc = format!(
            r#"{{"big":{{ {} }},"short":{{{}}},"rows":[{{{}}}],"after":[1,2]}}"#,
            members(LEAN_ITEMS + 5),
            members(LEAN_ITEMS - 1),
            members(LEAN_ITEMS)
        );
        let told = LongArrays::default();
        let lean = scan_lean_telling(&doc, &told).unwrap();
        let whole = scan(&doc, false).unwrap();
        let member = |t: &SpanTree, i: usize| t.children(t.root()).nth(i).unwrap();
        let (l, w) = (member(&lean, 0), member(&whole, 0));
        assert!(lean.node(l).lean && lean.child_count(l) == 0);
        assert_eq!(lean.lean_count(l), Some(LEAN_ITEMS + 5));
        assert!(lean.holds_lean(lean.node(l).span()));
        let read: Vec<_> = lean.lean_members(l, &doc).collect();
        let written: Vec<_> =
            whole.children(w).map(|c| (whole.node(c).key_start().unwrap(), whole.node(c).span())).collect();
        assert_eq!(read.iter().map(|(k, v)| (k.start, v.clone())).collect::<Vec<_>>(), written);
        for (k, _) in &read {
            assert_eq!(value_end(&doc[k.start..]), Some(k.len()), "a key's literal, quotes and all");
        }
        // neither a lean array's items nor a lean object's members are read as the other's
        assert_eq!(lean.lean_items(l, &doc).count(), 0);
        // one member short: a whole tree
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert!(!lean.node(member(&lean, 1)).lean);
        flat(&lean, member(&lean, 1), &mut a);
        flat(&whole, member(&whole, 1), &mut b);
        assert_eq!(a, b);
        // in an array: lean as well
        let row = lean.children(member(&lean, 2)).next().unwrap();
        assert!(lean.node(row).lean && lean.lean_count(row) == Some(LEAN_ITEMS));
        assert_eq!(lean.lean_members(row, &doc).count(), LEAN_ITEMS);
        // arrays in no array: those in its first 1,024 members and in `short`'s, then `rows` and
        // `after`; not the one in its 1,027th member, which a parse reads for its validity only
        let arrays = |n: usize| (0..n).filter(|i| values[i % values.len()].starts_with(" [")).count();
        assert_eq!(arrays(LEAN_ITEMS + 5), arrays(LEAN_ITEMS) + 1);
        let chains = arrays(LEAN_ITEMS) + arrays(LEAN_ITEMS - 1) + 2;
        assert_eq!(told.told.lock().unwrap().passed as usize, chains);
        // scanned where it is, as a lean array's item read back is: lean, the same members
        let at = scan_lean_at(&doc, whole.node(w).start()).unwrap();
        assert!(at.node(at.root()).lean && at.child_count(at.root()) == 0);
        assert_eq!(at.lean_members(at.root(), &doc).collect::<Vec<_>>(), read);
        // as JSON Lines values (read whole, or read back one at a time): whole in the stream's tree
        let lines = format!("{}\n{}\n", &doc[whole.node(w).span()], &doc[whole.node(w).span()]);
        for t in [scan_lean_lines(&lines).unwrap(), scan(&lines, true).unwrap()] {
            assert!(!t.nodes.iter().any(|n| n.lean && n.kind == NodeKind::Object));
        }
    }

    /// An array whose items make many nodes turns lean once the text ahead is seen to hold its
    /// 1,024th item, and its tree is what turning at that item gives: no item nodes, all its
    /// items counted. One item short, it keeps every item's nodes. The count ahead is exact.
    #[test]
    fn an_array_of_large_items_turns_lean_as_soon_as_the_text_ahead_holds_the_rest() {
        let item = |i: usize| {
            let nums: Vec<String> = (0..80).map(|k| (k * i).to_string()).collect();
            format!(r#"{{"id":{i},"s":"a,]}}[\"{{","m":[{}]}}"#, nums.join(", "))
        };
        let doc = |n: usize| format!("[ {} ]", (0..n).map(item).collect::<Vec<_>>().join(" ,\n "));
        for n in [LEAN_ITEMS - 1, LEAN_ITEMS, LEAN_ITEMS + 5] {
            let text = doc(n);
            let told = LongArrays::default();
            let tree = scan_lean_telling(&text, &told).unwrap();
            assert_eq!(tree.node(0).lean, n >= LEAN_ITEMS, "{n}");
            assert_eq!(told.has(0), n >= LEAN_ITEMS);
            if n >= LEAN_ITEMS {
                assert_eq!((tree.nodes.len(), tree.lean_count(0)), (1, Some(n)));
                assert_eq!(tree.lean_items(0, &text).count(), n);
            } else {
                assert_eq!(tree.children(0).count(), n);
            }
            // a scan that is not lean keeps every item
            let whole = scan(&text, false).unwrap();
            assert_eq!(whole.children(0).count(), n);
        }
        let text = doc(40);
        let first = item(0).len() + 2;
        assert_eq!(&text[first..first + 2], " ,");
        for k in 0..45 {
            assert_eq!(has_items_ahead(text.as_bytes(), first, k), k <= 39, "{k}");
        }
        // a broken item past where it looked ahead still fails the scan
        let mut broken = doc(LEAN_ITEMS + 5);
        let at = broken.len() - 40;
        broken.replace_range(at..at + 1, "}");
        assert!(scan_lean_telling(&broken, &LongArrays::default()).is_err());
        assert!(scan(&broken, false).is_err());
    }

    /// An array in no array whose first SIZE_LEAN_ITEMS items are large is lean when a parse is
    /// told (and only then), whether that is seen at those items' end or before; one whose first
    /// items are small is told checked, and stays whole under LEAN_ITEMS.
    #[test]
    fn an_array_whose_first_items_are_large_is_lean_when_a_parse_is_told() {
        let item = |i: usize, size: usize| format!(r#"{{"id":{i},"pad":"{}"}}"#, "x".repeat(size));
        let doc = |n: usize, size: usize| {
            format!(r#"{{"a":[1,2],"b":[{}],"c":[3]}}"#, (0..n).map(|i| item(i, size)).collect::<Vec<_>>().join(","))
        };
        let large = SIZE_LEAN_BYTES / SIZE_LEAN_ITEMS + 10;
        for (n, size, lean) in [
            (SIZE_LEAN_ITEMS - 1, large * 2, false),
            (SIZE_LEAN_ITEMS, large, true),
            (SIZE_LEAN_ITEMS + 30, large, true),
            (SIZE_LEAN_ITEMS + 30, large / 2, false),
            // large before its 64th item: lean there, once the text ahead holds the rest
            (SIZE_LEAN_ITEMS * 3, large * 4, true),
            (SIZE_LEAN_ITEMS / 2, large * 4, false),
        ] {
            let text = doc(n, size);
            let told = LongArrays::default();
            let tree = scan_lean_telling(&text, &told).unwrap();
            let b = tree.children(0).nth(1).unwrap();
            assert_eq!(tree.node(b).lean, lean, "{n} items of {size}");
            assert_eq!((told.has(0), told.has(1), told.has(2)), (false, lean, false));
            let t = told.told.lock().unwrap();
            // `a` passed; `b` checked at its 64th item when it has one
            assert_eq!((t.passed, t.checked), (3, if n >= SIZE_LEAN_ITEMS && !lean { 2 } else { 0 }));
            drop(t);
            if lean {
                assert_eq!(tree.lean_items(b, &text).count(), n);
            } else {
                assert_eq!(tree.children(b).count(), n);
            }
            // a scan that tells no parse keeps the count's rule alone
            assert!(!scan_lean(&text).unwrap().nodes.iter().any(|n| n.lean));
        }
    }

    #[test]
    fn a_lean_array_s_items_are_counted_by_the_scan_and_its_place_told() {
        let kinds = [r#""a\"b, ]""#, " 7 ", "[ ]", r#"{"a":"]}[{","b":[1,2]}"#, "\n{\n}"];
        let list = |n: usize| (0..n).map(|i| kinds[i % kinds.len()]).collect::<Vec<_>>().join(" ,\n");
        let long = list(LEAN_ITEMS + 7);
        // arrays in no array, numbered as they open: `a` 0 short, `b` 1 long, `d` 2 long (with
        // arrays in it, which are in an array and not numbered), `e` 3 short, `f` 4 long
        let doc = format!(r#"{{"a":[1],"b":[{long}],"c":{{"d":[[{long}],{long}]}},"e":[2,[3]],"f":[{long}]}}"#);
        let told = LongArrays::default();
        let tree = scan_lean_telling(&doc, &told).unwrap();
        let t = told.told.lock().unwrap();
        assert_eq!((&t.long, t.passed, t.done), (&vec![1, 2, 4], 5, true));
        drop(t);
        assert!((0..6).all(|k| told.has(k) == [1, 2, 4].contains(&k)));
        // every lean array with a node has its count, the items read from the text
        let mut leans = 0;
        for id in 0..tree.nodes.len() {
            if tree.node(id).lean {
                assert_eq!(tree.lean_count(id), Some(tree.lean_items(id, &doc).count()), "node {id}");
                leans += 1;
            } else {
                assert_eq!(tree.lean_count(id), None);
            }
        }
        // `b`, `d` and `f`: the long array in `d` is an item of a lean array, with no node, and
        // its count went with the nodes that `d` let go
        assert_eq!(leans, 3);
        // it has one in its own tree, scanned where it is
        let inner = doc.find("[[").unwrap() + 1;
        let at = scan_lean_at(&doc, inner).unwrap();
        assert_eq!(at.lean_count(at.root()), Some(LEAN_ITEMS + 7));
    }

    #[test]
    fn small_containers_are_told_from_their_text() {
        // small: at most 7 children, all atoms (brackets in strings, empty containers inside);
        // not small: 8 children, or a child with something in it
        let small = [r#"{"a":"]}[{","b":[ ]}"#, r#"[1, "x\",]", {}]"#, r#"{ "k" : null }"#, "[1,2,3,4,5,6,7]"];
        let big = [
            r#"{"a":[1]}"#,
            "[1,2,3,4,5,6,7,8]",
            r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}"#,
            r#"[{ "a" : 1 }]"#,
        ];
        for s in small.iter().chain(&big) {
            assert_eq!(small_container(s), small.contains(s), "{s}");
            assert!(has_items(s), "{s}");
            assert_eq!(item_end(s.as_bytes(), 0, s.len()), s.len(), "{s}");
            assert_eq!(item_end(format!("{s}, 2]").as_bytes(), 0, s.len() + 4), s.len(), "{s}");
        }
        for atom in ["{ }", "[\n]", "\"[\"", "1", "null"] {
            assert!(!small_container(atom) && !has_items(atom), "{atom}");
        }
    }

    #[test]
    fn a_string_item_ends_at_its_closing_quote_past_escapes() {
        for (text, end) in [
            (r#""a\"b", 1"#, 6),
            (r#""a\\", 1"#, 5),
            (r#""\\\"", 1"#, 6),
            (r#""", 1"#, 2),
            ("\"é\\u00e9\", 1", 10),
            // cut short: the end of what may be read
            (r#""abc"#, 4),
            (r#""ab\"#, 4),
        ] {
            assert_eq!(item_end(text.as_bytes(), 0, text.len()), end, "{text}");
        }
        // never past `to`, even inside a string
        assert_eq!(item_end(br#""abcdef""#, 0, 3), 3);
        assert_eq!(item_end(br#"["a]", "b"]"#, 0, 11), 11);
    }

    #[test]
    fn an_item_ends_where_the_separator_before_the_next_starts() {
        // items of every kind, strings holding separators, between every kind of separator, in
        // an array long enough to be lean and as JSON Lines: each item's end found back from the
        // next item's start is where it ends read forward
        let items = [r#""a, ""#, "-1.5e3", "true", r#"{"x": "]"}"#, "[]", r#""\"""#, "null", r#""é""#, "7"];
        let seps = [",", " ,\t", ",\n  ", "\r\n,\r\n"];
        let body = |sep: &dyn Fn(usize) -> &'static str| {
            (0..LEAN_ITEMS + 10).map(|i| format!("{}{}", items[i % items.len()], sep(i))).collect::<String>()
        };
        let array = format!("[\n{}0]", body(&|i| seps[i % seps.len()]));
        let lines = body(&|i| ["\n", "\n\n", " \n"][i % 3]);
        for (text, tree) in [(&array, scan_lean(&array)), (&lines, scan_lean_lines(&lines))] {
            let tree = tree.unwrap();
            let spans: Vec<_> = tree.lean_items(0, text).collect();
            assert!(spans.len() > LEAN_ITEMS, "read as a lean array");
            for pair in spans.windows(2) {
                assert_eq!(end_before(text.as_bytes(), pair[1].start), pair[0].end, "{:?}", &text[pair[0].clone()]);
            }
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let depth = 100_000;
        let t = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let tree = scan(&t, false).unwrap();
        assert_eq!(tree.node(tree.root()).span(), 0..t.len());
    }
}
