#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), configures and builds kiln in
# ./build. Extra arguments are ninja targets (default: everything).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build --parallel "$(nproc)" ${1:+--target "$@"}
