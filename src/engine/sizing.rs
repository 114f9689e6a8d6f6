//! Adaptive budget: how many items of a list are worth keeping (Headroom's `compute_optimal_k`).
//!
//! The same three signals as Headroom's `adaptive_sizer.rs`: near-duplicate clusters by SimHash
//! (character 4-grams, Hamming distance ≤ 3), the knee of the cumulative count of distinct word
//! bigrams (Kneedle), and a zlib check that the kept prefix is as compressible as the whole.
//! Two deliberate differences keep it linear on 10 MB inputs: the 4-gram hash is FNV-1a instead of
//! MD5, and clustering runs on an evenly spaced sample of at most 128 items (64 grams each).

use std::collections::HashSet;
use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

const SAMPLE_ITEMS: usize = 128;
const GRAMS_PER_ITEM: usize = 64;
const HAMMING_MAX: u32 = 3;
const KNEE_MIN_DEVIATION: f64 = 0.05;
const ZLIB_TOLERANCE: f64 = 0.15;
const ZLIB_BUMP: f64 = 1.2;
/// Headroom skips the check under 200 characters; ctxlens under 4 KB, where a zlib stream's own
/// overhead dominates the ratio and the check costs more than the sizing it refines.
const ZLIB_MIN_CHARS: usize = 4096;
const ZLIB_SAMPLE_BYTES: usize = 256 * 1024;

/// How many of `items` to keep: between `min_k` and `max_k` (all of them when there are ≤ 8).
/// `bias` > 1 keeps more, < 1 fewer.
pub fn optimal_k(items: &[&str], bias: f64, min_k: usize, max_k: usize) -> usize {
    let n = items.len();
    if n <= 8 {
        return n;
    }
    let sample = stride_sample(n, SAMPLE_ITEMS);
    let clusters = simhash_clusters(sample.iter().map(|&i| items[i]));
    if clusters <= 3 {
        return min_k.max(clusters).min(max_k.max(min_k)).min(n);
    }
    let diversity = clusters as f64 / sample.len() as f64;
    let floor_k = (n as f64 * (0.3 + 0.7 * diversity)).floor() as usize;
    let mut k = match bigram_knee(items) {
        None => min_k.max(floor_k),
        Some(knee) if diversity > 0.7 => knee.max(floor_k),
        Some(knee) => knee,
    };
    k = min_k.max((k as f64 * bias).floor() as usize).min(max_k);
    if zlib_disagrees(items, k) {
        k = ((k as f64 * ZLIB_BUMP).floor() as usize).min(max_k);
    }
    k.min(n)
}

/// Up to `limit` indices spread evenly over `0..n`, always including the first.
pub fn stride_sample(n: usize, limit: usize) -> Vec<usize> {
    if n <= limit {
        return (0..n).collect();
    }
    (0..limit).map(|i| i * n / limit).collect()
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn simhash(s: &str) -> u64 {
    let chars: Vec<char> = s.chars().take(GRAMS_PER_ITEM + 3).flat_map(char::to_lowercase).collect();
    let mut votes = [0i32; 64];
    let grams: Box<dyn Iterator<Item = &[char]>> =
        if chars.len() < 4 { Box::new(std::iter::once(&chars[..])) } else { Box::new(chars.windows(4)) };
    for gram in grams {
        let h = fnv1a(gram.iter().flat_map(|c| (*c as u32).to_le_bytes()));
        for (bit, vote) in votes.iter_mut().enumerate() {
            *vote += ((h >> bit) & 1) as i32 * 2 - 1;
        }
    }
    votes.iter().enumerate().fold(0u64, |acc, (bit, v)| if *v > 0 { acc | 1 << bit } else { acc })
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

/// The 1-based item count at the knee of the distinct-bigram curve, if the curve has one.
fn bigram_knee(items: &[&str]) -> Option<usize> {
    let n = items.len();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cumulative = Vec::with_capacity(n);
    for item in items {
        let lower = item.to_lowercase();
        let words: Vec<&str> = lower.split_whitespace().collect();
        if words.len() == 1 {
            seen.insert(fnv1a(words[0].bytes()));
        }
        for pair in words.windows(2) {
            seen.insert(fnv1a(pair[0].bytes().chain([0]).chain(pair[1].bytes())));
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

fn zlib_ratio<'a>(parts: impl Iterator<Item = &'a str>) -> Option<f64> {
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
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::fast());
    for p in taken {
        enc.write_all(p.as_bytes()).ok()?;
        enc.write_all(b"\n").ok()?;
    }
    let out = enc.finish().ok()?;
    Some(out.len() as f64 / total as f64)
}

fn zlib_disagrees(items: &[&str], k: usize) -> bool {
    let Some(prefix) = zlib_ratio(items.iter().take(k).copied()) else {
        return false;
    };
    let spread = stride_sample(items.len(), items.len().min(4096));
    let Some(all) = zlib_ratio(spread.iter().map(|&i| items[i])) else {
        return false;
    };
    (prefix - all).abs() > ZLIB_TOLERANCE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_lists_are_kept_whole() {
        let items = ["a", "b", "c"];
        assert_eq!(optimal_k(&items, 1.0, 3, 15), 3);
    }

    #[test]
    fn identical_items_collapse_to_min_k() {
        let items = vec!["{\"status\":\"ok\",\"msg\":\"processed batch\"}"; 200];
        assert_eq!(optimal_k(&items, 1.0, 3, 15), 3);
    }

    #[test]
    fn diverse_items_hit_the_cap_and_bias_scales() {
        let owned: Vec<String> = (0..300)
            .map(|i| format!("user {i} bought item {} for {} dollars in city {}", i * 7 % 97, i * 13 % 89, i % 41))
            .collect();
        let items: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert_eq!(optimal_k(&items, 1.0, 3, 15), 15);
        let low = optimal_k(&items, 0.01, 3, 15);
        assert!(low < 15, "bias 0.01 gave {low}");
        assert!(low >= 3);
    }

    #[test]
    fn sample_spreads() {
        assert_eq!(stride_sample(5, 10), vec![0, 1, 2, 3, 4]);
        let s = stride_sample(1000, 4);
        assert_eq!(s, vec![0, 250, 500, 750]);
    }
}
