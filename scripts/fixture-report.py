#!/usr/bin/env python3
"""Compresses every fixture with `ctxlens compress --engine auto` and prints the README's results
table (o200k tokens, with the retention score and its metrics). Usage: scripts/fixture-report.py (builds the release binary first)."""
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
print("| fixture | routed as | tokens before | after | saved | dropped spans | decision | retention |")
print("|---|---|---|---|---|---|---|---|")
for f in sorted((root / "fixtures").glob("*/*")):
    # the demo captures are the other fixtures wrapped as traffic, and headroom-proxy holds
    # Headroom's own captures and store: they are for the workbench and `blocks`, not tool outputs
    if f.name.endswith(".tar.gz") or f.parent.name in ("demo", "headroom-proxy"):
        continue
    run = subprocess.run([binary, "compress", "--engine", "auto", "--stats", "json", f], capture_output=True, check=True)
    s = json.loads(run.stderr.decode().strip().splitlines()[-1])
    saved = 100 * (s["in_tokens"] - s["out_tokens"]) / max(s["in_tokens"], 1)
    decision = "acted" if s["acted"] else s["reason"].split(":")[0]
    rel = f.relative_to(root / "fixtures")
    r = s.get("retention") or {}
    parts = [f"{m['name']} {m['share']:.2f}" for m in r.get("metrics", []) if m["total"] > 0]
    retention = f"{r.get('score', 1):.2f} ({', '.join(parts)})" if parts else "-"
    print(f"| `{rel}` | {s['engine']} | {s['in_tokens']:,} | {s['out_tokens']:,} | {saved:.0f}% | {s['dropped_spans']} | {decision} | {retention} |")
