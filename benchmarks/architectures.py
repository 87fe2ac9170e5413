"""The three architectures side by side: train each with one recipe, then compare.

    python benchmarks/architectures.py [--epochs 10] [--out /tmp/digitscope-architectures] [--reuse]

Each network is trained by ``digitscope train --architecture …`` on MNIST
(``--augment off``: the NumPy network has no augmentation, so none has; 10 %
held out for validation), one after the other. The table gives MNIST test
accuracy, accuracy on unipen-dev (real pen-written digits through the app's
drawing pipeline: the closest thing here to "my drawings"; never trained
on), training time, parameters, and the last epoch's training and
validation accuracy (their gap shows overfitting). The bundled CNN (its own
recipe, with augmentation) is a fourth row for reference. ``--reuse`` keeps
models already in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from digitscope.model.comparison import summarise
from digitscope.model.drawing import Drawing
from digitscope.model.modelfile import bundled_model_path
from digitscope.model.preprocess import drawing_to_tensor

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path("/tmp/digitscope-architectures"))
    ap.add_argument("--mnist", default=str(DATA / "mnist.npz"))
    ap.add_argument("--unipen", default=str(DATA / "unipen-dev.jsonl"))
    ap.add_argument("--reuse", action="store_true", help="keep models already trained in --out")
    ap.add_argument("--only", nargs="*", default=["numpy", "dense", "cnn"])
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for arch in args.only:
        path = args.out / f"{arch}.keras"
        if args.reuse and path.is_file():
            continue
        cmd = [sys.executable, "-m", "digitscope", "train", "--architecture", arch, "--mnist", args.mnist,
               "--epochs", str(args.epochs), "--augment", "off", "--validation-split", "0.1", "-o", str(path)]
        print("$", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True)

    rows = [json.loads(line) for line in open(args.unipen, encoding="utf-8")]
    drawings = np.stack([drawing_to_tensor(Drawing.from_json(r)) for r in rows])
    labels = np.array([r["label"] for r in rows])
    models = [args.out / f"{a}.keras" for a in ("numpy", "dense", "cnn") if (args.out / f"{a}.keras").is_file()]
    summaries = [summarise(p, drawings, labels) for p in [*models, bundled_model_path()]]

    print(f"\n{args.epochs} epochs each, --augment off, 54,000 train / 6,000 validation; unipen-dev: {len(rows)} drawings\n")
    print("| network | MNIST test | unipen-dev drawings | training time | parameters | last epoch: train / validation acc. (gap) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for s in summaries:
        name = "CNN, shipped (its own recipe)" if s.path == bundled_model_path() else s.label
        curve = "—"
        if s.train_curve and s.train_curve[-1] is not None:
            val = s.val_curve[-1]
            curve = f"{100 * s.train_curve[-1]:.2f} % / " + ("—" if val is None else f"{100 * val:.2f} % ({100 * s.overfit_gap:+.2f})")
        seconds = "—" if s.training_seconds is None else f"{s.training_seconds:,.0f} s"
        print(f"| {name} | {100 * s.mnist_accuracy:.2f} % | {100 * s.drawings_accuracy:.2f} % | {seconds} | {s.parameters:,} | {curve} |")
    print("\nvalidation accuracy by epoch:")
    for s in summaries[:-1]:
        print(f"  {s.label:14s} " + " ".join("—" if v is None else f"{100 * v:.2f}" for v in s.val_curve))
    return 0


if __name__ == "__main__":
    sys.exit(main())
