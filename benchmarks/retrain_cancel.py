"""How long Cancel takes: from the click to the end of a real ``digitscope train`` process.

    python benchmarks/retrain_cancel.py [--runs 5] [--json FILE]

Each run trains on a tiny synthetic MNIST (the tests' kind) for many epochs, as the app
drives it (``TrainingRun``: ``--progress json --control stdin``); once batches come, Cancel
is pressed; recorded are the time to the run's ``cancelled`` event (training stopped, nothing
written) and to the ``finished`` signal, with how the process ended (it exited, or the timer
killed it after ``STOP_GRACE_MS``, e.g. while TensorFlow was still tearing down). The
tests check the mechanism (the timer armed, the state after it fires); the seconds are here.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QCoreApplication, QEventLoop, QProcess, QTimer

from digitscope.app.training_process import STOP_GRACE_MS, TrainingRun


def tiny_mnist(path: Path) -> Path:
    """A small MNIST-format file of the built-in digits, as ``--self-test`` trains on."""
    from digitscope.model.examples import example_dataset

    (x_train, y_train), (x_test, y_test) = example_dataset(24, seed=1), example_dataset(6, seed=2)
    np.savez_compressed(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def one_cancel(mnist: Path, out: Path) -> dict:
    """Start a run, cancel at its first batch; seconds from the cancel to ``finished``."""
    run = TrainingRun()
    loop = QEventLoop()
    result: dict = {}

    def on_event(event: dict) -> None:
        if event.get("event") == "batch" and "clicked" not in result:
            result["clicked"] = time.perf_counter()
            run.cancel()
        elif event.get("event") == "cancelled":  # training stopped; the process still has to exit
            result["stopped"] = time.perf_counter() - result["clicked"]

    def on_finished(status: str, message: str) -> None:
        result["seconds"] = time.perf_counter() - result.get("clicked", time.perf_counter())
        killed = run.process.exitStatus() == QProcess.ExitStatus.CrashExit
        result["status"] = f"{status} ({'killed by the timer' if killed else 'stopped on request'})"
        loop.quit()

    run.event.connect(on_event)
    run.finished.connect(on_finished)
    run.start(["--mnist", str(mnist), "--epochs", "200", "--batch-size", "8", "--no-augment", "--output", str(out)])
    QTimer.singleShot(300_000, loop.quit)
    loop.exec()
    return {
        "stopped_seconds": round(result.get("stopped", float("nan")), 3),
        "seconds": round(result.get("seconds", float("nan")), 3),
        "status": result.get("status", "timeout"),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="save the figures as JSON")
    args = ap.parse_args()
    QCoreApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="digitscope-cancel-") as work:
        mnist = tiny_mnist(Path(work) / "tiny.npz")
        runs = [one_cancel(mnist, Path(work) / f"m{i}.keras") for i in range(args.runs)]
    seconds = [r["seconds"] for r in runs]
    for i, r in enumerate(runs, 1):
        print(f"run {i}: training stopped {r['stopped_seconds']:.2f} s after Cancel; {r['status']} after {r['seconds']:.2f} s")
    print(f"median {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s (the kill comes after {STOP_GRACE_MS / 1000:g} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs, "stop_grace_ms": STOP_GRACE_MS}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
