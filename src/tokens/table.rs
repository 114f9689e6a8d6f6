//! Exact token counts that cost nothing to start: the encoding's vocabulary as a sorted table
//! compiled into the binary (written by `build.rs` from bpe-openai's own vocabulary), the same
//! pre-tokenizer patterns bpe-openai uses, and the byte-pair merge tiktoken defines (the lowest
//! ranked adjacent pair merges first). bpe-openai needs about 70 ms to build its structures; this
//! needs about 5 ms (the pre-tokenizer), so a first call on a small input is not dominated by
//! start-up. It is slower per byte than bpe-openai, so [`super::count`] uses it for small texts
//! only, until bpe-openai is built. The pre-tokenizer here ([`each_piece`]) serves both ways of
//! counting. `tests/tokens.rs` holds both to tiktoken-rs.

use std::cell::RefCell;
use std::sync::LazyLock;

use regex_automata::meta::{Cache, Regex};
use regex_automata::{Anchored, Input};

use super::Tokenizer;

static O200K_TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k.table"));
static CL100K_TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/cl100k.table"));

/// A vocabulary sorted by token bytes: `n`, then `n` (offset, length, rank) entries, then the
/// bytes (see `build.rs`).
struct Table {
    entries: &'static [u8],
    blob: &'static [u8],
}

impl Table {
    fn of(data: &'static [u8]) -> Table {
        let n = u32_at(data, 0) as usize;
        let (entries, blob) = data[4..].split_at(12 * n);
        Table { entries, blob }
    }

    fn len(&self) -> usize {
        self.entries.len() / 12
    }

    fn bytes(&self, i: usize) -> &'static [u8] {
        let (at, len) = (u32_at(self.entries, 12 * i) as usize, u32_at(self.entries, 12 * i + 4) as usize);
        &self.blob[at..at + len]
    }

    /// The rank of the token whose bytes are `bytes`, if there is one.
    fn rank(&self, bytes: &[u8]) -> Option<u32> {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.bytes(mid).cmp(bytes) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(u32_at(self.entries, 12 * mid + 8)),
            }
        }
        None
    }

    /// How many tokens one pre-token encodes to: one if it is a token, else what the byte-pair
    /// merge leaves (every single byte is a token of both encodings).
    fn piece_count(&self, piece: &[u8]) -> usize {
        if piece.len() <= 1 || self.rank(piece).is_some() {
            return piece.len().min(1);
        }
        // (start of a part, rank of the part joined with the next one)
        let rank = |a: usize, b: usize| self.rank(&piece[a..b]).unwrap_or(u32::MAX);
        let mut parts: Vec<(usize, u32)> = (0..piece.len() - 1).map(|i| (i, rank(i, i + 2))).collect();
        parts.push((piece.len() - 1, u32::MAX));
        parts.push((piece.len(), u32::MAX));
        while let Some((i, _)) =
            parts[..parts.len() - 1].iter().enumerate().filter(|(_, p)| p.1 != u32::MAX).min_by_key(|(i, p)| (p.1, *i))
        {
            // the part at i absorbs the next; its pair and the previous part's pair change
            let joined = |parts: &[(usize, u32)], k: usize| {
                if k + 3 < parts.len() { rank(parts[k].0, parts[k + 3].0) } else { u32::MAX }
            };
            if i > 0 {
                parts[i - 1].1 = joined(&parts, i - 1);
            }
            parts[i].1 = joined(&parts, i);
            parts.remove(i + 1);
        }
        parts.len() - 1
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// An encoding's pre-tokenizer: its pattern as three alternatives, the second of which ends in a
/// one-character look-ahead that is not part of the piece (`\s+(?!\S)` written as `\s+\s`).
/// Pieces made of ASCII are found by [`ascii_piece`], the same rules written out by hand (which
/// made counting three to four times faster); a piece whose extent depends on a character past
/// ASCII is left to the regex.
struct Pre {
    re: Regex,
    kind: Tokenizer,
}

impl Pre {
    fn new(first: &str, kind: Tokenizer) -> Pre {
        Pre { re: Regex::new_many(&[first, r"\s+\s", r"\s+"]).expect("pre-tokenizer patterns"), kind }
    }

    /// `f` of each piece of `text`, in order. The regex's scratch space is this thread's own:
    /// the regex's shared pool is slow for every thread but the first to use it, and counting
    /// runs on helper threads.
    fn each_piece<'a>(&self, text: &'a str, cache: &mut Cache, mut f: impl FnMut(&'a str)) {
        let mut at = 0;
        while at < text.len() {
            let Some(end) = ascii_piece(text.as_bytes(), at, self.kind).or_else(|| self.regex_piece(text, at, cache))
            else {
                break;
            };
            f(&text[at..end]);
            at = end;
        }
    }

    /// The end of the piece that starts at `at`, as the regex finds it.
    fn regex_piece(&self, text: &str, at: usize, cache: &mut Cache) -> Option<usize> {
        let m = self.re.search_with(cache, &Input::new(&text[at..]).anchored(Anchored::Yes))?;
        let mut end = at + m.end();
        if m.pattern().as_usize() == 1 {
            end -= text[at..end].chars().next_back().map_or(0, char::len_utf8);
        }
        (end > at).then_some(end)
    }
}

/// What the pre-tokenizer patterns see in a byte: `\p{Lu}`, `\p{Ll}`, `\p{N}`, `[\r\n]`, the
/// rest of `\s`, anything else, or a byte of a character past ASCII (whose class only the regex
/// knows).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Newline,
    Space,
    Other,
    Wide,
    End,
}

