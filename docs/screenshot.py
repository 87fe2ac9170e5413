"""Make docs/screenshot.png: the real window on a virtual X screen, with a digit drawn by mouse.

    xvfb-run -s "-screen 0 1400x1000x24" .venv/bin/python docs/screenshot.py

The digit (a 3) is drawn with real mouse events; the shot is taken once the
live views show its reading.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from digitscope.app.window import MainWindow
from digitscope.model.modelfile import bundled_model_path

OUT = Path(__file__).resolve().parent / "screenshot.png"


def three() -> list[list[tuple[float, float]]]:
    """A hand-like 3: two bowls in one stroke, slightly slanted."""
    pts = []
    for i in range(40):  # upper bowl: from upper-left, round to the middle
        a = math.pi * (-0.85 + 1.55 * i / 39)
        pts.append((140 + 62 * math.sin(a) + 4 * i / 39, 92 - 52 * math.cos(a)))
    for i in range(48):  # lower bowl: from the middle, round to lower-left
        a = math.pi * (-0.45 + 1.35 * i / 47)
        pts.append((138 + 72 * math.sin(a), 196 - 60 * math.cos(a)))
    return [pts]


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        window = MainWindow(settings=QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat), bundled_model=bundled_model_path())
        window.resize(1240, 900)
        loaded = []
        window.loader.loaded.connect(loaded.append)
        window.show_when_ready()
        while not loaded:
            app.processEvents()
            time.sleep(0.01)
        canvas = window.canvas
        for stroke in three():
            pts = [canvas.to_widget(x, y).toPoint() for x, y in stroke]
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
            for p in pts[1:]:
                QTest.mouseMove(canvas, p)
                QTest.qWait(4)
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
        QTest.qWait(600)
        if window.latest is None or window.latest.prediction is None:
            print("no reading shown", file=sys.stderr)
            return 1
        window.grab().save(str(OUT))
        print(f"wrote {OUT}: read as {window.latest.prediction.digit} ({100 * window.latest.prediction.confidence:.1f}%)")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
