"""Feature maps of a convolution layer as one mosaic, with a colour bar.

All maps of a layer share one colour scale (0 to the layer's largest
activation, rounded up to a round number so the legend stays still), shown by
the colour bar. Hovering a map names its layer and
channel; clicking it asks for an enlarged view (``mapClicked``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from ..mosaic import GAP, ColourScale, Palette, index_mosaic, nice_ceiling, pack_rgba, qt_colours
from .pixel_image import BACKGROUND, TEXT, ColourBar, PixelImage

COLORMAP = "inferno"
__all__ = ["GAP", "ColourScale", "FeatureMapView", "map_colours", "map_palette", "nice_ceiling"]


_PALETTE: Palette | None = None


def map_palette() -> Palette:
    """The feature maps' colour map and gap colour (built once)."""
    global _PALETTE
    if _PALETTE is None:
        rgba = pg.colormap.get(COLORMAP).getLookupTable(0.0, 1.0, 256, alpha=True, mode="byte")
        lut = np.ascontiguousarray(rgba, dtype=np.uint8).view(np.uint32).ravel()
        _PALETTE = Palette(lut, pack_rgba(BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue()))
    return _PALETTE


_COLOURS: tuple[int, ...] | None = None


def map_colours() -> tuple[int, ...]:
    """What the indices of a mosaic (``index_mosaic``) stand for, as Qt's 0xAARRGGBB colours."""
    global _COLOURS
    if _COLOURS is None:
        _COLOURS = qt_colours(map_palette())
    return _COLOURS


class FeatureMapView(QWidget):
    """The mosaic of one layer's feature maps, its title and its colour bar."""

    mapClicked = Signal(str, int)  # layer, channel
    hovered = Signal(str)  # a description of the map under the cursor ("" when none)

    def __init__(self, layer: str, shape: tuple[int, int, int], cols: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer = layer
        self.shape = shape
        self.cols = cols
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, BACKGROUND)
        self.setPalette(palette)
        self.title = QLabel(f"{layer}: {shape[2]} maps of {shape[0]}×{shape[1]}")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setStyleSheet(f"color: {TEXT.name()}; font-size: 10pt;")
        self.activations: np.ndarray | None = np.zeros(shape, np.float32)
        self.channel_max: np.ndarray | None = None
        self.image = PixelImage(index_mosaic(self.activations, cols)[0], colours=map_colours())
        self.image.hoveredAt.connect(self._hover)
        self.image.clickedAt.connect(self._click)
        self.colorbar = ColourBar(map_palette().lut.view(np.uint8).reshape(-1, 4))
        self.level = 1.0
        self.scale = ColourScale()  # used when the caller does not colour the maps itself
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title, 0, 0, 1, 2)
        layout.addWidget(self.image, 1, 0)
        layout.addWidget(self.colorbar, 1, 1)
        layout.setRowStretch(1, 1)
        self.setMinimumSize(220, 160)

    def show_activations(
        self, activations: np.ndarray | None, coloured: tuple[np.ndarray, float] | None = None, channel_max: np.ndarray | None = None
    ) -> None:
        """Show (H, W, C) activations (None and no ``coloured``: blank maps); ``coloured`` is
        ``index_mosaic(activations, cols)`` when the caller has it already, and may come without
        the activations, with each map's maximum in ``channel_max`` (for the hover text)."""
        if activations is None and coloured is None:
            activations, channel_max = np.zeros(self.shape, np.float32), None
        self.activations = activations
        self.channel_max = channel_max
        pixels, level = coloured if coloured is not None else index_mosaic(activations, self.cols, self.scale)
        self.image.set_pixels(pixels)
        self.level = level
        self.colorbar.set_level(level)

    def channel_at(self, pos: QPointF) -> int | None:
        """The channel under an image-coordinate position, or None in a gap or outside."""
        h, w, c = self.shape
        if pos.x() < 0 or pos.y() < 0:
            return None
        x, y = int(pos.x()), int(pos.y())
        col, cx = divmod(x, w + GAP)
        row, cy = divmod(y, h + GAP)
        if cx >= w or cy >= h or col >= self.cols:
            return None
        channel = row * self.cols + col
        return channel if channel < c else None

    def describe(self, channel: int) -> str:
        top = self.channel_max[channel] if self.channel_max is not None else self.activations[:, :, channel].max()
        return f"{self.layer} · channel {channel} · max {float(top):.2f}  (click to enlarge)"

    def _hover(self, pos: QPointF | None) -> None:
        channel = None if pos is None else self.channel_at(pos)
        text = "" if channel is None else self.describe(channel)
        self.image.setToolTip(text)
        self.hovered.emit(text)

    def _click(self, pos: QPointF) -> None:
        channel = self.channel_at(pos)
        if channel is not None:
            self.mapClicked.emit(self.layer, channel)
