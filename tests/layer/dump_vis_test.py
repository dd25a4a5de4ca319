#!/usr/bin/env python3
"""vma_demo through VK_LAYER_VMA_suballocator writes state maps (dump_file demo_%n.json, dump_on=idle:
one at the vkDeviceWaitIdle before it unloads its second level, one at the wait in its teardown);
scripts/vma-dump-vis draws the first. Checks the map's
shape, then the PNG: 1200 pixels wide, and the colours of what the demo holds (red vertex/index
buffers, aqua sampled textures, blue colour targets, pink depth) plus light-gray free space.
Bad input to vma-dump-vis fails with a message, never a traceback.

With --present PROGRAM (e.g. vkcube) it tests the present:N trigger instead: the program runs under
Xvfb (xvfb-run) for 10 frames with dump_on=present:4, so exactly two maps (after presents 4 and 8).

The drawing test needs Pillow in this interpreter (CMake picks one that has it).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

LVP = os.environ.get("VMA_TEST_ICD") or "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"
RED, AQUA, BLUE, PINK = (255, 148, 148), (0, 255, 255), (179, 179, 255), (246, 128, 255)
FREE = (220, 220, 220)


def fail(message):
    print("FAIL:", message)
    sys.exit(1)


def check_map(dump):
    """The rules GpuMemDumpVis depends on (the full set is checked by the C++ tests)."""
    if dump["General"]["API"] != "Vulkan":
        fail("General.API is not Vulkan")
    usages = []
    for key, pool in dump["DefaultPools"].items():
        for block_id, block in pool["Blocks"].items():
            offset = 0
            for s in block["Suballocations"]:
                if s["Offset"] != offset:
                    fail(f"{key} block {block_id}: suballocation at {s['Offset']}, expected {offset}")
                offset += s["Size"]
                if s["Type"] != "FREE":
                    usages.append((s["Type"], s["Usage"]))
            if offset != block["TotalBytes"]:
                fail(f"{key} block {block_id}: suballocations cover {offset} of {block['TotalBytes']} bytes")
        for d in pool["DedicatedAllocations"]:
            if "Usage" not in d or "Offset" in d:
                fail(f"dedicated allocation {d}: needs Usage and no Offset")
            usages.append((d["Type"], d["Usage"]))
    return usages


def layer_env(build, dump_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VK_VMA_SUBALLOCATOR_", "VK_INSTANCE_LAYERS", "VK_LOADER_LAYERS", "VK_LAYER_PATH"))}
    env.update(VK_DRIVER_FILES=LVP, NODEVICE_SELECT="1", VK_LAYER_PATH=build,
               VK_INSTANCE_LAYERS="VK_LAYER_VMA_suballocator", VK_VMA_SUBALLOCATOR_DUMP_FILE=dump_path)
    if os.environ.get("VMA_ASAN_PRELOAD"):  # scripts/test.sh --asan: the program gets the preload
        env["LD_PRELOAD"] = os.environ["VMA_ASAN_PRELOAD"]
        env["ASAN_OPTIONS"] = "detect_leaks=0"  # third-party programs (vkcube) are not ours to leak-check
    return env


def test_present(build, program, tmp):
    env = layer_env(build, os.path.join(tmp, "present_%n.json"))
    env["VK_VMA_SUBALLOCATOR_DUMP_ON"] = "present:4"
    # The ASan preload goes to the program only, not to xvfb-run and the X server.
    preload = ["env", "LD_PRELOAD=" + env.pop("LD_PRELOAD"), "ASAN_OPTIONS=" + env.pop("ASAN_OPTIONS")] \
        if "LD_PRELOAD" in env else []
    p = subprocess.run(["xvfb-run", "-a"] + preload + [program, "--c", "10"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=300)
    if p.returncode != 0:
        fail(f"{program} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    dumps = sorted(f for f in os.listdir(tmp) if f.startswith("present_") and f.endswith(".json"))
    if len(dumps) != 2 or p.stderr.count("state map (present) written to") != 2:
        fail(f"expected 2 maps (presents 4 and 8 of 10), got {dumps}:\n{p.stderr}")
    for name in dumps:
        with open(os.path.join(tmp, name)) as f:
            dump = json.load(f)
        if dump["General"]["Trigger"] != "present":
            fail(f"{name}: trigger {dump['General']['Trigger']}")
        if not any(t.startswith("IMAGE") for t, _ in check_map(dump)):
            fail(f"{name}: no image (the cube's texture and depth buffer) in the map")
    print(f"OK: {program}: {dumps}")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--demo")
    ap.add_argument("--vis")
    ap.add_argument("--present", help="a windowed program taking --c FRAMES (vkcube): test dump_on=present:N")
    a = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="vma_dump_vis_")
    if a.present:
        return test_present(a.build, a.present, tmp)
    dump_path, png_path = os.path.join(tmp, "demo_0.json"), os.path.join(tmp, "demo.png")
    env = layer_env(a.build, os.path.join(tmp, "demo_%n.json"))
    env["VK_VMA_SUBALLOCATOR_DUMP_ON"] = "idle"
    if "ASAN_OPTIONS" in env:
        del env["ASAN_OPTIONS"]  # our demo is leak-checked
    p = subprocess.run([a.demo, "--quiet", "--frames", "1"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0 or "RESULT OK" not in p.stdout:
        fail(f"vma_demo failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    if f"state map (idle) written to {dump_path}" not in p.stderr:
        fail(f"no log line for the dump:\n{p.stderr}")
    # The second wait is in the demo's teardown, after it freed everything: an empty map.
    with open(os.path.join(tmp, "demo_1.json")) as f:
        late = json.load(f)
    if late["Total"]["AllocationCount"] != 0:
        fail(f"the map after teardown still holds {late['Total']['AllocationCount']} allocations")
    if os.path.exists(os.path.join(tmp, "demo_2.json")):
        fail("more than two idle dumps")
    with open(dump_path) as f:
        dump = json.load(f)
    usages = check_map(dump)
    if not any(t == "BUFFER" and u & 0x1C0 for t, u in usages):
        fail("no vertex/index buffer in the demo's state map")
    if not any(t == "IMAGE_OPTIMAL" and u & 0x4 and not u & 0xF8 for t, u in usages):
        fail("no sampled texture in the demo's state map")

    from PIL import Image  # only the drawing test needs Pillow

    p = subprocess.run([sys.executable, a.vis, "-o", png_path, dump_path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        fail(f"vma-dump-vis failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    image = Image.open(png_path).convert("RGB")
    if image.width != 1200:
        fail(f"PNG is {image.width} pixels wide, expected 1200")
    colours = {c for _, c in image.getcolors(image.width * image.height)}
    for name, colour in (("red (vertex/index buffer)", RED), ("aqua (sampled image)", AQUA),
                         ("blue (colour attachment)", BLUE), ("pink (depth attachment)", PINK),
                         ("light gray (free)", FREE)):
        if colour not in colours:
            fail(f"no {name} pixel {colour} in {png_path}")
    # Free space is drawn: at least 20 columns of one 24-pixel bar.
    if sum(1 for c in image.getdata() if c == FREE) < 20 * 20:
        fail("too little light-gray (free) space drawn")

    # Bad input: a clear message and exit status 1, no traceback, no PNG.
    bad = os.path.join(tmp, "bad.json")
    for content, expected in (("{not json", "vma-dump-vis:"),
                              ('{"General": {"API": "Metal"}}', "API"),
                              ('{"General": {"API": "Vulkan"}, "DefaultPools": {}}', "detailed map"),
                              ('{"General": {"API": "Vulkan"}, "DefaultPools": {"Type 0": {"Blocks": {},'
                               ' "DedicatedAllocations": [{"Type": "BUFFER", "Size": 4}]}}}', "Usage")):
        with open(bad, "w") as f:
            f.write(content)
        p = subprocess.run([sys.executable, a.vis, "-o", os.path.join(tmp, "bad.png"), bad],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        if p.returncode != 1 or expected not in p.stderr or "Traceback" in p.stderr:
            fail(f"bad input {content!r}: exit {p.returncode}, stderr:\n{p.stderr}")
    print(f"OK: {png_path} ({image.width}x{image.height}), {len(usages)} allocations drawn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
