"""Every architecture we offer. Each takes a (28, 28) float32 image in [0, 1], white digit on
black as in MNIST, and outputs 10 probabilities.

Keras is imported only when a model is built, so that listing the architectures (the CLI's
--help and argument errors) stays instant.
"""

from typing import Callable, NamedTuple

DEFAULT_ARCHITECTURE = "cnn"
DIGIT_CLASSES = 10
WITH_NOT_A_DIGIT = 11  # the ten digits and "not a digit" (digit_app.handwriting.NOT_A_DIGIT)


def _dense_32_64(layers, num_classes):
    """The first notebook's net: 784-32-64-10, trained on logits; a softmax turns them into probabilities."""
    return [
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="dense_32"),
        layers.Dense(64, activation="relu", name="dense_64"),
        layers.Dense(num_classes, name="logits"),
        layers.Softmax(name="probabilities"),
    ]


def _dense_128(layers, num_classes):
    """The second notebook's net: 784-128-10 with a softmax output."""
    return [
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense_128"),
        layers.Dense(num_classes, activation="softmax", name="probabilities"),
    ]


def _cnn(layers, num_classes):
    """A small convolutional net: two pairs of 3x3 convolutions, each pair followed by pooling,
    chosen for accuracy per CPU second (bench/train_speed.py). Its 256 dense units hold the many
    forms of each digit and the non-digits, and cost little next to the convolutions."""
    return [
        layers.Reshape((28, 28, 1), name="channel"),
        layers.Conv2D(32, 3, activation="relu", name="conv_32a"),
        layers.Conv2D(32, 3, activation="relu", name="conv_32b"),
        layers.MaxPooling2D(name="pool_1"),
        layers.Conv2D(64, 3, activation="relu", name="conv_64a"),
        layers.Conv2D(64, 3, activation="relu", name="conv_64b"),
        layers.MaxPooling2D(name="pool_2"),
        layers.Flatten(name="flatten"),
        layers.Dense(256, activation="relu", name="dense_256"),
        layers.Dropout(0.4, name="dropout"),
        layers.Dense(num_classes, activation="softmax", name="probabilities"),
    ]


class Architecture(NamedTuple):
    description: str  # shown in the CLI's --help and on the Train and Models pages
    layers: Callable  # layers(keras.layers, num_classes) -> the list of layers after the input


ARCHITECTURES = {
    "cnn": Architecture("convolutional net, the default and the most accurate", _cnn),
    "dense-128": Architecture("dense 784-128-10, the second notebook's net", _dense_128),
    "dense-32-64": Architecture("dense 784-32-64-10, the first notebook's net", _dense_32_64),
}


def check_architecture(name):
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}; choose one of: {', '.join(ARCHITECTURES)}.")
    return name


def build_model(name=DEFAULT_ARCHITECTURE, seed=None, num_classes=DIGIT_CLASSES):
    """A new, uncompiled model of the named architecture, with 10 outputs (the digits) or 11
    (the digits and "not a digit").

    Every layer is named here, so that a saved model's layer names do not depend on what else
    the process built before it (Keras numbers unnamed layers per process)."""
    import keras

    check_architecture(name)
    if num_classes not in (DIGIT_CLASSES, WITH_NOT_A_DIGIT):
        raise ValueError(f"num_classes is {num_classes!r}; expected {DIGIT_CLASSES} or {WITH_NOT_A_DIGIT}.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    stack = ARCHITECTURES[name].layers(keras.layers, num_classes)
    return keras.Sequential([keras.Input((28, 28), name="image"), *stack], name=name)
