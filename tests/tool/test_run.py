"""tool.run: `crowd run --compare glibc --json J --plot P` on a real program.

The program (workload.py under Debian's python3 with PYTHONMALLOC=malloc)
reports its own VmRSS at known moments, with the CLOCK_MONOTONIC time, and
its VmHWM at the end.  Checked:
  - exit status 0, the JSON parses, one result per allocator (crowd, glibc),
    crowd's result names the library under test, glibc's none;
  - each result: peak_rss >= final_rss > 0, samples in time order;
  - the samples taken while the program holds its data agree (median,
    within 20%) with the VmRSS it printed; the final RSS with its last VmRSS;
  - peak_rss is within [0.8, 1.1] x the program's own VmHWM, and so is the
    kernel high-water mark the tool recorded;
  - the PNG is a PNG (signature, decodes, 1100 x 550) and the plot had one
    line per allocator, with every sample (the tool records what it drew).
Usage: test_run.py PYTHON"""
import json
import os
import shutil
import statistics
import sys
import tempfile

from helpers import HERE, check, check_png, crowd_lib, fail, need_matplotlib, run_tool, skip

HOLD = 0.8


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else "/usr/bin/python3"
    if not os.access(python, os.X_OK):
        skip(f"{python} is not there")
    need_matplotlib()
    lib = crowd_lib()
    work = tempfile.mkdtemp(prefix="crowd-tool-run-")
    json_path, png_path = os.path.join(work, "run.json"), os.path.join(work, "run.png")
    status, out, err = run_tool(["run", "--compare", "glibc", "--json", json_path, "--plot", png_path, "--",
                                 "/usr/bin/env", "PYTHONMALLOC=malloc", python,
                                 os.path.join(HERE, "workload.py"), str(HOLD)])
    sys.stderr.write(out)
    check(status == 0, f"crowd run exited with {status}")

    with open(json_path) as f:
        report = json.load(f)
    results = report["results"]
    check([r["allocator"] for r in results] == ["crowd", "glibc"],
          f"results for {[r['allocator'] for r in results]}, expected crowd, glibc")
    check(results[0]["library"] == os.path.realpath(lib), f"crowd ran with {results[0]['library']}, not {lib}")
    check(results[1]["library"] is None, "glibc ran with a preload")

    marks = []
    for line in out.splitlines():
        if line.startswith("MARK "):
            fields = line.split()
            values = dict(kv.split("=") for kv in fields[2:])
            marks.append((fields[1], float(values["t"]), int(values["vmrss"]), int(values["vmhwm"])))
    check(len(marks) == 6, f"expected 6 MARK lines from the program, got {len(marks)}")

    for r in results:
        name, samples = r["allocator"], r["samples"]
        check(r["exit_status"] == 0, f"{name}: the program exited with {r['exit_status']}")
        check(r["peak_rss"] >= r["final_rss"] > 0, f"{name}: peak_rss {r['peak_rss']}, final_rss {r['final_rss']}")
        check(len(samples) >= 20, f"{name}: only {len(samples)} samples")
        check(all(a["t"] < b["t"] for a, b in zip(samples, samples[1:])), f"{name}: samples out of order")
        check(r["peak_rss"] == max(s["rss"] for s in samples), f"{name}: peak_rss is not the largest sample")
        start, end = r["start_monotonic"], r["start_monotonic"] + r["wall_s"]
        mine = {m[0]: m for m in marks if start <= m[1] <= end}
        check(set(mine) == {"built", "dropped", "end"}, f"{name}: marks in its run: {sorted(mine)}")

        _, t_built, rss_built, _ = mine["built"]
        held = [s["rss"] for s in samples if t_built + 0.15 <= start + s["t"] <= t_built + HOLD - 0.15]
        check(len(held) >= 3, f"{name}: {len(held)} samples while the data was held")
        median = statistics.median(held)
        print(f"{name}: program's VmRSS {rss_built >> 10} KiB, median of {len(held)} samples {int(median) >> 10} KiB",
              file=sys.stderr)
        check(abs(median - rss_built) <= 0.2 * rss_built,
              f"{name}: samples while held ({int(median)}) differ by more than 20% from the program's VmRSS "
              f"({rss_built})")
        _, _, rss_end, hwm_end = mine["end"]
        check(abs(r["final_rss"] - rss_end) <= 0.2 * rss_end,
              f"{name}: final_rss {r['final_rss']} vs the program's last VmRSS {rss_end}")
        check(0.8 * hwm_end <= r["peak_rss"] <= 1.1 * hwm_end + (1 << 20),
              f"{name}: peak_rss {r['peak_rss']} vs the program's VmHWM {hwm_end}")
        check(0.8 * hwm_end <= r["kernel_peak_rss"] <= 1.2 * hwm_end,
              f"{name}: kernel_peak_rss {r['kernel_peak_rss']} vs the program's VmHWM {hwm_end}")

    plot = report["plot"]
    check(plot and os.path.samefile(plot["file"], png_path), f"plot record {plot}")
    check([l["allocator"] for l in plot["lines"]] == ["crowd", "glibc"],
          f"plotted lines {[l['allocator'] for l in plot['lines']]}, expected one per allocator")
    for line, r in zip(plot["lines"], results):
        check(line["points"] == len(r["samples"]), f"{r['allocator']}: {line['points']} points plotted, "
              f"{len(r['samples'])} samples")
    check_png(png_path, width=1100, height=550)
    for name in ("crowd", "glibc"):
        check(any(l.startswith(name + " ") for l in out.splitlines()), f"no table line for {name}")
    shutil.rmtree(work)
    print("ok", file=sys.stderr)


if __name__ == "__main__":
    main()
