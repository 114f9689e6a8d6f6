#!/usr/bin/env bash
# Runs the workbench benchmarks (benches/tui.rs, benches/tui_memory.rs) and prints the README's
# table: first screen of a 100 MB capture, keystroke to frame, knob change to a new diff of a 1 MB
# block, a selection or knob change to the diff of the block on screen while every count of the
# demo is still queued (criterion medians), peak memory while holding a 100 MB capture, and peak memory with a
# 25 MB JSON file open, compressed and laid out (and 10 MB arrays of tiny items). The inputs are generated from fixtures/ under
# target/bench-data on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --bench tui -- --noplot >/dev/null 2>&1
mem_headroom=$(cargo bench --bench tui_memory -- headroom 2>/dev/null | grep '^tui_memory/')
mem_har=$(cargo bench --bench tui_memory -- har 2>/dev/null | grep '^tui_memory/')
mem_json=$(cargo bench --bench tui_memory -- json 2>/dev/null | grep '^tui_memory/')
# arrays of tiny items: over their target today, so the bench's failure status is not fatal here
mem_tiny=$(for w in numbers empties deep objects pages alternating rows lines map; do cargo bench --bench tui_memory -- "$w" 2>/dev/null | grep '^tui_memory/' || true; done)
python3 - "$mem_headroom" "$mem_har" "$mem_json" "$mem_tiny" <<'PY'
import json, pathlib, re, sys
root = pathlib.Path("target/criterion")
targets = {"tui_first_screen": ("first screen, 100 MB capture", 500), "tui_keystroke_to_frame": ("keystroke → frame (120×40)", 16),
           "tui_knob_to_diff_1mb": ("knob change → new diff, 1 MB block", 100),
           "tui_visible_block_behind_a_full_queue": ("block on screen behind a full queue (demo, cold)", 150)}
print("| what | median | target |")
print("|---|---|---|")
for group, (label, target) in targets.items():
    for est in sorted((root / group).glob("*/new/estimates.json")):
        name = est.parent.parent.name.replace("_", " ")
        ms = json.loads(est.read_text())["median"]["point_estimate"] / 1e6
        verdict = "met" if ms < target else "**missed**"
        shown = f"{ms:.2f} ms" if ms < 10 else f"{ms:.0f} ms"
        # a prose block's whole result follows its first part: measured, with no target of its own
        goal = "(after the first part)" if name.endswith(" whole") else f"< {target} ms, {verdict}"
        print(f"| {label}: {name} | {shown} | {goal} |")
tiny = {
    "numbers": "an array of `1,`",
    "empties": "an array of `[],`",
    "deep": "an array of `1,` 127 arrays deep",
    "objects": 'an array of `{"a":1},`',
    "pages": "ten pages of rows",
    "alternating": "numbers with a copy every fifth",
    "rows": "1,000 large rows (a short array)",
    "lines": "eight pages as JSON Lines",
    "map": "a lockfile (one object of 50,000 packages)",
}
for line in "\n".join(sys.argv[1:]).splitlines():
    m = re.search(r"tui_memory/(\w+): capture ([\d.]+) MB.*peak \+([\d.]+) MB = ([\d.]+)× the capture \(target < ([\d.]+)×\)", line)
    if m:
        which, size, peak, ratio, target = m.groups()
        verdict = "met" if float(ratio) < float(target) else "**missed**"
        if which == "json":
            what = f"a {size} MB JSON file open, compressed and laid out"
        elif which in tiny:
            what = f"{tiny[which]}, {size} MB, open, compressed and laid out"
        else:
            what = f"holding a {size} MB {which} capture"
        print(f"| peak memory, {what} | +{peak} MB ({ratio}×) | < {target}×, {verdict} |")
PY
