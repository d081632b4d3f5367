#!/bin/sh
# Quick start: install what is missing, build, and start the console with
# the shipped server_config.ini. Arguments go to the orchestrator.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
exec build/orchestrator -c server_config.ini "$@"
