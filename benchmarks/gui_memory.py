"""Memory: RSS growth of the real window over 10,000 live updates.

    python benchmarks/gui_memory.py [--updates 10000]

Draws long strokes with mouse events on the real window (offscreen); every
mouse-move changes the drawing and is read and shown (each update is waited
for, so all of them really happen). RSS is read from /proc after a warm-up
of 500 updates and at the end.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from digitscope.app.scripted import open_ready_window
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--updates", type=int, default=10000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app, window = open_ready_window(Path(tmp) / "settings.ini")
        canvas = window.canvas
        done = 0
        start_rss = None
        started = time.time()

        def update(i: int) -> None:
            a = i * 0.21
            p = canvas.to_widget(140 + 90 * math.sin(a), 140 + 90 * math.sin(1.7 * a)).toPoint()
            QTest.mouseMove(canvas, p)
            while not (window.latest is not None and window.latest.seq == window.latest_seq):
                app.processEvents()

        total = 500 + args.updates
        i = 0
        while done < total:
            canvas.clear()
            canvas.undo_stack.clear()
            p = canvas.to_widget(140, 140).toPoint()
            QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
            for _ in range(200):  # a stroke of 200 moves, then a new drawing
                update(i)
                i += 1
                done += 1
                if done == 500:
                    app.processEvents()
                    gc.collect()
                    start_rss = rss_mb()
                    child = window.worker.process_pid
                    start_child = rss_mb(child) if child else 0.0
                if done >= total:
                    break
            QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
        app.processEvents()
        gc.collect()
        end_rss = rss_mb()
        end_child = rss_mb(child) if child and window.worker.process_pid == child else float("nan")
        window.close()
    print(f"{args.updates} live updates in {time.time() - started:.0f} s: RSS {start_rss:.1f} MB → {end_rss:.1f} MB, "
          f"growth {end_rss - start_rss:+.1f} MB (target < 20 MB)")
    if child:
        print(f"reading process (pid {child}): RSS {start_child:.1f} MB → {end_child:.1f} MB, growth {end_child - start_child:+.1f} MB; "
              f"app total growth {end_rss - start_rss + end_child - start_child:+.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
