#!/usr/bin/env bash
# Sets up and runs the main job: installs missing packages, builds the layer and the demo, and runs
# a program with the layer (default: our demo, a small game loading two levels). The layer prints
# its summary line (app allocations vs driver allocations, peak bytes per heap) at vkDestroyDevice.
#   scripts/run.sh                      # the demo
#   scripts/run.sh vkcube --c 100       # any program and its arguments
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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
exec "$root/scripts/vma-run" --build "$build" "$@"
