#!/usr/bin/env bash
# README command (2): set up, build everything and run every test (lit,
# unit, end-to-end). GPU tests skip, saying so, where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 1200 -j "$(nproc)"
