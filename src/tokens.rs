//! Token counting: the one function every part of ctxlens uses to count tokens.
//!
//! Counts are exact o200k_base or cl100k_base counts (the OpenAI encodings), computed offline by
//! `bpe-openai`, whose dictionaries are compiled into the binary. tiktoken-rs gives identical counts
//! (checked by `tests/tokens.rs` on every fixture) but is super-linear on long pre-tokens: a 10 MB
//! line without spaces takes it 16 s against 0.8 s here, and inputs like that are exactly what an
//! agent pipes around (minified JSON, base64 blobs). `benches/engines.rs` measures both.
//!
//! Two things make counting fast without changing a count: short pre-tokens (words, punctuation)
//! repeat, so their counts are cached per call; and a text of 32 KB or more is cut at points where
//! the pre-tokenizer always cuts too, and the parts are counted on long-lived worker threads.
//!
//! bpe-openai takes about 70 ms to build its structures, which would be most of a small call's
//! time; until it is built (by a large text, or [`Tokenizer::warm`]), small texts are counted from
//! the vocabulary table compiled into the binary ([`table`]), with the same result. Both ways
//! pre-tokenize with [`table::each_piece`] (bpe-openai's patterns: written out by hand for pieces of
//! ASCII, which made counting three to four times faster, and the regex for the rest, each thread
//! with its own regex scratch space: the regex's shared pool serialises the counting threads).

mod table;

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustc_hash::FxHashMap;
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
        BUILT[self as usize].get_or_init(|| match self {
            Tokenizer::O200k => bpe_openai::o200k_base(),
            Tokenizer::Cl100k => bpe_openai::cl100k_base(),
        })
    }

    /// Whether bpe-openai's structures for this encoding are built.
    fn built(self) -> bool {
        BUILT[self as usize].get().is_some()
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
            other => Err(format!("unknown tokenizer `{other}`: expected o200k (o200k_base) or cl100k (cl100k_base)")),
        }
    }
}

