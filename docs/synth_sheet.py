"""Make docs/synth-variants.png: each synthesised writing variant, as the network sees it.

    .venv/bin/python docs/synth_sheet.py

One row per variant of ``model/style_synth.py`` (named on the left), twelve
samples each, varied by the stroke augmentation and rendered to 28×28 by the
drawing pipeline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from digitscope.model.preprocess import drawing_to_tensor
from digitscope.model.style_synth import VARIANTS, synth_drawing
from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent / "synth-variants.png"
SAMPLES, CELL, LABEL = 12, 56, 120


def main() -> None:
    rows = [(digit, name) for digit, variants in VARIANTS.items() for name in variants]
    sheet = Image.new("L", (LABEL + SAMPLES * CELL, len(rows) * CELL), 255)
    draw = ImageDraw.Draw(sheet)
    rng = np.random.default_rng(0)
    for r, (digit, name) in enumerate(rows):
        draw.text((6, r * CELL + CELL // 2 - 6), f"{digit} {name}", fill=0)
        for c in range(SAMPLES):
            t = drawing_to_tensor(synth_drawing(digit, name, rng))
            tile = Image.fromarray((255 - t * 255).astype(np.uint8)).resize((CELL - 4, CELL - 4), Image.Resampling.NEAREST)
            sheet.paste(tile, (LABEL + c * CELL + 2, r * CELL + 2))
    sheet.save(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
