//! Bench inputs built from the real fixtures, repeated with names varied so copies differ.

use std::path::Path;

pub const MB: usize = 1024 * 1024;

pub fn fixture(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel)).expect("fixture")
}

/// Repeats `unit(i)` until the text reaches `size` bytes.
pub fn grow(size: usize, mut unit: impl FnMut(usize) -> String) -> String {
    let mut s = String::with_capacity(size + MB / 8);
    let mut i = 0;
    while s.len() < size {
        s.push_str(&unit(i));
        i += 1;
    }
    s
}

/// `{"packages": [...]}` of cargo-metadata packages (compact), `size` bytes.
pub fn json_input(size: usize) -> String {
    let meta: serde_json::Value = serde_json::from_str(&fixture("json/cargo-metadata.json")).unwrap();
    let packages = meta["packages"].as_array().unwrap().clone();
    let mut rows = Vec::new();
    let mut len = 2;
    let mut i = 0;
    while len < size {
        let mut p = packages[i % packages.len()].clone();
        p["name"] = serde_json::Value::String(format!("{}-{}", p["name"].as_str().unwrap_or("x"), i));
        let s = serde_json::to_string(&p).unwrap();
        len += s.len() + 1;
        rows.push(s);
        i += 1;
    }
    format!("{{\"packages\":[{}]}}", rows.join(","))
}

/// The Python service log, repeated to `size` bytes.
pub fn log_input(size: usize) -> String {
    let log = fixture("log/python-service.log");
    grow(size, |i| log.replace("orders:", &format!("orders{i}:")))
}
