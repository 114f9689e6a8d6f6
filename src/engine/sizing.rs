//! Adaptive budget: how many items of a list are worth keeping (Headroom's `compute_optimal_k`).
//!
//! The same three signals as Headroom's `adaptive_sizer.rs`: near-duplicate clusters by SimHash
//! (character 4-grams, Hamming distance ≤ 3), the knee of the cumulative count of distinct word
//! bigrams (Kneedle), and a zlib check that the kept prefix is as compressible as the whole.
//! Deliberate differences keep it linear on 10 MB inputs: the 4-gram hash is a SplitMix64 chain
//! instead of MD5, clustering runs on an evenly spaced sample of at most 128 items (64 grams each),
//! and the zlib check compresses at most 64 KB per side. The knob-free signals of a list are
//! remembered by its content, so re-sizing the same lists with other knobs (the workbench's
//! tuning panel) skips straight to the arithmetic. The knee and the zlib check run only where
//! they can change the answer (not once the caps already decide it).

use std::cell::RefCell;
use std::hash::{Hash, Hasher};

use super::api::Memo;
use flate2::{Compress, Compression, FlushCompress, Status};
use rustc_hash::{FxHashSet, FxHasher};

/// A list of texts read by position: a slice of them, or a list read where it lies (a lean JSON
/// array's items, in its source text), so a list of a million items need not be copied out.
pub trait Texts {
    fn count(&self) -> usize;
    fn text(&self, i: usize) -> &str;

    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.count()).map(|i| self.text(i))
    }
}

impl Texts for [&str] {
    fn count(&self) -> usize {
        self.len()
    }

    fn text(&self, i: usize) -> &str {
        self[i]
    }
}

impl Texts for [std::borrow::Cow<'_, str>] {
    fn count(&self) -> usize {
        self.len()
    }

    fn text(&self, i: usize) -> &str {
        &self[i]
    }
}

const SAMPLE_ITEMS: usize = 128;
const GRAMS_PER_ITEM: usize = 64;
const HAMMING_MAX: u32 = 3;
const KNEE_MIN_DEVIATION: f64 = 0.05;
const ZLIB_TOLERANCE: f64 = 0.15;
const ZLIB_BUMP: f64 = 1.2;
/// Headroom skips the check under 200 characters; ctxlens under 4 KB, where a zlib stream's own
/// overhead dominates the ratio and the check costs more than the sizing it refines.
const ZLIB_MIN_CHARS: usize = 4096;
/// Bytes compressed per side. Deflate looks back at most 32 KB, so two windows' worth already
/// shows how repetitive the items are; both sides get the same cap, so their ratios compare.
const ZLIB_SAMPLE_BYTES: usize = 64 * 1024;

/// How many of `items` to keep: between `min_k` and `max_k` (all of them when there are ≤ 8).
/// `bias` > 1 keeps more, < 1 fewer.
/// What the list's content says (clusters, knee, zlib spread) is kept in `memo` when there is
/// one: the workbench re-sizes the same lists on every knob change, and only the knobs differ.
pub fn optimal_k<T: Texts + ?Sized>(items: &T, bias: f64, min_k: usize, max_k: usize, memo: Option<&Memo>) -> usize {
    let n = items.count();
    if n <= 8 {
        return n;
    }
    let key = content_key(items);
    let known = remembered(memo, key);
    let mut sig = known.unwrap_or_else(|| {
        let sample = stride_sample(n, SAMPLE_ITEMS);
        let clusters = simhash_clusters(sample.iter().map(|&i| items.text(i)));
        Signals { clusters, sample: sample.len(), knee: None, spread_ratio: None }
    });
    let k = size(items, bias, min_k, max_k, &mut sig);
    // once per list and per signal learnt: what this sizing computed, the next one reuses
    if known.is_none_or(|old| old.knee != sig.knee || old.spread_ratio != sig.spread_ratio) {
        remember(memo, key, sig);
    }
    k
}

