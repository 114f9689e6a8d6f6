//! Text helpers shared by the line-based engines and the router: line splitting with byte
//! offsets, Markdown code fences, keyword classes (errors, warnings, importance) and query-word
//! matching.

use std::sync::{LazyLock, OnceLock};

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
/// Lines end at `\n` (after an optional `\r`); a text with no `\n` but with `\r` (classic Mac
/// line endings) has its lines end at `\r`.
pub fn lines(input: &str) -> Vec<Line<'_>> {
    first_lines(input, usize::MAX)
}

/// The first `n` lines of `input`, as [`lines`] splits them, looking no further into the text.
pub fn first_lines(input: &str, n: usize) -> Vec<Line<'_>> {
    let bytes = input.as_bytes();
    let brk = line_end(input);
    // one newline search over the whole input, not one per line: lines are short. No `take(n)`:
    // it would hide the search's own count, which is many times faster than counting one by one
    let breaks = || memchr::memchr_iter(brk, bytes);
    let mut out = Vec::with_capacity(if n == usize::MAX { breaks().count() + 1 } else { n.min(1024) });
    let mut start = 0;
    for i in breaks() {
        if out.len() == n {
            break;
        }
        let text_end = if brk == b'\n' && i > start && bytes[i - 1] == b'\r' { i - 1 } else { i };
        out.push(Line { start, end: i + 1, text: &input[start..text_end] });
        start = i + 1;
    }
    if start < bytes.len() && out.len() < n {
        out.push(Line { start, end: bytes.len(), text: &input[start..] });
    }
    out
}

/// The byte lines of `input` end at: `\n`, or `\r` in a text with no `\n` (classic Mac).
pub fn line_end(input: &str) -> u8 {
    let bytes = input.as_bytes();
    if memchr::memchr(b'\n', bytes).is_none() && bytes.contains(&b'\r') { b'\r' } else { b'\n' }
}

/// The line break `input` uses throughout when it is not `\n`: `\r\n` when every `\n` follows a
/// `\r`, `\r` when there is no `\n` but a `\r` (the line ends [`lines`] reads). `None` for `\n`
/// and for mixed line ends.
pub fn foreign_line_break(input: &str) -> Option<&'static str> {
    let bytes = input.as_bytes();
    let mut newlines = memchr::memchr_iter(b'\n', bytes).peekable();
    if newlines.peek().is_none() {
        return bytes.contains(&b'\r').then_some("\r");
    }
    newlines.all(|i| i > 0 && bytes[i - 1] == b'\r').then_some("\r\n")
}

/// `output` with each `\n` that is not already part of `brk` written as `brk`, so the lines an
/// engine adds (markers) end as the input's lines do.
pub fn with_line_break(output: String, brk: &str) -> String {
    let bytes = output.as_bytes();
    let bare = |i: usize| !(brk == "\r\n" && i > 0 && bytes[i - 1] == b'\r');
    if !memchr::memchr_iter(b'\n', bytes).any(bare) {
        return output;
    }
    let mut out = String::with_capacity(output.len() + output.len() / 32);
    let mut from = 0;
    for i in memchr::memchr_iter(b'\n', bytes).filter(|&i| bare(i)) {
        out.push_str(&output[from..i]);
        out.push_str(brk);
        from = i + 1;
    }
    out.push_str(&output[from..]);
    out
}

/// The text of a numbered listing (`cat -n`, `nl -ba`, `grep -n ''`, an agent's read tool's
/// `N→line`) without its numbers: when five or more lines, and at least 80% of the lines that are
/// not blank, start with a line number and a tab, `→`, `:` or `|`, and the numbers rise, nearly
/// always, and at least half the time by one.
pub fn listing_body(lines: &[Line]) -> Option<String> {
    listing(lines).map(|l| l.body)
}

/// A numbered listing read apart: the text without its numbers (one `\n`-ended line per
/// numbered line), and where each numbered line is in both texts.
#[derive(Debug)]
pub struct Listing {
    pub body: String,
    pub lines: Vec<Listed>,
}

