import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digit_app.data import Mnist, load_mnist  # noqa: E402
from digit_app.store import ModelStore  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    return load_mnist()


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """A real MNIST subset: 2,000 training and 500 test digits."""
    return Mnist(mnist.x_train[:2000], mnist.y_train[:2000], mnist.x_test[:500], mnist.y_test[:500])


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models")


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def drawings_database(tmp_path, monkeypatch):
    """Every test gets its own drawings database, never the user's data/drawings.sqlite3."""
    path = tmp_path / "drawings.sqlite3"
    monkeypatch.setenv("DIGIT_APP_DRAWINGS_DB", str(path))
    return path
