"""Model → Retrain…: choose data and settings, watch the run, compare, then keep or discard.

The run itself is a separate ``digitscope train`` process (see
:mod:`.training_process`); this dialog only builds its arguments and shows its
JSON progress. What each network can do (fine-tuning, augmentation, its
rate and batch) comes from :data:`model.architecture.ARCHITECTURES`; the
arguments are those of a :class:`model.train_run.TrainRequest`. The new model
is written to ``models/candidates/`` in the user's data folder; Keep moves it
with its metadata to ``models/`` (:func:`model.modelfile.promote_model`) and
hands it to the main window; Discard, Cancel or a failure delete it, with any
temporary file a killed run left (stale ones of earlier runs go when a run
starts). The model in use is never touched.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGraphicsItem,
    QGroupBox,
    QHeaderView,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from ..model.architecture import ARCHITECTURES, DEFAULT_ARCHITECTURE, ArchitectureSpec
from ..model.drawing import Drawing
from ..model.my_drawings import DrawingStore
from ..model.presets import TrainPreset, explanation, parting
from ..model.train_run import TrainRequest
from . import theme
from .mosaic import nice_ceiling
from .preset_choice import PresetChoice
from .training_process import TrainingRun
from .views.learning import LearningView


def mnist_state(path: str | None) -> tuple[Path | None, str]:
    """The MNIST file training would use and a sentence for the user."""
    from ..model.mnist import MnistUnavailable, find_mnist

    try:
        found = find_mnist(path or None)
    except MnistUnavailable as exc:
        return None, f"✗ {exc}"
    if found is None:
        return None, "✗ No MNIST file here. Choose your mnist.npz (Keras's format), or training will try to download it (11 MB)."
    return found, f"✓ {found}"


def check_mnist_file(path: Path) -> str | None:
    """None if ``path`` looks like Keras's mnist.npz, else what is wrong (cheap: no arrays loaded)."""
    try:
        with np.load(path) as npz:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
    except Exception as exc:  # noqa: BLE001 (np.load raises many kinds for a file that is not an .npz)
        return f"{path.name} is not an .npz file ({exc})"
    return f"{path.name} lacks {', '.join(sorted(missing))}" if missing else None


