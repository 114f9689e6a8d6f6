#!/usr/bin/env python3
"""Compresses every fixture with `ctxlens compress --engine auto` and prints the README's results
table (o200k tokens). Usage: scripts/fixture-report.py (builds the release binary first)."""
import json
import pathlib
import subprocess

root = pathlib.Path(__file__).resolve().parent.parent
subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
binary = root / "target" / "release" / "ctxlens"
print("| fixture | routed as | tokens before | after | saved | dropped spans | decision |")
print("|---|---|---|---|---|---|---|")
for f in sorted((root / "fixtures").glob("*/*")):
    # the demo captures are the other fixtures wrapped as traffic; they are for the workbench
    if f.name.endswith(".tar.gz") or f.parent.name == "demo":
        continue
    run = subprocess.run([binary, "compress", "--engine", "auto", "--stats", "json", f], capture_output=True, check=True)
    s = json.loads(run.stderr.decode().strip().splitlines()[-1])
    saved = 100 * (s["in_tokens"] - s["out_tokens"]) / max(s["in_tokens"], 1)
    decision = "acted" if s["acted"] else s["reason"].split(":")[0]
    rel = f.relative_to(root / "fixtures")
    print(f"| `{rel}` | {s['engine']} | {s['in_tokens']:,} | {s['out_tokens']:,} | {saved:.0f}% | {s['dropped_spans']} | {decision} |")
