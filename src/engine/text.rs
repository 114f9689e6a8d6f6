//! Text helpers shared by the line-based engines: line splitting with byte offsets, keyword
//! classes (errors, warnings, importance) and query-word matching.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// One line of an input: its byte range (with its line terminator) and its text (without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub start: usize,
    /// End of the line including its `\n` (or `\r\n`), if any.
    pub end: usize,
    pub text: &'a str,
}

/// Splits `input` into lines; a final line without a newline counts, an empty tail does not.
pub fn lines(input: &str) -> Vec<Line<'_>> {
    let bytes = input.as_bytes();
    // one newline search over the whole input, not one per line: lines are short
    let newlines = || memchr::memchr_iter(b'\n', bytes);
    let mut out = Vec::with_capacity(newlines().count() + 1);
    let mut start = 0;
    for i in newlines() {
        let text_end = if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        out.push(Line { start, end: i + 1, text: &input[start..text_end] });
        start = i + 1;
    }
    if start < bytes.len() {
        out.push(Line { start, end: bytes.len(), text: &input[start..] });
    }
    out
}

/// A line as a terminal shows it: colour and other escape sequences (CSI, OSC) removed, and of a
/// line that carriage returns overwrite (a progress bar), only what was written last.
pub fn as_shown(line: &str) -> std::borrow::Cow<'_, str> {
    let line = match line.trim_end_matches('\r').rfind('\r') {
        Some(i) => &line[i + 1..],
        None => line,
    };
    if !line.contains('\x1b') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates, then one final byte
            Some('[') => {
                while let Some(&n) = chars.peek() {
                    chars.next();
                    if ('@'..='~').contains(&n) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \
            Some(']') => {
                while let Some(n) = chars.next() {
                    if n == '\x07' || n == '\x1b' && chars.next_if_eq(&'\\').is_some() {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Lower-cased words of more than two characters (Headroom's context-word rule).
pub fn words_over_two(s: &str) -> Vec<String> {
    let mut words: Vec<String> = s
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '-').to_lowercase())
        .filter(|w| w.chars().count() > 2)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Headroom's twelve error keywords (SmartCrusher `error_keywords.rs`).
pub const ERROR_KEYWORDS: [&str; 12] = [
    "error",
    "exception",
    "failed",
    "failure",
    "critical",
    "fatal",
    "crash",
    "panic",
    "abort",
    "timeout",
    "denied",
    "rejected",
];

const WARNING_KEYWORDS: [&str; 4] = ["warning", "warn", "deprecated", "caution"];

const IMPORTANCE_KEYWORDS: [&str; 8] =
    ["important", "todo", "fixme", "security", "password", "secret", "token", "auth"];

fn word_matcher(words: &[&str]) -> AhoCorasick {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(words)
        .expect("keyword automaton")
}

static ERRORS: LazyLock<AhoCorasick> = LazyLock::new(|| word_matcher(&ERROR_KEYWORDS));
static WARNINGS: LazyLock<AhoCorasick> = LazyLock::new(|| word_matcher(&WARNING_KEYWORDS));
static IMPORTANCE: LazyLock<AhoCorasick> = LazyLock::new(|| word_matcher(&IMPORTANCE_KEYWORDS));

/// Whether `s` contains one of `ac`'s words as a prefix-anchored word: the match starts at a
/// word boundary (so "error" matches "error", "errors" and "ValueError:" does not, but
/// "Error" inside "TypeError" is caught by its own rule in the log engine).
fn has_word(ac: &AhoCorasick, s: &str) -> bool {
    let b = s.as_bytes();
    ac.find_iter(s).any(|m| m.start() == 0 || !b[m.start() - 1].is_ascii_alphanumeric())
}

/// Whether the text mentions an error keyword as a word.
pub fn has_error_word(s: &str) -> bool {
    has_word(&ERRORS, s)
}

pub fn has_warning_word(s: &str) -> bool {
    has_word(&WARNINGS, s)
}

pub fn has_importance_word(s: &str) -> bool {
    has_word(&IMPORTANCE, s)
}

/// How many of `words` (already lower-cased) occur in `text`, case-insensitively.
pub fn count_query_hits(text: &str, words: &[String]) -> usize {
    if words.is_empty() {
        return 0;
    }
    let lower = text.to_lowercase();
    words.iter().filter(|w| lower.contains(w.as_str())).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_with_offsets() {
        let ls = lines("a\r\nbb\n\nc");
        let texts: Vec<_> = ls.iter().map(|l| l.text).collect();
        assert_eq!(texts, ["a", "bb", "", "c"]);
        assert_eq!((ls[0].start, ls[0].end), (0, 3));
        assert_eq!((ls[3].start, ls[3].end), (7, 8));
        assert!(lines("").is_empty());
        assert_eq!(lines("x\n").len(), 1);
    }

    #[test]
    fn lines_as_a_terminal_shows_them() {
        assert_eq!(as_shown("\x1b[1m\x1b[31merror\x1b[0m: mismatched types"), "error: mismatched types");
        assert_eq!(as_shown("  10% [###   ]\r  55% [#####  ]\r 100% [#######]"), " 100% [#######]");
        assert_eq!(as_shown("\x1b]8;;https://x\x07link\x1b]8;;\x1b\\ done"), "link done");
        assert_eq!(as_shown("plain"), "plain");
        assert_eq!(as_shown("cut \x1b["), "cut ");
        assert_eq!(as_shown("é\x1b[0mü\r"), "éü\r");
    }

    #[test]
    fn keyword_words() {
        assert!(has_error_word("Connection ERROR: refused"));
        assert!(has_error_word("request timeout after 3s"));
        assert!(!has_error_word("terrorist"));
        assert!(has_warning_word("DeprecationWarning? no: deprecated api"));
        assert_eq!(words_over_two("What happened to job 1173?"), ["1173", "happened", "job", "what"]);
        assert_eq!(count_query_hits("JOB 1173 done", &words_over_two("job 1173")), 2);
    }
}
