"""Start-up: process start → window shown → first prediction possible.

    python benchmarks/startup.py [--runs 5]

Each run launches a fresh Python process that starts the app exactly as the
`digitscope` command does (`digitscope.app.main.create_window`) and reports,
relative to the moment the parent launched it: when the window has been shown
and painted, and when the model is loaded and a drawing has been read. For
scale, the same run prints how long `import tensorflow` alone takes in a fresh
process (the app keeps it off this path).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, sys, time
t0 = float(sys.argv[1])
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
def report(event, **extra):
    print(json.dumps({"event": event, "t": time.time() - t0, **extra}), flush=True)
class FirstPaint(QObject):
    done = False
    def eventFilter(self, obj, event):
        if not self.done and event.type() == QEvent.Type.Paint and obj.isWindow():
            self.done = True  # the window is being painted for the first time
            report("shown", visible=obj.isVisible(), tf_loaded="tensorflow" in sys.modules)
        return False
app = QApplication([])
probe = FirstPaint()
app.installEventFilter(probe)
from digitscope.app.main import create_window
app, window = create_window([])
def ready(predictor):
    from digitscope.app.reading import read_drawing
    from digitscope.model.drawing import Drawing
    reading = read_drawing(0, Drawing(280, 280, 20, [[(140.0, 40.0 + 4 * i) for i in range(50)]]), predictor)
    report("first_prediction", digit=reading.prediction.digit, tf_loaded="tensorflow" in sys.modules)
    QTimer.singleShot(0, app.quit)
window.loader.loaded.connect(ready)
window.loader.failed.connect(lambda p, m: (report("failed", message=m), app.quit()))
app.exec()
"""


def launch(env: dict[str, str]) -> dict[str, float]:
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, repr(t0)], capture_output=True, text=True, env=env, timeout=120)
    events = {}
    for line in done.stdout.splitlines():
        doc = json.loads(line)
        events[doc["event"]] = doc
    if "first_prediction" not in events:
        raise SystemExit(f"start-up failed: {done.stdout}\n{done.stderr}")
    return events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), TF_CPP_MIN_LOG_LEVEL="3")
    launch(env)  # warm the file cache
    shown, ready = [], []
    for _ in range(args.runs):
        ev = launch(env)
        shown.append(ev["shown"]["t"])
        ready.append(ev["first_prediction"]["t"])
        assert not ev["shown"]["tf_loaded"], "TensorFlow must not be imported before the window shows"
    t0 = time.time()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, check=True)
    tf_import = time.time() - t0
    print(f"platform: {env['QT_QPA_PLATFORM']}, {args.runs} runs (median, max)")
    print(f"process start → window shown:       {np.median(shown):.3f} s  (max {max(shown):.3f} s)   target ≤ 1.0 s")
    print(f"process start → first prediction:   {np.median(ready):.3f} s  (max {max(ready):.3f} s)   target ≤ 4 s")
    print(f"TensorFlow imported by then: {ev['first_prediction']['tf_loaded']}")
    print(f"for scale: a fresh process that only imports tensorflow takes {tf_import:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
