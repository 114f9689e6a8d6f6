#!/usr/bin/env python3
"""Peak memory of `ctxlens compress` against input size, per content type (issue target: at most
4x the input above the fixed cost). Inputs are real fixtures repeated to 1 MB and 10 MB (and a
JSON array of 1e6 numbers, the shape that hurt most), written under target/bench-data. The fixed
cost (the tokenizer tables, about 80 MB, and tree-sitter for code) is each engine's peak on a
1 KB input of its kind; the last column is the peak above it divided by the input's size. Usage: scripts/bench-memory.py (builds the release binary)."""
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
data = root / "target" / "bench-data"
data.mkdir(parents=True, exist_ok=True)


def grow(unit, size):
    reps = max(1, size // max(1, len(unit)))
    return unit * reps


def inputs(size):
    fx = root / "fixtures"
    rows = json.loads((fx / "json/pip-inspect.json").read_text())["installed"]
    n = max(1, size // max(1, len(json.dumps(rows))))
    yield "json", json.dumps(rows * n)
    yield "log", grow((fx / "log/python-service.log").read_text(), size)
    yield "search", grow((fx / "search/grep-serde-json-fn.txt").read_text(), size)
    yield "diff", grow((fx / "diff/requests-2.31.0-2.32.3.git.diff").read_text(), size)
    yield "code", grow((fx / "code/requests-sessions.py").read_text(), size)


def peak_kb(path, engine):
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "compress", "--engine", engine, "--stats", "json", path],
        capture_output=True,
        check=True,
    )
    lines = run.stderr.decode().strip().splitlines()
    return int(lines[-1]), json.loads(lines[-2])


cases = []
for size in (1 << 20, 10 << 20):
    for kind, text in inputs(size):
        p = data / f"mem-{kind}-{size >> 20}MB"
        p.write_text(text)
        cases.append((f"{kind} {size >> 20} MB", kind, p))
nums = data / "mem-json-1e6-numbers"
nums.write_text(json.dumps(list(range(1_000_000))))
cases.append(("json, 1e6 numbers", "json", nums))
# the fixed cost per engine: the same engine on a 1 KB input of its kind
base = {}
for kind, text in inputs(1024):
    p = data / f"mem-{kind}-base"
    p.write_text(text[:1024] if kind != "json" else json.dumps(json.loads(text)[:1]))
    base[kind], _ = peak_kb(p, kind)
print("| input | size | peak | fixed cost (1 KB) | above it, × input |")
print("|---|---|---|---|---|")
for label, kind, p in cases:
    kb, _ = peak_kb(p, kind)
    size = p.stat().st_size
    above = max(0, kb - base[kind]) * 1024
    print(f"| {label} | {size / 1048576:.1f} MB | {kb / 1024:.0f} MB | {base[kind] / 1024:.0f} MB | {above / size:.1f}× |")
