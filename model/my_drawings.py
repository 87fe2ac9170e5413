"""The user's own labelled drawings: a folder of drawing files, one sub-folder per digit.

Layout: ``ROOT/<digit>/<name>.json``, each a drawing file (see :mod:`.drawing`)
that also records its ``label``. The folder a file sits in is its label; the
``label`` field is a copy for tools reading single files. Every change is an
atomic file operation, so a crash never leaves half a drawing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .drawing import Drawing, DrawingError, load_drawing, save_drawing

DIGITS = tuple(range(10))


@dataclass
class LabelledDrawings:
    """Drawings with their labels, and the files that could not be used (with the reason)."""

    drawings: list[Drawing] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.drawings)

    def subset(self, index: np.ndarray | list[int]) -> LabelledDrawings:
        idx = [int(i) for i in index]
        return LabelledDrawings([self.drawings[i] for i in idx], [self.labels[i] for i in idx], [self.paths[i] for i in idx], [])


class DrawingStore:
    """My drawings under ``root`` (created on first save)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def add(self, drawing: Drawing, label: int) -> Path:
        """Save a labelled drawing; returns its file."""
        label = _check_label(label)
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.root / str(label) / f"{stamp}-{secrets.token_hex(3)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_drawing(drawing, path, label=label)
        return path

    def files(self, label: int | None = None) -> list[Path]:
        """The drawing files, oldest first (by name), of one digit or all."""
        labels = DIGITS if label is None else (_check_label(label),)
        out: list[Path] = []
        for d in labels:
            folder = self.root / str(d)
            if folder.is_dir():
                out += sorted(p for p in folder.glob("*.json") if p.is_file())
        return out

    def counts(self) -> dict[int, int]:
        """How many drawings there are of each digit."""
        return {d: len(self.files(d)) for d in DIGITS}

    def label_of(self, path: Path) -> int:
        return int(Path(path).parent.name)

    def delete(self, path: str | Path) -> None:
        Path(path).unlink(missing_ok=True)

    def relabel(self, path: str | Path, label: int) -> Path:
        """Move a drawing to another digit; returns its new file.

        The move is one rename: of two movers of the same drawing (two windows) exactly one
        moves it, and the other gets FileNotFoundError, or the moved file if it went to the
        same digit; nothing is copied, so no drawing ends up under two digits. The ``label``
        field inside is written beforehand, to a temporary file beside the new place, and put
        in place right after the move (a crash in between leaves the old field: the folder is
        what counts).
        """
        import errno

        from .files import remove_stale_temps, temp_beside

        label = _check_label(label)
        path = Path(path)
        if self.label_of(path) == label:
            return path
        folder = self.root / str(label)

        def moved_meanwhile() -> Path:  # another mover took it: there, or gone
            if (folder / path.name).is_file():
                return folder / path.name
            raise FileNotFoundError(errno.ENOENT, "it was moved or deleted meanwhile (by another window?)", str(path))

        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder)
        if not path.is_file():
            return moved_meanwhile()
        target = folder / path.name
        if target.exists():  # another drawing of that name: keep both
            target = folder / f"{path.stem}-{secrets.token_hex(3)}{path.suffix}"
        try:
            drawing = load_drawing(path)
        except DrawingError:
            if path.exists():
                raise
            return moved_meanwhile()
        with temp_beside(target) as updated:
            save_drawing(drawing, updated, label=label)
            try:
                os.rename(path, target)
            except FileNotFoundError:
                return moved_meanwhile()
            os.replace(updated, target)
        return target

    def load(self) -> LabelledDrawings:
        """All drawings that can be read; unreadable files are listed in ``skipped``."""
        return load_labelled(self.root)


def load_labelled(root: str | Path) -> LabelledDrawings:
    """Read ``root/<digit>/*.json``; a file that is not a valid drawing is skipped and named."""
    store = DrawingStore(root)
    out = LabelledDrawings()
    for path in store.files():
        try:
            drawing = load_drawing(path)
        except DrawingError as exc:
            out.skipped.append((path, str(exc)))
            continue
        out.drawings.append(drawing)
        out.labels.append(store.label_of(path))
        out.paths.append(path)
    return out


def drawings_to_inputs(data: LabelledDrawings) -> tuple[np.ndarray, np.ndarray, LabelledDrawings]:
    """(N, 28, 28, 1) float32 inputs and (N,) labels through the drawing pipeline. Drawings
    with no ink are moved to ``skipped`` of the returned, cleaned set."""
    from .preprocess import EmptyInputError, drawing_to_tensor

    tensors, keep, skipped = [], [], list(data.skipped)
    for i, drawing in enumerate(data.drawings):
        try:
            tensors.append(drawing_to_tensor(drawing))
            keep.append(i)
        except (EmptyInputError, ValueError) as exc:
            skipped.append((data.paths[i], str(exc) or "no ink"))
    clean = data.subset(keep)
    clean.skipped = skipped
    x = np.stack(tensors)[..., None].astype(np.float32) if tensors else np.zeros((0, 28, 28, 1), np.float32)
    return x, np.asarray(clean.labels, dtype=np.int64), clean


def holdout_split(paths: list[Path], fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out): about ``fraction`` of the drawings held out, each file
    decided by a hash of its name alone, so a drawing stays on its side however many
    others are added (a held-out score never includes a drawing trained on earlier)."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), not {fraction}")
    train: list[int] = []
    held: list[int] = []
    for i, path in enumerate(paths):
        h = int(hashlib.sha256(os.fsencode(Path(path).name)).hexdigest()[:16], 16) / 16**16
        (held if h < fraction else train).append(i)
    return np.array(train, dtype=np.int64), np.array(held, dtype=np.int64)


#: Share of my drawings held out from training, for comparing models (``digitscope train --drawings-holdout``).
HOLDOUT = 0.2


def held_out_inputs(root: str | Path, fraction: float = HOLDOUT) -> tuple[np.ndarray, np.ndarray]:
    """The held-out share of my drawings as (N, 28, 28) inputs and (N,) labels: drawings no
    retraining with this fraction ever trained on, so any model can be scored on them."""
    x, y, clean = drawings_to_inputs(load_labelled(root))
    _, held = holdout_split(clean.paths, fraction)
    return x[held, :, :, 0], y[held]


def _check_label(label: int) -> int:
    if isinstance(label, bool) or int(label) != label or not 0 <= int(label) <= 9:
        raise ValueError(f"a label is a digit 0–9, not {label!r}")
    return int(label)


__all__ = ["HOLDOUT", "DrawingStore", "LabelledDrawings", "drawings_to_inputs", "held_out_inputs", "holdout_split", "load_labelled"]
