"""Shared by the tests of the crowd tool (tools/crowd): where things are,
running the tool, checking PNG files.  Every test exits 0 (pass), 1 (fail,
with the reason on stderr) or 77 (skipped: something it needs is missing)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
TOOL = os.path.join(SOURCE, "tools", "crowd")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def skip(message):
    print(f"SKIP: {message}", file=sys.stderr)
    sys.exit(77)


def check(condition, message):
    if not condition:
        fail(message)


def crowd_lib():
    """The library under test, from ctest (CROWD_LIB=$<TARGET_FILE:crowd>)."""
    lib = os.environ.get("CROWD_LIB", "")
    check(lib and os.path.isfile(lib), f"CROWD_LIB={lib!r} is not a file: run through ctest, "
          "or set CROWD_LIB to the built libcrowd.so")
    return lib


def need_matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.image  # noqa: F401
    except ImportError:
        skip("python3-matplotlib is not installed")


def run_tool(args, env=None, timeout=60, cwd=None):
    """Runs tools/crowd (through its #! line); returns (status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    print("$ crowd " + " ".join(args), file=sys.stderr)
    proc = subprocess.run([TOOL] + args, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=cwd)
    sys.stderr.write(proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


def check_png(path, width=None, height=None):
    """A real PNG: magic bytes, decodes with matplotlib, the expected size,
    and not blank.  Returns the image array (rows, columns, channels)."""
    check(os.path.isfile(path), f"{path} was not written")
    with open(path, "rb") as f:
        check(f.read(8) == PNG_MAGIC, f"{path} does not start with the PNG signature")
    import matplotlib.image
    image = matplotlib.image.imread(path)
    check(image.ndim == 3 and image.shape[2] in (3, 4), f"{path}: unexpected image shape {image.shape}")
    h, w = image.shape[:2]
    if width is not None:
        check(w == width, f"{path}: width {w}, expected {width}")
    if height is not None:
        check(h == height, f"{path}: height {h}, expected {height}")
    colours = {tuple(p) for p in image[::7, ::7, :3].reshape(-1, 3).round(2).tolist()}
    check(len(colours) > 8, f"{path}: only {len(colours)} colours, the picture looks blank")
    return image


def check_map(heap, where):
    """The heap map's own invariants (independently of the tool's check):
    returns the number of pages in use."""
    for key in ("crowd_map", "version", "pid", "area_size", "os_page", "live_bytes", "huge_live_bytes", "areas"):
        check(key in heap, f"{where}: no {key!r}")
    check(heap["crowd_map"] == 1, f"{where}: crowd_map is {heap['crowd_map']}")
    subpages = 65536 // heap["os_page"]
    page_bytes, pages = 0, 0
    for area in heap["areas"]:
        check(int(area["address"], 16) % heap["area_size"] == 0, f"{where}: area {area['address']} not aligned")
        slots_per_area = heap["area_size"] // area["slot_size"]
        covered = set()
        for s in area["slots"]:
            at = f"{where}: area {area['address']} slot {s['slot']}"
            check(1 <= s["slot"] and s["slot"] + s["span"] <= slots_per_area, f"{at}: outside the area")
            check(len(s["resident"]) == subpages * s["span"],
                  f"{at}: resident has {len(s['resident'])} characters, span {s['span']}")
            check(set(s["resident"]) <= {"0", "1"}, f"{at}: resident is not 0s and 1s")
            check(s["resident_subpages"] == s["resident"].count("1"),
                  f"{at}: resident_subpages {s['resident_subpages']}, {s['resident'].count('1')} ones")
            span = set(range(s["slot"], s["slot"] + s["span"]))
            check(not span & covered, f"{at}: overlaps another page")
            covered |= span
            if s["state"] == "free":
                check(isinstance(s["released"], bool), f"{at}: free slot without released")
                continue
            check(s["state"] in ("current", "queued", "full", "abandoned", "large"), f"{at}: state {s['state']}")
            check(0 <= s["used"] <= s["capacity"], f"{at}: used {s['used']}, capacity {s['capacity']}")
            check(s["capacity"] * s["block_size"] <= s["span"] * area["slot_size"],
                  f"{at}: {s['capacity']} blocks of {s['block_size']} do not fit in {s['span']} slot(s)")
            check(0 <= s["remote_pending"] <= s["used"], f"{at}: remote_pending {s['remote_pending']} > used")
            check(s["used"] * s["block_size"] <= s["touched"] <= s["span"] * area["slot_size"],
                  f"{at}: touched {s['touched']} with {s['used']} blocks of {s['block_size']} in {s['span']} slot(s)")
            page_bytes += s["used"] * s["block_size"]
            pages += 1
        check(covered == set(range(1, slots_per_area)), f"{where}: area {area['address']}: slots "
              f"{sorted(set(range(1, slots_per_area)) - covered)} in no page")
    check(heap["live_bytes"] == page_bytes + heap["huge_live_bytes"],
          f"{where}: live_bytes {heap['live_bytes']} != sum of used x block_size {page_bytes} "
          f"+ huge_live_bytes {heap['huge_live_bytes']}")
    return pages