/// bpe-openai's tokenizers, once built.
static BUILT: [OnceLock<&'static bpe_openai::Tokenizer>; 2] = [OnceLock::new(), OnceLock::new()];

/// Texts up to this size are counted from the table while bpe-openai is not built…
const TABLE_TEXT_BYTES: usize = 256 * 1024;
/// …until this much text has been counted so: past it, building bpe-openai (about 70 ms, as long
/// as the table takes for some 500 KB) pays for itself.
const TABLE_TOTAL_BYTES: usize = 512 * 1024;
static TABLE_COUNTED: AtomicUsize = AtomicUsize::new(0);

/// Below this size a text is counted on the calling thread.
const PARALLEL_MIN_BYTES: usize = 32 * 1024;
/// From this size the parts go to threads spawned for the call, which borrow them, instead of the
/// workers, which would need copies.
const SCOPED_MIN_BYTES: usize = 1024 * 1024;
/// Pre-tokens up to this long have their counts cached.
const CACHED_PIECE_BYTES: usize = 24;

/// Counts the tokens of `text` exactly as the encoding would (special tokens are plain text, as in
/// tiktoken's `encode_ordinary`).
pub fn count(text: &str, tokenizer: Tokenizer) -> usize {
    if text.len() <= TABLE_TEXT_BYTES
        && !tokenizer.built()
        && TABLE_COUNTED.fetch_add(text.len(), Ordering::Relaxed) < TABLE_TOTAL_BYTES
        && let Some(n) = table::count(text, tokenizer)
    {
        return n;
    }
    on_parts(text, tokenizer, count_part).into_iter().sum()
}

/// [`count`] from the compiled vocabulary table alone, whatever the text's size (for tests that
/// hold it to tiktoken); `None` when a pre-token is too long for it.
pub fn count_from_table(text: &str, tokenizer: Tokenizer) -> Option<usize> {
    table::count(text, tokenizer)
}

/// `f` of each part of `text`, in order: one part on the calling thread for a small text, else
/// parts cut where the pre-tokenizers always cut, the first counted here and the others by the
/// long-lived [`workers`] (each keeps its regex scratch space warm across calls, which threads
/// spawned per call would rebuild every time), or past [`SCOPED_MIN_BYTES`] by threads of the
/// call's own. A part whose worker or thread is gone or failed is done here.
fn on_parts<T: Send + 'static>(text: &str, tokenizer: Tokenizer, f: fn(&str, Tokenizer) -> T) -> Vec<T> {
    if text.len() < PARALLEL_MIN_BYTES {
        return vec![f(text, tokenizer)];
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let parts = split_at_piece_boundaries(text, threads);
    if parts.len() == 1 {
        return vec![f(text, tokenizer)];
    }
    if text.len() >= SCOPED_MIN_BYTES {
        // a worker needs its part copied; past this size threads of their own borrow it instead
        // (their scratch space costs little against the counting)
        return std::thread::scope(|s| {
            let handles: Vec<_> = parts.iter().map(|p| s.spawn(move || f(p, tokenizer))).collect();
            handles.into_iter().zip(&parts).map(|(h, p)| h.join().unwrap_or_else(|_| f(p, tokenizer))).collect()
        });
    }
    let replies: Vec<_> = parts[1..]
        .iter()
        .map(|p| {
            let (tx, rx) = std::sync::mpsc::channel();
            let owned = p.to_string();
            let job: Job = Box::new(move || {
                let _ = tx.send(f(&owned, tokenizer));
            });
            workers().lock().ok().and_then(|w| w.send(job).ok()).map(|()| rx)
        })
        .collect();
    let mut out = vec![f(parts[0], tokenizer)];
    for (reply, p) in replies.into_iter().zip(&parts[1..]) {
        out.push(reply.and_then(|rx| rx.recv().ok()).unwrap_or_else(|| f(p, tokenizer)));
    }
    out
}

type Job = Box<dyn FnOnce() + Send>;

/// The counting workers: one fewer than the cores (at most 7), started on first use, living as
/// long as the process; a job that panics ends only itself (its caller counts that part again).
fn workers() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static WORKERS: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    WORKERS.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(2, 8) - 1;
        for i in 0..n {
            let rx = rx.clone();
            let _ = std::thread::Builder::new().name(format!("ctxlens-count-{i}")).spawn(move || {
                loop {
                    let Ok(job) = rx.lock().map_err(drop).and_then(|r| r.recv().map_err(drop)) else { return };
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        }
        std::sync::Mutex::new(tx)
    })
}

fn count_part(text: &str, tokenizer: Tokenizer) -> usize {
    let mut cache = Cache::default();
    let tok = tokenizer.bpe();
    let mut n = 0;
    table::each_piece(text, tokenizer, |piece| n += count_piece(tok, piece, &mut cache) as usize);
    n
}

/// The counts of one call's pre-tokens: those of up to 7 bytes keyed by their bytes packed in a
/// number (most are: a word and its space), the rest up to [`CACHED_PIECE_BYTES`] by their text.
#[derive(Default)]
struct Cache<'a> {
    short: FxHashMap<u64, u32>,
    long: FxHashMap<&'a str, u32>,
}

