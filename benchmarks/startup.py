"""Start-up: process start → window shown → first prediction.

    python benchmarks/startup.py [--runs 5]

Each run launches ``python -m digitscope`` fresh, as the ``digitscope`` command
starts, with ``DIGITSCOPE_STARTUP_REPORT=quit`` (see ``app/startup_report.py``,
the same report ``package_startup.py`` reads from the packaged app): the app
says when its window is first painted and when a built-in 7, put on the canvas
once the model is loaded, has been read through the reading process, then
quits. For scale, the same run times ``import tensorflow`` alone in a fresh
process (the app keeps it off this path).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from package_startup import launch  # this folder's sibling: one way to launch and read the report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="digitscope-startup-")
    env = dict(os.environ, DIGITSCOPE_STARTUP_REPORT="quit", TF_CPP_MIN_LOG_LEVEL="3",
               QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_DATA_HOME=os.path.join(home, "data"))
    cmd = [sys.executable, "-m", "digitscope"]
    launch(cmd, env)  # warm the file cache
    shown, ready = [], []
    for _ in range(args.runs):
        ev = launch(cmd, env)
        shown.append(ev["shown"]["t"])
        ready.append(ev["first_prediction"]["t"])
        assert not ev["shown"]["tensorflow_imported"], "TensorFlow must not be imported before the window shows"
    t0 = time.time()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, check=True)
    tf_import = time.time() - t0
    print(f"platform: {env['QT_QPA_PLATFORM']}, {args.runs} runs (median, max)")
    print(f"process start → window shown:       {statistics.median(shown):.3f} s  (max {max(shown):.3f} s)   target ≤ 1.0 s")
    print(f"process start → first prediction:   {statistics.median(ready):.3f} s  (max {max(ready):.3f} s)   target ≤ 4 s")
    print(f"read by the {ev['first_prediction']['reader']}; TensorFlow imported by then: {ev['first_prediction']['tensorflow_imported']}")
    print(f"for scale: a fresh process that only imports tensorflow takes {tf_import:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
