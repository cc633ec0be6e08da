"""Runs one bench program under one allocator and collects what it measured.

The program runs under /usr/bin/time, not straight from Python: a child's
ru_maxrss includes the RSS of the process it was forked (or vforked) from,
so a child of this driver would report at least the driver's own RSS as
its peak.  /usr/bin/time is small (about 1 MiB), and `env` sets
LD_PRELOAD so that only the bench program, not time itself, loads the
allocator.  Output goes to files, so the driver sleeps in wait() while the
program runs instead of competing with it for one of the two cores.
"""
import os
import signal
import subprocess
import sys
import tempfile

TIME = "/usr/bin/time"


class MeasureError(RuntimeError):
    """The run failed (crash, hang, bad exit): recorded, the others go on."""


class NotLoadedError(MeasureError):
    """The allocator under test was not the one in use: nothing measured is
    meaningful, so the drivers stop."""


def kill_group(proc):
    """Ends the run's whole process group (time, env's exec, the program)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def require_time():
    if not os.path.exists(TIME):
        sys.exit(f"{TIME} is missing: install it with `apt-get install -y time`")


def clean_env(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "BENCH_EXPECT_LIB")}
    env.update(extra)
    return env


def preload_argv(allocator, argv: list) -> list:
    """argv prefixed with `env VAR=...` so that only the last exec gets the preload."""
    return ["env"] + [f"{k}={v}" for k, v in allocator.env().items()] + list(argv)


def parse_output(text: str) -> dict:
    """RESULT key=value lines into a dict (numbers as int or float)."""
    results = {}
    for line in text.splitlines():
        if not line.startswith("RESULT "):
            continue
        key, _, value = line[len("RESULT "):].partition("=")
        try:
            results[key] = int(value)
        except ValueError:
            try:
                results[key] = float(value)
            except ValueError:
                results[key] = value
    return results


def check_mapped(allocator, results: dict, where: str):
    """The program says which allocator libraries it has mapped; glibc runs
    must have none (a stray LD_PRELOAD in the environment would show here)."""
    mapped = results.get("mapped_allocators")
    if allocator.library is None and mapped not in ("none", None):
        raise NotLoadedError(f"{where}: glibc run has {mapped} mapped")
    if allocator.library is not None and (mapped is None or mapped == "none"):
        raise NotLoadedError(f"{where}: {allocator.name} is not mapped")


def run_measured(allocator, argv: list, where: str, timeout: float) -> dict:
    with tempfile.TemporaryDirectory(prefix="crowd-bench-") as tmp:
        out_path, err_path, time_path = (os.path.join(tmp, n) for n in ("out", "err", "time"))
        cmd = [TIME, "-o", time_path, "-f", "%e %M %R %F %U %S"] + preload_argv(allocator, argv)
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=clean_env({}),
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(proc)
                raise MeasureError(f"{where}: no exit after {timeout:.0f} s (hang?), killed")
        with open(out_path) as f:
            stdout = f.read()
        with open(err_path) as f:
            stderr = f.read()
        with open(time_path) as f:
            time_line = f.read().strip().splitlines()[-1]
    if rc == 3 and "is not mapped" in stderr:
        raise NotLoadedError(f"{where}: {stderr.strip()}")
    if rc != 0:
        raise MeasureError(f"{where}: exit status {rc}\n{stderr.strip()}")
    results = parse_output(stdout)
    check_mapped(allocator, results, where)
    elapsed, maxrss_kb, minflt, majflt, user_s, sys_s = time_line.split()
    results.update(process_wall_s=float(elapsed), peak_rss_kb=int(maxrss_kb),
                   minor_faults=int(minflt), major_faults=int(majflt),
                   process_cpu_s=round(float(user_s) + float(sys_s), 3))
    return results