/// One numbered line of a [`Listing`].
#[derive(Debug, Clone, Copy)]
pub struct Listed {
    /// Where the line starts in the listing (its number first).
    pub start: usize,
    /// Where its text starts in the listing, after the number and separator.
    pub text: usize,
    /// Where the line ends in the listing, its line break included.
    pub end: usize,
    /// Where its text starts in the body.
    pub body: usize,
}

impl Listing {
    /// The listing offset of body offset `at`, as the start of a cut: at a line's start, after
    /// its number (a marker put there takes that number).
    pub fn start_of(&self, at: usize) -> usize {
        let l = self.line_of(at);
        l.text + (at - l.body)
    }

    /// The listing offset of body offset `at`, as the end of a cut: at a line's start, before its
    /// number (the next kept line keeps it); at the body's end, after the last numbered line.
    pub fn end_of(&self, at: usize) -> usize {
        match self.lines.binary_search_by_key(&at, |l| l.body) {
            Ok(i) => self.lines[i].start,
            Err(_) if at >= self.body.len() => self.lines.last().map_or(0, |l| l.end),
            Err(_) => self.start_of(at),
        }
    }

    fn line_of(&self, at: usize) -> Listed {
        let i = self.lines.partition_point(|l| l.body <= at).saturating_sub(1);
        self.lines[i]
    }
}

/// `input` read as a numbered listing when its first 200 lines are one and so is the whole.
pub fn listing_of(input: &str) -> Option<Listing> {
    listing_body(&first_lines(input, 200))?;
    listing(&lines(input))
}

/// [`listing_body`], with where each numbered line is.
pub fn listing(lines: &[Line]) -> Option<Listing> {
    fn numbered(t: &str) -> Option<(u64, usize)> {
        let lead = t.len() - t.trim_start_matches(' ').len();
        let digits = t[lead..].bytes().take_while(u8::is_ascii_digit).count();
        let rest = &t[lead + digits..];
        let sep = ["\t", "→", ":", "|"].into_iter().find(|sep| rest.starts_with(sep))?;
        Some((t[lead..lead + digits].parse::<u64>().ok()?, lead + digits + sep.len()))
    }
    let (mut body, mut listed, mut last) = (String::new(), Vec::new(), None);
    let (mut next, mut rising, mut others) = (0usize, 0usize, 0usize);
    for l in lines {
        let Some((n, skip)) = numbered(l.text) else {
            // `nl` leaves blank lines unnumbered; other lines (a note after a read tool's
            // output) may be a few
            others += usize::from(!l.text.trim().is_empty());
            continue;
        };
        next += usize::from(last.is_some_and(|p: u64| p.checked_add(1) == Some(n)));
        rising += usize::from(last.is_some_and(|p: u64| n > p));
        last = Some(n);
        listed.push(Listed { start: l.start, text: l.start + skip, end: l.end, body: body.len() });
        body.push_str(&l.text[skip..]);
        body.push('\n');
    }
    let found = listed.len();
    // numbers that rise, mostly by one (a listing compressed once jumps where its markers are)
    let steps = found.saturating_sub(1);
    let enough = found >= 5 && found >= others * 4 && rising * 10 >= steps * 9 && next * 2 >= steps;
    enough.then_some(Listing { body, lines: listed })
}

/// The run of spaces and tabs every non-blank line of `text` starts with (a fence's body in a
/// list item: `   ```json`); empty when there is none.
pub fn common_indent(text: &str) -> &str {
    let mut common: Option<&str> = None;
    for l in lines(text).iter().map(|l| l.text).filter(|t| !t.trim().is_empty()) {
        let own = &l[..l.len() - l.trim_start_matches([' ', '\t']).len()];
        let shared = match common {
            None => own,
            Some(c) => {
                let n = c.bytes().zip(own.bytes()).take_while(|(a, b)| a == b).count();
                &c[..n]
            }
        };
        if shared.is_empty() {
            return "";
        }
        common = Some(shared);
    }
    common.unwrap_or("")
}

