#!/usr/bin/env python3
"""Runs one test app without and with VK_LAYER_VMA_suballocator and compares.

The layer is enabled the way a user would: --enable path (VK_LAYER_PATH + VK_LOADER_LAYERS_ENABLE),
instance (VK_INSTANCE_LAYERS) or implicit (the implicit manifest found through XDG_DATA_HOME and
switched on by ENABLE_VMA_SUBALLOCATOR=1). --validation above|below|none stacks the Khronos
validation layer above or below ours; any validation message makes the app exit non-zero.

Fails when: an exit code is not 0, the compared lines (checksum/report/RESULT) differ, the layer's
summary line is missing (the layer was not in the chain), or the layer did not suballocate (driver
allocations must drop when the app makes more than a handful of allocations).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

# lavapipe, or the ICD manifest named by VMA_TEST_ICD (the NVIDIA one on the GPU machine).
LVP = os.environ.get("VMA_TEST_ICD") or "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"
SUMMARY = re.compile(r"summary: app allocations (\d+), driver allocations (\d+)")


def run(cmd, env):
    # ASan build (scripts/test.sh --asan): the apps get the preload, this interpreter does not;
    # the validation layer leaks when unloaded, so no leak check where it is loaded.
    if os.environ.get("VMA_ASAN_PRELOAD"):
        env = dict(env, LD_PRELOAD=os.environ["VMA_ASAN_PRELOAD"])
        if "VK_LAYER_KHRONOS_validation" in env.get("VK_INSTANCE_LAYERS", ""):
            env["ASAN_OPTIONS"] = "detect_leaks=0"
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def compared(stdout):
    return [l for l in stdout.splitlines() if l.startswith(("checksum ", "report ", "RESULT "))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--enable", choices=["path", "instance", "implicit"], required=True)
    ap.add_argument("--validation", choices=["above", "below", "none"], default="none")
    ap.add_argument("--setting", action="append", default=[], help="KEY=VALUE, as VK_VMA_SUBALLOCATOR_KEY")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the run with the layer")
    ap.add_argument("--expect-difference", action="store_true",
                    help="succeed only if the run with the layer differs (proves the runner catches a broken layer)")
    ap.add_argument("app", nargs=argparse.REMAINDER)
    a = ap.parse_args()

    base = dict(os.environ)
    for k in list(base):
        if k.startswith(("VK_VMA_SUBALLOCATOR_", "VK_INSTANCE_LAYERS", "VK_LOADER_LAYERS", "VK_LAYER_PATH")):
            del base[k]
    base.update(VK_DRIVER_FILES=LVP, NODEVICE_SELECT="1", VMA_APP_FAIL_ON_VALIDATION="1")

    plain_env = dict(base, VK_LOADER_LAYERS_DISABLE="~implicit~")
    if a.validation != "none":
        plain_env["VK_INSTANCE_LAYERS"] = "VK_LAYER_KHRONOS_validation"
    rc0, out0, err0 = run(a.app, plain_env)
    if rc0 != 0:
        print(f"baseline run failed ({rc0}):\n{out0}\n{err0}")
        return 1

    env = dict(base)
    xdg = None
    layers = []
    if a.validation == "above":
        layers.append("VK_LAYER_KHRONOS_validation")
    if a.enable == "path":
        env["VK_LAYER_PATH"] = a.build
        env["VK_LOADER_LAYERS_ENABLE"] = "*VMA_suballocator"
    elif a.enable == "instance":
        env["VK_LAYER_PATH"] = a.build
        layers.append("VK_LAYER_VMA_suballocator")
    else:
        # The loader finds implicit manifests under $XDG_DATA_HOME/vulkan/implicit_layer.d.
        xdg = tempfile.mkdtemp(prefix="vma_xdg_")
        d = os.path.join(xdg, "vulkan", "implicit_layer.d")
        os.makedirs(d)
        with open(os.path.join(a.build, "implicit", "VkLayer_vma_implicit.json")) as f:
            manifest = f.read().replace("../libVkLayer_vma.so", os.path.join(a.build, "libVkLayer_vma.so"))
        with open(os.path.join(d, "VkLayer_vma_implicit.json"), "w") as f:
            f.write(manifest)
        env["XDG_DATA_HOME"] = xdg
        env["ENABLE_VMA_SUBALLOCATOR"] = "1"
    if a.validation == "below":
        if a.enable == "path":
            layers.append("VK_LAYER_VMA_suballocator")
            env["VK_LAYER_PATH"] = a.build
        layers.append("VK_LAYER_KHRONOS_validation")
    if layers:
        env["VK_INSTANCE_LAYERS"] = ":".join(layers)
    if a.validation != "none":
        # Our layer's manifest path must not hide the system's validation layer.
        if "VK_LAYER_PATH" in env:
            env["VK_LAYER_PATH"] += ":/usr/share/vulkan/explicit_layer.d"
    for s in a.setting:
        k, v = s.split("=", 1)
        env["VK_VMA_SUBALLOCATOR_" + k.upper()] = v
    for s in a.env:
        k, v = s.split("=", 1)
        env[k] = v
    try:
        rc1, out1, err1 = run(a.app, env)
        if a.enable == "implicit":
            # And the off switch wins: no summary line with DISABLE_VMA_SUBALLOCATOR=1.
            rc2, out2, err2 = run(a.app, dict(env, DISABLE_VMA_SUBALLOCATOR="1"))
            if rc2 != 0 or SUMMARY.search(err2):
                print(f"DISABLE_VMA_SUBALLOCATOR=1 did not turn the implicit layer off ({rc2}):\n{err2}")
                return 1
    finally:
        if xdg:
            shutil.rmtree(xdg)

    failures = []
    if rc1 != 0:
        failures.append(f"exit code {rc1} with the layer (0 without)")
    if compared(out0) != compared(out1):
        failures.append("output differs:\n  without: %s\n  with:    %s" % (compared(out0), compared(out1)))
    if "Validation Error" in out1 + err1 or "Validation Warning" in out1 + err1:
        failures.append("validation reported something with the layer")
    m = SUMMARY.search(err1)
    if not m:
        failures.append("no summary line from the layer: it was not in the chain")
    else:
        app_allocs, driver_allocs = int(m.group(1)), int(m.group(2))
        print(f"layer summary: {m.group(0)}")
        if app_allocs > 8 and driver_allocs >= app_allocs:
            failures.append(f"the layer did not suballocate: {app_allocs} app vs {driver_allocs} driver allocations")
    if a.expect_difference:
        if m and (rc1 != 0 or compared(out0) != compared(out1)):
            print("the runner caught the broken layer: " + "; ".join(failures))
            return 0
        print("FAILED: the layer was broken on purpose but the run looked identical")
        return 1
    if failures:
        print("FAILED: " + "\n".join(failures))
        print("--- stdout with layer ---\n" + out1 + "\n--- stderr with layer ---\n" + err1[-6000:])
        return 1
    print("identical: " + "; ".join(compared(out1)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
