"""Jobs as real child processes on small real MNIST subsets: their state read from the job folder."""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from digit_app import job_process, jobs
from digit_app.architectures import build_model
from digit_app.data import Mnist
from digit_app.evaluation import NUM_MISCLASSIFIED
from digit_app.fine_tune import fine_tune_settings
from digit_app.settings import TrainingSettings
from digit_app.model_store import DEFAULT_MODEL_ID, ModelStore
from digit_app.ui.job_text import progress_text
from tests.conftest import JOB_TIMEOUT_SECONDS, stop_every_job, wait_for_job

# MNIST only, so that batch counts are MNIST's (test_training.py covers the generated handwriting).
QUICK = TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=500, handwriting=False)
# Many small batches: runs for tens of seconds unless stopped.
LONG = TrainingSettings(architecture="dense-128", epochs=50, batch_size=16, handwriting=False)
# Minutes per epoch: for what must happen within the first epoch. Trains on the full MNIST, which
# the job process loads itself.
SLOW = TrainingSettings(architecture="cnn", epochs=50, batch_size=16, handwriting=False)


@pytest.fixture
def manager(store):
    manager = jobs.JobManager(store)
    yield manager
    stop_every_job(manager)


@pytest.fixture
def store_with_active_model(store):
    """A store whose active model is not the default, to see that a job leaves it alone."""
    metadata = {"architecture": "dense-128", "source": "test"}
    store.save(build_model("dense-128"), metadata, model_id=DEFAULT_MODEL_ID)
    store.save(build_model("dense-128"), metadata, model_id="chosen-by-user", activate=True)
    return store


def test_one_epoch_job_finishes_in_its_own_process_and_saves_a_model_with_history(
    manager, store_with_active_model, small_mnist
):
    store = store_with_active_model
    job = manager.start(QUICK, data=small_mnist)
    assert job.process_id() != os.getpid()
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()

    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert snapshot.epochs_completed == 1 and snapshot.fraction_done == 1.0
    assert snapshot.batch == snapshot.batches_per_epoch == 4  # 450 training digits in batches of 128
    assert [round(point[0], 2) for point in snapshot.batch_points] == [0.25, 0.5, 0.75, 1.0]
    assert snapshot.owner == jobs.JobOwner() and snapshot.job_id == job.job_id
    meta = store.metadata(snapshot.model_id)
    assert meta["source"] == "app: Train page"
    assert meta["epochs"] == 1 and len(meta["history"]["val_loss"]) == 1
    assert meta["test_accuracy"] == pytest.approx(snapshot.test_accuracy)
    assert store.active_id() == "chosen-by-user"  # saved, not activated

    matrix = snapshot.confusion_matrix
    assert matrix.shape == (10, 10) and matrix.sum() == len(small_mnist.y_test)
    assert np.trace(matrix) / matrix.sum() == pytest.approx(snapshot.test_accuracy, abs=1e-6)
    mistakes = snapshot.misclassified
    assert len(mistakes.images) == min(NUM_MISCLASSIFIED, matrix.sum() - np.trace(matrix))
    assert np.all(mistakes.predicted != mistakes.true)
    assert np.all(np.diff(mistakes.confidence) <= 0)  # surest mistakes first


def test_the_settings_reach_the_job_process_whole(manager, store, small_mnist):
    settings = TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=200, augment=True,
                                augment_strength=0.5, handwriting=True)
    job = manager.start(settings, data=small_mnist)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert snapshot.settings == settings
    meta = store.metadata(snapshot.model_id)
    assert meta["settings"] == settings.to_dict() and meta["classes"] == 11  # with the 'not a digit' output


def test_the_job_process_runs_at_a_lower_priority_than_the_server(manager, small_mnist):
    job = manager.start(SLOW)
    wait_for_job(job, lambda snapshot: snapshot.running)
    niceness_of = lambda pid: int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[16])  # noqa: E731
    assert niceness_of(job.process_id()) >= niceness_of(os.getpid()) + 10


