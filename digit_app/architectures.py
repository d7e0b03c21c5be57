"""Every architecture we offer. Each takes a (28, 28) float32 image in [0, 1], white digit on
black as in MNIST, and outputs 10 probabilities.

Keras is imported only when a model is built, so that listing the architectures (the CLI's
--help and argument errors) stays instant.
"""

from pathlib import Path
from typing import Callable, NamedTuple

DEFAULT_ARCHITECTURE = "cnn"
DIGIT_CLASSES = 10
WITH_NOT_A_DIGIT = 11  # the ten digits and "not a digit" (digit_app.handwriting.NOT_A_DIGIT)
MIXED_PRECISION = "mixed_bfloat16"  # bfloat16 arithmetic, float32 weights
BFLOAT16_CPU_FLAGS = {"amx_bf16", "avx512_bf16"}  # a processor that computes bfloat16 itself


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
        # float32 even in mixed precision: bfloat16 has no number between 0.996 and 1, so the
        # loss of a confident reading would stop shrinking.
        layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities"),
    ]


class Architecture(NamedTuple):
    description: str  # shown in the CLI's --help and on the Train and Models pages
    layers: Callable  # layers(keras.layers, num_classes) -> the list of layers after the input
    mixed_precision: bool = False  # trained in bfloat16 where the processor computes it (trains_in_bfloat16)


ARCHITECTURES = {
    "cnn": Architecture("convolutional net, the default and the most accurate", _cnn, mixed_precision=True),
    "dense-128": Architecture("dense 784-128-10, the second notebook's net", _dense_128),
    "dense-32-64": Architecture("dense 784-32-64-10, the first notebook's net", _dense_32_64),
}


def check_architecture(name):
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}; choose one of: {', '.join(ARCHITECTURES)}.")
    return name


def bfloat16_processor(cpuinfo=Path("/proc/cpuinfo")):
    """Whether this processor computes bfloat16 itself (AMX or AVX-512 BF16). Elsewhere TensorFlow
    would emulate it, slower than float32. A machine without /proc/cpuinfo counts as without."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    flags = {flag for line in text.splitlines() if line.startswith("flags") for flag in line.partition(":")[2].split()}
    return bool(flags & BFLOAT16_CPU_FLAGS)


def trains_in_bfloat16(name):
    """Whether a new model of this architecture trains in mixed precision here: the cnn's
    convolutions take under half the time (bench/train_speed.py). The two notebook nets train in
    float32, as the notebooks did."""
    return ARCHITECTURES[check_architecture(name)].mixed_precision and bfloat16_processor()


def build_model(name=DEFAULT_ARCHITECTURE, seed=None, num_classes=DIGIT_CLASSES, dtype_policy="float32"):
    """A new, uncompiled model of the named architecture, with 10 outputs (the digits) or 11
    (the digits and "not a digit"); dtype_policy MIXED_PRECISION builds it for training in
    bfloat16 (its weights stay float32).

    Every layer is named here, so that a saved model's layer names do not depend on what else
    the process built before it (Keras numbers unnamed layers per process)."""
    import keras

    check_architecture(name)
    if num_classes not in (DIGIT_CLASSES, WITH_NOT_A_DIGIT):
        raise ValueError(f"num_classes is {num_classes!r}; expected {DIGIT_CLASSES} or {WITH_NOT_A_DIGIT}.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype_policy)  # layers take the policy in force when they are made
    try:
        stack = ARCHITECTURES[name].layers(keras.layers, num_classes)
    finally:
        keras.config.set_dtype_policy(previous)
    return keras.Sequential([keras.Input((28, 28), name="image"), *stack], name=name)
