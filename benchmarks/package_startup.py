"""Packaged start-up: launch → window shown → first prediction, built app vs naive build.

    python benchmarks/package_startup.py [--runs 5] [--app dist/Digitscope/Digitscope]
        [--naive dist-naive/digitscope-naive/digitscope-naive]

Build both first: ``python packaging/build.py --naive``. Each run launches the
executable fresh with ``DIGITSCOPE_STARTUP_REPORT=quit`` (see
``app/startup_report.py``): the app prints when its window is first painted
and when the first drawing (a built-in 7, put on the canvas once the model is
loaded) has been read, then quits. Launches of the two builds alternate, after
one warm-up launch each, so both see the same machine. Offscreen unless a
DISPLAY is set (e.g. under ``xvfb-run``). Also times ``python -m digitscope``
from this environment, for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = ".exe" if sys.platform == "win32" else ""


def launch(cmd: list[str], env: dict[str, str]) -> dict[str, dict]:
    """Run ``cmd`` once (it must honour DIGITSCOPE_STARTUP_REPORT=quit); its report lines by
    event, each with ``t`` in seconds since the launch."""
    t0 = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    events = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            events[doc["event"]] = dict(doc, t=doc["t"] - t0)
    if "first_prediction" not in events:
        raise SystemExit(f"{cmd[0]}: no first prediction (exit {done.returncode})\n{done.stdout}\n{done.stderr[-2000:]}")
    return events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--app", default=str(ROOT / "dist" / "Digitscope" / f"Digitscope{EXE}"))
    ap.add_argument("--naive", default=str(ROOT / "dist-naive" / "digitscope-naive" / f"digitscope-naive{EXE}"))
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="digitscope-startup-")
    env = dict(os.environ, DIGITSCOPE_STARTUP_REPORT="quit", TF_CPP_MIN_LOG_LEVEL="3",
               XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_DATA_HOME=os.path.join(home, "data"))
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    builds = {"packaged (spec)": [args.app]}
    if Path(args.naive).is_file():
        builds["naive build"] = [args.naive]
    else:
        print(f"(no naive build at {args.naive}: python packaging/build.py --naive)")
    builds["python -m digitscope"] = [sys.executable, "-m", "digitscope"]
    for cmd in builds.values():
        launch(cmd, env)  # warm the file cache
    times: dict[str, dict[str, list[float]]] = {name: {"shown": [], "first_prediction": []} for name in builds}
    for _ in range(args.runs):
        for name, cmd in builds.items():
            ev = launch(cmd, env)
            for key in ("shown", "first_prediction"):
                times[name][key].append(ev[key]["t"])
    print(f"start-up, median of {args.runs} launches (min-max), platform {env.get('QT_QPA_PLATFORM', 'display')}:")
    print(f"  {'build':<22} {'window shown':>22} {'first prediction':>22}")
    for name, t in times.items():
        cells = [f"{statistics.median(v):.2f} s ({min(v):.2f}-{max(v):.2f})" for v in (t["shown"], t["first_prediction"])]
        print(f"  {name:<22} {cells[0]:>22} {cells[1]:>22}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
