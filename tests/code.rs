//! The code engine on real source files in every supported language: the output parses with no
//! syntax error the input did not have, is smaller, keeps source order, and its ledger accounts for
//! every cut line.

mod common;

use common::*;
use ctxlens::engine::lang::{self, Lang};
use ctxlens::{Config, Context, EngineChoice, EngineKind};

fn run_code(input: &str, path: &str, config: &Config) -> ctxlens::Outcome {
    let ctx = Context { path: Some(path.to_string()), ..Context::default() };
    ctxlens::compress(input, EngineChoice::Only(EngineKind::Code), config, &ctx)
}

/// Top-level item names (by line start) in order, to check nothing moved.
fn signature_lines(text: &str, lang: Lang) -> Vec<&str> {
    let starts: &[&str] = match lang {
        Lang::Python => &["def ", "class ", "import ", "from ", "@"],
        Lang::Rust => &["pub fn ", "fn ", "impl", "pub struct ", "struct ", "pub enum ", "enum ", "use "],
        Lang::Go => &["func ", "type ", "import ", "package "],
        _ => &["function ", "export ", "import ", "class ", "public ", "#include", "static "],
    };
    text.lines().filter(|l| starts.iter().any(|s| l.trim_start().starts_with(s))).map(str::trim_start).collect()
}

#[test]
fn every_code_fixture_stays_parseable_smaller_and_accounted() {
    let mut languages = std::collections::HashSet::new();
    for f in fixture_files("code") {
        let input = read(&f);
        let l = Lang::from_path(&f).expect("fixtures have a source extension");
        let o = run_code(&input, &f, &Config::default());
        let before = lang::error_count(lang::parse(l, &input).unwrap().root_node());
        let after = lang::error_count(lang::parse(l, &o.output).unwrap().root_node());
        assert!(after <= before, "{f}: {after} syntax errors after, {before} before");
        assert!(o.tokens_out <= o.tokens_in, "{f}");
        check_ledger(&o);
        check_lines_reconstruct(&o);
        // Signatures keep their order; one that is gone was inside a cut body (a nested function).
        let out_sigs = signature_lines(&o.output, l);
        let mut it = out_sigs.iter().peekable();
        let mut offset = 0;
        for line in input.split_inclusive('\n') {
            let sig = line.trim_start().trim_end_matches(['\n', '\r']);
            if signature_lines(line, l).len() == 1 {
                if it.peek().is_some_and(|s| **s == sig) {
                    it.next();
                } else {
                    assert!(
                        o.ledger.drops.iter().any(|d| d.span.bytes.contains(&offset)),
                        "{f}: signature {sig:?} vanished outside every dropped span"
                    );
                }
            }
            offset += line.len();
        }
        assert!(it.next().is_none(), "{f}: signatures out of order");
        if o.decision.acted() {
            languages.insert(l);
            assert!(o.tokens_out < o.tokens_in);
            for m in &o.ledger.markers {
                let marker_line = o.output.lines().find(|line| line.contains(&m.text)).unwrap();
                let token = if l == Lang::Python { "# [ctxlens: " } else { "// [ctxlens: " };
                assert!(marker_line.contains(token) || marker_line.contains("/// [ctxlens: "), "{f}: {marker_line}");
            }
        } else {
            assert_eq!(o.output, input);
        }
    }
    for l in Lang::ALL {
        assert!(languages.contains(&l), "no fixture compressed as {l}");
    }
}

#[test]
fn cut_bodies_name_their_calls_and_line_counts() {
    let input = read("code/requests-sessions.py");
    let o = run_code(&input, "sessions.py", &Config::default());
    let m =
        o.ledger.markers.iter().find(|m| m.phrase.contains("resolve_redirects()")).expect("resolve_redirects is cut");
    assert!(m.phrase.contains("lines of resolve_redirects() omitted"), "{}", m.phrase);
    assert!(m.phrase.contains("calls: "), "{}", m.phrase);
    let lines: usize = m.covers.iter().map(|&d| o.ledger.drops[d].count).sum();
    assert!(m.phrase.starts_with(&format!("{lines} lines")), "{} vs {lines}", m.phrase);
}

