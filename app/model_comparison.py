"""Model → Compare trained models…: every model side by side, in one table and one plot.

Rows: the bundled model, each model kept in the models folder, and a new
model still waiting in Retrain to be kept or discarded. Columns come from
:func:`model.comparison.summarise`; the accuracy on my drawings is measured
on their held-out share, which no retraining trains on. The plot shows each
model's training (solid) and validation (dashed) accuracy per epoch: where the
two part, the network has started to learn its training set by heart.
The figures are gathered in a background thread (a few models are loaded).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QDialog, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from . import theme
from .workers import OneShotThreads

COLOURS = theme.SERIES
COLUMNS = ("Model", "Network", "MNIST test", "My drawings", "Training time", "Parameters", "Epochs", "Train − validation")


def models_to_compare(models_dir: Path, current: Path | None = None, candidate: Path | None = None) -> list[tuple[Path, str]]:
    """(path, label) of the bundled model, each model kept in ``models_dir`` (oldest first) and
    a ``candidate`` not yet kept; the one in use is marked."""
    from ..model.modelfile import bundled_model_path

    models: list[tuple[Path, str]] = [(bundled_model_path(), "bundled CNN")]
    try:
        kept = sorted(models_dir.glob("*.keras"), key=lambda p: p.stat().st_mtime)
    except OSError:
        kept = []
    models += [(p, p.stem) for p in kept]
    if candidate is not None and candidate.exists():
        models.append((candidate, "new (not kept yet)"))
    in_use = current.resolve() if current is not None else None
    return [(p, f"{label} · in use" if in_use is not None and p.resolve() == in_use else label) for p, label in models]


def _gather(models: list[tuple[Path, str]], drawings_root: Path | None, generation: int) -> tuple[list[tuple[Path, str, Any]], int, int]:
    """[(path, label, ModelSummary | str error)], held-out drawings, ``generation``: runs in a worker thread."""
    from ..model.comparison import summarise
    from ..model.my_drawings import held_out_inputs

    x = y = None
    if drawings_root is not None:
        try:
            x, y = held_out_inputs(drawings_root)
        except Exception:  # noqa: BLE001 (unreadable drawings are skipped; whatever else goes wrong must not stop the table)
            x = y = None
    rows: list[tuple[Path, str, Any]] = []
    for path, label in models:
        try:
            rows.append((path, label, summarise(path, x, y)))
        except Exception as exc:  # noqa: BLE001 (a damaged model is a row with its reason, not a failed dialog)
            rows.append((path, label, f"cannot be read: {exc}"))
    return rows, 0 if y is None else int(len(y)), generation


class ModelComparisonDialog(QDialog):
    """The comparison table and plot; ``refresh(models)`` measures a new list of (path, label)."""

    measured = Signal()

    def __init__(self, drawings_root: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare trained models")
        self.drawings_root = drawings_root
        self.rows: list[tuple[Path, str, Any]] = []
        self._threads = OneShotThreads("model-comparison")  # only the newest measurement is shown
        self._generation = 0
        self.status = QLabel("Measuring…")
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.plot = pg.PlotWidget(background=theme.PAPER)
        self.plot.setTitle("Accuracy per epoch: training (solid) and validation (dashed)", color=theme.PLOT_TEXT)
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", "accuracy")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, -10), labelTextColor=theme.PLOT_TEXT, brush=pg.mkBrush(*theme.rgb(theme.PAPER), 220))
        self.plot.setMinimumHeight(260)
        note = QLabel(
            "MNIST test: 10,000 images, from each model's training record. My drawings: the held-out share of "
            "your labelled drawings (no retraining trains on them). Where the validation curve stays below the "
            "training curve, the network is learning its training images by heart (overfitting)."
        )
        note.setWordWrap(True)
        note.setStyleSheet(theme.CAPTION_STYLE)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.table)
        layout.addWidget(self.plot, 1)
        layout.addWidget(note)
        self.resize(980, 680)

    def refresh(self, models: list[tuple[Path, str]]) -> None:
        """Measure ``models`` ((path, label) pairs) in the background, then show them."""
        self._generation += 1
        self.status.setText(f"Measuring {len(models)} models…")
        self._threads.start(partial(_gather, models, self.drawings_root, self._generation), result=self._finished)

    def busy(self) -> bool:
        return self._threads.busy()

    @Slot(object)
    def _finished(self, measured: tuple[list[tuple[Path, str, Any]], int, int]) -> None:
        rows, drawings, generation = measured
        if generation == self._generation:  # an older measurement, overtaken by a refresh: dropped
            self._show(rows, drawings)

    def _show(self, rows: list[tuple[Path, str, Any]], drawings: int) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        self.plot.clear()
        low = 1.0
        longest = 1
        for r, (path, label, s) in enumerate(rows):
            colour = COLOURS[r % len(COLOURS)]
            name = QTableWidgetItem(f"{label}" if label else path.name)
            name.setToolTip(str(path))
            name.setForeground(QColor(colour))
            self.table.setItem(r, 0, name)
            if isinstance(s, str):
                error = QTableWidgetItem(s)
                error.setForeground(QColor(theme.ERROR))
                self.table.setItem(r, 1, error)
                self.table.setSpan(r, 1, 1, len(COLUMNS) - 1)
                continue
            cells = (
                s.label,
                _percent(s.mnist_accuracy),
                _percent(s.drawings_accuracy) if s.drawings_count else "—",
                _duration(s.training_seconds),
                f"{s.parameters:,}",
                "—" if s.epochs is None else f"{s.epochs_before} + {s.epochs}" if s.epochs_before else str(s.epochs),
                "—" if s.overfit_gap is None else f"{100 * s.overfit_gap:+.2f} points",
            )
            for c, text in enumerate(cells, start=1):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter if c > 1 else Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
            self.table.item(r, 1).setToolTip(s.description)
            if s.epochs_before:
                self.table.item(r, 6).setToolTip(f"{s.epochs} epochs fine-tuning a model trained for {s.epochs_before} epochs")
            if not s.drawings_count:
                self.table.item(r, 3).setToolTip("Label some drawings (draw, then press its digit) to measure this")
            for values, style in ((s.train_curve, Qt.PenStyle.SolidLine), (s.val_curve, Qt.PenStyle.DashLine)):
                points = [(i + 1, v) for i, v in enumerate(values) if v is not None]
                if not points:
                    continue
                xs, ys = (np.array(a, float) for a in zip(*points))
                low, longest = min(low, float(ys.min())), max(longest, int(xs.max()))
                solid = style == Qt.PenStyle.SolidLine
                self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2, style=style), symbol="o" if solid else "s",
                               symbolSize=5, symbolBrush=colour, symbolPen=None, name=(label or path.name) if solid else None)
        rows_height = sum(self.table.rowHeight(r) for r in range(len(rows)))
        self.table.setFixedHeight(self.table.horizontalHeader().height() + rows_height + 2 * self.table.frameWidth() + 6)
        self.plot.setXRange(0.5, longest + 0.5, padding=0)
        self.plot.setYRange(max(0.0, np.floor(low * 50) / 50), 1.0, padding=0.02)
        held = f"{drawings} held-out drawings" if drawings else "no labelled drawings yet"
        self.status.setText(f"{len(rows)} models; my drawings: {held}. Hover a network's name for its layers.")
        self.measured.emit()

    def wait(self) -> None:
        """Let measurements under way finish (before the app quits)."""
        self._threads.wait(None)

    def closeEvent(self, event: Any) -> None:
        self.wait()
        super().closeEvent(event)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.2f} %"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 60 else f"{minutes / 60:.1f} h"
