#!/usr/bin/env bash
# Runs the layer tests, the apps through the layer and the layer benchmark against a real GPU
# driver on a Linux machine that has the NVIDIA driver but no Vulkan loader: the Debian packages
# brought along in DEB_DIR are unpacked into / (dpkg -x) and the NVIDIA ICD is selected through
# its EGL library (the GLX one does not negotiate without libglvnd; see docs/PERFORMANCE.md).
#   scripts/gpu-check.sh BUILD_DIR [DEB_DIR]
# BUILD_DIR is an x86-64 build tree made on Debian bookworm (scripts/test.sh makes one).
set -uo pipefail
build=$(cd "$1" && pwd)
debs=${2:-$(dirname "$0")/../deb-cache}
status=0

if ! ldconfig -p | grep -q libvulkan.so.1; then
  for d in "$debs"/*.deb; do dpkg -x "$d" /; done
  ldconfig
fi
icd=/tmp/vma_nvidia_icd.json
api=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
echo "{\"file_format_version\":\"1.0.1\",\"ICD\":{\"library_path\":\"libEGL_nvidia.so.0\",\"api_version\":\"1.4.312\"}}" > "$icd"
export VK_DRIVER_FILES=$icd VMA_TEST_ICD=$icd NODEVICE_SELECT=1
echo "== date $(date -u +%F) driver ${api:-unknown}"
vulkaninfo --summary 2>&1 | grep -E "deviceName|driverVersion|apiVersion|driverInfo" | head -8

# Test binaries have the build dir compiled in: make it reachable at the same path.
if [ -n "${VMA_ORIGINAL_BUILD_DIR:-}" ] && [ "$VMA_ORIGINAL_BUILD_DIR" != "$build" ]; then
  mkdir -p "$(dirname "$VMA_ORIGINAL_BUILD_DIR")"
  ln -sfn "$build" "$VMA_ORIGINAL_BUILD_DIR"
fi

echo "== layer tests (real loader, NVIDIA driver)"
for t in vma_loader_tests vma_dump_tests; do
  [ -x "$build/tests/layer/$t" ] || continue
  "$build/tests/layer/$t" --gtest_brief=1 2>&1 | tail -25
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done

echo "== apps through the layer, validation above and below"
runner=$(dirname "$0")/../tests/layer/app_runner.py
for app in "app_buffers" "app_images" "app_compute" "app_stress 3000 --rounds 2" "vma_demo"; do
  for mode in "path above" "instance below"; do
    set -- $mode
    out=$(python3 "$runner" --build "$build" --enable "$1" --validation "$2" $build/tests/apps/$app --quiet 2>&1)
    rc=$?
    echo "$app [$1, validation $2]: $( [ $rc -eq 0 ] && echo identical || echo DIFFERENT ) $(echo "$out" | grep 'layer summary' | head -1)"
    [ $rc -eq 0 ] || { echo "$out" | tail -30; status=1; }
  done
done

echo "== corruption detection: a planted GPU overrun in device-local memory"
overrun=$(dirname "$0")/../tests/layer/overrun_runner.py
python3 "$overrun" --build "$build" --env VK_VMA_SUBALLOCATOR_LOG_LEVEL=debug --expect "own transfer queue" \
  --expect "the margin before it was overwritten, bytes .-8, -1." \
  --expect "the margin after it was overwritten, bytes .65536, 65551. relative to its start .1 to 16 bytes past its end." \
  --expect-exit 3 "$build/tests/apps/app_overrun" --before 8 --after 16 || status=1
python3 "$overrun" --build "$build" --layers VK_LAYER_VMA_suballocator:VK_LAYER_KHRONOS_validation \
  --env VK_VMA_SUBALLOCATOR_FILL_ALLOCATIONS=1 --expect-clean "$build/tests/apps/app_overrun" --after 0 || status=1

echo "== state map of the demo (dump_on=idle: before it unloads its last level)"
dumps=${VMA_DUMP_DIR:-/tmp/vma_gpu_dumps}
mkdir -p "$dumps"
VK_LAYER_PATH=$build VK_INSTANCE_LAYERS=VK_LAYER_VMA_suballocator VK_VMA_SUBALLOCATOR_DUMP_FILE="$dumps/demo_%n.json" \
  VK_VMA_SUBALLOCATOR_DUMP_ON=idle "$build/tests/apps/vma_demo" --quiet 2>&1 | grep -E "state map|RESULT|summary" || status=1
[ -s "$dumps/demo_0.json" ] || { echo "no state map written"; status=1; }
if python3 -c "import PIL" 2>/dev/null; then
  python3 "$(dirname "$0")/vma-dump-vis" -o "$dumps/demo.png" "$dumps/demo_0.json" || status=1
else
  echo "(no Pillow here: draw it elsewhere with scripts/vma-dump-vis -o demo.png $dumps/demo_0.json)"
fi

echo "== compat programs that need no window"
python3 "$(dirname "$0")/../tests/compat/compat_runner.py" --layer-dir "$build" --program vulkaninfo || status=1

if [ -x "$build/tests/bench/layer/vma_layer_bench" ]; then
  echo "== layer benchmark"
  # shellcheck disable=SC2086  # VMA_BENCH_ARGS: extra options, split on spaces
  "$build/tests/bench/layer/vma_layer_bench" --layer-path "$build" ${VMA_BENCH_ARGS:-} || status=1
fi
exit $status
