"""The Train page in Streamlit's AppTest, with real background jobs on small MNIST subsets."""

import os
import re
import signal
import time

import pytest
from streamlit.testing.v1 import AppTest

from digit_app import jobs
from digit_app.model_store import DEFAULT_MODEL_ID
from digit_app.settings import TRAIN_LIMIT_ENV_VAR
from digit_app.training import VALIDATIONS_PER_EPOCH
from digit_app.ui import resources
from tests.conftest import JOB_TIMEOUT_SECONDS, page_path, wait_for_job

APP = page_path("navigation.py")
PAGE = page_path("train.py")
RUN_TIMEOUT_SECONDS = 60  # the first run imports TensorFlow


def open_page():
    return AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT_SECONDS).run()


def choose(at, architecture="dense-128", epochs=1, **values):
    at.radio(key="architecture").set_value(architecture)
    at.number_input(key="epochs").set_value(epochs)
    for name, value in values.items():
        at.number_input(key=name).set_value(value)
    return at.run()


def run_until(at, condition, timeout=JOB_TIMEOUT_SECONDS):
    """Rerun the page, as its timer would, once the job's state meets `condition`."""
    wait_for_job(resources.job_manager(), condition, timeout)
    return at.run()


def texts(at):
    return " ".join(str(element.value) for kind in ("markdown", "caption", "success", "warning", "error", "info")
                    for element in getattr(at, kind))


def test_page_renders_from_the_app_navigation(app_store, job_manager):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_SECONDS).run()
    at.switch_page("train.py").run()
    assert not at.exception
    assert at.title[0].value == "Train a model"
    assert at.button(key="start_training").disabled is False
    assert "No training yet" in [header.value for header in at.subheader]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("learning_rate", 0.0, "Learning rate must be a number above 0 and at most 1, got 0.0."),
        ("validation_fraction", 0.7, "Validation fraction must be between 0.01 and 0.5, got 0.7."),
        ("validation_fraction", 0.0, "Validation fraction must be between 0.01 and 0.5, got 0.0."),
        ("learning_rate", 1e9, "Learning rate must be a number above 0 and at most 1, got 1000000000.0."),
        ("epochs", 100000, "Epochs must be a whole number from 1 to 50, got 100000."),
        ("epochs", -3, "Epochs must be a whole number from 1 to 50, got -3."),
    ],
)
def test_bad_values_are_refused_before_anything_starts(app_store, job_manager, key, value, message):
    at = choose(open_page(), **{key: value})
    assert [error.value for error in at.error] == [f"{message} Start is disabled until this is fixed."]
    assert at.button(key="start_training").disabled
    assert job_manager.current() is None
    assert not at.exception

    at.number_input(key=key).set_value({"learning_rate": 0.001, "validation_fraction": 0.1, "epochs": 1}[key]).run()
    assert not at.error and not at.button(key="start_training").disabled


def test_bad_train_limit_is_refused_with_the_fix(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "10")
    at = open_page()
    assert at.error[0].value == (
        "DIGIT_APP_TRAIN_LIMIT: Training samples must be a whole number from 20 to 60000, got 10. "
        "Then fix or unset it and restart the app. Start is disabled until this is fixed."
    )
    assert at.button(key="start_training").disabled


def test_a_one_epoch_job_completes_and_offers_its_model(app_store, job_manager):
    at = choose(open_page())
    at.button(key="start_training").click().run()
    assert job_manager.current() is not None
    assert job_manager.snapshot().settings.max_train_samples == 500

    at = run_until(at, lambda snapshot: snapshot.ended)
    snapshot = job_manager.snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert not at.exception
    assert snapshot.model_id in [meta["id"] for meta in app_store.list()]
    assert f"Saved as `{snapshot.model_id}`" in at.success[0].value
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{snapshot.test_accuracy:.2%}"
    assert at.metric[0].delta.endswith(" points vs the model in use")
    assert [tab.label for tab in at.tabs][-3:] == ["Learning curves", "Confusion matrix", "Mistakes"]
    assert len(at.get("vega_lite_chart")) == 2  # loss and accuracy, interactive
    assert len(at.image) == 2  # confusion matrix, misclassified digits
    # A one-epoch run draws a validation curve: the untrained model, then each check within the epoch.
    assert len(snapshot.validation_points) == 1 + VALIDATIONS_PER_EPOCH
    assert app_store.metadata(snapshot.model_id)["curves"]["validation"] == [list(p) for p in snapshot.validation_points]
    assert app_store.active_id() == DEFAULT_MODEL_ID  # saved, not activated

    at.button(key="use_model").click().run()
    assert app_store.active_id() == snapshot.model_id
    assert at.button(key="use_model").disabled
    assert at.button(key="use_model").label == "In use on the Draw page"


