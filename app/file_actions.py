"""The main window's files: the open, save, export and model dialogs, and drag & drop."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..model.drawing import DrawingError, load_drawing, save_drawing

if TYPE_CHECKING:
    from .window import MainWindow

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff)"
DRAWING_FILTER = "Digitscope drawings (*.json)"
MODEL_FILTER = "Keras models (*.keras)"
SECOND_MODEL_FILTER = "Keras models (*.keras *.h5)"


class FileActions:
    """Opens and saves what the window's canvas shows; remembers the last folder used
    (``files/last_dir`` in the window's settings). The ``*_dialog`` methods ask for a path."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    @property
    def canvas(self) -> Any:
        return self.window.canvas

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 4000)

    # ------------------------------------------------------------------ drawings and images

    def open_drawing_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open drawing", self.last_dir(), DRAWING_FILTER)
        if path:
            self.open_drawing(Path(path))

    def open_drawing(self, path: Path) -> bool:
        try:
            drawing = load_drawing(path)
        except DrawingError as exc:
            QMessageBox.warning(self.window, "Could not open the drawing", f"{path.name}: {exc}")
            return False
        self.canvas.set_drawing(drawing)
        self.window.show_pen_width()
        self.remember_dir(path)
        return True

    def save_drawing_dialog(self) -> None:
        if self.canvas.image_loaded():
            QMessageBox.information(
                self.window, "Nothing to save", "An opened image has no strokes to save; use File → Export canvas as PNG."
            )
            return
        path, _ = QFileDialog.getSaveFileName(self.window, "Save drawing", str(Path(self.last_dir()) / "digit.json"), DRAWING_FILTER)
        if path:
            self.save_drawing(Path(path))

    def save_drawing(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            path = path.with_suffix(".json")
        latest = self.window.session.latest
        probs = latest.prediction.probabilities if latest and latest.prediction else None
        extra = {"predicted": int(np.argmax(probs))} if probs is not None else {}
        try:
            save_drawing(self.canvas.drawing(), path, **extra)
        except OSError as exc:
            QMessageBox.warning(self.window, "Could not save the drawing", f"{path}: {exc.strerror or exc}. Nothing was overwritten.")
            return False
        self.remember_dir(path)
        self._status(f"Saved {path.name}")
        return True

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open image", self.last_dir(), IMAGE_FILTER)
        if path:
            self.open_image(Path(path))

    def open_image(self, path: Path) -> bool:
        from ..model.preprocess import load_image_gray

        try:
            gray = load_image_gray(path)
        except ValueError as exc:  # unreadable, too large (MAX_IMAGE_PIXELS), NaN pixels...
            QMessageBox.warning(self.window, "Could not open the image", f"{path.name}: {exc}")
            return False
        self.canvas.set_image(gray, path.name)
        self.remember_dir(path)
        return True

    def export_png_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Export canvas as PNG", str(Path(self.last_dir()) / "digit.png"), "PNG (*.png)")
        if path:
            self.export_png(Path(path))

    def export_png(self, path: Path) -> bool:
        from ..model.files import atomic_path

        try:
            with atomic_path(path, suffix=".png") as tmp:
                if not self.canvas.render_image().save(str(tmp), "PNG"):
                    raise OSError("the image could not be written")
        except OSError as exc:
            QMessageBox.warning(self.window, "Could not export", f"{path}: {exc}")
            return False
        self._status(f"Exported {path.name}")
        return True

    # ------------------------------------------------------------------ models

    def load_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load model", "", MODEL_FILTER)
        if path:
            self.window.load_model(Path(path))

    def compare_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Compare with model", self.last_dir(), SECOND_MODEL_FILTER)
        if path:
            self.window.compare_with(Path(path))

    # ------------------------------------------------------------------ drag & drop

    @staticmethod
    def dropped_path(event: Any) -> Path | None:
        """The first drawing or image among the files dragged in ``event``."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        for url in urls:
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES + (".json",):
                return path
        return None

    def open_dropped(self, event: Any) -> None:
        path = self.dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() == ".json":
            self.open_drawing(path)
        else:
            self.open_image(path)

    # ------------------------------------------------------------------ the last folder

    def last_dir(self) -> str:
        return self.window.settings.value("files/last_dir", str(Path.home()), str)

    def remember_dir(self, path: Path) -> None:
        self.window.settings.setValue("files/last_dir", str(path.parent))