def test_a_second_start_is_queued_with_its_position_and_runs_when_the_first_ends(manager, small_mnist):
    first = manager.start(SLOW, owner=jobs.JobOwner("the first visitor", "session-1"))
    second = manager.start(QUICK, data=small_mnist, owner=jobs.JobOwner("the second visitor", "session-2"))
    third = manager.start(QUICK, data=small_mnist, owner=jobs.JobOwner("the second visitor", "session-2"))
    wait_for_job(first, lambda snapshot: snapshot.batch >= 1)
    assert (second.snapshot().state, second.snapshot().queue_position) == (jobs.QUEUED, 1)
    assert (third.snapshot().state, third.snapshot().queue_position) == (jobs.QUEUED, 2)
    assert progress_text(third.snapshot()) == "Queued, position 2…"
    assert [job.job_id for job in manager.queued(session="session-2")] == [second.job_id, third.job_id]
    assert manager.queued(session="session-1") == []
    assert manager.current().job_id == first.job_id

    assert third.stop("the second visitor")  # leaves the queue
    assert third.join(JOB_TIMEOUT_SECONDS) and third.snapshot().state == jobs.STOPPED
    assert second.snapshot().state == jobs.QUEUED
    first.stop("the first visitor")
    # The first ends after its batch and its test-set check, at the lowest priority on a busy machine.
    assert second.join(2 * JOB_TIMEOUT_SECONDS), second.snapshot()
    assert first.snapshot().state == jobs.STOPPED
    assert second.snapshot().state == jobs.FINISHED, second.snapshot().error


def test_stop_within_the_first_epoch_ends_quickly_and_saves_nothing(manager, store, small_mnist):
    job = manager.start(SLOW, owner=jobs.JobOwner("the host", "host-session"))
    wait_for_job(job, lambda snapshot: snapshot.batch >= 3)
    asked = time.monotonic()
    assert manager.stop(requested_by="the visitor at 10.0.0.7")
    assert job.snapshot().stop_requested_by == "the visitor at 10.0.0.7"
    assert job.join(10), "the job did not end within 10 s of stop()"
    snapshot = job.snapshot()
    assert snapshot.state == jobs.STOPPED
    assert snapshot.epochs_completed == 0 and snapshot.model_id is None
    assert store.list() == []
    print(f"stopped {time.monotonic() - asked:.2f} s after stop()")


def test_stop_after_an_epoch_saves_the_whole_epochs(manager, store, small_mnist):
    job = manager.start(LONG, data=small_mnist)
    wait_for_job(job, lambda snapshot: snapshot.epochs_completed >= 1)
    manager.stop()
    assert job.join(20)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.STOPPED
    meta = store.metadata(snapshot.model_id)
    assert meta["stopped_early"] is True
    assert meta["epochs"] == snapshot.epochs_completed == len(meta["history"]["loss"]) >= 1
    assert not manager.stop()  # nothing left to stop


def test_once_a_stop_takes_effect_the_phase_says_the_model_is_being_checked(manager, store, small_mnist):
    job = manager.start(LONG, data=small_mnist)
    wait_for_job(job, lambda snapshot: snapshot.epochs_completed >= 1)
    manager.stop()
    phases = []
    while not (snapshot := job.snapshot()).ended:
        phases.append(snapshot.phase)
        time.sleep(0.002)
    seen = list(dict.fromkeys(phases))  # in order, once each
    assert seen[0] in (jobs.STOPPING, jobs.CHECKING)
    assert jobs.CHECKING in seen, f"phases seen after stop(): {seen}"


def test_the_batch_after_which_a_stopped_training_ends_is_written_at_once(tmp_path):
    # Batches are written at most every half second; the one that ends training changes the phase,
    # and a page that missed it would say "Stopping" until the model is saved.
    stop_event = threading.Event()
    progress = job_process.Progress(tmp_path, stop_event)
    batch = {"epoch": 2, "epochs": 50, "batch": 7, "batches": 40, "loss": 0.3, "accuracy": 0.9}
    progress.on_batch_end(batch)
    stop_event.set()
    progress.on_batch_end({**batch, "batch": 8})
    written = jobs.read_json(tmp_path / jobs.PROGRESS)
    assert (written["phase"], written["batch"]) == (jobs.CHECKING, 8)


