"""bench/speed's workloads and how one run of each is made and checked.

The C programs (workloads/*.c) time their own fixed work (RESULT wall_s)
and prove the preload themselves (BENCH_EXPECT_LIB, see common/report.c).
The real programs — Debian's python3, gcc, sqlite3 — do neither: their time
is /usr/bin/time's elapsed time, and the preload is proven by
libbench_preload_check.so (common/preload_check.c), preloaded after the
allocator, which logs what every process of the program has mapped.

Every run goes through measure.run_measured (under /usr/bin/time, output
to files, the driver asleep in wait()).  What a run printed besides the
measurements (checksums, query results, the object file's digest) is its
"output"; it must be the same for every run under every allocator, or the
allocators did not do the same work.
"""
import hashlib
import os
import sys
import tempfile

from . import measure

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS_DIR = os.path.join(BENCH_DIR, "workloads")
# Separate from bench/run's bench/.build: the two commands may run (and
# rebuild) at the same time.
BUILD_DIR = os.path.join(BENCH_DIR, ".build-speed")
PYTHON = "/usr/bin/python3"  # Debian's, not a pyenv shim: the one users run
CHECK_LIB = "libbench_preload_check.so"

# Keys a program or /usr/bin/time reports that are measurements, not output.
MEASURED = {"wall_s", "mapped_allocators", "process_wall_s", "process_cpu_s", "peak_rss_kb", "minor_faults",
            "major_faults", "driver"}

# Work per run.  Full (5 runs): a default run takes 7-10 minutes on this
# 2-core VM, depending on its load; quick (3 runs): 2-3 minutes.  --scale multiplies either.
FULL = {
    "larson": 12_000_000,         # operations per thread
    "xmalloc": 6_000_000,         # blocks per producer
    "mstress": (100, 12_000),     # rounds, replacements per thread and round
    "cache": (1000, 20_000),      # objects per thread, writes of the whole object per object
    "small": 10_000_000,          # allocations
    "realloc": 12_000_000,        # appends and pushes
    "large": 400,                 # blocks
    "python": 1.0,                # pyspeed.py scale
    "gcc": 36,                    # functions in the generated file
    "sqlite": 180_000,            # orders
}
QUICK = {
    "larson": 5_000_000, "xmalloc": 2_500_000, "mstress": (40, 12_000), "cache": (1000, 8_000),
    "small": 4_000_000, "realloc": 5_000_000, "large": 160,
    "python": 0.4, "gcc": 14, "sqlite": 70_000,
}


def scaled(value, scale):
    if isinstance(value, tuple):  # (rounds or iterations, inner work): scale the outer
        return (max(1, round(value[0] * scale)),) + value[1:]
    if isinstance(value, float):
        return value * scale
    return max(1, round(value * scale))


def workloads(programs: str, threads: list, quick: bool, scale: float) -> dict:
    """Every row of the speed table, in order: name -> definition."""
    p = {k: scaled(v, scale) for k, v in (QUICK if quick else FULL).items()}
    prog = lambda name: os.path.join(programs, name)  # noqa: E731
    w = {}
    for t in threads:
        w[f"larson-t{t}"] = {
            "group": "a", "threads": t, "argv": [prog("larson"), str(t), str(p["larson"])],
            "about": f"{t} thread(s) x {p['larson']:,} random frees+mallocs of 16-1000 B over "
                     f"1000 slots; slot arrays pass to the next thread every round"}
    for t in threads:
        if t > 1 and t % 2:
            continue  # producer/consumer pairs
        w[f"xmalloc-t{t}"] = {
            "group": "b", "threads": t, "argv": [prog("xmalloc"), str(t), str(p["xmalloc"])],
            "about": (f"{max(1, t // 2)} producer(s) -> {max(1, t // 2)} consumer(s), {p['xmalloc']:,} blocks "
                      f"of 16-512 B each, batches of 256" if t > 1 else
                      f"one thread allocates {p['xmalloc']:,} blocks in batches of 256 and frees them")}
    rounds, ops = p["mstress"]
    for t in threads:
        w[f"mstress-t{t}"] = {
            "group": "c", "threads": t, "argv": [prog("mstress"), str(t), str(rounds), str(ops)],
            "about": f"{rounds} rounds of {t} new thread(s) x {ops:,} replacements; 1/4 of each "
                     f"thread's blocks outlive it, freed by a later thread"}
    iters, reps = p["cache"]
    for mode in ("thrash", "scratch"):
        for t in threads:
            w[f"cache-{mode}-t{t}"] = {
                "group": "d", "threads": t,
                "argv": [prog("cache"), mode, str(t), str(iters), str(reps)],
                "about": (f"{t} thread(s) x {iters} objects of 8 B, each written {reps:,} times; " +
                          ("each thread allocates its own" if mode == "thrash" else
                           "the first one allocated by main, freed by the worker"))}
    w["small"] = {"group": "e", "threads": 1, "argv": [prog("small"), str(p["small"])],
                  "about": f"{p['small']:,} objects, mostly 16-128 B, 86% short-lived, 2% long"}
    w["realloc"] = {"group": "f", "threads": 1, "argv": [prog("realloc"), str(p["realloc"])],
                    "about": f"{p['realloc']:,} appends to 512 strings (realloc each time) and "
                             f"pushes to 16 doubling arrays"}
    w["large"] = {"group": "g", "threads": 1, "argv": [prog("large"), str(p["large"])],
                  "about": f"{p['large']} blocks of 64 KiB-32 MiB (4 live), each memset and freed"}
    w["python"] = {
        "group": "h", "threads": 1, "real": True, "expect": ["python3"],
        "argv": [PYTHON, os.path.join(WORKLOADS_DIR, "pyspeed.py"), f"{p['python']:g}"],
        "env": {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"},
        "about": "Debian python3, PYTHONMALLOC=malloc: word counts, records, graph, strings"}
    source = os.path.join(programs, "gen", f"big-{p['gcc']}.c")
    w["gcc"] = {
        "group": "h", "threads": 1, "real": True, "expect": ["gcc", "cc1", "as"],
        "argv": ["gcc", "-O2", "-c", source, "-o", os.path.join(programs, "gen", "big.o")],
        "output_file": os.path.join(programs, "gen", "big.o"),
        "generate": (source, p["gcc"]),
        "env": {"LC_ALL": "C"},
        "about": f"gcc -O2 -c of a generated C file ({p['gcc']} big functions); same .o from all"}
    w["sqlite"] = {
        "group": "h", "threads": 1, "real": True, "expect": ["sqlite3"],
        "argv": ["sqlite3", ":memory:", f".parameter set @orders {p['sqlite']}",
                 ".read " + os.path.join(WORKLOADS_DIR, "sqlspeed.sql")],
        "about": f"sqlite3 in-memory: bulk load of {p['sqlite']:,} orders, indexes, joins, "
                 f"updates, deletes, sorts"}
    return w


def select(everything: dict, spec: str) -> dict:
    """--workloads: row names (larson-t2), families (larson, cache-thrash,
    cache) or group letters (a..h), comma-separated."""
    if not spec:
        return dict(everything)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    chosen = {}
    for name, w in everything.items():
        for s in wanted:
            if name == s or name.startswith(s + "-") or w["group"] == s:
                chosen[name] = w
    unknown = [s for s in wanted if not any(n == s or n.startswith(s + "-") or w["group"] == s
                                            for n, w in everything.items())
               and s not in ("pair",)]
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(everything)}, pair")
    return chosen


