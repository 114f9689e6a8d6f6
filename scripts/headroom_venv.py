#!/usr/bin/env python3
"""The real Headroom for the scripts and tests that run it: headroom-ai (with its code extra) from
PyPI, pinned, in target/headroom-venv (created or brought to the pinned version when needed).
Run directly, it prints the venv's python; scripts import `ensure()`."""
import pathlib
import subprocess
import sys

VERSION = "0.42.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "headroom-venv"


def ensure() -> pathlib.Path:
    python = VENV / "bin" / "python"
    if python.exists():
        have = subprocess.run(
            [python, "-c", "import importlib.metadata as m; print(m.version('headroom-ai'))"],
            capture_output=True, text=True,
        ).stdout.strip()
        if have == VERSION:
            return python
    else:
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    print(f"headroom: installing headroom-ai {VERSION} from PyPI into {VENV}", file=sys.stderr)
    subprocess.run([python, "-m", "pip", "install", "-q", f"headroom-ai[code]=={VERSION}"], check=True)
    return python


if __name__ == "__main__":
    print(ensure())
