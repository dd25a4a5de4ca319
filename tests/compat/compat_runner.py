#!/usr/bin/env python3
"""Runs real programs from Debian packages without and with VK_LAYER_VMA_suballocator and compares.

Every program runs four times on lavapipe, always under the Khronos validation layer (which sits
above ours, so it checks the program, not the layer):

  off     the layer is not loaded                                  (the reference)
  count   the layer with VK_VMA_SUBALLOCATOR_PASS_THROUGH=all      (pooling off, still counting:
                                                                    "driver allocations without")
  on      the layer with its defaults
  debug   the layer with every debug option (DEBUG_SETTINGS below)

and fails when, against the run "off", a run with the layer differs in exit code, in the program's
own deterministic output (checksums it prints, files it writes), in a rendered frame (pixel for
pixel, same frame number, captured the same way), or adds a validation message; when the layer's
summary line is missing (it was not in the chain) or it logged an error; or when the layer did not
suballocate (run "on" must use fewer driver allocations than run "count" wherever the program makes
more than a handful of poolable allocations).

Frames: the GFXReconstruct capture layer (Debian's gfxreconstruct) is put at the BOTTOM of the
chain, right above the driver, in every run. It records exactly what the driver saw (with our
layer: the real blocks, the bind offsets, the bytes written through our mappings), and
gfxrecon-replay --screenshots N then renders that recording on the plain driver and writes frame N
as a BMP. A layer that binds at a wrong offset or maps the wrong bytes gives a different frame.

With --expect-difference the runner succeeds only if a run with the layer differs (used with the
test build of the layer that has a fault switched on, to show the comparison catches mistakes).
"""
import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

LVP = os.environ.get("VMA_TEST_ICD") or "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"
SYSTEM_LAYERS = "/usr/share/vulkan/explicit_layer.d"
SUMMARY = re.compile(r"summary: app allocations (\d+), driver allocations (\d+) \(peak live (\d+)\)([^\n]*)")
HEAP = re.compile(r"heap (\d+) peak app ([\d.]+ \w+) / driver ([\d.]+ \w+)")

# The "debug" run: every option that exists to shake out layout bugs. Buddy rounds every slice up
# to a power of two and splits/merges neighbours (the algorithm most unlike the default TLSF);
# min_alignment 4096 moves every slice to a page boundary; keep_empty_blocks 0 frees a block as
# soon as it empties, so blocks come and go during the run; a 4 MiB block size makes many blocks
# and sends anything over 2 MiB to its own VkDeviceMemory (the dedicated path); log level debug
# prints the effective settings, which the runner checks.
DEBUG_SETTINGS = {"LOG_LEVEL": "debug", "ALGORITHM": "buddy", "MIN_ALIGNMENT": "4096",
                  "KEEP_EMPTY_BLOCKS": "0", "BLOCK_SIZE": "4M"}
DEBUG_SETTINGS_SEEN = re.compile(r"settings: log_level=debug algorithm=buddy block_size=4194304 .*"
                                 r"min_alignment=4096 keep_empty_blocks=0")
# The continuation lines of a validation message printed by a program's own debug callback.
VALIDATION_DETAIL = re.compile(r"^\s+(Objects: \d+|\[\d+\] 0x[0-9a-fA-F]+, type: \d+, name: )")
ZINK = {"LIBGL_ALWAYS_SOFTWARE": "1", "GALLIUM_DRIVER": "zink", "MESA_LOADER_DRIVER_OVERRIDE": "zink"}


def glmark2_lines(out):
    # glmark2 --validate renders each scene and compares pixels with its references; the FPS lines
    # are timing. Keep only the per-scene verdicts.
    return [l for l in out.splitlines() if ": Validation: " in l]


def not_noise(out):
    return [l for l in out.splitlines()
            if not l.startswith(("[vma]", "WARNING: [Loader Message]", "Error: XDG_RUNTIME_DIR"))
            and not is_validation_line(l) and not VALIDATION_DETAIL.match(l)]


