"""Models side by side: the figures the comparison table and plot show, for any model file.

MNIST test accuracy, training time and the curves come from a model's
metadata (written when it was trained); the accuracy on drawings is measured
here, in NumPy, on whatever labelled drawings the caller has (the held-out
share of My drawings in the app, unipen-dev in the benchmark).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .architecture import ARCHITECTURES, architecture_of


@dataclass
class ModelSummary:
    """One row of the comparison."""

    name: str
    path: Path
    architecture: str  # "cnn", "dense" or "numpy"
    parameters: int
    mnist_accuracy: float | None
    drawings_accuracy: float | None  # None when there are no labelled drawings
    drawings_count: int
    #: Seconds of training, including the models it was fine-tuned from (as far as their metadata tells).
    training_seconds: float | None
    epochs: int | None
    #: Epochs of the runs it was fine-tuned from (0 for a model trained from scratch).
    epochs_before: int = 0
    #: Per epoch: training and validation accuracy (None where not measured).
    train_curve: list[float | None] = field(default_factory=list)
    val_curve: list[float | None] = field(default_factory=list)

    @property
    def label(self) -> str:
        """The network's short name, for the table."""
        return ARCHITECTURES[self.architecture].label

    @property
    def description(self) -> str:
        return ARCHITECTURES[self.architecture].description

    @property
    def overfit_gap(self) -> float | None:
        """Last epoch's training accuracy minus its validation accuracy (how much it learnt by heart)."""
        if not self.train_curve or self.train_curve[-1] is None or not self.val_curve or self.val_curve[-1] is None:
            return None
        return float(self.train_curve[-1]) - float(self.val_curve[-1])


def _chain(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """A model's metadata, then that of each model it was fine-tuned from (``base_model``)."""
    out = []
    while isinstance(metadata, dict):
        out.append(metadata)
        metadata = metadata.get("base_model")
    return out


def _base_epochs(metadata: dict[str, Any]) -> int:
    return sum(int(base.get("epochs") or 0) for base in _chain(metadata)[1:])


def _chain_seconds(metadata: dict[str, Any]) -> float | None:
    seconds = [float(m["training_seconds"]) for m in _chain(metadata) if isinstance(m.get("training_seconds"), (int, float))]
    return sum(seconds) if seconds else None


def summarise(
    path: str | Path, drawings: np.ndarray | None = None, labels: np.ndarray | None = None, predictor: Any = None
) -> ModelSummary:
    """The comparison row of one model file; ``drawings`` (N, 28, 28) with ``labels`` (N,) are read with it.

    Raises ValueError (ModelFileError) when the file cannot be loaded."""
    from .inference import load_predictor

    predictor = predictor or load_predictor(path)
    meta = predictor.metadata or {}
    history = [e for e in meta.get("history") or [] if isinstance(e, dict)]
    drawings_accuracy = None
    count = 0 if labels is None else int(len(labels))
    if count:
        predicted = predictor.probabilities(drawings).argmax(axis=1)
        drawings_accuracy = float((predicted == np.asarray(labels)).mean())
    accuracy = meta.get("test_accuracy")
    epochs = meta.get("epochs")
    return ModelSummary(
        name=Path(path).name,
        path=Path(path),
        architecture=architecture_of(meta),
        parameters=int(meta.get("parameters") or predictor.parameter_count),
        mnist_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        drawings_accuracy=drawings_accuracy,
        drawings_count=count,
        training_seconds=_chain_seconds(meta),
        epochs=int(epochs) if isinstance(epochs, int) else None,
        epochs_before=_base_epochs(meta),
        train_curve=[_num(e.get("accuracy")) for e in history],
        val_curve=[_num(e.get("val_accuracy")) for e in history],
    )


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
