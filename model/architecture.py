"""The networks Digitscope trains: the classic Keras MNIST CNN (the app's model, with stable
layer names the app and inference rely on) and the two simpler networks it is compared with."""

from __future__ import annotations

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

#: ``digitscope train --architecture`` name → (metadata name, what it is).
ARCHITECTURES = {
    "cnn": ("mnist-cnn", "CNN: Conv(32)→Conv(64)→MaxPool→Dense(128)→Dense(10), Keras"),
    "dense": ("keras-dense", "Dense network: Flatten→Dense(64, relu)→Dense(10, softmax), Keras"),
    "numpy": ("numpy-mlp", "NumPy network: 784→64 sigmoid→10 softmax, plain backpropagation"),
}
#: Hidden units of the Dense and the NumPy networks.
DENSE_UNITS = 64


def architecture_of(metadata: dict) -> str:
    """The ``--architecture`` name of a model from its metadata (older models: the CNN)."""
    stored = metadata.get("architecture", "mnist-cnn")
    return next((key for key, (name, _) in ARCHITECTURES.items() if name == stored), "cnn")


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
