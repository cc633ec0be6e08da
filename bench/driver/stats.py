"""Medians, and ratios taken within one round of the interleaving.

Ratios are computed run by run (allocator X in round i against the
reference in round i, which ran moments apart under the same machine
noise) and then their median is quoted, rather than a ratio of medians
from different moments."""
import statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def median_ratio(runs: list, ref_runs: list, key: str):
    ratios = [r[key] / q[key] for r, q in zip(runs, ref_runs)
              if r.get(key) is not None and q.get(key)]
    return median(ratios)
