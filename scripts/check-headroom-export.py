#!/usr/bin/env python3
"""Loads ctxlens's Headroom export into the real package (headroom-ai, pinned in
scripts/headroom_venv.py) and checks that it means what it says:

  - an untouched export (`ctxlens export` at the defaults) sets no variable and builds no config
    object: Headroom stays exactly as it was;
  - a tuned export sets exactly the changed knobs: executing the Python file builds Headroom's
    own config classes whose changed fields have the tuned values and whose other fields keep
    Headroom's defaults; every variable the .env sets is one headroom-ai reads; every flag it names
    is one `headroom proxy --help` lists; the ctxlens TOML loads back to the same export.

Run with the venv's python (tests/headroom_export.rs does): check-headroom-export.py CTXLENS_BINARY.
Prints one line per check; exits 1 on the first failure."""
import dataclasses
import enum
import pathlib
import re
import subprocess
import sys
import tempfile

import headroom

ctxlens = sys.argv[1]
PACKAGE = pathlib.Path(headroom.__file__).parent
# the knobs tuned, and what each must become in Headroom: (class, field, value) or (variable, value)
TUNED = {
    "json.max_items_after_crush=25": [("HEADROOM_MAX_ITEMS", "25"), ("SmartCrusherConfig", "max_items_after_crush", 25)],
    "json.first_fraction=0.4": [("SmartCrusherConfig", "first_fraction", 0.4)],
    "log.max_total_lines=40": [("LogCompressorConfig", "max_total_lines", 40)],
    "log.keep_summary_lines=false": [("LogCompressorConfig", "keep_summary_lines", False)],
    "search.min_matches_for_ccr=3": [("SearchCompressorConfig", "min_matches_for_ccr", 3)],
    # TOML escapes in the value: a zero-width space must reach Python as itself
    "search.context_keywords=[\"panic\", \"FATAL\", \"zero\\u200bwidth\"]": [
        ("SearchCompressorConfig", "context_keywords", ["panic", "FATAL", "zero\u200bwidth"])
    ],
    "diff.max_files=7": [("DiffCompressorConfig", "max_files", 7)],
    "code.docstring_mode=\"full\"": [("CodeCompressorConfig", "docstring_mode", "full")],
    "prose.min_input_words=30": [("KompressConfig", "min_input_words", 30)],
    "prose.model=\"minilm-tokscore\"": [],  # not a Hugging Face repo id: a comment, no model_id
    "prose.batch_size=4": [("HEADROOM_KOMPRESS_BATCH_SIZE", "4")],
    "prose.target_ratio=0.3": [("HEADROOM_TARGET_RATIO", "0.3")],
}
FIELDS = [(knob, w) for knob, ws in TUNED.items() for w in ws if len(w) == 3]
VARIABLES = {w[0]: w[1] for ws in TUNED.values() for w in ws if len(w) == 2}


def fail(msg):
    print(f"FAIL {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok   {msg}")


def export(folder, name, sets):
    args = [ctxlens, "export", str(folder / f"{name}.toml")]
    for s in sets:
        args += ["--set", s]
    subprocess.run(args, check=True, capture_output=True)
    return (folder / f"{name}.headroom.env").read_text(), (folder / f"{name}.headroom.py").read_text()


def settings(text):
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def objects(py):
    """The Headroom config objects the Python export builds, by class name."""
    ns = {}
    exec(compile(py, "export.headroom.py", "exec"), ns)
    return {type(v).__name__: v for v in ns.values() if dataclasses.is_dataclass(v) and not isinstance(v, type)}


def plain(v):
    return v.value if isinstance(v, enum.Enum) else v


with tempfile.TemporaryDirectory() as tmp:
    folder = pathlib.Path(tmp)
    env, py = export(folder, "untouched", [])
    if settings(env):
        fail(f"an untouched export sets variables: {settings(env)}")
    if objects(py):
        fail(f"an untouched export builds config objects: {list(objects(py))}")
    ok("an untouched export sets nothing")

    env, py = export(folder, "tuned", list(TUNED))
    built = objects(py)
    for knob, (cls, field, value) in FIELDS:
        if cls not in built:
            fail(f"{knob}: the export builds no {cls}")
        got = plain(getattr(built[cls], field))
        if got != value:
            fail(f"{knob}: {cls}.{field} is {got!r}, want {value!r}")
        ok(f"{knob} -> {cls}.{field} = {got!r}")
    changed = {(cls, field) for _, (cls, field, _) in FIELDS}
    for cls, obj in built.items():
        default = type(obj)()
        for f in dataclasses.fields(obj):
            if (cls, f.name) not in changed and getattr(obj, f.name) != getattr(default, f.name):
                fail(f"{cls}.{f.name} changed from Headroom's default though it was not tuned")
    ok(f"every other field of {', '.join(sorted(built))} keeps Headroom's default")
    if "model_id=" in py:
        fail("a ctxlens model name was exported as Kompress's model_id")

    variables = dict(line.split("=", 1) for line in settings(env))
    if variables != VARIABLES:
        fail(f"the .env sets {variables}, want {VARIABLES}")
    source = "\n".join(p.read_text(errors="replace") for p in PACKAGE.rglob("*.py"))
    for var in variables:
        if f'"{var}"' not in source:
            fail(f"{var}: headroom-ai never reads it")
        ok(f"{var}={variables[var]} is read by headroom-ai")
    cli = pathlib.Path(sys.executable).parent / "headroom"
    help_text = subprocess.run([cli, "proxy", "--help"], capture_output=True, text=True).stdout
    if "--target-ratio" not in help_text:
        fail(f"`{cli} proxy --help` did not list its flags")
    for flag in set(re.findall(r"(--[a-z][a-z-]+)", env)):
        if flag not in help_text:
            fail(f"the .env names {flag}, which `headroom proxy` does not have")
        ok(f"{flag} is a `headroom proxy` flag")

    subprocess.run([ctxlens, "export", "--config", str(folder / "tuned.toml"), str(folder / "round.toml")], check=True,
                   capture_output=True)
    if (folder / "round.headroom.py").read_text() != py or (folder / "round.headroom.env").read_text() != env:
        fail("the ctxlens TOML of a tuned export does not load back to the same Headroom export")
    ok("the ctxlens TOML loads back to the same export")
print("headroom export: all checks passed")
