"""tool.errors: the tool's failures are clear, and its exit status says
whose failure it was.
  - a program that does not exist, or is not executable: exit 2, "cannot start";
  - --compare nosuchalloc: exit 2, the message names every valid allocator;
  - an allocator in --compare that is not installed: exit 2 and the Debian
    package (the tool loaded as a module, its library directories pointed
    at an empty one);
  - CROWD_LIB naming no file, and no libcrowd.so anywhere: exit 2, how to
    build it and CROWD_LIB;
  - matplotlib missing (a stand-in package that fails to import): exit 2,
    apt-get install python3-matplotlib, and the program never ran;
  - the program exiting 3, or killed by SIGTERM: the status is reported and
    becomes the tool's (3, 143);
  - crowd map: a program killed before exit (no map), a --from file that
    is not a map, a --from file that does not exist: exit 2 and why; a map
    whose counters disagree: still summarized and drawn (exit 0), each
    disagreement warned about."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

from helpers import TOOL, check, crowd_lib, run_tool

VALID = ["glibc", "jemalloc", "tcmalloc", "mimalloc"]


def expect(args, status, *texts, env=None, stream="err"):
    code, out, err = run_tool(args, env=env)
    check(code == status, f"crowd {' '.join(args)}: exit status {code}, expected {status}")
    text = err if stream == "err" else out
    for t in texts:
        check(t in text, f"crowd {' '.join(args)}: {t!r} not in its message:\n{text}")
    return out, err


def in_module(code, env=None):
    """Runs code with the tool loaded as module `crowd`; returns (status, stderr)."""
    prelude = ("import importlib.machinery, importlib.util, sys\n"
               f"loader = importlib.machinery.SourceFileLoader('crowd', {TOOL!r})\n"
               "spec = importlib.util.spec_from_loader('crowd', loader)\n"
               "crowd = importlib.util.module_from_spec(spec); loader.exec_module(crowd)\n")
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=full_env)
    sys.stderr.write(proc.stderr)
    return proc.returncode, proc.stderr


def main():
    crowd_lib()
    work = tempfile.mkdtemp(prefix="crowd-tool-errors-")

    # Programs that cannot be started, for both commands.
    expect(["run", "--", "/nonexistent/program"], 2, "cannot start /nonexistent/program")
    expect(["run", "--", "no-such-program-crowd-test"], 2, "cannot start no-such-program-crowd-test", "PATH")
    expect(["map", "--out", os.path.join(work, "m.png"), "--", "/nonexistent/program"], 2, "cannot start")
    plain = os.path.join(work, "not-executable")
    open(plain, "w").close()
    expect(["run", "--", plain], 2, "cannot start", "permission denied")
    expect(["run"], 2, "name a program")

    # Allocators.
    out, err = expect(["run", "--compare", "nosuchalloc", "--", "true"], 2, "nosuchalloc", *VALID)
    code, err = in_module("crowd.multiarch_dirs = lambda: [%r]\ncrowd.parse_compare('glibc,jemalloc')" % work)
    check(code == 2 and "jemalloc" in err and "apt-get install libjemalloc2" in err,
          f"missing jemalloc: status {code}, message {err!r}")
    code, err = in_module("crowd.multiarch_dirs = lambda: [%r]\ncrowd.allocator_library('mimalloc')" % work)
    check(code == 2 and "apt-get install libmimalloc2.0" in err, f"missing mimalloc: status {code}")

    # The library.
    expect(["run", "--", "true"], 2, "CROWD_LIB=/nonexistent/libcrowd.so", "make build",
           env={"CROWD_LIB": "/nonexistent/libcrowd.so"})
    code, err = in_module("crowd.crowd_library_candidates = lambda: []\ncrowd.find_crowd_library()",
                          env={"CROWD_LIB": ""})
    check(code == 2 and "libcrowd.so not found" in err and "make build" in err and "CROWD_LIB" in err,
          f"no library anywhere: status {code}, message {err!r}")

    # matplotlib missing: checked before the program runs.
    fake = os.path.join(work, "fake", "matplotlib")
    os.makedirs(fake)
    with open(os.path.join(fake, "__init__.py"), "w") as f:
        f.write("raise ImportError('no matplotlib here (crowd test)')\n")
    hide = {"PYTHONPATH": os.path.dirname(fake)}
    out, _ = expect(["run", "--plot", os.path.join(work, "p.png"), "--", "sh", "-c", "echo PROGRAM-RAN"], 2,
                    "apt-get install python3-matplotlib", env=hide)
    check("PROGRAM-RAN" not in out, "the program ran although nothing could be drawn")
    expect(["map", "--out", os.path.join(work, "m.png"), "--", "true"], 2, "apt-get install python3-matplotlib",
           env=hide)

    # The program's own failures are reported and passed on.
    expect(["run", "--", "sh", "-c", "exit 3"], 3, "exited with status 3")
    expect(["run", "--", "sh", "-c", "kill -TERM $$"], 143, "killed by SIGTERM")
    expect(["map", "--json", os.path.join(work, "k.json"), "--", "sh", "-c", "kill -KILL $$"], 2,
           "killed by SIGKILL", "no heap map was written")

    # Maps that are not maps.
    bad = os.path.join(work, "bad.json")
    with open(bad, "w") as f:
        f.write('{"areas": [')
    expect(["map", "--from", bad], 2, "not valid JSON")
    with open(bad, "w") as f:
        f.write('{"something": "else"}')
    expect(["map", "--from", bad], 2, "not a crowd heap map")
    expect(["map", "--from", os.path.join(work, "none.json")], 2, "cannot read the heap map")
    # A map whose counters disagree is drawn, with a warning per problem.
    slots = [{"slot": 1, "span": 2, "state": "full", "block_size": 1024, "used": 128, "capacity": 128,
              "remote_pending": 0, "resident_subpages": 31, "resident": "1" * 32}]
    slots += [{"slot": s, "span": 1, "state": "free", "released": True, "resident_subpages": 0,
               "resident": "0" * 16} for s in range(3, 63)]
    heap = {"crowd_map": 1, "version": "test", "pid": 1, "area_size": 4194304, "os_page": 4096,
            "live_bytes": 128 * 1024 + 1, "huge_live_bytes": 0,
            "areas": [{"address": "0x7f0000000000", "slot_size": 65536, "slots": slots}]}
    with open(bad, "w") as f:
        json.dump(heap, f)
    try:
        import matplotlib  # noqa: F401
        draw = ["--out", os.path.join(work, "odd.png")]
    except ImportError:
        draw = []
    expect(["map", "--from", bad] + draw, 0, "inconsistent heap map: live_bytes 131073", "resident_subpages 31",
           "slots [63] are in no listed page")
    check(not draw or os.path.getsize(draw[1]) > 0, "the odd map was not drawn")
    expect(["map", "--from", bad, "--", "true"], 2, "either --from")
    shutil.rmtree(work)
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
