//! JSON pretty-printing for the side-by-side view, which remembers which lines some values landed
//! on, by JSON pointer, so a ledger drop recorded against the original (`/items/5`, 12 items) can
//! be shown on the pretty-printed lines.
//!
//! The layout is serde_json's (two spaces, one member or item per line) with three changes that
//! keep big inputs small on screen: an array of scalars (and empty containers, and small ones,
//! each on one line: `{"id": 1, "ok": true}`) is packed into lines of up to [`WIDTH`] columns, indentation stops growing past [`MAX_INDENT`] levels, and the text
//! is read as written: numbers keep their source text, a key written twice stays twice, and only
//! strings with escapes are re-encoded (`caf\u00e9` shows as `café`, as in an engine's output).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;

use crate::ledger::Span;

/// The deepest nesting laid out: serde_json's own recursion limit, the one the engines read to.
pub const MAX_DEPTH: usize = 128;

/// Indentation stops growing at this depth (32 columns): deeper values line up at the cap.
pub const MAX_INDENT: usize = 16;

/// The widest line an array of scalars is packed into, indentation included, unless that leaves
/// less than [`MIN_PACKED`] columns (an item wider than that gets a line of its own).
pub const WIDTH: usize = 80;

/// The fewest columns of items a packed line holds, however deep it is indented.
const MIN_PACKED: usize = 48;

/// Pretty text and, for each pointer asked for, the 1-based first and last line of its value.
pub struct Pretty {
    pub text: Arc<str>,
    pub lines: HashMap<String, (usize, usize)>,
    /// For each packed array asked for (see [`Ask::rows`]), the indices of the items that begin
    /// its lines, and how many items it has.
    pub rows: HashMap<String, (Vec<u32>, u32)>,
    /// Some nesting went deeper than [`MAX_INDENT`] and is shown without more indentation.
    pub capped: bool,
}

/// What a layout is asked to note and follow besides the text.
#[derive(Default)]
pub struct Ask {
    /// Pointers whose values' lines are noted ([`Pretty::lines`]).
    pub wanted: HashSet<String>,
    /// Packed arrays whose line breaks are noted ([`Pretty::rows`]).
    pub rows: HashSet<String>,
    /// Packed arrays laid out along given breaks instead of by width: the indices of the items
    /// that begin a line, and how many items the plan covers (items past it are packed by width).
    /// An engine's output array is laid out along its original's lines this way, so a line that
    /// kept some of its items faces the line it came from.
    pub breaks: HashMap<String, (Vec<u32>, u32)>,
    /// Only the lines and rows are wanted: the text is not kept (a layout made again to find
    /// lines in a text already laid out would hold its text twice).
    pub lines_only: bool,
}

struct Printer<'a> {
    src: &'a [u8],
    i: usize,
    out: Vec<u8>,
    line: usize,
    /// Bytes on the current output line.
    col: usize,
    ask: &'a Ask,
    /// Whether pointers are followed (something is asked).
    track: bool,
    lines: HashMap<String, (usize, usize)>,
    rows: HashMap<String, (Vec<u32>, u32)>,
    pointer: String,
    capped: bool,
}

impl<'a> Printer<'a> {
    fn ws(&mut self) {
        while self.src.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not read.
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.src.get(self.i).copied()
    }

    fn write(&mut self, b: &[u8]) {
        if !self.ask.lines_only {
            self.out.extend_from_slice(b);
        }
        self.col += b.len();
    }

    fn newline(&mut self, depth: usize) {
        if depth > MAX_INDENT {
            self.capped = true;
        }
        let indent = 2 * depth.min(MAX_INDENT);
        if !self.ask.lines_only {
            self.out.push(b'\n');
            self.out.resize(self.out.len() + indent, b' ');
        }
        self.line += 1;
        self.col = indent;
    }

    /// Where the string literal opening at `at` closes (its closing quote), and whether it has escapes.
    fn string_end(&self, at: usize) -> Option<(usize, bool)> {
        let mut i = at + 1;
        let mut escapes = false;
        loop {
            i += memchr::memchr2(b'"', b'\\', self.src.get(i..)?)?;
            if self.src[i] == b'"' {
                return Some((i, escapes));
            }
            escapes = true;
            i += 2;
        }
    }

