"""Facts about the machine that change memory numbers; stored with every result."""
import os
import platform
import subprocess
import time


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def git_commit(repo_dir: str) -> str:
    try:
        out = subprocess.run(["git", "-C", repo_dir, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", repo_dir, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty-src" if dirty else "")
    except OSError:
        return "unknown"


# Environment variables that change an allocator's policy; results are only
# comparable when these match, so they are recorded (empty: all defaults).
POLICY_PREFIXES = ("MALLOC_", "GLIBC_TUNABLES", "MIMALLOC_", "TCMALLOC_", "JEMALLOC_", "CROWD_")


def allocator_policy_env() -> dict:
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith(POLICY_PREFIXES)}


def collect(repo_dir: str) -> dict:
    thp = "/sys/kernel/mm/transparent_hugepage"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "kernel": platform.release(),
        "cpus": os.cpu_count(),
        "thp_enabled": _read(f"{thp}/enabled"),
        "thp_defrag": _read(f"{thp}/defrag"),
        "khugepaged_max_ptes_none": _read(f"{thp}/khugepaged/max_ptes_none"),
        "commit": git_commit(repo_dir),
        "allocator_env": allocator_policy_env(),
    }


def header_lines(info: dict) -> list:
    return [
        f"date {info['date']}  kernel {info['kernel']}  cpus {info['cpus']}  commit {info['commit']}",
        f"THP enabled: {info['thp_enabled']}  defrag: {info['thp_defrag']}  "
        f"khugepaged max_ptes_none: {info['khugepaged_max_ptes_none']}",
        "allocator options: " + (" ".join(f"{k}={v}" for k, v in info["allocator_env"].items())
                                 or "defaults (no MALLOC_*/MIMALLOC_*/TCMALLOC_*/CROWD_* variables set)"),
    ]