/// The size of a list of more than 8 items from its signals; the knee and the zlib spread are
/// computed into `sig` the first time a size needs them.
fn size<T: Texts + ?Sized>(items: &T, bias: f64, min_k: usize, max_k: usize, sig: &mut Signals) -> usize {
    let n = items.count();
    if sig.clusters <= 3 {
        return min_k.max(sig.clusters).min(max_k.max(min_k)).min(n);
    }
    let diversity = sig.clusters as f64 / sig.sample as f64;
    let floor_k = (n as f64 * (0.3 + 0.7 * diversity)).floor() as usize;
    let fit = |k: usize| min_k.max((k as f64 * bias).floor() as usize).min(max_k);
    // Diverse lists keep at least `floor_k`; when that alone reaches `max_k`, the knee cannot
    // change the answer and its pass over every item is skipped.
    let k = if diversity > 0.7 && fit(floor_k) >= max_k {
        fit(floor_k)
    } else {
        let knee = *sig.knee.get_or_insert_with(|| bigram_knee(items));
        fit(match knee {
            None => min_k.max(floor_k),
            Some(knee) if diversity > 0.7 => knee.max(floor_k),
            Some(knee) => knee,
        })
    };
    // the zlib check can only raise `k`; where the raise is nothing, it is not run
    let raised = ((k as f64 * ZLIB_BUMP).floor() as usize).min(max_k);
    let k = if k < n && raised > k && zlib_disagrees(items, k, sig) { raised } else { k };
    k.min(n)
}

/// What the budget knows about a list before any knob applies.
#[derive(Debug, Clone, Copy)]
struct Signals {
    clusters: usize,
    /// How many items the clustering sampled.
    sample: usize,
    /// The bigram knee, once a size needed it (only with more than 3 clusters).
    knee: Option<Option<usize>>,
    /// The zlib ratio of a spread of the items, once a check needed it.
    spread_ratio: Option<Option<f64>>,
}

/// A list's identity for [`Signals`]: a hash of every item and its length, with the count.
type ContentKey = (u64, usize, usize);

fn content_key<T: Texts + ?Sized>(items: &T) -> ContentKey {
    let mut h = FxHasher::default();
    let mut bytes = 0;
    for item in items.iter() {
        item.hash(&mut h);
        bytes += item.len();
    }
    (h.finish(), bytes, items.count())
}

/// The memo's name for list signals, and how many lists it keeps (a hash collision could only
/// change a size, never what the ledger records).
const MEMO_KIND: &str = "sizing-signals";
const MEMO_LISTS: usize = 50_000;

fn remembered(memo: Option<&Memo>, key: ContentKey) -> Option<Signals> {
    memo?.get::<(ContentKey, Signals)>(MEMO_KIND, key_hash(key)).filter(|e| e.0 == key).map(|e| e.1)
}

fn remember(memo: Option<&Memo>, key: ContentKey, sig: Signals) {
    if let Some(m) = memo {
        m.put(MEMO_KIND, MEMO_LISTS, key_hash(key), (key, sig));
    }
}

