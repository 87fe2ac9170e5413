"""The 28×28 tensor the network sees, enlarged with its pixels visible."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QWidget


class InputView(pg.GraphicsLayoutWidget):
    """Grey-scale 28×28 image (ink white on black, as MNIST) with a faint pixel grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setBackground("#1b1f24")
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(np.zeros((28, 28), np.float32), levels=(0.0, 1.0))
        self.view.addItem(self.image)
        grid = QPainterPath()
        for i in range(29):
            grid.moveTo(i, 0)
            grid.lineTo(i, 28)
            grid.moveTo(0, i)
            grid.lineTo(28, i)
        lines = QGraphicsPathItem(grid)
        pen = QPen(QColor(90, 100, 115, 110))
        pen.setCosmetic(True)
        lines.setPen(pen)
        self.view.addItem(lines)
        self.view.setRange(xRange=(0, 28), yRange=(0, 28), padding=0.01)
        self.setMinimumSize(140, 140)
        self.setToolTip("The 28×28 input the network sees")

    def show_tensor(self, tensor: np.ndarray | None) -> None:
        """Show a (28, 28) tensor in [0, 1]; None shows a blank field."""
        data = np.zeros((28, 28), np.float32) if tensor is None else tensor
        self.image.setImage(data, autoLevels=False, levels=(0.0, 1.0))
