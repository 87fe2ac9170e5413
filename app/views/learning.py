"""What the network learns while Retrain runs, frame by frame.

Each frame is one ``weights`` event of the ``train`` process (:class:`~digitscope.model.
learning_frames.LearningFrame`): conv1's 32 kernels and conv2's 64 (each averaged over its 32
inputs) on a shared diverging colour scale, and a probe digit read by the network as it is
then: its conv1 maps and ten probabilities. Frames are kept (at most :data:`MAX_FRAMES`,
thinned evenly when there are more), and after the run a slider scrubs back through them.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QSlider, QSizePolicy, QVBoxLayout, QWidget

from ...model.learning_frames import LearningFrame
from .. import theme
from ..mosaic import GAP_INDEX, LEVELS, FixedScale, Palette, index_mosaic, nice_ceiling, pack_rgba, qt_colours
from .feature_maps import map_colours
from .pixel_image import BACKGROUND, ColourBar, PixelImage, grey
from .text_line import TextLine

#: Frames kept for the slider: about 7 MB; a longer run keeps every other one, evenly.
MAX_FRAMES = 240
#: What the view says before its first run, while its filters are still blank.
IDLE_NOTE = "Press Train to watch the filters take shape and the probe digit being read, frame by frame."
KERNEL_COLS = 8  # conv1's 32 kernels as 4 rows of 8, conv2's 64 as 8 rows of 8, the probe's 32 maps as 4 of 8


def _diverging_rgba() -> np.ndarray:
    """(LEVELS, 4) uint8 from NEGATIVE (blue) through near-white at 0 to POSITIVE (red)."""
    neg, mid, pos = (np.array([*theme.rgb(c), 255], np.float32) for c in (theme.NEGATIVE, "#f2f2f2", theme.POSITIVE))
    t = np.linspace(-1.0, 1.0, LEVELS, dtype=np.float32)[:, None]
    rgba = np.where(t < 0, mid + (neg - mid) * -t, mid + (pos - mid) * t)
    return np.round(rgba).astype(np.uint8)


DIVERGING = _diverging_rgba()


_GAP = pack_rgba(BACKGROUND.red(), BACKGROUND.green(), BACKGROUND.blue())
DIVERGING_COLOURS = qt_colours(Palette(DIVERGING.view(np.uint32).ravel(), _GAP))


def kernel_mosaic(kernels: np.ndarray, cols: int = KERNEL_COLS) -> tuple[np.ndarray, float]:
    """Signed (3, 3, C) kernels as one index mosaic on the symmetric scale [-level, level], and that level."""
    level = nice_ceiling(float(np.abs(kernels).max()))
    shifted = (np.asarray(kernels, np.float32) + level) / (2 * level)  # [-level, level] → [0, 1]
    index, _ = index_mosaic(shifted, cols, FixedScale(1.0))
    return index, level


class ProbeBars(QWidget):
    """Ten small bars, 0–9, the top one in the app's blue."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros(10, np.float32)
        self.setMinimumHeight(64)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_values(self, values: np.ndarray) -> None:
        self.values = np.asarray(values, np.float32)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(220, 64)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        text_h = painter.fontMetrics().height()
        width = self.width() / 10
        top = int(self.values.argmax()) if self.values.any() else -1
        for d, v in enumerate(self.values):
            h = max(0.0, min(1.0, float(v))) * (self.height() - text_h - 2)
            bar = QRectF(d * width + 2, self.height() - text_h - h, width - 4, h)
            painter.fillRect(bar, QColor(theme.BLUE if d == top else theme.BAR))
            painter.setPen(QColor(theme.PLOT_TEXT))
            painter.drawText(QRectF(d * width, self.height() - text_h, width, text_h), Qt.AlignmentFlag.AlignCenter, str(d))
        painter.end()


