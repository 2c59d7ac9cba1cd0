#!/usr/bin/env bash
# README command (1): set up, build, compile the MLP example into a trainer
# and train it on Fashion-MNIST (5 epochs, seed 0). Extra arguments go to the
# trainer, e.g. --epochs 1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh mlp-train
exec ./build/examples/fashion_mnist/mlp-train --epochs 5 "$@"