class RetrainDialog(QDialog):
    """Retrain the model on MNIST and my drawings; ``kept`` gives the new model's file."""

    kept = Signal(Path)

    def __init__(
        self, settings: QSettings, store: DrawingStore, current_model: Path | None, models_dir: Path, parent: QWidget | None = None,
        probe: Callable[[], Drawing] | None = None,
    ) -> None:
        """``probe`` gives the drawing on the canvas: the digit "What it learns" reads as the network trains."""
        super().__init__(parent)
        self.setWindowTitle("Retrain the model")
        self.settings, self.store, self.current_model, self.models_dir = settings, store, current_model, models_dir
        self.probe_source = probe
        self.probe_file: Path | None = None  # the canvas's drawing, written for the train process
        self.weights_interval = TrainRequest.weights_interval  # seconds between "What it learns" frames (0: none)
        self.events: list[dict[str, Any]] = []  # this run's start and epoch events (where its curves part)
        self.run: TrainingRun | None = None
        self.candidate: Path | None = None
        self.comparison: Any = None  # ModelComparisonDialog, made on first use
        self.current_architecture = self._architecture_of(current_model)
        self.epochs_total = 1
        self.started = 0.0
        self.skipped_note = ""
        self.verdict_note = ""
        self._y_ranges = {}
        self.history: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "batch_loss", "batch_accuracy")
        }

        layout = QHBoxLayout(self)
        layout.addWidget(self._settings_panel())
        layout.addWidget(self._progress_panel(), 1)
        self.learning = LearningView()
        self.learning.setMinimumWidth(300)
        layout.addWidget(self.learning)
        self._refresh_data()
        self._set_state("idle")
        self._network_changed()
        self._preset_axes()
        self.epochs.valueChanged.connect(lambda _: self._preset_axes() if not self.busy() else None)
        room = self.screen().availableGeometry() if self.screen() is not None else None
        self.resize(min(1420, room.width() - 40) if room else 1420, min(700, room.height() - 60) if room else 700)

    # ------------------------------------------------------------------ layout

    @staticmethod
    def _architecture_of(path: Path | None) -> str | None:
        if path is None:
            return None
        from ..model.architecture import architecture_of
        from ..model.modelfile import read_metadata

        return architecture_of(read_metadata(path))

    def _settings_panel(self) -> QWidget:
        box = QGroupBox("Data and settings")
        form = QFormLayout(box)
        self.presets = PresetChoice()
        self.presets.changed.connect(self._preset_changed)
        form.addRow("Preset", self.presets)
        self._data_rows(form)
        self._training_rows(form)
        self._button_rows(form)
        self.network.currentIndexChanged.connect(lambda _: self._network_changed())
        return box

    def _data_rows(self, form: QFormLayout) -> None:
        """The network to train and what to train it on."""
        self.network = QComboBox()
        for spec in ARCHITECTURES.values():
            self.network.addItem(spec.choice, spec.key)
            self.network.setItemData(self.network.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole)
        self.network.setToolTip("Which network to train: the CNN, or one of the simpler networks to compare it with")
        form.addRow("Network", self.network)
        self.mnist_label = QLabel()
        self.mnist_label.setWordWrap(True)
        self.mnist_label.setMaximumWidth(320)
        choose = QPushButton("Choose mnist.npz…")
        choose.clicked.connect(self.choose_mnist)
        form.addRow("MNIST", self.mnist_label)
        form.addRow("", choose)
        self.use_drawings = QCheckBox()
        self.use_drawings.setChecked(self.settings.value("training/use_drawings", True, bool))
        self.drawings_weight = QDoubleSpinBox()
        self.drawings_weight.setRange(0.0, 1000.0)
        self.drawings_weight.setValue(self.settings.value("training/drawings_weight", 10.0, float))
        self.drawings_weight.setSuffix(" × an MNIST image")
        form.addRow("My drawings", self.use_drawings)
        form.addRow("  each weighs", self.drawings_weight)

    def _training_rows(self, form: QFormLayout) -> None:
        """Epochs, batch, where to start from, the rate, augmentation, validation."""
        default = ARCHITECTURES[DEFAULT_ARCHITECTURE]
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(12)
        self.batch = QSpinBox()
        self.batch.setRange(8, 4096)
        self.batch.setValue(default.batch_size)
        form.addRow("Epochs", self.epochs)
        form.addRow("Batch size", self.batch)
        self.fine_tune = QRadioButton("Fine-tune the current model")
        self.scratch = QRadioButton("Train from scratch")
        group = QButtonGroup(self)
        group.addButton(self.fine_tune)
        group.addButton(self.scratch)
        self.fine_tune.setChecked(self.current_model is not None)
        self.scratch.setChecked(self.current_model is None)
        self.fine_tune.setEnabled(self.current_model is not None)
        self.fine_tune.toggled.connect(self._start_changed)
        form.addRow("Start", self.fine_tune)
        form.addRow("", self.scratch)
        self.layers = QComboBox()
        self.layers.addItem("Dense layers only (2–3× faster)", "dense")
        self.layers.addItem("All layers", "all")
        self.layers.setToolTip("Fine-tuning the dense layers keeps the convolution filters as they are")
        form.addRow("  train", self.layers)
        self.rate = QDoubleSpinBox()
        self.rate.setDecimals(5)
        self.rate.setRange(1e-5, 5.0)
        self.rate.setSingleStep(1e-4)
        self.rate.setValue(default.fine_tune_rate if self.fine_tune.isChecked() else default.learning_rate)
        self.layers.setEnabled(self.fine_tune.isChecked())
        form.addRow("Learning rate", self.rate)
        self.augment = QCheckBox("MNIST made to look drawn")
        self.augment.setToolTip(AUGMENT_TIP)
        self.augment.setChecked(True)
        form.addRow("Augmentation", self.augment)
        self.validation = QDoubleSpinBox()
        self.validation.setRange(0.0, 0.9)
        self.validation.setSingleStep(0.05)
        self.validation.setValue(0.1)
        form.addRow("Validation split", self.validation)

    def _button_rows(self, form: QFormLayout) -> None:
        buttons = QHBoxLayout()
        self.train_button = QPushButton("Train")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel_training)
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        self.compare_button = QPushButton("Compare trained models…")
        self.compare_button.setToolTip("Every model you kept, the bundled one and a new one side by side: accuracy, time, size, curves")
        self.compare_button.clicked.connect(self.compare_models)
        form.addRow(self.compare_button)

    def architecture(self) -> str:
        """The chosen network: "cnn", "dense" or "numpy"."""
        return self.network.currentData()

    def spec(self) -> ArchitectureSpec:
        """What the chosen network is and can do."""
        return ARCHITECTURES[self.architecture()]

    def set_architecture(self, key: str) -> None:
        self.network.setCurrentIndex(max(0, self.network.findData(key)))

    def _network_changed(self) -> None:
        """Fit the other settings to the chosen network: what it can fine-tune, its optimiser's step."""
        spec = self.spec()
        can_fine_tune = self.current_model is not None and spec.can_fine_tune and spec.key == self.current_architecture
        self.fine_tune.setEnabled(can_fine_tune)
        self.fine_tune.setToolTip("" if can_fine_tune else FINE_TUNE_TIP)
        if not can_fine_tune:
            self.scratch.setChecked(True)
        elif self.current_model is not None and spec.key == DEFAULT_ARCHITECTURE:
            self.fine_tune.setChecked(True)
        if not spec.can_augment and self.augment.isEnabled():  # shown off, as it is; the person's choice comes back after
            self._augment_choice = self.augment.isChecked()
            self.augment.setChecked(False)
        elif spec.can_augment and not self.augment.isEnabled():
            self.augment.setChecked(getattr(self, "_augment_choice", True))
        self.augment.setEnabled(spec.can_augment)
        self.augment.setToolTip(AUGMENT_TIP if spec.can_augment else f"The {spec.label} trains on MNIST as it is")
        self.batch.setValue(spec.batch_size)
        step = spec.learning_rate / 10
        self.rate.setDecimals(_decimals(step) + 1)
        self.rate.setSingleStep(step)
        self._start_changed(self.fine_tune.isChecked())
        self.rate.setToolTip(spec.rate_meaning[:1].upper() + spec.rate_meaning[1:])

    def _preset_changed(self, preset: TrainPreset | None) -> None:
        """A preset shows the settings it runs, not editable; "Your own settings" makes them editable again."""
        own = preset is None
        if not own:
            if self.use_drawings.isEnabled():
                self._own_drawings = self.use_drawings.isChecked()
            self.set_architecture(preset.architecture)
            self.scratch.setChecked(True)
            spec = ARCHITECTURES[preset.architecture]
            self.epochs.setValue(preset.epochs)
            self.batch.setValue(preset.batch_size or spec.batch_size)
            self.rate.setValue(preset.learning_rate or spec.learning_rate)
            self.augment.setChecked(preset.augment != "off")
            self.validation.setValue(preset.validation_split)
            self.use_drawings.setChecked(False)
        for widget in (self.network, self.fine_tune, self.scratch, self.layers, self.epochs, self.batch, self.rate, self.augment,
                       self.validation, self.use_drawings, self.drawings_weight):
            widget.setEnabled(own)
        if own:
            self.use_drawings.setChecked(getattr(self, "_own_drawings", self.use_drawings.isChecked()))
            self._refresh_data()
            self._network_changed()
        self._preset_axes()

    def comparison_models(self) -> list[tuple[Path, str]]:
        """The models to compare: the bundled one, each kept model, and a new one not yet kept."""
        from .model_comparison import models_to_compare

        return models_to_compare(self.models_dir, self.current_model, self.candidate)

    def _refresh_comparison(self) -> None:
        if self.comparison is not None and self.comparison.isVisible():
            self.comparison.refresh(self.comparison_models())

    def compare_models(self) -> Any:
        """Open (or refresh) the comparison of every trained model."""
        from .model_comparison import ModelComparisonDialog

        if self.comparison is None:
            self.comparison = ModelComparisonDialog(self.store.root, self)
        self.comparison.refresh(self.comparison_models())
        self.comparison.show()
        self.comparison.raise_()
        return self.comparison

    def _progress_panel(self) -> QWidget:
        panel = QWidget()
        grid = QGridLayout(panel)
        self.status = QLabel("Choose the data and press Train.")
        self.status.setWordWrap(True)
        grid.addWidget(self.status, 0, 0, 1, 2)
        self.epoch_bar = QProgressBar()
        self.epoch_bar.setFormat("epoch %p%")
        self.run_bar = QProgressBar()
        self.run_bar.setFormat("run %p%")
        self.eta = QLabel("")
        grid.addWidget(self.epoch_bar, 1, 0)
        grid.addWidget(self.run_bar, 1, 1)
        grid.addWidget(self.eta, 2, 0, 1, 2)
        self.loss_plot = self._plot("loss", legend_offset=(-10, 10))
        self.acc_plot = self._plot("accuracy", legend_offset=(-10, -30))  # below the curves, which sit near 1
        self.curves = {
            f"{prefix}{kind}": plot.plot(pen=pg.mkPen(colour, width=width), name=name, **marks)
            for plot, kind in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy"))
            for prefix, colour, width, name, marks in CURVES
        }
        grid.addWidget(self.loss_plot, 3, 0)
        grid.addWidget(self.acc_plot, 3, 1)
        self.parted_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(theme.CAPTION, width=1, style=Qt.PenStyle.DashLine))
        self.parted_line.hide()
        self.acc_plot.addItem(self.parted_line)
        self.parting_note = QLabel("")
        self.parting_note.setWordWrap(True)
        self.parting_note.setStyleSheet(theme.CAPTION_STYLE)
        grid.addWidget(self.parting_note, 7, 0, 1, 2)
        self.results = self._results_table()
        caption = QLabel("Accuracy, current vs new model")
        caption.setStyleSheet(theme.CAPTION_STYLE)
        grid.addWidget(caption, 4, 0)
        confusion_caption = QLabel("New model on MNIST test (rows: true digit)")
        confusion_caption.setStyleSheet(theme.CAPTION_STYLE)
        grid.addWidget(confusion_caption, 4, 1)
        grid.addWidget(self.results, 5, 0, Qt.AlignmentFlag.AlignTop)
        self.confusion = self._confusion_table()
        grid.addWidget(self.confusion, 5, 1, 2, 1)
        self.keep_button = QPushButton("Keep the new model")
        self.keep_button.clicked.connect(self.keep)
        self.discard_button = QPushButton("Discard it")
        self.discard_button.clicked.connect(self.discard)
        keep_row = QHBoxLayout()
        keep_row.addWidget(self.keep_button)
        keep_row.addWidget(self.discard_button)
        grid.addLayout(keep_row, 6, 0, Qt.AlignmentFlag.AlignBottom)
        grid.setRowStretch(3, 1)
        return panel

    @staticmethod
    def _results_table() -> QTableWidget:
        """Accuracy of the current and the new model, on MNIST test and my held-out drawings."""
        table = QTableWidget(2, 2)
        table.setHorizontalHeaderLabels(["MNIST test", "My drawings"])
        table.setVerticalHeaderLabels(["Current", "New"])
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setFixedHeight(2 * table.horizontalHeader().sizeHint().height() + 2 * 30 + 4)
        table.verticalHeader().setDefaultSectionSize(30)
        return table

    @staticmethod
    def _confusion_table() -> QTableWidget:
        table = QTableWidget(10, 10)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        table.setHorizontalHeaderLabels([str(d) for d in range(10)])
        table.setVerticalHeaderLabels([str(d) for d in range(10)])
        table.horizontalHeader().setDefaultSectionSize(36)
        table.verticalHeader().setDefaultSectionSize(19)
        table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        table.setFixedSize(
            table.verticalHeader().sizeHint().width() + 10 * 36 + 4,
            table.horizontalHeader().sizeHint().height() + 10 * 19 + 4,
        )
        table.setToolTip("New model on the MNIST test set: rows are the true digit, columns the prediction")
        return table

    def _preset_axes(self) -> None:
        """Axis ranges wide enough for a run's usual values, set before it starts (and only
        changed when needed): redrawing an axis costs tens of ms on a CPU busy training."""
        fine = self.fine_tune.isChecked()
        wanted = {"loss": (0.0, 0.5 if fine else 2.5), "accuracy": (0.9 if fine else 0.0, 1.0), "epochs": (0.0, float(self.epochs.value()))}
        self._y_ranges = {k: v for k, v in wanted.items() if k != "epochs"}
        if getattr(self, "_axes", None) == wanted:
            return
        self._axes = wanted
        self.loss_plot.setYRange(*wanted["loss"], padding=0.02)
        self.acc_plot.setYRange(*wanted["accuracy"], padding=0.02)
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(*wanted["epochs"], padding=0.02)

    def _start_changed(self, fine_tune: bool) -> None:
        spec = self.spec()
        self.rate.setValue(spec.fine_tune_rate if fine_tune and spec.can_fine_tune else spec.learning_rate)
        self.layers.setEnabled(fine_tune and spec.has_conv_layers)
        if not self.busy():
            self._preset_axes()

    @staticmethod
    def _plot(name: str, legend_offset: tuple[int, int]) -> pg.PlotWidget:
        plot = pg.PlotWidget(background=theme.PAPER)
        plot.setTitle(name, color=theme.PLOT_TEXT)
        plot.setLabel("bottom", "epoch")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.addLegend(offset=legend_offset)
        plot.setMouseEnabled(False, False)
        plot.disableAutoRange()
        for side in ("left", "bottom"):  # repaint the axes from a pixmap unless their range changes
            plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setXRange(0, 1, padding=0.02)
        plot.setMinimumSize(240, 200)
        return plot

    # ------------------------------------------------------------------ data

    def _refresh_data(self) -> None:
        self.mnist_path, text = mnist_state(self.settings.value("training/mnist", "", str))
        self.mnist_label.setText(text)
        self.mnist_label.setStyleSheet(f"color: {theme.GOOD_TEXT if self.mnist_path else theme.ERROR};")
        n = sum(self.store.counts().values())
        self.use_drawings.setText(f"Include my drawings ({n})")
        self.use_drawings.setEnabled(n > 0)

    def choose_mnist(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose mnist.npz", str(Path.home()), "MNIST (*.npz)")
        if path:
            self.set_mnist(Path(path))

    def set_mnist(self, path: Path) -> bool:
        """Use ``path`` as the MNIST file (remembered), if it looks like one."""
        problem = check_mnist_file(path)
        if problem:
            QMessageBox.warning(self, "Not an MNIST file", problem)
            return False
        self.settings.setValue("training/mnist", str(path))
        self._refresh_data()
        return True

    def request(self, output: Path) -> TrainRequest:
        """The training run the current settings ask for, writing ``output``."""
        spec = self.spec()
        fine_tune = self.fine_tune.isChecked() and self.fine_tune.isEnabled() and self.current_model is not None
        drawings = self.use_drawings.isChecked() and self.use_drawings.isEnabled()
        request = TrainRequest(
            output=output,
            architecture=spec.key,
            epochs=self.epochs.value(),
            batch_size=self.batch.value(),
            validation_split=self.validation.value(),
            learning_rate=self.rate.value(),
            augment="drawn" if self.augment.isChecked() and self.augment.isEnabled() else "off",
            mnist=str(self.mnist_path) if self.mnist_path is not None else None,
            init_model=str(self.current_model) if fine_tune else None,
            train_layers=self.layers.currentData() if fine_tune and spec.has_conv_layers else "all",
            drawings=str(self.store.root) if drawings else None,
            drawings_weight=self.drawings_weight.value() if drawings else TrainRequest.drawings_weight,
            compare_model=str(self.current_model) if self.current_model is not None else None,
            probe=str(self.probe_file) if self.probe_file is not None else None,
            weights_interval=self.weights_interval,
        )
        preset = self.presets.preset()
        return preset.apply(request) if preset is not None else request

    def arguments(self, output: Path) -> list[str]:
        """The ``digitscope train`` arguments for the current settings."""
        return self.request(output).to_argv()

    # ------------------------------------------------------------------ the run

    def start_training(self) -> None:
        if self.run is not None and self.run.running():
            return
        self._drop_candidate()
        from ..model.modelfile import new_candidate

        try:  # also removes what runs killed while saving left (this app's or another's)
            self.output = new_candidate(self.models_dir, self.spec().candidate_prefix)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot train", f"The models folder cannot be created: {exc}")
            return
        if self.presets.preset() is None:
            self.settings.setValue("training/use_drawings", self.use_drawings.isChecked())
            self.settings.setValue("training/drawings_weight", self.drawings_weight.value())
        self._start_learning_view()
        for key in self.history:
            self.history[key] = []
        for curve in self.curves.values():
            curve.setData([], [])
        self.results.clearContents()
        self.confusion.clearContents()
        self.epochs_total = self.epochs.value()
        self.events = []
        self.parting_note.setText("")
        self.parted_line.hide()
        self.skipped_note = ""
        self.verdict_note = ""
        self.epoch_bar.setValue(0)
        self.run_bar.setValue(0)
        self.started = time.monotonic()
        self._preset_axes()
        self.run = TrainingRun(self)
        self.run.event.connect(self._on_event)
        self.run.finished.connect(self._on_finished)
        self.run.start(self.arguments(self.output))
        self._set_state("running")
        self.status.setText("Starting: loading TensorFlow and the data…")

    def _start_learning_view(self) -> None:
        """Write the canvas's drawing for the train process to read as it trains (else the built-in 7)."""
        from ..model.learning_frames import default_probe
        from ..model.preprocess import drawing_to_tensor

        self._remove_probe_file()
        drawing = self.probe_source() if self.probe_source is not None else None
        probe, whose = default_probe(), "the built-in 7 (draw a digit before pressing Train to watch your own)"
        if drawing is not None and not drawing.is_empty:
            try:
                probe = drawing_to_tensor(drawing)
                fd, name = tempfile.mkstemp(prefix="digitscope-probe-", suffix=".json")
                os.close(fd)
                self.probe_file = Path(name)
                from ..model.drawing import save_drawing

                save_drawing(drawing, self.probe_file)
                whose = "your drawing"
            except (OSError, ValueError):
                self._remove_probe_file()
                probe = default_probe()
        spec = self.spec()
        request = self.request(Path("unused.keras"))
        if not spec.has_conv_layers:
            note = f"The {spec.label} has no convolution filters to watch."
        elif request.train_layers == "dense":
            note = (f"The probe is {whose}. Fine-tuning the dense layers keeps these filters as they are: "
                    "train all layers, or from scratch, to watch them form.")
        else:
            note = f"The probe is {whose}."
        self.learning.start(probe, note)

    def _remove_probe_file(self) -> None:
        if self.probe_file is not None:
            self.probe_file.unlink(missing_ok=True)
            self.probe_file = None

    def cancel_training(self) -> None:
        if self.run is not None and self.run.running():
            self.status.setText("Stopping…")
            self.run.cancel()

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "drawings":
            skipped = event.get("skipped") or []
            note = f" Skipped {len(skipped)} unreadable: " + ", ".join(Path(s["path"]).name for s in skipped) + "." if skipped else ""
            self.status.setText(f"My drawings: {event['trained']} to train on, {event['held_out']} held out for the comparison.{note}")
            self.skipped_note = note
        elif kind == "weights":
            self._add_frame(event)
        elif kind == "start":
            self.events.append(event)
            if int(event["epochs"]) != self.epochs_total:
                self.epochs_total = int(event["epochs"])
                for plot in (self.loss_plot, self.acc_plot):
                    plot.setXRange(0, self.epochs_total, padding=0.02)
            self.status.setText(f"Training on {event['train_samples']} images ({event['val_samples']} for validation).{self.skipped_note}")
        elif kind == "batch":
            epoch, batch, steps = int(event["epoch"]), int(event["batch"]), int(event["steps"])
            x = epoch - 1 + batch / steps
            self._add_point("batch_loss", x, float(event["loss"]))
            self._add_point("batch_accuracy", x, float(event["accuracy"]))
            self._progress(x, batch / steps)
        elif kind == "epoch":
            epoch = int(event["epoch"])
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                if event.get(key) is not None:
                    self._add_point(key, float(epoch), float(event[key]))
            self._progress(float(epoch), 1.0)
            self.events.append(event)
            self._show_parting()
        elif kind == "evaluated":
            self.status.setText("Comparing the new model with the current one…")
        elif kind == "compared":
            self._show_comparison(event["models"])
        elif kind == "verdict":
            self.verdict_note = verdict_sentence(event)

    def _add_frame(self, event: dict[str, Any]) -> None:
        from ..model.learning_frames import LearningFrame

        try:
            frame = LearningFrame.from_event(event)
        except ValueError:
            return  # a malformed frame is skipped: the curves and the run go on
        self.learning.add_frame(frame)

    def _show_parting(self) -> None:
        """Where training and validation part: a dashed line at that epoch and one sentence."""
        where = parting(self.events)
        if where is None:
            return
        self.parting_note.setText(explanation(where))
        if where.kind == "overfitting":
            self.parted_line.setPos(where.parted_at)
            self.parted_line.show()
        else:
            self.parted_line.hide()

    def _add_point(self, key: str, x: float, y: float) -> None:
        self.history[key].append((x, y))
        xs, ys = zip(*self.history[key])
        self.curves[key].setData(np.array(xs), np.array(ys))
        self._fit_y("accuracy" if key.endswith("accuracy") else "loss")

    def _fit_y(self, kind: str) -> None:
        """Keep the y axis still unless the data leave it: redrawing pyqtgraph's axes costs
        tens of ms, far more than the curves."""
        values = [
            y
            for key, points in self.history.items()
            if key.endswith(kind) and (kind == "accuracy" or not key.endswith("accuracy"))
            for _, y in points
        ]
        if not values:
            return
        if kind == "loss":
            wanted = (0.0, nice_ceiling(max(values)))
        else:
            low = min(values)
            wanted = (max(0.0, np.floor(low * 20) / 20), 1.0)  # steps of 5 points
        plot = self.loss_plot if kind == "loss" else self.acc_plot
        current = self._y_ranges.get(kind)
        if current is None or wanted[1] > current[1] or wanted[0] < current[0]:  # grows only, during a run
            self._y_ranges[kind] = wanted
            self._axes = None  # the next run sets its ranges again
            plot.setYRange(*wanted, padding=0.02)

    def _progress(self, done_epochs: float, epoch_fraction: float) -> None:
        self.epoch_bar.setValue(int(round(100 * epoch_fraction)))
        fraction = min(1.0, done_epochs / max(1, self.epochs_total))
        self.run_bar.setValue(int(round(100 * fraction)))
        elapsed = time.monotonic() - self.started
        if fraction > 0.02:
            left = elapsed * (1 - fraction) / fraction
            self.eta.setText(f"{_duration(elapsed)} so far, about {_duration(left)} to go")

    def _show_comparison(self, models: dict[str, Any]) -> None:
        for col, (data, title) in enumerate((("mnist_test", "MNIST test"), ("my_drawings", "My drawings"))):
            samples = models["new"].get(data, {}).get("samples")
            held = " held out" if data == "my_drawings" else ""
            self.results.setHorizontalHeaderItem(col, QTableWidgetItem(f"{title}\n{samples:,}{held}" if samples else title))
            for row, name in enumerate(("current", "new")):
                figures = models.get(name, {}).get(data)
                item = QTableWidgetItem(f"{100 * figures['accuracy']:.2f} %" if figures else "–")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.results.setItem(row, col, item)
        confusion = np.array(models["new"]["mnist_test"]["confusion"])
        peak = max(1, int(confusion.max()))
        for r in range(10):
            for c in range(10):
                item = QTableWidgetItem(str(int(confusion[r, c])))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                share = confusion[r, c] / peak
                colour = QColor(theme.BLUE if r == c else theme.RED)
                colour.setAlpha(
                    int(30 + 200 * share) if r == c else int(min(230, 40 + 4000 * confusion[r, c] / max(1, confusion[r].sum())))
                )
                if confusion[r, c]:
                    item.setBackground(colour)
                self.confusion.setItem(r, c, item)

    def _on_finished(self, status: str, message: str) -> None:
        self._remove_probe_file()
        self.learning.finish()
        if status == "done" and self.run is not None and self.run.saved is not None:
            self.candidate = self.run.saved
            self.status.setText(
                f"Done in {_duration(time.monotonic() - self.started)}.{self.skipped_note} {self.verdict_note}"
                "Keep the new model, or discard it?"
            )
            self._set_state("review")
            self._refresh_comparison()
            return
        self._drop_candidate(self.output)
        self.status.setText(message)
        self._set_state("idle")
        if status == "failed":
            QMessageBox.warning(self, "Training failed", f"{message}\n\nThe current model is unchanged.")

    # ------------------------------------------------------------------ keep / discard

    def keep(self) -> Path | None:
        """Move the new model into the models folder and hand it to the app."""
        if self.candidate is None:
            return None
        from ..model.modelfile import promote_model

        try:
            target = promote_model(self.candidate, self.models_dir)
        except (OSError, ValueError) as exc:  # ModelFileError: why, the candidate is left as it was
            QMessageBox.warning(self, "Could not keep the model", f"{exc}. The current model stays in use.")
            return None
        self.candidate = None
        self._set_state("idle")
        self.status.setText(f"Kept as {target.name}; it is now the active model.")
        self.current_model = target
        self.current_architecture = self._architecture_of(target)
        self._network_changed()
        self._refresh_comparison()
        self.kept.emit(target)
        return target

    def discard(self) -> None:
        self._drop_candidate()
        self._refresh_comparison()
        self._set_state("idle")
        self.status.setText("Discarded. The current model stays in use.")

    def _drop_candidate(self, path: Path | None = None) -> None:
        from ..model.modelfile import discard_model

        path = path or self.candidate
        self.candidate = None
        if path is not None:
            try:  # with its temporary files once its process is gone
                discard_model(path, remove_temps=not self.busy())
            except OSError:
                pass

    def _set_state(self, state: str) -> None:
        self.state = state
        running = state == "running"
        self.train_button.setEnabled(state == "idle")
        self.network.setEnabled(not running and self.presets.preset() is None)
        self.presets.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.keep_button.setEnabled(state == "review")
        self.discard_button.setEnabled(state == "review")

    # ------------------------------------------------------------------ closing

    def busy(self) -> bool:
        return self.run is not None and self.run.running()

    def stop_and_wait(self, ms: int = 2500) -> None:
        """Cancel a run under way and wait for its process to end (the app is closing)."""
        if self.busy():
            self.run.cancel()
            self.run.wait(ms)
        self._drop_candidate(getattr(self, "output", None))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy():
            answer = QMessageBox.question(self, "Training is running", "Stop training and close?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.stop_and_wait()
        elif self.candidate is not None:
            answer = QMessageBox.question(self, "Keep the new model?", "Keep the new model? (No discards it.)")
            if answer == QMessageBox.StandardButton.Yes:
                self.keep()
            else:
                self.discard()
        super().closeEvent(event)


#: The curves of each plot: (key prefix, colour, width, legend, markers).
CURVES = (
    ("batch_", theme.LIGHT_BLUE, 1, "train (batches)", {}),
    ("", theme.BLUE, 2, "train", {"symbol": "o", "symbolSize": 7, "symbolBrush": theme.BLUE, "symbolPen": None}),
    ("val_", theme.ORANGE, 2, "validation", {"symbol": "s", "symbolSize": 7, "symbolBrush": theme.ORANGE, "symbolPen": None}),
)
AUGMENT_TIP = "Random shifts, tilts, stroke weights and slashed zeros / flagged ones"
FINE_TUNE_TIP = "Only a model of the same network can be fine-tuned; " + "; ".join(
    f"the {spec.label} always starts afresh" for spec in ARCHITECTURES.values() if not spec.can_fine_tune
)


def _decimals(step: float) -> int:
    """The decimals that show ``step`` (0.05: 2, 0.0001: 4)."""
    text = f"{step:f}".rstrip("0")
    return len(text.partition(".")[2])


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def verdict_sentence(event: dict[str, Any]) -> str:
    """The training run's ``verdict`` event as a sentence for the status line (ends with a space)."""
    if not event.get("kept"):
        return "It has no “is it a digit?” verdict: it will read everything as a digit. "
    flagged = event.get("flagged") or {}
    shares = " and ".join(f"{100 * v:.1f} % of {k}" for k, v in flagged.items())
    return f"Its “is it a digit?” verdict is kept (it flags {shares} as no digit). " if shares else "Its “is it a digit?” verdict is kept. "