def test_the_training_set_size_is_chosen_capped_by_the_environment_and_kept(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "5000")
    at = choose(open_page())
    assert at.radio(key="train_size").options == ["All 54,000", "1,000", "5,000", "10,000"]
    assert "Learns from 4,500 MNIST digits and generated handwriting. At most the first 5,000" in texts(at)
    at.radio(key="train_size").set_value(1000).run()
    assert "Learns from 900 MNIST digits" in texts(at)
    at.button(key="start_training").click().run()
    assert job_manager.snapshot().settings.max_train_samples == 1000
    assert at.radio(key="train_size").value == 1000 and at.radio(key="train_size").disabled


def test_a_running_job_shows_progress_and_stops_cleanly(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "2000")
    at = choose(open_page(), epochs=50)
    at.select_slider(key="batch_size").set_value(16)
    at.button(key="start_training").click().run()
    run_until(at, lambda snapshot: snapshot.epoch >= 1 and snapshot.batch >= 2)

    assert at.subheader[-1].value == "Training…"
    progress = at.get("progress")[0]
    assert re.match(r"Epoch \d+ of 50 · batch \d+ of \d+", progress.proto.text)
    assert len(at.get("vega_lite_chart")) == 2 and not at.image  # the live loss and accuracy charts
    assert "These are the running job's settings" in texts(at) and at.button(key="start_training").disabled

    at.button(key="stop_training").click().run()  # this session's own job: no question asked
    started_stopping = time.monotonic()
    at = run_until(at, lambda snapshot: snapshot.ended, timeout=15)
    print(f"stopped within {time.monotonic() - started_stopping:.1f} s")
    snapshot = job_manager.snapshot()
    assert snapshot.state == jobs.STOPPED
    assert "Stopped" in at.warning[0].value
    assert at.button(key="start_training").disabled is False


def test_a_second_start_is_queued_and_stopping_anothers_job_asks_first(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "5000")
    first = choose(open_page(), epochs=50)
    first.select_slider(key="batch_size").set_value(16)
    first.button(key="start_training").click().run()
    run_until(first, lambda snapshot: snapshot.running)

    second = open_page()  # another browser session
    assert second.subheader[-1].value == "Training…"
    assert "dense-128 · 50 epochs" in texts(second)
    # The running job's settings, read-only: not the form's defaults.
    assert second.number_input(key="epochs").value == 50 and second.number_input(key="epochs").disabled
    second.button(key="queue_training").click().run()  # the form is this session's own again
    second = choose(second)
    assert "Start puts yours in the queue" in texts(second)
    second.button(key="start_training").click().run()
    assert "Your training is queued, position 1: it starts when the job before it ends." in texts(second)
    assert len(job_manager.queued()) == 1
    assert "Your training is queued" not in texts(first.run())  # shown to whoever started it only

    # Stop on someone else's job asks first, naming who started it.
    second.button(key="stop_training").click().run()
    assert re.match(r"This job was started by a visitor on this machine at \d\d:\d\d\. Stop it for them\?",
                    second.warning[0].value)
    assert job_manager.current().snapshot().stop_requested_by is None
    second.button(key="cancel_stop_training").click().run()
    assert not second.warning and job_manager.current().running

    second.button(key="stop_training").click().run()
    second.button(key="confirm_stop_training").click().run()
    assert job_manager.current().snapshot().stop_requested_by == "a visitor on this machine"
    # The queued job runs next, to its end.
    second = run_until(second, lambda snapshot: snapshot.ended and snapshot.settings.epochs == 1)
    assert job_manager.snapshot().state == jobs.FINISHED, job_manager.snapshot().error
    assert "Saved as" in second.success[0].value


