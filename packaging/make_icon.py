"""Draw the app icon: assets/digitscope.png (256 px), assets/digitscope.ico (Windows sizes).

    python packaging/make_icon.py

A hand-drawn 7 (the app's own built-in example) on a dark rounded tile, with the
probability bars it leads to. Re-run after changing the design; the files are committed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digitscope.model.examples import example_drawing

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SS = 4  # supersampling for smooth edges
SIDE = 256


def draw_icon() -> Image.Image:
    n = SIDE * SS
    img = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((8 * SS, 8 * SS, n - 8 * SS, n - 8 * SS), radius=48 * SS, fill=(24, 34, 56, 255))
    # the digit, from the built-in example drawing, in the left two thirds
    seven = example_drawing(7)
    scale = 150 / 280 * SS
    for stroke in seven.strokes:
        pts = [(x * scale + 22 * SS, y * scale + 50 * SS) for x, y in stroke]
        width = int(26 * SS)
        d.line(pts, fill=(245, 247, 250, 255), width=width, joint="curve")
        for x, y in (pts[0], pts[-1]):
            d.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=(245, 247, 250, 255))
    # probability bars: one tall (the answer), the rest short
    heights = np.array([0.10, 0.16, 1.0, 0.22])
    colours = [(90, 120, 170, 255), (90, 120, 170, 255), (255, 170, 40, 255), (90, 120, 170, 255)]
    x0, base, top = 178 * SS, 212 * SS, 62 * SS
    for i, (h, c) in enumerate(zip(heights, colours)):
        x = x0 + i * 14 * SS
        d.rounded_rectangle((x, base - h * (base - top), x + 10 * SS, base), radius=3 * SS, fill=c)
    return img.resize((SIDE, SIDE), Image.Resampling.LANCZOS)


def main() -> None:
    icon = draw_icon()
    icon.save(ASSETS / "digitscope.png", optimize=True)
    icon.save(ASSETS / "digitscope.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    print(f"wrote {ASSETS / 'digitscope.png'} and {ASSETS / 'digitscope.ico'}")


if __name__ == "__main__":
    main()
