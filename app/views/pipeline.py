"""View → How it reads your digit: the whole path of the current drawing through the CNN.

A strip of the six stages (input → conv1 → conv2 → max-pool → dense →
softmax) over a detail panel for the stage clicked: step-throughs of a
convolution or of the max-pooling on the user's own digit, the dense units
behind the answer, the softmax sums. Live: :meth:`PipelineView.show_reading`
is called for every reading while the view is visible.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QDialog, QLabel, QStackedWidget, QVBoxLayout, QWidget

from .. import theme
from ..mosaic import nice_ceiling
from ..reading import MapColouring
from ..verdict_text import looks_like_digit, reading_sentence
from .pipeline_panels import DenseVotes, InputPanel, SoftmaxTable, painted_panel
from .pipeline_strip import ACCENT, KEYS, MUTED, PANEL, PipelineStrip
from .pixel_image import BACKGROUND, TEXT
from .step_through import ConvStepThrough, PoolStepThrough, StepThrough, set_text
from .text_line import TextLine

#: The activations each stage's detail needs, and their shapes, for the CNN.
NEEDS = {"conv1": {"conv1": (26, 26, 32)}, "conv2": {"conv1": (26, 26, 32), "conv2": (24, 24, 64)},
         "pool": {"conv2": (24, 24, 64), "pool": (12, 12, 64)}, "dense": {"dense": (128,)}, "softmax": {"dense": (128,)}}
HINT = "Click a stage to see how it is computed; click a map to step through it. Everything follows your drawing live."


def dark_palette(widget: QWidget) -> None:
    """The dark colours of the feature-map views, for a whole window and its controls."""
    palette = widget.palette()
    for role, colour in ((QPalette.ColorRole.Window, BACKGROUND), (QPalette.ColorRole.WindowText, TEXT),
                         (QPalette.ColorRole.Base, QColor(theme.DARK_BASE)), (QPalette.ColorRole.AlternateBase, PANEL),
                         (QPalette.ColorRole.Text, TEXT), (QPalette.ColorRole.Button, PANEL),
                         (QPalette.ColorRole.ButtonText, TEXT), (QPalette.ColorRole.Highlight, ACCENT.darker(150)),
                         (QPalette.ColorRole.HighlightedText, QColor(theme.DARK_HIGHLIGHTED_TEXT)), (QPalette.ColorRole.ToolTipBase, PANEL),
                         (QPalette.ColorRole.ToolTipText, TEXT), (QPalette.ColorRole.PlaceholderText, MUTED)):
        palette.setColor(role, colour)
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


class PipelineView(QDialog):
    """The strip of stages and the selected stage's detail, kept up to date by :meth:`show_reading`."""

    needsChanged = Signal()  # the activations it needs (``needs()``) changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("How it reads your digit")
        dark_palette(self)
        self.reading: Any = None
        self.weights: Any = None
        self.model_name = ""
        self.updates = 0  # readings shown (tests check a hidden view is left alone)
        self.strip = PipelineStrip()
        self.status = QLabel(HINT)
        self.status.setStyleSheet(f"color: {MUTED.name()};")
        # the answer, and whether the drawing looks like a digit at all: new text with every
        # reading, so a line that repaints itself alone (a QLabel would relayout the dialog)
        self.answer = TextLine("", 17, TEXT, QFont.Weight.DemiBold, Qt.AlignmentFlag.AlignLeft)
        self.panels: dict[str, QWidget] = {
            "input": InputPanel(),
            "conv1": ConvStepThrough("conv1"),
            "conv2": ConvStepThrough("conv2"),
            "pool": PoolStepThrough(),
            "dense": DenseVotes(),
            "softmax": SoftmaxTable(),
        }
        self.stack = QStackedWidget()
        for key in KEYS:
            panel = self.panels[key]
            if key == "dense":
                panel = painted_panel("dense", "Each of the 128 units adds up all 9216 pooled values (12×12×64), each times "
                                      "its own weight, plus a bias, then ReLU; the strip shows them as 16 rows of 8. "
                                      "The output layer then weighs the 128 units for each digit:", panel)
            elif key == "softmax":
                panel = painted_panel("softmax", "From scores to probabilities.", panel)
            self.stack.addWidget(panel)
        self.containers = {key: self.stack.widget(i) for i, key in enumerate(KEYS)}
        for key in ("conv1", "conv2", "pool"):
            self.panels[key].channelChanged.connect(lambda channel, k=key: self.strip.set_channel(k, channel))
        self.strip.stageClicked.connect(self.select)
        self.strip.mapClicked.connect(self.select)
        self.strip.hovered.connect(lambda text: set_text(self.status, text or self.hint()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.status)
        layout.addWidget(self.answer)
        layout.addWidget(self.strip, 2)
        layout.addWidget(self.stack, 3)
        self.select("conv1")
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1440, int(screen.width() * 0.95)) if screen else 1440, min(860, int(screen.height() * 0.9)) if screen else 860)

    @property
    def selected(self) -> str:
        return self.strip.selected

    #: The strip's mosaics laid out with each reading (``reading.MapColouring``) besides the
    #: main window's conv1 and conv2: its stages need no activations whole.
    MOSAICS = MapColouring.EXTRA

    def needs(self) -> frozenset[str]:
        """The activations the view needs whole: what the selected stage's detail steps through."""
        return frozenset(NEEDS.get(self.selected, {}))

    def select(self, stage: str, channel: int | None = None) -> None:
        """Show ``stage``'s detail; for conv1, conv2 and max-pool, ``channel`` picks the map."""
        before = self.needs()
        self.strip.select(stage, channel)
        if self.needs() != before:
            self.needsChanged.emit()  # before the detail is shown: the reading on screen is completed first
        self.stack.setCurrentWidget(self.containers[stage])
        panel = self.panels[stage]
        if channel is not None and isinstance(panel, StepThrough):
            panel.set_channel(channel)
        self._update_panel(stage)

    def hint(self) -> str:
        return HINT if not self.model_name else f"Read by {self.model_name}. {HINT}"

    def show_reading(self, reading: Any, predictor: Any) -> None:
        """Show ``reading`` (a :class:`..reading.Reading`, or None) as read with ``predictor``."""
        self.updates += 1
        self.reading = reading
        self.weights = getattr(predictor, "cnn_weights", None)
        name = str(getattr(predictor, "name", "")) if predictor is not None else ""
        if name != self.model_name:
            self.model_name = name
            set_text(self.status, self.hint())
        pred = reading.prediction if reading is not None else None
        tensor = reading.tensor if reading is not None else None
        acts = pred.activations if pred is not None else {}
        missing = "not available for this model" if pred is not None else ""
        empty = (reading.error if reading is not None else None) or "Draw a digit"
        digit = looks_like_digit(pred.is_digit if pred is not None else None)
        self.strip.show_stages(tensor, acts, reading.prepared if reading is not None else None,
                               pred.probabilities if pred is not None else None, missing, empty, digit)
        self.answer.setText(reading_sentence(pred) if pred is not None else "")
        self._update_panel(self.selected)

    def _why_not(self, stage: str) -> str | None:
        """Why ``stage``'s detail cannot be shown for the current reading (None: it can)."""
        reading = self.reading
        if reading is None or reading.tensor is None:
            return (reading.error if reading is not None and reading.error else None) or "Draw a digit on the canvas."
        if reading.prediction is None:
            return reading.error or "Waiting for the model…"
        if stage == "input":
            return None
        acts = reading.prediction.activations
        if self.weights is None or any(getattr(acts.get(k), "shape", None) != s for k, s in NEEDS[stage].items()):
            name = self.model_name or "This model"
            return (f"{name} is not the digitscope CNN (or its weights could not be read with NumPy), so this step "
                    "cannot be taken apart here. The strip shows the stages the model does report.")
        return None

    def _update_panel(self, stage: str) -> None:
        """Refresh the detail on show (only the visible one: the others catch up when chosen)."""
        panel, why = self.panels[stage], self._why_not(stage)
        reading = self.reading
        if stage == "input":
            panel.show_data(reading.tensor if reading is not None else None)
            return
        if why is not None:
            panel.show_data(None, why)
            return
        acts, w = reading.prediction.activations, self.weights
        if stage == "conv1":
            panel.show_data({"in": reading.tensor, "out": acts["conv1"], "weights": w, "out_level": self._level("conv1")})
        elif stage == "conv2":
            panel.show_data({"in": acts["conv1"], "out": acts["conv2"], "weights": w,
                             "in_level": self._level("conv1"), "out_level": self._level("conv2")})
        elif stage == "pool":
            panel.show_data({"in": acts["conv2"], "out": acts["pool"], "in_level": self._level("conv2")})
        else:
            panel.show_data({"dense": acts["dense"], "weights": w, "digit": reading.prediction.digit,
                             "is_digit": looks_like_digit(reading.prediction.is_digit)})

    def _level(self, layer: str) -> float:
        """The layer's colour-scale top: the main window's (from the reading) when it has one."""
        prepared = (self.reading.prepared or {}).get(layer)
        if prepared is not None:
            return float(prepared[1])
        return nice_ceiling(float(np.max(self.reading.prediction.activations[layer])))
