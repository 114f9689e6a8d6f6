//! JSON pretty-printing that remembers which lines each value landed on, by JSON pointer, so a
//! ledger drop recorded against the compact original (`/items/5`, 12 items) can be shown on the
//! pretty-printed lines of the side-by-side view.

use std::collections::HashMap;

use serde_json::Value;

/// Pretty text and, per JSON pointer, the 1-based first and last line of its value.
pub struct Pretty {
    pub text: String,
    pub lines: HashMap<String, (usize, usize)>,
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

struct Printer {
    out: String,
    line: usize,
    lines: HashMap<String, (usize, usize)>,
}

impl Printer {
    fn push(&mut self, s: &str) {
        self.line += s.bytes().filter(|b| *b == b'\n').count();
        self.out.push_str(s);
    }

    fn value(&mut self, v: &Value, indent: usize, pointer: &mut String) {
        let first = self.line;
        let pad = "  ".repeat(indent + 1);
        match v {
            Value::Array(items) if !items.is_empty() => {
                self.push("[\n");
                for (i, item) in items.iter().enumerate() {
                    self.push(&pad);
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    self.value(item, indent + 1, pointer);
                    pointer.truncate(len);
                    self.push(if i + 1 < items.len() { ",\n" } else { "\n" });
                }
                self.push(&"  ".repeat(indent));
                self.push("]");
            }
            Value::Object(map) if !map.is_empty() => {
                self.push("{\n");
                for (i, (k, item)) in map.iter().enumerate() {
                    self.push(&pad);
                    self.push(&serde_json::to_string(k).unwrap_or_default());
                    self.push(": ");
                    let len = pointer.len();
                    pointer.push('/');
                    pointer.push_str(&escape(k));
                    self.value(item, indent + 1, pointer);
                    pointer.truncate(len);
                    self.push(if i + 1 < map.len() { ",\n" } else { "\n" });
                }
                self.push(&"  ".repeat(indent));
                self.push("}");
            }
            other => self.push(&serde_json::to_string(other).unwrap_or_default()),
        }
        self.lines.insert(pointer.clone(), (first, self.line));
    }
}

/// Pretty-prints `text` when it is JSON.
pub fn pretty(text: &str) -> Option<Pretty> {
    let v: Value = serde_json::from_str(text).ok()?;
    let mut p = Printer { out: String::with_capacity(text.len() * 2), line: 1, lines: HashMap::new() };
    p.value(&v, 0, &mut String::new());
    p.out.push('\n');
    Some(Pretty { text: p.out, lines: p.lines })
}

/// The pretty lines of `count` items starting at `pointer` (`/a/5` with 3 items covers `/a/5`
/// to `/a/7`); a key or string pointer covers its own value.
pub fn span_lines(p: &Pretty, pointer: &str, count: usize) -> Option<(usize, usize)> {
    let (first, last) = *p.lines.get(pointer)?;
    if count > 1
        && let Some((parent, idx)) = pointer.rsplit_once('/')
        && let Ok(i) = idx.parse::<usize>()
        && let Some((_, end)) = p.lines.get(&format!("{parent}/{}", i + count - 1))
    {
        return Some((first, *end));
    }
    Some((first, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_map_to_their_lines() {
        let p = pretty(r#"{"a":[1,{"b":2},[]],"c~/d":"x","e":{}}"#).unwrap();
        let v: Value = serde_json::from_str(&p.text).unwrap();
        assert_eq!(v["a"][1]["b"], 2, "the pretty text is the same JSON");
        let line = |n: usize| p.text.lines().nth(n - 1).unwrap();
        let (f, l) = p.lines["/a/1"];
        assert_eq!((line(f).trim(), line(l).trim()), ("{", "},"));
        assert!(line(p.lines["/a/1/b"].0).contains("\"b\": 2"));
        assert!(line(p.lines["/c~0~1d"].0).contains("\"x\""));
        assert_eq!(span_lines(&p, "/a/0", 3), Some((p.lines["/a/0"].0, p.lines["/a/2"].1)));
        assert_eq!(p.lines[""], (1, p.text.lines().count()));
        assert!(pretty("not json").is_none());
    }
}
