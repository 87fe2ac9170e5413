"""The talk's three pictures of training and validation accuracy, as Retrain presets.

* **underfitting**: both curves stay low; the network has not learned enough yet.
* **desired**: both climb high and stay close; it learns what digits look like.
* **overfitting**: training climbs to 100 % while validation stalls; it learns its
  few training images by heart.

Each :class:`TrainPreset` is a handful of :class:`.train_run.TrainRequest` settings (the
CNN from scratch on part of MNIST), chosen so that a 2-core CPU shows its picture within
a few minutes (``benchmarks/overfitting_preset.py`` runs them and prints the curves).
:func:`parting` reads a run's epoch events and :func:`explanation` says in one line
what its curves show. No Qt, no TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .architecture import ARCHITECTURES
from .train_run import TrainRequest

#: Training minus validation accuracy at the end from which the curves have parted: overfitting.
OVERFIT_GAP = 0.03
#: Below this accuracy, training and validation alike, MNIST is not learned yet: underfitting.
LOW_ACCURACY = 0.90
#: A validation loss within this share of the lowest counts as no worse: where the curves part is
#: the first epoch that comes this close, not a noisy dip ten epochs later.
LOSS_TOLERANCE = 0.02


@dataclass(frozen=True)
class TrainPreset:
    """A training run that shows one of the lessons, in one click.

    The fields after ``lesson`` are the :class:`TrainRequest` values it sets (see
    :meth:`settings`); :meth:`apply` puts them into a request."""

    key: str
    #: Its entry in Retrain's choice of preset ("Show overfitting").
    label: str
    #: What the curves should show, for a tooltip or the caption of the plot.
    lesson: str
    epochs: int
    #: The first ``limit`` MNIST training images, of which ``validation_split`` are held out.
    limit: int
    validation_split: float
    augment: str = "off"
    #: None: the network's own (the CNN: Adam at 1e-3, cosine-decayed).
    learning_rate: float | None = None
    #: None: the network's own (the CNN: 128).
    batch_size: int | None = None
    architecture: str = "cnn"

    def settings(self) -> dict[str, Any]:
        """The :class:`TrainRequest` fields this preset sets, and their values: its own numbers,
        from scratch on MNIST alone (no drawings, pen data or synthesised digits, all layers
        trained), so that the run is the one :attr:`summary` describes."""
        return {
            "architecture": self.architecture,
            "epochs": self.epochs,
            "limit": self.limit,
            "validation_split": self.validation_split,
            "augment": self.augment,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "init_model": None,
            "train_layers": "all",
            "drawings": None,
            "pen_data": None,
            "pen_sites": None,
            "leave_out_site": None,
            "synth": 0,
        }

    def apply(self, request: TrainRequest) -> TrainRequest:
        """``request`` with this preset's settings; its output, MNIST file, seed and model to
        compare with stay as they are."""
        return dataclasses.replace(request, **self.settings())

    @property
    def validation_images(self) -> int:
        """How many of the ``limit`` images are held out (as :func:`.training.train_model` counts)."""
        return int(round(self.limit * self.validation_split))

    @property
    def training_images(self) -> int:
        return self.limit - self.validation_images

    @property
    def summary(self) -> str:
        """One line for the dialog: what the preset runs (made from its numbers, so it is never stale)."""
        spec = ARCHITECTURES[self.architecture]
        parts = [
            f"the {spec.label} from scratch on {self.training_images:,} MNIST images "
            f"({self.validation_images:,} more held out for validation)",
            "no augmentation" if self.augment == "off" else f"{self.augment} augmentation",
            f"{self.epochs} epochs",
        ]
        if self.batch_size is not None and self.batch_size != spec.batch_size:
            parts.append(f"batches of {self.batch_size}")
        if self.learning_rate is not None and self.learning_rate != spec.learning_rate:
            times = spec.learning_rate / self.learning_rate
            how = f", {times:g}× below the usual {spec.learning_rate:g}" if times > 1 else ""
            parts.append(f"learning rate {self.learning_rate:g}{how}")
        return ", ".join(parts)


#: The presets, in the order of the talk's pictures.
PRESETS: dict[str, TrainPreset] = {
    preset.key: preset
    for preset in (
        TrainPreset(
            key="underfitting",
            label="Show underfitting",
            lesson="both curves stay low: too little training for what there is to learn",
            epochs=8,
            limit=5000,
            validation_split=0.2,
            learning_rate=1e-5,
        ),
        TrainPreset(
            key="desired",
            label="Show a good fit",
            lesson="both curves climb high and stay close: the network learns what digits look like",
            epochs=4,
            limit=15000,
            validation_split=0.2,
            augment="mild",
        ),
        TrainPreset(
            key="overfitting",
            label="Show overfitting",
            lesson="training climbs to 100 % while validation stalls: the network learns its images by heart",
            epochs=40,
            limit=2500,
            validation_split=0.8,
            batch_size=32,
        ),
    )
}


@dataclass(frozen=True)
class Parting:
    """Where a run's training and validation curves part (see :func:`parting`)."""

    epochs: int
    #: The epoch (1-based) of the best validation accuracy (the first, on a tie), and that accuracy.
    best_val_epoch: int
    best_val_accuracy: float
    #: The epoch of the lowest validation loss (None: no loss reported), and that loss.
    lowest_val_loss_epoch: int | None
    lowest_val_loss: float | None
    #: The last epoch's accuracies, and training minus validation.
    final_accuracy: float
    final_val_accuracy: float
    final_val_loss: float | None
    #: Training images of the run, when its "start" event was among the events.
    train_samples: int | None = None
    #: The first epoch whose validation loss is within :data:`LOSS_TOLERANCE` of the lowest.
    near_lowest_val_loss_epoch: int | None = None

    @property
    def gap(self) -> float:
        return self.final_accuracy - self.final_val_accuracy

    @property
    def parted_at(self) -> int:
        """The epoch after which validation stops getting better: the first that comes close to
        the lowest validation loss (the loss turns before the accuracy stalls), else the best
        validation accuracy."""
        if self.near_lowest_val_loss_epoch is not None:
            return self.near_lowest_val_loss_epoch
        return self.lowest_val_loss_epoch if self.lowest_val_loss_epoch is not None else self.best_val_epoch

    @property
    def kind(self) -> str:
        """"underfitting", "overfitting" or "desired", as the talk's pictures."""
        if max(self.final_accuracy, self.final_val_accuracy) < LOW_ACCURACY:
            return "underfitting"
        if self.gap >= OVERFIT_GAP:
            return "overfitting"
        return "desired"