fn class(b: &[u8], i: usize) -> Class {
    match b.get(i) {
        None => Class::End,
        Some(b'A'..=b'Z') => Class::Upper,
        Some(b'a'..=b'z') => Class::Lower,
        Some(b'0'..=b'9') => Class::Digit,
        Some(b'\r' | b'\n') => Class::Newline,
        // Unicode's White_Space in ASCII: tab, line tab, form feed and space
        Some(b'\t' | 0x0b | 0x0c | b' ') => Class::Space,
        Some(0x80..) => Class::Wide,
        Some(_) => Class::Other,
    }
}

/// The end of the piece that starts at `p`, found as the encoding's pattern would find it when
/// every byte that decides it is ASCII; `None` when one is not (the regex then decides). Each
/// branch follows the pattern's alternatives in order, first match winning, each greedy:
/// - o200k: an optional non-letter, non-digit, non-newline prefix and a word (`[Lu]*[Ll]+`, else
///   `[Lu]+[Ll]*`) with an optional contraction; 1 to 3 digits; an optional space and a run of
///   punctuation with any `\r`, `\n` and `/` after it; whitespace up to its last newline; then
///   whitespace to the end, or all of a run but its last character, or a lone one.
/// - cl100k: a contraction first, then a prefix and a run of letters in any case, the rest as
///   o200k (the punctuation run takes no `/`).
fn ascii_piece(b: &[u8], p: usize, kind: Tokenizer) -> Option<usize> {
    let o200k = kind == Tokenizer::O200k;
    if !o200k
        && b[p] == b'\''
        && let Some(end) = contraction(b, p)?
    {
        return Some(end);
    }
    let word = |s: usize| if o200k { o200k_word(b, s) } else { letters(b, s) };
    match class(b, p) {
        Class::Upper | Class::Lower => word(p),
        Class::Digit => {
            let mut i = p;
            while i < p + 3 && class(b, i) == Class::Digit {
                i += 1;
            }
            (i == p + 3 || class(b, i) != Class::Wide).then_some(i)
        }
        Class::Wide | Class::End => None,
        c0 => {
            if c0 != Class::Newline {
                match class(b, p + 1) {
                    Class::Upper | Class::Lower => return word(p + 1),
                    Class::Wide => return None,
                    _ => {}
                }
            }
            let spaced = b[p] == b' ' && class(b, p + 1) == Class::Other;
            if c0 == Class::Other || spaced {
                return punctuation(b, p + usize::from(spaced), o200k);
            }
            whitespace(b, p)
        }
    }
}

/// o200k's word from `s`: capitals then small letters, or capitals alone, and a contraction.
fn o200k_word(b: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    while class(b, i) == Class::Upper {
        i += 1;
    }
    while class(b, i) == Class::Lower {
        i += 1;
    }
    if class(b, i) == Class::Wide {
        return None;
    }
    Some(contraction(b, i)?.unwrap_or(i))
}

