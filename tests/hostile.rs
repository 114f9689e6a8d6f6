//! Hostile input: one regression test per way bad input crashed, blew up, lost data or leaked a
//! secret, and a secrets corpus run through every capture format.

mod common;

use std::process::Command;

use common::*;
use ctxlens::capture::{self, Event, Format};
use ctxlens::{Config, Context, EngineChoice, EngineKind};

/// Loads `bytes` as a capture named `name`.
fn load(name: &str, bytes: &[u8]) -> capture::Capture {
    let mut cap =
        capture::Capture { source: name.into(), format: Format::Plain, flows: vec![], problems: vec![], redacted: 0 };
    capture::load_bytes(name, bytes, &mut |e| match e {
        Event::Format(f) => cap.format = f,
        Event::Flow(f) => cap.flows.push(*f),
        Event::Problem(p) => cap.problems.push(p),
        Event::Redacted(n) => cap.redacted += n,
    });
    cap
}

fn demo_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("demo").join(name)).unwrap()
}

fn ctxlens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ctxlens")).args(args).output().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Crashes and blowups

#[test]
fn a_multibyte_character_across_the_detection_prefix_does_not_panic() {
    for pad in 190..210 {
        let text = format!("{{\"x\":\"{}é日本\", \"log\": 1}}\n", "a".repeat(pad));
        let c = load("t.json", text.as_bytes());
        assert_eq!(c.flows.len(), 1, "pad {pad}");
    }
}

#[test]
fn a_huge_sse_index_loads_without_allocating_for_it() {
    let sse = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"m\"}}\n\n\
               data: {\"type\":\"content_block_start\",\"index\": 1e12,\"content_block\":{\"type\":\"text\",\"text\":\"hi\"}}\n\n\
               data: {\"type\":\"content_block_start\",\"index\": 1000000000000,\"content_block\":{\"type\":\"text\",\"text\":\"yo\"}}\n\n";
    assert!(sse.len() < 400);
    let c = load("s.sse", sse.as_bytes());
    assert_eq!(c.format, Format::Sse);
    assert_eq!(c.flows.len(), 1);
    assert!(c.problems.iter().any(|p| p.reason.contains("truncated")), "{:?}", c.problems);
    // inside a HAR response too
    let har = serde_json::json!({"log": {"entries": [{
        "request": {"url": "https://api.anthropic.com/v1/messages",
                    "postData": {"text": "{\"model\":\"m\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}"}},
        "response": {"content": {"text": sse}}
    }]}});
    let c = load("h.har", har.to_string().as_bytes());
    assert_eq!(c.flows.len(), 1, "{:?}", c.problems);
}

#[test]
fn a_workbench_filter_of_100000_bangs_is_an_error() {
    let e = ctxlens::tui::filter::parse(&"!".repeat(100_000)).unwrap_err();
    assert!(e.message.contains("deep"), "{}", e.message);
}

#[test]
fn nesting_past_the_limit_is_not_laid_out() {
    let deep = "[".repeat(200_000);
    let none = Default::default();
    assert!(ctxlens::tui::pretty::pretty(&deep, &none).is_none());
    // a million numbers 127 arrays deep lay out in a few times their size (one to a line, they took over a hundred times)
    let items = format!("{}{}{}", "[".repeat(127), vec!["1"; 1_000_000].join(","), "]".repeat(127));
    let p = ctxlens::tui::pretty::pretty(&items, &none).unwrap();
    assert!(p.capped && p.text.len() < items.len() * 3, "{} bytes from {}", p.text.len(), items.len());
}

