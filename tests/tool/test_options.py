"""crowd's options from the environment: every CROWD_* variable in the
table is accepted in its documented spellings, a bad value is warned about
(naming the variable and what it accepts) and the default kept, and
CROWD_VERBOSE shows that crowd is active with its version and options.

Runs /bin/true (and a small python3 program where something must be
allocated) under LD_PRELOAD=libcrowd.so."""
import json
import os
import subprocess
import sys
import tempfile

from helpers import check, crowd_lib

PYTHON = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/python3"
LIB = crowd_lib()


def run(env_extra, argv=("/bin/true",)):
    env = dict(os.environ, LD_PRELOAD=LIB, **env_extra)
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=60)


# CROWD_VERBOSE: active, version, and every option with its value.
proc = run({"CROWD_VERBOSE": "1", "CROWD_PURGE_DELAY": "250", "CROWD_PURGE": "free",
            "CROWD_HUGE_CACHE": "8M", "CROWD_RELEASE_THREAD": "off"})
check(proc.returncode == 0, f"/bin/true failed under crowd: {proc.stderr}")
err = proc.stderr
check("crowd 0." in err and "active" in err, f"CROWD_VERBOSE=1 does not say crowd is active: {err!r}")
for expected in ("CROWD_PURGE_DELAY=250 ms", "CROWD_PURGE=free", "CROWD_HUGE_CACHE=8388608",
                 "CROWD_RELEASE_THREAD=off", "CROWD_VERBOSE=on", "CROWD_STATS=off"):
    check(expected in err, f"CROWD_VERBOSE output lacks {expected!r}: {err!r}")

# Spellings: yes/no/on/off/1/0 and K/M/G, never.
for value, shown in (("yes", "on"), ("ON", "on"), ("0", "off"), ("no", "off")):
    proc = run({"CROWD_VERBOSE": "1", "CROWD_RELEASE_THREAD": value})
    check(f"CROWD_RELEASE_THREAD={shown}" in proc.stderr, f"CROWD_RELEASE_THREAD={value} not read as {shown}")
for value, shown in (("64k", "65536"), ("2G", "2147483648"), ("1024", "1024")):
    proc = run({"CROWD_VERBOSE": "1", "CROWD_HUGE_CACHE": value})
    check(f"CROWD_HUGE_CACHE={shown}" in proc.stderr, f"CROWD_HUGE_CACHE={value} not read as {shown}: {proc.stderr}")
proc = run({"CROWD_VERBOSE": "1", "CROWD_PURGE_DELAY": "never"})
check("CROWD_PURGE_DELAY=never" in proc.stderr, "CROWD_PURGE_DELAY=never not read")

# Bad values: a warning naming the variable and the accepted values, default kept.
for name, value, accepted, default in (("CROWD_PURGE_DELAY", "soon", "milliseconds", "500 ms"),
                                       ("CROWD_PURGE", "maybe", "dontneed or free", "dontneed"),
                                       ("CROWD_RELEASE_THREAD", "perhaps", "yes/no", "on"),
                                       ("CROWD_HUGE_CACHE", "12Q", "K, M or G", "1073741824"),
                                       ("CROWD_STATS", "xml", "json", "off")):
    proc = run({"CROWD_VERBOSE": "1", name: value})
    check(proc.returncode == 0, f"{name}={value}: the program failed")
    warning = [line for line in proc.stderr.splitlines() if "warning" in line and name in line]
    check(warning, f"{name}={value}: no warning naming the variable: {proc.stderr!r}")
    check(accepted in warning[0], f"{name}={value}: the warning does not say what is accepted: {warning[0]!r}")
    check(f"{name}={default}" in proc.stderr, f"{name}={value}: default {default} not kept: {proc.stderr!r}")

# CROWD_STATS=1: text statistics at exit; json: one parseable object.
proc = run({"CROWD_STATS": "1", "PYTHONMALLOC": "malloc"}, (PYTHON, "-c", "x = [str(i) for i in range(10000)]"))
check("crowd 0." in proc.stderr and "live:" in proc.stderr and "released:" in proc.stderr,
      f"CROWD_STATS=1 printed no statistics: {proc.stderr!r}")
proc = run({"CROWD_STATS": "json", "PYTHONMALLOC": "malloc"}, (PYTHON, "-c", "x = [str(i) for i in range(10000)]"))
line = [l for l in proc.stderr.splitlines() if l.startswith('{"crowd_stats"')]
check(line and json.loads(line[0])["live_blocks"] > 0, f"CROWD_STATS=json printed no statistics: {proc.stderr!r}")

# CROWD_MAP with %p: one map per process, named by its pid.
with tempfile.TemporaryDirectory() as tmp:
    proc = run({"CROWD_MAP": os.path.join(tmp, "map-%p.json"), "PYTHONMALLOC": "malloc"},
               (PYTHON, "-c", "import os, subprocess; print(os.getpid()); subprocess.run(['/bin/true'])"))
    check(proc.returncode == 0, f"python failed: {proc.stderr}")
    pid = proc.stdout.split()[0]
    names = sorted(os.listdir(tmp))
    check(f"map-{pid}.json" in names and len(names) >= 2, f"expected a map per process incl. map-{pid}.json, got {names}")
    with open(os.path.join(tmp, f"map-{pid}.json")) as f:
        check(json.load(f)["pid"] == int(pid), "the map's pid is not the file's")

print("ok: verbose, spellings, warnings, stats, map")
