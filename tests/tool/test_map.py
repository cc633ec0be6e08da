"""tool.map: `crowd map --json M --out P -- PROGRAM` on real programs
(Debian's python3 with PYTHONMALLOC=malloc; perl too, if installed), and
`crowd map --from M`.  Checked, on the map crowd wrote:
  - the pid is the program's, the program's output came through;
  - every slot of every area is in exactly one page; resident has 16 x span
    characters and resident_subpages '1's; used <= capacity; the blocks fit;
  - live_bytes == sum over pages of used x block_size + huge_live_bytes,
    exactly (the map is written at exit, with no other thread allocating);
  - the tool's summary agrees (areas, pages in use) and reports no
    inconsistency; the PNG is a PNG of the size the layout gives;
  - `map --from` on the kept JSON draws the same picture (same size).
Usage: test_map.py PYTHON"""
import json
import os
import re
import shutil
import sys
import tempfile

from helpers import HERE, check, check_map, check_png, crowd_lib, need_matplotlib, run_tool, skip


def map_of(name, command, work, expect_output):
    json_path, png_path = os.path.join(work, name + ".json"), os.path.join(work, name + ".png")
    status, out, err = run_tool(["map", "--json", json_path, "--out", png_path, "--"] + command)
    sys.stderr.write(out)
    check(status == 0, f"{name}: crowd map exited with {status}")
    check(expect_output in out, f"{name}: the program's output {expect_output!r} did not come through")
    check("inconsistent" not in err, f"{name}: the tool found the map inconsistent")
    with open(json_path) as f:
        heap = json.load(f)
    pages = check_map(heap, name)
    check(re.search(rf"areas:\s+{len(heap['areas'])} ", out), f"{name}: summary's area count")
    check(re.search(rf"pages in use:\s+{pages} ", out), f"{name}: summary's page count")
    pid = re.search(r"heap map of pid (\d+)", out)
    check(pid and int(pid.group(1)) == heap["pid"], f"{name}: summary's pid")
    rows = len(heap["areas"])
    row_px = max(6, min(30, 900 // max(rows, 1)))
    shown = max(rows, 1, -(-240 // row_px))
    image = check_png(png_path, width=135 + 64 * 17 + 150, height=80 + shown * row_px + 105)
    print(f"{name}: {rows} areas, {pages} pages, live {heap['live_bytes']} B, picture {image.shape[1]}x"
          f"{image.shape[0]}", file=sys.stderr)
    # The same map drawn again from the file.
    again = os.path.join(work, name + "-again.png")
    status, out2, _ = run_tool(["map", "--from", json_path, "--out", again])
    check(status == 0, f"{name}: crowd map --from exited with {status}")
    check(check_png(again).shape == image.shape, f"{name}: --from drew a picture of another size")
    return heap


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        skip(f"{python} is not there")
    need_matplotlib()
    crowd_lib()
    work = tempfile.mkdtemp(prefix="crowd-tool-map-")
    heap = map_of("python", ["/usr/bin/env", "PYTHONMALLOC=malloc", python, os.path.join(HERE, "map_workload.py")],
                  work, "kept 15000")
    check(heap["areas"], "python: the map has no areas")
    perl = shutil.which("perl")
    if perl:
        # A hash of strings of many sizes, three quarters deleted, the rest
        # alive at exit (perl does not free its heap at exit).
        heap = map_of("perl", [perl, "-e", 'my %h; $h{$_} = "x" x ($_ % 300) for 1..200000; '
                               'delete $h{$_} for grep { $_ % 4 } 1..200000; print scalar(keys %h), "\\n"'],
                      work, "50000")
        check(heap["live_bytes"] > 1 << 20, f"perl: live_bytes {heap['live_bytes']} at exit, expected MiBs")
    else:
        print("perl not installed: python only", file=sys.stderr)
    shutil.rmtree(work)
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
