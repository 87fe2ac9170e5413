"""The 28×28 tensor the network sees, enlarged with its pixels visible."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

from .pixel_image import PixelImage

_GRID = QColor(62, 69, 80)  # opaque: translucent lines cost ~30× more to paint


def _grid(painter: QPainter, target: QRectF) -> None:
    """A one-device-pixel line between the image's pixels (drawn untransformed: fast)."""
    painter.setPen(QPen(_GRID, 0))
    step_x, step_y = target.width() / 28, target.height() / 28
    xs = [round(target.x() + i * step_x) for i in range(29)]
    ys = [round(target.y() + i * step_y) for i in range(29)]
    painter.drawLines(
        [QLineF(x, ys[0], x, ys[-1]) for x in xs] + [QLineF(xs[0], y, xs[-1], y) for y in ys]
    )


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
        self.set_pixels((np.clip(self.tensor, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