fn key_hash(key: ContentKey) -> u64 {
    let mut h = FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// Up to `limit` indices spread evenly over `0..n`, always including the first.
pub fn stride_sample(n: usize, limit: usize) -> Vec<usize> {
    if n <= limit {
        return (0..n).collect();
    }
    (0..limit).map(|i| i * n / limit).collect()
}

/// A 64-bit SimHash of the first 64 lower-cased character 4-grams (the whole text when shorter).
fn simhash(s: &str) -> u64 {
    const LANES: u64 = 0x0101_0101_0101_0101;
    let mut chars = [0u32; GRAMS_PER_ITEM + 3];
    let len = lowered_head(s, &mut chars);
    // How many grams set each bit, eight counters to a word: `acc[j]` byte `k` counts bit `8k + j`
    // (at most 64 grams, so a byte never overflows).
    let mut acc = [0u64; 8];
    let mut total = 0u32;
    for gram in chars[..len].windows(len.clamp(1, 4)) {
        total += 1;
        let h = gram.iter().fold(0x243f_6a88_85a3_08d3u64, |h, &c| mix(h ^ u64::from(c)));
        for (j, a) in acc.iter_mut().enumerate() {
            *a += (h >> j) & LANES;
        }
    }
    let mut out = 0u64;
    for (j, a) in acc.iter().enumerate() {
        for k in 0..8 {
            if 2 * ((a >> (8 * k)) & 0xff) as u32 > total {
                out |= 1 << (8 * k + j);
            }
        }
    }
    out
}

/// The first `out.len()` characters of `s` lower-cased, into `out`; how many there are.
fn lowered_head(s: &str, out: &mut [u32]) -> usize {
    let head = &s.as_bytes()[..s.len().min(out.len())];
    if head.is_ascii() {
        // the common case, without Unicode's case tables (the same characters: a head of ASCII
        // bytes is that many characters)
        for (c, b) in out.iter_mut().zip(head) {
            *c = u32::from(b.to_ascii_lowercase());
        }
        return head.len();
    }
    let mut len = 0;
    for c in s.chars().flat_map(char::to_lowercase).take(out.len()) {
        out[len] = c as u32;
        len += 1;
    }
    len
}

/// A 64-bit finaliser (SplitMix64's): every input bit moves about half the output bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn simhash_clusters<'a>(items: impl Iterator<Item = &'a str>) -> usize {
    let mut reps: Vec<u64> = Vec::new();
    for item in items {
        let h = simhash(item);
        if !reps.iter().any(|r| (r ^ h).count_ones() <= HAMMING_MAX) {
            reps.push(h);
        }
    }
    reps.len()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Calls `f` with the FNV-1a hash of each whitespace-separated word of `item`, lower-cased,
/// without copying the item (ASCII text, the common case, in one pass over its bytes).
fn word_hashes(item: &str, mut f: impl FnMut(u64)) {
    if !item.is_ascii() {
        let mut buf = [0u8; 4];
        for w in item.split_whitespace() {
            let mut h = FNV_OFFSET;
            for c in w.chars().flat_map(char::to_lowercase) {
                for b in c.encode_utf8(&mut buf).bytes() {
                    h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
                }
            }
            f(h);
        }
        return;
    }
    let (mut h, mut in_word) = (FNV_OFFSET, false);
    for &b in item.as_bytes() {
        // the ASCII characters `char::is_whitespace` accepts
        if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            if in_word {
                f(h);
                (h, in_word) = (FNV_OFFSET, false);
            }
        } else {
            h = (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(FNV_PRIME);
            in_word = true;
        }
    }
    if in_word {
        f(h);
    }
}

/// The 1-based item count at the knee of the distinct-bigram curve, if the curve has one.
fn bigram_knee<T: Texts + ?Sized>(items: &T) -> Option<usize> {
    let n = items.count();
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    let mut cumulative = Vec::with_capacity(n);
    for item in items.iter() {
        // bigrams from the words' hashes; an item of one word counts that word
        let (mut prev, mut words) = (0u64, 0usize);
        word_hashes(item, |w| {
            if words > 0 {
                seen.insert(prev.rotate_left(17) ^ w.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            prev = w;
            words += 1;
        });
        if words == 1 {
            seen.insert(prev);
        }
        cumulative.push(seen.len());
    }
    let total = *cumulative.last()? as f64;
    if total == 0.0 {
        return None;
    }
    let (mut best, mut best_dev) = (0, f64::MIN);
    for (i, &c) in cumulative.iter().enumerate() {
        let x = if n > 1 { i as f64 / (n - 1) as f64 } else { 0.0 };
        let dev = c as f64 / total - x;
        if dev > best_dev {
            best_dev = dev;
            best = i;
        }
    }
    (best_dev >= KNEE_MIN_DEVIATION).then_some(best + 1)
}

/// Compressed size over raw size of the parts (newline-joined) up to [`ZLIB_SAMPLE_BYTES`]. One
/// compressor per thread is reset and reused, and the output only counted, not kept.
fn zlib_ratio<'a>(parts: impl Iterator<Item = &'a str>) -> Option<f64> {
    thread_local! {
        static Z: RefCell<(Compress, Vec<u8>)> =
            RefCell::new((Compress::new(Compression::fast(), true), vec![0; 32 * 1024]));
    }
    let mut taken: Vec<&str> = Vec::new();
    let mut total = 0usize;
    for p in parts {
        if total >= ZLIB_SAMPLE_BYTES {
            break;
        }
        total += p.len() + 1;
        taken.push(p);
    }
    if total < ZLIB_MIN_CHARS {
        return None;
    }
    Z.with_borrow_mut(|(z, scratch)| {
        z.reset();
        for p in taken {
            for mut input in [p.as_bytes(), b"\n"] {
                while !input.is_empty() {
                    let before = z.total_in();
                    z.compress(input, scratch, FlushCompress::None).ok()?;
                    input = &input[(z.total_in() - before) as usize..];
                }
            }
        }
        while z.compress(&[], scratch, FlushCompress::Finish).ok()? != Status::StreamEnd {}
        Some(z.total_out() as f64 / total as f64)
    })
}

fn zlib_disagrees<T: Texts + ?Sized>(items: &T, k: usize, sig: &mut Signals) -> bool {
    let Some(prefix) = zlib_ratio(items.iter().take(k)) else {
        return false;
    };
    let all = *sig.spread_ratio.get_or_insert_with(|| {
        let spread = stride_sample(items.count(), items.count().min(4096));
        zlib_ratio(spread.iter().map(|&i| items.text(i)))
    });
    all.is_some_and(|all| (prefix - all).abs() > ZLIB_TOLERANCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heads_lowered_characters_are_the_same_on_the_ascii_way() {
        let long = "Ab".repeat(40);
        let cases = [
            "",
            "MiXeD Case 123",
            long.as_str(),
            // non-ASCII past the head, at its edge, inside it; a character that lowers to two
            &format!("{}É", "A".repeat(GRAMS_PER_ITEM + 3)),
            &format!("{}É", "A".repeat(GRAMS_PER_ITEM + 2)),
            "ÉCOLE Straße İstanbul",
        ];
        for s in cases {
            let mut out = [0u32; GRAMS_PER_ITEM + 3];
            let len = lowered_head(s, &mut out);
            let want: Vec<u32> = s.chars().flat_map(char::to_lowercase).take(out.len()).map(|c| c as u32).collect();
            assert_eq!(&out[..len], want.as_slice(), "{s:?}");
        }
    }

    #[test]
    fn small_lists_are_kept_whole() {
        let items = ["a", "b", "c"];
        assert_eq!(optimal_k(&items[..], 1.0, 3, 15, None), 3);
    }

    #[test]
    fn identical_items_collapse_to_min_k() {
        let items = vec!["{\"status\":\"ok\",\"msg\":\"processed batch\"}"; 200];
        assert_eq!(optimal_k(&items[..], 1.0, 3, 15, None), 3);
    }

    #[test]
    fn diverse_items_hit_the_cap_and_bias_scales() {
        let owned: Vec<String> = (0..300)
            .map(|i| format!("user {i} bought item {} for {} dollars in city {}", i * 7 % 97, i * 13 % 89, i % 41))
            .collect();
        let items: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert_eq!(optimal_k(&items[..], 1.0, 3, 15, None), 15);
        let low = optimal_k(&items[..], 0.01, 3, 15, None);
        assert!(low < 15, "bias 0.01 gave {low}");
        assert!(low >= 3);
    }

    #[test]
    fn words_hash_the_same_in_ascii_and_unicode_text() {
        let collect = |s: &str| {
            let mut v = Vec::new();
            word_hashes(s, |h| v.push(h));
            v
        };
        let ascii = collect("  Hello\tWORLD\x0bagain\r\n");
        assert_eq!(ascii.len(), 3);
        // the same words in a text that is not ASCII take the other path and hash alike
        let unicode = collect("hello world again é");
        assert_eq!(&unicode[..3], &ascii[..]);
        assert_ne!(ascii[0], ascii[1]);
        assert!(collect(" \n ").is_empty());
    }

    #[test]
    fn remembered_signals_give_the_same_sizes_and_the_knobs_still_apply() {
        let owned: Vec<String> = (0..400)
            .map(|i| format!("order {i} shipped to {} with {} parcels, carrier {}", i * 31 % 97, i % 7, i % 5))
            .collect();
        let items: Vec<&str> = owned.iter().map(String::as_str).collect();
        let memo = Memo::default();
        let m = Some(&memo);
        let first = optimal_k(&items[..], 1.0, 3, 400, m);
        assert!(remembered(m, content_key(&items[..])).is_some());
        // a sizing the caps do not decide needs the knee, and remembers it with the clusters
        let wide = Memo::default();
        optimal_k(&items[..], 1.0, 3, 10_000, Some(&wide));
        let known = remembered(Some(&wide), content_key(&items[..])).expect("remembered");
        assert!(known.knee.is_some());
        assert!(remembered(None, content_key(&items[..])).is_none());
        assert_eq!(optimal_k(&items[..], 1.0, 3, 400, m), first);
        assert_eq!(optimal_k(&items[..], 1.0, 3, 10, m), first.min(10));
        assert_eq!(optimal_k(&items[..], 1.0, 3, 400, None), first, "remembered or not, the same size");
        let half = optimal_k(&items[..], 0.5, 3, 400, m);
        assert!(half < first, "{half} vs {first}");
        // another list is not mistaken for this one
        let fewer = &items[..300];
        assert_ne!(content_key(fewer), content_key(&items[..]));
    }

    #[test]
    fn sample_spreads() {
        assert_eq!(stride_sample(5, 10), vec![0, 1, 2, 3, 4]);
        let s = stride_sample(1000, 4);
        assert_eq!(s, vec![0, 250, 500, 750]);
    }
}
