#!/usr/bin/env bash
# Runs the criterion benchmarks and prints the README's benchmark table (median times, release
# build). Usage: scripts/bench-report.sh [criterion filter]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench engines -- --noplot "${1:-}" >/dev/null 2>&1
python3 - <<'PY'
import json, pathlib
root = pathlib.Path("target/criterion")
rows = {}
other = []
for est in sorted(root.glob("**/new/estimates.json")):
    parts = est.relative_to(root).parts[:-2]
    group, size = parts[0], parts[-1]
    if group.startswith("tui_"):  # the workbench's own table: scripts/bench-tui.sh
        continue
    name = "/".join(parts[1:-1]).replace("_", " ")
    bench = json.loads((est.parent / "benchmark.json").read_text())
    ms = json.loads(est.read_text())["median"]["point_estimate"] / 1e6
    tp = bench.get("throughput") or {}
    if "Elements" in tp:
        other.append(f"| {group} {name} ({tp['Elements']:,} tokens) | {ms / 1000:.2f} s | {tp['Elements'] / (ms / 1000):,.0f} tokens/s |")
        continue
    rows[(group, name, size)] = (ms, tp.get("Bytes", 0))
mbps = lambda r: r[1] / 1048576 / (r[0] / 1000)
cell = lambda r: f"{r[0]:.1f} ms ({mbps(r):.0f} MB/s)" if r else "–"
print("| what | 1 MB | 10 MB | 10 MB / 1 MB |")
print("|---|---|---|---|")
for (group, name) in sorted({(g, n) for g, n, _ in rows}):
    one, ten = rows.get((group, name, "1MB")), rows.get((group, name, "10MB"))
    ratio = f"{ten[0] / one[0]:.1f}×" if one and ten else "–"
    print(f"| {group} {name} | {cell(one)} | {cell(ten)} | {ratio} |")
if other:
    print()
    print("| what | time | throughput |")
    print("|---|---|---|")
    print("\n".join(other))
PY
