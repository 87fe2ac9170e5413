"""Model → My drawings…: browse, delete and relabel the user's labelled drawings.

The drawings are shown as thumbnails (black ink on white, as drawn), filtered
by digit with a row of toggle buttons that carry the counts. Files that cannot
be read are listed with a placeholder so they can be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QIcon,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..model.drawing import Drawing, DrawingError, load_drawing
from ..model.my_drawings import DIGITS, DrawingStore
from . import theme

THUMB = 64
EMPTY_TEXT = "No drawings yet: draw a digit and press its key (0–9) to add it."
ALL = 10  # the filter id for "all digits" (QButtonGroup ids must not be negative)


def drawing_thumbnail(drawing: Drawing, side: int = THUMB) -> QPixmap:
    """The strokes, black on white, with the canvas scaled to fit ``side`` pixels."""
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(theme.PAPER))
    k = (side - 2) / max(drawing.width, drawing.height)
    dx, dy = (side - drawing.width * k) / 2, (side - drawing.height * k) / 2
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(theme.FRAME), 1))
    painter.drawRect(0, 0, side - 1, side - 1)
    painter.setPen(QPen(QColor(theme.INK), max(1.0, drawing.pen_width * k), Qt.PenStyle.SolidLine,
                        Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    for stroke in (s for s in drawing.strokes if s):
        path = QPainterPath(QPointF(stroke[0][0] * k + dx, stroke[0][1] * k + dy))
        for x, y in stroke[1:] or stroke:
            path.lineTo(QPointF(x * k + dx, y * k + dy))
        painter.drawPath(path)
    painter.end()
    return pixmap


def unreadable_thumbnail(side: int = THUMB) -> QPixmap:
    """A grey placeholder marked "unreadable"."""
    pixmap = QPixmap(side, side)
    pixmap.fill(QColor(theme.PLACEHOLDER))
    painter = QPainter(pixmap)
    painter.setPen(QPen(QColor(theme.ERROR), 1))
    painter.drawRect(0, 0, side - 1, side - 1)
    font = painter.font()
    font.setPixelSize(max(8, side // 6))
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "unreadable")
    painter.end()
    return pixmap


class MyDrawingsDialog(QDialog):
    """The user's labelled drawings. ``changed`` is emitted after any deletion or relabel."""

    changed = Signal()

    def __init__(self, store: DrawingStore, parent: QWidget | None = None, *,
                 confirm: Callable[[str], bool] | None = None) -> None:
        super().__init__(parent)
        self.store = store
        #: Asks a yes/no question; replaceable (tests inject one instead of a message box).
        self.confirm = confirm or self._ask
        self.setWindowTitle("My drawings")
        self.resize(640, 480)
        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        filters = QHBoxLayout()
        for ident in (ALL, *DIGITS):
            button = QToolButton(checkable=True, autoRaise=True)
            self.filter_group.addButton(button, ident)
            filters.addWidget(button)
        filters.addStretch(1)
        self.filter_group.button(ALL).setChecked(True)
        self.filter_group.idToggled.connect(lambda _id, on: on and self.refresh())
        self.total_label = QLabel()
        self.total_label.setStyleSheet(theme.CAPTION_STYLE)
        self.empty_label = QLabel(EMPTY_TEXT, alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty_label.setStyleSheet(f"{theme.CAPTION_STYLE} font-size: 14px; padding: 24px;")
        self.list = QListWidget(viewMode=QListView.ViewMode.IconMode, iconSize=QSize(THUMB, THUMB))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setGridSize(QSize(THUMB + 40, THUMB + 36))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setStyleSheet(f"QListWidget {{ background: {theme.PAPER}; border: 1px solid {theme.FRAME}; }}")
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.target = QComboBox()
        self.target.addItems([str(d) for d in DIGITS])
        self.move_button = QPushButton("Move to digit")
        self.move_button.clicked.connect(lambda: self.move_selected(int(self.target.currentText())))
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected drawings (Delete key)")
        self.delete_button.clicked.connect(self.delete_selected)
        self.status = QLabel()
        self.status.setStyleSheet(theme.CAPTION_STYLE)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        actions = QHBoxLayout()
        for w in (self.move_button, self.target, self.delete_button):
            actions.addWidget(w)
        actions.addWidget(self.status, 1)
        actions.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.total_label)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addLayout(actions)
        self._thumbs: dict[tuple[Path, int], tuple[QIcon, str | None]] = {}
        self.refresh()

    # ------------------------------------------------------------------ contents

    def refresh(self) -> None:
        """Re-read the store: counts, thumbnails and the empty-store message."""
        counts = self.store.counts()
        total = sum(counts.values())
        self.filter_group.button(ALL).setText(f"All ({total})")
        for d in DIGITS:
            self.filter_group.button(d).setText(f"{d} ({counts[d]})")
        self.total_label.setText(f"{total} drawing{'s' * (total != 1)}")
        digit = self.filter_group.checkedId()
        self.list.clear()
        for path in self.store.files(None if digit == ALL else digit):
            icon, error = self._thumbnail(path)
            item = QListWidgetItem(icon, path.stem if error else str(self.store.label_of(path)))
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(f"{path.name}\n{error}" if error else path.name)
            self.list.addItem(item)
        self.list.setVisible(total > 0)
        self.empty_label.setVisible(total == 0)
        self._update_buttons()

    def _thumbnail(self, path: Path) -> tuple[QIcon, str | None]:
        """The item's icon and, for an unreadable file, why (cached per file version)."""
        try:
            key = (path, path.stat().st_mtime_ns)
        except OSError:
            key = (path, -1)
        if key not in self._thumbs:
            try:
                self._thumbs[key] = (QIcon(drawing_thumbnail(load_drawing(path))), None)
            except DrawingError as exc:
                self._thumbs[key] = (QIcon(unreadable_thumbnail()), f"unreadable: {exc}")
        return self._thumbs[key]

    def show_digit(self, digit: int | None) -> None:
        """Show one digit's drawings, or all of them (``None``)."""
        self.filter_group.button(ALL if digit is None else digit).setChecked(True)

    def selected_paths(self) -> list[Path]:
        return [Path(item.data(Qt.ItemDataRole.UserRole)) for item in self.list.selectedItems()]

    def _update_buttons(self) -> None:
        has = bool(self.list.selectedItems())
        self.move_button.setEnabled(has)
        self.delete_button.setEnabled(has)

    # ------------------------------------------------------------------ actions

    def delete_selected(self) -> int:
        """Delete the selected files (asking first when more than one); returns how many."""
        paths = self.selected_paths()
        if not paths or (len(paths) > 1 and not self.confirm(f"Delete {len(paths)} drawings? This cannot be undone.")):
            return 0
        failed = []
        for path in paths:
            try:
                self.store.delete(path)
            except OSError as exc:
                failed.append(f"{path.name}: {exc.strerror or exc}")
        return self._done(len(paths) - len(failed), "Deleted", failed)

    def move_selected(self, digit: int) -> int:
        """Relabel the selected drawings as ``digit``; returns how many moved."""
        moved, failed = 0, []
        for path in self.selected_paths():
            try:
                if self.store.label_of(path) != digit:
                    self.store.relabel(path, digit)
                    moved += 1
            except (DrawingError, OSError) as exc:
                failed.append(f"{path.name}: {exc}")
        return self._done(moved, f"Moved to {digit}:", failed)

    def _done(self, count: int, verb: str, failed: list[str]) -> int:
        message = f"{verb} {count} drawing{'s' * (count != 1)}."
        self.status.setText(message + (f" Could not change {'; '.join(failed)}" if failed else ""))
        self.refresh()
        if count:
            self.changed.emit()
        return count

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.list.selectedItems():
            self.delete_selected()
        else:
            super().keyPressEvent(event)

    def _ask(self, question: str) -> bool:
        answer = QMessageBox.question(self, "My drawings", question)
        return answer == QMessageBox.StandardButton.Yes
