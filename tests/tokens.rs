//! ctxlens counts with bpe-openai; tiktoken-rs is the reference. They must agree exactly.

mod common;

use common::*;
use ctxlens::{Tokenizer, tokens};
use proptest::prelude::*;

fn reference(text: &str, t: Tokenizer) -> usize {
    match t {
        Tokenizer::O200k => tiktoken_rs::o200k_base_singleton().encode_ordinary(text).len(),
        Tokenizer::Cl100k => tiktoken_rs::cl100k_base_singleton().encode_ordinary(text).len(),
    }
}

/// Every text fixture: its path and its text.
fn every_fixture() -> impl Iterator<Item = (String, String)> {
    ["json", "log", "search", "diff", "code", "prose", "mixed"].into_iter().flat_map(fixture_files).map(|f| {
        let text = read(&f);
        (f, text)
    })
}

#[test]
fn counts_match_tiktoken_on_every_fixture() {
    for (f, text) in every_fixture() {
        for t in Tokenizer::ALL {
            assert_eq!(tokens::count(&text, t), reference(&text, t), "{f} {t}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0070_c3e5),
        .. ProptestConfig::default()
    })]

    #[test]
    fn counts_match_tiktoken_on_random_text(s in "\\PC{0,200}|[ \\t\\n\\r]{0,20}[a-zA-Z0-9'’ ]{0,80}|<\\|endoftext\\|>.{0,10}") {
        for t in Tokenizer::ALL {
            prop_assert_eq!(tokens::count(&s, t), reference(&s, t));
        }
    }
}

/// The compiled-table counter (what a small first call uses before bpe-openai is built) agrees
/// with tiktoken on every fixture, counted in windows the size it is used for.
#[test]
fn table_counts_match_tiktoken_on_every_fixture() {
    for (f, text) in every_fixture() {
        let mut at = 0;
        for _ in 0..4 {
            if at >= text.len() {
                break;
            }
            let end = text.floor_char_boundary(at + 8192);
            let window = &text[at..end];
            for t in Tokenizer::ALL {
                if let Some(n) = tokens::count_from_table(window, t) {
                    assert_eq!(n, reference(window, t), "{f} {t} at {at}");
                }
            }
            at = text.ceil_char_boundary(at + text.len() / 4 + 1);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x7ab1e),
        .. ProptestConfig::default()
    })]

    #[test]
    fn table_counts_match_tiktoken_on_random_text(s in "\\PC{0,200}|[ \\t\\n\\r]{0,20}[a-zA-Z0-9'’ ]{0,80}|[A-Za-z0-9+/=]{0,300}") {
        for t in Tokenizer::ALL {
            prop_assert_eq!(tokens::count_from_table(&s, t), Some(reference(&s, t)));
        }
    }
}
