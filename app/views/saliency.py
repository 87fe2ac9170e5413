"""Saliency colours: gradient × input as a translucent overlay for the canvas."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from .. import theme
from .pixel_image import to_qimage

FOR = theme.rgb(theme.FOR)  # ink that argues for the answer
AGAINST = theme.rgb(theme.AGAINST)  # ink that argues against it
LEGEND = "Saliency: orange ink argues for the answer, blue ink against it (gradient × input)"


def saliency_rgba(saliency: np.ndarray) -> np.ndarray:
    """(H, W) signed saliency → (H, W, 4) uint8 RGBA: orange for, blue against, opacity by
    strength relative to the strongest pixel (transparent where nothing matters)."""
    s = np.asarray(saliency, dtype=np.float32)
    top = float(np.abs(s).max())
    rgba = np.zeros((*s.shape, 4), np.uint8)
    if top <= 0:
        return rgba
    strength = np.abs(s) / top
    positive = s > 0
    rgba[..., :3] = np.where(positive[..., None], np.array(FOR, np.uint8), np.array(AGAINST, np.uint8))
    rgba[..., 3] = np.round(255 * np.sqrt(strength)).astype(np.uint8)
    return rgba


def saliency_overlay(saliency: np.ndarray) -> tuple[QImage, tuple[int, int, int, int]] | None:
    """The overlay cut down to the pixels that show, with one transparent pixel around them,
    and where that lies in the saliency's pixels (x, y, w, h); None when nothing shows.

    Smoothly scaled over its place, it paints what the whole image would (beyond the margin
    it is transparent either way), at a fraction of the cost: scaling pays per pixel covered."""
    rgba = saliency_rgba(saliency)
    alpha = rgba[..., 3]
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0:
        return None
    h, w = alpha.shape
    y0, y1 = max(int(rows[0]) - 1, 0), min(int(rows[-1]) + 2, h)
    x0, x1 = max(int(cols[0]) - 1, 0), min(int(cols[-1]) + 2, w)
    return to_qimage(rgba[y0:y1, x0:x1]), (x0, y0, x1 - x0, y1 - y0)
