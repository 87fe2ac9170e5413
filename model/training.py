"""Training the CNN: data pipeline, optimiser, progress events and cancellation.

Progress is reported as plain dicts (the JSON-lines mode of ``digitscope
train`` prints them as they come), so a terminal, a GUI or a test can follow
a run without knowing Keras:

* ``{"event": "start", "epochs", "steps_per_epoch", "train_samples", "val_samples"}``
* ``{"event": "batch", "epoch", "batch", "steps", "loss", "accuracy"}``
* ``{"event": "epoch", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}``
* ``{"event": "weights", "step", "epoch", "batch", "seconds", "conv1", "conv2", "probe_maps",
  "probe_probabilities"}``, the CNN only: its kernels and a probe digit's conv1 maps and
  probabilities, before the first batch, at most once per ``weights_interval`` seconds
  while it trains, and at the end (see :mod:`.learning_frames`)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from .augment import AugmentConfig

ProgressFn = Callable[[dict[str, Any]], None]
StopFn = Callable[[], bool]


class TrainingCancelled(Exception):
    """The run was cancelled; nothing was written."""


class TrainingDiverged(ValueError):
    """The loss or the weights became NaN or infinite: there is no model worth saving."""


def check_finite_weights(model: Any) -> None:
    """Raise :class:`TrainingDiverged` if any weight of ``model`` is NaN or infinite."""
    for weight in model.weights:
        if not np.isfinite(np.asarray(weight)).all():
            raise TrainingDiverged(
                f"training diverged: the weights ({weight.path}) became NaN or infinite, so no model was saved; "
                "try a lower learning rate"
            )


@dataclass
class TrainConfig:
    """How to train. Defaults are the shipped recipe."""

    epochs: int = 12
    batch_size: int = 128
    seed: int = 0
    learning_rate: float = 1e-3
    augment: bool = True
    #: Slash a share of the zeros and flag a share of the ones (see :mod:`.styles`), with ``augment``.
    style_variants: float = 0.35
    validation_split: float = 0.1
    #: Keep an exponential moving average of the weights and end with it (runs of ≥ 2,000 steps).
    ema_momentum: float = 0.999
    augment_config: AugmentConfig = field(default_factory=AugmentConfig)
    #: "all" layers, or "dense": the convolution filters stay as they are (fine-tuning 2-3× faster).
    train_layers: str = "all"
    #: With teachers (see :func:`train_model`): the share of their softened reading in the
    #: target of the images they teach, the rest being the label; 0 without teachers.
    distill: float = 0.0
    #: Share of each one-hot target spread evenly over the ten digits (label smoothing; 0: none).
    label_smoothing: float = 0.0
    #: Seconds between batch progress events (epoch events always come).
    batch_event_interval: float = 0.25
    #: Least seconds between ``weights`` events of the CNN (besides the first and the last); 0: none.
    weights_interval: float = 0.5
    #: The probe digit of the ``weights`` events, a (28, 28) tensor; None: the built-in 7
    #: (:func:`.learning_frames.default_probe`). It does not change the model: not in :meth:`to_json`.
    probe: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        doc = asdict(replace(self, probe=None))
        del doc["probe"]
        doc["augment_config"] = self.augment_config.to_json()
        return doc


@dataclass
class TrainResult:
    model: Any
    history: list[dict[str, Any]]
    seconds: float


def train_model(
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    model: Any | None = None,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    sample_weight: np.ndarray | None = None,
    image_augment: np.ndarray | None = None,
    teachers: Sequence[Any] = (),
    taught: np.ndarray | None = None,
) -> TrainResult:
    """Train on float32 images (N, 28, 28, 1) in [0, 1] with one-hot labels (N, 10).

    ``model`` is fine-tuned when given, else a new CNN is built. With ``config.augment``,
    the images where ``image_augment`` (N,) is true (default: all) get the image
    augmentation and style variants; renders of drawings varied on their strokes
    already are left as they are. With ``teachers`` (models of ten softmax outputs),
    the target of each image where ``taught`` (N,) is true (default: all) blends its
    label with the teachers' mean reading of the image as augmented, softened at
    :data:`DISTILL_TEMPERATURE`, in the share ``config.distill`` (distillation). Raises
    :class:`TrainingCancelled` as soon as ``should_stop()`` turns true (checked
    after every batch).
    """
    import keras
    import tensorflow as tf

    from .architecture import build_cnn

    keras.utils.set_random_seed(config.seed)
    emit = progress or (lambda event: None)
    stop = should_stop or (lambda: False)
    if sample_weight is None:
        sample_weight = np.ones(len(x), dtype=np.float32)
    if image_augment is None:
        image_augment = np.ones(len(x), dtype=bool)
    if taught is None:
        taught = np.ones(len(x), dtype=bool)
    if teachers and not 0 < config.distill <= 1:
        raise ValueError(f"distill is the teachers' share of the target, in (0, 1], not {config.distill!r}")
    n_val = int(round(len(x) * config.validation_split))
    order = np.random.default_rng(config.seed).permutation(len(x))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if len(train_idx) == 0:
        raise ValueError("no training samples")
    steps = int(np.ceil(len(train_idx) / config.batch_size))

    if not (np.isfinite(config.weights_interval) and config.weights_interval >= 0):
        raise ValueError(f"weights_interval is a number of seconds ≥ 0, not {config.weights_interval!r}")
    if model is None:
        model = build_cnn()
    if config.train_layers not in ("all", "dense"):
        raise ValueError(f"train_layers is 'all' or 'dense', not {config.train_layers!r}")
    frozen = [layer for layer in model.layers if config.train_layers == "dense" and layer.name.startswith("conv")]
    for layer in frozen:
        layer.trainable = False
    schedule = keras.optimizers.schedules.CosineDecay(
        config.learning_rate, decay_steps=max(1, steps * config.epochs), alpha=0.01
    )
    use_ema = config.ema_momentum > 0 and steps * config.epochs >= 2000
    model.compile(
        optimizer=keras.optimizers.Adam(schedule, use_ema=use_ema, ema_momentum=config.ema_momentum),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )

    x_train = x[train_idx]
    mask = np.asarray(image_augment, dtype=bool)[train_idx]
    if config.augment and config.style_variants > 0:
        from .styles import add_style_variants

        x_train = x_train.copy()
        x_train[mask] = add_style_variants(x_train[mask], y[train_idx][mask].argmax(axis=1), config.seed, config.style_variants)
    taught_train = np.asarray(taught, dtype=bool)[train_idx] if teachers else np.zeros(len(train_idx), bool)
    train_ds = tf.data.Dataset.from_tensor_slices(
        ((x_train, mask.astype(np.float32), taught_train.astype(np.float32)), y[train_idx], sample_weight[train_idx].astype(np.float32))
    )
    train_ds = train_ds.shuffle(len(train_idx), seed=config.seed, reshuffle_each_iteration=True)
    train_ds = train_ds.batch(config.batch_size)
    if config.augment:
        cfg = config.augment_config
        seeds = tf.data.Dataset.random(seed=config.seed).batch(2)
        train_ds = tf.data.Dataset.zip((train_ds, seeds)).map(
            lambda batch, s: ((_augment(batch[0][0], batch[0][1], s, cfg), batch[0][2]), batch[1], batch[2]),
            num_parallel_calls=1,
            deterministic=True,
        )
    else:
        train_ds = train_ds.map(lambda inputs, labels, weights: ((inputs[0], inputs[2]), labels, weights))
    if teachers:
        share = float(config.distill)
        train_ds = train_ds.map(
            lambda inputs, labels, weights: (inputs[0], _distilled(inputs[0], labels, inputs[1] * share, teachers), weights),
            num_parallel_calls=1,
            deterministic=True,
        )
    else:
        train_ds = train_ds.map(lambda inputs, labels, weights: (inputs[0], labels, weights))
    train_ds = train_ds.prefetch(2)
    val_data = (x[val_idx], y[val_idx]) if n_val else None

    emit(
        {
            "event": "start",
            "epochs": config.epochs,
            "steps_per_epoch": steps,
            "train_samples": int(len(train_idx)),
            "val_samples": int(n_val),
        }
    )
    callback = _progress_callback(emit, stop, steps, config.batch_event_interval, _weights_probe(model, config), config.weights_interval)
    started = time.perf_counter()
    model.fit(
        train_ds,
        epochs=config.epochs,
        validation_data=val_data,
        validation_batch_size=512,
        shuffle=False,  # the dataset is shuffled, seeded, above
        callbacks=[callback],
        verbose=0,
    )
    for layer in frozen:  # a saved model fine-tunes all layers by default
        layer.trainable = True
    if callback.cancelled:
        raise TrainingCancelled("training was cancelled")
    if callback.diverged:
        raise TrainingDiverged(
            f"training diverged: the loss became {callback.diverged} (epoch {callback.epoch}), so no model was saved; "
            "try a lower learning rate"
        )
    check_finite_weights(model)
    return TrainResult(model=model, history=callback.history, seconds=time.perf_counter() - started)


#: The temperature of the teachers' readings in distillation: their probabilities p become
#: p^(1/T), renormalised, so that what they think of the other digits counts too.
DISTILL_TEMPERATURE = 2.0


def _distilled(images: Any, labels: Any, share: Any, teachers: Sequence[Any]) -> Any:
    """The targets: ``labels`` blended with the teachers' mean softened reading of ``images``,
    in ``share`` (B,) per image (0: the label alone)."""
    import tensorflow as tf

    soft = []
    for teacher in teachers:
        logp = tf.math.log(tf.maximum(tf.cast(teacher(images, training=False), tf.float32), 1e-12))
        soft.append(tf.nn.softmax(logp / DISTILL_TEMPERATURE, axis=-1))
    reading = tf.add_n(soft) / len(soft)
    share = tf.reshape(share, [-1, 1])
    return (1.0 - share) * labels + share * reading


def _augment(images: Any, mask: Any, seed: Any, cfg: AugmentConfig) -> Any:
    """The batch's images augmented where ``mask`` is 1, as they are where it is 0."""
    import tensorflow as tf

    from .augment import augment_batch

    keep = tf.reshape(mask, [-1, 1, 1, 1])
    return keep * augment_batch(images, seed, cfg) + (1.0 - keep) * images


