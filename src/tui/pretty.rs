//! JSON pretty-printing that remembers which lines some values landed on, by JSON pointer, so a
//! ledger drop recorded against the original (`/items/5`, 12 items) can be shown on the
//! pretty-printed lines of the side-by-side view.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;

use serde_json::Value;

use crate::ledger::Span;

/// The deepest nesting laid out: serde_json's own recursion limit, so [`pretty`] and
/// [`reindent`] agree on what they lay out, and indentation stays at most 256 columns.
pub const MAX_DEPTH: usize = 128;

/// Pretty text and, for each pointer asked for, the 1-based first and last line of its value.
pub struct Pretty {
    pub text: Arc<str>,
    pub lines: HashMap<String, (usize, usize)>,
}

struct Printer<'a> {
    out: Vec<u8>,
    line: usize,
    /// `None`: every pointer.
    wanted: Option<&'a HashSet<String>>,
    lines: HashMap<String, (usize, usize)>,
}

impl Printer<'_> {
    fn newline(&mut self, indent: usize) {
        self.out.push(b'\n');
        self.line += 1;
        self.out.resize(self.out.len() + 2 * indent, b' ');
    }

    fn value(&mut self, v: &Value, indent: usize, pointer: &mut String) {
        let first = self.line;
        match v {
            Value::Array(items) if !items.is_empty() => {
                self.out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    self.newline(indent + 1);
                    let len = pointer.len();
                    let _ = std::fmt::Write::write_fmt(pointer, format_args!("/{i}"));
                    self.value(item, indent + 1, pointer);
                    pointer.truncate(len);
                    if i + 1 < items.len() {
                        self.out.push(b',');
                    }
                }
                self.newline(indent);
                self.out.push(b']');
            }
            Value::Object(map) if !map.is_empty() => {
                self.out.push(b'{');
                for (i, (k, item)) in map.iter().enumerate() {
                    self.newline(indent + 1);
                    let _ = serde_json::to_writer(&mut self.out, k);
                    self.out.extend_from_slice(b": ");
                    let len = pointer.len();
                    pointer.push('/');
                    if k.contains(['~', '/']) {
                        pointer.push_str(&crate::ledger::escape_pointer(k));
                    } else {
                        pointer.push_str(k);
                    }
                    self.value(item, indent + 1, pointer);
                    pointer.truncate(len);
                    if i + 1 < map.len() {
                        self.out.push(b',');
                    }
                }
                self.newline(indent);
                self.out.push(b'}');
            }
            other => {
                let _ = serde_json::to_writer(&mut self.out, other);
            }
        }
        if self.wanted.is_none_or(|w| !w.is_empty() && w.contains(pointer.as_str())) {
            self.lines.insert(pointer.clone(), (first, self.line));
        }
    }
}

/// Pretty-prints `text` when it is JSON, noting the lines of the `wanted` pointers (`None`: all).
pub fn pretty(text: &str, wanted: Option<&HashSet<String>>) -> Option<Pretty> {
    let v: Value = serde_json::from_str(text).ok()?;
    let mut p = Printer { out: Vec::with_capacity(text.len() * 2), line: 1, wanted, lines: HashMap::new() };
    p.value(&v, 0, &mut String::new());
    let _ = writeln!(p.out);
    Some(Pretty { text: Arc::from(std::str::from_utf8(&p.out).ok()?), lines: p.lines })
}

/// Lays out compact JSON (as serde_json writes it: no whitespace outside strings) exactly as
/// [`pretty`] would, without parsing it into values: an engine's output is already canonical, and
/// re-indenting it is several times faster than a parse and print. `None` when the text is not
/// one compact JSON value.
pub fn reindent(compact: &str) -> Option<Arc<str>> {
    let b = compact.as_bytes();
    let mut out = Vec::with_capacity(b.len() * 2);
    let mut depth = 0usize;
    let mut i = 0;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.resize(out.len() + 2 * depth, b' ');
    };
    while i < b.len() {
        match b[i] {
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                if b.get(i + 1) == Some(&close) {
                    out.extend_from_slice(&[open, close]);
                    i += 2;
                    continue;
                }
                out.push(open);
                depth += 1;
                if depth > MAX_DEPTH {
                    // deeper than serde_json parses: `pretty` would not lay it out either, and
                    // indenting it would grow quadratically (200 KB of `[` is 40 GB of spaces)
                    return None;
                }
                newline(&mut out, depth);
            }
            close @ (b'}' | b']') => {
                depth = depth.checked_sub(1)?;
                newline(&mut out, depth);
                out.push(close);
            }
            b',' => {
                out.push(b',');
                newline(&mut out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            b'"' => {
                let start = i;
                i += 1;
                while *b.get(i)? != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                out.extend_from_slice(&b[start..=i]);
            }
            c if c.is_ascii_whitespace() => return None,
            c => out.push(c),
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    out.push(b'\n');
    Some(Arc::from(String::from_utf8(out).ok()?))
}

/// The pointers whose lines [`span_lines`] needs for a dropped span: its first value's, and its
/// last's (a run of members names it; a run of `count` array items at `/a/5` ends at `/a/{5+count-1}`).
pub fn wanted(span: &Span, count: usize) -> [Option<String>; 2] {
    let end = span.pointer_last.clone().or_else(|| {
        (count > 1)
            .then(|| span.pointer.as_deref()?.rsplit_once('/'))
            .flatten()
            .and_then(|(parent, idx)| idx.parse::<usize>().ok().map(|i| format!("{parent}/{}", i + count - 1)))
    });
    [span.pointer.clone(), end]
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

    #[test]
    fn pointers_map_to_their_lines() {
        let want: HashSet<String> =
            ["/a/0", "/a/1", "/a/1/b", "/a/2", "/c~0~1d", ""].iter().map(|s| s.to_string()).collect();
        let src = r#"{"a":[1,{"b":2},[]],"c~/d":"x\ny","e":{}}"#;
        let p = pretty(src, Some(&want)).unwrap();
        let v: Value = serde_json::from_str(&p.text).unwrap();
        assert_eq!(v, serde_json::from_str::<Value>(src).unwrap(), "the pretty text is the same JSON");
        assert_eq!(*p.text, serde_json::to_string_pretty(&v).unwrap() + "\n", "laid out as serde_json does");
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
        assert!(pretty("not json", Some(&want)).is_none());
        // compact text re-indents to the same layout, without a parse
        for v in [src, "[]", "{}", "[{},[],[1,{\"a\":[]}]]", "\"s\\\"x\"", "12", r#"{"k\"":"v\\","n":null}"#] {
            let compact = serde_json::to_string(&serde_json::from_str::<Value>(v).unwrap()).unwrap();
            assert_eq!(reindent(&compact).as_deref(), Some(&*pretty(v, None).unwrap().text), "{v}");
        }
        assert!(reindent("{\"a\": 1}").is_none(), "not compact");
        assert!(reindent("[1,2").is_none() && reindent("[1]]").is_none() && reindent("\"open").is_none());
        // nesting past serde_json's limit is not laid out (it would grow quadratically)
        let deep = "[".repeat(200_000);
        assert!(reindent(&deep).is_none() && pretty(&deep, None).is_none());
        let at_limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(reindent(&at_limit).is_some());
        let all = pretty(src, None).unwrap();
        assert_eq!(all.text, p.text);
        assert!(all.lines.contains_key("/e") && all.lines.len() == 8);
    }
}
