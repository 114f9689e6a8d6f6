#!/usr/bin/env python3
"""ctxlens and the real Headroom side by side on the fixtures, in one run: tokens after
compression, retention and output validity (measured the same way for both, by `ctxlens
retention`) per fixture,
then warm speed: Headroom's compressor call (in its own long-lived Python process, after one
warm-up call, median of REPEAT) against ctxlens's engine alone and its whole pipeline with token
counting (`ctxlens bench`, median of REPEAT), and per content type the median ratio over the
fixtures of 10-500 KB.

Headroom is headroom-ai from PyPI (the version pinned in scripts/headroom_venv.py), installed
into target/headroom-venv on the first run (pip, package registry only). Each fixture goes to Headroom's compressor for the content type ctxlens
routes it to, at Headroom's defaults; ctxlens runs `compress --engine auto` at its defaults.
Prose is left out: Kompress needs a model download this machine cannot make. Tokens are
o200k, counted by `ctxlens count` for both (Headroom's own tiktoken counter downloads its
tables). Usage: scripts/compare-headroom.py (builds the release binary)."""
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import headroom_venv  # noqa: E402

root = headroom_venv.ROOT
binary = root / "target" / "release" / "ctxlens"

subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
python = headroom_venv.ensure()

REPEAT = 11

# Runs inside the venv: one fixture per line on stdin as {"kind", "path", "repeat"}, one result
# per line on stdout as {"output", "version", "ms"} (ms: the median of `repeat` warm calls after
# one warm-up call) or {"error"}.
HEADROOM = r'''
import json, statistics, sys, time, importlib.metadata as md
version = md.version("headroom-ai")
def run(kind, text, path):
    if kind == "json":
        from headroom.transforms.smart_crusher import SmartCrusher
        return SmartCrusher().crush(text).compressed
    if kind == "log":
        from headroom.transforms.log_compressor import LogCompressor
        return LogCompressor().compress(text).compressed
    if kind == "search":
        from headroom.transforms.search_compressor import SearchCompressor
        return SearchCompressor().compress(text).compressed
    if kind == "diff":
        from headroom.transforms.diff_compressor import DiffCompressor
        return DiffCompressor().compress(text).compressed
    if kind == "code":
        from headroom.transforms.code_compressor import CodeAwareCompressor
        ext = {"py": "python", "js": "javascript", "ts": "typescript", "tsx": "tsx", "rs": "rust",
               "go": "go", "java": "java", "c": "c", "cpp": "cpp"}.get(path.rsplit(".", 1)[-1])
        return CodeAwareCompressor().compress(text, language=ext).compressed
    raise ValueError(f"no Headroom compressor for {kind} here")
for line in sys.stdin:
    job = json.loads(line)
    try:
        text = open(job["path"], encoding="utf-8").read()
        output = run(job["kind"], text, job["path"])
        times = []
        for _ in range(job["repeat"]):
            start = time.perf_counter()
            run(job["kind"], text, job["path"])
            times.append((time.perf_counter() - start) * 1000)
        answer = {"output": output, "version": version, "ms": statistics.median(times)}
        print(json.dumps(answer), flush=True)
    except Exception as e:
        print(json.dumps({"error": f"{type(e).__name__}: {e}"[:300], "version": version}), flush=True)
'''


def ctxlens(*args, stdin=None):
    return subprocess.run([binary, *args], input=stdin, capture_output=True, check=True)


def tokens(path):
    return int(ctxlens("count", str(path)).stdout.split()[0])


def retention(kind, original, compressed):
    """The retention score, its metrics, and whether the output is valid for its type (as the
    audit's valid_output check judges it: JSON parses, code re-parses, diff hunks apply)."""
    r = json.loads(ctxlens("retention", "--kind", kind, str(original), str(compressed)).stdout)
    shown = [f"{m['name']} {m['share']:.2f}" for m in r["metrics"] if m["total"] > 0]
    valid = {None: "-", True: "valid"}.get(r["valid"], f"**invalid**: {r.get('invalid', '')}")
    return r["score"], ", ".join(shown) or "-", valid


