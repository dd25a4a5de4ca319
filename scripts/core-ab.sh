#!/bin/bash
# Compares two versions of the allocator core (src/) in one binary (tests/bench/core_ab.cpp):
#   scripts/core-ab.sh BASE [NEW] [ITERATIONS]
# BASE and NEW are commits (NEW defaults to the working tree). Prints, for the default, min-time and
# min-memory strategies at alignments 1, 16, 64 and 256, and for linear blocks, each version's
# median (fastest) ns per initial allocation, ms per random phase and ns per free-all free, and
# NEW ÷ BASE; then the same with the two versions linked in the other order (lines marked "BA"),
# so that code placement favours neither. Needs g++ only (no Vulkan, no CMake build). With
# CORE_AB_KEEP=DIR the two binaries are also copied to DIR (DIR/ab, DIR/ba: same arguments as
# tests/bench/core_ab.cpp), to run them on another machine.
#
# BASE may instead be vma=DIR, DIR a folder holding VMA's vk_mem_alloc.h (VMA's include/; not part
# of this project): A is then VMA's own VmaVirtualBlock (tests/bench/vma_reference.h), its
# implementation compiled with the same flags, and NEW ÷ BASE is the core's time as a fraction of
# VMA's, measured in one run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=${1:?usage: scripts/core-ab.sh BASE [NEW] [ITERATIONS]}
new=${2:-}
iterations=${3:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/a" "$work/b" "$work/oa" "$work/ob"
vma_dir=
if [[ "$base" == vma=* ]]; then
  vma_dir=$(cd "${base#vma=}" && pwd)
  [ -f "$vma_dir/vk_mem_alloc.h" ] || { echo "no vk_mem_alloc.h in $vma_dir" >&2; exit 2; }
else
  git -C "$root" archive "$base" src | tar -x -C "$work/a"
fi
if [ -n "$new" ]; then
  git -C "$root" archive "$new" src | tar -x -C "$work/b"
else
  cp -r "$root/src" "$work/b/src"
fi
# GCC takes two headers with the same size, contents and time for one (#pragma once): when both
# versions have a header in common, the second would be skipped.
find "$work/b" -type f -exec touch -d '+1 minute' {} +
flags=(-O3 -DNDEBUG -std=c++17)
jobs=$(nproc)
compile() {  # compile VERSION_DIR NAMESPACE OUT_DIR
  local f
  for f in "$1"/src/*.cpp; do
    g++ "${flags[@]}" -Dvma="$2" -I"$1/src" -c "$f" -o "$3/$(basename "$f" .cpp).o" &
    while [ "$(jobs -r | wc -l)" -ge "$jobs" ]; do wait -n; done
  done
  wait
}
header_a="$work/a/src/virtual_block.h"
main_flags=()
if [ -n "$vma_dir" ]; then
  printf '#define VMA_IMPLEMENTATION\n#include <vk_mem_alloc.h>\n' > "$work/vma_impl.cpp"
  g++ "${flags[@]}" -I"$vma_dir" -c "$work/vma_impl.cpp" -o "$work/oa/vma_impl.o"
  header_a="$root/tests/bench/vma_reference.h"
  main_flags=(-isystem "$vma_dir")
else
  compile "$work/a" vmaA "$work/oa"
fi
compile "$work/b" vmaB "$work/ob"
g++ "${flags[@]}" -DVMA_AB_HEADER_A="\"$header_a\"" -DVMA_AB_HEADER_B="\"$work/b/src/virtual_block.h\"" \
    "${main_flags[@]}" -I"$root/tests/bench" -Wall -Wextra -Werror -c "$root/tests/bench/core_ab.cpp" -o "$work/main.o"
g++ "$work/main.o" "$work"/oa/*.o "$work"/ob/*.o -o "$work/ab"
g++ "$work/main.o" "$work"/ob/*.o "$work"/oa/*.o -o "$work/ba"
if [ -n "${CORE_AB_KEEP:-}" ]; then mkdir -p "$CORE_AB_KEEP" && cp "$work/ab" "$work/ba" "$CORE_AB_KEEP/"; fi
echo "A = $base, B = ${new:-working tree}; $iterations iterations per version and line"
for order in ab ba; do
  for f in 0 0x20000 0x10000; do
    for a in 1 16 64 256; do
      if [ "$order" = ba ]; then printf 'BA '; fi
      "$work/$order" "$iterations" "$f" "$a"
    done
  done
  for a in 1 16 64 256; do
    if [ "$order" = ba ]; then printf 'BA '; fi
    "$work/$order" "$iterations" 0 "$a" linear
  done
done
