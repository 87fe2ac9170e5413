"""The classic Keras MNIST CNN, with stable layer names the app and inference rely on."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # keras is imported lazily: it pulls in TensorFlow
    import keras

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
CONV_LAYERS = ("conv1", "conv2")
#: Activation shapes of the convolution layers, per sample.
CONV_SHAPES = {"conv1": (26, 26, 32), "conv2": (24, 24, 64)}
LAYER_NAMES = ("conv1", "conv2", "pool", "dropout1", "flatten", "dense", "dropout2", "probabilities")


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
