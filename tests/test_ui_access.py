"""The host's and visitors' rules on the pages, through AppTest with the app set to serve others."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digit_app import serving
from digit_app.ui import access
from tests.conftest import page_path

TIMEOUT_SECONDS = 30


@pytest.fixture
def served_to_others(monkeypatch):
    """The app served to others, visitors read-only: every AppTest session here is a visitor."""
    settings = serving.ServingSettings(shared=True, visitors_read_only=True)
    monkeypatch.setattr(access, "SETTINGS", settings)
    return settings


def run(page):
    app = AppTest.from_file(page_path(page), default_timeout=TIMEOUT_SECONDS)
    app.run()
    assert not app.exception
    return app


def test_a_read_only_visitor_can_keep_nothing(served_to_others, drawing_store, app_store, job_manager):
    drawing_store.add(np.zeros((28, 28), np.float32), 3)  # someone else's
    app = run("my_drawings.py")
    assert [metric.value for metric in app.metric][0] == "0"  # a visitor sees only their own
    assert access.READ_ONLY in [caption.value for caption in app.caption]
    assert not [button for button in app.button if button.key in ("import", "delete_all")]
    train = run("train.py")
    assert train.button(key="start_training").disabled


def test_a_visitor_cannot_change_models(served_to_others, app_store, tiny_trained_model):
    model, metadata = tiny_trained_model.model, tiny_trained_model.metadata
    app_store.save(model, metadata("python train.py --arch dense-128"), model_id="another")
    app = run("models.py")
    assert "Only the host can choose the model in use or delete models." in [info.value for info in app.info]
    assert app.button(key="delete_another").disabled and app.button(key="activate_another").disabled
    assert app_store.exists("another") and app_store.active_id() == "default-cnn"


def test_the_host_password_makes_a_visitor_the_host(monkeypatch, app_store):
    monkeypatch.setattr(access, "SETTINGS", serving.ServingSettings(shared=True))
    app = AppTest.from_file(page_path("navigation.py"), default_timeout=TIMEOUT_SECONDS)
    app.secrets[access.PASSWORD_SECRET] = "open sesame"
    app.run()
    assert [info.value for info in app.sidebar.info] == ["You are a visitor"]
    app.sidebar.text_input(key="host_password_input").input("wrong guess").run()
    assert [error.value for error in app.sidebar.error] == ["That is not the host password."]
    assert [info.value for info in app.sidebar.info] == ["You are a visitor"]
    app.sidebar.text_input(key="host_password_input").input("open sesame").run()
    assert [success.value for success in app.sidebar.success] == ["You are the host"]
