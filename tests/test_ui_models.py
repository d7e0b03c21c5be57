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


def open_page(model_id=None):
    """The page, with the model ?model=<id> names selected (else the one in use)."""
    at = AppTest.from_file(PAGE, default_timeout=RUN_TIMEOUT_SECONDS)
    if model_id:
        at.query_params["model"] = model_id
    return at.run()


def shown_text(at):
    return " ".join(str(element.value) for kind in ("markdown", "caption", "warning", "error", "info")
                    for element in getattr(at, kind))


def headings(at):
    return [markdown.value for markdown in at.markdown if markdown.value.startswith("#### ")]


def test_page_renders_from_the_app_navigation(app_store):
    at = AppTest.from_file(APP, default_timeout=RUN_TIMEOUT_SECONDS).run()
    at.switch_page("models.py").run()
    assert not at.exception
    assert at.title[0].value == "Models"


def test_every_model_is_a_row_of_the_table_with_its_metadata(app_store, tiny_trained_model):
    at = open_page()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert sorted(table["Model"]) == ["default-cnn", "dense-128-from-the-app"]
    assert list(table["Test accuracy"]) == [round(tiny_trained_model.test_accuracy * 100, 2)] * 2
    assert list(table["Canvas accuracy"]) == [round(tiny_trained_model.canvas_accuracy * 100, 2)] * 2
    assert set(table["Parameters"]) == {101_899}  # 784-128-11
    assert set(table["Architecture"]) == {"dense-128"} and set(table["Epochs"]) == {1}
    assert (table["File size"] > 0).all() and table["Your drawings"].isna().all()
    assert dict(zip(table["Model"], table["Status"])) == {"default-cnn": "in use", "dense-128-from-the-app": ""}


def test_the_model_in_use_is_selected_first_with_its_curves(app_store):
    at = open_page()
    assert headings(at)[0].startswith("#### `default-cnn`") and "In use on the Draw page" in headings(at)[0]
    assert "made by `python train.py --arch dense-128`" in shown_text(at)
    assert at.button(key="activate_default-cnn").disabled
    # The selected model's loss and accuracy, then the comparison's (the model in use alone).
    assert len(at.get("vega_lite_chart")) == 4
    assert at.multiselect(key="models_compare").value == ["default-cnn"]


def test_activate_makes_the_selected_model_the_active_one(app_store):
    at = open_page("dense-128-from-the-app")
    at.button(key="activate_dense-128-from-the-app").click().run()
    assert app_store.active_id() == "dense-128-from-the-app"
    assert at.button(key="activate_dense-128-from-the-app").disabled
    assert dict(zip(at.dataframe[0].value["Model"], at.dataframe[0].value["Status"]))["dense-128-from-the-app"] == "in use"


def test_delete_asks_first_and_the_default_cannot_be_deleted(app_store):
    assert open_page().button(key="delete_default-cnn").disabled
    at = open_page("dense-128-from-the-app")
    at.button(key="delete_dense-128-from-the-app").click().run()
    assert "Delete `dense-128-from-the-app` for good?" in at.warning[0].value
    assert app_store.exists("dense-128-from-the-app")

    at.button(key="cancel_delete_dense-128-from-the-app").click().run()
    assert not at.warning and app_store.exists("dense-128-from-the-app")

    at.button(key="delete_dense-128-from-the-app").click().run()
    at.button(key="confirm_delete_dense-128-from-the-app").click().run()
    assert not app_store.exists("dense-128-from-the-app")
    assert list(at.dataframe[0].value["Model"]) == ["default-cnn"]
    assert not at.exception


def test_the_selected_model_offers_its_keras_file_for_download(app_store):
    at = open_page("dense-128-from-the-app")
    assert [(button.key, button.label) for button in at.download_button] == [
        ("download_dense-128-from-the-app", "Download .keras")]


def test_a_name_and_a_note_are_saved_in_the_metadata_and_shown(app_store):
    at = open_page("dense-128-from-the-app")
    at.text_input(key="name_dense-128-from-the-app").input("Quick try")
    at.text_area(key="note_dense-128-from-the-app").input("One epoch on 500 digits.")
    at.button(key="FormSubmitter:describe_dense-128-from-the-app-Save name and note").click().run()
    assert not at.exception and not at.error
    meta = app_store.metadata("dense-128-from-the-app")
    assert meta["name"] == "Quick try" and meta["note"] == "One epoch on 500 digits."
    assert headings(at)[0].startswith("#### Quick try · `dense-128-from-the-app`")
    assert "Quick try" in list(at.dataframe[0].value["Name"])


def test_a_model_with_broken_metadata_shows_an_error_and_the_page_still_renders(app_store):
    meta_path = app_store.root / "dense-128-from-the-app.json"
    meta = json.loads(meta_path.read_text())
    meta["history"] = [0.5, 0.4]  # a list where a dict of lists belongs
    meta_path.write_text(json.dumps(meta))
    at = open_page("dense-128-from-the-app")
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Model `dense-128-from-the-app` cannot be shown: ")
    assert sorted(at.dataframe[0].value["Model"]) == ["default-cnn", "dense-128-from-the-app"]


def test_an_empty_store_says_how_to_get_a_model():
    at = open_page()
    assert not at.exception
    assert "No models in" in at.info[0].value and "python train.py" in at.info[0].value


def test_a_link_with_a_model_id_selects_that_model_with_its_sweep(app_store, tiny_trained_model):
    metadata = {**tiny_trained_model.metadata("sweep s1, trial 4"),
                "sweep": {"study": "s1", "trial": 4, "params": {"epochs": 1}, "validation_accuracy": 0.5}}
    app_store.save(tiny_trained_model.model, metadata, model_id="s1-trial-4")
    app_store.save(tiny_trained_model.model, tiny_trained_model.metadata("newest"), model_id="newest")
    at = open_page("s1-trial-4")
    assert not at.exception
    assert headings(at)[0].startswith("#### `s1-trial-4`") and "Sweep s1, trial 4" in headings(at)[0]
    assert at.multiselect(key="models_compare").value == ["s1-trial-4", "default-cnn"]
