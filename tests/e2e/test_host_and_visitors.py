"""The app served to others, in Chromium on 127.0.0.1: the host (a browser context that opened
the host link) can do everything; visitors (new contexts without it) draw and keep their own
drawings, and cannot delete models, change the model in use, or touch others' drawings or jobs."""

import re
import shutil

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e import app_driver
from tests.e2e.conftest import DRAWINGS_PER_VISITOR
from tests.e2e.test_draw_page import ONE

PAGES = {"": "Draw a digit", "train": "Train a model", "models": "Models", "my_drawings": "My drawings"}
SPARE_MODEL = "spare-model"  # a copy of dense-128 for the tests to delete


@pytest.fixture
def visitor(browser):
    """A new browser context: a visitor, with no host cookie and an id of their own."""
    context = browser.new_context(viewport=app_driver.VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def second_visitor(browser):
    context = browser.new_context(viewport=app_driver.VIEWPORT)
    yield context
    context.close()


@pytest.fixture
def spare_model(models_dir):
    for suffix in (".keras", ".json"):
        shutil.copy(models_dir / f"dense-128{suffix}", models_dir / f"{SPARE_MODEL}{suffix}")
    yield SPARE_MODEL
    for suffix in (".keras", ".json"):
        (models_dir / f"{SPARE_MODEL}{suffix}").unlink(missing_ok=True)


@pytest.fixture
def empty_drawings(host, app_url):
    """No drawings before or after the test: the host deletes everyone's."""
    yield
    page = app_driver.open_app(host, app_url, "my_drawings")
    if app_driver.metric_value(page, "Drawings").inner_text().strip() != "0":
        _delete_all(page, "Delete all")
        expect(app_driver.metric_value(page, "Drawings")).to_have_text("0")
    page.close()


def _expect_disabled(page, key):
    """The button keyed `key` is shown and disabled (with a help tooltip it is drawn twice)."""
    buttons = page.locator(f".st-key-{key} button")
    expect(buttons.first).to_be_visible()
    for button in buttons.all():
        expect(button).to_be_disabled()


def _in_files(page, locator):
    """locator, in the "Export, import, delete all" expander, opened if a rerun closed it."""
    app_driver.wait_until_idle(page)
    if not locator.first.is_visible():
        page.get_by_text("Export, import, delete all").click()
    expect(locator.first).to_be_visible()
    return locator


def _import_drawings(page, path, count, label=1):
    np.savez(path, images=np.zeros((count, 28, 28), np.uint8), labels=np.full(count, label, np.uint8))
    _in_files(page, page.get_by_text("Import drawings from an .npz"))
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(path)
    app_driver.rerun_after(page, page.locator(".st-key-import button").click)


def _delete_all(page, question):
    app_driver.rerun_after(page, _in_files(page, page.locator(".st-key-delete_all button")).click)
    _in_files(page, page.get_by_text(question))
    app_driver.rerun_after(page, page.locator(".st-key-confirm_delete_all_yes button").click)


def test_every_page_says_who_you_are(host, visitor, app_url, screenshot):
    for path, title in PAGES.items():
        for context, role in ((host, "host"), (visitor, "visitor")):
            page = app_driver.open_app(context, app_url, path)
            expect(page.get_by_role("heading", name=title)).to_be_visible()
            expect(page.get_by_text(f"You are {'the host' if role == 'host' else 'a visitor'}")).to_be_visible()
            screenshot(page, f"{role}-{path or 'draw'}")
            page.close()


def test_a_visitor_cannot_delete_a_model_or_change_the_one_in_use(host, visitor, app_url, model_store, spare_model,
                                                                    screenshot):
    page = app_driver.open_app(visitor, app_url, f"models?model={spare_model}")  # the link selects the model
    expect(page.get_by_text("Only the host can choose the model in use or delete models.")).to_be_visible()
    _expect_disabled(page, f"delete_{spare_model}")
    _expect_disabled(page, f"activate_{spare_model}")
    screenshot(page, "visitor-models")
    assert model_store.exists(spare_model) and model_store.active_id() == "default-cnn"

    host_page = app_driver.open_app(host, app_url, "models?model=dense-128")  # the host can do both
    app_driver.rerun_after(host_page, host_page.locator(".st-key-activate_dense-128 button").click)
    expect(host_page.locator(".st-key-activate_dense-128 button")).to_have_text(re.compile("In use"))
    assert model_store.active_id() == "dense-128"
    host_page.close()
    host_page = app_driver.open_app(host, app_url, f"models?model={spare_model}")
    app_driver.rerun_after(host_page, host_page.locator(f".st-key-delete_{spare_model} button").click)
    app_driver.rerun_after(host_page, host_page.locator(f".st-key-confirm_delete_{spare_model} button").click)
    expect(host_page.get_by_text(f"`{spare_model}`")).to_have_count(0)
    assert not model_store.exists(spare_model)
    screenshot(host_page, "host-models")


def test_visitors_see_and_delete_only_their_own_drawings(host, visitor, second_visitor, app_url, tmp_path,
                                                          empty_drawings, screenshot):
    first = app_driver.open_app(visitor, app_url, "my_drawings")
    _import_drawings(first, tmp_path / "two.npz", 2, label=1)
    expect(app_driver.metric_value(first, "Drawings")).to_have_text("2")
    second = app_driver.open_app(second_visitor, app_url, "my_drawings")
    _import_drawings(second, tmp_path / "three.npz", 3, label=7)
    expect(app_driver.metric_value(second, "Drawings")).to_have_text("3")
    screenshot(second, "second-visitor-drawings")

    # The second visitor's Delete all removes their own three, not the first visitor's two.
    _delete_all(second, "Delete all 3 drawings of yours?")
    expect(second.get_by_text("Deleted all 3 drawings.")).to_be_visible()
    first.reload()
    expect(app_driver.metric_value(first, "Drawings")).to_have_text("2")
    expect(first.get_by_text("read as", exact=False)).to_have_count(0)  # imported drawings carry no reading
    screenshot(first, "first-visitor-keeps-theirs")

    host_page = app_driver.open_app(host, app_url, "my_drawings")  # the host sees everyone's
    expect(app_driver.metric_value(host_page, "Drawings")).to_have_text("2")
    screenshot(host_page, "host-sees-all")


def test_a_reached_quota_gives_its_message(visitor, app_url, tmp_path, empty_drawings, screenshot):
    page = app_driver.open_app(visitor, app_url, "my_drawings")
    _import_drawings(page, tmp_path / "too-many.npz", DRAWINGS_PER_VISITOR + 1)
    expect(page.get_by_text(f"You have 0 drawings and each visitor may keep {DRAWINGS_PER_VISITOR}")).to_be_visible()
    _import_drawings(page, tmp_path / "enough.npz", DRAWINGS_PER_VISITOR)
    expect(app_driver.metric_value(page, "Drawings")).to_have_text(str(DRAWINGS_PER_VISITOR))

    draw = app_driver.open_app(visitor, app_url)
    app_driver.canvas_box(draw)
    app_driver.draw(draw, ONE)
    app_driver.rerun_after(draw, draw.locator(".st-key-confirm_reading button").click)
    expect(draw.get_by_text(f"The drawing was not saved: You have {DRAWINGS_PER_VISITOR} drawings and each "
                            f"visitor may keep {DRAWINGS_PER_VISITOR}")).to_be_visible()
    screenshot(draw, "quota-reached")


def test_a_visitor_cannot_stop_someone_elses_job(host, visitor, second_visitor, app_url, models_dir, screenshot):
    models_before = {path.name for path in models_dir.glob("*.keras")}
    starter = app_driver.open_app(visitor, app_url, "train")
    epochs = starter.locator(".st-key-epochs input")
    epochs.fill("50")
    app_driver.rerun_after(starter, lambda: epochs.press("Enter"))
    starter.locator(".st-key-start_training button").click()
    expect(starter.locator(".st-key-stop_training button")).to_be_enabled()  # the one who started it may stop it

    other = app_driver.open_app(second_visitor, app_url, "train")
    _expect_disabled(other, "stop_training")
    screenshot(other, "other-visitor-cannot-stop")

    host_page = app_driver.open_app(host, app_url, "train")
    stop = host_page.locator(".st-key-stop_training button")
    expect(stop).to_be_enabled()
    stop.click()
    # Someone else's job: the host is asked first, with who started it.
    expect(host_page.get_by_text(re.compile(r"^This job was started by .* Stop it for them\?"))).to_be_visible()
    host_page.locator(".st-key-confirm_stop_training button").click()
    expect(host_page.get_by_text(re.compile(r"^Stopped "))).to_be_visible(timeout=120_000)
    screenshot(host_page, "host-stopped-it")
    for path in set(models_dir.glob("*.keras")) - {models_dir / name for name in models_before}:
        path.unlink()  # a model kept from the stopped job's first epoch, if any
        path.with_suffix(".json").unlink(missing_ok=True)


def test_the_host_link_is_printed_as_the_server_starts_before_anyone_visits(tmp_path, models_dir):
    env = {"DIGIT_APP_SHARED": "1", "DIGIT_APP_MODELS": str(models_dir), "DIGIT_APP_DRAWINGS_DB": str(tmp_path / "d.sqlite3")}
    with app_driver.AppServer(tmp_path / "streamlit.log", env=env) as server:
        deadline = app_driver.time.monotonic() + app_driver.STARTUP_TIMEOUT_SECONDS
        while "host_token=" not in server.log_tail() and app_driver.time.monotonic() < deadline:
            app_driver.time.sleep(0.2)
        assert re.search(rf"{re.escape(server.url)}/\?host_token=\S{{16,}}", server.log_tail()), server.log_tail()
