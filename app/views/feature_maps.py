"""Feature maps of a convolution layer as one mosaic, with a colour bar.

All maps of a layer share one colour scale (0 to the layer's largest
activation, rounded up to a round number so the legend stays still), shown by
the colour bar. Hovering a map names its layer and
channel; clicking it asks for an enlarged view (``mapClicked``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

COLORMAP = "inferno"
GAP = 1


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 3, 5, 7 × 10^k at or above ``value``: a colour-bar top
    that stays put while the activations wobble."""
    if value <= 1e-6:
        return 1.0
    exp = np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 5.0, 7.0, 10.0):
        if step * 10**exp >= value * (1 - 1e-9):
            return float(step * 10**exp)
    return float(10 ** (exp + 1))


def mosaic(activations: np.ndarray, cols: int, gap: int = GAP) -> np.ndarray:
    """(H, W, C) maps → one (rows·(H+gap)−gap, cols·(W+gap)−gap) image, NaN in the gaps."""
    h, w, c = activations.shape
    rows = -(-c // cols)
    tiles = np.full((rows * cols, h, w), np.nan, np.float32)
    tiles[:c] = activations.transpose(2, 0, 1)
    out = np.full((rows, h + gap, cols, w + gap), np.nan, np.float32)
    out[:, :h, :, :w] = tiles.reshape(rows, cols, h, w).transpose(0, 2, 1, 3)
    return out.reshape(rows * (h + gap), cols * (w + gap))[: rows * (h + gap) - gap, : cols * (w + gap) - gap]


class FeatureMapView(pg.GraphicsLayoutWidget):
    """The mosaic of one layer's feature maps."""

    mapClicked = Signal(str, int)  # layer, channel
    hovered = Signal(str)  # a description of the map under the cursor ("" when none)

    def __init__(self, layer: str, shape: tuple[int, int, int], cols: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.shape = shape
        self.cols = cols
        self.setBackground("#1b1f24")
        self.title = self.addLabel(f"{layer}: {shape[2]} maps of {shape[0]}×{shape[1]}", color="#d5dae1", size="10pt")
        self.nextRow()
        self.view = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False)
        self.activations = np.zeros(shape, np.float32)
        self.image = pg.ImageItem(mosaic(self.activations, cols), levels=(0.0, 1.0))
        self.image.setColorMap(pg.colormap.get(COLORMAP))
        self.view.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=COLORMAP, interactive=False, width=12)
        self.colorbar.setImageItem(self.image)
        self.addItem(self.colorbar)
        self.level = 1.0
        self.image.setAcceptHoverEvents(True)
        self.image.hoverEvent = self._hover  # type: ignore[method-assign]
        self.image.mouseClickEvent = self._click  # type: ignore[method-assign]
        self.setMinimumSize(220, 160)

    def show_activations(self, activations: np.ndarray | None) -> None:
        """Show (H, W, C) activations; None blanks the maps."""
        acts = np.zeros(self.shape, np.float32) if activations is None else activations
        self.activations = acts
        level = nice_ceiling(float(acts.max()))
        self.image.setImage(mosaic(acts, self.cols), autoLevels=False, levels=(0.0, level))
        if level != self.level:  # redrawing the legend costs more than the maps
            self.level = level
            self.colorbar.setLevels((0.0, level), update_items=False)

    def channel_at(self, pos: QPointF) -> int | None:
        """The channel under an image-coordinate position, or None in a gap or outside."""
        h, w, c = self.shape
        x, y = int(pos.x()), int(pos.y())
        if x < 0 or y < 0:
            return None
        col, cx = divmod(x, w + GAP)
        row, cy = divmod(y, h + GAP)
        if cx >= w or cy >= h or col >= self.cols:
            return None
        channel = row * self.cols + col
        return channel if channel < c else None

    def describe(self, channel: int) -> str:
        values = self.activations[:, :, channel]
        return f"{self.layer} · channel {channel} · max {float(values.max()):.2f}  (click to enlarge)"

    def _hover(self, event) -> None:  # pyqtgraph HoverEvent
        if event.isExit():
            self.setToolTip("")
            self.hovered.emit("")
            return
        channel = self.channel_at(event.pos())
        text = "" if channel is None else self.describe(channel)
        self.setToolTip(text)
        self.hovered.emit(text)

    def _click(self, event) -> None:  # pyqtgraph MouseClickEvent
        channel = self.channel_at(event.pos())
        if channel is not None:
            event.accept()
            self.mapClicked.emit(self.layer, channel)
