"""The networks Digitscope trains: the classic Keras MNIST CNN (the app's model, with stable
layer names the app and inference rely on) and the two simpler networks it is compared with.

:data:`ARCHITECTURES` is the one table of what each network is and may do: the command
line, a training run, Retrain and the comparison all read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keras is imported lazily: it pulls in TensorFlow
    import keras

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
CONV_LAYERS = ("conv1", "conv2")
#: Activation shapes of the convolution layers, per sample.
CONV_SHAPES = {"conv1": (26, 26, 32), "conv2": (24, 24, 64)}
#: Every layer of feature maps: the convolutions' and the max-pooling's.
MAP_SHAPES = {**CONV_SHAPES, "pool": (12, 12, 64)}
LAYER_NAMES = ("conv1", "conv2", "pool", "dropout1", "flatten", "dense", "dropout2", "probabilities")
#: Hidden units of the Dense and the NumPy networks.
DENSE_UNITS = 64


@dataclass(frozen=True)
class ArchitectureSpec:
    """One network: its names, its training defaults, and what it can do."""

    #: ``digitscope train --architecture`` name.
    key: str
    #: What the metadata's ``architecture`` records.
    metadata_name: str
    #: Short name, for tables and sentences ("the NumPy network always starts from scratch").
    label: str
    #: Its entry in Retrain's choice of network.
    choice: str
    #: What it is, layer by layer.
    description: str
    #: Training from scratch: the optimiser's step and the batch size.
    learning_rate: float
    batch_size: int
    #: What the learning rate is, for help texts and tooltips.
    rate_meaning: str
    #: The learning rate for fine-tuning a trained model of this network; None: it cannot be
    #: fine-tuned (``--init-model``), it always starts from scratch.
    fine_tune_rate: float | None
    #: Whether training may augment the images (``--augment``).
    can_augment: bool
    #: Convolution layers: feature maps to show, filters ``--train-layers dense`` keeps.
    has_conv_layers: bool
    #: Trained by plain NumPy code (no TensorFlow until it is saved), not by Keras.
    numpy_trainer: bool
    #: How Retrain's new model files of this network are named: ``<prefix>-<date>.keras``.
    candidate_prefix: str

    @property
    def can_fine_tune(self) -> bool:
        return self.fine_tune_rate is not None


#: Adam's step for fine-tuning a Keras network (from scratch: each network's own rate).
FINE_TUNE_RATE = 3e-4
_ADAM = "Adam's initial rate, cosine-decayed"

#: Every network, by ``--architecture`` name; the first is the default (the app's CNN).
ARCHITECTURES: dict[str, ArchitectureSpec] = {
    spec.key: spec
    for spec in (
        ArchitectureSpec(
            key="cnn", metadata_name="mnist-cnn", label="CNN", choice="CNN (the app's network)",
            description="CNN: Conv(32)→Conv(64)→MaxPool→Dense(128)→Dense(10), Keras",
            learning_rate=1e-3, batch_size=128, rate_meaning=_ADAM, fine_tune_rate=FINE_TUNE_RATE,
            can_augment=True, has_conv_layers=True, numpy_trainer=False, candidate_prefix="retrained",
        ),
        # the two small networks take Keras's default batch of 32, as the seed trained its Dense network
        ArchitectureSpec(
            key="dense", metadata_name="keras-dense", label="Dense (Keras)", choice="Dense network (Keras)",
            description="Dense network: Flatten→Dense(64, relu)→Dense(10, softmax), Keras",
            learning_rate=1e-3, batch_size=32, rate_meaning=_ADAM, fine_tune_rate=FINE_TUNE_RATE,
            can_augment=True, has_conv_layers=False, numpy_trainer=False, candidate_prefix="dense",
        ),
        ArchitectureSpec(
            key="numpy", metadata_name="numpy-mlp", label="NumPy network", choice="NumPy network (from scratch)",
            description="NumPy network: 784→64 sigmoid→10 softmax, plain backpropagation",
            learning_rate=0.5, batch_size=32, rate_meaning="the plain gradient-descent step", fine_tune_rate=None,
            can_augment=False, has_conv_layers=False, numpy_trainer=True, candidate_prefix="numpy",
        ),
    )
}
DEFAULT_ARCHITECTURE = next(iter(ARCHITECTURES))


def architecture_of(metadata: dict) -> str:
    """The ``--architecture`` name of a model from its metadata (older models: the CNN)."""
    stored = metadata.get("architecture", ARCHITECTURES[DEFAULT_ARCHITECTURE].metadata_name)
    return next((spec.key for spec in ARCHITECTURES.values() if spec.metadata_name == stored), DEFAULT_ARCHITECTURE)


def build_model(architecture: str) -> keras.Model:
    """A new, untrained Keras model of ``architecture`` ("cnn" or "dense")."""
    if architecture == "cnn":
        return build_cnn()
    if architecture == "dense":
        return build_dense()
    raise ValueError(f"no Keras model for architecture {architecture!r}")


def build_dense(hidden: int = DENSE_UNITS, activation: str = "relu") -> keras.Model:
    """The seed's Keras Dense network: Input(28,28,1) → Flatten → Dense(64, relu) → Dense(10, softmax).

    With ``activation="sigmoid"`` it is the container the NumPy network is saved in."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation=activation, name="hidden")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitscope_dense" if activation == "relu" else "digitscope_numpy_mlp")


def build_cnn() -> keras.Model:
    """Input(28,28,1) → Conv(32,3) → Conv(64,3) → MaxPool(2) → Dropout(.25) → Flatten
    → Dense(128) → Dropout(.5) → Dense(10, softmax)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Dropout(0.25, name="dropout1")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(128, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout2")(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digitscope_cnn")
