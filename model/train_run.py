"""A whole training run, as ``digitscope train`` does it: data → train → test → save."""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .augment import PRESETS
from .training import ProgressFn, StopFn, TrainConfig


@dataclass
class TrainRequest:
    """Everything a run needs; ``command`` is recorded in the metadata."""

    output: Path
    mnist: str | None = None
    epochs: int = 12
    batch_size: int = 128
    seed: int = 0
    learning_rate: float = 1e-3
    validation_split: float = 0.1
    augment: str = "drawn"  # a name in augment.PRESETS, or "off"
    init_model: str | None = None
    limit: int | None = None
    command: str = ""


def run_training(request: TrainRequest, progress: ProgressFn, should_stop: StopFn | None = None) -> dict[str, Any]:
    """Train, evaluate on the MNIST test set, and save the model with its metadata.

    Returns the metadata written. Nothing is written if training fails or is cancelled.
    """
    import keras
    import numpy as np

    from .evaluation import evaluate_labels
    from .files import sha256_file
    from .inference import Predictor
    from .mnist import as_inputs, load_mnist, one_hot
    from .modelfile import load_keras_model, metadata_path, read_metadata, save_model
    from .training import train_model

    data = load_mnist(request.mnist)
    x, y = data.x_train, data.y_train
    if request.limit:
        x, y = x[: request.limit], y[: request.limit]
    config = TrainConfig(
        epochs=request.epochs,
        batch_size=request.batch_size,
        seed=request.seed,
        learning_rate=request.learning_rate,
        augment=request.augment != "off",
        augment_config=PRESETS.get(request.augment, PRESETS["drawn"]),
        style_variants=TrainConfig.style_variants if request.augment == "drawn" else 0.0,
        validation_split=request.validation_split,
    )
    base = load_keras_model(request.init_model) if request.init_model else None
    result = train_model(as_inputs(x), one_hot(y), config, model=base, progress=progress, should_stop=should_stop)

    predictor = Predictor(result.model)
    test = evaluate_labels(data.y_test, predictor.probabilities(as_inputs(data.x_test)).argmax(axis=1))
    progress({"event": "evaluated", "test_accuracy": test.accuracy, "per_class_accuracy": test.per_class})

    import tensorflow as tf

    metadata = {
        "format": "digitscope-model-metadata",
        "version": 1,
        "architecture": "mnist-cnn",
        "test_accuracy": test.accuracy,
        "per_class_accuracy": test.per_class,
        "confusion": test.confusion.tolist(),
        "epochs": request.epochs,
        "train_samples": int(len(x) - round(len(x) * request.validation_split)),
        "config": config.to_json(),
        "history": result.history,
        "training_seconds": round(result.seconds, 1),
        "fine_tuned_from": request.init_model,
        # the base model's own record (its command, recipe and figures), so the chain is kept
        "base_model": read_metadata(request.init_model) if request.init_model else None,
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": request.command,
        "mnist_sha256": sha256_file(data.path),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
        },
    }
    path = save_model(result.model, request.output, metadata)
    progress({"event": "saved", "path": str(path), "metadata": str(metadata_path(path))})
    return metadata
