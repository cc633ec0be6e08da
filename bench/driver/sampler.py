"""Runs one program and samples its memory over time.

Every INTERVAL seconds: VmRSS from /proc/PID/status (batched per-CPU
counters, may lag) and Rss, LazyFree, AnonHugePages from
/proc/PID/smaps_rollup (exact).  The program's MARK lines are timestamped
on the same clock when they arrive; a sample is also taken at once on
each marker, so "right after the release phase" is not up to 20 ms late.

The program runs under /usr/bin/time (for an honest peak: see measure.py)
and names its own pid in its first line, `MARK start pid=...`; that is the
process sampled, not time or env.
"""
import os
import selectors
import subprocess
import tempfile
import time

from . import measure

INTERVAL = 0.02
KNOWN_ALLOCATORS = ("/libjemalloc", "/libtcmalloc", "/libmimalloc", "/libcrowd")


def read_memory(pid: int):
    """(vmrss_kb, rss_kb, lazyfree_kb, anonhuge_kb), or None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/smaps_rollup") as f:
            rollup = f.read()
    except OSError:
        return None
    def field(text, key):
        for line in text.splitlines():
            if line.startswith(key):
                return int(line.split()[1])
        return None
    rss = field(rollup, "Rss:")
    if rss is None:  # a zombie has an empty rollup
        return None
    return (field(status, "VmRSS:"), rss, field(rollup, "LazyFree:") or 0,
            field(rollup, "AnonHugePages:") or 0)


def check_maps(pid: int, allocator, where: str):
    """Fails loudly when the allocator under test is not mapped (or, for
    glibc, when some other allocator is)."""
    with open(f"/proc/{pid}/maps") as f:
        maps = f.read()
    if allocator.library:
        if f"/{allocator.mapped_name}\n" not in maps:
            raise measure.NotLoadedError(f"{where}: {allocator.mapped_name} is not mapped in pid {pid}")
    else:
        stray = [k for k in KNOWN_ALLOCATORS if k in maps]
        if stray:
            raise measure.NotLoadedError(f"{where}: glibc run has {stray} mapped")


def parse_mark(line: str):
    """'MARK name k=v ...' -> (name, {k: v})."""
    words = line.split()
    fields = {}
    for w in words[2:]:
        k, _, v = w.partition("=")
        try:
            fields[k] = int(v)
        except ValueError:
            try:
                fields[k] = float(v)
            except ValueError:
                fields[k] = v
    return words[1], fields


def run_sampled(allocator, argv: list, extra_env: dict, where: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="crowd-footprint-") as tmp:
        time_path = os.path.join(tmp, "time")
        err_path = os.path.join(tmp, "err")
        cmd = [measure.TIME, "-o", time_path, "-f", "%M %R"] + measure.preload_argv(allocator, argv)
        with open(err_path, "w") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err,
                                    env=measure.clean_env(extra_env), start_new_session=True)
        t0 = time.monotonic()
        pid, samples, marks, results = None, [], [], {}
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        pending, next_sample, eof = b"", t0, False

        def sample():
            m = read_memory(pid) if pid else None
            if m:
                samples.append((round(time.monotonic() - t0, 4),) + m)

        while not eof:
            if time.monotonic() - t0 > timeout:
                measure.kill_group(proc)
                raise measure.MeasureError(f"{where}: no exit after {timeout:.0f} s (hang?), killed")
            if sel.select(max(0.0, next_sample - time.monotonic())):
                chunk = os.read(proc.stdout.fileno(), 65536)
                eof = not chunk
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for raw in lines:
                    line = raw.decode(errors="replace")
                    if line.startswith("MARK "):
                        name, fields = parse_mark(line)
                        marks.append({"name": name, "t": round(time.monotonic() - t0, 4), **fields})
                        if name == "start":
                            pid = fields["pid"]
                            try:
                                check_maps(pid, allocator, where)
                            except measure.NotLoadedError:
                                measure.kill_group(proc)
                                raise
                        sample()
                    elif line.startswith("RESULT "):
                        results.update(measure.parse_output(line))
            if time.monotonic() >= next_sample:
                sample()
                next_sample += INTERVAL
                if next_sample < time.monotonic():  # fell behind: do not burst
                    next_sample = time.monotonic() + INTERVAL
        rc = proc.wait()
        with open(err_path) as f:
            stderr = f.read()
        if rc == 3 and "is not mapped" in stderr:
            raise measure.NotLoadedError(f"{where}: {stderr.strip()}")
        if rc != 0 or pid is None:
            raise measure.MeasureError(f"{where}: exit status {rc}\n{stderr.strip()}")
        with open(time_path) as f:
            maxrss_kb, minflt = f.read().strip().splitlines()[-1].split()
    return {"samples": samples, "marks": marks, "results": results,
            "peak_rss_kb": int(maxrss_kb), "minor_faults": int(minflt)}
