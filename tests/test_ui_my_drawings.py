import dataclasses
import io

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digit_app import fine_tune, jobs
from digit_app.model_store import DEFAULT_MODEL_ID
from digit_app.settings import TRAIN_LIMIT_ENV_VAR
from digit_app.settings import TrainingSettings
from digit_app.ui import resources
from tests.conftest import page_path, wait_for_job

PAGE = page_path("my_drawings.py")
TIMEOUT_SECONDS = 30


@pytest.fixture
def filled_store(drawing_store, small_mnist):
    """Real MNIST digits: a 7 read as 1, a 2 read right, a 1 imported without a reading (newest)."""
    images, labels = small_mnist.x_test[:3], small_mnist.y_test[:3]
    assert labels.tolist() == [7, 2, 1]
    drawing_store.add(images[0] / 255, 7, predicted=1, model_id="default-cnn")
    drawing_store.add(images[1] / 255, 2, predicted=2, model_id="default-cnn")
    drawing_store.add(images[2] / 255, 1, source="import")
    return drawing_store


def run_page():
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT_SECONDS)
    app.run()
    assert not app.exception
    return app


def card_texts(app):
    return [markdown.value for markdown in app.markdown if " · " in markdown.value]


def test_the_gallery_shows_every_drawing_with_its_reading(filled_store):
    app = run_page()
    assert len(app.image) == 3
    assert card_texts(app) == ["**1** · :gray[not read]", "**2** · :green[read right]", "**7** · :red[read as 1]"]
    assert [metric.value for metric in app.metric] == ["3", "1", "3 of 10"]
    assert app.download_button[0].label == "Export 3 drawings"
    assert not app.error


def test_filters_by_label_and_by_wrong_readings(filled_store):
    app = run_page()
    app.toggle(key="wrong_only").set_value(True).run()
    assert card_texts(app) == ["**7** · :red[read as 1]"]
    app.toggle(key="wrong_only").set_value(False).run()
    app.button_group(key="label_filter").set_value(2).run()
    assert card_texts(app) == ["**2** · :green[read right]"]
    app.toggle(key="wrong_only").set_value(True).run()
    assert len(app.image) == 0 and "No drawings match" in app.info[0].value


def test_delete_one_drawing(filled_store):
    app = run_page()
    seven = filled_store.list(label=7)[0]
    app.button(key=f"delete-{seven.id}").click().run()
    assert not app.exception
    assert filled_store.count() == 2 and filled_store.get(seven.id) is None
    assert len(app.image) == 2
    assert app.success[0].value == f"Deleted drawing #{seven.id} (a 7)."


def test_delete_all_asks_first(filled_store):
    app = run_page()
    app.button(key="delete_all").click().run()
    assert "Delete all 3 drawings?" in app.warning[0].value
    assert filled_store.count() == 3
    app.button(key="confirm_delete_all_cancel").click().run()
    assert filled_store.count() == 3 and not app.warning

    app.button(key="delete_all").click().run()
    app.button(key="confirm_delete_all_yes").click().run()
    assert not app.exception
    assert filled_store.count() == 0
    assert app.success[0].value == "Deleted all 3 drawings."
    assert "No drawings yet" in app.info[0].value and len(app.image) == 0


def test_pages_of_drawings(drawing_store):
    for index in range(35):
        drawing_store.add(np.zeros((28, 28)), index % 10)
    app = run_page()
    assert len(app.image) == 30
    app.pagination(key="gallery_page").set_value(2).run()
    assert len(app.image) == 5
    assert any("Showing 31-35 of 35" in caption.value for caption in app.caption)


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_import_a_good_file(filled_store, small_mnist, app_store):
    app = run_page()
    upload = npz_bytes(images=small_mnist.x_test[3:8], labels=small_mnist.y_test[3:8])
    app.file_uploader[0].set_value(("more.npz", upload, "application/octet-stream")).run()
    app.button(key="import").click().run()
    assert not app.exception
    assert filled_store.count() == 8
    assert app.success[0].value == "Imported 5 drawings from more.npz, each read by the model in use."
    assert len(app.image) == 8
    imported = filled_store.list(limit=5)  # newest first: the five just imported
    assert len(imported) == 5 and all(drawing.predicted is not None for drawing in imported)
    assert {drawing.model_id for drawing in imported} == {app_store.active_id()}


def test_importing_one_drawing_says_one_drawing(filled_store, small_mnist, app_store):
    app = run_page()
    upload = npz_bytes(images=small_mnist.x_test[:1], labels=small_mnist.y_test[:1])
    app.file_uploader[0].set_value(("one.npz", upload, "application/octet-stream")).run()
    app.button(key="import").click().run()
    assert app.success[0].value == "Imported 1 drawing from one.npz, each read by the model in use."