def _weights_probe(model: Any, config: TrainConfig) -> np.ndarray | None:
    """The probe tensor of the run's ``weights`` events, or None when there are none (the
    interval is 0, or the model is no CNN)."""
    from .learning_frames import check_probe, default_probe, has_conv_layers

    if config.weights_interval <= 0 or not has_conv_layers(model):
        return None
    return default_probe() if config.probe is None else check_probe(config.probe)


def _progress_callback(
    emit: ProgressFn, stop: StopFn, steps: int, interval: float, probe: np.ndarray | None = None, weights_interval: float = 0.0
) -> Any:
    """A Keras callback that turns its hooks into progress events and honours cancellation.

    With a ``probe``, it reports the CNN's ``weights`` too: at the start, after a batch
    when ``weights_interval`` seconds have passed since the last, and at the end."""
    import keras

    from .learning_frames import compiled_predict, weights_event

    class ProgressCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.cancelled = False
            self.diverged: str | None = None  # the non-finite loss that stopped the run
            self.history: list[dict[str, Any]] = []
            self._epoch = 0
            self._epoch_start = 0.0
            self._last_event = 0.0
            self._step = 0  # batches trained in the whole run
            self._batch = 0  # ... in this epoch
            self._started = time.perf_counter()
            self._last_weights = 0.0
            self._predict: Any = None

        def _emit_weights(self, now: float) -> None:
            self._last_weights = now
            emit(
                weights_event(
                    self.model, probe, step=self._step, epoch=self._epoch, batch=self._batch,
                    seconds=round(now - self._started, 6), predict=self._predict,
                )
            )

        def on_train_begin(self, logs: dict | None = None) -> None:
            self._started = time.perf_counter()
            if probe is not None:
                self._predict = compiled_predict(self.model)
                self._emit_weights(self._started)  # step 0: the kernels before any training

        def on_train_end(self, logs: dict | None = None) -> None:
            if probe is not None and not (self.cancelled or self.diverged):
                self._emit_weights(time.perf_counter())  # the final kernels (after the EMA swap, as saved)

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self._epoch = epoch + 1
            self._batch = 0
            self._epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self._step += 1
            self._batch = batch + 1
            if stop():
                self.cancelled = True
                self.model.stop_training = True
                return
            loss = _num((logs or {}).get("loss"))
            if loss is not None and not np.isfinite(loss):
                self.diverged = str(loss)
                self.model.stop_training = True
                return
            now = time.perf_counter()
            if now - self._last_event >= interval or batch + 1 == steps:
                self._last_event = now
                logs = logs or {}
                emit(
                    {
                        "event": "batch",
                        "epoch": self._epoch,
                        "batch": batch + 1,
                        "steps": steps,
                        "loss": _num(logs.get("loss")),
                        "accuracy": _num(logs.get("accuracy")),
                    }
                )
            if probe is not None and now - self._last_weights >= weights_interval:
                self._emit_weights(now)

        @property
        def epoch(self) -> int:
            return self._epoch

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.cancelled or self.diverged:
                return
            logs = logs or {}
            event = {
                "event": "epoch",
                "epoch": epoch + 1,
                "loss": _num(logs.get("loss")),
                "accuracy": _num(logs.get("accuracy")),
                "val_loss": _num(logs.get("val_loss")),
                "val_accuracy": _num(logs.get("val_accuracy")),
                "seconds": round(time.perf_counter() - self._epoch_start, 3),
            }
            self.history.append(event)
            emit(event)

    return ProgressCallback()


def _num(value: Any) -> float | None:
    return None if value is None else float(value)