#[test]
fn nested_wrappers_are_emitted_once() {
    let input = read("code/lodash-debounce.js");
    let o = run_code(&input, "debounce.js", &Config::default());
    assert!(o.decision.acted());
    for name in [
        "function debounce(",
        "function invokeFunc(",
        "function leadingEdge(",
        "function trailingEdge(",
        "function debounced(",
    ] {
        assert_eq!(o.output.matches(name).count(), 1, "{name}");
    }
    assert!(o.output.contains("return debounced;"), "the wrapper's own code stays");
}

#[test]
fn macros_generics_decorators_and_unicode() {
    // Rust macro_rules and macro calls pass through untouched when nothing can be cut.
    let macros = read("code/serde_json-macros.rs");
    let o = run_code(&macros, "macros.rs", &Config::default());
    assert!(o.output.contains("macro_rules! json"));
    // Generics in signatures survive.
    let ts = read("code/rxjs-Observable.ts");
    let o = run_code(&ts, "Observable.ts", &Config::default());
    assert!(o.output.contains("lift<R>(operator?: Operator<T, R>): Observable<R> {"));
    // Decorators and unicode identifiers.
    let mut py = String::from(
        "import functools\n\n\n@functools.lru_cache(maxsize=None)\n@другой\ndef größe(ξ, *args):\n    \"\"\"Größe berechnen.\"\"\"\n",
    );
    for i in 0..15 {
        py.push_str(&format!("    ξ = helper_{i}(ξ) + len(args)\n"));
    }
    py.push_str("    return ξ\n\n\nclass Ünit:\n    pass\n");
    let o = run_code(&py, "u.py", &Config::default());
    assert!(o.decision.acted(), "{:?}", o.decision);
    assert!(o.output.contains(
        "@functools.lru_cache(maxsize=None)\n@другой\ndef größe(ξ, *args):\n    \"\"\"Größe berechnen.\"\"\"\n"
    ));
    assert!(o.output.contains("class Ünit:"));
    assert_eq!(lang::error_count(lang::parse(Lang::Python, &o.output).unwrap().root_node()), 0);
    check_ledger(&o);
    check_lines_reconstruct(&o);
}

#[test]
fn knobs_change_the_cut() {
    let input = read("code/express-router.js");
    let default = run_code(&input, "index.js", &Config::default());
    let mut roomy = Config::default();
    roomy.set("code.max_body_lines=40").unwrap();
    roomy.set("code.target_compression_rate=0.9").unwrap();
    let more = run_code(&input, "index.js", &roomy);
    assert!(more.tokens_out > default.tokens_out, "{} vs {}", more.tokens_out, default.tokens_out);
    let mut full = Config::default();
    full.set("code.docstring_mode=\"full\"").unwrap();
    let py = read("code/requests-sessions.py");
    let with_docs = run_code(&py, "s.py", &full);
    assert!(!with_docs.ledger.markers.iter().any(|m| m.phrase.contains("docstring")));
    // a language the engine does not know is refused when set, not on every block at run time
    let e = Config::default().set("code.language_hint=\"cobol\"").unwrap_err().to_string();
    assert!(e.contains("unknown language `cobol`"), "{e}");
    let mut hint = Config::default();
    hint.set("code.language_hint=\"go\"").unwrap();
    let o = run_code(&py, "s.py", &hint);
    // the hint is obeyed: Python read as Go has syntax errors and no bodies, and the reason says so
    assert!(
        o.decision.reason().contains("go: 0 function bodies") && o.decision.reason().contains("syntax error"),
        "{:?}",
        o.decision
    );
}

#[test]
fn stdin_code_is_detected_by_content() {
    for (f, want) in [
        ("code/pkg-errors.go", "go"),
        ("code/serde_json-value-mod.rs", "rust"),
        ("code/requests-sessions.py", "python"),
    ] {
        let input = read(f);
        let o = ctxlens::compress(&input, EngineChoice::Auto, &Config::default(), &Context::default());
        assert_eq!(o.engine, Some(EngineKind::Code), "{f}");
        assert!(o.decision.reason().starts_with(want), "{f}: {}", o.decision.reason());
    }
}

