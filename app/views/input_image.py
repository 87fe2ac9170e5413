"""The 28×28 tensor the network sees, enlarged with its pixels visible."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QWidget

from .. import theme
from .pixel_image import PixelImage, grey

_GRID = QColor(theme.INPUT_GRID)  # opaque: translucent lines cost ~30× more to paint


_grid_cache: dict[tuple[float, ...], list[QRectF]] = {}


def _grid(painter: QPainter, target: QRectF) -> None:
    """A one-device-pixel line between the image's pixels: thin filled rectangles, made once per
    size (filling rectangles paints several times faster than stroking lines)."""
    line = 1.0 / painter.device().devicePixelRatioF()  # one device pixel, on high-DPI screens too
    key = (target.x(), target.y(), target.width(), target.height(), line)
    rects = _grid_cache.get(key)
    if rects is None:
        step_x, step_y = target.width() / 28, target.height() / 28
        xs = [round(target.x() + i * step_x) for i in range(29)]
        ys = [round(target.y() + i * step_y) for i in range(29)]
        rects = [QRectF(x, ys[0], line, ys[-1] - ys[0] + line) for x in xs] + [QRectF(xs[0], y, xs[-1] - xs[0] + line, line) for y in ys]
        _grid_cache.clear()  # one size at a time: the view's
        _grid_cache[key] = rects
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(_GRID)
    painter.drawRects(rects)


class InputView(PixelImage):
    """Grey-scale 28×28 image (ink white on black, as MNIST) with a faint pixel grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(np.zeros((28, 28), np.uint8), parent, overlay=_grid)
        self.tensor = np.zeros((28, 28), np.float32)
        self.setMinimumSize(140, 140)
        self.setToolTip("The 28×28 input the network sees")

    def show_tensor(self, tensor: np.ndarray | None) -> None:
        """Show a (28, 28) tensor in [0, 1]; None shows a blank field."""
        self.tensor = np.zeros((28, 28), np.float32) if tensor is None else tensor
        self.set_pixels(grey(self.tensor))