def prepare(w: dict):
    """Writes the generated C file of the gcc workload once (deterministic)."""
    if "generate" in w:
        path, functions = w["generate"]
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            import subprocess
            subprocess.run([PYTHON, os.path.join(WORKLOADS_DIR, "gen_c.py"), path + ".tmp",
                            str(functions)], check=True)
            os.replace(path + ".tmp", path)


class Checked:
    """An allocator as measure.run_measured sees it, plus the preload check
    library and the workload's own environment variables.  glibc runs get
    only the check library (a few KiB, no malloc of its own)."""

    def __init__(self, allocator, check_lib: str, log_path: str, extra_env: dict):
        self.allocator = allocator
        self.name = allocator.name
        # None: measure.check_mapped looks for the RESULT line our own C
        # programs print, which these programs do not; check_log() is
        # their proof instead.
        self.library = None
        self.mapped_name = allocator.mapped_name
        self.check_lib, self.log_path, self.extra_env = check_lib, log_path, extra_env

    def env(self) -> dict:
        e = dict(self.allocator.env())
        lib = self.allocator.library
        e["LD_PRELOAD"] = " ".join(([lib] if lib else []) + [self.check_lib])
        e["BENCH_CHECK_LOG"] = self.log_path
        e.update(self.extra_env)
        return e


class Plain:
    """An allocator with extra environment variables for a C workload."""

    def __init__(self, allocator, extra_env: dict):
        self.allocator, self.extra_env = allocator, extra_env
        self.name, self.library, self.mapped_name = allocator.name, allocator.library, allocator.mapped_name

    def env(self) -> dict:
        return {**self.allocator.env(), **self.extra_env}


def check_log(log_path: str, w: dict, allocator, where: str) -> list:
    """Reads the preload check log; raises NotLoadedError unless every
    process was on the right allocator and the program's own ran."""
    try:
        with open(log_path) as f:
            lines = [line.split() for line in f.read().splitlines() if line.strip()]
    except OSError:
        lines = []
    if not lines:
        raise measure.NotLoadedError(
            f"{where}: the preload check library did not run (no {log_path}); the preload "
            f"itself cannot have worked")
    bad = [" ".join(x) for x in lines if x[0] != "ok"]
    if bad:
        raise measure.NotLoadedError(f"{where}: wrong allocator mapped: {'; '.join(bad)}")
    seen = {x[2] for x in lines}
    missing = [p for p in w.get("expect", []) if p not in seen]
    if missing:
        raise measure.NotLoadedError(f"{where}: no check from {missing} (saw {sorted(seen)})")
    return sorted(seen)


def run_one(w: dict, allocator, where: str, timeout: float, check_lib: str) -> dict:
    """One measured run: the numbers, plus "output" (what must match)."""
    if not w.get("real"):
        r = measure.run_measured(Plain(allocator, w.get("env", {})), w["argv"], where, timeout)
        r["time_s"] = r["wall_s"]
    else:
        with tempfile.TemporaryDirectory(prefix="crowd-speed-") as tmp:
            log = os.path.join(tmp, "check.log")
            out_file = w.get("output_file")
            if out_file and os.path.exists(out_file):
                os.unlink(out_file)
            try:
                r = measure.run_measured(Checked(allocator, check_lib, log, w.get("env", {})),
                                         w["argv"], where, timeout)
            except measure.MeasureError:
                check_log(log, w, allocator, where)  # a missing preload explains the failure
                raise
            r["checked_processes"] = check_log(log, w, allocator, where)
            if out_file:
                with open(out_file, "rb") as f:
                    r["output_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
                os.unlink(out_file)
        r["time_s"] = r["process_wall_s"]
    r["output"] = {k: v for k, v in r.items()
                   if k not in MEASURED and k not in ("time_s", "checked_processes", "output")}
    return r