/// What a read tool or `cat -n` shows of a file: each line after its number and a separator.
fn numbered(code: &str, sep: &str, line_break: &str) -> String {
    code.lines().enumerate().map(|(i, l)| format!("{:6}{sep}{l}{line_break}", i + 1)).collect()
}

#[test]
fn a_numbered_listing_is_cut_as_its_code_with_every_kept_line_numbered() {
    let mut cut = 0;
    for f in fixture_files("code") {
        let code = read(&f);
        // the same code with no name, as the listing has none
        let plain = ctxlens::compress(&code, EngineChoice::Auto, &Config::default(), &Context::default());
        for (sep, line_break) in [("\t", "\n"), ("→", "\n"), ("→", "\r\n")] {
            let listing = numbered(&code, sep, line_break);
            let o = ctxlens::compress(&listing, EngineChoice::Auto, &Config::default(), &Context::default());
            let what = format!("{f} numbered with {sep:?} and {line_break:?}");
            check_ledger(&o);
            if plain.engine != Some(EngineKind::Code) || !plain.decision.acted() {
                continue;
            }
            assert!(o.decision.acted(), "{what}: {:?}", o.decision);
            let reasons = |o: &ctxlens::Outcome| o.ledger.drops.iter().map(|d| d.reason.clone()).collect::<Vec<_>>();
            assert_eq!(reasons(&o), reasons(&plain), "{what}: the cuts of the code itself");
            // every line of the output has its number: a kept line is the input's line of that
            // number, a marker line takes the number of the first line it stands for
            let input: Vec<&str> = code.lines().collect();
            let mut last = 0;
            for line in o.output.lines() {
                let (number, text) = line.split_once(sep).unwrap_or_else(|| panic!("{what}: {line:?} has no number"));
                let n: usize = number.trim().parse().unwrap_or_else(|_| panic!("{what}: {line:?}"));
                assert!(n > last, "{what}: {n} after {last}");
                last = n;
                if !text.contains("[ctxlens: ") {
                    assert_eq!(text, input[n - 1], "{what}: line {n}");
                }
            }
            assert_eq!(o.output.matches('\n').count(), o.output.matches(line_break).count(), "{what}: line breaks");
            let r = ctxlens::retention::of_outcome(&o, None, None);
            let signatures = r.metrics.iter().find(|m| m.name == "signatures").expect("signatures measured");
            assert!(signatures.total > 0 && signatures.share == 1.0, "{what}: {signatures:?}");
            // checked as the code it lists: no syntax error the code did not have
            let valid = ctxlens::audit::checks::validity(EngineKind::Code, &listing, &o.output, None);
            assert_eq!(valid, Some(Ok(())), "{what}");
            cut += 1;
        }
    }
    assert!(cut >= 15, "{cut} listings cut");
}

#[test]
fn a_large_source_is_cut_part_by_part_with_the_cuts_of_the_whole() {
    // 2.5 MB of Python: over twice the part size, so it is parsed one part at a time
    let one = read("code/requests-sessions.py");
    let copies = (5 << 19) / one.len() + 1;
    let input = one.repeat(copies);
    let single = run_code(&one, "sessions.py", &Config::default());
    let o = run_code(&input, "sessions.py", &Config::default());
    let strategy = match &o.decision {
        ctxlens::Decision::Acted { strategy } => strategy.clone(),
        other => panic!("{other:?}"),
    };
    assert!(strategy.contains("parts of about 1 MB"), "{strategy}");
    assert_eq!(o.ledger.drops.len(), copies * single.ledger.drops.len(), "each copy cut as it is alone");
    assert!(o.output == single.output.repeat(copies), "the same output as each copy alone");
    check_ledger(&o);
    check_lines_reconstruct(&o);
    let errors = |t: &str| lang::error_count(lang::parse(Lang::Python, t).unwrap().root_node());
    assert_eq!(errors(&o.output), 0);
}
