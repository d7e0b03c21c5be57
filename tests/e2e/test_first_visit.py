"""The first visit to a server that has just started: the Draw page is there at once, and says
"Loading the model…" where the reading will be while TensorFlow and the model load."""

import time
from pathlib import Path

from playwright.sync_api import expect

from digit_app.ui.resources import LOADING_MESSAGE
from tests.e2e import app_driver
from tests.e2e.conftest import ARTIFACTS, DRAWINGS_FILE
from tests.e2e.test_draw_page import ONE

POLL_MS = 20
SLOW_TENSORFLOW = Path(__file__).parent / "slow_tensorflow"  # its sitecustomize makes the model load slowly


def test_the_draw_page_shows_at_once_while_the_model_loads(browser, models_dir, screenshot):
    env = {"DIGIT_APP_MODELS": str(models_dir), "DIGIT_APP_DRAWINGS_DB": str(models_dir.parent / DRAWINGS_FILE),
           "PYTHONPATH": str(SLOW_TENSORFLOW)}
    with app_driver.AppServer(ARTIFACTS / "streamlit-first-visit.log", env=env) as server:
        page = app_driver.new_page(browser)
        page.goto(server.url)  # the moment the server answers, as a person opens the printed URL
        title = page.get_by_role("heading", name="Draw a digit")
        loading = page.get_by_text(LOADING_MESSAGE)
        prompt = page.get_by_text(app_driver.PROMPT_START)
        seen_loading = False
        deadline = time.monotonic() + app_driver.READING_TIMEOUT_MS / 1000
        while prompt.count() == 0 and time.monotonic() < deadline:
            if loading.count() and loading.first.is_visible():
                # Whatever is still loading, the page is there: title, canvas and pen.
                expect(title).to_be_visible(timeout=1)
                assert page.locator(app_driver.CANVAS).count(), "no canvas while the model loads"
                if not seen_loading:
                    screenshot(page, "loading")
                seen_loading = True
            page.wait_for_timeout(POLL_MS)
        expect(prompt).to_be_visible()
        screenshot(page, "ready")
        assert seen_loading, f'the first visit to a just-started server never showed "{LOADING_MESSAGE}"'
        app_driver.draw(page, ONE)
        expect(app_driver.prediction_value(page)).to_have_text("1")
        page.close()
