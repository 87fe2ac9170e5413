"""The main window: canvas on the left, live views on the right, menus, status bar.

The window lays out the widgets, holds the actions, the dialogs and the settings. What
the network makes of the canvas lives in its :class:`.session.ReadingSession`, which the
views follow; the file dialogs and drag & drop are :class:`.file_actions.FileActions`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..model.architecture import CONV_SHAPES
from ..model.my_drawings import DrawingStore
from . import theme
from .canvas import DrawingCanvas
from .file_actions import FileActions
from .reading import Reading
from .session import ReadingSession

if TYPE_CHECKING:
    from .my_drawings_dialog import MyDrawingsDialog
    from .retrain_dialog import RetrainDialog
    from .views.map_detail import MapDetailDialog
    from .views.pipeline import PipelineView

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def _show_map(dialog: MapDetailDialog, reading: Reading | None) -> None:
    """An enlarged map (``MapDetailDialog``) follows the readings."""
    pred = reading.prediction if reading is not None else None
    acts = pred.activations.get(dialog.layer) if pred is not None else None
    dialog.update_map(None if acts is None else acts[:, :, dialog.channel])


class MainWindow(QMainWindow):
    """Draw on the left; see what the network sees and decides on the right."""

    readingShown = Signal(object)  # Reading, after the views were updated (for tests and benchmarks)

    def __init__(
        self,
        settings: QSettings | None = None,
        bundled_model: Path | None = None,
        lazy_views: bool = False,
        reading_process: bool | None = None,
        data_dir: Path | None = None,
    ) -> None:
        """``lazy_views`` defers the pyqtgraph views (and pyqtgraph's import) until
        :meth:`show_when_ready`, so the window appears sooner. ``reading_process``
        reads drawings in a child process (default: yes, unless the environment
        sets ``DIGITSCOPE_READER=thread``). ``data_dir`` holds my drawings and
        retrained models (default: the user's app data folder)."""
        super().__init__()
        self.settings = settings or QSettings("Digitscope", "Digitscope")
        if data_dir is None:
            data_dir = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation) or Path.home() / ".digitscope")
        self.data_dir = data_dir
        self.store = DrawingStore(data_dir / "my-drawings")
        self.models_dir = data_dir / "models"
        self.bundled_model = bundled_model
        self.retrain_dialog: RetrainDialog | None = None
        self.drawings_dialog: MyDrawingsDialog | None = None
        self.comparison_dialog: Any = None
        self.details: list[MapDetailDialog] = []
        self.pipeline_view: PipelineView | None = None
        self.setWindowTitle("Digitscope")
        self.setAcceptDrops(True)
        self.canvas = DrawingCanvas()
        self.session = ReadingSession(self.canvas.source, use_process=reading_process)
        self.files = FileActions(self)
        self.views_ready = False
        self._build_layout()
        self._build_menus()
        self.statusBar().showMessage("Loading the model…")
        session = self.session
        session.modelChanged.connect(self._model_changed)
        session.modelFailed.connect(self._model_failed)
        session.secondChanged.connect(self._second_changed)
        session.secondFailed.connect(
            lambda p, message: QMessageBox.warning(self, "Cannot compare", f"{Path(p).name} could not be loaded:\n{message}")
        )
        self.canvas.changed.connect(session.request_reading)
        self._restore_settings()
        self._update_drawings_count()
        if not lazy_views:
            self.build_views()

    # ------------------------------------------------------------------ the session's state, for scripts and tests

    predictor = property(lambda self: self.session.predictor, doc="The model reading the canvas (None until loaded).")
    latest = property(lambda self: self.session.latest, doc="The reading on show.")
    loader = property(lambda self: self.session.loader, doc="The model's ModelLoader (``loaded``, ``failed``).")
    worker = property(lambda self: self.session.scheduler, doc="The ReadingScheduler (``use_process``, ``process_pid``).")
    request_reading = property(lambda self: self.session.request_reading, doc="Read the canvas again.")

    @property
    def latest_seq(self) -> int:
        return self.session.latest_seq

    @latest_seq.setter
    def latest_seq(self, seq: int) -> None:  # benchmarks/gui_latency.py's naive design reads by itself
        self.session.latest_seq = seq

    def _show_reading(self, reading: Reading) -> None:  # benchmarks/gui_latency.py: readings made elsewhere
        self.session.show(reading)

    def _compare_loaded(self, predictor: Any) -> None:  # benchmarks/gui_latency.py: a second model, loaded
        self.session.set_second(predictor)

    # ------------------------------------------------------------------ views

    def build_views(self) -> None:
        """Create the live views (imports pyqtgraph) in their places; they follow the session."""
        if self.views_ready:
            return
        from .reading import MapColouring
        from .views.feature_maps import FeatureMapView
        from .views.input_image import InputView
        from .views.probabilities import ProbabilityView

        self.probabilities = ProbabilityView()
        self.input_view = InputView()
        self.maps = {
            "conv1": FeatureMapView("conv1", CONV_SHAPES["conv1"], cols=8),
            "conv2": FeatureMapView("conv2", CONV_SHAPES["conv2"], cols=8),
        }
        self.right_layout.addWidget(self.probabilities, 3)
        caption = QLabel("What the network sees (28×28)")
        caption.setStyleSheet(theme.CAPTION_STYLE)
        self.right_layout.addWidget(caption)
        self.right_layout.addWidget(self.input_view, 2)
        self.maps_layout.addWidget(self.maps["conv1"], 1)
        self.maps_layout.addWidget(self.maps["conv2"], 1)
        for view in self.maps.values():
            view.mapClicked.connect(self.show_map_detail)
            view.hovered.connect(self._hover_text)
        # Runs where the reading is made (thread or child process), never in the GUI thread.
        self.session.scheduler.set_prepare(MapColouring({name: view.cols for name, view in self.maps.items()}))
        self.probabilities.show_message("Draw a digit")
        self.views_ready = True
        self.session.readingChanged.connect(self._show_in_views)
        self.session.readingChanged.connect(self._show_saliency)
        self.session.readingDelivered.connect(self.readingShown)
        if self.session.latest is not None:
            self._show_in_views(self.session.latest)
            self._show_saliency(self.session.latest)

    def _show_in_views(self, reading: Reading) -> None:
        """The window's own views: the probabilities, the 28×28 input and the feature maps."""
        if reading.tensor is None:
            self.probabilities.show_message(reading.error or "Draw a digit")
            self.input_view.show_tensor(None)
            for view in self.maps.values():
                view.show_activations(None)
        elif reading.prediction is None:
            self.probabilities.show_message(reading.error or "Loading the model…")
            self.input_view.show_tensor(reading.tensor)
        else:
            pred = reading.prediction
            self.probabilities.show_probabilities(pred.probabilities, reading.second, self.session.second_name, pred.is_digit)
            self.input_view.show_tensor(reading.tensor)
            prepared = reading.prepared or {}
            for name, view in self.maps.items():
                view.show_activations(pred.activations.get(name), prepared.get(name), (reading.channel_max or {}).get(name))

    def _show_saliency(self, reading: Reading) -> None:
        """Which ink drove the answer, over the strokes (View → Show saliency)."""
        on = self.saliency_action.isChecked()
        self.canvas.show_saliency(reading.saliency if on else None, reading.placement)

    def set_saliency(self, on: bool) -> None:
        """Show (or hide) which ink drove the answer, over the strokes, updated live."""
        on = bool(on)
        self.saliency_action.setChecked(on)
        self.settings.setValue("view/saliency", on)
        self.session.set_saliency(on)  # on: the current drawing is read again, with its saliency
        if on:
            from .views.saliency import LEGEND

            self.statusBar().showMessage(LEGEND, 6000)
        else:
            self.canvas.set_overlay(None)

    def show_map_detail(self, layer: str, channel: int) -> MapDetailDialog:
        """One feature map enlarged, live; it needs that layer's activations whole."""
        from .views.map_detail import MapDetailDialog

        kernel = bias = None
        weights = getattr(self.session.predictor, "cnn_weights", None)
        if layer == "conv1" and weights is not None:
            kernel, bias = weights.kernel1[:, :, 0, channel], float(weights.b1[channel])
        dialog = MapDetailDialog(layer, channel, kernel, bias, self)
        follow = partial(_show_map, dialog)
        self.session.readingChanged.connect(follow)
        dialog.finished.connect(lambda _: self._detail_closed(dialog, follow))
        self.details.append(dialog)
        self.session.need(dialog, frozenset({layer}))
        follow(self.session.latest)
        dialog.show()
        return dialog

    def _detail_closed(self, dialog: MapDetailDialog, follow: Any) -> None:
        if dialog in self.details:
            self.details.remove(dialog)
            self.session.readingChanged.disconnect(follow)
        self.session.release(dialog)

    def show_pipeline(self) -> PipelineView:
        """View → How it reads your digit: the drawing's path through the network, live."""
        from .views.pipeline import PipelineView

        view = self.pipeline_view
        if view is None:
            view = self.pipeline_view = PipelineView(self)
            view.finished.connect(lambda _: self.session.release(view))
            view.needsChanged.connect(self._pipeline_needs)
            self.session.readingChanged.connect(self._show_in_pipeline)
        view.show()
        view.raise_()
        if not self._pipeline_needs():  # the reading on show was not completed for it: show it as it is
            view.show_reading(self.session.latest, self.session.predictor)
        return view

    def _pipeline_needs(self) -> bool:
        """Tell the session what the pipeline view needs (nothing while hidden); True when
        the reading on show was completed and shown again for it."""
        view = self.pipeline_view
        if view is None or not view.isVisible():
            self.session.release(view)
            return False
        return self.session.need(view, view.needs(), view.MOSAICS)

    def _show_in_pipeline(self, reading: Reading) -> None:
        if self.pipeline_view is not None and self.pipeline_view.isVisible():  # hidden: no cost
            self.pipeline_view.show_reading(reading, self.session.predictor)

    def _hover_text(self, text: str) -> None:
        self.statusBar().showMessage(text or self.model_summary())

    # ------------------------------------------------------------------ layout and actions

    def _build_layout(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(self._tool_row())
        left.addLayout(self._label_row())

        self.right_layout = QVBoxLayout()  # filled by build_views
        top = QHBoxLayout()
        top.addLayout(left, 3)
        top.addLayout(self.right_layout, 2)
        self.maps_layout = QHBoxLayout()

        body = QVBoxLayout()
        body.addLayout(top, 3)
        body.addLayout(self.maps_layout, 2)
        central = QWidget()
        central.setLayout(body)
        self.setCentralWidget(central)

    def _tool_row(self) -> QHBoxLayout:
        """The pen width, the eraser, undo, redo and clear."""
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Pen"))
        self.pen_slider = QSlider(Qt.Orientation.Horizontal)
        self.pen_slider.setRange(4, 60)
        self.pen_slider.setValue(int(self.canvas.pen_width))
        self.pen_slider.setToolTip("Pen width")
        self.pen_slider.valueChanged.connect(lambda v: self.canvas.set_pen_width(float(v)))
        tools.addWidget(self.pen_slider, 1)
        self.eraser_button = QToolButton()
        self.eraser_button.setText("Eraser")
        self.eraser_button.setCheckable(True)
        self.eraser_button.setToolTip("Erase whole strokes (or right-drag at any time)")
        self.eraser_button.toggled.connect(self._set_eraser)
        tools.addWidget(self.eraser_button)
        for text, slot in (("Undo", self.canvas.undo_stack.undo), ("Redo", self.canvas.undo_stack.redo), ("Clear", self.canvas.clear)):
            button = QToolButton()
            button.setText(text)
            button.clicked.connect(slot)
            tools.addWidget(button)
        return tools

    def _label_row(self) -> QHBoxLayout:
        """The "That's a…" row, 0-9 (the keys 0-9 too): add the drawing to My drawings."""
        label_row = QHBoxLayout()
        label_row.addWidget(QLabel("That's a…"))
        self.label_buttons = []
        for digit in range(10):
            button = QToolButton()
            button.setText(str(digit))
            button.setToolTip(f"Add this drawing to My drawings as a {digit} (or press {digit})")
            button.clicked.connect(lambda _=False, d=digit: self.label_drawing(d))
            label_row.addWidget(button)
            self.label_buttons.append(button)
            shortcut = QShortcut(QKeySequence(str(digit)), self)
            shortcut.activated.connect(lambda d=digit: self.label_drawing(d))
        label_row.addStretch(1)
        self.drawings_count = QLabel()
        self.drawings_count.setStyleSheet(theme.CAPTION_STYLE)
        label_row.addWidget(self.drawings_count)
        return label_row

    def _build_menus(self) -> None:
        files = self.files
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open drawing…", files.open_drawing_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Save drawing…", files.save_drawing_dialog, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Open &image…", files.open_image_dialog, "Ctrl+I")
        self._action(file_menu, "&Export canvas as PNG…", files.export_png_dialog, "Ctrl+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.canvas.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcuts([QKeySequence.StandardKey.Undo])
        redo = self.canvas.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(undo)
        edit.addAction(redo)
        clear = self._action(edit, "&Clear", self.canvas.clear)
        clear.setShortcuts([QKeySequence(Qt.Key.Key_Escape), QKeySequence(Qt.Key.Key_Delete)])
        self.undo_action, self.redo_action, self.clear_action = undo, redo, clear

        view = bar.addMenu("&View")
        self.saliency_action = self._action(view, "Show &saliency on the canvas", self.set_saliency, "Ctrl+L")
        self.saliency_action.setCheckable(True)
        self.saliency_action.setStatusTip("Which ink drove the answer: orange for it, blue against it")
        self.pipeline_action = self._action(view, "How it reads your &digit…", self.show_pipeline, "Ctrl+D")
        self.pipeline_action.setStatusTip("The drawing's whole path through the network, each step taken apart, live")

        model = bar.addMenu("&Model")
        self._action(model, "&Load model…", files.load_model_dialog)
        self._action(model, "&Reset to bundled model", self.reset_model)
        self._action(model, "&Compare with model…", files.compare_model_dialog)
        self.stop_compare_action = self._action(model, "&Stop comparing", self.stop_comparing)
        self.stop_compare_action.setEnabled(False)
        model.addSeparator()
        self._action(model, "&My drawings…", self.show_my_drawings)
        self._action(model, "Re&train…", self.show_retrain, "Ctrl+T")
        self._action(model, "Compare &trained models…", self.show_model_comparison)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Digitscope", self.show_about)

    def _action(self, menu: Any, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _set_eraser(self, on: bool) -> None:
        self.canvas.eraser_mode = on

    def show_pen_width(self) -> None:
        """The pen slider shows the canvas's pen width (after a drawing was opened)."""
        self.pen_slider.blockSignals(True)
        self.pen_slider.setValue(int(round(self.canvas.pen_width)))
        self.pen_slider.blockSignals(False)

    # ------------------------------------------------------------------ files (see FileActions)

    def open_drawing(self, path: Path) -> bool:
        """Put a saved drawing on the canvas (False, with a message, if it cannot be read)."""
        return self.files.open_drawing(path)

    def open_image(self, path: Path) -> bool:
        """Put an image on the canvas (False, with a message, if it cannot be read)."""
        return self.files.open_image(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.files.dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        self.files.open_dropped(event)

    # ------------------------------------------------------------------ models

    def start(self) -> None:
        """Begin loading the saved (or bundled) model in the background."""
        saved = self.settings.value("model/path", "", str)
        path = Path(saved) if saved and Path(saved).is_file() else self.bundled_model
        if path is not None:
            self.load_model(path)

    def load_model(self, path: Path) -> None:
        self.statusBar().showMessage(f"Loading model {Path(path).name}…")
        self.session.load(path)

    def reset_model(self) -> None:
        if self.bundled_model is not None:
            self.settings.setValue("model/path", "")
            self.load_model(self.bundled_model)

    def _model_changed(self, predictor: Any) -> None:
        bundled = self.bundled_model is not None and Path(predictor.path) == self.bundled_model
        self.settings.setValue("model/path", "" if bundled else str(predictor.path))
        self.statusBar().showMessage(self.model_summary())

    def _model_failed(self, path: str, message: str) -> None:
        predictor = self.session.predictor
        keep = f"; still using {predictor.name}" if predictor is not None else ""
        self.statusBar().showMessage(f"Could not load {Path(path).name}{keep}")
        QMessageBox.warning(self, "Could not load the model", f"{message}{keep.replace(';', '.')}")

    def model_summary(self) -> str:
        predictor = self.session.predictor
        if predictor is None:
            return "No model loaded"
        accuracy = predictor.metadata.get("test_accuracy")
        figure = f" — MNIST test accuracy {100 * accuracy:.2f}%" if isinstance(accuracy, (int, float)) else ""
        return f"Model: {predictor.name}{figure}"

    def compare_with(self, path: Path) -> None:
        """Show a second model's probabilities beside the current one's, live (loaded in the background)."""
        self.statusBar().showMessage(f"Loading {path.name} to compare…")
        self.session.load_second(path)

    def stop_comparing(self) -> None:
        self.session.set_second(None)

    def _second_changed(self, predictor: Any) -> None:
        self.stop_compare_action.setEnabled(predictor is not None)
        if predictor is not None:
            self.statusBar().showMessage(f"Comparing with {self.session.second_name} (orange bars)", 6000)

    def _current_model_path(self) -> Path | None:
        predictor = self.session.predictor
        return Path(predictor.path) if predictor is not None and predictor.path else None

    # ------------------------------------------------------------------ my drawings, retraining

    def label_drawing(self, digit: int) -> Path | None:
        """Add the drawing on the canvas to My drawings as ``digit``, then clear the canvas
        (undoable) for the next one."""
        if self.canvas.image_loaded():
            self.statusBar().showMessage("Only drawings can be added to My drawings, not opened images.", 5000)
            return None
        if self.canvas.is_empty():
            self.statusBar().showMessage(f"Draw a {digit} first, then press {digit}.", 5000)
            return None
        try:
            path = self.store.add(self.canvas.drawing(), digit)
        except OSError as exc:
            QMessageBox.warning(self, "Could not add the drawing", f"{exc.strerror or exc}. The drawing stays on the canvas.")
            return None
        self.canvas.clear()
        self._update_drawings_count()
        count = self.store.counts()[digit]
        self.statusBar().showMessage(
            f"Added to My drawings as a {digit} ({count} {DIGIT_NAMES[digit]}{'s' if count != 1 else ''})."
            " Undo brings it back to the canvas.",
            5000,
        )
        if self.drawings_dialog is not None:
            self.drawings_dialog.refresh()
        return path

    def _update_drawings_count(self) -> None:
        total = sum(self.store.counts().values())
        self.drawings_count.setText(f"My drawings: {total}")

    def show_my_drawings(self) -> MyDrawingsDialog:
        from .my_drawings_dialog import MyDrawingsDialog

        if self.drawings_dialog is None:
            self.drawings_dialog = MyDrawingsDialog(self.store, self)
            self.drawings_dialog.changed.connect(self._update_drawings_count)
        self.drawings_dialog.refresh()
        self.drawings_dialog.show()
        self.drawings_dialog.raise_()
        return self.drawings_dialog

    def show_model_comparison(self) -> Any:
        """Every trained model side by side: the bundled one and each kept (Retrain's own
        comparison, with its new model, while Retrain is open)."""
        if self.retrain_dialog is not None and self.retrain_dialog.isVisible():
            return self.retrain_dialog.compare_models()
        from .model_comparison import ModelComparisonDialog, models_to_compare

        dialog = self.comparison_dialog
        if dialog is None:
            dialog = self.comparison_dialog = ModelComparisonDialog(self.store.root, self)
        dialog.refresh(models_to_compare(self.models_dir, self._current_model_path()))
        dialog.show()
        dialog.raise_()
        return dialog

    def show_retrain(self) -> RetrainDialog:
        from .retrain_dialog import RetrainDialog

        current = self._current_model_path()
        if self.retrain_dialog is None or not self.retrain_dialog.isVisible() and not self.retrain_dialog.busy():
            if self.retrain_dialog is not None:
                self.retrain_dialog.deleteLater()
            self.retrain_dialog = RetrainDialog(self.settings, self.store, current, self.models_dir, self, probe=self.canvas.drawing)
            self.retrain_dialog.kept.connect(self.load_model)
        self.retrain_dialog.show()
        self.retrain_dialog.raise_()
        return self.retrain_dialog

    # ------------------------------------------------------------------ about, settings, start and close

    def show_about(self) -> None:
        from .about import about_text

        QMessageBox.about(self, "About Digitscope", about_text(self.session.predictor))

    def _restore_settings(self) -> None:
        if self.settings.value("view/saliency", False, bool):
            self.set_saliency(True)
        width = self.settings.value("canvas/pen_width", None)
        if width is not None:
            self.canvas.set_pen_width(float(width))
            self.pen_slider.setValue(int(round(self.canvas.pen_width)))
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 860)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.retrain_dialog is not None and self.retrain_dialog.busy():
            answer = QMessageBox.question(self, "Training is running", "A retraining run is under way. Stop it and quit?")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.retrain_dialog.stop_and_wait()
        if self.retrain_dialog is not None:
            self.retrain_dialog.close()
        if self.drawings_dialog is not None:
            self.drawings_dialog.close()
        self.settings.setValue("canvas/pen_width", self.canvas.pen_width)
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.sync()
        for dialog in list(self.details):
            dialog.close()
        for comparison in (self.comparison_dialog, getattr(self.retrain_dialog, "comparison", None)):
            if comparison is not None:
                comparison.wait()
        if self.pipeline_view is not None:
            self.pipeline_view.close()
        self.session.stop()
        super().closeEvent(event)

    def show_when_ready(self) -> None:
        """Show the window; once it has been painted, build the views and start loading the model."""
        self._started = False
        self.show()
        QTimer.singleShot(300, self._after_shown)  # in case no paint comes (e.g. minimised)

    def event(self, event: QEvent) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.Type.Paint and getattr(self, "_started", True) is False:
            QTimer.singleShot(0, self._after_shown)  # the window is on screen: now the heavy part
        return handled

    def _after_shown(self) -> None:
        if self._started:
            return
        self._started = True
        self.build_views()
        self.start()
