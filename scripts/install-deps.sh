#!/usr/bin/env bash
# Installs every Debian package colossus builds, tests and benchmarks with.
# Idempotent and non-interactive: packages already present are left alone,
# and apt is only consulted when something is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libhwloc-dev            # required: CPU/NUMA/PCI discovery
  catch2                  # tests (Debian ships Catch2 v2)
  libbenchmark-dev        # microbenchmarks
  libibverbs-dev          # optional: RDMA transport
  libucx-dev              # optional: UCX transport
  openmpi-bin libopenmpi-dev  # optional: mpirun launch and the MPI peer benchmark
  iproute2                # network-namespace testbed (ip netns, veth, tc)
  python3 time            # colossus-sim's JSON/trace test; bench scripts' tables and peak RSS
  clang-format clang-tidy
  clang libclang-rt-14-dev  # libFuzzer targets (tests/fuzz)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
