//! Shared checks for the integration tests: every marker and drop accounted for, and the original
//! rebuilt from the output plus the ledger.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ctxlens::ledger::{Key, MARKER_RE, Unit};
use ctxlens::{Config, Context, EngineChoice, Outcome};
use serde_json::Value;

/// The venv's python with the real headroom-ai, which the test command installs (`ctxlens bridge
/// install --venv target/headroom-venv` in scripts/test.sh).
pub fn headroom_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/headroom-venv/bin/python");
    assert!(
        python.exists(),
        "this test needs headroom-ai in target/headroom-venv: run `ctxlens bridge install --venv target/headroom-venv` (scripts/test.sh does)"
    );
    python
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn read(rel: &str) -> String {
    let p = fixtures().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every fixture file of a folder (text ones).
pub fn fixture_files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| !n.ends_with(".tar.gz"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    v.sort();
    v
}

pub fn run(input: &str, choice: EngineChoice, config: &Config) -> Outcome {
    ctxlens::compress(input, choice, config, &Context::default())
}

/// Markers and drops agree with each other and with the output: each marker's text is in the
/// output exactly once, each drop points at a marker that covers it, every marker in the output
/// is in the ledger, and every key retrieves bytes that hash to it.
pub fn check_ledger(o: &Outcome) {
    let l = &o.ledger;
    if l.drops.is_empty() {
        assert!(l.markers.is_empty());
        assert!(!MARKER_RE.is_match(&o.output), "a marker without drops");
        return;
    }
    assert!(!l.markers.is_empty(), "drops but no marker");
    for (i, m) in l.markers.iter().enumerate() {
        // Keys are content hashes, so two identical drops give two identical markers.
        let same = l.markers.iter().filter(|x| x.text == m.text).count();
        assert_eq!(
            o.output.matches(&m.text).count(),
            same,
            "marker {i} `{}` must appear once per ledger entry",
            m.text
        );
        assert!(!m.covers.is_empty());
        for &d in &m.covers {
            assert_eq!(l.drops[d].marker, i);
        }
        let payload = o.retrieve(&m.key).expect("marker key retrieves");
        assert_eq!(Key::of(payload.as_bytes()), m.key);
    }
    let in_output: Vec<String> = MARKER_RE.captures_iter(&o.output).map(|c| c[2].to_string()).collect();
    assert_eq!(in_output.len(), l.markers.len(), "markers in the output vs ledger");
    for (d_i, d) in l.drops.iter().enumerate() {
        assert!(d.marker < l.markers.len(), "drop {d_i} has no marker");
        assert!(l.markers[d.marker].covers.contains(&d_i));
        assert!(d.count > 0);
        // a lookup hashes the drops it passes: a few hundred are enough to show keys retrieve
        if d_i < 300 {
            let key = d.key(&o.original);
            let bytes = o.retrieve(&key).expect("drop key retrieves");
            assert_eq!(bytes, &o.original[d.span.bytes.clone()]);
            assert_eq!(Key::of(bytes.as_bytes()), key);
        }
    }
    // Spans do not overlap (JSON spans nest: inner drops live in kept elements, so they never overlap either).
    let mut spans: Vec<_> = l.drops.iter().map(|d| d.span.bytes.clone()).collect();
    spans.sort_by_key(|s| (s.start, s.end));
    for w in spans.windows(2) {
        assert!(w[0].end <= w[1].start, "overlapping drops {:?} {:?}", w[0], w[1]);
    }
}

/// A line that holds a marker and nothing else but a comment token or the closing quotes or
/// `*/` of a cut docstring or block comment.
fn is_marker_line(line: &str) -> bool {
    let Some(m) = MARKER_RE.find(line) else { return false };
    if !line[m.end()..].trim().is_empty() {
        return false;
    }
    let before = line[..m.start()].trim();
    ["", "#", "//", "///", "//!", "\"\"\"  #", "'''  #", "*/  //", "*/  #"].contains(&before)
}

/// For line-based engines: the original with every dropped span removed equals the output with
/// every marker line removed (hunk headers, which the diff engine recomputes, are ignored).
pub fn check_lines_reconstruct(o: &Outcome) {
    let mut spans: Vec<_> = o.ledger.drops.iter().map(|d| d.span.bytes.clone()).collect();
    spans.sort_by_key(|s| s.start);
    let mut kept = String::new();
    let mut cursor = 0;
    for s in spans {
        kept.push_str(&o.original[cursor..s.start]);
        cursor = s.end;
    }
    kept.push_str(&o.original[cursor..]);
    let strip = |t: &str| -> Vec<String> {
        t.lines().filter(|l| !is_marker_line(l) && !l.starts_with("@@ -")).map(str::to_string).collect()
    };
    let want = strip(&kept);
    let got = strip(&o.output);
    if want != got {
        let first = want.iter().zip(&got).position(|(a, b)| a != b).unwrap_or(want.len().min(got.len()));
        panic!(
            "reconstruction differs at line {first}: want {:?} got {:?} (lens {} vs {})",
            want.get(first),
            got.get(first),
            want.len(),
            got.len()
        );
    }
}

/// Removes every ctxlens marker from a JSON value (array elements, object members, string tails).
pub fn strip_json_markers(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.retain(|x| !is_json_marker(x));
            a.iter_mut().for_each(strip_json_markers);
        }
        Value::Object(m) => {
            m.retain(|k, x| !(k.starts_with("_ctxlens_omitted") && x.as_str().is_some_and(|s| MARKER_RE.is_match(s))));
            m.values_mut().for_each(strip_json_markers);
        }
        Value::String(s) => {
            if let Some(i) = s.find("… [ctxlens: ")
                && MARKER_RE.is_match(&s[i..])
            {
                s.truncate(i);
            }
        }
        _ => {}
    }
}