def test_import_a_bad_file_changes_nothing(filled_store, app_store):
    app = run_page()
    upload = npz_bytes(images=np.zeros((2, 28, 28), np.uint8), labels=np.array([3, 12]))
    app.file_uploader[0].set_value(("bad.npz", upload, "application/octet-stream")).run()
    app.button(key="import").click().run()
    assert not app.exception
    assert filled_store.count() == 3
    assert "bad.npz was not imported" in app.error[0].value and "[12]" in app.error[0].value
    assert len(app.image) == 3  # the page goes on


def test_a_corrupt_database_is_reported_and_the_page_still_renders(drawing_store):
    drawing_store.path.write_bytes(np.random.default_rng(0).bytes(4096))
    app = run_page()
    assert str(drawing_store.path) in app.error[0].value and "Move it away" in app.error[0].value
    assert app.title[0].value == "My drawings"


def test_an_empty_store_invites_drawing_or_importing(drawing_store):
    app = run_page()
    assert "No drawings yet" in app.info[0].value
    assert app.download_button[0].disabled
    assert app.button(key="delete_all").disabled


# --- the fine-tune section ---

def run_until_the_job_ends(app):
    wait_for_job(resources.job_manager())
    return app.run()


def test_fine_tune_runs_in_the_background_and_offers_its_model(app_store, job_manager, twenty_drawings):
    app = run_page()
    split = twenty_drawings.split_for_evaluation(fine_tune.DEFAULT_EVALUATION_FRACTION)
    intro = app.markdown[0].value
    assert f"(`{DEFAULT_MODEL_ID}`)" in intro and f"**{len(split.train_images)}** of your drawings" in intro
    assert f"**{len(split.evaluation_images)}** drawings are held out" in intro and "500 MNIST digits" in intro

    app.button(key="start_fine_tune").click().run()
    assert not app.exception
    job = job_manager.current()
    assert job.snapshot().kind == jobs.FINE_TUNING and job.spec()["base_model_id"] == DEFAULT_MODEL_ID
    assert job.snapshot().settings.max_train_samples == 500

    app = run_until_the_job_ends(app)
    snapshot = resources.job_manager().snapshot()
    assert snapshot.state == jobs.FINISHED, snapshot.error
    assert not app.exception
    assert f"Saved as `{snapshot.model_id}`" in app.success[0].value
    scores = snapshot.fine_tune
    metrics = {metric.label: metric for metric in app.metric}
    held_out = metrics["Your held-out drawings"]
    assert held_out.value.startswith(f"{scores.drawings_accuracy_after:.1%} (")
    assert held_out.value.endswith(f" of {len(split.evaluation_images)})")
    assert metrics["MNIST test digits"].value == f"{scores.mnist_accuracy_after:.2%}"
    captions = [caption.value for caption in app.caption]
    assert f"Before: {scores.mnist_accuracy_before:.2%}" in captions
    assert app_store.metadata(snapshot.model_id)["fine_tuned_from"] == DEFAULT_MODEL_ID
    assert app_store.active_id() == DEFAULT_MODEL_ID  # saved, not activated

    app.button(key="use_fine_tuned").click().run()
    assert app_store.active_id() == snapshot.model_id
    in_use = app.button(key="use_fine_tuned")
    assert in_use.disabled and in_use.label == "In use on the Draw page"


def test_fine_tune_shows_progress_and_stops(app_store, job_manager, twenty_drawings, monkeypatch):
    monkeypatch.setenv(TRAIN_LIMIT_ENV_VAR, "2000")
    # Many small batches, so that the job is still running when the page looks.
    monkeypatch.setattr(fine_tune, "fine_tune_settings", _slow_settings(fine_tune.fine_tune_settings))
    app = run_page()
    app.button(key="start_fine_tune").click().run()
    wait_for_job(resources.job_manager(), lambda snapshot: snapshot.batch >= 2)
    app.run()
    progress = app.get("progress")[0]
    assert progress.proto.text.startswith("Epoch 1 of ")
    assert "start_fine_tune" not in _button_keys(app) and "stop_fine_tune" in _button_keys(app)

    app.button(key="stop_fine_tune").click().run()
    app = run_until_the_job_ends(app)
    assert resources.job_manager().snapshot().state == jobs.STOPPED
    assert "Stopped during the first epoch: nothing was saved." in app.warning[0].value
    assert "start_fine_tune" in _button_keys(app)


def _slow_settings(make_settings):
    def slow(*args, **kwargs):
        return dataclasses.replace(make_settings(*args, **kwargs), batch_size=4, epochs=20)

    return slow


def _button_keys(app):
    return [button.key for button in app.button]


def test_fine_tune_needs_ten_drawings(app_store, job_manager, filled_store):
    app = run_page()
    assert app.button(key="start_fine_tune").disabled
    assert "Needs at least 10 drawings; you have 3." in [caption.value for caption in app.caption]


def test_no_fine_tune_while_a_training_job_runs(app_store, job_manager, twenty_drawings, small_mnist):
    job_manager.start(TrainingSettings(architecture="dense-128", epochs=50, batch_size=16), data=small_mnist)
    app = run_page()
    assert "A training job is running on the Train page" in app.info[0].value
    assert "start_fine_tune" not in _button_keys(app)
