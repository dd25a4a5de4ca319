#!/usr/bin/env python3
"""Runs tests/apps/app_overrun under VK_LAYER_VMA_suballocator with detect_corruption and checks
what the layer reported.

--layers names the instance layers in order (the Khronos validation layer and the test shim may be
stacked around ours); --env sets extra variables (e.g. VMA_SHIM_FAKE_DEVICE_LOCAL=1 turns lavapipe's
memory into a device-local type the layer must check with transfer commands). Each --expect is a
regular expression that must occur in the program's stderr; --expect-clean means no corruption
report and a zero exit code; --expect-exit gives the exit code the program must return.
"""
import argparse
import os
import re
import sys

from app_runner import LVP, run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--layers", default="VK_LAYER_VMA_suballocator")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--expect-clean", action="store_true")
    ap.add_argument("--expect-exit", type=int, default=None)
    ap.add_argument("program", nargs=argparse.REMAINDER)
    args = ap.parse_args()

    env = dict(os.environ)
    for k in ("VK_LOADER_LAYERS_ENABLE", "VK_LOADER_LAYERS_DISABLE"):
        env.pop(k, None)
    paths = [args.build, os.path.join(args.build, "shim"), "/usr/share/vulkan/explicit_layer.d"]
    env.update(VK_LAYER_PATH=":".join(paths), VK_INSTANCE_LAYERS=args.layers, VK_DRIVER_FILES=LVP,
               NODEVICE_SELECT="1", VK_VMA_SUBALLOCATOR_DETECT_CORRUPTION="1",
               VMA_SHIM_ABORT_ON_VIOLATION="0")
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v
    code, out, err = run(args.program, env)
    failures = []
    reports = [l for l in err.splitlines() if "VMA-corruption:" in l and l.startswith("[vma]")]
    if args.expect_clean:
        if code != 0:
            failures.append(f"exit code {code}, expected 0")
        if reports:
            failures.append("unexpected corruption reports")
    if args.expect_exit is not None and code != args.expect_exit:
        failures.append(f"exit code {code}, expected {args.expect_exit}")
    for pattern in args.expect:
        if not re.search(pattern, err):
            failures.append(f"missing in stderr: {pattern}")
    m = re.search(r"VMA_SHIM_REPORT .*violations=(\d+)", err)
    if m and m.group(1) != "0":
        failures.append("the shim saw a virtual handle reach the driver")
    print("\n".join(reports) or "(no corruption reports)")
    if failures:
        print("FAIL: " + "; ".join(failures))
        print("--- stdout\n" + out + "--- stderr\n" + err[-6000:])
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
