"""Which allocators to compare and how to load each one.

Peers come from Debian packages and are found through `dpkg -L`, falling back
to the multiarch library directory, so nothing here names this machine's
paths.  Each allocator carries the file name its library has once symlinks
are resolved: that is the name /proc/PID/maps shows, and what the bench
programs (or the footprint driver) look for to prove the preload worked.
"""
import os
import subprocess
from dataclasses import dataclass
from typing import Optional

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_CROWD = os.path.join(REPO_DIR, "build", "libcrowd.so")

# name, Debian package, soname; glibc needs no preload.
PEERS = [
    ("jemalloc", "libjemalloc2", "libjemalloc.so.2"),
    ("tcmalloc", "libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
    ("mimalloc", "libmimalloc2.0", "libmimalloc.so.2"),
]
ORDER = ["glibc", "jemalloc", "tcmalloc", "mimalloc", "crowd", "crowd-base"]


@dataclass
class Allocator:
    name: str
    library: Optional[str]  # path for LD_PRELOAD; None for glibc

    @property
    def mapped_name(self) -> Optional[str]:
        """File name of the library as /proc/PID/maps shows it."""
        return os.path.basename(os.path.realpath(self.library)) if self.library else None

    def describe(self) -> str:
        """Path, and for a library built here its build time: the crowd under
        test changes from one build to the next."""
        if not self.library:
            return "(no preload)"
        if not self.name.startswith("crowd"):
            return self.library
        import time
        built = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(os.path.realpath(self.library))))
        return f"{self.library} (built {built})"

    def env(self) -> dict:
        """Variables that load this allocator into a bench program."""
        if not self.library:
            return {}
        return {"LD_PRELOAD": self.library, "BENCH_EXPECT_LIB": self.mapped_name}


def multiarch() -> str:
    for cmd in (["gcc", "-print-multiarch"], ["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.CalledProcessError):
            pass
    return ""


def find_peer_library(package: str, soname: str) -> Optional[str]:
    try:
        files = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True).stdout.split()
    except OSError:
        files = []
    for path in files:
        if os.path.basename(path) == soname and os.path.exists(path):
            return path
    guess = os.path.join("/usr/lib", multiarch(), soname)
    return guess if os.path.exists(guess) else None


def discover(crowd_path: Optional[str], wanted=None, log=print, baseline_path: Optional[str] = None) -> list:
    """Allocators that can run, in the interleaving order; says why others can't.
    baseline_path adds a second crowd build, "crowd-base", run interleaved
    with the others: before/after figures from one run."""
    found = {"glibc": Allocator("glibc", None)}
    for name, package, soname in PEERS:
        path = find_peer_library(package, soname)
        if path:
            found[name] = Allocator(name, path)
        else:
            log(f"skipping {name}: {soname} not found; install it with "
                f"`apt-get install -y {package}`")
    crowd = os.path.abspath(crowd_path or DEFAULT_CROWD)
    if os.path.exists(crowd):
        found["crowd"] = Allocator("crowd", crowd)
    else:
        log(f"skipping crowd: {crowd} does not exist; build it from the repository root with\n"
            f"    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j2\n"
            f"  or pass --crowd PATH/TO/libcrowd.so")
    if baseline_path:
        if os.path.exists(baseline_path):
            found["crowd-base"] = Allocator("crowd-base", os.path.abspath(baseline_path))
        else:
            log(f"skipping crowd-base: {baseline_path} does not exist")
    chosen = [found[n] for n in ORDER
              if n in found and (not wanted or n in wanted or (n == "crowd-base" and baseline_path))]
    return chosen


def reference(allocators: list) -> Allocator:
    """Ratios are quoted against crowd when it runs, else against glibc."""
    for a in allocators:
        if a.name == "crowd":
            return a
    return allocators[0]
