"""One feature map enlarged; for the first layer, with the 3×3 kernel that made it."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from .feature_maps import COLORMAP
from .text_line import TextLine


class MapDetailDialog(QDialog):
    """Shows ``layer``'s map ``channel``; ``update_map`` keeps it live while drawing."""

    def __init__(self, layer: str, channel: int, kernel: np.ndarray | None, bias: float | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer, self.channel = layer, channel
        self.setWindowTitle(f"{layer} · channel {channel}")
        self.plot = pg.GraphicsLayoutWidget()
        self.plot.setBackground(theme.DARK_BACKGROUND)
        view = self.plot.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.image = pg.ImageItem(np.zeros((2, 2), np.float32))
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        view.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=COLORMAP, interactive=False, width=14)
        self.colorbar.setImageItem(self.image)
        self.plot.addItem(self.colorbar)
        self.plot.setMinimumSize(360, 320)
        self.caption = TextLine(alignment=Qt.AlignmentFlag.AlignLeft)  # new text with every reading: no relayout
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        left.addWidget(self.plot, 1)
        left.addWidget(self.caption)
        layout.addLayout(left, 1)
        if kernel is not None:
            layout.addWidget(_kernel_panel(kernel, bias))

    def update_map(self, values: np.ndarray | None) -> None:
        """Show a (H, W) map (None: blank)."""
        data = np.zeros((2, 2), np.float32) if values is None else values
        top = float(data.max()) if data.size else 0.0
        level = top if top > 1e-6 else 1.0
        self.image.setImage(data, autoLevels=False, levels=(0.0, level))
        self.colorbar.setLevels((0.0, level))
        self.caption.setText(f"{data.shape[0]}×{data.shape[1]} activations after ReLU, max {top:.3f}")


def _kernel_panel(kernel: np.ndarray, bias: float | None) -> QWidget:
    """The 3×3 weights as numbers on a diverging background (red +, blue −)."""
    panel = QWidget()
    grid = QGridLayout(panel)
    grid.addWidget(QLabel("3×3 kernel"), 0, 0, 1, 3)
    scale = float(np.abs(kernel).max()) or 1.0
    for r in range(3):
        for c in range(3):
            w = float(kernel[r, c])
            cell = QLabel(f"{w:+.2f}")
            cell.setAlignment(Qt.AlignmentFlag.AlignCenter)
            cell.setMinimumSize(56, 40)
            a = int(200 * abs(w) / scale)
            color = "rgba({}, {}, {}, {})".format(*theme.rgb(theme.POSITIVE if w > 0 else theme.NEGATIVE), a)
            cell.setStyleSheet(f"background: {color}; border: 1px solid {theme.FRAME}; font-family: monospace;")
            grid.addWidget(cell, r + 1, c)
    if bias is not None:
        grid.addWidget(QLabel(f"bias {bias:+.3f}"), 4, 0, 1, 3)
    grid.addWidget(QLabel("map = ReLU(Σ kernel × input patch + bias)"), 5, 0, 1, 3)
    grid.setRowStretch(6, 1)
    return panel