/// cl100k's run of letters from `s` (no contraction: it is a piece of its own there).
fn letters(b: &[u8], s: usize) -> Option<usize> {
    let mut i = s;
    while matches!(class(b, i), Class::Upper | Class::Lower) {
        i += 1;
    }
    (class(b, i) != Class::Wide).then_some(i)
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)` at `i`: its end, `Some(None)` when there is none, `None` when a
/// character past ASCII follows the apostrophe (`ſ` folds to `s`).
fn contraction(b: &[u8], i: usize) -> Option<Option<usize>> {
    if b.get(i) != Some(&b'\'') {
        return Some(None);
    }
    let next = |k: usize| b.get(i + k).map(u8::to_ascii_lowercase);
    let end = match next(1) {
        Some(0x80..) => return None,
        Some(b's' | b't' | b'm' | b'd') => Some(i + 2),
        Some(b'r' | b'v') if next(2) == Some(b'e') => Some(i + 3),
        Some(b'l') if next(2) == Some(b'l') => Some(i + 3),
        _ => None,
    };
    Some(end)
}

/// ` ?[^\s\p{L}\p{N}]+[\r\n/]*` (cl100k: `[\r\n]*`) from the run's first character at `s`.
fn punctuation(b: &[u8], s: usize, slash: bool) -> Option<usize> {
    let mut i = s;
    while class(b, i) == Class::Other {
        i += 1;
    }
    if class(b, i) == Class::Wide {
        return None;
    }
    while matches!(b.get(i), Some(b'\r' | b'\n')) || (slash && b.get(i) == Some(&b'/')) {
        i += 1;
    }
    Some(i)
}

/// Whitespace from `p`: `\s*[\r\n]+` (up to the run's last newline), `\s+$`, `\s+(?!\S)` (all but
/// the run's last character) or `\s+` (one character).
fn whitespace(b: &[u8], p: usize) -> Option<usize> {
    let mut i = p;
    let mut newline_end = None;
    loop {
        match class(b, i) {
            Class::Newline => newline_end = Some(i + 1),
            Class::Space => {}
            Class::Wide => return None,
            _ => break,
        }
        i += 1;
    }
    Some(match newline_end {
        Some(end) => end,
        None if i == b.len() || i == p + 1 => i,
        None => i - 1,
    })
}

thread_local! {
    /// Each thread's scratch space for the two pre-tokenizers.
    static CACHES: RefCell<[Option<Cache>; 2]> = const { RefCell::new([None, None]) };
}

static O200K: LazyLock<(Table, Pre)> = LazyLock::new(|| {
    let first = [
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
        r"\p{N}{1,3}",
        r" ?[^\s\p{L}\p{N}]+[\r\n/]*",
        r"\s*[\r\n]+",
        r"\s+$",
    ]
    .join("|");
    (Table::of(O200K_TABLE), Pre::new(&first, Tokenizer::O200k))
});

static CL100K: LazyLock<(Table, Pre)> = LazyLock::new(|| {
    let first =
        r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+$";
    (Table::of(CL100K_TABLE), Pre::new(first, Tokenizer::Cl100k))
});

fn encoding(tokenizer: Tokenizer) -> &'static (Table, Pre) {
    match tokenizer {
        Tokenizer::O200k => &O200K,
        Tokenizer::Cl100k => &CL100K,
    }
}

/// `f` of each pre-token of `text` under the encoding's pattern (the pieces bpe-openai and
/// tiktoken encode one by one).
pub fn each_piece<'a>(text: &'a str, tokenizer: Tokenizer, f: impl FnMut(&'a str)) {
    let (_, pre) = encoding(tokenizer);
    CACHES.with(|caches| {
        let mut caches = caches.borrow_mut();
        let cache = caches[tokenizer as usize].get_or_insert_with(|| pre.re.create_cache());
        pre.each_piece(text, cache, f);
    });
}

/// Pre-tokens longer than this are not merged here: the merge is quadratic in a piece's length
/// (a 100 KB run of letters would take minutes), where bpe-openai's is linear.
pub const MAX_PIECE_BYTES: usize = 256;

/// The exact token count of `text` (as tiktoken's `encode_ordinary` would give), or `None` when
/// a pre-token is longer than [`MAX_PIECE_BYTES`].
pub fn count(text: &str, tokenizer: Tokenizer) -> Option<usize> {
    let (table, _) = encoding(tokenizer);
    // words and punctuation repeat: their counts are looked up once per call
    let mut seen: rustc_hash::FxHashMap<&str, usize> = rustc_hash::FxHashMap::default();
    let (mut n, mut too_long) = (0, false);
    each_piece(text, tokenizer, |p| {
        if too_long || p.len() > MAX_PIECE_BYTES {
            too_long = true;
            return;
        }
        n += if p.len() <= super::CACHED_PIECE_BYTES {
            *seen.entry(p).or_insert_with(|| table.piece_count(p.as_bytes()))
        } else {
            table.piece_count(p.as_bytes())
        };
    });
    (!too_long).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_hold_every_token_in_order() {
        for (t, n) in [(Table::of(O200K_TABLE), 199_998), (Table::of(CL100K_TABLE), 100_256)] {
            assert_eq!(t.len(), n);
            assert!((1..t.len()).all(|i| t.bytes(i - 1) < t.bytes(i)));
            // every byte is a token
            assert!((0..=255u8).all(|b| t.rank(&[b]).is_some()));
        }
    }

    #[test]
    fn a_piece_too_long_to_merge_here_is_refused_not_counted_slowly() {
        let run = "q".repeat(MAX_PIECE_BYTES + 1);
        assert_eq!(count(&run, Tokenizer::O200k), None);
        assert_eq!(count(&run[1..], Tokenizer::O200k), Some(Tokenizer::O200k.bpe().count(&run[1..])));
        // the public count takes the other way and stays exact
        let long = format!("{} tail", "abcdefghij".repeat(30_000));
        assert_eq!(super::super::count(&long, Tokenizer::O200k), Tokenizer::O200k.bpe().count(long.as_str()));
    }

    /// Every piece as the regex alone finds it.
    fn regex_pieces(text: &str, t: Tokenizer) -> Vec<&str> {
        let (_, pre) = encoding(t);
        let mut cache = pre.re.create_cache();
        let (mut out, mut at) = (Vec::new(), 0);
        while let Some(end) = pre.regex_piece(text, at, &mut cache) {
            out.push(&text[at..end]);
            at = end;
        }
        out
    }

    fn pieces(text: &str, t: Tokenizer) -> Vec<&str> {
        let mut out = Vec::new();
        each_piece(text, t, |p| out.push(p));
        out
    }

    #[test]
    fn the_ascii_rules_cut_where_the_regex_does() {
        for s in [
            "HTTPServer don't DON'T it'S we'RE they'll I'd 'sfoo 'xyz x'y",
            "  x\n\n  y  \t\tz \x0b\x0c w \r\n\r\n",
            "a.b ...foo }\n/x }//\n/ 1234567 x12 12x .5 -3",
            "camelCaseWord ABCdefGHI aBC ' '' '\n",
            "fn main() { println!(\"h\"); }\n    return x;\n",
            " ",
            "\n",
            "x  ",
            "\t",
            "'",
        ] {
            for t in Tokenizer::ALL {
                assert_eq!(pieces(s, t), regex_pieces(s, t), "{s:?} {t}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 3000,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x000a_5c11),
            ..Default::default()
        })]
        /// Strings of the characters the rules tell apart, with characters past ASCII that a rule
        /// must not guess at: a small and a capital letter, a combining mark, a letter that is
        /// neither, `ſ` (it folds to `s`), a digit and a number, non-ASCII spaces and punctuation.
        #[test]
        fn the_ascii_rules_cut_where_the_regex_does_on_any_mix(
            s in "[aZ'sStTrReElLvVmMdD019 \t\n\r\x0b\x0c/.,}_\x00\x7f\u{301}\u{e9}\u{c9}\u{2b0}\u{4e2d}\u{17f}\u{663}\u{b2}\u{a0}\u{85}\u{2028}\u{3000}\u{2014}\u{ab}]{0,40}"
        ) {
            for t in Tokenizer::ALL {
                proptest::prop_assert_eq!(pieces(&s, t), regex_pieces(&s, t), "{:?} {}", s, t);
            }
        }
    }

    #[test]
    fn counts_agree_with_bpe_openai() {
        for s in [
            "",
            "hello world",
            "  x\n\n  y  ",
            "fn main() { println!(\"héllo\"); }",
            "日本語のテキスト",
            "aGVsbG8gd29ybGQ=",
        ] {
            for t in Tokenizer::ALL {
                assert_eq!(count(s, t), Some(t.bpe().count(s)), "{s:?} {t}");
            }
        }
    }
}
