#!/usr/bin/env python3
"""The real Headroom for the scripts and tests that run it: headroom-ai (with its code and proxy
extras) from PyPI, pinned, in target/headroom-venv (created or brought to the pinned version when
needed). The code extra is for the compressors (scripts/compare-headroom.py and the tests); the
proxy extra (fastapi, uvicorn, mcp, onnxruntime, magika, ...), about 1 GB more, only for
`headroom proxy` (scripts/headroom-proxy-capture.py asks for it). Run directly, it prints the venv's
python; scripts import `ensure()`."""
import pathlib
import subprocess
import sys

VERSION = "0.42.0"
# Per extra, distributions only it brings in: a venv made without the extra lacks them.
EXTRA_MARKERS = {"code": ["tree-sitter"], "proxy": ["fastapi", "uvicorn"]}
ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV = ROOT / "target" / "headroom-venv"


def ensure(extras: tuple = ("code",)) -> pathlib.Path:
    python = VENV / "bin" / "python"
    markers = [name for extra in extras for name in EXTRA_MARKERS[extra]]
    if python.exists():
        probe = (
            "import importlib.metadata as m\n"
            "print(m.version('headroom-ai'))\n"
            f"for name in {markers!r}: m.version(name)\n"
        )
        have = subprocess.run([python, "-c", probe], capture_output=True, text=True)
        if have.returncode == 0 and have.stdout.strip() == VERSION:
            return python
    else:
        subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
    spec = f"headroom-ai[{','.join(extras)}]=={VERSION}"
    print(f"headroom: installing {spec} from PyPI into {VENV}", file=sys.stderr)
    subprocess.run([python, "-m", "pip", "install", "-q", spec], check=True)
    return python


if __name__ == "__main__":
    print(ensure())