def test_a_killed_job_process_shows_as_failed_with_the_signal(manager, store, small_mnist):
    job = manager.start(SLOW)
    wait_for_job(job, lambda snapshot: snapshot.batch >= 2)
    os.kill(job.process_id(), signal.SIGKILL)
    snapshot = wait_for_job(job, lambda snapshot: snapshot.ended, timeout=10)
    assert snapshot.state == jobs.FAILED
    assert snapshot.error.startswith(f"The job's process (pid {job.process_id()}) was killed by SIGKILL before it finished")
    assert "nothing was saved" in snapshot.error
    assert store.list() == []
    # The reason is written down: a server started later reads the same.
    assert jobs.JobManager(store).job(job.job_id).snapshot().error == snapshot.error


def test_a_restarted_server_follows_a_running_job_to_its_end(store, small_mnist, tmp_path):
    """The job is started by another process (the 'old server'), which then dies; a new manager,
    as a restarted server makes, finds the job running and sees it finish."""
    settings = TrainingSettings(architecture="dense-128", epochs=3, batch_size=16, max_train_samples=1000,
                                handwriting=False)
    np.savez(tmp_path / "data.npz", **small_mnist._asdict())
    script = (
        "import sys, numpy as np; from digit_app import jobs, model_store, data, settings;"
        f"arrays = np.load({str(tmp_path / 'data.npz')!r}); mnist = data.Mnist(**{{k: arrays[k] for k in arrays}});"
        f"job = jobs.JobManager(model_store.ModelStore({str(store.root)!r})).start(settings.TrainingSettings(**{settings.to_dict()!r}), data=mnist);"
        "print(job.job_id, flush=True)"
    )
    old_server = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                cwd=jobs.REPOSITORY)
    job_id = old_server.stdout.split()[-1]
    restarted = jobs.JobManager(store)
    try:
        assert [job.job_id for job in restarted.active_jobs()] == [job_id]
        job = restarted.job(job_id)
        wait_for_job(job, lambda snapshot: snapshot.running and snapshot.batch >= 1)
        assert restarted.current().job_id == job_id  # what the Train page shows
        assert job.join(JOB_TIMEOUT_SECONDS)
        snapshot = job.snapshot()
        assert snapshot.state == jobs.FINISHED, snapshot.error
        assert snapshot.epochs_completed == 3 and store.exists(snapshot.model_id)
    finally:
        stop_every_job(restarted)


def test_a_job_whose_process_died_while_no_server_watched_says_so_with_its_log(manager, store, small_mnist):
    job = manager.start(SLOW)
    wait_for_job(job, lambda snapshot: snapshot.batch >= 2)
    os.kill(job.process_id(), signal.SIGKILL)
    manager.reap(job.job_id)
    later = jobs.JobManager(store)  # a server that did not start the job: it cannot know the signal
    snapshot = wait_for_job(later.job(job.job_id), lambda snapshot: snapshot.ended, timeout=10)
    assert snapshot.state == jobs.FAILED
    assert "ended without a result: it was killed or crashed; nothing was saved" in snapshot.error


def test_a_read_only_store_fails_the_job_before_training(tmp_path, small_mnist):
    store = ModelStore(read_only_folder(tmp_path))
    manager = jobs.JobManager(store, root=tmp_path / "jobs")
    job = manager.start(QUICK, data=small_mnist)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED
    assert snapshot.error.startswith(f"Training did not start: Cannot save models in {store.root}: ")
    assert "Make the folder writable" in snapshot.error
    assert snapshot.epoch == 0 and snapshot.history["loss"] == []  # not one batch was trained


def read_only_folder(tmp_path):
    """A folder this process cannot write to: a read-only mount when running as root (root ignores
    permissions), else a folder without write permission."""
    folder = tmp_path / "read-only-models"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return folder
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"running as root and cannot mount a read-only folder: {mounted.stderr.decode().strip()}")
    read_only_folder.mounts.append(folder)
    return folder


read_only_folder.mounts = []


@pytest.fixture(autouse=True)
def unmount_read_only_folders():
    yield
    while read_only_folder.mounts:
        subprocess.run(["umount", str(read_only_folder.mounts.pop())], check=False)


