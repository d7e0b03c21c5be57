"""The Models page in Streamlit's AppTest, over a model store in tmp_path holding real tiny models."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import page_path

APP = page_path("navigation.py")
PAGE = page_path("models.py")
RUN_TIMEOUT_SECONDS = 60  # the first run imports TensorFlow


@pytest.fixture
def app_store(app_store, tiny_trained_model):
    """The app's store with the shipped default and one model from the Train page."""
    app_store.save(tiny_trained_model.model, tiny_trained_model.metadata("app: Train page"),
                   model_id="dense-128-from-the-app")
    return app_store


def open_page():
    return AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT_SECONDS).run()


def shown_text(at):
    return " ".join(str(element.value) for kind in ("markdown", "caption", "warning", "error", "info")
                    for element in getattr(at, kind))


def test_page_renders_from_the_app_navigation(app_store):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_SECONDS).run()
    at.switch_page("models.py").run()
    assert not at.exception
    assert at.title[0].value == "Models"


def test_every_model_is_listed_with_its_metadata(app_store, tiny_trained_model):
    at = open_page()
    assert not at.exception and not at.error
    text = shown_text(at)
    assert "`default-cnn`" in text and "`dense-128-from-the-app`" in text
    assert "made by `app: Train page`" in text and "made by `python train.py --arch dense-128`" in text
    accuracy = f"{tiny_trained_model.test_accuracy:.2%}"
    assert [metric.value for metric in at.metric if metric.label == "Test accuracy"] == [accuracy, accuracy]
    assert {metric.value for metric in at.metric if metric.label == "Parameters"} == {"101,899"}  # 784-128-11
    assert len(at.image) == 2  # the stored loss and accuracy curves of each
    assert "In use on the Draw page" in text  # the default, as nothing was activated
    assert at.button(key="activate_default-cnn").disabled


def test_activate_makes_a_model_the_active_one(app_store):
    at = open_page()
    at.button(key="activate_dense-128-from-the-app").click().run()
    assert app_store.active_id() == "dense-128-from-the-app"
    assert at.button(key="activate_dense-128-from-the-app").disabled
    assert not at.button(key="activate_default-cnn").disabled


def test_delete_asks_first_and_the_default_cannot_be_deleted(app_store):
    at = open_page()
    assert at.button(key="delete_default-cnn").disabled
    at.button(key="delete_dense-128-from-the-app").click().run()
    assert "Delete `dense-128-from-the-app` for good?" in at.warning[0].value
    assert app_store.exists("dense-128-from-the-app")

    at.button(key="cancel_delete_dense-128-from-the-app").click().run()
    assert not at.warning and app_store.exists("dense-128-from-the-app")

    at.button(key="delete_dense-128-from-the-app").click().run()
    at.button(key="confirm_delete_dense-128-from-the-app").click().run()
    assert not app_store.exists("dense-128-from-the-app")
    assert "dense-128-from-the-app" not in shown_text(at)
    assert not at.exception


def test_each_model_offers_its_keras_file_for_download(app_store):
    at = open_page()
    buttons = {button.key: button for button in at.download_button}
    assert set(buttons) == {"download_default-cnn", "download_dense-128-from-the-app"}
    assert all(button.label == "Download .keras" for button in buttons.values())


def test_a_model_with_broken_metadata_shows_an_error_and_the_page_still_renders(app_store):
    meta_path = app_store.root / "dense-128-from-the-app.json"
    meta = json.loads(meta_path.read_text())
    meta["history"] = [0.5, 0.4]  # a list where a dict of lists belongs
    meta_path.write_text(json.dumps(meta))
    at = open_page()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Model `dense-128-from-the-app` cannot be shown: ")
    assert "`default-cnn`" in shown_text(at)


def test_an_empty_store_says_how_to_get_a_model():
    at = open_page()
    assert not at.exception
    assert "No models in" in at.info[0].value and "python train.py" in at.info[0].value


def test_a_link_with_a_model_id_shows_that_model_first_with_its_sweep(app_store, tiny_trained_model):
    metadata = {**tiny_trained_model.metadata("sweep s1, trial 4"),
                "sweep": {"study": "s1", "trial": 4, "params": {"epochs": 1}, "validation_accuracy": 0.5}}
    app_store.save(tiny_trained_model.model, metadata, model_id="s1-trial-4")
    app_store.save(tiny_trained_model.model, tiny_trained_model.metadata("newest"), model_id="newest")
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT_SECONDS)
    at.query_params["model"] = "s1-trial-4"
    at.run()
    assert not at.exception
    headings = [markdown.value for markdown in at.markdown if markdown.value.startswith("#### ")]
    assert headings[0].startswith("#### `s1-trial-4`") and "Sweep s1, trial 4" in headings[0]
