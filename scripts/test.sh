#!/usr/bin/env bash
# README command (2): set up, build everything and run every test (lit,
# unit, end-to-end). GPU tests skip, saying so, where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd build
# Two tests per two cores: a model's idle threads must not spin on a core
# that the other test needs (kiln_set_model_threads spins 1 ms otherwise).
export OMP_WAIT_POLICY=passive
ctest --output-on-failure --timeout 1200 -j "$(nproc)"
