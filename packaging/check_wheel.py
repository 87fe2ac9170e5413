"""The wheel and sdist are complete and valid, and the wheel runs from a fresh venv.

    python packaging/check_wheel.py [--keep-venv]

Needs the ``release`` extra (``pip install -c constraints.txt -e ".[release]"``). Steps:

1. ``python -m build --no-isolation`` → ``dist/digitscope-<version>.tar.gz`` and the wheel built
   from that sdist (so a file the sdist forgets breaks the wheel too), with the pinned setuptools;
2. ``twine check --strict`` on both;
3. every module of the checkout's package folders and every asset is in the wheel, and the
   sdist holds them too, with the tests;
4. a fresh venv (``build/wheel-venv``), the wheel installed into it with ``constraints.txt``,
   and its ``digitscope --self-test`` run from outside the checkout.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
VENV = ROOT / "build" / "wheel-venv"


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def expected_files() -> set[str]:
    """Paths (inside the installed ``digitscope`` package) that must ship: every module and asset."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    want = set()
    for package, folder in cfg["package-dir"].items():
        base = ROOT / folder
        prefix = Path(*package.split("."))
        for py in base.rglob("*.py"):
            rel = py.relative_to(base)
            if "__pycache__" not in rel.parts and ".".join([package, *rel.parent.parts]) in cfg["packages"]:
                want.add(str(prefix / rel))
    for pattern in cfg["package-data"]["digitscope.assets"]:
        want |= {f"digitscope/assets/{p.name}" for p in (ROOT / "assets").glob(pattern)}
    return want


def build() -> tuple[Path, Path]:
    before = set(DIST.glob("digitscope-*")) if DIST.exists() else set()
    for old in before:
        old.unlink()
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(DIST), str(ROOT)])
    wheel = next(DIST.glob("digitscope-*.whl"))
    sdist = next(DIST.glob("digitscope-*.tar.gz"))
    return wheel, sdist


def check_contents(wheel: Path, sdist: Path) -> list[str]:
    problems = []
    want = expected_files()
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    problems += [f"wheel lacks {name}" for name in sorted(want - in_wheel)]
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    sources = {str(p.relative_to(ROOT)) for folder in ("model", "app", "src", "assets", "tests") for p in (ROOT / folder).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix in (".py", ".keras", ".json", ".png", ".ico")}
    sources |= {"pyproject.toml", "README.md", "constraints.txt"}
    problems += [f"sdist lacks {name}" for name in sorted(sources - names)]
    print(f"wheel: {len(in_wheel)} files, all {len(want)} modules and assets; sdist: {len(names)} files", flush=True)
    return problems


def self_test_in_fresh_venv(wheel: Path, keep: bool) -> int:
    shutil.rmtree(VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", str(VENV)])
    try:
        run([str(VENV / "bin" / "pip"), "install", "-q", "-c", str(ROOT / "constraints.txt"), str(wheel)])
        with tempfile.TemporaryDirectory() as elsewhere:  # not the checkout: nothing imported from it
            print(f"+ {VENV / 'bin' / 'digitscope'} --self-test  (in {elsewhere})", flush=True)
            return subprocess.run([str(VENV / "bin" / "digitscope"), "--self-test"], cwd=elsewhere).returncode
    finally:
        if not keep:
            shutil.rmtree(VENV, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep-venv", action="store_true", help=f"keep {VENV.relative_to(ROOT)} afterwards")
    args = ap.parse_args()
    wheel, sdist = build()
    run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)])
    problems = check_contents(wheel, sdist)
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    status = self_test_in_fresh_venv(wheel, args.keep_venv)
    ok = not problems and status == 0
    print(f"wheel and sdist: {'passed' if ok else 'FAILED'} ({wheel.name} {wheel.stat().st_size / 1e6:.1f} MB, "
          f"{sdist.name} {sdist.stat().st_size / 1e6:.1f} MB)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
