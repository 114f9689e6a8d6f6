#!/usr/bin/env python3
"""The README's speed figures: the first call of a one-shot `ctxlens compress` (process start
included, median of 20 runs) on 1 KB inputs of each type, then `ctxlens bench` on the fixtures
(first call in the process, then the warm engine, counting and whole pipeline, median of 10).
Usage: scripts/bench-speed.py (builds the release binary; prints Markdown)."""
import json
import pathlib
import statistics
import subprocess
import time

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
data = root / "target" / "bench-data"
data.mkdir(parents=True, exist_ok=True)
fx = root / "fixtures"

print("First call, one process per call (wall time, process start included, median of 20):\n")
print("| input | bytes | median | slowest |")
print("|---|---|---|---|")
for name, source in [("log", "log/python-service.log"), ("json", "json/pip-inspect.json"),
                     ("search", "search/grep-serde-json-fn.txt"), ("code", "code/requests-sessions.py")]:
    text = (fx / source).read_text(encoding="utf-8")
    if name == "json":
        # whole rows (name, version, summary) up to 1 KB: valid JSON, not a cut
        rows = [{k: r["metadata"].get(k) for k in ("name", "version", "summary")}
                for r in json.loads(text)["installed"]]
        while len(json.dumps(rows)) > 1024:
            rows.pop()
        small = json.dumps(rows)
    else:
        small = text[:1024]
    path = data / f"first-call-{name}.{source.rsplit('.', 1)[-1]}"
    path.write_text(small, encoding="utf-8")
    runs = []
    for _ in range(20):
        start = time.perf_counter()
        subprocess.run([binary, "compress", str(path)], capture_output=True, check=True)
        runs.append((time.perf_counter() - start) * 1000)
    print(f"| {name} (from `{source}`) | {len(small.encode()):,} | {statistics.median(runs):.1f} ms | {max(runs):.1f} ms |")

# the source tarball beside the diffs is what they were made from, not a text to time (bench
# skips it and exits 1)
files = [f for f in sorted(fx.glob("*/*")) if f.parent.name in ("json", "log", "search", "diff", "code")
         and not f.name.endswith(".tar.gz") and 10 * 1024 <= f.stat().st_size <= 500 * 1024]
rows = json.loads(subprocess.run([binary, "bench", "--json", *map(str, files)], capture_output=True,
                                 check=True).stdout)
print("\n`ctxlens bench` on the fixtures of 10-500 KB (ms; warm figures are medians of 10 calls, with "
      "the fastest and slowest):\n")
print("| fixture | engine | KB | first call | engine | token counting | whole pipeline | MB/s |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    rel = pathlib.Path(r["file"]).relative_to(fx)
    e, c, t = r["engine_ms"], r["count_ms"], r["total_ms"]
    print(f"| `{rel}` | {r['engine']} | {r['bytes'] / 1024:,.1f} | {r['first_ms']:.1f} | "
          f"{e['median_ms']:.2f} ({e['min_ms']:.2f}–{e['max_ms']:.2f}) | {c['median_ms']:.2f} | "
          f"{t['median_ms']:.2f} ({t['min_ms']:.2f}–{t['max_ms']:.2f}) | {r['mb_per_s']:.1f} |")

# the code engine on 1 MB of each language: the fixture repeated, each copy's names made its own
# (a class, enum or function name numbered) so the copies are not one definition many times
print("\n`ctxlens bench --engine code` on 1 MB of each language (a fixture repeated; engine alone, "
      "median of 10):\n")
print("| 1 MB of | from | engine | s per MB |")
print("|---|---|---|---|")
sources = [("C++", "code/python-rapidjson.cpp", "static PyObject*", "static PyObject* /*{i}*/"),
           ("JavaScript", "code/express-router.js", "proto.", "proto.{i}_"),
           ("Python", "code/requests-sessions.py", "class Session", "class Session{i}"),
           ("Rust", "code/serde_json-value-mod.rs", "pub enum Value", "pub enum Value{i}"),
           ("TypeScript", "code/rxjs-Observable.ts", "export class Observable", "export class Observable{i}")]
paths = []
for _, source, old, new in sources:
    text = (fx / source).read_text(encoding="utf-8")
    copies, size, i = [], 0, 0
    while size < 1 << 20:
        copy = text.replace(old, new.format(i=i))
        copies.append(copy)
        size += len(copy.encode())
        i += 1
    path = data / f"code-1mb{pathlib.Path(source).suffix}"
    path.write_text("".join(copies), encoding="utf-8")
    paths.append(path)
rows = json.loads(subprocess.run([binary, "bench", "--json", "--engine", "code", *map(str, paths)],
                                 capture_output=True, check=True).stdout)
for (name, source, _, _), r in zip(sources, rows):
    ms = r["engine_ms"]["median_ms"]
    print(f"| {name} | `{source}` | {ms:.1f} ms | {ms / 1000 / (r['bytes'] / (1 << 20)):.3f} |")
