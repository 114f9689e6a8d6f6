#!/usr/bin/env python3
"""Compresses every fixture with `ctxlens compress --engine auto` and prints the README's results
table (o200k tokens, with the retention score and its metrics), then the prose table: each fixture
with a prose section at the default knobs and with `prose.score_threshold = 1` (no word passes
the model, so the output is what the must-keep rules alone keep: the lowest ratio that keeps every
detail), and the share of the tokens above that floor the default keeps. Usage: scripts/fixture-report.py (builds the release binary first)."""
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
print("| fixture | routed as | tokens before | after | saved | dropped spans | decision | retention |")
print("|---|---|---|---|---|---|---|---|")

def stats(f, *extra):
    run = subprocess.run([binary, "compress", "--engine", "auto", "--stats", "json", *extra, f], capture_output=True, check=True)
    return json.loads(run.stderr.decode().strip().splitlines()[-1])


prose = []
for f in sorted((root / "fixtures").glob("*/*")):
    # the demo captures are the other fixtures wrapped as traffic, and headroom-proxy holds
    # Headroom's own captures and store: they are for the workbench and `blocks`, not tool outputs
    if f.name.endswith(".tar.gz") or f.parent.name in ("demo", "headroom-proxy"):
        continue
    s = stats(f)
    if any(sec["kind"] == "prose" and sec["acted"] for sec in s.get("sections", [])):
        prose.append((f, s))
    saved = 100 * (s["in_tokens"] - s["out_tokens"]) / max(s["in_tokens"], 1)
    decision = "acted" if s["acted"] else s["reason"].split(":")[0]
    rel = f.relative_to(root / "fixtures")
    r = s.get("retention") or {}
    parts = [f"{m['name']} {m['share']:.2f}" for m in r.get("metrics", []) if m["total"] > 0]
    retention = f"{r.get('score', 1):.2f} ({', '.join(parts)})" if parts else "-"
    print(f"| `{rel}` | {s['engine']} | {s['in_tokens']:,} | {s['out_tokens']:,} | {saved:.0f}% | {s['dropped_spans']} | {decision} | {retention} |")
print()
print("| fixture | tokens before | after, default | ratio | must_keep | after, must-keep rules only | ratio (floor) | must_keep | kept of the rest |")
print("|---|---|---|---|---|---|---|---|---|")
for f, s in prose:
    floor = stats(f, "--set", "prose.score_threshold=1")
    keep = lambda x: next((m["share"] for m in x["retention"]["metrics"] if m["name"] == "must_keep"), 1.0)
    n = max(s["in_tokens"], 1)
    print(
        f"| `{f.relative_to(root / 'fixtures')}` | {s['in_tokens']:,} | {s['out_tokens']:,} | {s['out_tokens'] / n:.2f} | {keep(s):.2f} "
        f"| {floor['out_tokens']:,} | {floor['out_tokens'] / n:.2f} | {keep(floor):.2f} "
        f"| {(s['out_tokens'] - floor['out_tokens']) / max(s['in_tokens'] - floor['out_tokens'], 1):.2f} |"
    )
