"""Make docs/learning-early.png and docs/learning-late.png: Retrain's "What it learns", early and late in a run.

    xvfb-run -s "-screen 0 1600x1000x24" .venv/bin/python docs/learning_shots.py [--mnist ../shared/data/mnist.npz]

A 3 is drawn on the canvas with real mouse events, then Retrain runs the "Show a good fit"
preset (the CNN from scratch on 12,000 MNIST images). After the run the slider is moved to the
first frame (the weights before training) for the early shot; the late one is the final weights.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from digitscope.app.scripted import open_ready_window
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from screenshot import draw_with_mouse, three

DOCS = Path(__file__).resolve().parent
SHARED = DOCS.parents[1] / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(SHARED / "mnist.npz"))
    ap.add_argument("--preset", default="desired")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _app, window = open_ready_window(Path(tmp) / "settings.ini", size=(1240, 900))
        draw_with_mouse(window.canvas, three())
        dialog = window.show_retrain()
        if not dialog.set_mnist(Path(args.mnist)):
            print(f"no MNIST at {args.mnist}", file=sys.stderr)
            return 1
        dialog.presets.choose(args.preset)
        dialog.resize(1500, 820)
        dialog.train_button.click()
        deadline = time.monotonic() + 1800
        while dialog.busy() and time.monotonic() < deadline:
            QApplication.processEvents()
            QTest.qWait(50)
        QTest.qWait(500)
        frames = dialog.learning.frames
        if len(frames) < 2:
            print(f"only {len(frames)} frames; {dialog.status.text()}", file=sys.stderr)
            return 1
        dialog.grab().save(str(DOCS / "learning-late.png"))
        dialog.learning.slider.setValue(0)
        QTest.qWait(200)
        dialog.grab().save(str(DOCS / "learning-early.png"))
        print(f"{len(frames)} frames, steps {frames[0].step} … {frames[-1].step}; {dialog.status.text()}")
        dialog.discard()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