# Each program: steps (commands run in order in the run's folder; {run} is that folder, {work} a
# folder shared by the runs), the stdout lines compared, the files compared, frames to capture,
# and whether the layer is expected to pool (with the reason where it is not).
PROGRAMS = {
    "vulkaninfo": dict(
        package="vulkan-tools",
        steps=[["vulkaninfo", "--json=0", "-o", "{run}/profile.json"], ["vulkaninfo", "--summary"]],
        stdout=not_noise, files=["profile.json"],
        pool=False, why_no_pool="makes no allocations (device properties, extensions and limits are compared)"),
    "vkcube": dict(
        package="vulkan-tools", x=True,
        steps=[["vkcube", "--c", "60"]], stdout=not_noise, frames=[30, 60], pool=True),
    "vkcubepp": dict(
        package="vulkan-tools", x=True,
        steps=[["vkcubepp", "--c", "60", "--use_staging"]], stdout=not_noise, frames=[30, 60], pool=True),
    "gfxrecon-replay": dict(
        package="gfxreconstruct", x=True,
        # A recording of vkcube made once without any layer; the replay tool is the program under
        # test: it allocates, uploads and renders the recording through our layer and writes the
        # screenshots itself (read back through our layer's mappings).
        setup=[["vkcube", "--c", "40"]], setup_env={"VK_INSTANCE_LAYERS": "VK_LAYER_LUNARG_gfxreconstruct",
                                                     "GFXRECON_CAPTURE_FILE": "{work}/vkcube.gfxr",
                                                     "GFXRECON_CAPTURE_FILE_TIMESTAMP": "false",
                                                     "GFXRECON_LOG_LEVEL": "error"},
        steps=[["gfxrecon-replay", "--screenshots", "10,25,40", "--screenshot-dir", "{run}",
                "--screenshot-prefix", "replay", "{work}/vkcube.gfxr"]],
        stdout=lambda out: [l for l in not_noise(out) if not l.startswith(("Total time", "Replay FPS", "Load time"))],
        files=["replay_frame_10.bmp", "replay_frame_25.bmp", "replay_frame_40.bmp"], pool=True),
    "ffmpeg-vulkan-filters": dict(
        package="ffmpeg",
        steps=[["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-init_hw_device", "vulkan=vk:0",
                "-filter_hw_device", "vk", "-f", "lavfi", "-i", "testsrc2=size=640x480:rate=25", "-frames:v", "25",
                "-vf", "format=yuv420p,hwupload,scale_vulkan=w=320:h=240,gblur_vulkan,hflip_vulkan,vflip_vulkan,"
                       "chromaber_vulkan,transpose_vulkan,hwdownload,format=yuv420p",
                "-f", "framemd5", "{run}/frames.md5"]],
        stdout=not_noise, files=["frames.md5"],
        pool=False, why_no_pool="every allocation is an export (VkExportMemoryAllocateInfo, its frames) or a "
                                "host-pointer import (VkImportMemoryHostPointerInfoEXT, hwupload/hwdownload): "
                                "these keep their own VkDeviceMemory by design"),
    "gstreamer-vulkan": dict(
        package="gstreamer1.0-plugins-bad",
        # (vulkanupload links on lavapipe only with RGBA in and a colour conversion after it.)
        steps=[["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=60", f"pattern={pattern}", "!",
                f"video/x-raw,width={w},height={h},format=RGBA", "!", "vulkanupload", "!", "vulkancolorconvert",
                "!", "video/x-raw(memory:VulkanImage),format=NV12", "!", "vulkandownload", "!", "checksumsink"]
               for pattern, w, h in (("smpte", 320, 240), ("ball", 640, 360), ("zone-plate", 1280, 720))],
        stdout=not_noise, pool=True),
    "glmark2-zink": dict(
        package="glmark2-x11", x=True, env=ZINK,
        steps=[["glmark2", "--validate", "--off-screen"]], stdout=glmark2_lines, pool=True),
}


def is_validation_line(l):
    return ("Validation Error" in l or "Validation Warning" in l or "Validation Performance Warning" in l
            or "VUID-" in l or "UNASSIGNED-" in l)


def validation_keys(text):
    """The validation messages, without handles and addresses, so runs compare."""
    keys = set()
    for l in text.splitlines():
        if not is_validation_line(l):
            continue
        m = re.search(r"\[ *([A-Za-z0-9_\-]+) *\]", l)
        key = m.group(1) if m else re.sub(r"0x[0-9a-fA-F]+|\d+", "#", l)[:200]
        keys.add(key)
    return keys


