"""Labelled pen drawings in JSON lines, and their augmented renders for training.

The format is the drawing format, one drawing a line, plus ``label`` (a digit)
and ``site`` (who collected it), as ``../shared/data/unipen-dev.jsonl`` is::

    {"label": 7, "site": "apb", "width": 280, "height": 280, "pen_width": 19.6, "strokes": [...]}

Sites matter: a model is measured on writers it never saw by leaving one
site out of training (see ``benchmarks/leave_one_site_out.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .drawing import Drawing, DrawingError, decode_json
from .stroke_augment import StrokeAugmentConfig, augment_drawing
from .style_synth import READING, Reach, restyle

#: A pen-data file larger than this is refused before it is read.
MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class PenDigits:
    """Drawings of digits with their labels (N,) and collection sites (N,)."""

    drawings: list[Drawing]
    labels: np.ndarray
    sites: np.ndarray
    path: Path

    def __len__(self) -> int:
        return len(self.drawings)

    def site_names(self) -> list[str]:
        return sorted(set(self.sites.tolist()))

    def select(self, sites: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> PenDigits:
        """The drawings of ``sites`` (all when None) but not of ``exclude``; unknown names are an error."""
        known = set(self.site_names())
        chosen = set(known if sites is None else sites)
        dropped = set(exclude)
        unknown = sorted((chosen | dropped) - known)
        if unknown:
            raise ValueError(f"{self.path.name} has no site {', '.join(unknown)} (its sites: {', '.join(sorted(known))})")
        keep = np.flatnonzero([s in chosen and s not in dropped for s in self.sites])
        return PenDigits([self.drawings[i] for i in keep], self.labels[keep], self.sites[keep], self.path)


def load_pen_digits(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> PenDigits:
    """Read a JSON-lines file of labelled digit drawings; a malformed line is an error naming it."""
    drawings, labels, sites, p = _read_labelled(path, _digit_label, max_bytes)
    if not drawings:
        raise ValueError(f"{p} holds no drawings")
    return PenDigits(drawings, np.asarray(labels, np.int64), np.asarray(sites), p)


def load_pen_letters(
    path: str | Path, letters: Iterable[str] | None = None, max_bytes: int = MAX_FILE_BYTES
) -> tuple[list[Drawing], np.ndarray, np.ndarray]:
    """Read a JSON-lines file of labelled letter drawings (as ``unipen-letters-dev.jsonl``):
    (drawings, labels, sites), of ``letters`` only when given; a malformed line is an error naming it."""
    keep = None if letters is None else set(letters)
    drawings, labels, sites, _ = _read_labelled(path, _letter_label, max_bytes)
    chosen = [i for i, label in enumerate(labels) if keep is None or label in keep]
    return [drawings[i] for i in chosen], np.asarray([labels[i] for i in chosen]), np.asarray([sites[i] for i in chosen])


def _digit_label(label: Any) -> int:
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise DrawingError(f"label must be a digit 0-9, got {label!r}")
    return label


def _letter_label(label: Any) -> str:
    if not isinstance(label, str) or len(label) != 1 or not label.isalpha():
        raise DrawingError(f"label must be a letter, got {label!r}")
    return label


def _read_labelled(
    path: str | Path, check_label: Callable[[Any], Any], max_bytes: int
) -> tuple[list[Drawing], list[Any], list[str], Path]:
    """The drawings, labels (each checked by ``check_label``) and sites of a JSON-lines file,
    refused unread when over ``max_bytes``."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ValueError(f"cannot read pen data {path}: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise ValueError(f"{path} is {size / 2**20:.0f} MB, more than the {max_bytes / 2**20:.0f} MB allowed for pen data")
    drawings: list[Drawing] = []
    labels: list[Any] = []
    sites: list[str] = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                doc = decode_json(line)
                drawing = Drawing.from_json(doc)
                label = check_label(doc.get("label"))
            except DrawingError as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from None
            drawings.append(drawing)
            labels.append(label)
            sites.append(str(doc.get("site", "")))
    return drawings, labels, sites, path


def render_copies(
    drawings: Iterable[Drawing],
    copies: int,
    seed: int,
    labels: Iterable[int] | None = None,
    augment: StrokeAugmentConfig = StrokeAugmentConfig(),
    restyle_share: float = 0.3,
    reach: Reach = READING,
) -> tuple[np.ndarray, np.ndarray]:
    """Each drawing rendered ``copies`` times: once as it is, the rest varied by ``augment``;
    given their ``labels``, a ``restyle_share`` of the varied zeros, ones and sevens get another
    regional variant first (:func:`.style_synth.restyle`, its strokes as far as ``reach``: by
    default the CNN's). Drawings that render to nothing are skipped. Returns (M, 28, 28)
    float32 tensors and the index of each one's drawing (M,)."""
    from .preprocess import EmptyInputError, drawing_to_tensor

    rng = np.random.default_rng(seed)
    images: list[np.ndarray] = []
    index: list[int] = []
    label_list = None if labels is None else [int(v) for v in labels]
    for i, drawing in enumerate(drawings):
        for copy in range(copies):
            varied = drawing
            if copy:
                if label_list is not None and rng.random() < restyle_share:
                    varied = restyle(varied, label_list[i], rng, reach)
                varied = augment_drawing(varied, rng, augment)
            try:
                images.append(drawing_to_tensor(varied))
            except (EmptyInputError, ValueError):
                continue
            index.append(i)
    x = np.stack(images).astype(np.float32) if images else np.zeros((0, 28, 28), np.float32)
    return x, np.asarray(index, np.int64)


def render_augmented(
    data: PenDigits,
    copies: int,
    seed: int,
    augment: StrokeAugmentConfig = StrokeAugmentConfig(),
    restyle_share: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`render_copies` of labelled pen digits: (N·copies, 28, 28) float32 tensors and their labels."""
    x, index = render_copies(data.drawings, copies, seed, data.labels.tolist(), augment, restyle_share)
    return x, np.asarray(data.labels, np.int64)[index]
