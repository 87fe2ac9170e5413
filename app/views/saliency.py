"""Saliency colours: gradient × input as a translucent overlay for the canvas."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

FOR = (255, 110, 0)  # ink that argues for the answer
AGAINST = (30, 120, 255)  # ink that argues against it
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


def saliency_image(saliency: np.ndarray) -> QImage:
    """The overlay as a QImage (a copy, independent of the array)."""
    rgba = np.ascontiguousarray(saliency_rgba(saliency))
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
