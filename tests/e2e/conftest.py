"""A real `streamlit run streamlit_app.py` server and a real Chromium for the browser tests.

The server works on copies: a tmp copy of the repository's models/ folder (so the tests never
change the real store), a tmp drawings database, and a small training subset. Screenshots of
each step go to test-artifacts/e2e/ (git-ignored).

The server is set to serve others (DIGIT_APP_SHARED=1, still on 127.0.0.1 only), as a teacher
serves a class: `page` and `host` are in a browser context that opened the host link; a page
made with `app_driver.open_app(browser, ...)` is a visitor's.
"""

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from digit_app.drawing_store import DrawingStore
from digit_app.model_store import ACTIVE_FILE, DEFAULT_MODEL_ID, ModelStore
from tests.e2e import app_driver

# A models folder to copy instead of the repository's models/, e.g. one made with
# DIGIT_APP_MODELS=/tmp/store python train.py --arch cnn --epochs 2 --augment --id default-cnn
MODELS_SOURCE_ENV_VAR = "DIGIT_APP_E2E_MODELS_FROM"
DRAWINGS_FILE = "drawings.sqlite3"
TRAIN_LIMIT = "1000"  # training digits for the Train page's jobs: one epoch in seconds
HOST_TOKEN = "e2e-host-token-4f2a9c7d1b"
DRAWINGS_PER_VISITOR = 3  # small, so that a test reaches the quota in a few strokes
ARTIFACTS = app_driver.ROOT / "test-artifacts" / "e2e"

expect.set_options(timeout=app_driver.READING_TIMEOUT_MS)  # a busy 2-core machine is slow to rerun


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """A tmp copy of the models folder, with the shipped default active."""
    source = Path(os.environ.get(MODELS_SOURCE_ENV_VAR) or app_driver.ROOT / "models")
    if not (source / f"{DEFAULT_MODEL_ID}.keras").exists():
        pytest.fail(
            f"The browser tests need a trained default model at {source / DEFAULT_MODEL_ID}.keras, and "
            f"there is none. Train it with 'python train.py --arch cnn --epochs 12 --augment --id {DEFAULT_MODEL_ID}', "
            f"or set {MODELS_SOURCE_ENV_VAR} to a models folder that holds one.",
            pytrace=False,
        )
    target = tmp_path_factory.mktemp("e2e") / "models"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".tmp-*", ACTIVE_FILE, "jobs", "sweeps.journal*"))
    return target


@pytest.fixture(scope="session")
def app_url(models_dir):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {
        "DIGIT_APP_MODELS": str(models_dir),
        "DIGIT_APP_TRAIN_LIMIT": TRAIN_LIMIT,
        "DIGIT_APP_DRAWINGS_DB": str(models_dir.parent / DRAWINGS_FILE),
        "DIGIT_APP_SHARED": "1",
        "DIGIT_APP_HOST_TOKEN": HOST_TOKEN,
        "DIGIT_APP_MAX_DRAWINGS_PER_VISITOR": str(DRAWINGS_PER_VISITOR),
    }
    with app_driver.AppServer(ARTIFACTS / "streamlit.log", env=env) as server:
        yield server.url


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = app_driver.launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def host(browser, app_url):
    """A browser context that opened the host link: its pages are the host's."""
    context = browser.new_context(viewport=app_driver.VIEWPORT)
    link_page = app_driver.open_app(context, app_url, f"?host_token={HOST_TOKEN}")
    expect(link_page.get_by_text("You are the host")).to_be_visible()
    app_driver.wait_for_cookie(link_page, "digit_app_host")
    link_page.close()
    yield context
    context.close()


@pytest.fixture
def page(host, app_url):
    """A new browser session of the host's on the Draw page, its canvas ready."""
    app_page = app_driver.open_app(host, app_url)
    app_driver.canvas_box(app_page)
    yield app_page
    app_page.close()


@pytest.fixture
def model_store(models_dir):
    """The server's store. Whatever a test activates, the default is active again afterwards."""
    server_store = ModelStore(models_dir)
    yield server_store
    server_store.activate(DEFAULT_MODEL_ID)


@pytest.fixture
def screenshot(request):
    """screenshot(page, step): save test-artifacts/e2e/<test name>-<nn>-<step>.png."""
    steps = []
    test_name = request.node.name.replace("[", "-").replace("]", "")
    for old in ARTIFACTS.glob(f"{test_name}-*.png"):
        old.unlink()  # a previous run's steps would mix with this run's

    def save(app_page, step):
        steps.append(step)
        app_page.screenshot(path=ARTIFACTS / f"{test_name}-{len(steps):02d}-{step}.png", full_page=True)

    return save


@pytest.fixture
def drawings_store(app_url, models_dir):
    """The server's drawings database."""
    return DrawingStore(models_dir.parent / DRAWINGS_FILE)