    /// The string literal here as shown (re-encoded when it has escapes), and its decoded text
    /// when `decoded` is asked for.
    fn string(&mut self, decoded: bool) -> Option<(Cow<'a, [u8]>, Option<String>)> {
        let src: &'a [u8] = self.src;
        let (end, escapes) = self.string_end(self.i)?;
        let raw = &src[self.i..=end];
        self.i = end + 1;
        if !escapes {
            let text = decoded.then(|| String::from_utf8_lossy(&raw[1..raw.len() - 1]).into_owned());
            return Some((Cow::Borrowed(raw), text));
        }
        // a lone surrogate (`\ud800`) does not decode: shown as written
        match serde_json::from_slice::<String>(raw) {
            Ok(s) => Some((Cow::Owned(serde_json::to_vec(&s).ok()?), decoded.then_some(s))),
            Err(_) => Some((Cow::Borrowed(raw), decoded.then(|| String::from_utf8_lossy(raw).into_owned()))),
        }
    }

    /// A number, `true`, `false` or `null`, as written.
    fn bare(&mut self) -> Option<&'a [u8]> {
        let src: &'a [u8] = self.src;
        let start = self.i;
        while self.src.get(self.i).is_some_and(|b| !b",]}:\" \t\r\n".contains(b)) {
            self.i += 1;
        }
        (self.i > start).then(|| &src[start..self.i])
    }

    /// Whether the array whose first item starts here holds only scalars, empty containers and
    /// small containers (read up to its first other container, so every byte is looked at by
    /// one such scan).
    fn packable(&self) -> bool {
        let mut i = self.i;
        while let Some(&b) = self.src.get(i) {
            match b {
                b']' => return true,
                b'"' => match self.string_end(i) {
                    Some((end, _)) => i = end + 1,
                    None => return false,
                },
                b'[' | b'{' => match self.small_end(i) {
                    Some(end) => i = end,
                    None => return false,
                },
                _ => i += 1,
            }
        }
        false
    }

    /// Where the container opening at `at` ends (past its closing bracket) when it is empty or
    /// small: at most [`crate::engine::jsonspan::SMALL_ITEMS`] children, all scalars or empty
    /// containers (the JSON engine never cuts inside one but for a long string).
    fn small_end(&self, at: usize) -> Option<usize> {
        let close = if self.src[at] == b'[' { b']' } else { b'}' };
        let mut i = at + 1;
        let mut children = 0;
        loop {
            let b = *self.src.get(i)?;
            match b {
                _ if b.is_ascii_whitespace() || b == b',' || b == b':' => i += 1,
                _ if b == close => return Some(i + 1),
                b'"' => {
                    i = self.string_end(i)?.0 + 1;
                    let key =
                        close == b'}' && self.src.get(i..)?.iter().find(|c| !c.is_ascii_whitespace()) == Some(&b':');
                    children += usize::from(!key);
                }
                b'[' | b'{' => {
                    let inner = if b == b'[' { b']' } else { b'}' };
                    let next = self.src.get(i + 1..)?.iter().position(|c| !c.is_ascii_whitespace())? + i + 1;
                    if self.src[next] != inner {
                        return None;
                    }
                    children += 1;
                    i = next + 1;
                }
                _ => {
                    children += 1;
                    while self.src.get(i).is_some_and(|b| !b",]}:\" \t\r\n".contains(b)) {
                        i += 1;
                    }
                }
            }
            if children > crate::engine::jsonspan::SMALL_ITEMS {
                return None;
            }
        }
    }

    /// A small container (see [`Self::small_end`]) on one line, as `{"a": 1, "b": []}`, and the
    /// pointers of its children from its own.
    fn inline(&mut self, track: bool) -> Option<(Vec<u8>, Vec<String>)> {
        let open = self.src[self.i];
        let close = if open == b'[' { b']' } else { b'}' };
        self.i += 1;
        let (mut out, mut pointers) = (vec![open], Vec::new());
        let mut index = 0usize;
        loop {
            if self.peek()? == close {
                self.i += 1;
                break;
            }
            if index > 0 {
                if self.peek()? != b',' {
                    return None;
                }
                self.i += 1;
                out.extend_from_slice(b", ");
            }
            if open == b'{' {
                self.peek()?;
                let (key, decoded) = self.string(track)?;
                out.extend_from_slice(&key);
                pointers.extend(decoded.map(|k| format!("/{}", crate::ledger::escape_pointer(&k))));
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                out.extend_from_slice(b": ");
            } else if track {
                pointers.push(format!("/{index}"));
            }
            match self.peek()? {
                b'"' => out.extend_from_slice(&self.string(false)?.0),
                // an empty container, written as one
                b'[' | b'{' => out.extend_from_slice(&self.inline(false)?.0),
                _ => out.extend_from_slice(self.bare()?),
            }
            index += 1;
        }
        out.push(close);
        Some((out, pointers))
    }

    /// An item of a packed array: on the current line when it fits, or as `brk` says when a plan
    /// covers it. Whether it began a line.
    fn packed_item(&mut self, depth: usize, first: bool, brk: Option<bool>) -> Option<bool> {
        let mut inside = Vec::new();
        let item: Cow<'a, [u8]> = match self.peek()? {
            b'"' => self.string(false)?.0,
            b'[' | b'{' => {
                // as deep as any container may be (see `value`)
                if depth >= MAX_DEPTH {
                    return None;
                }
                let (text, pointers) = self.inline(self.track)?;
                inside = pointers;
                Cow::Owned(text)
            }
            _ => Cow::Borrowed(self.bare()?),
        };
        // room for the item, the space before it and the comma after it
        let limit = WIDTH.max(2 * depth.min(MAX_INDENT) + MIN_PACKED);
        let begins = first || brk.unwrap_or(self.col + item.len() + 2 > limit);
        if begins {
            self.newline(depth);
        } else {
            self.write(b" ");
        }
        self.write(&item);
        self.note(self.line);
        // a small container's children are on its line
        let len = self.pointer.len();
        for child in inside {
            self.pointer.push_str(&child);
            self.note(self.line);
            self.pointer.truncate(len);
        }
        Some(begins)
    }

    /// Records the lines of the value at the current pointer when it is wanted.
    fn note(&mut self, first: usize) {
        if !self.ask.wanted.is_empty() && self.ask.wanted.contains(&self.pointer) {
            self.lines.insert(self.pointer.clone(), (first, self.line));
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        let first = self.line;
        let track = self.track;
        match self.peek()? {
            open @ (b'[' | b'{') => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.i += 1;
                if self.peek()? == close {
                    self.i += 1;
                    self.write(&[open, close]);
                } else {
                    if depth >= MAX_DEPTH {
                        return None;
                    }
                    let packed = open == b'[' && self.packable();
                    let ask: &'a Ask = self.ask;
                    let plan = ask.breaks.get(&self.pointer).filter(|_| packed);
                    let mut rows = (packed && ask.rows.contains(&self.pointer)).then(Vec::new);
                    self.write(&[open]);
                    let mut index = 0usize;
                    loop {
                        let len = self.pointer.len();
                        if open == b'[' {
                            if track {
                                let _ = write!(self.pointer, "/{index}");
                            }
                            if packed {
                                let brk = plan
                                    .filter(|(_, n)| index < *n as usize)
                                    .map(|(starts, _)| starts.binary_search(&(index as u32)).is_ok());
                                if self.packed_item(depth + 1, index == 0, brk)?
                                    && let Some(rows) = rows.as_mut()
                                {
                                    rows.push(index as u32);
                                }
                            } else {
                                self.newline(depth + 1);
                                self.value(depth + 1)?;
                            }
                        } else {
                            self.newline(depth + 1);
                            if self.peek()? != b'"' {
                                return None;
                            }
                            let (key, decoded) = self.string(track)?;
                            self.write(&key);
                            if let Some(k) = decoded {
                                self.pointer.push('/');
                                self.pointer.push_str(&crate::ledger::escape_pointer(&k));
                            }
                            if self.peek()? != b':' {
                                return None;
                            }
                            self.i += 1;
                            self.write(b": ");
                            self.value(depth + 1)?;
                        }
                        self.pointer.truncate(len);
                        index += 1;
                        match self.peek()? {
                            b',' => self.write(b","),
                            c if c == close => break,
                            _ => return None,
                        }
                        self.i += 1;
                    }
                    self.i += 1;
                    if let Some(rows) = rows {
                        self.rows.insert(self.pointer.clone(), (rows, index as u32));
                    }
                    self.newline(depth);
                    self.write(&[close]);
                }
            }
            b'"' => {
                let (s, _) = self.string(false)?;
                self.write(&s);
            }
            _ => {
                let b = self.bare()?;
                self.write(b);
            }
        }
        self.note(first);
        Some(())
    }
}

