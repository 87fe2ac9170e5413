"""The GUI path and the CLI path agree: unipen-dev drawings replayed as mouse strokes.

    python benchmarks/gui_cli_agreement.py [--limit N]

Every drawing of ../shared/data/unipen-dev.jsonl is (1) written as a drawing
file and read by `digitscope predict --json` in one process, and (2) replayed
as real mouse events (press, moves, release) on the canvas of the real window
(offscreen), at the drawing's own pen width, and read by the live view. Prints
how often the two digits agree, and each path's accuracy. By default the mouse
positions are whole widget pixels (as QTest and most mice deliver them), which
moves each point by up to half a pixel; ``--subpixel`` sends exact positions.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.app.scripted import open_ready_window
from digitscope.model.drawing import Drawing, save_drawing
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

UNIPEN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "unipen-dev.jsonl"


def send(canvas, kind: QEvent.Type, pos: QPointF) -> None:
    """A mouse event at a sub-pixel position, as tablets and high-DPI mice deliver."""
    button = Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, pos, canvas.mapToGlobal(pos), button if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton,
                        buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas, event)


def gui_digits(rows: list[dict], settings_path: Path, subpixel: bool) -> list[int]:
    app, window = open_ready_window(settings_path)
    canvas = window.canvas
    out = []
    for row in rows:
        d = Drawing.from_json(row)
        k = 280.0 / max(d.width, d.height)
        canvas.clear()
        canvas.set_pen_width(d.pen_width * k)
        for stroke in d.strokes:
            if subpixel:
                fpts = [canvas.to_widget(x * k, y * k) for x, y in stroke]
                send(canvas, QEvent.Type.MouseButtonPress, fpts[0])
                for p in fpts[1:]:
                    send(canvas, QEvent.Type.MouseMove, p)
                send(canvas, QEvent.Type.MouseButtonRelease, fpts[-1])
                continue
            pts = [canvas.to_widget(x * k, y * k).toPoint() for x, y in stroke]
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[0])
            for p in pts[1:]:
                QTest.mouseMove(canvas, p)
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pts[-1])
        deadline = time.time() + 10
        while not (window.latest is not None and window.latest.seq == window.latest_seq and window.latest.prediction):
            app.processEvents()
            if time.time() > deadline:
                raise SystemExit("no reading within 10 s")
        out.append(window.latest.prediction.digit)
    window.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N drawings")
    ap.add_argument("--subpixel", action="store_true", help="mouse events at sub-pixel positions (default: whole pixels, as QTest sends)")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(UNIPEN, encoding="utf-8")]
    if args.limit:
        rows = rows[: args.limit]
    labels = np.array([r["label"] for r in rows])
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, row in enumerate(rows):
            p = Path(tmp) / f"{i:05d}.json"
            save_drawing(Drawing.from_json(row), p)
            paths.append(str(p))
        started = time.time()
        done = subprocess.run([sys.executable, "-m", "digitscope", "predict", "--json", *paths], capture_output=True, text=True)
        cli = np.array([json.loads(line)["digit"] for line in done.stdout.splitlines()])
        cli_s = time.time() - started
        started = time.time()
        gui = np.array(gui_digits(rows, Path(tmp) / "settings.ini", args.subpixel))
        gui_s = time.time() - started
    agree = gui == cli
    where = "sub-pixel" if args.subpixel else "whole-pixel"
    print(f"{len(rows)} unipen-dev drawings: GUI ({where} mouse replay on the canvas) and CLI (digitscope predict) "
          f"agree on {agree.sum()} ({100 * agree.mean():.2f}%)")
    print(f"  accuracy: CLI {100 * (cli == labels).mean():.2f}% ({cli_s:.0f} s), GUI {100 * (gui == labels).mean():.2f}% ({gui_s:.0f} s)")
    if not agree.all():
        idx = np.flatnonzero(~agree)[:10]
        print("  disagreements (index: label, CLI, GUI): " + ", ".join(f"{i}: {labels[i]},{cli[i]},{gui[i]}" for i in idx))
    return 0


if __name__ == "__main__":
    sys.exit(main())