fn is_json_marker(v: &Value) -> bool {
    match v {
        Value::String(s) => s.starts_with("[ctxlens: ") && MARKER_RE.is_match(s),
        Value::Object(m) => {
            m.len() == 1 && m.get("_ctxlens_omitted").and_then(Value::as_str).is_some_and(|s| MARKER_RE.is_match(s))
        }
        _ => false,
    }
}

/// Applies the ledger's drops to the original JSON by pointer: array items and object members are
/// removed, string tails cut. `original` is a document or JSON Lines.
pub fn json_minus_drops(o: &Outcome) -> Value {
    let mut root = parse_json_or_lines(&o.original);
    // Deepest and latest first, so earlier indices stay valid.
    let mut drops: Vec<_> = o.ledger.drops.iter().collect();
    drops.sort_by(|a, b| {
        let pa = a.span.pointer.as_deref().unwrap_or("");
        let pb = b.span.pointer.as_deref().unwrap_or("");
        let depth = |p: &str| p.matches('/').count();
        depth(pb).cmp(&depth(pa)).then(b.span.bytes.start.cmp(&a.span.bytes.start))
    });
    for d in drops {
        let ptr = d.span.pointer.as_deref().expect("JSON drops carry a pointer");
        if ptr.is_empty() {
            assert_eq!(d.unit, Unit::Chars, "only a string tail can be dropped from the root");
            cut_tail(&mut root, d.count);
            continue;
        }
        let (parent, last) = ptr.rsplit_once('/').expect("pointer has a parent");
        let target = root.pointer_mut(parent).unwrap_or_else(|| panic!("no parent {parent}"));
        let token = last.replace("~1", "/").replace("~0", "~");
        match (d.unit, target) {
            (Unit::Chars, Value::Object(m)) => cut_tail(m.get_mut(&token).unwrap(), d.count),
            (Unit::Chars, Value::Array(a)) => cut_tail(&mut a[token.parse::<usize>().unwrap()], d.count),
            (_, Value::Array(a)) => {
                let i: usize = token.parse().unwrap();
                a.drain(i..i + d.count);
            }
            (_, Value::Object(m)) => {
                // a run of members: `count` keys in document order, from the pointer's to the
                // last pointer's
                let gone: Vec<String> = m.keys().skip_while(|k| **k != token).take(d.count).cloned().collect();
                assert_eq!(gone.len(), d.count, "a run of {} keys from {token} in {}", d.count, m.len());
                gone.iter().for_each(|k| assert!(m.shift_remove(k).is_some()));
                let last = d.span.pointer_last.as_deref().map_or(ptr, |l| l);
                let want = last.rsplit_once('/').expect("pointer has a parent").1.replace("~1", "/").replace("~0", "~");
                assert_eq!(gone.last(), Some(&want), "the run at {ptr} ends at its last pointer");
            }
            (u, other) => panic!("drop {u:?} at {ptr} in {other}"),
        }
    }
    root
}

fn cut_tail(v: &mut Value, chars: usize) {
    let s = v.as_str().unwrap();
    let keep = s.chars().count() - chars;
    *v = Value::String(s.chars().take(keep).collect());
}

pub fn parse_json_or_lines(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| {
        Value::Array(serde_json::Deserializer::from_str(text).into_iter::<Value>().map(|v| v.unwrap()).collect())
    })
}

/// The JSON engine's output, with markers removed, equals the original with the drops applied.
pub fn check_json_reconstruct(o: &Outcome) {
    let mut out = parse_json_or_lines(&o.output);
    strip_json_markers(&mut out);
    let want = json_minus_drops(o);
    assert!(out == want, "JSON output minus markers differs from original minus drops");
}