/// `output` with `indent` put in front of each non-blank line that does not start with it.
pub fn with_indent(output: &str, indent: &str) -> String {
    let mut out = String::with_capacity(output.len() + indent.len() * 4);
    for l in lines(output) {
        if !l.text.trim().is_empty() && !l.text.starts_with(indent) {
            out.push_str(indent);
        }
        out.push_str(&output[l.start..l.end]);
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

/// A line's blockquote depth (how many `>` open it, each after at most three spaces and taking
/// one space after it) and the rest of the line.
fn unquote(line: &str) -> (usize, &str) {
    let mut rest = line;
    let mut depth = 0;
    loop {
        let t = rest.trim_start_matches(' ');
        match t.strip_prefix('>') {
            Some(after) if rest.len() - t.len() <= 3 => {
                rest = after.strip_prefix(' ').unwrap_or(after);
                depth += 1;
            }
            _ => return (depth, rest),
        }
    }
}

/// How far a line is indented, a tab counting as four columns, and the rest of it.
fn indent(line: &str) -> (usize, &str) {
    let t = line.trim_start_matches([' ', '\t']);
    let cols = line[..line.len() - t.len()].bytes().map(|b| if b == b'\t' { 4 } else { 1 }).sum();
    (cols, t)
}

/// A Markdown code fence: the character of its opening run (`` ` `` or `~`), the run's length,
/// the blockquote depth it sits at and how far it is indented. Every reader of fences (the
/// router's section finder and prose check, the prose engine's kept lines) asks this one type, so
/// they agree on where a fence opens and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fence {
    pub ch: u8,
    pub run: usize,
    pub quotes: usize,
    pub indent: usize,
}

impl Fence {
    /// The runs longer than this count as this long, so a closer can be looked up by run length
    /// in a table of this size (a fence of 30 backticks is closed by any run of at least 30).
    pub const LONGEST: usize = 30;

    /// The fence a line opens, with its info string (`json` in `` ```json ``): after any
    /// blockquote markers and any indent (a fence inside a list item is indented), three or more
    /// backticks or tildes; a backtick fence's info string has no backtick, as CommonMark says
    /// (```` ```a`b ```` is inline code).
    pub fn opened_by(line: &str) -> Option<(Fence, &str)> {
        let (quotes, rest) = unquote(line);
        let (indent, t) = indent(rest);
        let ch = *t.as_bytes().first().filter(|c| matches!(c, b'`' | b'~'))?;
        let run = t.bytes().take_while(|&c| c == ch).count();
        let info = t[run..].trim();
        (run >= 3 && !(ch == b'`' && info.contains('`'))).then_some((Fence { ch, run, quotes, indent }, info))
    }

    /// A line that could close a fence: after any blockquote markers and indent, nothing but one
    /// fence character three or more times, then whitespace. Its run is capped at
    /// [`Fence::LONGEST`].
    pub fn closer(line: &str) -> Option<Fence> {
        let (quotes, rest) = unquote(line);
        let (indent, t) = indent(rest);
        let t = t.trim_end();
        let ch = *t.as_bytes().first().filter(|c| matches!(c, b'`' | b'~'))?;
        (t.len() >= 3 && t.bytes().all(|c| c == ch)).then_some(Fence {
            ch,
            run: t.len().min(Self::LONGEST),
            quotes,
            indent,
        })
    }

    /// Whether `line` closes this fence: the same character at least as many times, in the same
    /// blockquote, indented less than four columns past the opening line (CommonMark's closer
    /// may be indented up to three spaces within its container; more is the fence's content).
    pub fn closed_by(self, line: &str) -> bool {
        Self::closer(line).is_some_and(|c| {
            c.ch == self.ch
                && c.run >= self.run.min(Self::LONGEST)
                && c.quotes == self.quotes
                && c.indent <= self.indent + 3
        })
    }

    /// Whether `line` ends the blockquote this fence is in, and so the fence with it, unclosed.
    pub fn ended_by(self, line: &str) -> bool {
        self.quotes > 0 && unquote(line).0 < self.quotes
    }
}

/// Which lines are fenced code (the fence lines included), read top to bottom as CommonMark does:
/// a fence never closed runs to the end of its blockquote, or of the text.
pub struct Fenced {
    pub lines: Vec<bool>,
    /// The opening line of a fence still open at the end of the text.
    pub open_at_end: Option<usize>,
}

pub fn fenced(lines: &[Line]) -> Fenced {
    let mut out = vec![false; lines.len()];
    let mut open: Option<(Fence, usize)> = None;
    for (i, l) in lines.iter().enumerate() {
        if let Some((f, _)) = open.filter(|(f, _)| !f.ended_by(l.text)) {
            out[i] = true;
            if f.closed_by(l.text) {
                open = None;
            }
            continue;
        }
        open = Fence::opened_by(l.text).map(|(f, _)| (f, i));
        out[i] = open.is_some();
    }
    Fenced { lines: out, open_at_end: open.map(|(_, at)| at) }
}

/// For each line that opens a fence, the line that closes it (`None` for other lines, and for a
/// fence never closed or ended with its blockquote). Found in one pass from the end, so text full
/// of unclosed fences costs no more than any other.
pub fn fence_closers(lines: &[Line]) -> Vec<Option<usize>> {
    // blockquote depths and indents past these count as these
    const QUOTES: usize = 4;
    const INDENT: usize = 8;
    // nearest[((c * (LONGEST+1) + r) * (QUOTES+1) + q) * (INDENT+1) + k]: the nearest line below
    // that closes a fence of character c, run r, at quote depth q, indented k
    let at = |ch: u8, run: usize, q: usize, k: usize| {
        ((usize::from(ch == b'~') * (Fence::LONGEST + 1) + run.min(Fence::LONGEST)) * (QUOTES + 1) + q.min(QUOTES))
            * (INDENT + 1)
            + k.min(INDENT)
    };
    let mut nearest = vec![None; at(b'~', Fence::LONGEST, QUOTES, INDENT) + 1];
    let mut out = vec![None; lines.len()];
    // the deepest blockquote any entry of `nearest` is at, so leaving a blockquote clears little
    let mut deepest = 0;
    for (i, l) in lines.iter().enumerate().rev() {
        if let Some((f, _)) = Fence::opened_by(l.text) {
            out[i] = nearest[at(f.ch, f.run, f.quotes, f.indent)];
        }
        // a line at a shallower depth ends every fence opened deeper above it
        let depth = unquote(l.text).0.min(QUOTES);
        if depth < deepest {
            for ch in [b'`', b'~'] {
                for r in 0..=Fence::LONGEST {
                    for q in depth + 1..=deepest {
                        nearest[at(ch, r, q, 0)..=at(ch, r, q, INDENT)].fill(None);
                    }
                }
            }
            deepest = depth;
        }
        if let Some(c) = Fence::closer(l.text) {
            // it closes fences indented at least three columns less than itself
            let q = c.quotes.min(QUOTES);
            for r in 0..=c.run {
                nearest[at(c.ch, r, q, c.indent.saturating_sub(3))..=at(c.ch, r, q, INDENT)].fill(Some(i));
            }
            deepest = deepest.max(q);
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

/// Keywords found as words: the words, for each byte the words that start with it (either case)
/// as bits, and an automaton of the words, made the first time a long text needs it.
struct WordMatcher {
    words: &'static [&'static str],
    starting: [u16; 256],
    ac: OnceLock<AhoCorasick>,
}

const fn word_matcher(words: &'static [&'static str]) -> WordMatcher {
    assert!(words.len() <= 16, "one bit a word");
    let mut starting = [0u16; 256];
    let mut i = 0;
    while i < words.len() {
        let b = words[i].as_bytes()[0];
        starting[b.to_ascii_lowercase() as usize] |= 1 << i;
        starting[b.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    WordMatcher { words, starting, ac: OnceLock::new() }
}

static ERRORS: WordMatcher = word_matcher(&ERROR_KEYWORDS);
static WARNINGS: WordMatcher = word_matcher(&WARNING_KEYWORDS);
static IMPORTANCE: WordMatcher = word_matcher(&IMPORTANCE_KEYWORDS);

/// Texts from this long go through the automaton (see [`has_word`]).
const AUTOMATON_FROM: usize = 128;

/// Whether `s` contains one of `m`'s words as a prefix-anchored word: the match starts at a
/// word boundary (so "error" matches "error", "errors" and "ValueError:" does not, but
/// "Error" inside "TypeError" is caught by its own rule in the log engine). A short text (most
/// of a JSON array's or map's values) is read in place: only where a word starts with a
/// keyword's first letter is it compared with the keywords that start with it, with no
/// automaton to set up; a long one goes through the automaton, faster on prose, where such
/// places are many. Both find the same: keywords are letters only, so a match the automaton
/// passes over for an earlier one starts inside a word.
fn has_word(m: &WordMatcher, s: &str) -> bool {
    let b = s.as_bytes();
    let word_start = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric();
    if b.len() >= AUTOMATON_FROM {
        let ac = m.ac.get_or_init(|| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(m.words)
                .expect("keyword automaton")
        });
        return ac.find_iter(s).any(|hit| word_start(hit.start()));
    }
    (0..b.len()).any(|i| {
        let mut words = m.starting[usize::from(b[i])];
        if words == 0 || !word_start(i) {
            return false;
        }
        while words != 0 {
            let w = m.words[words.trailing_zeros() as usize].as_bytes();
            if b[i..].get(..w.len()).is_some_and(|at| at.eq_ignore_ascii_case(w)) {
                return true;
            }
            words &= words - 1;
        }
        false
    })
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
    fn fences_close_in_their_own_blockquote_and_indent() {
        let closers = |doc: &str| fence_closers(&lines(doc));
        let shown = |doc: &str| {
            let f = fenced(&lines(doc));
            (f.lines, f.open_at_end)
        };
        // a closing run indented four columns past the opener is the fence's content
        let nested = "```markdown\n- item\n    ```\n    inner\n    ```\ntext\n```\nafter\n";
        assert_eq!(closers(nested)[0], Some(6));
        assert_eq!(shown(nested).0, [true, true, true, true, true, true, true, false]);
        let listed = "- item\n  ```\n  code\n  ```\n";
        assert_eq!(closers(listed)[1], Some(3), "a fence in a list item closes at its own indent");
        let quoted = "> ```bash\n> code\n> ```\nafter\n";
        assert_eq!(closers(quoted)[0], Some(2));
        assert_eq!(shown(quoted), (vec![true, true, true, false], None));
        // the blank line ends the blockquote and the fence in it; the bare run after opens anew
        let ended = "> ```bash\n> code\n\n```\n";
        assert_eq!(closers(ended)[0], None);
        assert_eq!(shown(ended), (vec![true, true, false, true], Some(3)));
        assert_eq!(closers("```\n> ```\n```\n")[0], Some(2), "a quoted run is content outside the quote");
        assert_eq!(closers(">> ```\n>> x\n> more\n>> ```\n")[0], None, "a shallower line between");
        let open = "text\n```bash\necho\n";
        assert_eq!(shown(open), (vec![false, true, true], Some(1)));
        let doc = "intro words\n```python\nx = 1  # the comment\n```\nafter\n  ~~~\n  open fence\n";
        assert_eq!(shown(doc), (vec![false, true, true, true, false, true, true], Some(5)));
        // the one-pass table and the top-down reading agree on every closed fence
        for doc in [nested, listed, quoted, ended, doc] {
            let ls = lines(doc);
            let f = fenced(&ls).lines;
            for (i, c) in fence_closers(&ls).iter().enumerate() {
                if let (Some(c), true, false) = (c, f[i], i > 0 && f[i - 1]) {
                    assert!(f[i..=*c].iter().all(|x| *x), "{doc:?} line {i}");
                }
            }
        }
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
    fn a_common_indent_and_putting_it_back() {
        assert_eq!(common_indent("   a\n\n     b\n   c\n"), "   ");
        assert_eq!(common_indent("\t a\n\t  b\n"), "\t ");
        assert_eq!(common_indent("  a\nb\n"), "");
        assert_eq!(common_indent("\n\n"), "");
        assert_eq!(with_indent("x\n\n   y\nz", "   "), "   x\n\n   y\n   z");
    }

    #[test]
    fn line_breaks_other_than_newline() {
        let cr: Vec<_> = lines("one\rtwo\r\rthree").iter().map(|l| (l.text, l.end)).collect();
        assert_eq!(cr, [("one", 4), ("two", 8), ("", 9), ("three", 14)]);
        assert_eq!(lines("progress 10%\r100%\nnext\n").len(), 2, "a \\r before the first \\n overwrites");
        assert_eq!(foreign_line_break("a\r\nb\r\n"), Some("\r\n"));
        assert_eq!(foreign_line_break("a\r\nb\n"), None, "mixed");
        assert_eq!(foreign_line_break("a\nb"), None);
        assert_eq!(foreign_line_break("a\rb\r"), Some("\r"));
        assert_eq!(foreign_line_break("\n"), None);
        assert_eq!(with_line_break("kept\r\n[marker]\nlast\r\n".into(), "\r\n"), "kept\r\n[marker]\r\nlast\r\n");
        assert_eq!(with_line_break("a\rb\n[marker]\n".into(), "\r"), "a\rb\r[marker]\r");
        assert_eq!(with_line_break("é\r\n".into(), "\r\n"), "é\r\n");
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

    /// Every place of every error keyword, lower-cased and found one keyword at a time.
    fn reference(text: &str) -> bool {
        let lower = text.to_ascii_lowercase();
        ERROR_KEYWORDS
            .iter()
            .any(|w| lower.match_indices(w).any(|(i, _)| i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric()))
    }

    #[test]
    fn keyword_words() {
        assert!(has_error_word("Connection ERROR: refused"));
        assert!(has_error_word("request timeout after 3s"));
        assert!(!has_error_word("terrorist"));
        // agrees with every keyword's every place, found another way
        for (text, error) in [
            ("2024-01-01T00:00:00.000Z", false),
            ("E", false),
            ("Error", true),
            ("x;FATAL", true),
            ("éerror", true),
            ("é error", true),
            ("1.0.0-failed", true),
            ("Fooerror Bar", false),
            ("", false),
        ] {
            assert_eq!(has_error_word(text), error, "{text:?}");
            assert_eq!(reference(text), error, "{text:?}");
            // the same past the automaton's length, with the word at the start, middle and end
            let pad = "x y".repeat(AUTOMATON_FROM / 2);
            for long in [format!("{text} {pad}"), format!("{pad} {text} {pad}"), format!("{pad} {text}")] {
                assert!(long.len() >= AUTOMATON_FROM);
                assert_eq!(has_error_word(&long), error, "{long:?}");
            }
            // a keyword glued to the padding's letters is no word of its own
            assert!(!has_error_word(&format!("{pad}failed")), "a word starts at the space only");
        }
        // overlapping and case-mixed places, both ways: every place of every keyword agrees
        let mixed = "xfailedenied FaIlUrE-abort;timeoutx crashed pAnIc éfatal _denied 9critical";
        for end in 0..=mixed.len() {
            for start in (0..end).filter(|&s| mixed.is_char_boundary(s) && mixed.is_char_boundary(end)) {
                let t = &mixed[start..end];
                assert_eq!(has_error_word(t), reference(t), "{t:?}");
            }
        }
        assert!(has_warning_word("DeprecationWarning? no: deprecated api"));
        assert_eq!(words_over_two("What happened to job 1173?"), ["1173", "happened", "job", "what"]);
        assert_eq!(count_query_hits("JOB 1173 done", &words_over_two("job 1173")), 2);
    }
}
