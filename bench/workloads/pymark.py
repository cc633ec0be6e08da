"""Markers for the Python workloads, in the same format as common/report.c.

`start` prints this process's pid so the footprint driver samples the
right process (it runs under /usr/bin/time and env).  `idle_and_poke`
sleeps without allocating: time.sleep makes no malloc call, and the marker
text is formatted and flushed before the sleep starts.
"""
import os
import sys
import time

_t0 = time.monotonic()


def mark(name: str, live_bytes=None, **fields):
    if live_bytes is not None:
        fields["live_bytes"] = live_bytes
    extra = "".join(f" {k}={v}" for k, v in fields.items())
    sys.stdout.write(f"MARK {name} t={time.monotonic() - _t0:.3f}{extra}\n")
    sys.stdout.flush()


def start(workload: str):
    sys.stdout.write(f"MARK start t=0 pid={os.getpid()} workload={workload}\n")
    sys.stdout.flush()


def traced_live_bytes():
    """Bytes Python has allocated and not freed, when run with
    `-X tracemalloc` (a separate calibration run: tracing adds its own
    allocations, so the measured runs go without it); else None."""
    import tracemalloc
    return tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else None


def idle_and_poke(idle_s: float, live_bytes=None, **fields):
    if idle_s <= 0:
        return
    mark("released", live_bytes, **fields)
    time.sleep(idle_s)
    poke = [0] * 64  # one small malloc and free
    del poke
    mark("poked", live_bytes, **fields)
    time.sleep(1.0)
