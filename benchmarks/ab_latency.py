"""Live latency of this checkout against an earlier commit, interleaved, in one run.

    python benchmarks/ab_latency.py [--before HEAD] [--designs process,compare] [--pairs 6]

The commit ``--before`` is unpacked (``git archive``) as an importable ``digitscope``
package in a temporary folder. Then ``benchmarks/gui_latency.py`` of this checkout runs
``--pairs`` times against each version in turn (before, this checkout, before, ...),
so that the slow spells of a shared machine fall on both alike. Every event of every
round is pooled per version and design, once for all rounds and once for the quiet ones
(the host took at most ``--max-steal`` % of the CPU). Prints each version's pooled p50 and
p95 per design and the ratio this/before, and the CPU time per mouse-move of the GUI
process and of the reading process (what the code costs, nearly free of the host's steal).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: Where each folder of the checkout goes in the package (as pyproject.toml's package-dir).
PACKAGE_DIRS = {"src/digitscope": "digitscope", "model": "digitscope/model", "app": "digitscope/app", "assets": "digitscope/assets"}


def unpack(rev: str, into: Path) -> Path:
    """Commit ``rev`` as an importable package under ``into`` (put ``into`` on PYTHONPATH)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev], check=True, capture_output=True).stdout
    tree = into / "tree"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    for src, dst in PACKAGE_DIRS.items():
        if (tree / src).is_dir():
            shutil.copytree(tree / src, into / "pkg" / dst, dirs_exist_ok=True)
    return into / "pkg"


def _env(pythonpath: Path | None) -> dict[str, str]:
    """The environment that imports ``digitscope`` from ``pythonpath`` (None: this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def run_once(pythonpath: Path | None, designs: str, out: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "gui_latency.py"), "--designs", designs, "--json", str(out)]
    done = subprocess.run(cmd, env=_env(pythonpath), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"gui_latency.py failed ({'PYTHONPATH=' + str(pythonpath) if pythonpath else 'this checkout'}):\n{done.stderr}")
    return json.loads(out.read_text())


def imported_from(pythonpath: Path | None) -> str:
    code = "import digitscope.app.window as w; print(w.__file__)"
    return subprocess.run([sys.executable, "-c", code], check=True, env=_env(pythonpath), capture_output=True, text=True).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="HEAD", help="the commit to compare with (default: %(default)s)")
    ap.add_argument("--designs", default="process,compare", help="gui_latency.py's designs (default: %(default)s)")
    ap.add_argument("--pairs", type=int, default=6, help="rounds of each version (default: %(default)s)")
    ap.add_argument("--max-steal", type=float, default=5.0, help="leave out rounds the host took more CPU from (%%)")
    args = ap.parse_args()
    designs = [d for d in args.designs.split(",") if d]
    with tempfile.TemporaryDirectory() as tmp:
        before = unpack(args.before, Path(tmp))
        versions = {f"before ({args.before})": before, "this checkout": None}
        for name, path in versions.items():
            print(f"{name}: {imported_from(path)}", flush=True)
        pooled: dict[str, dict[str, list[np.ndarray]]] = {v: {d: [] for d in designs} for v in versions}
        everything: dict[str, dict[str, list[np.ndarray]]] = {v: {d: [] for d in designs} for v in versions}
        cpu: dict[str, dict[str, list[tuple[float, float]]]] = {v: {d: [] for d in designs} for v in versions}
        dropped = dict.fromkeys(versions, 0)
        for pair in range(args.pairs):
            for name, path in versions.items():
                rounds = run_once(path, args.designs, Path(tmp) / "round.json")["rounds"]
                line = []
                for design in designs:
                    for r in rounds[design]:
                        ms = np.asarray(r["latency_ms"])
                        line.append(f"{design} p95 {np.percentile(ms, 95):6.2f} ms (steal {r['steal_percent']:.1f} %)")
                        everything[name][design].append(ms)
                        if "cpu_ms_per_move" in r:
                            cpu[name][design].append((r["cpu_ms_per_move"]["gui"], r["cpu_ms_per_move"]["reader"]))
                        if r["steal_percent"] > args.max_steal:
                            dropped[name] += 1
                        else:
                            pooled[name][design].append(ms)
                print(f"pair {pair + 1} {name:>22}: " + "; ".join(line), flush=True)
    print(f"\npooled events of every round, and of the quiet rounds (steal ≤ {args.max_steal:g} %; "
          + ", ".join(f"{v}: {n} of {args.pairs * len(designs)} rounds left out" for v, n in dropped.items()) + ")")
    names = list(versions)
    for which, rounds in (("all", everything), ("quiet", pooled)):
        for design in designs:
            figs = {}
            for name in names:
                if not rounds[name][design]:
                    print(f"{which:>5} {design:>8} {name:>22}: no round")
                    continue
                ms = np.concatenate(rounds[name][design])
                figs[name] = np.percentile(ms, 95)
                print(f"{which:>5} {design:>8} {name:>22}: events {len(ms):6d}  p50 {np.percentile(ms, 50):6.2f} ms"
                      f"  p95 {figs[name]:6.2f} ms")
            if len(figs) == 2:
                print(f"{which:>5} {design:>8} {'this/before':>22}: p95 ×{figs[names[1]] / figs[names[0]]:.3f}")
    print("\nCPU time per mouse-move, median of the rounds (the host's steal barely moves it): GUI process + reading process")
    for design in designs:
        med = {}
        for name in names:
            if cpu[name][design]:
                gui, reader = np.median(np.array(cpu[name][design]), axis=0)
                med[name] = gui + reader
                print(f"  cpu {design:>8} {name:>22}: {gui:.3f} + {reader:.3f} = {gui + reader:.3f} ms")
        if len(med) == 2:
            print(f"  cpu {design:>8} {'this/before':>22}: ×{med[names[1]] / med[names[0]]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