def md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def bmp_pixels(path):
    """(width, height, pixel bytes) of an uncompressed BMP, header excluded."""
    with open(path, "rb") as f:
        data = f.read()
    off = int.from_bytes(data[10:14], "little")
    w = int.from_bytes(data[18:22], "little", signed=True)
    h = int.from_bytes(data[22:26], "little", signed=True)
    return w, h, data[off:]


def frame_diff(a, b):
    wa, ha, pa = bmp_pixels(a)
    wb, hb, pb = bmp_pixels(b)
    if (wa, ha) != (wb, hb) or len(pa) != len(pb):
        return f"size {wa}x{ha} vs {wb}x{hb}"
    if pa == pb:
        return None
    bpp = max(1, len(pa) // max(1, abs(wa * ha)))
    differing = sum(1 for i in range(0, len(pa), bpp) if pa[i:i + bpp] != pb[i:i + bpp])
    return f"{differing} of {abs(wa * ha)} pixels differ"


class Xvfb:
    """Its own Xvfb on a free display number (-displayfd lets the server pick)."""

    def __enter__(self):
        r, w = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                                     pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        buf = b""
        deadline = time.time() + 30
        while not buf.endswith(b"\n") and time.time() < deadline:
            chunk = os.read(r, 16)
            if not chunk:
                break
            buf += chunk
        os.close(r)
        if not buf.strip():
            self.proc.kill()
            raise RuntimeError("Xvfb did not start")
        self.display = ":" + buf.decode().strip()
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def fill(s, run_dir, work):
    return s.replace("{run}", run_dir).replace("{work}", work)


def base_env(display, runtime_dir):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VK_VMA_SUBALLOCATOR_", "VK_INSTANCE_LAYERS", "VK_LOADER_LAYERS", "VK_LAYER_PATH",
                                "GFXRECON_", "VMA_TEST_FAULT", "DISPLAY", "LIBGL_", "GALLIUM_", "MESA_"))}
    env.update(VK_DRIVER_FILES=LVP, NODEVICE_SELECT="1", XDG_RUNTIME_DIR=runtime_dir)
    if display:
        env["DISPLAY"] = display
    return env


