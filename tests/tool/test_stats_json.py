"""CROWD_STATS=json: the statistics crowd writes at exit parse as JSON and
their counters agree with each other.

A real program (Debian's python3 with PYTHONMALLOC=malloc, so its objects
come from crowd) builds data in two threads, keeps some of it and exits;
crowd prints its statistics to stderr as one JSON object."""
import json
import os
import subprocess
import sys

from helpers import check, crowd_lib, fail

PYTHON = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/python3"

SCRIPT = r"""
import threading
keep = []
def work(n):
    data = [("x" * (i % 300)) + str(i) for i in range(n)]
    keep.append(data[::7])
    big = [bytearray(i * 1000) for i in range(1, 200)]
    keep.append(big[::10])
threads = [threading.Thread(target=work, args=(60000,)) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(sum(len(k) for k in keep))
"""

env = dict(os.environ, LD_PRELOAD=crowd_lib(), PYTHONMALLOC="malloc", CROWD_STATS="json")
proc = subprocess.run([PYTHON, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
check(proc.returncode == 0, f"python exited with {proc.returncode}: {proc.stderr[-2000:]}")
lines = [line for line in proc.stderr.splitlines() if line.startswith('{"crowd_stats"')]
check(len(lines) == 1, f"expected one crowd_stats line on stderr, got {len(lines)}: {proc.stderr[-2000:]}")
try:
    stats = json.loads(lines[0])
except json.JSONDecodeError as error:
    fail(f"crowd_stats is not JSON ({error}): {lines[0][:500]}")

for key in ("live_bytes", "live_blocks", "mapped_bytes", "resident_bytes", "pages_in_use", "areas_live",
            "areas_mapped", "areas_unmapped", "huge_live_bytes", "released_bytes", "purge_calls", "classes"):
    check(key in stats, f"missing {key}")
check(stats["areas_live"] == stats["areas_mapped"] - stats["areas_unmapped"],
      f"areas: live {stats['areas_live']} != mapped {stats['areas_mapped']} - unmapped {stats['areas_unmapped']}")
pages = sum(sum(c["pages_by_eighth"]) + c["pages_full"] for c in stats["classes"]) + stats["large_pages"]
check(pages == stats["pages_in_use"], f"pages by class and occupancy add up to {pages}, pages_in_use {stats['pages_in_use']}")
check(stats["live_bytes"] >= stats["huge_live_bytes"], "live bytes below huge live bytes")
check(stats["live_blocks"] > 0 and stats["live_bytes"] > 0, "nothing live at exit: python keeps its interpreter state")
check(stats["mapped_bytes"] >= stats["live_bytes"], "live bytes above mapped bytes")
sizes = [c["block_size"] for c in stats["classes"]]
check(sizes == sorted(sizes) and len(set(sizes)) == len(sizes), f"classes not in order: {sizes}")
check(all(len(c["pages_by_eighth"]) == 8 for c in stats["classes"]), "pages_by_eighth must have 8 entries")
print(f"ok: {stats['pages_in_use']} pages, {stats['live_blocks']} live blocks, {stats['live_bytes']} live bytes")
