//! Writes each OpenAI encoding's vocabulary as a table sorted by token bytes (see
//! `src/tokens/table.rs`), taken from bpe-openai itself so the two can never disagree: a small
//! text is counted from this table, which costs nothing to load, while bpe-openai's own structures
//! take about 70 ms to build.

use std::io::Write;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (name, tok) in [("o200k", bpe_openai::o200k_base()), ("cl100k", bpe_openai::cl100k_base())] {
        write_table(&Path::new(&out).join(format!("{name}.table")), &tok.bpe);
    }
}

/// The table: the token count `n` (u32), then `n` entries of (offset, length, rank) as u32s in
/// the order of the token bytes, then every token's bytes. Every integer is little-endian.
fn write_table(path: &Path, bpe: &bpe_openai::byte_pair_encoding::BytePairEncoding) {
    let n = bpe.num_tokens() as u32;
    let mut ids: Vec<u32> = (0..n).collect();
    ids.sort_unstable_by(|&a, &b| bpe.token_bytes(a).cmp(bpe.token_bytes(b)));
    let mut index = Vec::with_capacity(4 + 12 * ids.len());
    let mut blob = Vec::new();
    index.extend_from_slice(&n.to_le_bytes());
    for &id in &ids {
        let bytes = bpe.token_bytes(id);
        for v in [blob.len() as u32, bytes.len() as u32, id] {
            index.extend_from_slice(&v.to_le_bytes());
        }
        blob.extend_from_slice(bytes);
    }
    let mut f = std::fs::File::create(path).expect("create the table");
    f.write_all(&index).and_then(|()| f.write_all(&blob)).expect("write the table");
}
