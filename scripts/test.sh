#!/usr/bin/env bash
# Sets up and runs every test: installs missing packages (apt-get), configures, builds, runs ctest
# (core unit and property tests, the layer on lavapipe through the real loader, the apps, the
# shim tests) and a short libFuzzer run of the core in a clang build.
#   scripts/test.sh            # RelWithDebInfo build in ./build, fuzz build in ./build-fuzz
#   scripts/test.sh --asan     # the same suite under AddressSanitizer + UBSan in ./build-asan
#   scripts/test.sh --tsan     # the multi-threaded tests under ThreadSanitizer in ./build-tsan
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
  export ASAN_OPTIONS=detect_leaks=1
  export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
  # The loader dlcloses the driver before exit, which leaves lavapipe's one-time allocations with
  # "<unknown module>" stacks that no suppression can name: keep lavapipe loaded (it exports only
  # vk_icd* entry points) so tests/lsan.supp can name it, and so our layer's own leaks still show.
  export VMA_ASAN_PRELOAD="$(gcc -print-file-name=libasan.so) $(ls /usr/lib/*/libvulkan_lvp.so | head -1)"
  status=0
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -L core || status=1
  # Tests that are Python or bash runners (they hand VMA_ASAN_PRELOAD to the programs only).
  runners="^layer[.](app|corruption)[.]|install_tree"
  LD_PRELOAD=$VMA_ASAN_PRELOAD ctest --test-dir "$build" --output-on-failure -j"$jobs" -LE "core|compat" \
    -E "validation|$runners" || status=1
  # The validation layer leaks on purpose when it is unloaded: no leak check where it is loaded.
  LD_PRELOAD=$VMA_ASAN_PRELOAD ASAN_OPTIONS=detect_leaks=0 ctest --test-dir "$build" --output-on-failure \
    -j"$jobs" -R validation -E "$runners" || status=1
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "$runners" || status=1
  ctest --test-dir "$build" --output-on-failure -L compat || status=1
  exit $status
fi

if [ "${1:-}" = "--tsan" ]; then
  build="$root/build-tsan"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVMA_SANITIZE=thread -DVMA_BUILD_BENCHMARKS=OFF
  cmake --build "$build" -j"$jobs"
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
  ctest --test-dir "$build" --output-on-failure -j"$jobs" -R "Thread|Concurrent"
  exit $?
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
