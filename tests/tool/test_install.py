"""tool.install: the installed tool finds its library without help.
`cmake --install BUILD --prefix TMP`, then TMP/bin/crowd, run from another
directory with CROWD_LIB unset, must use TMP's libcrowd.so (../lib,
../lib/<multiarch> or ../lib64 from bin/crowd), also through a symlink to
it, and a `crowd run` with it works and reports that library.
Usage: test_install.py CMAKE BUILD_DIR"""
import os
import shutil
import subprocess
import sys
import tempfile

from helpers import check, skip


def main():
    cmake, build = sys.argv[1], sys.argv[2]
    prefix = tempfile.mkdtemp(prefix="crowd-tool-install-")
    proc = subprocess.run([cmake, "--install", build, "--prefix", prefix], capture_output=True, text=True)
    sys.stderr.write(proc.stdout + proc.stderr)
    check(proc.returncode == 0, f"cmake --install exited with {proc.returncode}")
    tool = os.path.join(prefix, "bin", "crowd")
    if not os.path.isfile(tool):
        skip("the install has no bin/crowd")
    check(os.access(tool, os.X_OK), f"{tool} is not executable")
    env = {k: v for k, v in os.environ.items() if k != "CROWD_LIB"}
    link_dir = tempfile.mkdtemp(prefix="crowd-tool-link-")
    link = os.path.join(link_dir, "crowd")
    os.symlink(tool, link)
    for program in (tool, link):
        proc = subprocess.run([program, "lib"], capture_output=True, text=True, env=env, cwd="/")
        sys.stderr.write(proc.stderr)
        check(proc.returncode == 0, f"{program} lib exited with {proc.returncode}")
        found = proc.stdout.strip()
        check(found.startswith(os.path.realpath(prefix) + os.sep), f"{program} lib found {found}, not the one in {prefix}")
    proc = subprocess.run([tool, "run", "--", "sh", "-c", "grep -c libcrowd /proc/$$/maps"], capture_output=True,
                          text=True, env=env, cwd="/")
    sys.stderr.write(proc.stdout + proc.stderr)
    check(proc.returncode == 0, f"the installed crowd run exited with {proc.returncode}")
    check(proc.stdout.split()[0] != "0", "the program under the installed tool did not have libcrowd mapped")
    shutil.rmtree(prefix)
    shutil.rmtree(link_dir)
    print(f"installed tool uses {found}: ok", file=sys.stderr)


if __name__ == "__main__":
    main()
