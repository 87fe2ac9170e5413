"""The .deb installs, runs and removes cleanly, as a Debian or Ubuntu user would do it.

    python packaging/check_deb.py dist/digitscope_<version>_<arch>.deb

Needs root and apt (else it says so and exits 0: nothing to check here). Installs the
package with ``apt-get install ./<deb>`` (its ``Depends:`` from the archive if missing; when
apt cannot reach its mirrors for them, it says so and exits 0),
runs ``digitscope --self-test`` from ``PATH`` as ``nobody`` with a fresh home, checks the
menu entry and icon are in place, then ``apt-get remove``s it and checks that not one of
the files the package installed is left. Exit status 0 when all of that passed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "digitscope"
#: apt's words when a dependency cannot be downloaded: the machine, not the package, is the problem.
_NO_NETWORK = re.compile(
    r"Temporary failure resolving|Could not resolve|Failed to fetch|Unable to fetch some archives|Network is unreachable"
)
EXPECTED = ["/usr/bin/digitscope", "/opt/digitscope/Digitscope", "/usr/share/applications/digitscope.desktop",
            "/usr/share/icons/hicolor/256x256/apps/digitscope.png"]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw)


def installed() -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], capture_output=True, text=True)
    return done.returncode == 0 and "installed" in done.stdout.split()


def package_paths(deb: Path) -> list[str]:
    """Every path the package installs (``dpkg-deb --contents``), folders included."""
    out = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        name = line.split(None, 5)[5].split(" -> ")[0]
        paths.append("/" + name.removeprefix("./").rstrip("/"))
    return [p for p in paths if p != "/"]


def self_test_as_nobody() -> int:
    home = Path(tempfile.mkdtemp(prefix="digitscope-home-"))
    try:
        shutil.chown(home, "nobody", "nogroup")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": os.environ.get("LANG", "C.UTF-8")}
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "digitscope", "--self-test"]
        return run(cmd, env=env, cwd=str(home)).returncode
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    deb = Path(sys.argv[1]).resolve()
    if not deb.is_file():
        if shutil.which("dpkg-deb") is None:
            print("check_deb: skipped, no .deb was built (dpkg-deb is not installed: not a Debian-like system)", flush=True)
            return 0
        print(f"check_deb: no such package: {deb}", file=sys.stderr)
        return 2
    if not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get")):
        print("check_deb: skipped, it needs root and apt-get to install the package", flush=True)
        return 0
    if installed():
        print(f"check_deb: {PACKAGE} is already installed here; remove it first (apt remove {PACKAGE})", file=sys.stderr)
        return 1
    paths = package_paths(deb)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    done = run(["apt-get", "install", "-y", "--no-install-recommends", str(deb)], env=env, capture_output=True, text=True)
    print(done.stdout + done.stderr, end="", flush=True)
    if done.returncode:
        if not installed() and _NO_NETWORK.search(done.stdout + done.stderr):
            print("check_deb: skipped, apt cannot download the package's dependencies here (no network to its mirrors)", flush=True)
            return 0
        print("check_deb: FAILED to install", file=sys.stderr)
        return 1
    status = 0
    try:
        missing = [p for p in EXPECTED if not os.path.lexists(p)]
        if missing:
            print(f"check_deb: FAIL, not installed: {missing}", file=sys.stderr)
            status = 1
        print(f"digitscope on PATH: {shutil.which('digitscope', path='/usr/bin')}", flush=True)
        status = self_test_as_nobody() or status
    finally:
        if run(["apt-get", "remove", "-y", PACKAGE], env=env).returncode:
            print("check_deb: FAILED to remove", file=sys.stderr)
            status = 1
    shared = {"/opt", "/usr", "/usr/bin", "/usr/share", "/usr/share/applications", "/usr/share/doc", "/usr/share/icons"}
    left = [p for p in paths if p not in shared and not p.startswith("/usr/share/icons/hicolor") and os.path.lexists(p)]
    left += [p for p in paths if p.startswith("/usr/share/icons/hicolor/256x256/apps/") and os.path.lexists(p)]
    if left or installed():
        print(f"check_deb: FAIL, left behind after remove: {left[:10]}", file=sys.stderr)
        status = 1
    else:
        print(f"removed: none of the package's {len(paths)} paths is left", flush=True)
    print("deb: install, self-test, remove: " + ("passed" if status == 0 else "FAILED"), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