#[test]
fn the_prose_budget_bounds_the_whole_call() {
    // a budget of 0 ms: nothing is scored, whatever the input's size, and the input passes whole
    let text = "The quick brown fox jumps over the lazy dog near the river bank today. ".repeat(20_000);
    let mut config = Config::default();
    config.set("prose.time_budget_ms=0").unwrap();
    config.set(&format!("prose.model=\"{}\"", root().join("tests/data/tiny-lookup").display())).unwrap();
    let started = std::time::Instant::now();
    let o = run(&text, EngineChoice::Only(EngineKind::Prose), &config);
    assert_eq!(o.output, text);
    assert!(o.decision.reason().contains("time budget"), "{}", o.decision.reason());
    // the words are split (linear), but no window is tokenized or scored: far under a second
    // even in a debug build; the bound is generous so a loaded machine does not fail it
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn text_full_of_unclosed_fences_brackets_and_hunkless_diffs_routes_in_linear_time() {
    // each line once started a look-ahead to the end of the text: 40,000 lines of each shape
    // took minutes; now each is a few passes
    let mut config = Config::default();
    config.set("router.min_section_tokens=1").unwrap();
    for line in ["```x\n", "[\n", "diff --git a/x b/x\n"] {
        let text = format!("Some words first, so the whole is prose.\n{}", line.repeat(40_000));
        let started = std::time::Instant::now();
        let routes = ctxlens::router::route(&text, &config.router, ctxlens::tokens::Tokenizer::O200k, None);
        assert_eq!(routes.iter().map(|r| r.bytes.len()).sum::<usize>(), text.len(), "{line:?}");
        // generous: a loaded debug build takes well under a second; quadratic took minutes
        assert!(started.elapsed().as_secs() < 30, "{line:?}");
    }
}

#[test]
fn deeply_nested_functions_compress_and_score_without_asking_for_parents() {
    // tree-sitter finds a node's parent or previous sibling by searching down from the root, so
    // asking per function grew with the cube of the depth: 10,000 nested JavaScript functions
    // took 78 s; the walk now carries the ancestors
    let config = Config::default();
    let shapes: [(&str, &str, &str, &str); 3] = [
        (
            "js",
            "/** the doc\n * of it\n * here\n */\nfunction f() {\n",
            "  a(); b(); c();\n  d();\n  e();\n  g();\n",
            "}\n",
        ),
        ("js", "foo(function () {\n", "  return 1;\n", "});\n"),
        ("rs", "/// doc\n/// more\n/// more\nfn f() {\n", "    let x = 1;\n", "}\n"),
    ];
    for (ext, open, inner, close) in shapes {
        let text = format!("{}{inner}{}", open.repeat(8_000), close.repeat(8_000));
        let ctx = Context { path: Some(format!("nest.{ext}")), ..Context::default() };
        let started = std::time::Instant::now();
        let o = ctxlens::compress(&text, EngineChoice::Auto, &config, &ctx);
        assert_eq!(o.engine, Some(EngineKind::Code), "{open:?}");
        let r = ctxlens::retention::measure(EngineKind::Code, &text, &o.output, None, ctx.path.as_deref());
        assert_eq!(r.score, 1.0, "{open:?}: every signature kept");
        // generous: it now takes well under a second; the old code took minutes
        assert!(started.elapsed().as_secs() < 30, "{open:?}");
    }
}

#[test]
fn redaction_of_a_long_line_full_of_secret_names_is_linear() {
    // every `"x-token": …` on one 3 MB line once rescanned the rest of the line: minutes
    let line = format!("{{{}\"end\": 1}}", "\"x-token\": \"the value\", \"cookie_name\": \"theme\", ".repeat(60_000));
    let started = std::time::Instant::now();
    let mut text = line.clone();
    capture::redact::redact(&mut text);
    assert!(text.ends_with("\"end\": 1}"));
    // generous: a loaded debug build takes a second or two
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn a_diff_of_modes_renames_and_binaries_passes_whole() {
    let diff = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\ndiff --git a/old.txt b/new.txt\nsimilarity index 100%\nrename from old.txt\nrename to new.txt\ndiff --git a/logo.png b/logo.png\nindex 1a2b3c4..5d6e7f8 100644\nBinary files a/logo.png and b/logo.png differ\n".repeat(40);
    let o = run(&diff, EngineChoice::Auto, &Config::default());
    assert_eq!(o.output, diff, "{}", o.decision.reason());
    assert!(
        o.sections.iter().all(|s| s.kind == EngineKind::Diff),
        "{:?}",
        o.sections.iter().map(|s| s.kind).collect::<Vec<_>>()
    );
}

fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------------
// Loss

#[test]
fn a_har_cut_in_the_middle_loads_every_complete_entry() {
    let full = demo_bytes("capture.har");
    let whole = load("c.har", &full).flows.len();
    assert_eq!(whole, 9);
    let cut = &full[..full.len() * 2 / 3];
    let c = load("cut.har", cut);
    assert_eq!(c.format, Format::Har);
    assert!(c.flows.len() >= 4 && c.flows.len() < whole, "{} flows", c.flows.len());
    let p = c.problems.last().expect("the cut is reported");
    assert!(p.reason.contains("cut short") || p.reason.contains("truncated"), "{}", p.reason);
    assert!(p.location.line > 1, "the place of the cut is named");
}

#[test]
fn a_broken_har_entry_costs_only_itself() {
    let full = String::from_utf8(demo_bytes("capture.har")).unwrap();
    // entry 3's request gets a stray token: it is not JSON, every entry after it still is
    let third = full.match_indices("\n   {\n").nth(2).expect("a third entry").0;
    let method = third + full[third..].find("\"method\":").unwrap();
    let broken = format!("{}\"method\" oops{}", &full[..method], &full[method + "\"method\"".len()..]);
    let c = load("b.har", broken.as_bytes());
    assert_eq!(c.format, Format::Har);
    assert_eq!(c.flows.len(), 8, "{:?}", c.problems);
    let [p] = c.problems.as_slice() else { panic!("{:?}", c.problems) };
    assert!(p.reason.starts_with("entry 3 (byte") && p.reason.contains("read on from the next entry"), "{}", p.reason);
    assert!(p.location.line > 1);
    // entries that each open and never close make every later line a candidate that reads to the
    // end: the search for the next entry gives up after reading twice the file (it used to take
    // 38 s on 600 KB), and says what was loaded
    let first = full[..third].trim_end_matches(',');
    let endless = format!("{first},{}\n]}}}}", "\n   {\"a\": [1,".repeat(20_000));
    let c = load("e.har", endless.as_bytes());
    assert_eq!(c.flows.len(), 2, "{:?}", c.problems);
    let [p] = c.problems.as_slice() else { panic!("{:?}", c.problems) };
    assert!(p.reason.ends_with("the 2 entries before it are loaded"), "{}", p.reason);
    // entries that are not entries are named, not passed over
    let odd = full.replacen("\"entries\": [", "\"entries\": [null, 7, {\"foo\": 1},", 1);
    let c = load("o.har", odd.as_bytes());
    assert_eq!(c.flows.len(), 9);
    let reasons: Vec<&str> = c.problems.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "entry 1 is not an object; skipped",
            "entry 2 is not an object; skipped",
            "entry 3 has no request object; skipped"
        ]
    );
}

#[test]
fn an_unreadable_stream_event_is_reported_at_its_line_and_a_cut_last_one_is_truncation() {
    let full = String::from_utf8(demo_bytes("anthropic-response.sse")).unwrap();
    let whole = load("s.sse", full.as_bytes());
    assert!(whole.problems.is_empty(), "{:?}", whole.problems);
    // the second text delta loses its last ten bytes: its text is missing, and that is said
    let (at, _) = full.match_indices("\"text_delta\"").nth(1).expect("two text deltas");
    let end = at + full[at..].find('\n').unwrap();
    let broken = format!("{}{}", &full[..end - 10], &full[end..]);
    let c = load("b.sse", broken.as_bytes());
    assert_eq!(c.flows.len(), 1);
    let line = 1 + full[..at].rfind("\nevent:").map_or(0, |i| full[..=i].matches('\n').count());
    let [p] = c.problems.as_slice() else { panic!("{:?}", c.problems) };
    assert!(p.reason.starts_with("a stream event is not JSON"), "{}", p.reason);
    assert_eq!(p.location.line, line, "the event's own line");
    // the closing event cut short: the stream is truncated, whatever its event line says
    let cut = &full[..full.trim_end().len() - 1];
    let c = load("c.sse", cut.as_bytes());
    assert!(c.problems.iter().any(|p| p.reason.starts_with("truncated:")), "{:?}", c.problems);
}

#[test]
fn a_capture_whose_first_record_is_cut_still_loads_the_rest() {
    for (name, format) in [
        ("headroom-requests.jsonl", Format::HeadroomLog),
        ("claude-code-session.jsonl", Format::ClaudeCode),
        ("codex-rollout.jsonl", Format::Codex),
    ] {
        let full = String::from_utf8(demo_bytes(name)).unwrap();
        let whole = load(name, full.as_bytes()).flows.len();
        let first_end = full.find('\n').unwrap() + 1;
        // a log's tail (its first line starts mid-record), and a first record cut short
        let tail = &full[first_end / 2..];
        let cut = format!("{}\n{}", &full[..first_end / 2], &full[first_end..]);
        for (how, text) in [("tail", tail), ("cut", cut.as_str())] {
            let c = load(name, text.as_bytes());
            assert_eq!(c.format, format, "{name} {how}: {:?}", c.problems);
            assert!(c.flows.len() + 1 >= whole, "{name} {how}: {} of {whole} flows", c.flows.len());
            assert!(c.problems.iter().any(|p| p.location.line == 1), "{name} {how}: {:?}", c.problems);
        }
    }
}

