#!/usr/bin/env bash
# Sets up and runs every test: installs missing packages (apt-get), configures, builds, runs ctest
# (core unit and property tests, the layer on lavapipe through the real loader, the apps, the
# shim tests) and a short libFuzzer run of the core in a clang build.
#   scripts/test.sh            # RelWithDebInfo build in ./build, fuzz build in ./build-fuzz
#   scripts/test.sh --asan     # the same suite under AddressSanitizer + UBSan in ./build-asan
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=deps.sh
source "$root/scripts/deps.sh"
vma_install_deps

jobs=$(nproc)
if [ "${1:-}" = "--asan" ]; then
  build="$root/build-asan"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMA_SANITIZE=address,undefined \
    -DVMA_BUILD_BENCHMARKS=OFF
  cmake --build "$build" -j"$jobs"
  # lavapipe's own leaks are not ours (tests/lsan.supp says which and why).
  export ASAN_OPTIONS=detect_leaks=1
  export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE "nosan"
  exit 0
fi

build="$root/build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$jobs"

fuzz="$root/build-fuzz"
CC=clang CXX=clang++ cmake -S "$root" -B "$fuzz" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMA_BUILD_FUZZERS=ON \
  -DVMA_BUILD_LAYER=OFF -DVMA_BUILD_BENCHMARKS=OFF
cmake --build "$fuzz" -j"$jobs" --target vma_core_fuzz

ctest --test-dir "$build" --output-on-failure -j"$jobs"
ctest --test-dir "$fuzz" --output-on-failure -R fuzz
