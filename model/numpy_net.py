"""The from-scratch network: 784 → 64 sigmoid → 10 softmax, trained by plain backpropagation in NumPy.

The talk Digitscope grew out of builds this network by hand before reaching
for Keras: no framework, no optimiser beyond the gradient step, no
augmentation. Training reports the same progress events as
:func:`.training.train_model` (``start``, ``batch``, ``epoch``), so the
command line and the Retrain dialog follow it the same way; the trained
weights are saved in a Keras file (:func:`.architecture.build_dense` with
sigmoid units) so every other tool can load them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .inference import sigmoid
from .training import ProgressFn, StopFn, TrainConfig, TrainingCancelled

#: Plain SGD on the batch-mean cross-entropy; large enough for sigmoid units to learn in a few epochs.
LEARNING_RATE = 0.5
BATCH_SIZE = 32


@dataclass
class MlpParams:
    """Weights of the two layers (the layout Keras's Dense layers use)."""

    w1: np.ndarray  # (784, hidden)
    b1: np.ndarray  # (hidden,)
    w2: np.ndarray  # (hidden, 10)
    b2: np.ndarray  # (10,)

    @classmethod
    def initial(cls, hidden: int, seed: int) -> MlpParams:
        """Glorot-uniform weights and zero biases, as Keras starts a Dense layer."""
        rng = np.random.default_rng(seed)

        def glorot(n_in: int, n_out: int) -> np.ndarray:
            limit = np.sqrt(6.0 / (n_in + n_out))
            return rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32)

        return cls(glorot(784, hidden), np.zeros(hidden, np.float32), glorot(hidden, 10), np.zeros(10, np.float32))

    def as_list(self) -> list[np.ndarray]:
        return [self.w1, self.b1, self.w2, self.b2]

    @property
    def count(self) -> int:
        return sum(a.size for a in self.as_list())


def forward(p: MlpParams, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 784) inputs → (hidden activations (N, hidden), probabilities (N, 10))."""
    h = sigmoid(x @ p.w1 + p.b1)
    z = h @ p.w2 + p.b2
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return h, e / e.sum(axis=1, keepdims=True)


def backprop(p: MlpParams, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[list[np.ndarray], float, int]:
    """Gradients of the weighted mean cross-entropy for one batch, its loss and how many it got right.

    ``y`` one-hot (N, 10), ``w`` per-sample weights (N,)."""
    h, probs = forward(p, x)
    share = w / w.sum()
    loss = float(-(share * np.log(np.maximum((probs * y).sum(axis=1), 1e-12))).sum())
    correct = int((probs.argmax(axis=1) == y.argmax(axis=1)).sum())
    dz2 = (probs - y) * share[:, None]  # softmax + cross-entropy
    dh = (dz2 @ p.w2.T) * h * (1.0 - h)  # the sigmoid's derivative
    grads = [x.T @ dh, dh.sum(axis=0), h.T @ dz2, dz2.sum(axis=0)]
    return grads, loss, correct


def evaluate(p: MlpParams, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean cross-entropy and accuracy on (N, 784) inputs with one-hot labels."""
    losses, correct = 0.0, 0
    for i in range(0, len(x), 2048):
        _, probs = forward(p, x[i : i + 2048])
        yy = y[i : i + 2048]
        losses += float(-np.log(np.maximum((probs * yy).sum(axis=1), 1e-12)).sum())
        correct += int((probs.argmax(axis=1) == yy.argmax(axis=1)).sum())
    n = max(1, len(x))
    return losses / n, correct / n


def train_numpy_net(
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    hidden: int = 64,
    progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
    sample_weight: np.ndarray | None = None,
    initial: MlpParams | None = None,
) -> tuple[MlpParams, list[dict], float]:
    """Train on images (N, 28, 28[, 1]) in [0, 1] with one-hot labels; returns (weights, epoch
    history, seconds). Mini-batch SGD at ``config.learning_rate``; ``config.batch_size``,
    ``epochs``, ``seed``, ``validation_split`` and ``label_smoothing`` as for the CNN. Raises
    :class:`TrainingCancelled` as soon as ``should_stop()`` turns true."""
    emit = progress or (lambda event: None)
    stop = should_stop or (lambda: False)
    x = np.asarray(x, np.float32).reshape(len(x), 784)
    y = np.asarray(y, np.float32)
    if config.label_smoothing:  # as Keras's CategoricalCrossentropy smooths the CNN's targets
        y = y * (1 - config.label_smoothing) + config.label_smoothing / y.shape[1]
    weights = np.ones(len(x), np.float32) if sample_weight is None else np.asarray(sample_weight, np.float32)
    rng = np.random.default_rng(config.seed)
    n_val = int(round(len(x) * config.validation_split))
    order = rng.permutation(len(x))
    val_idx, train_idx = order[:n_val], order[n_val:]
    if len(train_idx) == 0:
        raise ValueError("no training samples")
    params = initial or MlpParams.initial(hidden, config.seed)
    bs = config.batch_size
    steps = int(np.ceil(len(train_idx) / bs))
    emit({"event": "start", "epochs": config.epochs, "steps_per_epoch": steps,
          "train_samples": int(len(train_idx)), "val_samples": int(n_val)})
    history: list[dict] = []
    started = time.perf_counter()
    last_event = 0.0
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        shuffled = rng.permutation(train_idx)
        loss_sum = weight_sum = 0.0
        correct = seen = 0
        for step in range(steps):
            if stop():
                raise TrainingCancelled("training was cancelled")
            idx = shuffled[step * bs : (step + 1) * bs]
            grads, loss, right = backprop(params, x[idx], y[idx], weights[idx])
            for param, grad in zip(params.as_list(), grads):
                param -= config.learning_rate * grad.astype(np.float32)
            batch_weight = float(weights[idx].sum())
            loss_sum += loss * batch_weight
            weight_sum += batch_weight
            correct += right
            seen += len(idx)
            now = time.perf_counter()
            if now - last_event >= config.batch_event_interval or step + 1 == steps:
                last_event = now
                emit({"event": "batch", "epoch": epoch, "batch": step + 1, "steps": steps,
                      "loss": loss_sum / weight_sum, "accuracy": correct / seen})
        val_loss, val_acc = evaluate(params, x[val_idx], y[val_idx]) if n_val else (None, None)
        event = {
            "event": "epoch", "epoch": epoch, "loss": loss_sum / weight_sum, "accuracy": correct / seen,
            "val_loss": val_loss, "val_accuracy": val_acc, "seconds": round(time.perf_counter() - epoch_start, 3),
        }
        history.append(event)
        emit(event)
    return params, history, time.perf_counter() - started


def to_keras(params: MlpParams) -> object:
    """The trained weights in a Keras model (the same function, so any tool can load and serve it)."""
    from .architecture import build_dense

    model = build_dense(hidden=params.w1.shape[1], activation="sigmoid")
    model.set_weights(params.as_list())
    return model
