"""DIGITSCOPE_STARTUP_REPORT: the timings the start-up benchmarks read from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def test_the_app_reports_its_window_then_its_first_prediction_and_quits(tmp_path):
    env = dict(os.environ, DIGITSCOPE_STARTUP_REPORT="quit", QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "data"))
    t0 = time.time()
    done = subprocess.run([sys.executable, "-m", "digitscope"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events] == ["shown", "first_prediction"]
    shown, first = events
    assert t0 < shown["t"] <= first["t"] < time.time()
    assert shown["tensorflow_imported"] is False, "the window shows before TensorFlow is imported"
    assert first["digit"] == 7
    assert first["tensorflow_imported"] is False, "the CNN is read in NumPy: TensorFlow stays out"
