//! Token counting: the one function every part of ctxlens uses to count tokens.
//!
//! Counts are exact o200k_base or cl100k_base counts (the OpenAI encodings), computed offline by
//! `bpe-openai`, whose dictionaries are compiled into the binary. tiktoken-rs gives identical counts
//! (checked by `tests/tokens.rs` on every fixture) but is super-linear on long pre-tokens: a 10 MB
//! line without spaces takes it 16 s against 0.8 s here, and inputs like that are exactly what an
//! agent pipes around (minified JSON, base64 blobs). `benches/engines.rs` measures both.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which BPE encoding to count with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tokenizer {
    /// `o200k_base`: GPT-4o, o-series, GPT-4.1 and GPT-5.
    #[default]
    O200k,
    /// `cl100k_base`: GPT-4 and GPT-3.5; Headroom's proxy estimates Claude with it (×1.1).
    Cl100k,
}

impl Tokenizer {
    /// Every tokenizer, in the order a UI cycles through them.
    pub const ALL: [Tokenizer; 2] = [Tokenizer::O200k, Tokenizer::Cl100k];

    /// The encoding's canonical name.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Tokenizer::O200k => "o200k_base",
            Tokenizer::Cl100k => "cl100k_base",
        }
    }

    /// The short name used on the command line and in configs.
    pub fn short_name(self) -> &'static str {
        match self {
            Tokenizer::O200k => "o200k",
            Tokenizer::Cl100k => "cl100k",
        }
    }

    fn bpe(self) -> &'static bpe_openai::Tokenizer {
        match self {
            Tokenizer::O200k => bpe_openai::o200k_base(),
            Tokenizer::Cl100k => bpe_openai::cl100k_base(),
        }
    }

    /// Loads the encoding's tables now, so the first real count is not slowed by it.
    pub fn warm(self) {
        let _ = self.bpe();
    }
}

impl fmt::Display for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

impl FromStr for Tokenizer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "o200k" | "o200k_base" => Ok(Tokenizer::O200k),
            "cl100k" | "cl100k_base" => Ok(Tokenizer::Cl100k),
            other => Err(format!(
                "unknown tokenizer `{other}`: expected o200k (o200k_base) or cl100k (cl100k_base)"
            )),
        }
    }
}

/// Counts the tokens of `text` exactly as the encoding would (special tokens are plain text, as in
/// tiktoken's `encode_ordinary`).
pub fn count(text: &str, tokenizer: Tokenizer) -> usize {
    if text.is_empty() {
        return 0;
    }
    tokenizer.bpe().count(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(count("", Tokenizer::O200k), 0);
        assert_eq!(count("hello world", Tokenizer::O200k), 2);
        assert_eq!(count("hello world", Tokenizer::Cl100k), 2);
        // The two encodings split this differently, so the switch is visible.
        let s = "    fn main() { println!(\"héllo\"); }";
        assert_ne!(count(s, Tokenizer::O200k), 0);
    }

    #[test]
    fn parses_names() {
        assert_eq!("o200k_base".parse::<Tokenizer>().unwrap(), Tokenizer::O200k);
        assert_eq!("CL100K".parse::<Tokenizer>().unwrap(), Tokenizer::Cl100k);
        assert!("p50k".parse::<Tokenizer>().unwrap_err().contains("o200k"));
    }
}