def parting(history: Iterable[dict[str, Any]] | None) -> Parting | None:
    """Where training and validation part, from a run's progress events: the epoch events
    (``epoch``, ``accuracy``, ``val_accuracy``, ``loss``, ``val_loss``, as
    :mod:`.training` emits them, or the metadata's ``history``); other events are skipped,
    bar a "start" event's ``train_samples``. None when no epoch has both accuracies (no
    validation images, or no epoch yet)."""
    epochs: list[dict[str, Any]] = []
    train_samples = None
    for event in history or ():
        kind = event.get("event", "epoch")
        if kind == "start":
            train_samples = event.get("train_samples")
        elif kind == "epoch" and event.get("accuracy") is not None and event.get("val_accuracy") is not None:
            epochs.append(event)
    if not epochs:
        return None
    best = max(epochs, key=lambda e: e["val_accuracy"])  # max keeps the first of equals
    losses = [e for e in epochs if e.get("val_loss") is not None]
    lowest = min(losses, key=lambda e: e["val_loss"]) if losses else None
    near = None if lowest is None else next(e for e in losses if e["val_loss"] <= lowest["val_loss"] * (1 + LOSS_TOLERANCE))
    last = epochs[-1]
    return Parting(
        epochs=int(last["epoch"]),
        best_val_epoch=int(best["epoch"]),
        best_val_accuracy=float(best["val_accuracy"]),
        lowest_val_loss_epoch=None if lowest is None else int(lowest["epoch"]),
        lowest_val_loss=None if lowest is None else float(lowest["val_loss"]),
        final_accuracy=float(last["accuracy"]),
        final_val_accuracy=float(last["val_accuracy"]),
        final_val_loss=None if last.get("val_loss") is None else float(last["val_loss"]),
        train_samples=None if train_samples is None else int(train_samples),
        near_lowest_val_loss_epoch=None if near is None else int(near["epoch"]),
    )


def percent(value: float) -> str:
    """0.912 → "91.2 %", 1.0 → "100 %" (one decimal at most; 99.96 % stays below 100)."""
    text = f"{100 * value:.1f}"
    if text == "100.0" and value < 1:
        text = "99.9"
    return text.removesuffix(".0") + " %"


def explanation(p: Parting | None) -> str:
    """One line for beside the plot: what the curves show."""
    if p is None:
        return "No validation accuracy yet: without held-out images there is no telling learning from learning by heart."
    train, val = percent(p.final_accuracy), percent(p.final_val_accuracy)
    images = f"its {p.train_samples:,} training images" if p.train_samples else "its training images"
    if p.kind == "underfitting":
        rising = " and still rising" if p.best_val_epoch == p.epochs else ""
        return (
            f"Underfitting: after {p.epochs} epoch{'s' if p.epochs != 1 else ''} both curves are still low "
            f"(training {train}, validation {val}){rising}; the network has not learned digits yet "
            "and needs more epochs or a larger learning rate."
        )
    if p.kind == "overfitting":
        if p.best_val_accuracy - p.final_val_accuracy >= 0.005:
            stalls = f"validation accuracy peaked at {percent(p.best_val_accuracy)} in epoch {p.best_val_epoch} and ends at {val}"
        else:
            stalls = f"validation accuracy stalls at {val}"
        if p.lowest_val_loss is not None and p.final_val_loss is not None and p.final_val_loss > 1.1 * p.lowest_val_loss:
            stalls += " and validation loss rises again"
        return f"From epoch {p.parted_at} the network learns {images} by heart: training accuracy climbs to {train} while {stalls}."
    if p.gap <= -OVERFIT_GAP:
        return (
            f"A good fit: validation accuracy climbs to {val}, even above training's {train} (measured with dropout on, "
            "and on augmented images if any), so the network has learned what digits look like."
        )
    return (
        f"A good fit: training and validation accuracy climb together ({train} and {val}), "
        f"so the network has learned what digits look like, not {images} by heart."
    )
