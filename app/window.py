"""The main window: canvas on the left, live views on the right, menus, status bar."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QSettings, QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
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
from ..model.drawing import DrawingError, load_drawing, save_drawing
from ..model.my_drawings import DrawingStore
from .canvas import DrawingCanvas
from .reading import Reading
from .workers import InferenceWorker, ModelLoader

if TYPE_CHECKING:
    from .my_drawings_dialog import MyDrawingsDialog
    from .retrain_dialog import RetrainDialog
    from .views.map_detail import MapDetailDialog
    from .views.pipeline import PipelineView

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)"
DRAWING_FILTER = "Digitscope drawings (*.json)"


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
        self.retrain_dialog: RetrainDialog | None = None
        self.drawings_dialog: MyDrawingsDialog | None = None
        self.bundled_model = bundled_model
        self.setWindowTitle("Digitscope")
        self.setAcceptDrops(True)
        self.predictor: Any = None
        self.latest_seq = 0
        self.latest: Reading | None = None
        self.details: list[MapDetailDialog] = []
        self.pipeline_view: PipelineView | None = None

        from ..model.inference import limit_blas_threads

        limit_blas_threads()  # here, before the worker threads start
        # The reading thread gives up the GIL in every NumPy/Pillow call; with the
        # default 5 ms switch interval each hand-back can wait a full interval
        # behind the busy GUI thread, turning a 1 ms reading into tens of ms.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.0005))
        self.canvas = DrawingCanvas()
        self.views_ready = False
        self._build_layout()
        self.compare_loader: ModelLoader | None = None
        self.compare_name = ""
        self._build_menus()
        self.statusBar().showMessage("Loading the model…")

        if reading_process is None:
            reading_process = os.environ.get("DIGITSCOPE_READER", "process") != "thread"
        self.worker = InferenceWorker(use_process=reading_process)
        self.worker.ready.connect(self._show_reading)
        self.loader = ModelLoader()
        self.loader.loaded.connect(self._model_loaded)
        self.loader.failed.connect(self._model_failed)
        self.canvas.changed.connect(self.request_reading)
        self._restore_settings()
        self._update_drawings_count()
        if not lazy_views:
            self.build_views()

    def build_views(self) -> None:
        """Create the live views (imports pyqtgraph) in their places."""
        if self.views_ready:
            return
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
        caption.setStyleSheet("color: #56606d;")
        self.right_layout.addWidget(caption)
        self.right_layout.addWidget(self.input_view, 2)
        self.maps_layout.addWidget(self.maps["conv1"], 1)
        self.maps_layout.addWidget(self.maps["conv2"], 1)
        for view in self.maps.values():
            view.mapClicked.connect(self.show_map_detail)
            view.hovered.connect(self._hover_text)
        from .reading import MapColouring

        # Runs where the reading is made (thread or child process), never in the GUI thread.
        self.worker.prepare = MapColouring({name: view.cols for name, view in self.maps.items()})
        self.probabilities.show_message("Draw a digit")
        self.views_ready = True
        if self.latest is not None:
            self._show_reading(self.latest)

    # ------------------------------------------------------------------ layout

    def _build_layout(self) -> None:
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
        self.drawings_count.setStyleSheet("color: #56606d;")
        label_row.addWidget(self.drawings_count)

        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)
        left.addLayout(label_row)

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

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open drawing…", self.open_drawing_dialog, QKeySequence.StandardKey.Open)
        self._action(file_menu, "&Save drawing…", self.save_drawing_dialog, QKeySequence.StandardKey.Save)
        self._action(file_menu, "Open &image…", self.open_image_dialog, "Ctrl+I")
        self._action(file_menu, "&Export canvas as PNG…", self.export_png_dialog, "Ctrl+E")
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
        self._action(model, "&Load model…", self.load_model_dialog)
        self._action(model, "&Reset to bundled model", self.reset_model)
        self._action(model, "&Compare with model…", self.compare_model_dialog)
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

    def compare_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Compare with model", self._last_dir(), "Keras models (*.keras *.h5)")
        if path:
            self.compare_with(Path(path))

    def compare_with(self, path: Path) -> None:
        """Show a second model's probabilities beside the current one's, live (loaded in the background)."""
        if self.compare_loader is None:
            self.compare_loader = ModelLoader()
            self.compare_loader.loaded.connect(self._compare_loaded)
            self.compare_loader.failed.connect(
                lambda p, message: QMessageBox.warning(self, "Cannot compare", f"{Path(p).name} could not be loaded:\n{message}")
            )
        self.statusBar().showMessage(f"Loading {path.name} to compare…")
        self.compare_loader.load(path)

    def _compare_loaded(self, predictor: Any) -> None:
        self.compare_name = Path(str(predictor.path)).name if getattr(predictor, "path", None) else "other model"
        self.worker.compare_predictor = predictor
        self.stop_compare_action.setEnabled(True)
        self.statusBar().showMessage(f"Comparing with {self.compare_name} (orange bars)", 6000)
        self.request_reading()

    def stop_comparing(self) -> None:
        self.worker.compare_predictor = None
        self.compare_name = ""
        self.stop_compare_action.setEnabled(False)
        self.request_reading()

    def set_saliency(self, on: bool) -> None:
        """Show (or hide) which ink drove the answer, over the strokes, updated live."""
        on = bool(on)
        self.saliency_action.setChecked(on)
        self.settings.setValue("view/saliency", on)
        self.worker.saliency = on
        if on:
            from .views.saliency import LEGEND

            self.statusBar().showMessage(LEGEND, 6000)
            self.request_reading()  # the current drawing, with its saliency
        else:
            self.canvas.set_overlay(None)

    def _show_saliency(self, reading: Reading) -> None:
        if not self.saliency_action.isChecked() or reading.saliency is None or reading.placement is None:
            self.canvas.set_overlay(None)
            return
        from .views.saliency import saliency_overlay

        overlay = saliency_overlay(reading.saliency)
        if overlay is None:  # nothing argues either way
            self.canvas.set_overlay(None)
            return
        image, (tx, ty, tw, th) = overlay
        x0, y0, _, _ = reading.placement.canvas_rect()
        unit = reading.placement.unit
        self.canvas.set_overlay(image, (x0 + tx * unit, y0 + ty * unit, tw * unit, th * unit))

    def _set_eraser(self, on: bool) -> None:
        self.canvas.eraser_mode = on

    # ------------------------------------------------------------------ model

    def start(self) -> None:
        """Begin loading the saved (or bundled) model in the background."""
        saved = self.settings.value("model/path", "", str)
        path = Path(saved) if saved and Path(saved).is_file() else self.bundled_model
        if path is not None:
            self.load_model(path)

    def load_model(self, path: Path) -> None:
        self.statusBar().showMessage(f"Loading model {Path(path).name}…")
        self.loader.load(path)

    def _model_loaded(self, predictor: Any) -> None:
        import gc

        # Everything built so far lives as long as the window: keep it out of the garbage
        # collector's full passes, which otherwise stall the event loop now and then.
        gc.freeze()
        self.predictor = predictor
        self.worker.set_predictor(predictor)
        bundled = self.bundled_model is not None and Path(predictor.path) == self.bundled_model
        self.settings.setValue("model/path", "" if bundled else str(predictor.path))
        self.statusBar().showMessage(self.model_summary())
        self.request_reading()

    def _model_failed(self, path: str, message: str) -> None:
        keep = f"; still using {self.predictor.name}" if self.predictor is not None else ""
        self.statusBar().showMessage(f"Could not load {Path(path).name}{keep}")
        QMessageBox.warning(self, "Could not load the model", f"{message}{keep.replace(';', '.')}")

    def model_summary(self) -> str:
        if self.predictor is None:
            return "No model loaded"
        accuracy = self.predictor.metadata.get("test_accuracy")
        figure = f" — MNIST test accuracy {100 * accuracy:.2f}%" if isinstance(accuracy, (int, float)) else ""
        return f"Model: {self.predictor.name}{figure}"

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load model", "", "Keras models (*.keras)")
        if path:
            self.load_model(Path(path))

    def reset_model(self) -> None:
        if self.bundled_model is not None:
            self.settings.setValue("model/path", "")
            self.load_model(self.bundled_model)

    # ------------------------------------------------------------------ reading

    def request_reading(self) -> None:
        """Ask the worker to read the current canvas (coalesced: only the latest counts)."""
        self.latest_seq = self.worker.submit(self.canvas.source())

    def _show_reading(self, reading: Reading) -> None:
        # Show every reading newer than the one on screen, even if the canvas has
        # moved on meanwhile: while a stroke is drawn, that keeps the views live.
        if self.latest is not None and reading.seq <= self.latest.seq:
            return
        self.latest = reading
        if not self.views_ready:
            return
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
            self.probabilities.show_probabilities(pred.probabilities, reading.compare, self.compare_name, pred.is_digit)
            self.input_view.show_tensor(reading.tensor)
            prepared = reading.prepared or {}
            for name, view in self.maps.items():
                view.show_activations(pred.activations.get(name), prepared.get(name), (reading.channel_max or {}).get(name))
        self._show_saliency(reading)
        self._update_details()
        if self.pipeline_view is not None and self.pipeline_view.isVisible():  # hidden: no cost
            self.pipeline_view.show_reading(reading, self.predictor)
        self.readingShown.emit(reading)

    def _hover_text(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().showMessage(self.model_summary())

    def show_map_detail(self, layer: str, channel: int) -> MapDetailDialog:
        from .views.map_detail import MapDetailDialog

        kernel = bias = None
        weights = getattr(self.predictor, "weights", None)
        if layer == "conv1" and weights is not None:
            kernel, bias = weights.kernel1[:, :, 0, channel], float(weights.b1[channel])
        dialog = MapDetailDialog(layer, channel, kernel, bias, self)
        dialog.finished.connect(lambda _: self._detail_closed(dialog))
        self.details.append(dialog)
        self._want_activations()
        self._update_details()
        dialog.show()
        return dialog

    def show_pipeline(self) -> PipelineView:
        """View → How it reads your digit: the drawing's path through the network, live."""
        from .views.pipeline import PipelineView

        if self.pipeline_view is None:
            self.pipeline_view = PipelineView(self)
            self.pipeline_view.finished.connect(lambda _: self._want_activations())
            self.pipeline_view.needsChanged.connect(self._want_activations)
        self.pipeline_view.show()
        self.pipeline_view.raise_()
        self._want_activations()
        self.pipeline_view.show_reading(self.latest, self.predictor)
        return self.pipeline_view

    def _detail_closed(self, dialog: MapDetailDialog) -> None:
        if dialog in self.details:
            self.details.remove(dialog)
        self._want_activations()

    def _want_activations(self) -> None:
        """Tell the reading process which activations the open views need whole (the others
        stay there) and which extra mosaics to lay out, and complete the reading on screen."""
        wanted = {dialog.layer for dialog in self.details}
        mosaics: frozenset[str] = frozenset()
        if self.pipeline_view is not None and self.pipeline_view.isVisible():
            wanted |= self.pipeline_view.needs()
            mosaics = self.pipeline_view.MOSAICS
        self.worker.keep_activations = frozenset(wanted)
        self.worker.extra_mosaics = mosaics
        pred = self.latest.prediction if self.latest is not None else None
        if pred is None or getattr(self.predictor, "weights", None) is None:
            return
        laid_out = (self.latest.prepared or {}).keys()
        if not wanted <= pred.activations.keys() or not mosaics <= laid_out:
            full = self.predictor.predict(self.latest.tensor)  # the same tensor and weights: under a millisecond
            if np.allclose(full.probabilities, pred.probabilities, atol=1e-6):
                pred.activations = full.activations  # all of them: the views lay out what is missing

    def _update_details(self) -> None:
        pred = self.latest.prediction if self.latest is not None else None
        for dialog in self.details:
            acts = pred.activations.get(dialog.layer) if pred is not None else None
            dialog.update_map(None if acts is None else acts[:, :, dialog.channel])

    # ------------------------------------------------------------------ files

    def open_drawing_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open drawing", self._last_dir(), DRAWING_FILTER)
        if path:
            self.open_drawing(Path(path))

    def open_drawing(self, path: Path) -> bool:
        try:
            drawing = load_drawing(path)
        except DrawingError as exc:
            QMessageBox.warning(self, "Could not open the drawing", f"{path.name}: {exc}")
            return False
        self.canvas.set_drawing(drawing)
        self.pen_slider.blockSignals(True)
        self.pen_slider.setValue(int(round(self.canvas.pen_width)))
        self.pen_slider.blockSignals(False)
        self._remember_dir(path)
        return True

    def save_drawing_dialog(self) -> None:
        if self.canvas.image_loaded():
            QMessageBox.information(self, "Nothing to save", "An opened image has no strokes to save; use File → Export canvas as PNG.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Save drawing", str(Path(self._last_dir()) / "digit.json"), DRAWING_FILTER)
        if path:
            self.save_drawing(Path(path))

    def save_drawing(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        probs = self.latest.prediction.probabilities if self.latest and self.latest.prediction else None
        extra = {"predicted": int(np.argmax(probs))} if probs is not None else {}
        try:
            save_drawing(self.canvas.drawing(), path, **extra)
        except OSError as exc:
            QMessageBox.warning(self, "Could not save the drawing", f"{path}: {exc.strerror or exc}. Nothing was overwritten.")
            return False
        self._remember_dir(path)
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        return True

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self._last_dir(), IMAGE_FILTER)
        if path:
            self.open_image(Path(path))

    def open_image(self, path: Path) -> bool:
        from ..model.preprocess import load_image_gray

        try:
            gray = load_image_gray(path)
        except ValueError as exc:  # unreadable, too large (MAX_IMAGE_PIXELS), NaN pixels...
            QMessageBox.warning(self, "Could not open the image", f"{path.name}: {exc}")
            return False
        self.canvas.set_image(gray, path.name)
        self._remember_dir(path)
        return True

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export canvas as PNG", str(Path(self._last_dir()) / "digit.png"), "PNG (*.png)")
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> bool:
        from ..model.files import atomic_path

        try:
            with atomic_path(path, suffix=".png") as tmp:
                if not self.canvas.render_image().save(str(tmp), "PNG"):
                    raise OSError("the image could not be written")
        except OSError as exc:
            QMessageBox.warning(self, "Could not export", f"{path}: {exc}")
            return False
        self.statusBar().showMessage(f"Exported {path.name}", 4000)
        return True

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        path = self._dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() == ".json":
            self.open_drawing(path)
        else:
            self.open_image(path)

    @staticmethod
    def _dropped_path(event: Any) -> Path | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        for url in urls:
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES + (".json",):
                return path
        return None

    def _last_dir(self) -> str:
        return self.settings.value("files/last_dir", str(Path.home()), str)

    def _remember_dir(self, path: Path) -> None:
        self.settings.setValue("files/last_dir", str(path.parent))

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
        self.statusBar().showMessage(f"Added to My drawings as a {digit} ({count} {DIGIT_NAMES[digit]}{'s' if count != 1 else ''}). Undo brings it back to the canvas.", 5000)
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

        dialog = getattr(self, "comparison_dialog", None)
        if dialog is None:
            dialog = self.comparison_dialog = ModelComparisonDialog(self.store.root, self)
        current = Path(self.predictor.path) if self.predictor is not None and self.predictor.path else None
        dialog.refresh(models_to_compare(self.models_dir, current))
        dialog.show()
        dialog.raise_()
        return dialog

    def show_retrain(self) -> RetrainDialog:
        from .retrain_dialog import RetrainDialog

        current = Path(self.predictor.path) if self.predictor is not None and self.predictor.path else None
        if self.retrain_dialog is None or not self.retrain_dialog.isVisible() and not self.retrain_dialog.busy():
            if self.retrain_dialog is not None:
                self.retrain_dialog.deleteLater()
            self.retrain_dialog = RetrainDialog(self.settings, self.store, current, self.models_dir, self)
            self.retrain_dialog.kept.connect(self.load_model)
        self.retrain_dialog.show()
        self.retrain_dialog.raise_()
        return self.retrain_dialog

    # ------------------------------------------------------------------ about, settings

    def show_about(self) -> None:
        from .about import about_text

        QMessageBox.about(self, "About Digitscope", about_text(self.predictor))

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

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
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
        for comparison in (getattr(self, "comparison_dialog", None), getattr(self.retrain_dialog, "comparison", None)):
            if comparison is not None:
                comparison.wait()
        if self.pipeline_view is not None:
            self.pipeline_view.close()
        self.worker.stop()
        self.loader.wait(2000)
        if self.compare_loader is not None:
            self.compare_loader.wait(2000)
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
