"""`digitscope predict` on 1,000 MNIST test images saved as PNG, half inverted.

    python benchmarks/mnist_png_predict.py [--mnist ../shared/data/mnist.npz] [--count 1000]

Writes the PNGs to a temporary folder (odd indices as dark ink on white),
runs the real command once over all of them (`digitscope predict --json`),
and prints how many agree with the labels, overall and per polarity, and how many the
verdict calls no digit (want ≤ 0.5 %).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=str(DEFAULT_MNIST))
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--model")
    args = ap.parse_args()
    with np.load(args.mnist) as d:
        x, y = d["x_test"][: args.count], d["y_test"][: args.count]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i, img in enumerate(x):
            p = Path(tmp) / f"{i:05d}.png"
            Image.fromarray(255 - img if i % 2 else img).save(p)
            paths.append(str(p))
        cmd = [sys.executable, "-m", "digitscope", "predict", "--json", *paths]
        if args.model:
            cmd[4:4] = ["--model", args.model]
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        docs = [json.loads(line) for line in done.stdout.splitlines()]
    digits = np.array([d.get("digit", -1) for d in docs])
    ok = digits == y
    print(f"digitscope predict on {len(y)} MNIST test PNGs: {ok.sum()} agree ({100 * ok.mean():.2f}%)")
    print(f"  light ink on dark: {100 * ok[0::2].mean():.2f}%   dark ink on light (inverted): {100 * ok[1::2].mean():.2f}%")
    flagged = np.array([d.get("is_digit") is False for d in docs])
    print(f"  flagged as no digit: {flagged.sum()} ({100 * flagged.mean():.2f}%); of them misread: {(flagged & ~ok).sum()}")
    print(f"  errors: {sum('error' in d for d in docs)}, exit status {done.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