def test_a_job_removes_temporary_files_left_by_a_killed_save(manager, store, small_mnist):
    store.root.mkdir(parents=True, exist_ok=True)
    leftover = store.root / ".tmp-abc123.keras"
    leftover.write_bytes(b"")
    old = time.time() - 3600
    os.utime(leftover, (old, old))
    assert manager.start(QUICK, data=small_mnist).join(JOB_TIMEOUT_SECONDS)
    assert not leftover.exists()


def test_a_failing_job_reports_failed_and_leaves_the_active_model(manager, store_with_active_model, small_mnist):
    store = store_with_active_model
    models_before = store.list()
    wrong_shape = Mnist(small_mnist.x_train[:, :27, :27], small_mnist.y_train, small_mnist.x_test, small_mnist.y_test)
    job = manager.start(QUICK, data=wrong_shape)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED
    assert snapshot.error.startswith("Training failed: ValueError: ")
    assert "27, 27)" in snapshot.error and "\x1b" not in snapshot.error  # it names the wrong shape
    assert "Traceback" in job.log_tail(200)
    assert snapshot.model_id is None
    assert store.active_id() == "chosen-by-user"
    assert store.list() == models_before
    # A failed job does not block the next one.
    assert manager.start(QUICK, data=small_mnist).join(JOB_TIMEOUT_SECONDS)


def test_no_job_yet(store):
    manager = jobs.JobManager(store)
    assert manager.snapshot() is None and manager.current() is None and not manager.stop()


def test_fine_tune_job_saves_a_model_with_its_before_and_after_scores(
    manager, store_with_active_model, twenty_drawings, small_mnist
):
    store = store_with_active_model
    settings = fine_tune_settings("dense-128", epochs=1, mnist_samples=500)
    job = manager.start_fine_tune("chosen-by-user", settings, twenty_drawings.path, data=small_mnist)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()

    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert snapshot.kind == jobs.FINE_TUNING and snapshot.settings.augment and snapshot.settings.epochs == 1
    scores = snapshot.fine_tune
    assert scores.base_model_id == "chosen-by-user"
    assert scores.num_train_drawings + scores.num_evaluation_drawings == 20
    assert 0 <= scores.drawings_accuracy_after <= 1
    assert scores.mnist_accuracy_after == pytest.approx(snapshot.test_accuracy)
    meta = store.metadata(snapshot.model_id)
    assert meta["source"] == jobs.FINE_TUNE_SOURCE and meta["fine_tuned_from"] == "chosen-by-user"
    assert meta["drawings_trained_on"] == scores.num_train_drawings and meta["epochs"] == 1
    assert snapshot.confusion_matrix.sum() == len(small_mnist.y_test)  # the Train page can show it too
    assert store.active_id() == "chosen-by-user"  # saved, not activated


def test_a_fine_tune_on_too_few_drawings_fails_with_what_to_do(manager, store_with_active_model, drawing_store,
                                                                small_mnist):
    for image, label in zip(small_mnist.x_test[:3], small_mnist.y_test[:3]):
        drawing_store.add(image / 255.0, int(label))
    job = manager.start_fine_tune("chosen-by-user", fine_tune_settings("dense-128"), drawing_store.path,
                                  data=small_mnist)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FAILED and snapshot.model_id is None
    assert snapshot.error.startswith(
        "Fine-tuning failed: ValueError: There are 3 drawings; fine-tuning needs at least 10"
    )


def test_a_job_can_train_on_the_users_drawings_too(manager, store, drawing_store, small_mnist):
    for image, label in zip(small_mnist.x_test[:12], small_mnist.y_test[:12]):
        drawing_store.add(image / 255.0, int(label))
    job = manager.start(QUICK, data=small_mnist, include_drawings=True, drawings_path=drawing_store.path)
    assert job.join(JOB_TIMEOUT_SECONDS)
    snapshot = job.snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    meta = store.metadata(snapshot.model_id)
    assert meta["drawings_included"] == 12 and meta["drawing_weight"] >= 1
    # The extra examples add batches: 450 MNIST digits + 12 drawings in batches of 128.
    assert snapshot.batches_per_epoch == 4