def run_program(name, spec, mode, a, work, display, runtime_dir):
    """One run of one program; returns a dict with what is compared."""
    run_dir = os.path.join(work, mode)
    os.makedirs(run_dir, exist_ok=True)
    env = base_env(display, runtime_dir)
    env.update(spec.get("env", {}))
    layers = ["VK_LAYER_KHRONOS_validation"]
    if mode != "off":
        layers.append("VK_LAYER_VMA_suballocator")
        for s in a.env:
            k, v = s.split("=", 1)
            env[k] = v
        if mode == "count":
            env["VK_VMA_SUBALLOCATOR_PASS_THROUGH"] = "all"
        if mode == "debug":
            env.update({"VK_VMA_SUBALLOCATOR_" + k: v for k, v in DEBUG_SETTINGS.items()})
    env["VK_LAYER_PATH"] = a.layer_dir + ":" + SYSTEM_LAYERS
    frames = spec.get("frames")
    if frames:
        layers.append("VK_LAYER_LUNARG_gfxreconstruct")
        env.update(GFXRECON_CAPTURE_FILE=os.path.join(run_dir, "capture.gfxr"), GFXRECON_CAPTURE_FILE_TIMESTAMP="false",
                   GFXRECON_LOG_LEVEL="error", GFXRECON_PAGE_GUARD_ALIGN_BUFFER_SIZES="true")
    env["VK_INSTANCE_LAYERS"] = ":".join(layers)
    if os.environ.get("VMA_ASAN_PRELOAD"):
        # ASan build (scripts/test.sh --asan): the instrumented layer needs the ASan runtime first in
        # these uninstrumented programs; their own leaks are not ours to report.
        env["LD_PRELOAD"] = os.environ["VMA_ASAN_PRELOAD"]
        env["ASAN_OPTIONS"] = "detect_leaks=0"

    res = dict(rc=[], out=[], err="", files={}, frames={})
    for step in spec["steps"]:
        cmd = [fill(c, run_dir, work) for c in step]
        try:
            p = subprocess.run(cmd, env=env, cwd=run_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, timeout=a.timeout)
            rc, out, err = p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            rc, out, err = "timeout", (e.stdout or b"").decode(errors="replace"), (e.stderr or b"").decode(errors="replace")
        res["rc"].append(rc)
        res["out"] += spec["stdout"](out)
        res["err"] += err
        res["validation_text"] = res.get("validation_text", "") + out + err
    for f in spec.get("files", []):
        path = os.path.join(run_dir, f)
        res["files"][f] = path if os.path.exists(path) else None
    if frames:
        cap = os.path.join(run_dir, "capture.gfxr")
        if os.path.exists(cap):
            renv = base_env(display, runtime_dir)
            p = subprocess.run(["gfxrecon-replay", "--screenshots", ",".join(map(str, frames)), "--screenshot-dir",
                                run_dir, "--screenshot-prefix", "frame", cap], env=renv, cwd=run_dir,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=a.timeout)
            res["replay_log"] = p.stdout.decode(errors="replace")
        for n in frames:
            path = os.path.join(run_dir, f"frame_frame_{n}.bmp")
            res["frames"][n] = path if os.path.exists(path) else None
    sums = SUMMARY.findall(res["err"])
    res["summaries"] = [m for m in SUMMARY.finditer(res["err"])]
    res["app_allocs"] = sum(int(s[0]) for s in sums)
    res["driver_allocs"] = sum(int(s[1]) for s in sums)
    heaps = HEAP.findall(res["err"])
    res["driver_bytes"] = ", ".join(f"h{h}: {d}" for h, _, d in heaps[-1:]) if heaps else "-"
    res["validation"] = validation_keys(res["validation_text"])
    res["layer_errors"] = [l for l in res["err"].splitlines() if l.startswith("[vma] E")]
    res["debug_seen"] = bool(DEBUG_SETTINGS_SEEN.search(res["err"]))
    return res


# Extensions the layer hides by design (layer/extensions.cpp kHidden): a device profile from
# vulkaninfo through the layer lacks them and the feature/property structs that come with them.
HIDDEN_BY_DESIGN = ("VK_EXT_device_memory_report", "VK_EXT_map_memory_placed")


def profile_without_hidden(path):
    """vulkaninfo's JSON profile with the hidden extensions and their structs removed, plus the
    hidden extensions that were there."""
    try:
        with open(path) as f:
            profile = json.load(f)
        device = profile["capabilities"]["device"]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []
    present = [e for e in HIDDEN_BY_DESIGN if e in device.get("extensions", {})]
    # VK_EXT_map_memory_placed -> "MapMemoryPlaced" (VkPhysicalDeviceMapMemoryPlacedFeaturesEXT, ...)
    stems = ["".join(w.capitalize() for w in e.split("_")[2:]) for e in HIDDEN_BY_DESIGN]
    for e in HIDDEN_BY_DESIGN:
        device.get("extensions", {}).pop(e, None)
    for section in ("features", "properties"):
        for key in [k for k in device.get(section, {}) if any(stem in k for stem in stems)]:
            del device[section][key]
    return profile, present


def compare(ref, other):
    """Differences of one run against the reference run."""
    diffs = []
    if ref["rc"] != other["rc"]:
        # What the program said on the way out is the first thing anyone debugging this needs.
        tail = "\n      ".join(other["err"].strip().splitlines()[-15:])
        diffs.append(f"exit codes {other['rc']} vs {ref['rc']}; its stderr ends with:\n      {tail}")
    if ref["out"] != other["out"]:
        diffs.append("output differs: first difference: " + next(
            (f"{x!r} vs {y!r}" for x, y in zip(other["out"], ref["out"]) if x != y),
            f"{len(other['out'])} vs {len(ref['out'])} lines"))
    for f, p in ref["files"].items():
        q = other["files"].get(f)
        if p is None or q is None:
            diffs.append(f"file {f} missing ({'reference' if p is None else 'this run'})")
        elif md5(p) != md5(q):
            if f == "profile.json":
                a, hidden = profile_without_hidden(p)
                b, _ = profile_without_hidden(q)
                if a is not None and a == b:
                    if hidden:
                        other.setdefault("notes", []).append(
                            "profile identical apart from extensions hidden by design: " + ", ".join(hidden))
                    continue
            diffs.append(f"file {f} differs" + (f" ({frame_diff(p, q)})" if f.endswith(".bmp") else ""))
    for n, p in ref["frames"].items():
        q = other["frames"].get(n)
        if p is None or q is None:
            diffs.append(f"frame {n} not captured ({'reference' if p is None else 'this run'})")
        else:
            d = frame_diff(p, q)
            if d:
                diffs.append(f"frame {n}: {d}")
    return diffs