#[test]
fn a_key_written_twice_in_a_capture_record_is_reported() {
    // a Headroom log line, a request body file, and a HAR entry's request body
    let hr = String::from_utf8(demo_bytes("headroom-requests.jsonl")).unwrap();
    let first = hr.lines().next().unwrap();
    let twice = first.replacen("{\"request_id\"", "{\"model\": \"hidden\", \"request_id\"", 1);
    let log = format!("{twice}\n{}", &hr[first.len() + 1..]);
    let c = load("h.jsonl", log.as_bytes());
    assert_eq!(c.format, Format::HeadroomLog);
    let p = c.problems.iter().find(|p| p.reason.contains("written twice")).expect("reported");
    assert_eq!(p.location.line, 1);
    // the byte named is where the key is written again
    let at: usize = p.reason.split("(byte ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!(p.reason.starts_with("the key \"model\" is written twice") && at > 1, "{}", p.reason);
    assert!(twice[at..].starts_with("\"model\""), "{}", &twice[at..]);
    let body = r#"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"first","content":"second"}]}"#;
    let c = load("b.json", body.as_bytes());
    assert!(
        c.problems.iter().any(|p| p.reason.starts_with("the key \"content\" is written twice")),
        "{:?}",
        c.problems
    );
    // a second key written twice, in another object, is named too: each loses a value
    let two = r#"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","role":"admin","content":"a"},{"role":"user","content":"first","content":"second"}]}"#;
    let c = load("b.json", two.as_bytes());
    let reasons: Vec<&str> = c.problems.iter().map(|p| p.reason.as_str()).filter(|r| r.contains("twice")).collect();
    let [reason] = reasons[..] else { panic!("{reasons:?}") };
    assert!(
        reason.starts_with("the key \"role\" is written twice") && reason.contains("so are \"content\" (byte "),
        "{reason}"
    );
    let at: usize =
        reason.split("\"content\" (byte ").nth(1).and_then(|r| r.split(')').next()).unwrap().parse().unwrap();
    assert!(two[at..].starts_with("\"content\":\"second\""), "{}", &two[at..]);
    let har = serde_json::json!({"log": {"entries": [{"request": {"url": "https://api.anthropic.com/v1/messages",
        "postData": {"text": body}}}]}});
    let c = load("t.har", har.to_string().as_bytes());
    assert_eq!(c.flows.len(), 1);
    assert!(c.problems.iter().any(|p| p.reason.starts_with("request body: the key \"content\"")), "{:?}", c.problems);
    // a record with a colon in a string, an escaped quote, and no key twice reports nothing
    let fine = r#"{"model":"m:1","max_tokens":10,"messages":[{"role":"user","content":"a \":\" b"}]}"#;
    assert!(load("f.json", fine.as_bytes()).problems.is_empty());
}

#[test]
fn a_nested_entries_key_before_log_entries_is_not_mistaken_for_it() {
    let har = serde_json::json!({"meta": {"entries": "not these"}, "log": {"creator": {"entries": []}, "entries": [{
        "request": {"url": "https://api.openai.com/v1/chat/completions",
                    "postData": {"text": "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}"}}
    }]}});
    let text = har.to_string();
    let c = load("t.har", text.as_bytes());
    assert_eq!(c.format, Format::Har);
    assert_eq!(c.flows.len(), 1, "{:?}", c.problems);
}

