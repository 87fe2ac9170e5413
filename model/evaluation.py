"""Accuracy figures: overall, per class, confusion matrix, worst confusions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Evaluation:
    """Predicted vs true labels, summarised."""

    accuracy: float
    per_class: list[float]
    confusion: np.ndarray  # confusion[true, predicted]
    count: int

    def worst_confusions(self, n: int = 5) -> list[tuple[int, int, int]]:
        """The ``n`` most frequent (true, predicted, count) mistakes."""
        off = self.confusion.copy()
        np.fill_diagonal(off, 0)
        order = np.argsort(off, axis=None)[::-1][:n]
        pairs = [(int(i // 10), int(i % 10), int(off.flat[i])) for i in order]
        return [p for p in pairs if p[2] > 0]

    def to_json(self) -> dict:
        return {
            "accuracy": self.accuracy,
            "per_class_accuracy": self.per_class,
            "confusion": self.confusion.tolist(),
            "count": self.count,
        }

    def report(self, title: str) -> str:
        """A human-readable table."""
        lines = [f"{title}: accuracy {100 * self.accuracy:.2f}% on {self.count} samples", "per class:"]
        lines.append("  " + "  ".join(f"{d}:{100 * a:6.2f}%" for d, a in enumerate(self.per_class)))
        lines.append("confusion matrix (rows: true digit, columns: predicted):")
        lines.append("      " + "".join(f"{d:>6}" for d in range(10)))
        for d in range(10):
            lines.append(f"  {d:>2}  " + "".join(f"{v:>6}" for v in self.confusion[d]))
        worst = self.worst_confusions()
        if worst:
            lines.append("worst confusions: " + ", ".join(f"{t}→{p} ×{c}" for t, p, c in worst))
        return "\n".join(lines)


def evaluate_labels(y_true: np.ndarray, y_pred: np.ndarray, classes: int = 10) -> Evaluation:
    """Summarise integer predictions against integer labels."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    return evaluation_from_confusion(confusion)


def evaluation_from_confusion(confusion: np.ndarray) -> Evaluation:
    """The figures a confusion matrix (rows: true class) holds."""
    confusion = np.asarray(confusion, dtype=np.int64)
    totals = confusion.sum(axis=1)
    count = int(confusion.sum())
    per_class = [float(confusion[c, c] / totals[c]) if totals[c] else float("nan") for c in range(len(confusion))]
    return Evaluation(float(np.trace(confusion) / max(1, count)), per_class, confusion, count)