def check_program(name, a, display, runtime_dir):
    spec = PROGRAMS[name]
    missing = [s[0] for s in spec["steps"] + spec.get("setup", []) if not shutil.which(s[0])]
    if spec.get("frames") or spec.get("setup"):
        missing += [] if shutil.which("gfxrecon-replay") else ["gfxrecon-replay"]
    if missing:
        return dict(name=name, ok=False, identical="not run", validation="-", without="-", with_="-",
                    summary="-", problems=[f"not installed: {', '.join(missing)} (package {spec['package']}; "
                                           f"scripts/deps.sh installs it)"])
    work = tempfile.mkdtemp(prefix=f"vma_compat_{name}_", dir=a.keep)
    t0 = time.time()
    try:
        if spec.get("setup"):
            env = base_env(display, runtime_dir)
            env.update({k: fill(v, "", work) for k, v in spec["setup_env"].items()})
            env["VK_LAYER_PATH"] = SYSTEM_LAYERS
            for step in spec["setup"]:
                subprocess.run(step, env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=a.timeout, check=True)
        runs = {m: run_program(name, spec, m, a, work, display, runtime_dir) for m in ("off", "count", "on", "debug")}
        problems, differences = [], []
        ref = runs["off"]
        # A run that died before printing anything while the reference run worked is run once more:
        # a software GPU under an X server on a loaded 2-core machine has failed to start once. A
        # real layer fault repeats; the retry and the first attempt's stderr are both printed.
        for m in ("count", "on", "debug"):
            first = runs[m]
            if first["rc"] != ref["rc"] and not first["out"] and all(rc == 0 for rc in ref["rc"]):
                print(f"{name}: [{m}] retried once: first attempt exit codes {first['rc']} with no output; "
                      f"its stderr ended: {first['err'].strip()[-600:]!r}")
                runs[m] = run_program(name, spec, m, a, work, display, runtime_dir)
        if any(rc != 0 for rc in ref["rc"]):
            problems.append(f"the program fails without the layer (exit codes {ref['rc']})")
        if not ref["out"] and not ref["files"] and not ref["frames"]:
            problems.append("nothing to compare: the program printed no compared output without the layer")
        if spec.get("frames") and not all(ref["frames"].values()):
            problems.append("no frame captured without the layer: " + ref.get("replay_log", "")[-500:])
        for m in ("count", "on", "debug"):
            for d in compare(ref, runs[m]):
                differences.append(f"[{m}] {d}")
            new = runs[m]["validation"] - ref["validation"]
            if new:
                problems.append(f"[{m}] new validation messages: {', '.join(sorted(new))}")
            if not runs[m]["summaries"] or len(runs[m]["summaries"]) < 1:
                problems.append(f"[{m}] no summary line from the layer: it was not in the chain")
            if runs[m]["layer_errors"]:
                problems.append(f"[{m}] the layer logged errors: " + " | ".join(runs[m]["layer_errors"][:3]))
        if runs["debug"]["summaries"] and not runs["debug"]["debug_seen"]:
            problems.append("[debug] the layer did not report the debug settings as effective")
        cnt, on = runs["count"], runs["on"]
        if cnt["driver_allocs"] != cnt["app_allocs"]:
            problems.append(f"[count] with pass_through=all driver allocations {cnt['driver_allocs']} != "
                            f"app allocations {cnt['app_allocs']}")
        if spec["pool"]:
            if on["app_allocs"] > 8 and on["driver_allocs"] >= cnt["driver_allocs"]:
                problems.append(f"the layer did not suballocate: {on['app_allocs']} app allocations, "
                                f"{on['driver_allocs']} driver allocations (without pooling {cnt['driver_allocs']})")
        elif on["summaries"] and on["driver_allocs"] > cnt["driver_allocs"]:
            problems.append(f"more driver allocations with the layer ({on['driver_allocs']}) than without "
                            f"({cnt['driver_allocs']})")
        if a.expect_difference:
            caught = bool(differences) and all(r["summaries"] for r in (runs["on"], runs["debug"]))
            ok = caught
            problems = ([] if caught else ["FAULT NOT CAUGHT: the broken layer's runs looked identical"]) + differences
        else:
            problems = differences + problems
            ok = not problems
        validation = "none" if not ref["validation"] else f"{len(ref['validation'])} (same without the layer)"
        if any(runs[m]["validation"] - ref["validation"] for m in ("count", "on", "debug")):
            validation = "NEW: " + ", ".join(sorted(set().union(*(runs[m]["validation"] - ref["validation"]
                                                                for m in ("count", "on", "debug")))))
        frames_note = f", {len(ref['frames'])} frames" if ref["frames"] else ""
        files_note = f", {len(ref['files'])} files" if ref["files"] else ""
        return dict(name=name, ok=ok, identical=("yes" if not differences else "NO") + frames_note + files_note,
                    validation=validation,
                    without=f"{cnt['driver_allocs']} ({cnt['driver_bytes']})",
                    with_=f"{on['driver_allocs']} ({on['driver_bytes']})",
                    summary=(on["summaries"][-1].group(0) if on["summaries"] else "-"),
                    problems=problems, seconds=time.time() - t0,
                    note="; ".join(sorted({n for m in ("count", "on", "debug") for n in runs[m].get("notes", [])} |
                                          ({"no pooling expected: " + spec["why_no_pool"]} if not spec["pool"]
                                           else set()))),
                    runs=runs)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--layer-dir", required=True, help="folder with VkLayer_vma.json (the build folder)")
    ap.add_argument("--program", action="append", choices=sorted(PROGRAMS), help="default: all")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the runs with the layer")
    ap.add_argument("--expect-difference", action="store_true",
                    help="succeed only if a run with the layer differs (proves the runner catches a broken layer)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per command")
    ap.add_argument("--keep", help="keep every run's files under this folder")
    ap.add_argument("--markdown", help="also write the table as Markdown to this file")
    a = ap.parse_args()
    a.layer_dir = os.path.abspath(a.layer_dir)
    if not os.path.exists(os.path.join(a.layer_dir, "VkLayer_vma.json")):
        print(f"no VkLayer_vma.json in {a.layer_dir}")
        return 2
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
    names = a.program or list(PROGRAMS)
    t0 = time.time()
    runtime_dir = tempfile.mkdtemp(prefix="vma_compat_xdg_")
    os.chmod(runtime_dir, 0o700)
    results = []
    try:
        need_x = any(PROGRAMS[n].get("x") or PROGRAMS[n].get("frames") for n in names)
        if need_x:
            if not shutil.which("Xvfb"):
                print("Xvfb is not installed (package xvfb)")
                return 2
            with Xvfb() as x:
                results = [check_program(n, a, x.display, runtime_dir) for n in names]
        else:
            results = [check_program(n, a, None, runtime_dir) for n in names]
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)

    header = ["program", "identical?", "validation", "driver allocations without the layer (peak bytes)",
              "with the layer (peak bytes)", "layer summary (run on)", "result"]
    rows = [[r["name"], r["identical"], r["validation"], r["without"], r["with_"], r["summary"],
             ("PASS" if r["ok"] else "FAIL")] for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    for r in results:
        for p in r["problems"]:
            print(f"{r['name']}: {p}")
        if r.get("note"):
            print(f"{r['name']}: {r['note']}")
    elapsed = time.time() - t0
    print(f"{len(results)} programs, {sum(r['ok'] for r in results)} passed, {elapsed:.0f} s"
          + (" (expecting a difference)" if a.expect_difference else ""))
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(f"Run {datetime.date.today().isoformat()}, {elapsed:.0f} s, layer {a.layer_dir}\n\n")
            f.write("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n")
            for row in rows:
                f.write("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