#[test]
fn a_log_or_entries_key_written_twice_has_the_entries_of_both_read() {
    let entry = |model: &str| {
        let body = format!("{{\"model\":\"{model}\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}");
        serde_json::json!({"request": {"url": "https://api.openai.com/v1/chat/completions", "postData": {"text": body}}})
            .to_string()
    };
    let (a, b, c) = (entry("first"), entry("second"), entry("third"));
    let models = |text: &str| {
        let c = load("t.har", text.as_bytes());
        assert_eq!(c.format, Format::Har, "{text}");
        let twice = c.problems.iter().filter(|p| p.reason.contains("written more than once")).count();
        (c.flows.iter().map(|f| f.model.clone().unwrap_or_default()).collect::<Vec<_>>(), twice)
    };
    // an empty `entries` first (the one a first-key reader sees) hides nothing
    let twice_in_log = format!(r#"{{"log": {{"entries": [], "version": "1.2", "entries": [{a}, {b}]}}}}"#);
    assert_eq!(models(&twice_in_log), (vec!["first".to_string(), "second".into()], 1));
    // a second `log`: after a first without entries, or after one with them
    let log_without = format!(r#"{{"log": {{"version": "1.2"}}, "log": {{"entries": [{a}]}}}}"#);
    assert_eq!(models(&log_without), (vec!["first".to_string()], 0));
    let two_logs =
        format!(r#"{{"log": {{"entries": [{a}]}}, "log": {{"pages": [], "entries": [{b}], "entries": [{c}]}}}}"#);
    assert_eq!(models(&two_logs), (vec!["first".to_string(), "second".into(), "third".into()], 2));
    // a second `entries` that is not an array is reported, and what follows is still read
    let not_array = format!(r#"{{"log": {{"entries": [{a}], "entries": 7, "entries": [{b}]}}}}"#);
    let c = load("t.har", not_array.as_bytes());
    assert_eq!(c.flows.len(), 2);
    assert!(c.problems.iter().any(|p| p.reason == "log.entries is not an array"), "{:?}", c.problems);
}

#[test]
fn a_har_on_one_line_reads_on_after_a_broken_entry() {
    let entry = |model: &str| {
        let body = format!("{{\"model\":\"{model}\",\"messages\":[{{\"role\":\"user\",\"content\":\"hi\"}}]}}");
        serde_json::json!({"request": {"url": "https://api.openai.com/v1/chat/completions", "postData": {"text": body},
            "headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}})
        .to_string()
    };
    let (a, c) = (entry("first"), entry("third"));
    // a broken entry whose own objects (its headers) follow commas too: they are not entries
    let broken = r#"{"request":{"headers":[{"name":"a"},{"name":"b"}],"time":NaN}}"#;
    for middle in [broken, r#"{"time":NaN}"#, r#"{"a":1,}"#] {
        let text = format!(r#"{{"log":{{"version":"1.2","entries":[{a},{middle},{c}]}}}}"#);
        let loaded = load("one-line.har", text.as_bytes());
        let models: Vec<_> = loaded.flows.iter().map(|f| f.model.clone().unwrap_or_default()).collect();
        assert_eq!(models, ["first", "third"], "{middle}: {:?}", loaded.problems);
        assert!(loaded.problems.iter().any(|p| p.reason.starts_with("entry 2 ")), "{:?}", loaded.problems);
    }
    // a cut entry after a repeated key is numbered among the entries, not the problems
    let cut = format!(r#"{{"log":{{"entries":[{a}],"entries":[{c},{{"request":"#);
    let loaded = load("cut.har", cut.as_bytes());
    assert_eq!(loaded.flows.len(), 2);
    assert!(loaded.problems.iter().any(|p| p.reason.starts_with("entry 3 ")), "{:?}", loaded.problems);
}

#[test]
fn one_invalid_utf8_line_does_not_discard_a_headroom_log() {
    let mut bytes = demo_bytes("headroom-requests.jsonl");
    let whole = load("h.jsonl", &bytes).flows.len();
    // break the third line with a byte that is never UTF-8
    let third = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 10;
    bytes[third] = 0xff;
    let c = load("h.jsonl", &bytes);
    assert_eq!(c.format, Format::HeadroomLog);
    assert!(c.flows.len() >= whole - 1, "{} of {whole} flows", c.flows.len());
    assert!(c.problems.iter().any(|p| p.location.line == 3 && p.reason.contains("UTF-8")), "{:?}", c.problems);
}

#[test]
fn duplicate_keys_are_never_collapsed_silently() {
    let rows: Vec<String> = (0..60).map(|i| format!("{{\"id\":{i},\"role\":\"user\",\"role\":\"admin\"}}")).collect();
    let input = format!("[{}]", rows.join(","));
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert!(o.output.contains("admin") && o.output.matches("\"user\"").count() == 60, "both values stay");
    assert!(!o.decision.acted() && o.decision.reason().contains("appears twice"), "{}", o.decision.reason());
}

#[test]
fn fenced_json_keeps_the_newline_before_its_closing_fence() {
    let items: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    let input = format!("Here:\n\n```json\n{{\"a\": [{}]}}\n```\n\nDone.\n", items.join(", "));
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert!(o.decision.acted(), "{:?}", o.sections);
    assert!(o.output.contains("]}\n```\n"), "{}", o.output);
    // in a list item the fence and its body are indented: the compact JSON keeps the indent, or
    // a Markdown reader would end the list item there
    let json: Vec<String> = (0..60).map(|i| format!("     {{\"id\": {i}, \"status\": \"ok\"}},")).collect();
    let input =
        format!("1. The API returned:\n\n   ```json\n   [\n{}\n     {{}}\n   ]\n   ```\n\n2. Next.\n", json.join("\n"));
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert!(o.decision.acted(), "{:?}", o.sections);
    let body: Vec<&str> =
        o.output.lines().skip_while(|l| !l.contains("```json")).skip(1).take_while(|l| !l.contains("```")).collect();
    assert!(!body.is_empty() && body.iter().all(|l| l.starts_with("   ")), "{}", o.output);
    assert!(o.output.contains("\n   ```\n\n2. Next."), "{}", o.output);
}

#[test]
fn number_text_and_a_byte_order_mark_survive() {
    let rows: Vec<String> = (0..80).map(|i| format!("{{\"id\":{i},\"big\":1E5,\"huge\":1e400,\"x\":-0.50}}")).collect();
    let input = format!("\u{feff}[{}]", rows.join(","));
    let o = run(&input, EngineChoice::Auto, &Config::default());
    assert_eq!(o.engine, Some(EngineKind::Json), "a BOM does not hide JSON");
    assert!(o.decision.acted(), "{:?}", o.decision);
    assert!(o.output.starts_with('\u{feff}'), "the BOM stays where it was");
    assert!(o.output.contains("\"big\":1E5,\"huge\":1e400,\"x\":-0.50"), "{}", &o.output[..200]);
    check_ledger(&o);
}

#[test]
fn utf16_captures_load_converted_and_compress_says_why_it_passes() {
    let har = String::from_utf8(demo_bytes("capture.har")).unwrap();
    let le: Vec<u8> = [0xff, 0xfe].into_iter().chain(har.encode_utf16().flat_map(u16::to_le_bytes)).collect();
    let c = load("windows.har", &le);
    assert_eq!(c.format, Format::Har);
    assert_eq!(c.flows.len(), 9, "every entry of the UTF-16 HAR");
    assert!(c.problems.iter().any(|p| p.reason.contains("UTF-16")), "{:?}", c.problems);
    let be: Vec<u8> =
        [0xfe, 0xff].into_iter().chain("plain ünïcode\n".encode_utf16().flat_map(u16::to_be_bytes)).collect();
    assert_eq!(load("notes.txt", &be).flows[0].messages[0].blocks[0].text, "plain ünïcode\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u16.txt");
    std::fs::write(&path, &be).unwrap();
    let out = ctxlens(&["compress", "--stats", "json", path.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(out.stdout, be, "passed through byte for byte");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"reason\":\"utf16: UTF-16BE text"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compress_redact_refuses_what_it_cannot_read_instead_of_passing_secrets_through() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("bin.dat", b"Password: BINsecret1\n\x00\x01 x\n".to_vec()),
        ("bad.txt", b"Password: BADsecret2\n\xff\n".to_vec()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let out = ctxlens(&["compress", "--redact", path.to_str().unwrap()]);
        assert!(!out.status.success(), "{name}");
        assert!(out.stdout.is_empty(), "{name}: nothing written");
        assert!(String::from_utf8_lossy(&out.stderr).contains("cannot redact"), "{name}");
    }
}

#[test]
fn lines_an_engine_adds_end_as_the_input_lines_do() {
    let log: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "2026-01-01T00:00:{:02} {} worker-{} batch {i}",
                i % 60,
                ["INFO", "ERROR"][usize::from(i % 9 == 0)],
                i % 7
            )
        })
        .collect();
    let prose: Vec<String> = (0..30)
        .map(|i| format!("  The weather on day {i} is really quite basically nice and we all enjoy it very much so"))
        .collect();
    let mut tiny = Config::default();
    tiny.set(&format!("prose.model=\"{}\"", root().join("tests/data/tiny-lookup").display())).unwrap();
    // tree-sitter counts rows at `\n` only: code with other line ends still has its bodies cut
    let code: Vec<String> = std::fs::read_to_string(root().join("fixtures/code/requests-sessions.py"))
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let cases = [
        (&log, EngineKind::Log, Config::default()),
        (&prose, EngineKind::Prose, tiny),
        (&code, EngineKind::Code, Config::default()),
    ];
    for (lines, kind, config) in cases {
        for brk in ["\r", "\r\n"] {
            let text = lines.join(brk) + brk;
            let o = run(&text, EngineChoice::Only(kind), &config);
            assert!(o.decision.acted(), "{kind} {brk:?}: {}", o.decision.reason());
            check_ledger(&o);
            // classic Mac line ends were read as lines: each kept line or marker ends with one
            let out: Vec<&str> = o.output.split_terminator(brk).collect();
            assert_eq!(o.output.matches('\r').count(), out.len(), "{kind} {brk:?}: {:?}", o.output);
            assert_eq!(o.output.matches('\n').count(), if brk == "\r" { 0 } else { out.len() }, "{kind} {brk:?}");
            let markers = out.iter().filter(|l| l.contains("[ctxlens:")).count();
            assert!(markers > 0, "{kind} {brk:?}");
            if kind == EngineKind::Prose {
                // prose keeps every line in its place, and its marker after them
                assert_eq!(out.len(), lines.len() + 1, "{brk:?}: {:?}", o.output);
            }
        }
    }
}

#[test]
fn a_hunk_start_past_u64_is_kept_verbatim_not_wrapped() {
    let body: String = (0..80).map(|i| format!(" context line {i}\n")).collect();
    let diff = format!(
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -18446744073709551616,81 +18446744073709551616,81 @@\n{body}-old\n+new\n"
    );
    let o = run(&diff, EngineChoice::Only(EngineKind::Diff), &Config::default());
    assert!(!o.output.contains("@@ -0") && !o.output.contains("@@ -1 "), "{}", o.output);
    assert!(o.output.contains("18446744073709551616"), "the header is not renumbered");
    let why = o.decision.reason();
    assert!(why.contains("parse_failed") && why.contains("line 4"), "a parse problem, with its place: {why}");
    // in a fence of a longer text, the line named is the text's line, not the section's
    let text = format!("Before the patch:\n\n- one\n- two\n\n```diff\n{diff}```\n\nAfter it.\n");
    let o = run(&text, EngineChoice::Auto, &Config::default());
    let section = o.sections.iter().find(|s| s.kind == EngineKind::Diff).expect("the fence is a diff section");
    let why = section.decision.reason();
    assert!(why.contains("line 10 has a line number past"), "{why}");
}

#[test]
fn rust_attributes_go_with_their_items() {
    let mut body = String::new();
    for i in 0..12 {
        body.push_str(&format!("    let v{i} = compute({i});\n"));
    }
    let src = format!(
        "pub fn outer() -> u32 {{\n    let a = 1;\n    #[allow(clippy::needless_update)] // kept with its item\n    let b = a + 1;\n    #[allow(dead_code)]\n    const INNER: u32 = 2;\n{body}    a + b\n}}\n"
    );
    let src = src.repeat(3).replace("pub fn outer()", "pub fn outer_n()");
    let mut config = Config::default();
    config.set("code.max_body_lines=2").unwrap();
    let ctx = ctxlens::Context { path: Some("lib.rs".into()), ..Default::default() };
    let o = ctxlens::compress(&src, EngineChoice::Auto, &config, &ctx);
    assert!(o.decision.acted(), "{:?}", o.decision);
    syn::parse_file(&o.output).unwrap_or_else(|e| panic!("{e}\n{}", o.output));
}

#[test]
fn rust_fixtures_stay_valid_rust() {
    for f in fixture_files("code").into_iter().filter(|f| f.ends_with(".rs")) {
        let ctx = ctxlens::Context { path: Some(f.clone()), ..Default::default() };
        for rate in ["0.2", "0.05"] {
            let mut config = Config::default();
            config.set(&format!("code.target_compression_rate={rate}")).unwrap();
            let o = ctxlens::compress(&read(&f), EngineChoice::Auto, &config, &ctx);
            syn::parse_file(&o.output).unwrap_or_else(|e| panic!("{f} at rate {rate}: {e}"));
        }
    }
}

#[test]
fn the_ledger_never_replaces_a_symlink_or_a_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixtures().join("log/python-service.log").display().to_string();
    // a symlink stays a symlink; its target gets the ledger
    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = ctxlens(&["compress", "--ledger", link.to_str().unwrap(), &input]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert!(doc["drops"].as_array().is_some_and(|d| !d.is_empty()));
    // a dangling symlink stays a symlink, and the file it names is made
    let (dangling, made) = (dir.path().join("dangling.json"), dir.path().join("sub/made.json"));
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::os::unix::fs::symlink("sub/made.json", &dangling).unwrap();
    let out = ctxlens(&["compress", "--ledger", dangling.to_str().unwrap(), &input]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&made).unwrap().contains("\"drops\""));
    // one into a folder that does not exist is an error, and the symlink stays
    let nowhere = dir.path().join("nowhere.json");
    std::os::unix::fs::symlink("missing/x.json", &nowhere).unwrap();
    let out = ctxlens(&["compress", "--ledger", nowhere.to_str().unwrap(), &input]);
    assert!(!out.status.success());
    assert!(std::fs::symlink_metadata(&nowhere).unwrap().file_type().is_symlink());
    // a FIFO is written through, and stays a FIFO
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = ctxlens(&["compress", "--ledger", fifo.to_str().unwrap(), &input]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = reader.join().unwrap();
    assert!(got.contains("\"drops\""), "the ledger came through the FIFO");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn a_folder_with_devices_fifos_and_loops_loads_what_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), "hello\n").unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero")).unwrap();
    std::os::unix::fs::symlink("..", d.join("loop")).unwrap();
    std::os::unix::fs::symlink("a.txt", d.join("alias.txt")).unwrap();
    assert!(Command::new("mkfifo").arg(d.join("fifo")).status().unwrap().success());
    // a thread, so a hang fails the test instead of blocking it
    let path = d.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(capture::load(&path).unwrap()).unwrap());
    let c = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a folder with a FIFO does not hang");
    assert_eq!(c.flows.len(), 2, "a.txt and its alias");
    let reasons: Vec<String> = c.problems.iter().map(|p| format!("{}: {}", p.location.file, p.reason)).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.ends_with("zero: skipped: not a regular file (a FIFO, socket or device)")));
    assert!(reasons.iter().any(|r| r.ends_with("loop: skipped: a symlink to a folder (not followed)")));
    // a device named directly is refused at once, with the cause said once
    let out = ctxlens(&["blocks", "/dev/zero"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("a device, not a file"), "{err}");
    let out = ctxlens(&["blocks", "/nonexistent-ctxlens"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn text_that_only_looks_like_a_capture_is_shown_whole() {
    // each of these was detected as a capture format, loaded no flow, and showed nothing
    let cases: [(&str, &str); 4] = [
        ("app.jsonl", "{\"timestamp\": \"2026-01-01T00:00:00Z\", \"type\": \"deploy\", \"payload\": {\"ok\": true}}\n"),
        ("events.jsonl", "{\"sessionId\": \"abc\", \"event\": \"login\", \"user\": \"kim\"}\n"),
        ("notes.txt", "data: the numbers from last quarter\nevent: the board meeting\n"),
        ("embed.json", "{\"model\": \"text-embedding-3-small\", \"input\": [1, 2, 3]}"),
    ];
    // a body with a lone surrogate was shown whole too: it is now read as the body it is, the
    // surrogate as U+FFFD, and said
    let c =
        load("surrogate.json", br#"{"model": "claude-x", "messages": [{"role": "user", "content": "a \ud800 b"}]}"#);
    assert_eq!(c.format, Format::AnthropicRequest);
    assert_eq!(c.flows[0].messages[0].blocks[0].text, "a \u{fffd} b");
    assert!(c.problems.iter().any(|p| p.reason.contains("lone UTF-16 surrogate")), "{:?}", c.problems);
    for (name, text) in cases {
        let c = load(name, text.as_bytes());
        let shown: String =
            c.flows.iter().flat_map(|f| &f.messages).flat_map(|m| &m.blocks).map(|b| b.text.as_str()).collect();
        assert!(!c.flows.is_empty() && shown.contains(text.trim()), "{name}: {:?} {:?}", c.format, c.problems);
        if c.format != Format::Plain {
            assert!(
                c.problems.iter().any(|p| p.reason.contains("shown whole as a plain file")),
                "{name}: {:?}",
                c.problems
            );
        }
    }
}

#[test]
fn blocks_never_prints_a_terminal_escape_from_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil\u{1b}[2J.txt");
    std::fs::write(&path, "\u{1b}]0;owned\u{7}\u{1b}[31mred \u{202e}txt.exe\n").unwrap();
    for args in [vec!["blocks"], vec!["blocks", "--compress"]] {
        let mut args = args.clone();
        args.push(path.to_str().unwrap());
        let out = ctxlens(&args);
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}') && !shown.contains('\u{202e}'), "{shown:?}");
        assert!(shown.contains("\\u{1b}[31mred"), "{shown}");
    }
}

#[test]
fn blocks_compress_stops_at_its_time_budget() {
    let demo = root().join("fixtures/demo/anthropic-request.json");
    let out = ctxlens(&["blocks", "--compress", "--time-budget", "0", demo.to_str().unwrap()]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = shown.lines().filter(|l| l.contains(" tok ")).count();
    assert!(rows > 10 && shown.matches("time-budget").count() >= rows, "{shown}");
    assert!(shown.contains(&format!("note: {rows} block(s) not compressed")), "{shown}");
    // with time to spare, nothing is missed
    let out = ctxlens(&["blocks", "--compress", demo.to_str().unwrap()]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("time-budget"));
}

#[test]
fn blocks_shows_the_answer_of_a_stream_and_a_har() {
    for name in ["anthropic-response.sse", "capture.har"] {
        let out = ctxlens(&["blocks", root().join("fixtures/demo").join(name).to_str().unwrap()]);
        let shown = String::from_utf8_lossy(&out.stdout);
        let answers: Vec<&str> = shown.lines().filter(|l| l.trim_start().starts_with("← assistant")).collect();
        assert!(!answers.is_empty(), "{name}: {shown}");
        assert!(shown.contains("response blocks, marked ←"), "{name}: {shown}");
    }
}

#[test]
fn hidden_entries_and_unreadable_folders_are_listed_not_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("a.txt"), "hello\n").unwrap();
    std::fs::write(d.join(".env"), "X=1\n").unwrap();
    std::fs::create_dir(d.join("locked")).unwrap();
    std::fs::write(d.join("locked/b.txt"), "b\n").unwrap();
    std::fs::create_dir(d.join("open")).unwrap();
    std::fs::write(d.join("open/c.txt"), "c\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // root reads any folder: the locked one is only unreadable for other users
    let unreadable = std::fs::read_dir(d.join("locked")).is_err();
    let c = capture::load(d).unwrap();
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let files: Vec<&str> = c.flows.iter().map(|f| f.location.file.as_str()).collect();
    assert!(files.iter().any(|f| f.ends_with("a.txt")) && files.iter().any(|f| f.ends_with("open/c.txt")), "{files:?}");
    let reasons: Vec<String> = c.problems.iter().map(|p| format!("{}: {}", p.location.file, p.reason)).collect();
    assert!(reasons.iter().any(|r| r.contains(".env: skipped: hidden")), "{reasons:?}");
    if unreadable {
        assert!(reasons.iter().any(|r| r.contains("locked: skipped: cannot read the folder")), "{reasons:?}");
    }
}

#[test]
fn a_deep_first_line_or_a_cut_body_is_reported_not_turned_into_a_plain_file() {
    let mut deep = serde_json::json!({"x": 1});
    for _ in 0..140 {
        deep = serde_json::json!({ "a": deep });
    }
    let log = format!(
        "{}\n{}\n",
        serde_json::json!({"request_id": "r1", "request_messages": [deep]}),
        serde_json::json!({"request_id": "r2", "request_messages": [{"role": "user", "content": "hi"}]})
    );
    let c = load("h.jsonl", log.as_bytes());
    assert_eq!(c.format, Format::HeadroomLog);
    assert_eq!(c.flows.len(), 1);
    assert!(
        c.problems.iter().any(|p| p.location.line == 1 && p.reason.contains("recursion limit")),
        "{:?}",
        c.problems
    );
    let body = serde_json::json!({"model": "claude-x", "max_tokens": 10,
        "messages": [{"role": "user", "content": "hello there ".repeat(20)}]})
    .to_string();
    let c = load("cut.json", &body.as_bytes()[..body.len() * 2 / 3]);
    assert_eq!(c.format, Format::AnthropicRequest);
    assert!(c.problems.iter().any(|p| p.reason.contains("EOF")), "{:?}", c.problems);
    // and the cut text itself is shown, as a plain file
    assert_eq!(c.flows.len(), 1);
    assert_eq!(c.flows[0].api, capture::Api::Files);
}

// ---------------------------------------------------------------------------------------------
// Secrets

/// Each secret as it appears in text, and the part that must never show.
const SECRETS: [(&str, &str); 58] = [
    ("curl -H 'x-api-key: SECRETVAL01abc' https://api.example.com", "SECRETVAL01abc"),
    ("Cookie: session=SECRETVAL02abc; theme=dark", "SECRETVAL02abc"),
    ("Authorization: Basic U0VDUkVUVkFMMDM=", "U0VDUkVUVkFMMDM="),
    ("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET4KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRET4KEY"),
    ("stripe key sk_live_SECRETVAL05abcdefgh", "SECRETVAL05"),
    ("DATABASE_URL=postgres://admin:SECRETVAL06pw@db:5432/orders", "SECRETVAL06pw"),
    ("-----BEGIN RSA PRIVATE KEY-----\nSECRETVAL07PEMBODY\n-----END RSA PRIVATE KEY-----", "SECRETVAL07PEMBODY"),
    ("Authorization: Bearer SECRET08x", "SECRET08x"),
    ("export ANTHROPIC_API_KEY=sk-ant-api03-SECRETVAL09aaaaaaaaaaaaaaaaaa", "SECRETVAL09"),
    ("GET https://api.example.com/v1/items?page=2&api_key=SECRETVAL10q", "SECRETVAL10q"),
    ("token ghp_SECRETVAL11aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "SECRETVAL11"),
    ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJTRUNSRVQxMiJ9.SECRETVAL12signature", "SECRETVAL12"),
    ("API_TOKEN=toku8W5CN0U5GB16JC5kV3ECqWp1OrXXHFOprCeT", "toku8W5CN0U5GB16JC5kV3ECqWp1OrXXHFOprCeT"),
    ("deploy --password cliPassFlag88 --verbose", "cliPassFlag88"),
    ("mysql -u root -pMysqlInlinePw77 orders", "MysqlInlinePw77"),
    ("by the way my password is envPassw0rd!42", "envPassw0rd!42"),
    ("Authorization: Digest username=\"bob\", response=\"SECRETVAL17digest\"", "SECRETVAL17digest"),
    (
        "alice,,AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCSECRET18KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCSECRET18KEY",
    ),
    ("curl -u admin:SECRETVAL19cu https://api.example.com", "SECRETVAL19cu"),
    ("redis-cli -h cache -a SECRETVAL20rd ping", "SECRETVAL20rd"),
    ("docker login -u me -p SECRETVAL21dk registry.example.com", "SECRETVAL21dk"),
    ("sshpass -p 'SECRETVAL22sp' ssh deploy@host", "SECRETVAL22sp"),
    ("machine api.example.com login bob password SECRETVAL23nr", "SECRETVAL23nr"),
    ("mongodb://app:SECRET@VAL24/x@mongo:27017/db", "VAL24/x"),
    ("https://cdn.example.com/f.tar?Expires=1&sig=SECRETVAL25sg", "SECRETVAL25sg"),
    ("DB_PASS=SECRET26", "SECRET26"),
    ("password: \"SECRETVAL27 with spaces\"", "SECRETVAL27"),
    (
        "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nSECRETVAL28ssh2body\n---- END SSH2 ENCRYPTED PRIVATE KEY ----",
        "SECRETVAL28",
    ),
    ("Private-Lines: 1\nSECRETVAL29puttybody\nPrivate-MAC: 00ff", "SECRETVAL29"),
    ("{\"X-Api-Key\": \"SECRETVAL30hd\"}", "SECRETVAL30hd"),
    (
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/2015/us-east-1/iam/aws4_request, Signature=SECRETVAL31sig",
        "SECRETVAL31sig",
    ),
    ("curl -b \"session=SECRETVAL32cb\" https://x", "SECRETVAL32cb"),
    ("az login -u me@example.com -p SECRETVAL33az", "SECRETVAL33az"),
    ("vault login SECRETVAL34vt", "SECRETVAL34vt"),
    ("htpasswd -b /etc/.htpasswd admin SECRETVAL35hp", "SECRETVAL35hp"),
    ("openssl enc -pass pass:SECRETVAL36os -in a", "SECRETVAL36os"),
    ("Password:\n  SECRETVAL37nl", "SECRETVAL37nl"),
    ("- name: API_KEY\n  value: SECRETVAL38k8s", "SECRETVAL38k8s"),
    ("<add key=\"ApiKey\" value=\"SECRETVAL39net\" />", "SECRETVAL39net"),
    ("Passwort: SECRETVAL40de", "SECRETVAL40de"),
    ("my api key is SECRETVAL41said", "SECRETVAL41said"),
    ("tool -password SECRETVAL42dash", "SECRETVAL42dash"),
    (r#"log {"msg":"Password:\nSECRETVAL43esc"}"#, "SECRETVAL43esc"),
    ("docker login -u me -p \"SEK SECRETVAL44q\"", "SECRETVAL44q"),
    (r#"{"value":"SECRETVAL45vf","name":"DB_PASSWORD"}"#, "SECRETVAL45vf"),
    ("<add key='ApiKey' value='SECRETVAL46sq' />", "SECRETVAL46sq"),
    ("env: [{name: API_KEY, value: SECRETVAL47fl}]", "SECRETVAL47fl"),
    ("- name: TLS_KEY\n  value: |\n    SECRETVAL48blk\n", "SECRETVAL48blk"),
    ("password\tSECRETVAL50tab", "SECRETVAL50tab"),
    ("Password for 'https://me@github.com':\nSECRETVAL51git", "SECRETVAL51git"),
    ("here's my api key SECRETVAL49x1", "SECRETVAL49x1"),
    ("echo SECRETVAL52pipe | docker login -u me --password-stdin", "SECRETVAL52pipe"),
    ("<add key=\"DbPassword\" value=\"SECRET'VAL53\" />", "VAL53"),
    ("password:\u{a0}SECRETVAL54nbsp", "SECRETVAL54nbsp"),
    ("host\tpassword\ndb\tSECRETVAL55tsv", "SECRETVAL55tsv"),
    ("- value: SECRETVAL56yv\n  name: DB_PASSWORD", "SECRETVAL56yv"),
    ("Password:\nsecretval fifty seven", "fifty seven"),
    ("the password is Secretvalfiftyeight", "Secretvalfiftyeight"),
];

fn secret_text() -> String {
    SECRETS.iter().map(|(t, _)| *t).collect::<Vec<_>>().join("\n")
}

/// Every capture format with every secret in a text field (and, for HAR, in custom auth headers
/// and the URL).
fn secret_captures() -> Vec<(String, Vec<u8>)> {
    let escaped = serde_json::to_string(&secret_text()).unwrap();
    let escaped = &escaped[1..escaped.len() - 1];
    let mut out = Vec::new();
    for name in [
        "anthropic-request.json",
        "openai-chat-request.json",
        "openai-responses-request.json",
        "capture.har",
        "claude-code-session.jsonl",
        "codex-rollout.jsonl",
        "headroom-requests.jsonl",
    ] {
        let text = String::from_utf8(demo_bytes(name)).unwrap();
        let anchor = "pytest fails since we upgraded";
        assert!(text.contains(anchor), "{name}");
        // a HAR holds the request body as a JSON string, so its text is escaped twice
        let inject = if name == "capture.har" {
            let twice = serde_json::to_string(escaped).unwrap();
            twice[1..twice.len() - 1].to_string()
        } else {
            escaped.to_string()
        };
        let mut text = text.replace(anchor, &format!("{inject} {anchor}"));
        if name == "codex-rollout.jsonl" {
            // the session's instructions, which are not a message
            text = text.replacen("You are a coding agent", &format!("{escaped} You are a coding agent"), 1);
        }
        if name == "capture.har" {
            text = text.replacen(
                "\"headers\": [",
                "\"headers\": [{\"name\": \"X-Custom-Auth\", \"value\": \"SECRETVAL13h\"}, \
                 {\"name\": \"apikey\", \"value\": \"SECRETVAL14h\"}, \
                 {\"name\": \"Ocp-Apim-Subscription-Key\", \"value\": \"SECRETVAL15h\"},",
                1,
            );
            text = text.replacen("/v1/messages\"", "/v1/messages?key=SECRETVAL16u\"", 1);
            // name/value objects a HAR holds beside its headers: a proxy's credentials, a signed
            // query parameter, cookies (whatever their name) and a response's Set-Cookie
            text = text.replacen(
                "\"headers\": [",
                "\"queryString\": [{\"name\": \"sig\", \"value\": \"SECRETVAL61q\"}], \
                 \"cookies\": [{\"name\": \"theme\", \"value\": \"SECRETVAL62c\"}, \
                 {\"name\": \"__Secure-next-auth.session-token\", \"value\": \"SECRETVAL63c\"}], \
                 \"headers\": [{\"name\": \"Proxy-Authorization\", \"value\": \"Basic SECRETVAL64p\"}, \
                 {\"value\": \"sid=SECRETVAL65s; Path=/\", \"name\": \"Set-Cookie\"},",
                1,
            );
        }
        out.push((name.to_string(), text.into_bytes()));
    }
    let sse = String::from_utf8(demo_bytes("anthropic-response.sse")).unwrap();
    let anchor = "The failures are in";
    assert!(sse.contains(anchor));
    let mut sse = sse.replacen(anchor, &format!("{escaped} {anchor}"), 1);
    // a key split across three deltas, which no event holds whole
    let key = "sk-ant-api03-SECRETVAL66kAbCdEfGhIjKlMnOpQrStUvWxYz0123456789";
    let delta = |text: &str| {
        let d = serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}});
        format!("event: content_block_delta\ndata: {d}\n\n")
    };
    let split = format!("{}{}{}", delta(&key[..18]), delta(&key[18..40]), delta(&key[40..]));
    let at = sse.find("event: content_block_stop").expect("a block's end");
    sse.insert_str(at, &split);
    out.push(("anthropic-response.sse".into(), sse.into_bytes()));
    out.push(("notes.txt".into(), secret_text().into_bytes()));
    out
}

const EXTRA: [&str; 13] = [
    "SECRETVAL13h",
    "SECRETVAL14h",
    "SECRETVAL15h",
    "SECRETVAL16u",
    "SECRETVAL61q",
    "SECRETVAL62c",
    "SECRETVAL63c",
    "SECRETVAL64p",
    "SECRETVAL65s",
    // the split key's three pieces
    "sk-ant-api03-SECRE",
    "TVAL66kAbCdEfGhIjKlMnO",
    "pQrStUvWxYz0123456789",
    "SECRETVAL66k",
];

fn assert_no_secret(what: &str, text: &str) {
    for (_, secret) in SECRETS {
        assert!(!text.contains(secret), "{what}: {secret} leaked");
    }
    for secret in EXTRA {
        assert!(!text.contains(secret), "{what}: {secret} leaked");
    }
}

#[test]
fn no_secret_survives_loading_in_any_format() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in secret_captures() {
        let c = load(&name, &bytes);
        assert!(!c.flows.is_empty(), "{name}: {:?}", c.problems);
        assert!(c.redacted >= SECRETS.len(), "{name}: {} redacted", c.redacted);
        assert_no_secret(&name, &serde_json::to_string(&c).unwrap());
        // and through the CLI, as `blocks --json` prints it
        let path = dir.path().join(&name);
        std::fs::write(&path, &bytes).unwrap();
        let out = ctxlens(&["blocks", "--json", path.to_str().unwrap()]);
        assert!(out.status.success());
        assert_no_secret(&format!("blocks --json {name}"), &String::from_utf8_lossy(&out.stdout));
        // and the file's own text, as `compress --redact` reads it
        let out = ctxlens(&["compress", "--redact", path.to_str().unwrap()]);
        assert!(out.status.success());
        assert_no_secret(&format!("compress --redact {name}"), &String::from_utf8_lossy(&out.stdout));
    }
    // a folder of all of them, and a file whose name is a key (named in each flow and block)
    let named = "creds-ghp_SECRETVAL17abcdefghijklmnopqrstuvwx.txt";
    std::fs::write(dir.path().join(named), "hello\n").unwrap();
    let out = ctxlens(&["blocks", "--json", dir.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_no_secret("blocks --json on the folder", &text);
    assert!(text.contains("creds-[REDACTED].txt") && !text.contains("SECRETVAL17"), "{text}");
}

/// A secret in a tool call's input (JSON, printed with escaped newlines) is redacted too.
#[test]
fn secrets_inside_tool_inputs_are_redacted() {
    let body = serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [
        {"role": "user", "content": "set up env"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t1", "name": "Bash",
             "input": {"command": "export DB_PASSWORD=\"Sup3rSecretDbPw\"\ncurl https://x"}},
            {"type": "tool_use", "id": "t2", "name": "Write",
             "input": {"file_path": ".env", "content": "# keys\nghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\nAKIAQWERTYUIOPASDFGH\n"}}
        ]}
    ]});
    let c = load("t.json", body.to_string().as_bytes());
    let text = serde_json::to_string(&c).unwrap();
    for secret in ["Sup3rSecretDbPw", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8", "AKIAQWERTYUIOPASDFGH"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
}

#[test]
fn no_secret_reaches_the_workbench_or_its_exports() {
    use ctxlens::tui::app::{Action, App, Options};
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in secret_captures() {
        let mut app = App::new(Options::new(dir.path().to_path_buf(), (200, 60)));
        let s = app.add_source(&name);
        capture::load_bytes(&name, &bytes, &mut |e| app.update(Action::Load(s, e)));
        app.update(Action::Loaded(s, Ok(())));
        let mut seen = String::new();
        for _ in 0..app.blocks.len() {
            for (job, _) in app.settle() {
                let c = ctxlens::tui::work::compute(&job);
                seen.push_str(&c.left);
                seen.push_str(&c.output);
                app.update(Action::Computed(Box::new(c)));
            }
            app.update(Action::Run(ctxlens::tui::command::Command::Down));
        }
        // responses are not workbench blocks yet, so an SSE stream alone shows none
        assert!(!seen.is_empty() || name.ends_with(".sse"), "{name}");
        assert_no_secret(&format!("workbench on {name}"), &seen);
    }
}

#[test]
fn an_openai_answer_s_block_path_names_the_choice_s_message() {
    let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;
    let answer = r#"{"choices":[{"message":{"role":"assistant","content":"hello"}},{"message":{"role":"assistant","content":"again"}}]}"#;
    let har = serde_json::json!({"log": {"entries": [{
        "request": {"url": "https://api.openai.com/v1/chat/completions", "postData": {"text": body}},
        "response": {"content": {"text": answer}}
    }]}});
    let c = load("t.har", har.to_string().as_bytes());
    let paths: Vec<&str> =
        c.flows[0].response.iter().flat_map(|m| &m.blocks).map(|b| b.location.path.as_str()).collect();
    assert_eq!(paths, ["response.choices[0].message.content", "response.choices[1].message.content"]);
}