/// MurmurHash3's finaliser, a bijection: a packed piece with every bit mixed into the low bits
/// the table indexes by (Fx multiplies, which leaves them to the first bytes, shared by most
/// pieces of a JSON text: counting 1 MB of it was 15% slower without this).
fn mix(x: u64) -> u64 {
    let mut h = x ^ (x >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn count_piece<'a>(tok: &bpe_openai::Tokenizer, piece: &'a str, cache: &mut Cache<'a>) -> u32 {
    let count = || tok.bpe.count(piece.as_bytes()) as u32;
    let b = piece.as_bytes();
    if b.len() < 8 {
        // the length in the top byte tells "a" from "a\0"
        let key = b.iter().rev().fold(0u64, |k, &x| (k << 8) | u64::from(x)) | ((b.len() as u64) << 56);
        *cache.short.entry(mix(key)).or_insert_with(count)
    } else if b.len() <= CACHED_PIECE_BYTES {
        *cache.long.entry(piece).or_insert_with(count)
    } else {
        count()
    }
}

/// The tokens of `text` per line (split after each `\n`): each pre-token counts on the line it
/// starts on, so the lines add up to [`count`] of the whole text, and a run of lines costs what
/// it costs in place, where a pre-token may reach across a line end.
pub fn count_per_line(text: &str, tokenizer: Tokenizer) -> Vec<u32> {
    let lines = text.split_inclusive('\n').count();
    let counted = on_parts(text, tokenizer, |p, tokenizer| {
        let tok = tokenizer.bpe();
        let mut cache = Cache::default();
        let mut out = vec![0u32; memchr::memchr_iter(b'\n', p.as_bytes()).count() + 1];
        let mut line = 0;
        table::each_piece(p, tokenizer, |piece| {
            out[line] += count_piece(tok, piece, &mut cache);
            line += memchr::memchr_iter(b'\n', piece.as_bytes()).count();
        });
        out
    });
    // a part's first line continues the previous part's last one (a part of n lines ends n - 1
    // newlines on)
    let mut out = vec![0u32; lines.max(1)];
    let mut line = 0;
    for c in &counted {
        for (k, n) in c.iter().enumerate() {
            if let Some(slot) = out.get_mut(line + k) {
                *slot += n;
            }
        }
        line += c.len() - 1;
    }
    out.truncate(lines);
    out
}

/// Cuts `text` into up to `n` parts at offsets where both encodings' pre-tokenizers always start
/// a new piece, so the parts' counts add up to the whole's: after an ASCII letter that is followed
/// by one of `",:;{}[]()<>=` (no piece holds a letter and then such a character), or after a
/// newline followed by an ASCII letter or digit.
fn split_at_piece_boundaries(text: &str, n: usize) -> Vec<&str> {
    let b = text.as_bytes();
    let safe = |p: usize| {
        let (prev, next) = (b[p - 1], b[p]);
        (prev.is_ascii_alphabetic() && b"\",:;{}[]()<>=".contains(&next))
            || (prev == b'\n' && next.is_ascii_alphanumeric())
    };
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        let target = text.len() * k / n;
        if target <= start {
            continue;
        }
        let window_end = (target + 64 * 1024).min(text.len() - 1);
        if let Some(cut) = (target.max(1)..window_end).find(|&p| safe(p)) {
            parts.push(&text[start..cut]);
            start = cut;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The share of tokens saved, in percent (0 for an empty input): the one formula every report,
/// list and title line uses.
pub fn saved_percent(tokens_in: usize, tokens_out: usize) -> f64 {
    if tokens_in == 0 { 0.0 } else { 100.0 * (tokens_in as f64 - tokens_out as f64) / tokens_in as f64 }
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
    fn parallel_parts_add_up() {
        let unit = "{\"id\":12,\"msg\":\"héllo wörld\",\"tags\":[\"a\",\"b\"]}\nERROR line 7 failed: timeout\n";
        let text = unit.repeat(20_000);
        let parts = split_at_piece_boundaries(&text, 4);
        assert!(parts.len() > 1);
        assert_eq!(parts.concat(), text);
        for t in Tokenizer::ALL {
            let whole = t.bpe().count(text.as_str());
            assert_eq!(count(&text, t), whole);
            assert_eq!(parts.iter().map(|p| count_part(p, t)).sum::<usize>(), whole);
            // per line, in parallel parts: every line has its tokens, and they add up
            let per_line = count_per_line(&text, t);
            assert_eq!(per_line.len(), 40_000);
            assert_eq!(per_line.iter().map(|&n| n as usize).sum::<usize>(), whole);
            assert_eq!(per_line[1] as usize, count("ERROR line 7 failed: timeout\n", t));
            assert!(per_line.iter().all(|&n| n > 0));
        }
        assert_eq!(count_per_line("", Tokenizer::O200k), Vec::<u32>::new());
        assert_eq!(count_per_line("a b\n\nc", Tokenizer::O200k).len(), 3);
    }

    #[test]
    fn the_workers_count_mid_sized_texts_exactly_and_again() {
        // between PARALLEL_MIN_BYTES and SCOPED_MIN_BYTES the parts go to the long-lived workers
        let unit = "fn main() { let x = \"héllo\"; }\n    ERROR: timeout after 30s (retry 2/5)\n";
        let text = unit.repeat(1500);
        assert!((PARALLEL_MIN_BYTES..SCOPED_MIN_BYTES).contains(&text.len()));
        assert!(split_at_piece_boundaries(&text, 2).len() > 1);
        for t in Tokenizer::ALL {
            let whole = t.bpe().count(text.as_str());
            for _ in 0..3 {
                assert_eq!(count(&text, t), whole);
            }
            let per_line = count_per_line(&text, t);
            assert_eq!(per_line.len(), 3000);
            assert_eq!(per_line.iter().map(|&n| n as usize).sum::<usize>(), whole);
        }
    }

    #[test]
    fn parses_names() {
        assert_eq!("o200k_base".parse::<Tokenizer>().unwrap(), Tokenizer::O200k);
        assert_eq!("CL100K".parse::<Tokenizer>().unwrap(), Tokenizer::Cl100k);
        assert!("p50k".parse::<Tokenizer>().unwrap_err().contains("o200k"));
    }
}
