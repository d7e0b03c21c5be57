import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digit_app import handwriting, jobs, store as store_module  # noqa: E402
from digit_app.data import Mnist, load_mnist  # noqa: E402
from digit_app.settings import TrainingSettings  # noqa: E402
from digit_app.store import ModelStore  # noqa: E402
from digit_app.training import train  # noqa: E402

JOB_TIMEOUT_SECONDS = 90


@pytest.fixture(scope="session", autouse=True)
def handwriting_cache(tmp_path_factory):
    """Generated handwriting is cached in a tmp folder for the session, never in the user's."""
    path = tmp_path_factory.mktemp("handwriting-cache")
    previous = os.environ.get(handwriting.CACHE_ENV_VAR)
    os.environ[handwriting.CACHE_ENV_VAR] = str(path)
    yield path
    if previous is None:
        os.environ.pop(handwriting.CACHE_ENV_VAR, None)
    else:
        os.environ[handwriting.CACHE_ENV_VAR] = previous


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


@pytest.fixture(scope="session")
def tiny_trained_model(small_mnist):
    """dense-128 trained 1 epoch on 500 digits: a real model, made in about a second."""
    return train(TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=500), data=small_mnist)


@pytest.fixture
def app_store(tmp_path, monkeypatch, tiny_trained_model):
    """The app's default store in tmp_path, the tiny model standing in for the shipped default."""
    model_store = ModelStore(tmp_path / "models")
    model, metadata = tiny_trained_model.model, tiny_trained_model.metadata
    model_store.save(model, metadata("python train.py --arch dense-128"), model_id=store_module.DEFAULT_MODEL_ID)
    monkeypatch.setattr(store_module.default_store, "root", model_store.root)
    return model_store


def stop_every_job(manager):
    """Never leave a job process training into the next test."""
    for job in manager.active_jobs():
        job.stop("the test's clean-up")
    for job in manager.jobs():
        job.join(JOB_TIMEOUT_SECONDS)


@pytest.fixture
def job_manager(monkeypatch, app_store):
    """A fresh job manager for the pages, its jobs in the tmp store, training on 500 MNIST digits;
    stops what it started."""
    manager = jobs.JobManager(app_store)
    monkeypatch.setattr(jobs, "_manager", manager)
    monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, "500")
    yield manager
    stop_every_job(manager)
