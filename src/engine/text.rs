//! Text helpers shared by the line-based engines and the router: line splitting with byte
//! offsets, Markdown code fences, keyword classes (errors, warnings, importance) and query-word
//! matching.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::Regex;

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

/// A Markdown code fence: the character of its opening run (`` ` `` or `~`) and the run's length.
/// Every reader of fences (the router's section finder and prose check, the prose engine's
/// kept lines) asks this one type, so they agree on where a fence opens and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub ch: u8,
    pub run: usize,
}

impl Fence {
    /// The runs longer than this count as this long, so a closer can be looked up by run length
    /// in a table of this size (a fence of 30 backticks is closed by any run of at least 30).
    pub const LONGEST: usize = 30;

    /// The fence a line opens, with its info string (`json` in `` ```json ``): after any indent
    /// (a fence inside a list item is indented), three or more backticks or tildes; a backtick
    /// fence's info string has no backtick, as CommonMark says (```` ```a`b ```` is inline code).
    pub fn opened_by(line: &str) -> Option<(Fence, &str)> {
        let t = line.trim_start();
        let ch = *t.as_bytes().first().filter(|c| matches!(c, b'`' | b'~'))?;
        let run = t.bytes().take_while(|&c| c == ch).count();
        let info = t[run..].trim();
        (run >= 3 && !(ch == b'`' && info.contains('`'))).then_some((Fence { ch, run }, info))
    }

    /// A line that could close a fence: nothing but one fence character, three or more times,
    /// between whitespace. Its fence, with the run capped at [`Fence::LONGEST`].
    pub fn closer(line: &str) -> Option<Fence> {
        let t = line.trim();
        let ch = *t.as_bytes().first().filter(|c| matches!(c, b'`' | b'~'))?;
        (t.len() >= 3 && t.bytes().all(|c| c == ch)).then_some(Fence { ch, run: t.len().min(Self::LONGEST) })
    }

    /// Whether `line` closes this fence: the same character, at least as many times.
    pub fn closed_by(self, line: &str) -> bool {
        Self::closer(line).is_some_and(|c| c.ch == self.ch && c.run >= self.run.min(Self::LONGEST))
    }
}

/// For each line that opens a fence, the line that closes it (`None` for other lines and for a
/// fence never closed). Found in one pass from the end, so text full of unclosed fences costs
/// no more than any other.
pub fn fence_closers(lines: &[Line]) -> Vec<Option<usize>> {
    let mut out = vec![None; lines.len()];
    // nearest[c][r]: the nearest line below that closes a fence of character c and run r
    let mut nearest = [[None; Fence::LONGEST + 1]; 2];
    let slot = |ch: u8| usize::from(ch == b'~');
    for (i, l) in lines.iter().enumerate().rev() {
        if let Some((f, _)) = Fence::opened_by(l.text) {
            out[i] = nearest[slot(f.ch)][f.run.min(Fence::LONGEST)];
        }
        if let Some(c) = Fence::closer(l.text) {
            nearest[slot(c.ch)][..=c.run].iter_mut().for_each(|n| *n = Some(i));
        }
    }
    out
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

static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:not|no|never|none|nothing|nobody|neither|nor|cannot|without|\w+n't)$").expect("negation regex")
});

/// A detail no shorter version of a text may lose: a number, a path, an identifier
/// (`snake_case`, `camelCase`, `CPython`, `Content-Length`, `a.b`, `CONSTANT`, `URLs`) or a
/// negation. The prose engine keeps every such word whatever the model scores it, and the prose
/// retention metric counts them, so the two cannot disagree about what had to stay.
pub fn is_detail_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric() && !matches!(c, '_' | '/' | '.' | '\'' | '-'));
    let w = w.trim_end_matches('.');
    if w.is_empty() {
        return false;
    }
    let upper = w.chars().filter(|c| c.is_uppercase()).count();
    w.chars().any(|c| c.is_ascii_digit())
        || w.contains('/') && w.len() > 1
        || w.contains('_') && w.chars().any(char::is_alphabetic)
        || w.contains('.') && w.split('.').all(|p| !p.is_empty())
        || w.chars().skip(1).any(char::is_uppercase) && w.chars().any(char::is_lowercase)
        || upper >= 2 && upper == w.chars().filter(|c| c.is_alphabetic()).count()
        || NEGATION.is_match(w)
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
    fn fences_open_and_close_by_character_and_run_length() {
        let open = |l: &str| Fence::opened_by(l).map(|(f, info)| (f.ch, f.run, info.to_string()));
        assert_eq!(open("```json"), Some((b'`', 3, "json".into())));
        assert_eq!(open("      ~~~~ text "), Some((b'~', 4, "text".into())), "indented, as in a list item");
        assert_eq!(open("``not a fence``"), None, "two backticks");
        assert_eq!(open("```a`b"), None, "a backtick in the info string: inline code");
        assert_eq!(open("~~~a`b"), Some((b'~', 3, "a`b".into())));
        let (four, _) = Fence::opened_by("````md").expect("opens");
        assert!(!four.closed_by("```"), "a shorter run is content");
        assert!(four.closed_by("  `````  "));
        assert!(!four.closed_by("~~~~"), "the other character");
        assert!(!four.closed_by("```` x"), "a closer has nothing after its run");

        let doc = "````md\n```rust\nfn x() {}\n```\n````\n~~~\nopen\n```\n";
        let lines = lines(doc);
        let closers = fence_closers(&lines);
        assert_eq!(closers[0], Some(4), "the four-backtick fence holds the three-backtick one");
        assert_eq!(closers[1], Some(3));
        assert_eq!(closers[5], None, "a tilde fence is not closed by backticks");
        assert_eq!(closers[2], None, "not a fence line");
    }

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
