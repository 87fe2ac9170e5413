"""Make docs/mnist-sevens.png: MNIST test sevens the model reads as ones, beside the pen drawings
nearest them as the model sees them.

    .venv/bin/python docs/mnist_sevens.py [--model assets/digitscope-cnn.keras]
        [--mnist ../shared/data/mnist.npz] [--pen-data ../shared/data/unipen-dev.jsonl]

One row per misread seven: the MNIST image, then the eight unipen-dev drawings (rendered once,
unvaried) whose dense-layer activations lie nearest its own, each captioned with its label and
site. The pen drawings are the ones the bundled model was fine-tuned on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from digitscope.model.inference import cnn_activations_batch, load_predictor
from digitscope.model.mnist import as_inputs, load_mnist
from digitscope.model.pen_data import load_pen_digits, render_copies
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
NEIGHBOURS, CELL, CAPTION, GAP = 8, 56, 14, 16


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "assets" / "digitscope-cnn.keras"))
    ap.add_argument("--mnist", default=str(ROOT.parent / "shared" / "data" / "mnist.npz"))
    ap.add_argument("--pen-data", default=str(ROOT.parent / "shared" / "data" / "unipen-dev.jsonl"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "mnist-sevens.png"))
    args = ap.parse_args()

    predictor = load_predictor(args.model)
    weights = predictor.cnn_weights
    if weights is None:
        raise SystemExit(f"{args.model} is not the seed's CNN")
    mnist = load_mnist(args.mnist, download=False)
    x = as_inputs(mnist.x_test).reshape(-1, 28, 28)
    read = predictor.probabilities(x).argmax(1)
    sevens = np.flatnonzero((mnist.y_test == 7) & (read == 1))

    pen = load_pen_digits(args.pen_data)
    pen_x, index = render_copies(pen.drawings, 1, seed=0)
    _, pen_dense, _ = cnn_activations_batch(weights, pen_x)
    _, seven_dense, _ = cnn_activations_batch(weights, x[sevens])

    width = GAP + (1 + NEIGHBOURS) * CELL
    sheet = Image.new("L", (width, max(1, len(sevens)) * (CELL + CAPTION)), 255)
    draw = ImageDraw.Draw(sheet)
    for row, (i, dense) in enumerate(zip(sevens, seven_dense)):
        top = row * (CELL + CAPTION)
        nearest = np.argsort(((pen_dense - dense) ** 2).sum(1))[:NEIGHBOURS]
        tiles = [(x[i], f"test {i}")] + [
            (pen_x[j], f"{pen.labels[index[j]]} {pen.sites[index[j]]}") for j in nearest
        ]
        for col, (tensor, caption) in enumerate(tiles):
            left = col * CELL + (GAP if col else 0)
            tile = Image.fromarray((255 - tensor * 255).astype(np.uint8)).resize((CELL - 4, CELL - 4), Image.Resampling.BILINEAR)
            sheet.paste(tile, (left + 2, top + 2))
            draw.text((left + 4, top + CELL - 2), caption, fill=0)
    draw.line([(CELL + GAP // 2, 0), (CELL + GAP // 2, sheet.height)], fill=128, width=2)
    sheet.save(args.out)
    print(f"{len(sevens)} MNIST test sevens read as ones; wrote {args.out}")


if __name__ == "__main__":
    main()
