"""Every failure says what it is and what to do, in the app's own words, in Chromium against a
real server: broken model files, a read-only models folder, bad settings in the environment, and
Train page values outside the limits. Each test breaks a copy and puts it back."""

import contextlib
import os
import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e import app_driver
from tests.e2e.conftest import ARTIFACTS


@contextlib.contextmanager
def _bytes_restored(path):
    original = path.read_bytes()
    try:
        yield original
    finally:
        path.write_bytes(original)


@contextlib.contextmanager
def _model_copy(models_dir, source, model_id):
    for suffix in (".keras", ".json"):
        shutil.copy(models_dir / f"{source}{suffix}", models_dir / f"{model_id}{suffix}")
    try:
        yield model_id
    finally:
        for suffix in (".keras", ".json"):
            (models_dir / f"{model_id}{suffix}").unlink(missing_ok=True)


@contextlib.contextmanager
def _read_only(folder):
    """The folder read-only for the server: a read-only bind mount as root (who ignores file
    modes), else its mode."""
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "--bind", "-o", "ro", str(folder), str(folder)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot make {folder} read-only as root here: {mounted.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["umount", str(folder)], check=True)
    else:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(mode)


def test_a_broken_default_model_explains_how_to_restore_it(host, app_url, models_dir, screenshot):
    model_file = models_dir / "default-cnn.keras"
    with _bytes_restored(model_file) as original:
        model_file.write_bytes(original[: len(original) // 2])
        page = app_driver.open_app(host, app_url)
        expect(page.get_by_text("the shipped default model cannot be loaded")).to_be_visible()
        expect(page.get_by_text("git checkout models/")).to_be_visible()
        expect(page.get_by_text("ModelLoadError", exact=True)).to_have_count(0)
        screenshot(page, "broken-default")
        page.close()


def test_a_read_only_models_folder_says_so_when_a_model_is_put_in_use(host, app_url, models_dir, model_store,
                                                                       screenshot):
    page = app_driver.open_app(host, app_url, "models?model=dense-128")
    with _read_only(models_dir):
        app_driver.rerun_after(page, page.locator(".st-key-activate_dense-128 button").click)
        expect(page.get_by_text(re.compile(r"Could not make 'dense-128' the model in use: the models folder .* "
                                           r"cannot be written \(Read-only file system|Permission denied"))).to_be_visible()
        expect(page.get_by_text("PermissionError", exact=True)).to_have_count(0)
        screenshot(page, "read-only-folder")
    assert model_store.active_id() == "default-cnn"


def test_a_broken_json_lists_the_model_as_broken_and_it_can_be_deleted(host, app_url, models_dir, model_store,
                                                                        screenshot):
    with _model_copy(models_dir, "dense-128", "broken-json") as model_id:
        model_store.activate(model_id)
        (models_dir / f"{model_id}.json").write_text('{"architecture": "dense-128", "epochs": ')
        page = app_driver.open_app(host, app_url, "models")
        expect(page.get_by_text("This model is broken: its metadata file broken-json.json cannot be read")).to_be_visible()
        heading = page.get_by_role("heading").filter(has_text=model_id)
        expect(heading).to_contain_text("Broken")
        expect(heading).to_contain_text("In use on the Draw page")  # its .keras loads: it does read digits
        expect(page.get_by_text("cannot read digits")).to_have_count(0)
        screenshot(page, "broken-json")
        app_driver.rerun_after(page, page.locator(f".st-key-delete_{model_id} button").first.click)
        app_driver.rerun_after(page, page.locator(f".st-key-confirm_delete_{model_id} button").click)
        expect(page.get_by_text(f"`{model_id}`")).to_have_count(0)
        assert not model_store.exists(model_id) and model_store.active_id() == "default-cnn"


def test_a_model_that_cannot_load_is_never_shown_in_use(host, app_url, models_dir, model_store, screenshot):
    with _model_copy(models_dir, "dense-32-64", "truncated") as model_id:
        model_store.activate(model_id)
        keras_file = models_dir / f"{model_id}.keras"
        keras_file.write_bytes(keras_file.read_bytes()[:1000])
        page = app_driver.open_app(host, app_url, f"models?model={model_id}")
        expect(page.get_by_text(f"The chosen model {model_id} cannot be loaded")).to_be_visible()
        expect(page.get_by_text("The Draw page uses default-cnn instead.")).to_be_visible()
        broken = page.get_by_role("heading").filter(has_text=model_id)
        expect(broken).to_contain_text("Cannot be loaded")
        expect(broken).not_to_contain_text("In use")
        expect(page.locator(f".st-key-activate_{model_id} button")).to_have_text("Use this model")
        status = {row[0]: row[2] for row in app_driver.table_rows(page)}  # the Model and Status columns
        assert status[model_id] == "cannot be loaded" and status["default-cnn"] == "in use"
        screenshot(page, "cannot-load")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("epochs", "100000", "Epochs must be a whole number from 1 to 50, got 100000."),
        ("epochs", "-3", "Epochs must be a whole number from 1 to 50, got -3."),
        ("learning_rate", "1e9", "Learning rate must be a number above 0 and at most 1, got 1000000000.0."),
    ],
    ids=["epochs-100000", "epochs-minus-3", "learning-rate-1e9"],
)
def test_the_train_page_refuses_values_outside_the_limits(host, app_url, key, value, message, screenshot):
    page = app_driver.open_app(host, app_url, "train")
    field = page.locator(f".st-key-{key} input")
    field.fill(value)
    app_driver.rerun_after(page, lambda: field.press("Enter"))
    expect(page.get_by_text(f"{message} Start is disabled until this is fixed.")).to_be_visible()
    expect(page.locator(".st-key-start_training button")).to_be_disabled()
    screenshot(page, "refused")
    field.fill({"epochs": "2", "learning_rate": "0.001"}[key])
    app_driver.rerun_after(page, lambda: field.press("Enter"))
    expect(page.locator(".st-key-start_training button")).to_be_enabled()
    page.close()


@pytest.fixture(scope="module")
def badly_set_app(tmp_path_factory):
    """A server started with bad settings in its environment."""
    tmp = tmp_path_factory.mktemp("bad-settings")
    env = {"DIGIT_APP_TRAIN_LIMIT": "abc", "DIGIT_APP_MODELS": "", "DIGIT_APP_DRAWINGS_DB": str(tmp / "d.sqlite3")}
    with app_driver.AppServer(ARTIFACTS / "streamlit-bad-settings.log", env=env) as server:
        yield server


@pytest.mark.parametrize(
    "path, line",
    [
        ("", "DIGIT_APP_TRAIN_LIMIT='abc': expected a whole number of training digits from 20 to 60000; fix or unset it."),
        ("my_drawings", "DIGIT_APP_MODELS is set but empty: set it to a models folder, or unset it to use the default."),
    ],
    ids=["train-limit-on-draw-page", "empty-models-on-my-drawings"],
)
def test_bad_settings_stop_the_app_with_one_line_per_problem(browser, badly_set_app, path, line, screenshot):
    page = app_driver.open_app(browser, badly_set_app.url, path)
    expect(page.get_by_text("The app cannot start: fix these settings")).to_be_visible()
    expect(page.get_by_text(line, exact=True)).to_be_visible()
    expect(page.locator(app_driver.CANVAS)).to_have_count(0)  # no page runs with them
    assert f"digit_app: {line}" in badly_set_app.log_path.read_text()
    screenshot(page, "bad-settings")
    page.close()
