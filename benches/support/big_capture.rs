//! Big captures for the workbench benchmarks, made from the shipped demo by repeating its flows
//! (each copy with its own ids) until the file reaches the size asked for. Written once under
//! target/bench-data and reused.

use std::path::PathBuf;

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&d).expect("create target/bench-data");
    d
}

fn demo(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A Headroom request log of at least `bytes` bytes.
pub fn headroom_log(bytes: usize) -> PathBuf {
    let path = out_dir().join(format!("headroom-{}mb.jsonl", bytes >> 20));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= bytes) {
        return path;
    }
    let lines: Vec<serde_json::Value> =
        demo("headroom-requests.jsonl").lines().map(|l| serde_json::from_str(l).expect("demo line")).collect();
    let mut out = String::with_capacity(bytes + (4 << 20));
    let mut copy = 0;
    while out.len() < bytes {
        for v in &lines {
            let mut v = v.clone();
            let id = v["request_id"].as_str().unwrap_or("r").to_string();
            v["request_id"] = serde_json::Value::String(format!("{id}-{copy}"));
            out.push_str(&serde_json::to_string(&v).expect("serialise"));
            out.push('\n');
        }
        copy += 1;
    }
    std::fs::write(&path, out).expect("write big capture");
    path
}

/// A HAR 1.2 file of at least `bytes` bytes.
pub fn har(bytes: usize) -> PathBuf {
    let path = out_dir().join(format!("capture-{}mb.har", bytes >> 20));
    if std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= bytes) {
        return path;
    }
    let mut har: serde_json::Value = serde_json::from_str(&demo("capture.har")).expect("demo HAR");
    let entries = har["log"]["entries"].as_array().expect("entries").clone();
    let one: usize = entries.iter().map(|e| e.to_string().len()).sum();
    let copies = bytes / one.max(1) + 1;
    let all: Vec<serde_json::Value> = (0..copies).flat_map(|_| entries.iter().cloned()).collect();
    har["log"]["entries"] = serde_json::Value::Array(all);
    std::fs::write(&path, serde_json::to_string(&har).expect("serialise")).expect("write big HAR");
    path
}

/// A JSON file of at least `bytes` bytes: the rows of `fixtures/json/pip-inspect.json` repeated,
/// one array (the shape of a big tool output opened on its own).
#[allow(dead_code, reason = "only tui_memory opens a JSON file; tui includes this module too")]
pub fn json_file(bytes: usize) -> PathBuf {
    written(&format!("rows-{}mb.json", bytes >> 20), bytes, || {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/json/pip-inspect.json");
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).expect("fixture")).expect("json");
        let rows = doc["installed"].as_array().expect("installed rows").clone();
        let mut all = Vec::new();
        let mut size = 0;
        while size < bytes {
            for r in &rows {
                size += serde_json::to_string(r).map_or(0, |s| s.len() + 1);
                all.push(r.clone());
            }
        }
        serde_json::to_string(&all).expect("serialise")
    })
}

/// `target/bench-data/NAME`, made by `make` unless it is there with at least `at_least` bytes.
fn written(name: &str, at_least: usize, make: impl FnOnce() -> String) -> PathBuf {
    let path = out_dir().join(name);
    if !std::fs::metadata(&path).is_ok_and(|m| m.len() as usize >= at_least) {
        std::fs::write(&path, make()).expect("write");
    }
    path
}

/// A JSON array of `bytes` of tiny items (`[1,1,…]`, or `[[],{},…]`), `depth` arrays deep: the
/// shape whose cost is all per item.
#[allow(dead_code)]
pub fn tiny_items(bytes: usize, item: &str, depth: usize) -> PathBuf {
    let name = match item {
        "1" => "numbers",
        "[]" => "empties",
        _ => "objects",
    };
    written(&format!("{name}-{}mb-depth{depth}.json", bytes >> 20), bytes, || {
        let items = vec![item; bytes / (item.len() + 1)].join(",");
        format!("{}{items}{}", "[".repeat(depth), "]".repeat(depth))
    })
}

