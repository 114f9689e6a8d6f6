//! Fuzzing without a nightly toolchain: structure-aware property tests. Real fixtures and
//! captures (the corpus, committed under fixtures/) are cut, spliced and sprinkled with arbitrary
//! bytes, then run through every capture loader, every engine and the workbench's key handling.
//! A fixed seed and a bounded case count keep CI repeatable and short; `PROPTEST_CASES=5000` with
//! another `PROPTEST_RNG_SEED` explores further, and failures are kept in
//! tests/fuzz.proptest-regressions.
//!
//! Invariants: nothing panics; an engine's output JSON parses when its input did; code output
//! has no syntax error its input lacked; every drop is in the ledger and every key retrieves
//! its bytes; output is never larger in tokens than input; sizes stay bounded by the input.

mod common;

use common::*;
use ctxlens::capture::{self, Event};
use ctxlens::engine::lang::{self, Lang};
use ctxlens::{Config, Context, EngineChoice, EngineKind};
use proptest::prelude::*;

/// The corpus: one real input of each kind, and every demo capture.
const SEEDS: [&str; 14] = [
    "json/pip-inspect.json",
    "log/pytest-failures.log",
    "log/rust-panic.log",
    "search/grep-python-stdlib-raise.txt",
    "diff/requests-2.31.0-2.32.3.ru.diff",
    "code/lodash-debounce.js",
    "code/pkg-errors.go",
    "code/serde_json-macros.rs",
    "mixed/agent-answer.md",
    "demo/anthropic-request.json",
    "demo/anthropic-response.sse",
    "demo/claude-code-session.jsonl",
    "demo/codex-rollout.jsonl",
    "demo/headroom-requests.jsonl",
];

/// Inputs are cut to this many bytes of their seed before mutation, to keep each case fast.
const WINDOW: usize = 24 * 1024;

#[derive(Debug, Clone)]
enum Mutation {
    /// Cut the input at this fraction of its length.
    Truncate(f64),
    /// Insert bytes at a fraction of the length.
    Insert(f64, Vec<u8>),
    /// Overwrite bytes from a fraction on.
    Overwrite(f64, Vec<u8>),
    /// Repeat the range between two fractions right after itself.
    Duplicate(f64, f64),
    /// Remove the range between two fractions.
    Remove(f64, f64),
}

fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 1..16),
        prop::sample::select(vec![
            "\u{feff}",
            "é",
            "日本",
            "🚀",
            "\u{a0}",
            "\r\n",
            "\r",
            "\t",
            "\0",
            "\\",
            "\"",
            "\\u0000",
            "\\ud800",
            "{",
            "[",
            "]",
            "}",
            ",",
            ":",
            "1e400",
            "-",
            "@@ -1,3 +1,4 @@\n",
            "diff --git a/x b/x\n",
            "data: ",
            "event: ",
            "Traceback (most recent call last):\n",
            "ERROR",
            "[ctxlens: fake; key=0123456789abcdef]",
            "Authorization: Bearer abc",
            "\x1b[31m",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0.0f64..1.0).prop_map(Mutation::Truncate),
        (0.0f64..1.0, hostile_bytes()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (0.0f64..1.0, hostile_bytes()).prop_map(|(at, b)| Mutation::Overwrite(at, b)),
        (0.0f64..1.0, 0.0f64..1.0).prop_map(|(a, b)| Mutation::Duplicate(a.min(b), a.max(b))),
        (0.0f64..1.0, 0.0f64..1.0).prop_map(|(a, b)| Mutation::Remove(a.min(b), a.max(b))),
    ]
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    let at = |f: f64, b: &Vec<u8>| ((b.len() as f64 * f) as usize).min(b.len());
    match m {
        Mutation::Truncate(f) => b.truncate(at(*f, &b)),
        Mutation::Insert(f, x) => {
            let i = at(*f, &b);
            b.splice(i..i, x.iter().copied());
        }
        Mutation::Overwrite(f, x) => {
            let i = at(*f, &b);
            let end = (i + x.len()).min(b.len());
            b.splice(i..end, x.iter().copied());
        }
        Mutation::Duplicate(f, g) => {
            let (i, j) = (at(*f, &b), at(*g, &b));
            let part = b[i..j].to_vec();
            b.splice(j..j, part);
        }
        Mutation::Remove(f, g) => {
            let (i, j) = (at(*f, &b), at(*g, &b));
            b.drain(i..j);
        }
    }
    b
}

/// A seed (its first WINDOW bytes) with up to four mutations, and the seed's name.
fn input() -> impl Strategy<Value = (String, Vec<u8>)> {
    (prop::sample::select(SEEDS.to_vec()), prop::collection::vec(mutation(), 0..4)).prop_map(|(seed, muts)| {
        let mut b = std::fs::read(fixtures().join(seed)).unwrap();
        b.truncate(WINDOW);
        (seed.to_string(), muts.iter().fold(b, apply))
    })
}

fn tiny_model() -> String {
    format!("prose.model=\"{}/tests/data/tiny-lookup\"", env!("CARGO_MANIFEST_DIR"))
}

