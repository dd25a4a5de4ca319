#!/usr/bin/env bash
# Sets up and runs the main job: installs missing packages, builds the layer and the demo, and runs
# a program with the layer (default: our demo, a small game loading two levels). The layer prints
# its summary line (app allocations vs driver allocations, peak bytes per heap) at vkDestroyDevice.
#   scripts/run.sh                      # the demo
#   scripts/run.sh vkcube --c 100       # any program and its arguments
#   scripts/run.sh --dump demo.json     # ... and write the state map at vkDeviceWaitIdle (the demo waits
#                                       # before it unloads its last level) and draw it to demo.png
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dump=""
if [ "${1:-}" = "--dump" ]; then
  [ $# -ge 2 ] || { echo "usage: scripts/run.sh [--dump FILE.json] [program args...]" >&2; exit 2; }
  dump=$2
  shift 2
fi
# shellcheck source=deps.sh
source "$root/scripts/deps.sh"
vma_install_deps

build="$root/build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target VkLayer_vma vma_manifests vma_demo

if [ $# -eq 0 ]; then
  set -- "$build/tests/apps/vma_demo"
fi
# Without a GPU the loader would find only lavapipe anyway; say so instead of failing silently.
if ! ls /dev/dri/render* >/dev/null 2>&1 && [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && \
   [ -f /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ]; then
  echo "[run.sh] no GPU render node: using lavapipe (the CPU Vulkan driver)"
  export VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json
fi
if [ -z "$dump" ]; then
  exec "$root/scripts/vma-run" --build "$build" "$@"
fi
# One map at each vkDeviceWaitIdle (numbered): the first is the demo's, before it unloads its last
# level; later ones (a program's teardown) are kept beside it.
base=${dump%.json}
mkdir -p "$(dirname "$dump")"
export VK_VMA_SUBALLOCATOR_DUMP_FILE=${base}_%n.json VK_VMA_SUBALLOCATOR_DUMP_ON=${VK_VMA_SUBALLOCATOR_DUMP_ON:-idle}
rm -f "${base}"_[0-9]*.json
status=0
"$root/scripts/vma-run" --build "$build" "$@" || status=$?
if [ -f "${base}_0.json" ]; then
  mv "${base}_0.json" "$dump"
  "$root/scripts/vma-dump-vis" -o "${base}.png" "$dump" || status=1
  echo "[run.sh] state map $dump, drawn to ${base}.png"
else
  echo "[run.sh] no state map was written (the program never called vkDeviceWaitIdle?)" >&2
fi
exit $status
