"""Retrain's choice of preset: your own settings, or one of the talk's three lessons in one click."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QVBoxLayout, QWidget

from ..model.presets import PRESETS, TrainPreset
from . import theme

CUSTOM = "Your own settings"


class PresetChoice(QWidget):
    """A combo box of :data:`~digitscope.model.presets.PRESETS` and a line saying what the chosen one runs."""

    changed = Signal(object)  # the TrainPreset chosen, or None for the person's own settings

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.addItem(CUSTOM, None)
        for preset in PRESETS.values():
            self.combo.addItem(preset.label, preset.key)
            self.combo.setItemData(self.combo.count() - 1, preset.lesson[:1].upper() + preset.lesson[1:], Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("Show underfitting, a good fit or overfitting: the CNN from scratch on a slice of MNIST")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setMaximumWidth(320)
        self.summary.setStyleSheet(theme.CAPTION_STYLE)
        self.summary.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.summary)
        self.combo.currentIndexChanged.connect(lambda _: self._chosen())

    def preset(self) -> TrainPreset | None:
        key = self.combo.currentData()
        return None if key is None else PRESETS[key]

    def choose(self, key: str | None) -> None:
        self.combo.setCurrentIndex(0 if key is None else max(0, self.combo.findData(key)))

    def _chosen(self) -> None:
        preset = self.preset()
        if preset is not None:
            self.summary.setText(f"Runs {preset.summary}. Expect {preset.lesson}.")
        self.summary.setVisible(preset is not None)
        self.changed.emit(preset)
