"""A program for the tool tests (run with PYTHONMALLOC=malloc, so every
object goes through the allocator under test).

It builds ~60 MB of small objects, prints its own VmRSS with the
CLOCK_MONOTONIC time (the clock `crowd run` records its start on) and holds
it for HOLD seconds; drops 90% of it, prints again and holds again; then
prints VmHWM, the kernel's high-water mark, and waits 0.3 s before it exits.  Lines: "MARK name key=value ...".
"""
import sys
import time

HOLD = float(sys.argv[1]) if len(sys.argv) > 1 else 0.8


def status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"no {field} in /proc/self/status")


def mark(name):
    print(f"MARK {name} t={time.monotonic():.6f} vmrss={status('VmRSS')} vmhwm={status('VmHWM')}", flush=True)


data = [("record %d" % i) * 3 for i in range(400000)] + [[i, i + 1] for i in range(200000)]
mark("built")
time.sleep(HOLD)
del data[: len(data) * 9 // 10]
mark("dropped")
time.sleep(HOLD)
mark("end")
time.sleep(0.3)