fixtures = [
    f
    for f in sorted((root / "fixtures").glob("*/*"))
    if f.parent.name in ("json", "log", "search", "diff", "code") and not f.name.endswith(".tar.gz")
]
rows = []
speed = []
bench = {b["file"]: b for b in json.loads(ctxlens("bench", "--json", "--repeat", str(REPEAT), *map(str, fixtures)).stdout)}
headroom = subprocess.Popen([python, "-c", HEADROOM], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
with tempfile.TemporaryDirectory() as tmp:
    for f in fixtures:
        stats = json.loads(ctxlens("compress", "--stats", "json", str(f)).stderr.decode().strip().splitlines()[-1])
        kind = stats["engine"]
        ours = pathlib.Path(tmp) / "ours"
        ours.write_bytes(ctxlens("compress", str(f)).stdout)
        headroom.stdin.write(json.dumps({"kind": kind, "path": str(f), "repeat": REPEAT}) + "\n")
        headroom.stdin.flush()
        answer = json.loads(headroom.stdout.readline())
        version = answer["version"]
        before = stats["in_tokens"]
        our_after = stats["out_tokens"]
        our_score, our_metrics, our_valid = retention(kind, f, ours)
        if "error" in answer:
            theirs_after, their_score, their_metrics, their_valid = None, None, answer["error"], "-"
        else:
            theirs = pathlib.Path(tmp) / "theirs"
            theirs.write_text(answer["output"], encoding="utf-8")
            theirs_after = tokens(theirs)
            their_score, their_metrics, their_valid = retention(kind, f, theirs)
            untouched = answer["output"] == f.read_text(encoding="utf-8")
            if untouched:
                their_metrics += "; passed through untouched"
            b = bench[str(f)]
            speed.append((f.relative_to(root / "fixtures"), kind, b["bytes"], b["engine_ms"]["median_ms"],
                          b["total_ms"]["median_ms"], answer["ms"], untouched))
        rows.append((f.relative_to(root / "fixtures"), kind, before, our_after, our_score, our_metrics, our_valid,
                     theirs_after, their_score, their_metrics, their_valid))
headroom.stdin.close()
headroom.wait()

print(f"ctxlens vs headroom-ai {version} (o200k tokens after; retention score and metrics; output validity)\n")
print(
    "| fixture | type | tokens before | ctxlens after | ctxlens retention | ctxlens output "
    "| Headroom after | Headroom retention | Headroom output |"
)
print("|---|---|---|---|---|---|---|---|---|")
for rel, kind, before, ours, os_, om, ov, theirs, ts, tm, tv in rows:
    theirs_text = "-" if theirs is None else f"{theirs:,}"
    ts_text = "-" if ts is None else f"{ts:.2f}"
    print(
        f"| `{rel}` | {kind} | {before:,} | {ours:,} | {os_:.2f} ({om}) | {ov} "
        f"| {theirs_text} | {ts_text} ({tm}) | {tv} |"
    )

print(f"\nWarm speed, median of {REPEAT} calls in one process each (ms; ratio = Headroom / ctxlens engine)\n")
print("| fixture | type | KB | ctxlens engine | ctxlens with counting | Headroom | ratio |")
print("|---|---|---|---|---|---|---|")
ratios = {}
for rel, kind, size, engine, total, theirs, untouched in speed:
    ratio = theirs / engine if engine > 0 else float("inf")
    note = " (Headroom passed it through)" if untouched else ""
    print(f"| `{rel}` | {kind} | {size / 1024:,.1f} | {engine:.2f} | {total:.2f} | {theirs:.2f} | {ratio:,.1f}×{note} |")
    if 10 * 1024 <= size <= 500 * 1024:
        ratios.setdefault(kind, []).append((ratio, total / theirs if theirs > 0 else 0.0, rel))
print("\n| type | fixtures of 10-500 KB | median ratio (engine) | slower than Headroom, counting included |")
print("|---|---|---|---|")
for kind, rs in sorted(ratios.items()):
    slower = [str(rel) for _, t, rel in rs if t > 1.0]
    median = statistics.median(r for r, _, _ in rs)
    print(f"| {kind} | {len(rs)} | {median:,.1f}× | {', '.join(slower) or 'none'} |")
