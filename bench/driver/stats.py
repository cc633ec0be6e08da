"""Medians, and ratios taken within one round of the interleaving.

Ratios are computed run by run (allocator X in round i against the
reference in round i, which ran moments apart under the same machine
noise) and then their median is quoted, rather than a ratio of medians
from different moments."""
import math
import random
import statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def median_ratio(runs: list, ref_runs: list, key: str):
    ratios = [r[key] / q[key] for r, q in zip(runs, ref_runs)
              if r.get(key) is not None and q.get(key)]
    return median(ratios)


def paired_change(data: dict, key: str, after: str, before: str, resamples: int = 2000, seed: int = 1):
    """How much `after` changed `key` against `before` over the workloads:
    per workload the median over rounds of after/before within a round
    (the two ran moments apart), then the geometric mean over workloads,
    with a 90% interval from resampling each workload's rounds (a
    bootstrap: the rounds are the noisy part).  Returns (geomean, low,
    high, per-workload medians), or None without paired runs."""
    paired = {}
    for workload, runs in data.items():
        a, b = runs.get(after), runs.get(before)
        if not a or not b:
            continue
        ratios = [x[key] / y[key] for x, y in zip(a, b) if x.get(key) and y.get(key)]
        if ratios:
            paired[workload] = ratios
    if not paired:
        return None

    def geomean_of_medians(samples):
        logs = [math.log(statistics.median(s)) for s in samples]
        return math.exp(sum(logs) / len(logs))

    rng = random.Random(seed)
    estimates = sorted(
        geomean_of_medians([[rng.choice(r) for _ in r] for r in paired.values()]) for _ in range(resamples))
    low, high = estimates[int(0.05 * resamples)], estimates[int(0.95 * resamples) - 1]
    per_workload = {w: statistics.median(r) for w, r in paired.items()}
    return geomean_of_medians(paired.values()), low, high, per_workload