/// Ten pages of about `bytes / 10` each, `[{"page":0,"items":[{"id":0,"a":[0]},…]},…]`: an array
/// whose planner walks each page from its span tree.
#[allow(dead_code, reason = "only tui_memory opens it; tui includes this module too")]
pub fn pages(bytes: usize) -> PathBuf {
    written(&format!("pages-{}mb.json", bytes >> 20), bytes * 9 / 10, || {
        let page = |p: usize| {
            let rows: Vec<String> = (0..bytes / 170).map(|i| format!(r#"{{"id":{i},"a":[{}]}}"#, i % 3)).collect();
            format!(r#"{{"page":{p},"items":[{}]}}"#, rows.join(","))
        };
        format!("[{}]", (0..10).map(page).collect::<Vec<_>>().join(","))
    })
}

/// Distinct numbers with a copy of one every fifth item, about `bytes` of them: drops that
/// alternate between copies and sampled-out items.
#[allow(dead_code, reason = "only tui_memory opens it; tui includes this module too")]
pub fn alternating(bytes: usize) -> PathBuf {
    written(&format!("alternating-{}mb.json", bytes >> 20), bytes * 9 / 10, || {
        let items: Vec<String> = (0..bytes / 10)
            .map(|i| if i % 5 == 0 { "1E5".to_string() } else { (100_000_007 + i * 7_919).to_string() })
            .collect();
        format!("[{}]", items.join(","))
    })
}

/// 1,000 rows of about `bytes / 1000` each, `{"id":0,"groups":[[{"k":0,"v":"s0"},…],…]}`, as a
/// short array in an object: no array in it is long, and it is read lean because its first 64
/// rows are large.
#[allow(dead_code, reason = "only tui_memory opens it; tui includes this module too")]
pub fn large_rows(bytes: usize) -> PathBuf {
    written(&format!("large-rows-{}mb.json", bytes >> 20), bytes * 9 / 10, || {
        let group: Vec<String> = (0..100).map(|j| format!(r#"{{"k":{j},"v":"s{}"}}"#, j % 10)).collect();
        let group = format!("[{}]", group.join(","));
        let row =
            |i: usize| format!(r#"{{"id":{i},"groups":[{}]}}"#, vec![group.as_str(); bytes / 1000 / 1700].join(","));
        format!(r#"{{"kind":"List","items":[{}]}}"#, (0..1000).map(row).collect::<Vec<_>>().join(","))
    })
}

/// Eight pages of about `bytes / 8` each as JSON Lines, a page a line: a stream of fewer than
/// 1,024 values, read lean because it is over 1 MB.
#[allow(dead_code, reason = "only tui_memory opens it; tui includes this module too")]
pub fn page_lines(bytes: usize) -> PathBuf {
    written(&format!("page-lines-{}mb.jsonl", bytes >> 20), bytes * 9 / 10, || {
        let rows: Vec<String> = (0..bytes / 17 / 8).map(|i| format!(r#"{{"id":{i},"a":[{}]}}"#, i % 3)).collect();
        let rows = rows.join(",");
        (0..8).map(|p| format!("{{\"page\":{p},\"items\":[{rows}]}}\n")).collect()
    })
}

/// A lockfile of about `bytes`: `{"packages": {name: {…}, …}}`, one object of many small ones.
#[allow(dead_code, reason = "only tui_memory opens it; tui includes this module too")]
pub fn lockfile(bytes: usize) -> PathBuf {
    written(&format!("lockfile-{}mb.json", bytes >> 20), bytes * 9 / 10, || {
        let package = |i: usize| {
            format!(
                r#""node_modules/pkg-{i}":{{"version":"1.{}.{}","resolved":"https://registry.npmjs.org/pkg-{i}/-/pkg-{i}-1.0.0.tgz","integrity":"sha512-{i:040}","dev":{},"license":"MIT"}}"#,
                i % 30,
                i % 7,
                i.is_multiple_of(3)
            )
        };
        let packages: Vec<String> = (0..bytes / 210).map(package).collect();
        format!(r#"{{"name":"app","lockfileVersion":3,"packages":{{{}}}}}"#, packages.join(","))
    })
}
