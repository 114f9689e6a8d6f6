//! Throughput of every engine and of the token counter on 1 MB and 10 MB inputs built from the real
//! fixtures (repeated, with names varied so the copies are not identical). Each engine run is the
//! whole pipeline: engine, marker and ledger, and token counts of input and output, each a first
//! run (what engines remember for the workbench's knob changes is forgotten in between).
//!
//!   cargo bench --bench engines            # all
//!   scripts/bench-report.sh                # run and print the README table
//!
//! Targets (2-core machine, release): 1 MB through any engine in under 100 ms; 10 MB in under 12×
//! the 1 MB time.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ctxlens::{Config, Context, EngineChoice, EngineKind, Tokenizer, tokens};

#[path = "support/inputs.rs"]
mod inputs;

use inputs::{MB, fixture, grow, json_input};

fn inputs(size: usize) -> Vec<(EngineKind, String)> {
    let grep = fixture("search/grep-serde-json-fn.txt");
    let diff = fixture("diff/requests-2.31.0-2.32.3.git.diff");
    let cpp = fixture("code/python-rapidjson.cpp");
    vec![
        (EngineKind::Json, json_input(size)),
        (EngineKind::Log, inputs::log_input(size)),
        (EngineKind::Search, grow(size, |i| grep.replace("serde_json-", &format!("copy{i}/serde_json-")))),
        (
            EngineKind::Diff,
            grow(size, |i| diff.replace(" a/", &format!(" a/v{i}/")).replace(" b/", &format!(" b/v{i}/"))),
        ),
        (EngineKind::Code, grow(size, |i| cpp.replace("static PyObject*", &format!("static PyObject* /*{i}*/")))),
    ]
}

fn engines(c: &mut Criterion) {
    let config = Config::default();
    let ctx = Context::default();
    Tokenizer::O200k.warm();
    let mut group = c.benchmark_group("engine");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    for size in [MB, 10 * MB] {
        for (kind, input) in inputs(size) {
            group.throughput(Throughput::Bytes(input.len() as u64));
            group.bench_with_input(BenchmarkId::new(kind.name(), format!("{}MB", size / MB)), &input, |b, input| {
                b.iter(|| {
                    // each run as a first run: the context has no memo, so nothing is remembered
                    black_box(ctxlens::compress(input, EngineChoice::Only(kind), &config, &ctx))
                })
            });
        }
    }
    group.finish();
}

fn counter(c: &mut Criterion) {
    let text = fixture("log/python-service.log")
        + &fixture("json/npm-view-typescript.json")
        + &fixture("code/requests-sessions.py");
    let mut group = c.benchmark_group("tokens");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(8));
    for size in [MB, 10 * MB] {
        let input = grow(size, |_| text.clone());
        group.throughput(Throughput::Bytes(input.len() as u64));
        for t in Tokenizer::ALL {
            t.warm();
            group.bench_with_input(
                BenchmarkId::new(format!("bpe-openai/{t}"), format!("{}MB", size / MB)),
                &input,
                |b, s| b.iter(|| black_box(tokens::count(s, t))),
            );
        }
        let tik = tiktoken_rs::o200k_base_singleton();
        group.bench_with_input(BenchmarkId::new("tiktoken-rs/o200k", format!("{}MB", size / MB)), &input, |b, s| {
            b.iter(|| black_box(tik.encode_ordinary(s).len()))
        });
    }
    group.finish();
}

/// One long pre-token (a minified blob without spaces): where tiktoken-rs turns super-linear.
fn long_line(c: &mut Criterion) {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let line: String = (0..MB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (b'a' + (x % 26) as u8) as char
        })
        .collect();
    let mut group = c.benchmark_group("tokens-long-line");
    group.sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(line.len() as u64));
    Tokenizer::O200k.warm();
    group.bench_with_input(BenchmarkId::new("bpe-openai/o200k", "1MB"), &line, |b, s| {
        b.iter(|| black_box(tokens::count(s, Tokenizer::O200k)))
    });
    let tik = tiktoken_rs::o200k_base_singleton();
    group.bench_with_input(BenchmarkId::new("tiktoken-rs/o200k", "1MB"), &line, |b, s| {
        b.iter(|| black_box(tik.encode_ordinary(s).len()))
    });
    group.finish();
}

/// The prose engine with the default model (scripts/setup.sh builds it), on real prose: tokens/s
/// of input (o200k) through the whole pipeline, model load excluded; the int8 variant (what
/// `model = auto` picks) and the full-precision model it was quantized from.
fn prose(c: &mut Criterion) {
    if ctxlens::models::load("minilm-tokscore", 0).is_err() {
        eprintln!("prose benchmark skipped: run scripts/setup.sh first");
        return;
    }
    let text = fixture("prose/requests-HISTORY.md");
    let ctx = Context::default();
    let tokens = tokens::count(&text, Tokenizer::O200k);
    let mut group = c.benchmark_group("prose");
    group.sample_size(10).warm_up_time(Duration::from_secs(2)).measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(tokens as u64));
    let dir = format!("{}/models/minilm-tokscore", env!("CARGO_MANIFEST_DIR"));
    for (name, file) in [("minilm-tokscore int8", "model.int8.onnx"), ("minilm-tokscore fp32", "model.onnx")] {
        let mut config = Config::default();
        config.prose.model = format!("{dir}/{file}");
        group.bench_with_input(BenchmarkId::new(name, format!("{tokens}tok")), &text, |b, t| {
            b.iter(|| black_box(ctxlens::compress(t, EngineChoice::Only(EngineKind::Prose), &config, &ctx)))
        });
    }
    group.finish();
}

criterion_group!(benches, engines, counter, long_line, prose);
criterion_main!(benches);
