"""Feature maps laid out as one coloured mosaic: pure NumPy, no Qt.

Kept free of Qt so the reading process (see :mod:`.reading`) can lay out and
scale the maps next to the network. It sends them as palette indices, one
byte a pixel (:func:`index_mosaic`): a quarter of the RGBA pixels' bytes
through the pipe, and Qt colours them on the way to the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

GAP = 1  # pixels between the tiles of a mosaic


#: Colour levels of a mosaic's index (0 … LEVELS-1); the index GAP_INDEX is the gaps' colour.
LEVELS = 255
GAP_INDEX = 255


@dataclass(frozen=True)
class Palette:
    """A colour map as 256 RGBA pixels packed in uint32, and the packed colour of the gaps.

    ``indexed`` is what a mosaic's indices stand for: the map at ``LEVELS`` evenly spaced
    levels, then the gap colour at ``GAP_INDEX``."""

    lut: np.ndarray
    gap: int
    indexed: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        levels = self.lut.take(np.round(np.arange(LEVELS) * (len(self.lut) - 1) / (LEVELS - 1)).astype(np.intp))
        indexed = np.append(levels, np.uint32(self.gap)).astype(np.uint32)
        indexed.flags.writeable = False
        object.__setattr__(self, "indexed", indexed)


def qt_colours(palette: Palette) -> tuple[int, ...]:
    """What a mosaic's indices stand for in ``palette``, as Qt's 0xAARRGGBB colours (an indexed QImage's table)."""
    r, g, b, a = palette.indexed.view(np.uint8).reshape(-1, 4).astype(np.uint32).T
    return tuple(int(v) for v in (a << 24) | (r << 16) | (g << 8) | b)


def pack_rgba(r: int, g: int, b: int, a: int = 255) -> int:
    """One RGBA pixel as the uint32 that has its bytes in memory order."""
    return int(np.array([[r, g, b, a]], np.uint8).view(np.uint32)[0, 0])


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7 × 10^k at or above ``value``: a colour-bar top
    that stays put while the activations wobble."""
    if value <= 1e-6:
        return 1.0
    exp = np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if step * 10**exp >= value * (1 - 1e-9):
            return float(round(step * 10**exp, 12))
    return float(10 ** (exp + 1))


class ColourScale:
    """A layer's shared colour-scale top, with hysteresis: it rises at once to a round
    number above the largest activation, and only falls when the activations fall
    well below it, so the legend does not flicker between two values."""

    def __init__(self) -> None:
        self.level = 1.0

    def update(self, top: float) -> float:
        wanted = nice_ceiling(top)
        if wanted > self.level or wanted < 0.5 * self.level:
            self.level = wanted
        return self.level


@lru_cache(maxsize=8)
def _background(shape: tuple[int, int, int], cols: int) -> np.ndarray:
    """The index mosaic of ``shape`` maps with nothing in it: all gap."""
    h, w, c = shape
    rows = -(-c // cols)
    blank = np.full((rows * (h + GAP) - GAP, cols * (w + GAP) - GAP), GAP_INDEX, np.uint8)
    blank.flags.writeable = False
    return blank


def index_mosaic(activations: np.ndarray, cols: int, scale: ColourScale | None = None) -> tuple[np.ndarray, float]:
    """A layer's maps as one (H, W) uint8 mosaic of palette indices on the shared scale
    [0, level] (0 … LEVELS-1; gaps and empty tiles GAP_INDEX), and that level."""
    top = float(activations.max())
    level = scale.update(top) if scale is not None else nice_ceiling(top)
    h, w, c = activations.shape
    scaled = np.multiply(activations, np.float32((LEVELS - 1) / level), dtype=np.float32)
    np.clip(scaled, 0, LEVELS - 1, out=scaled)
    index = scaled.astype(np.uint8)  # (h, w, c): scaled before laying out
    out = _background(activations.shape, cols).copy()
    # the tiles as a (rows, h, cols, w) view of the mosaic: tile (r, k) starts at (r·(h+GAP), k·(w+GAP))
    step_y, step_x = out.strides
    tiles = np.lib.stride_tricks.as_strided(out, (-(-c // cols), h, cols, w), ((h + GAP) * step_y, step_y, (w + GAP) * step_x, step_x))
    full = c // cols
    tiles[:full] = index[:, :, : full * cols].reshape(h, w, full, cols).transpose(2, 0, 3, 1)
    for k in range(full * cols, c):  # a last, partial row
        tiles[k // cols, :, k % cols, :] = index[:, :, k]
    return out, level


class FixedScale(ColourScale):
    """A colour scale pinned to one level."""

    def __init__(self, level: float) -> None:
        self.level = level

    def update(self, top: float) -> float:
        return self.level


#: How it reads your digit's max-pool maps: 8 a row, as the window's conv mosaics.
POOL_COLS = 8
#: Its 128 dense units, shown as 16 rows of 8.
DENSE_GRID = (16, 8)


def pool_mosaic(pooled: np.ndarray, conv2_level: float | None) -> tuple[np.ndarray, float]:
    """The max-pooled maps as an index mosaic on conv2's colour scale (they are its maxima),
    or on their own round top when conv2's is not known."""
    return index_mosaic(pooled, POOL_COLS, FixedScale(conv2_level) if conv2_level is not None else None)


def dense_mosaic(dense: np.ndarray, scale: ColourScale | None = None) -> tuple[np.ndarray, float] | None:
    """The 128 dense units as a 16×8 index image (None for a layer of another size)."""
    if dense.size != DENSE_GRID[0] * DENSE_GRID[1]:
        return None
    return index_mosaic(dense.reshape(*DENSE_GRID, 1), 1, scale)
