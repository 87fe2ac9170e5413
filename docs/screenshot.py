"""Make docs/screenshot.png: the real window on a virtual X screen, with a digit drawn by mouse.

    xvfb-run -s "-screen 0 1400x1000x24" .venv/bin/python docs/screenshot.py

The digit (a 3) is drawn with real mouse events; the shot is taken once the
live views show its reading.
"""

from __future__ import annotations

import math
import sys
import tempfile
from pathlib import Path

from digitscope.app.scripted import open_ready_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

OUT = Path(__file__).resolve().parent / "screenshot.png"


def three() -> list[list[tuple[float, float]]]:
    """A hand-drawn-looking 3 in one stroke: upper bowl, a dip to the middle, lower bowl."""
    pts: list[tuple[float, float]] = []
    for i in range(36):  # upper bowl: starts upper-left, over the top, round the right, to the middle
        a = math.radians(-70 + 245 * i / 35)
        pts.append((142 + 56 * math.sin(a), 94 - 44 * math.cos(a)))
    for i in range(1, 44):  # lower bowl: from the middle, round the right, ends lower-left
        a = math.radians(10 + 240 * i / 43)
        pts.append((146 + 64 * math.sin(a), 190 - 54 * math.cos(a)))
    return [pts]


def draw_with_mouse(canvas, strokes: list[list[tuple[float, float]]]) -> None:
    """Draw ``strokes`` (canvas coordinates) on ``canvas`` with real mouse events."""
    for stroke in strokes:
        pts = [canvas.to_widget(x, y).toPoint() for x, y in stroke]
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
        for p in pts[1:]:
            QTest.mouseMove(canvas, p)
            QTest.qWait(4)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        _app, window = open_ready_window(Path(tmp) / "settings.ini", size=(1240, 900))
        draw_with_mouse(window.canvas, three())
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