/// Pretty-prints `text` when it is one JSON value (see the module's doc for the layout), noting
/// the lines of the `wanted` pointers.
pub fn pretty(text: &str, wanted: &HashSet<String>) -> Option<Pretty> {
    pretty_with(text, &Ask { wanted: wanted.clone(), ..Ask::default() })
}

/// [`pretty`], noting and following what `ask` says.
pub fn pretty_with(text: &str, ask: &Ask) -> Option<Pretty> {
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    let mut p = Printer {
        src: text.as_bytes(),
        i: 0,
        out: Vec::with_capacity(if ask.lines_only { 0 } else { text.len() + text.len() / 2 }),
        line: 1,
        col: 0,
        ask,
        track: !ask.wanted.is_empty() || !ask.rows.is_empty() || !ask.breaks.is_empty(),
        lines: HashMap::new(),
        rows: HashMap::new(),
        pointer: String::new(),
        capped: false,
    };
    p.value(0)?;
    if p.peek().is_some() {
        return None;
    }
    p.out.push(b'\n');
    let text = Arc::from(String::from_utf8(p.out).ok()?);
    Some(Pretty { text, lines: p.lines, rows: p.rows, capped: p.capped })
}

/// The pointers whose lines [`span_lines`] needs for a dropped span: its first value's, and its
/// last's (a run of members names it; a run of `count` array items at `/a/5` ends at `/a/{5+count-1}`).
pub fn wanted(span: &Span, count: usize) -> [Option<String>; 2] {
    let end = span.pointer_last.as_deref().map(str::to_string).or_else(|| {
        (count > 1)
            .then(|| span.pointer.as_deref()?.rsplit_once('/'))
            .flatten()
            .and_then(|(parent, idx)| idx.parse::<usize>().ok().map(|i| format!("{parent}/{}", i + count - 1)))
    });
    [span.pointer.as_deref().map(str::to_string), end]
}

