import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from digit_app import handwriting, jobs  # noqa: E402
from digit_app.data import Mnist, load_mnist  # noqa: E402
from digit_app.model_store import DEFAULT_MODEL_ID  # noqa: E402
from digit_app.settings import DRAWINGS_ENV_VAR, MODELS_ENV_VAR, TRAIN_LIMIT_ENV_VAR, TrainingSettings  # noqa: E402
from digit_app.training import train  # noqa: E402
from digit_app.ui import resources  # noqa: E402

JOB_TIMEOUT_SECONDS = 90  # a job process imports TensorFlow before it trains
UI_FOLDER = Path(__file__).resolve().parent.parent / "digit_app" / "ui"


def page_path(name):
    """A page module as AppTest opens it, e.g. page_path("train.py"); "navigation.py" is the whole app."""
    return str(UI_FOLDER / name)


def wait_for_job(job, condition=lambda snapshot: snapshot.ended, timeout=JOB_TIMEOUT_SECONDS):
    """Poll a Job, or a JobManager's current job, until condition(snapshot); returns that snapshot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job.snapshot()
        if snapshot is not None and condition(snapshot):
            return snapshot
        time.sleep(0.05)
    log = job.log_tail(30) if isinstance(job, jobs.Job) else ""
    raise AssertionError(f"condition not met within {timeout} s; last snapshot: {job.snapshot()}\n{log}")


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


@pytest.fixture(autouse=True)
def app_folders(tmp_path, monkeypatch):
    """Every test has its own model store, drawings database and jobs in tmp_path, never the
    user's models/ and data/: the environment names them, and the pages' resources
    (digit_app.ui.resources) are made afresh from it."""
    monkeypatch.setenv(MODELS_ENV_VAR, str(tmp_path / "models"))
    monkeypatch.setenv(DRAWINGS_ENV_VAR, str(tmp_path / "drawings.sqlite3"))
    resources.forget_stores()
    yield tmp_path
    resources.forget_stores()


@pytest.fixture
def store():
    """The model store in tmp_path: empty, the one the pages use."""
    return resources.model_store()


@pytest.fixture
def drawing_store():
    """The drawings database in tmp_path: empty, the one the pages use."""
    return resources.drawing_store()


@pytest.fixture
def twenty_drawings(drawing_store, small_mnist):
    """20 real MNIST test digits kept as the user's drawings, each read right."""
    for image, label in zip(small_mnist.x_test[:20], small_mnist.y_test[:20]):
        drawing_store.add(image / 255.0, int(label), predicted=int(label))
    return drawing_store


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def tiny_trained_model(small_mnist):
    """dense-128 trained 1 epoch on 500 digits: a real model, made in about a second."""
    return train(TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=500), data=small_mnist)


@pytest.fixture
def app_store(store, tiny_trained_model):
    """The pages' model store, the tiny model standing in for the shipped default."""
    model, metadata = tiny_trained_model.model, tiny_trained_model.metadata
    store.save(model, metadata("python train.py --arch dense-128"), model_id=DEFAULT_MODEL_ID)
    return store


def stop_every_job(manager):
    """Never leave a job process training into the next test."""
    for job in manager.active_jobs():
        job.stop("the test's clean-up")
    for job in manager.jobs():
        job.join(JOB_TIMEOUT_SECONDS)


@pytest.fixture
def job_manager(monkeypatch, app_store):
    """The pages' job manager, its jobs in the tmp store, training on 500 MNIST digits; stops
    what it started."""
    manager = resources.job_manager()
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "500")
    yield manager
    stop_every_job(manager)
