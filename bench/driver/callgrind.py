"""Instruction counts with valgrind --tool=callgrind (perf stat does not work
on these VMs).  Unlike time, the count does not move with the machine's
load, so it shows small fast-path differences a noisy timing cannot.

Each program runs twice per allocator: with N operations and with 0.  The
0 run is the loader, the allocator's initialisation, the program's set-up
and exit; (Ir(N) - Ir(0)) / N is the cost of one operation.  The allocator
is preloaded into the program under valgrind (valgrind itself is static
and does not load it); the program's own BENCH_EXPECT_LIB check runs under
valgrind too.  Threads, such as crowd's release thread, are counted:
they are work the allocator does.  Runs are one at a time, the driver
waiting.
"""
import os
import shutil
import subprocess
import tempfile

from . import measure

VALGRIND = "valgrind"


def available() -> bool:
    return shutil.which(VALGRIND) is not None


def total_ir(path: str):
    with open(path) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    return None


def count(allocator, argv: list, where: str, timeout: float) -> dict:
    """Total Ir of one run under callgrind, and what the program printed."""
    with tempfile.TemporaryDirectory(prefix="crowd-callgrind-") as tmp:
        out_file = os.path.join(tmp, "callgrind.out")
        stdout, stderr = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        cmd = [VALGRIND, "--tool=callgrind", f"--callgrind-out-file={out_file}",
               "--dump-instr=no", "--compress-strings=no"] + list(argv)
        with open(stdout, "w") as out, open(stderr, "w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=measure.clean_env(allocator.env()),
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                measure.kill_group(proc)
                raise measure.MeasureError(f"{where}: callgrind run did not end in {timeout:.0f} s")
        with open(stdout) as f:
            text = f.read()
        with open(stderr) as f:
            err_text = f.read()
        if rc == 3 and "is not mapped" in err_text:
            why = [line for line in err_text.splitlines() if "is not mapped" in line]
            raise measure.NotLoadedError(f"{where}: {why[0]}")
        if rc != 0:
            raise measure.MeasureError(f"{where}: callgrind exit status {rc}\n{err_text.strip()[-2000:]}")
        results = measure.parse_output(text)
        measure.check_mapped(allocator, results, where)
        results["ir"] = total_ir(out_file)
        if results["ir"] is None:
            raise measure.MeasureError(f"{where}: no totals in callgrind output")
    return results


def per_op(allocator, program: str, n: int, where: str, timeout: float) -> dict:
    full = count(allocator, [program, str(n)], where + f" N={n}", timeout)
    base = count(allocator, [program, "0"], where + " N=0", timeout)
    ops = full.get("ops") or 0
    return {"n": n, "ops": ops, "ir": full["ir"], "ir_baseline": base["ir"],
            "ir_per_op": (full["ir"] - base["ir"]) / ops if ops else None,
            "checksum": full.get("checksum")}
