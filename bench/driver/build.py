"""Builds the C bench programs with CMake into a directory of their own."""
import os
import subprocess
import sys

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_DIR = os.path.join(BENCH_DIR, ".build")


def build_programs(build_dir: str = BUILD_DIR) -> str:
    """Returns the directory holding the built programs; exits on failure."""
    steps = [
        ["cmake", "-S", BENCH_DIR, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release"],
        ["cmake", "--build", build_dir, "-j2"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            sys.stderr.write(done.stdout + done.stderr)
            sys.exit(f"building the bench programs failed: {' '.join(step)}")
    return build_dir