class LearningView(QWidget):
    """The filters and the probe digit as training goes; ``add_frame`` during a run, ``finish`` after."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frames: list[LearningFrame] = []
        self.shown = -1
        self.thinning = 1  # keep every n-th frame that arrives (doubles each time the store fills)
        self._arrived = 0
        self._latest: LearningFrame | None = None
        blank1, _ = kernel_mosaic(np.zeros((3, 3, 32), np.float32))
        blank2, _ = kernel_mosaic(np.zeros((3, 3, 64), np.float32))
        self.conv1 = PixelImage(blank1, colours=DIVERGING_COLOURS)
        self.conv2 = PixelImage(blank2, colours=DIVERGING_COLOURS)
        self.conv1_bar = ColourBar(DIVERGING, symmetric=True)
        self.conv2_bar = ColourBar(DIVERGING, symmetric=True)
        self.probe_input = PixelImage(np.zeros((28, 28), np.uint8))
        blank_maps, _ = index_mosaic(np.zeros((26, 26, 32), np.float32), KERNEL_COLS)
        self.probe_maps = PixelImage(blank_maps, colours=map_colours())
        self.bars = ProbeBars()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.show_frame)
        self.frame_label = TextLine(alignment=Qt.AlignmentFlag.AlignLeft)
        self.note = QLabel(IDLE_NOTE)
        self.note.setWordWrap(True)
        self.note.setStyleSheet(theme.CAPTION_STYLE)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("<b>What it learns</b>")
        layout.addWidget(title)
        grid = QGridLayout()
        for row, (text, image, bar) in enumerate((
            ("conv1: its 32 filters (3×3 weights)", self.conv1, self.conv1_bar),
            ("conv2: its 64 filters, each averaged over its 32 inputs", self.conv2, self.conv2_bar),
        )):
            caption = QLabel(text)
            caption.setStyleSheet(theme.CAPTION_STYLE)
            grid.addWidget(caption, 2 * row, 0, 1, 2)
            grid.addWidget(image, 2 * row + 1, 0)
            grid.addWidget(bar, 2 * row + 1, 1)
        self.conv1.setMinimumSize(200, 100)
        self.conv2.setMinimumSize(200, 200)
        layout.addLayout(grid, 3)
        probe_caption = QLabel("The probe digit as the network reads it now: its conv1 maps and probabilities")
        probe_caption.setWordWrap(True)
        probe_caption.setStyleSheet(theme.CAPTION_STYLE)
        layout.addWidget(probe_caption)
        probe_row = QHBoxLayout()
        self.probe_input.setFixedSize(64, 64)
        probe_row.addWidget(self.probe_input, 0, Qt.AlignmentFlag.AlignTop)
        self.probe_maps.setMinimumSize(200, 110)
        probe_row.addWidget(self.probe_maps, 1)
        layout.addLayout(probe_row, 2)
        layout.addWidget(self.bars)
        layout.addWidget(self.slider)
        layout.addWidget(self.frame_label)
        layout.addWidget(self.note)

    # ------------------------------------------------------------------ a run

    def start(self, probe: np.ndarray, note: str = "") -> None:
        """A new run reading ``probe`` (28, 28) in [0, 1]: forget the last run's frames."""
        self.frames.clear()
        self.shown = -1
        self.thinning = 1
        self._arrived = 0
        self._latest = None
        self.probe_input.set_pixels(grey(probe))
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self.slider.setEnabled(False)
        self.frame_label.setText("Waiting for the first weights…")
        self.note.setText(note)

    def add_frame(self, frame: LearningFrame) -> None:
        """Keep ``frame`` (thinned when the store is full) and show it: the newest is always shown."""
        self._arrived += 1
        self._latest = frame
        if self.frames and (self._arrived - 1) % self.thinning:
            self._show(frame, len(self.frames))
            return
        if len(self.frames) >= MAX_FRAMES:
            self.frames = self.frames[::2]
            self.thinning *= 2
        self.frames.append(frame)
        self._show(frame, len(self.frames))

    def finish(self) -> None:
        """The run ended: the slider scrubs through its frames (the last one, the final weights, shown)."""
        if not self.frames:
            return
        if self._latest is not self.frames[-1]:
            self.frames.append(self._latest)
        self.slider.blockSignals(True)
        self.slider.setRange(0, len(self.frames) - 1)
        self.slider.setValue(len(self.frames) - 1)
        self.slider.blockSignals(False)
        self.slider.setEnabled(len(self.frames) > 1)
        self.show_frame(len(self.frames) - 1)

    def show_frame(self, index: int) -> None:
        """Show kept frame ``index`` (the slider's value)."""
        if 0 <= index < len(self.frames):
            self._show(self.frames[index], index + 1)

    # ------------------------------------------------------------------ drawing

    def _show(self, frame: LearningFrame, number: int) -> None:
        self.shown = number - 1
        index, level = kernel_mosaic(frame.conv1)
        self.conv1.set_pixels(index)
        self.conv1_bar.set_level(level)
        index, level = kernel_mosaic(frame.conv2)
        self.conv2.set_pixels(index)
        self.conv2_bar.set_level(level)
        maps, _ = index_mosaic(frame.probe_maps, KERNEL_COLS)
        self.probe_maps.set_pixels(maps)
        self.bars.set_values(frame.probe_probabilities)
        best = int(np.argmax(frame.probe_probabilities))
        when = "before training" if frame.step == 0 else f"epoch {frame.epoch}, batch {frame.batch}"
        self.frame_label.setText(
            f"frame {number}/{max(number, len(self.frames))} · {when} · {frame.seconds:.0f} s · "
            f"reads {best} ({100 * float(frame.probe_probabilities[best]):.0f} %)"
        )


__all__ = ["DIVERGING", "GAP_INDEX", "MAX_FRAMES", "LearningView", "kernel_mosaic"]