/// The pretty lines of a dropped span: from its first value's first line to its last value's
/// last line (see [`wanted`]); `None` without a pointer or when the pointer is not in `p`.
pub fn span_lines(p: &Pretty, span: &Span, count: usize) -> Option<(usize, usize)> {
    let [first, end] = wanted(span, count);
    let (first, last) = *p.lines.get(&first?)?;
    match end.and_then(|end| p.lines.get(&end)) {
        Some((_, end)) => Some((first, *end)),
        None => Some((first, last)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn set(pointers: &[&str]) -> HashSet<String> {
        pointers.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pointers_map_to_their_lines() {
        let want = set(&["/a/0", "/a/1", "/a/1/b", "/a/2", "/c~0~1d", ""]);
        let src = r#"{"a":[1,{"b":2,"z":[3]},[]],"c~/d":"x\ny","e":{}}"#;
        let p = pretty(src, &want).unwrap();
        let v: Value = serde_json::from_str(&p.text).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(src).unwrap(), "the pretty text is the same JSON");
        // no array of scalars here: laid out as serde_json does
        assert_eq!(*p.text, serde_json::to_string_pretty(&v).unwrap() + "\n");
        let line = |n: usize| p.text.lines().nth(n - 1).unwrap();
        let (f, l) = p.lines["/a/1"];
        assert_eq!((line(f).trim(), line(l).trim()), ("{", "},"));
        assert!(line(p.lines["/a/1/b"].0).contains("\"b\": 2"));
        assert!(line(p.lines["/c~0~1d"].0).contains("\"x\\ny\""));
        let span = |first: &str, last: Option<&str>| Span {
            bytes: 0..0,
            lines: crate::ledger::Lines { first: 1, last: 1 },
            pointer: Some(first.into()),
            pointer_last: last.map(Into::into),
        };
        assert_eq!(span_lines(&p, &span("/a/0", None), 3), Some((p.lines["/a/0"].0, p.lines["/a/2"].1)));
        let (a, c) = (p.lines["/a/1"].0, p.lines["/c~0~1d"].1);
        assert_eq!(span_lines(&p, &span("/a/1", Some("/c~0~1d")), 2), Some((a, c)), "a run of members names its last");
        assert_eq!(span_lines(&p, &span("/a/1/b", None), 1), Some(p.lines["/a/1/b"]));
        assert_eq!(p.lines[""], (1, p.text.lines().count()));
        assert!(!p.lines.contains_key("/e"), "only wanted pointers are recorded");
        assert!(pretty("not json", &want).is_none() && pretty("[1,2", &want).is_none());
        assert!(pretty("[1]]", &want).is_none() && pretty("\"open", &want).is_none());
        // the same layout from compact text, from text with whitespace, and with nothing wanted
        let spaced = "{ \"a\" : [ 1 , { \"b\" : 2 , \"z\":[ 3 ] } , [ ] ] ,\n\t\"c~/d\": \"x\\ny\", \"e\": { } }";
        assert_eq!(pretty(spaced, &HashSet::new()).unwrap().text, p.text);
        assert!(!p.capped);
    }

    #[test]
    fn arrays_of_scalars_are_packed_and_their_items_keep_their_lines() {
        let items: Vec<String> = (0..200).map(|i| format!("{}", i * 1000)).collect();
        let src = format!(r#"{{"n":[{}],"e":[[],{{}},"s",null],"one":[true]}}"#, items.join(","));
        let p = pretty(&src, &set(&["/n/0", "/n/199", "/n/57", "/e/1"])).unwrap();
        let v: Value = serde_json::from_str(&p.text).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(&src).unwrap());
        let lines: Vec<&str> = p.text.lines().collect();
        assert!(lines.iter().all(|l| l.len() <= WIDTH), "{}", p.text);
        // 200 numbers of up to 6 digits, 8 columns each, in lines of 80
        let number_lines = lines.iter().filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit())).count();
        assert!((20..=26).contains(&number_lines), "{number_lines} lines:\n{}", p.text);
        assert!(lines.contains(&"    [], {}, \"s\", null"), "empty containers pack with scalars");
        assert!(lines.contains(&"    true"));
        for (pointer, item) in [("/n/0", "0,"), ("/n/57", "57000,"), ("/n/199", "199000")] {
            let (first, last) = p.lines[pointer];
            assert_eq!(first, last);
            assert!(lines[first - 1].split(' ').any(|w| w == item), "{pointer} on line {first}: {}", lines[first - 1]);
        }
        assert!(lines[p.lines["/e/1"].0 - 1].contains("{}"));
        // an array holding a container is not packed, however many scalars it has
        let mixed = pretty("[1,2,3,{\"a\":[4,5]}]", &HashSet::new()).unwrap();
        assert_eq!(&*mixed.text, "[\n  1,\n  2,\n  3,\n  {\n    \"a\": [\n      4, 5\n    ]\n  }\n]\n");
        // an item wider than a line gets one of its own
        let long = "x".repeat(150);
        let wide = pretty(&format!(r#"[1,"{long}",2]"#), &HashSet::new()).unwrap();
        assert_eq!(&*wide.text, format!("[\n  1,\n  \"{long}\",\n  2\n]\n"));
    }

    #[test]
    fn small_containers_pack_one_a_line_item_and_their_members_keep_their_line() {
        // at most 7 children, all scalars or empty containers: one item each, packed
        let src = r#"[{"a":1},{ "b" : "x\u00e9" , "c":[ ] },[1,"]",{}],{"k":"}"},[1,2,3,4,5,6,7]]"#;
        let p = pretty(src, &set(&["/1/b", "/3/k", "/4"])).unwrap();
        assert_eq!(
            &*p.text,
            "[\n  {\"a\": 1}, {\"b\": \"xé\", \"c\": []}, [1, \"]\", {}], {\"k\": \"}\"},\n  [1, 2, 3, 4, 5, 6, 7]\n]\n"
        );
        assert_eq!(p.lines["/1/b"], (2, 2));
        assert_eq!(p.lines["/3/k"], (2, 2));
        assert_eq!(p.lines["/4"], (3, 3));
        assert_eq!(serde_json::from_str::<Value>(&p.text).unwrap(), serde_json::from_str::<Value>(src).unwrap());
        // 8 children, or one with something in it: the array is laid out one item a line
        for src in [r#"[1,[1,2,3,4,5,6,7,8]]"#, r#"[{"a":[1]},2]"#, r#"[[],{"a":{"b":1}}]"#] {
            let p = pretty(src, &HashSet::new()).unwrap();
            assert!(p.text.lines().count() > 4, "{src}: {}", p.text);
        }
        // an empty container before one that is not small does not end the look ahead
        let p = pretty(r#"[[],{"a":[1]}]"#, &HashSet::new()).unwrap();
        assert_eq!(&*p.text, "[\n  [],\n  {\n    \"a\": [\n      1\n    ]\n  }\n]\n");
    }

    #[test]
    fn a_packed_array_notes_its_line_breaks_and_follows_given_ones() {
        let items: Vec<String> = (0..30).map(|i| format!("{}", 100_000 + i)).collect();
        let src = format!(r#"{{"n":[{}],"m":[1,2,3,4]}}"#, items.join(","));
        let ask = Ask { rows: set(&["/n", "/m", "/absent"]), ..Ask::default() };
        let p = pretty_with(&src, &ask).unwrap();
        // 8 columns an item in lines of 80 with 4 of indentation: 9 items a line
        assert_eq!(p.rows["/n"], (vec![0, 9, 18, 27], 30), "{}", p.text);
        assert_eq!(p.rows["/m"], (vec![0], 4));
        assert_eq!(p.rows.len(), 2);
        // given breaks are followed, and items past the plan are packed by width
        let breaks = HashMap::from([("/n".to_string(), (vec![0, 2, 3], 5))]);
        let q = pretty_with(&src, &Ask { breaks, ..Ask::default() }).unwrap();
        let lines: Vec<&str> = q.text.lines().collect();
        assert_eq!(lines[2..4], ["    100000, 100001,", "    100002,"]);
        assert!(lines[4].starts_with("    100003, 100004, 100005,") && lines[4].len() <= WIDTH, "{}", q.text);
        assert_eq!(serde_json::from_str::<Value>(&q.text).unwrap(), serde_json::from_str::<Value>(&src).unwrap());
    }

    #[test]
    fn text_is_shown_as_written_except_for_escapes() {
        let src = r#"{"n":[1E5,1e400,-0.0,12345678901234567890123],"k":1,"k":2,"s":"caf\u00e9 \/ \"q\" \ud800"}"#;
        let p = pretty(src, &HashSet::new()).unwrap();
        assert!(p.text.contains("1E5, 1e400, -0.0, 12345678901234567890123"), "{}", p.text);
        assert!(p.text.contains("\"k\": 1,\n  \"k\": 2,"), "a key written twice stays twice: {}", p.text);
        // a lone surrogate does not decode: that string is shown as written
        assert!(p.text.contains(r#""caf\u00e9 \/ \"q\" \ud800""#), "{}", p.text);
        let p = pretty(r#"["caf\u00e9 \/ \"q\""]"#, &HashSet::new()).unwrap();
        assert_eq!(&*p.text, "[\n  \"café / \\\"q\\\"\"\n]\n");
    }

    #[test]
    fn deep_nesting_stops_indenting_and_nothing_past_serde_json_s_limit_is_laid_out() {
        let deep = "[".repeat(200_000);
        assert!(pretty(&deep, &HashSet::new()).is_none());
        let closed = format!("{}1{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(pretty(&closed, &HashSet::new()).is_none());
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let p = pretty(&at_limit, &HashSet::new()).unwrap();
        assert!(p.capped);
        let widest = p.text.lines().map(|l| l.len() - l.trim_start().len()).max().unwrap();
        assert_eq!(widest, 2 * MAX_INDENT);
        // a 127-deep array of a hundred thousand numbers: packed, and indented no further than the cap
        let items = vec!["1"; 100_000].join(",");
        let deep_items = format!("{}{items}{}", "[".repeat(127), "]".repeat(127));
        let p = pretty(&deep_items, &HashSet::new()).unwrap();
        assert!(p.text.len() < 3 * deep_items.len(), "{} bytes from {}", p.text.len(), deep_items.len());
        assert!(p.text.lines().count() < 2 * 127 + 100_000 * 3 / MIN_PACKED + 2);
        let shallow = pretty("[[1]]", &HashSet::new()).unwrap();
        assert!(!shallow.capped);
    }
}