def test_a_killed_job_process_is_shown_as_failed_with_the_reason(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "5000")
    at = choose(open_page(), epochs=50)
    at.button(key="start_training").click().run()
    run_until(at, lambda snapshot: snapshot.running and snapshot.batch >= 1)
    os.kill(job_manager.current().process_id(), signal.SIGKILL)
    at = run_until(at, lambda snapshot: snapshot.ended, timeout=15)
    assert at.error[0].value.startswith("The job's process (pid ")
    assert "was killed by SIGKILL before it finished" in at.error[0].value
    assert f"the active model is still `{DEFAULT_MODEL_ID}`" in at.info[0].value


def test_a_job_that_cannot_save_fails_before_training_and_keeps_the_active_model(app_store, job_manager):
    blocked = app_store.root / "blocked"
    blocked.write_text("a file where the models folder should be")
    app_store.root = blocked / "models"  # the page's store: a folder that cannot be made
    at = choose(open_page())
    at.button(key="start_training").click().run()
    at = run_until(at, lambda snapshot: snapshot.ended)
    assert job_manager.snapshot().state == jobs.FAILED and job_manager.snapshot().epoch == 0
    assert at.error[0].value.startswith(f"Training did not start: Cannot save models in {blocked / 'models'}: ")
    assert not at.exception


def test_include_my_drawings_is_offered_once_there_are_drawings(app_store, job_manager, drawing_store, small_mnist):
    at = open_page()
    toggle = at.toggle(key="include_drawings")
    assert toggle.label == "Include my drawings (0)" and toggle.disabled

    for image, label in zip(small_mnist.x_test[:3], small_mnist.y_test[:3]):
        drawing_store.add(image.astype("float32") / 255, int(label))
    at.run()
    toggle = at.toggle(key="include_drawings")
    assert toggle.label == "Include my drawings (3)" and not toggle.disabled


def _stop_part(phase, epoch, epochs_done):
    """The Stop part of the Train page for a 50-epoch job stopped in this epoch, at batch 10 of 40."""
    from digit_app import jobs
    from digit_app.settings import TrainingSettings
    from digit_app.ui.train import stop_ui

    snapshot = jobs.JobSnapshot(
        state=jobs.RUNNING, phase=phase, settings=TrainingSettings(epochs=50), epoch=epoch, batch=10,
        batches_per_epoch=40, batch_loss=0.2, batch_accuracy=0.9, batch_points=[],
        history={"loss": [0.3] * epochs_done}, started_at=0.0, elapsed_seconds=5.0, seconds_left=None,
    )
    stop_ui(snapshot)


@pytest.mark.parametrize("phase, words", [
    (jobs.STOPPING, "Stopping after the current batch. The model is kept if at least one whole epoch is done."),
    (jobs.CHECKING, "Stopped at epoch 3, batch 10 of 40. Checking the model on the test set, then saving it…"),
    (jobs.SAVING, "Stopped at epoch 3, batch 10 of 40. Saving the model…"),
])
def test_after_stop_each_phase_says_what_happens_and_where_training_stopped(phase, words):
    # The browser test may miss the short phases after training between two refreshes of the page.
    at = AppTest.from_function(_stop_part, args=(phase, 3, 2), default_timeout=30).run()
    assert not at.exception, [exception.message for exception in at.exception]
    assert [caption.value for caption in at.caption] == [words]
    assert at.button(key="stop_training").disabled  # Stop has been pressed


def test_a_job_stopped_in_its_first_epoch_says_nothing_is_kept():
    at = AppTest.from_function(_stop_part, args=(jobs.CHECKING, 1, 0), default_timeout=30).run()
    assert at.caption[0].value == "Stopped at epoch 1, batch 10 of 40: nothing will be kept, as no whole epoch was done. Finishing…"