/// Every engine (prose through the tiny lookup model) and the router on one input.
fn check_engines(name: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    let mut config = Config::default();
    config.set(&tiny_model()).unwrap();
    config.set("json.min_tokens_to_crush=0").unwrap();
    let lang = Lang::from_path(name);
    let fake_marker = text.contains("[ctxlens:");
    let choices = [EngineChoice::Auto]
        .into_iter()
        .chain(EngineKind::ALL.iter().map(|k| EngineChoice::Only(*k)))
        .collect::<Vec<_>>();
    for choice in choices {
        let ctx = Context { path: Some(name.to_string()), ..Default::default() };
        let o = ctxlens::compress(&text, choice, &config, &ctx);
        prop_assert!(o.tokens_out <= o.tokens_in, "{choice}: grew");
        prop_assert!(o.output.len() <= text.len() * 2 + 4096, "{choice}: output size");
        if !o.decision.acted() {
            prop_assert_eq!(&o.output, &text, "{}: a skip passes through", choice);
            continue;
        }
        if !fake_marker {
            check_ledger(&o);
        }
        if choice == EngineChoice::Only(EngineKind::Json) {
            let whole: Result<serde_json::Value, _> = serde_json::from_str(text.trim_start_matches('\u{feff}'));
            if whole.is_ok() {
                let out = o.output.trim_start_matches('\u{feff}');
                prop_assert!(serde_json::from_str::<serde_json::Value>(out).is_ok(), "json output parses");
            }
        }
        if let (Some(l), EngineChoice::Only(EngineKind::Code)) = (lang, choice) {
            let before = lang::parse(l, &text).map(|t| lang::error_count(t.root_node())).unwrap_or(usize::MAX);
            let after = lang::parse(l, &o.output).map(|t| lang::error_count(t.root_node())).unwrap_or(usize::MAX);
            prop_assert!(before > 0 || after == 0, "code output gained a syntax error");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x00f0_22e5),
        .. ProptestConfig::default()
    })]

    #[test]
    fn loaders_never_panic_and_name_every_problem((name, bytes) in input()) {
        let lines = bytes.split(|b| *b == b'\n').count();
        let mut flows = 0;
        capture::load_bytes(&name, &bytes, &mut |e| match e {
            Event::Flow(_) => flows += 1,
            Event::Problem(p) => assert!(p.location.line >= 1 && p.location.line <= lines + 1, "{p:?}"),
            _ => {}
        });
        prop_assert!(flows <= bytes.len() + 1);
    }

    #[test]
    fn engines_never_panic_and_account_for_every_drop((name, bytes) in input()) {
        check_engines(&name, &bytes)?;
    }

    #[test]
    fn arbitrary_bytes_through_loaders_and_engines(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        capture::load_bytes("x.json", &bytes, &mut |_| {});
        check_engines("x.txt", &bytes)?;
    }
}

mod workbench {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ctxlens::tui::app::{Action, App, Options};
    use ctxlens::tui::{views, work};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn key() -> impl Strategy<Value = KeyEvent> {
        let plain =
            prop::sample::select("jkhlJKgGnNzsHLmMcotT$uf/?e[]{}+-0123456789 ~&|!()abqwi".chars().collect::<Vec<_>>())
                .prop_map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        let special = prop::sample::select(vec![
            KeyCode::Enter,
            KeyCode::Esc,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::PageDown,
            KeyCode::PageUp,
            KeyCode::Backspace,
        ])
        .prop_map(|c| KeyEvent::new(c, KeyModifiers::NONE));
        let ctrl = prop::sample::select(vec!['d', 'u', 'r', 'f', 'b'])
            .prop_map(|c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL));
        prop_oneof![6 => plain, 3 => special, 1 => ctrl]
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 12,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x00f0_22e6),
            .. ProptestConfig::default()
        })]

        /// Random keys, resizes and background results in any order: the state stays drawable at
        /// every size and nothing panics.
        #[test]
        fn the_workbench_survives_random_keys(
            keys in prop::collection::vec(key(), 1..250),
            sizes in prop::collection::vec((1u16..220, 1u16..70), 1..4),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut app = App::new(Options::new(dir.path().to_path_buf(), (120, 40)));
            let bytes = std::fs::read(fixtures().join("demo/anthropic-request.json")).unwrap();
            let s = app.add_source("anthropic-request.json");
            capture::load_bytes("anthropic-request.json", &bytes, &mut |e| app.update(Action::Load(s, e)));
            app.update(Action::Loaded(s, Ok(())));
            for (i, k) in keys.into_iter().enumerate() {
                app.update(Action::Key(k));
                // run a few queued jobs, as the worker would, in between keys
                for (job, _) in app.settle().into_iter().take(3) {
                    app.update(Action::Computed(Box::new(work::compute(&job))));
                }
                if i % 25 == 0 {
                    let (w, h) = sizes[i / 25 % sizes.len()];
                    app.update(Action::Resize(w, h));
                    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
                    t.draw(|f| views::draw(f, &app)).unwrap();
                }
            }
        }
    }
}
