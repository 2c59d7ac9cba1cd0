#!/usr/bin/env bash
# Installs the Debian packages kiln needs to build, test and run its examples.
# Idempotent: packages already present are skipped, so it is cheap to run every time.
set -euo pipefail

PACKAGES=(
  cmake ninja-build g++ ccache pkg-config
  llvm-16-dev libmlir-16-dev mlir-16-tools llvm-16-tools clang-16 libclang-rt-16-dev
  libomp-16-dev
  libfmt-dev libgtest-dev zlib1g-dev nlohmann-json3-dev
  dataset-fashion-mnist
  python3-torch python3-numpy libopenblas0-pthread
  python3-matplotlib  # scripts/kiln-plot
  # bench/openblas_trainer.c, the OpenBLAS limit of bench/run.py.
  libopenblas-dev
  # Cross builds and emulated runs of device trainers (docs/devices.md); the
  # libc6-dev-*-cross packages are only recommended by the cross compilers.
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-riscv64-linux-gnu libc6-dev-riscv64-cross
  gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-user-static qemu-system-arm
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "kiln setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
