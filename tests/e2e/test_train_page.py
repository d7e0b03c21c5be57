"""Train a model in the browser, watch it learn, use it, and see the Draw page read with it."""

import re

from playwright.sync_api import expect

from tests.e2e import app_driver
from tests.e2e.test_draw_page import ONE

LIVE_CHART = "[data-testid=stImage], [data-testid=stVegaLiteChart]"  # a picture or a Vega chart
TRAINING_TIMEOUT_MS = 240_000  # one epoch on the small subset, then the 10,000-digit test, on a busy machine


def _screenshot_once_learning(page, screenshot, timeout_ms=30_000):
    """A screenshot of the live chart with data in it, if the short job shows one before it ends."""
    training_loss = app_driver.metric_value(page, "Training loss")
    deadline = page.evaluate("Date.now()") + timeout_ms
    while page.evaluate("Date.now()") < deadline:
        if training_loss.count() == 0:
            return  # the job has finished: the results replace the live panel
        if re.fullmatch(r"\d+\.\d+", training_loss.first.inner_text().strip()):
            screenshot(page, "learning")
            return
        page.wait_for_timeout(100)


def test_train_one_epoch_then_use_the_new_model_on_the_draw_page(page, model_store, screenshot):
    app_driver.rerun_after(page, page.get_by_role("link", name="Train", exact=True).click)
    start = page.locator(".st-key-start_training button")
    expect(start).to_be_enabled()
    epochs = page.locator(".st-key-epochs input")
    epochs.fill("1")
    app_driver.rerun_after(page, lambda: epochs.press("Enter"))
    expect(epochs).to_have_value("1")
    screenshot(page, "settings")

    start.click()
    expect(page.get_by_text("Training…")).to_be_visible()
    expect(page.locator(".st-key-stop_training button")).to_be_visible()
    live_chart = page.locator(LIVE_CHART).first
    expect(live_chart).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    screenshot(page, "training")
    _screenshot_once_learning(page, screenshot)

    finished = page.get_by_text(re.compile(r"^Finished in "))
    expect(finished).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    model_id = re.search(r"Saved as (\S+?)\.?$", finished.inner_text()).group(1).strip("`")
    assert model_store.exists(model_id), f"the finished job names {model_id!r}, which is not in the store"
    assert model_store.active_id() == "default-cnn", "a finished job must not activate its model by itself"
    app_driver.wait_until_idle(page)
    screenshot(page, "finished")

    page.get_by_role("button", name="Use this model").click()
    expect(page.get_by_role("button", name=re.compile("In use"))).to_be_visible()
    assert model_store.active_id() == model_id

    app_driver.rerun_after(page, page.get_by_role("link", name="Draw", exact=True).click)
    expect(page.get_by_text(f"Model: {model_id} (")).to_be_visible()
    app_driver.draw(page, ONE)
    expect(app_driver.prediction_value(page)).to_have_text(re.compile(r"^\d$"))
    expect(page.locator(app_driver.DRAWN_CHART)).to_be_visible()
    screenshot(page, "draw-with-new-model")
