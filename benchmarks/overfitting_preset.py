"""Do Retrain's presets show the talk's lesson? Run them and print their curves.

    python benchmarks/overfitting_preset.py [--all | --preset NAME ...] [--mnist FILE] [--json FILE]

Each preset (``model.presets.PRESETS``; by default the overfitting one, ``--all`` for the
three) runs as Retrain runs it: a real ``python -m digitscope train --progress json`` with
the arguments of its request (``TrainRequest.to_argv()``), writing to a temporary folder.
Printed per preset: each epoch's training and validation accuracy and loss, the epoch where
validation accuracy peaks and where validation loss is lowest, the gap (training minus
validation accuracy) at the end, the wall time, and the line the dialog shows beside the plot
(``model.presets.explanation``). Skips (exit 0) when the MNIST file is absent.
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

from digitscope.model.presets import PRESETS, TrainPreset, explanation, parting, percent
from digitscope.model.train_run import TrainRequest

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"


def run_preset(preset: TrainPreset, mnist: Path, folder: Path) -> dict:
    """Train with the preset as ``digitscope train`` would; its events and the wall time."""
    request = preset.apply(TrainRequest(output=folder / f"{preset.key}.keras", mnist=str(mnist)))
    argv = [sys.executable, "-m", "digitscope", "train", "--progress", "json", *request.to_argv()]
    print("$ digitscope train --progress json " + " ".join(request.to_argv()), flush=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{preset.key}: digitscope train exited {done.returncode}")
    return {"preset": preset.key, "argv": request.to_argv(), "seconds": seconds, "events": events}


def report(preset: TrainPreset, run: dict) -> dict:
    events = run["events"]
    epochs = [e for e in events if e.get("event") == "epoch"]
    start = next((e for e in events if e.get("event") == "start"), {})
    test = next((e["test_accuracy"] for e in events if e.get("event") == "evaluated"), None)
    p = parting(events)
    print(f"\n## {preset.label} ({preset.key}): {preset.summary}")
    print(f"{start.get('train_samples')} training / {start.get('val_samples')} validation images, "
          f"{start.get('steps_per_epoch')} batches an epoch\n")
    print("| epoch | train acc. | val. acc. | gap | train loss | val. loss | seconds |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for e in epochs:
        print(f"| {e['epoch']} | {100 * e['accuracy']:.2f} % | {100 * e['val_accuracy']:.2f} % | "
              f"{100 * (e['accuracy'] - e['val_accuracy']):+.2f} | {e['loss']:.4f} | {e['val_loss']:.4f} | {e['seconds']:.1f} |")
    line = explanation(p)
    print()
    if p is not None:
        print(f"validation accuracy peaks in epoch {p.best_val_epoch} at {percent(p.best_val_accuracy)}; "
              f"validation loss is lowest in epoch {p.lowest_val_loss_epoch} ({p.lowest_val_loss:.4f}, ends at {p.final_val_loss:.4f}), "
              f"first within 2 % of that in epoch {p.parted_at}: the curves part there")
        print(f"at the end: training {percent(p.final_accuracy)}, validation {percent(p.final_val_accuracy)}, "
              f"gap {100 * p.gap:+.2f} points; reads as: {p.kind}")
    if test is not None:
        print(f"MNIST test accuracy {100 * test:.2f} %")
    print(f"wall time {run['seconds']:.0f} s (training {sum(e['seconds'] for e in epochs):.0f} s)")
    print(f"explanation: {line}")
    return {
        "preset": preset.key, "summary": preset.summary, "argv": run["argv"], "wall_seconds": round(run["seconds"], 1),
        "epochs": epochs, "test_accuracy": test, "kind": None if p is None else p.kind,
        "parting": None if p is None else {**p.__dict__, "gap": p.gap}, "explanation": line,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", action="append", choices=tuple(PRESETS), help="preset to run (repeatable; default: overfitting)")
    ap.add_argument("--all", action="store_true", help="run the three presets")
    ap.add_argument("--mnist", type=Path, default=MNIST)
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = ap.parse_args()
    if not args.mnist.is_file():
        print(f"skipped: needs MNIST at {args.mnist} (not present on this machine; --mnist FILE to name another)")
        return 0
    keys = list(PRESETS) if args.all else args.preset or ["overfitting"]
    results = []
    with tempfile.TemporaryDirectory(prefix="digitscope-presets-") as folder:
        for key in keys:
            results.append(report(PRESETS[key], run_preset(PRESETS[key], args.mnist, Path(folder))))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    wrong = [r["preset"] for r in results if r["kind"] != r["preset"]]
    if wrong:
        print(f"\nthese presets do not show their lesson: {', '.join(wrong)}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
