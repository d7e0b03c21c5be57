"""Train a model in the browser, watch it learn, use it, and see the Draw page read with it."""

import re
import time

from playwright.sync_api import expect

from digit_app.training import VALIDATIONS_PER_EPOCH
from tests.e2e import app_driver
from tests.e2e.test_draw_page import ONE

LIVE_CHART = "[data-testid=stVegaLiteChart]"
# The accuracy chart's points of the validation sample, each an SVG element with its values as its label.
VALIDATION_ACCURACY_POINTS = (
    "[data-testid=stVegaLiteChart] [aria-roledescription=point][aria-label*='curve: validation sample']"
    "[aria-label*='accuracy: ']"
)
EPOCHS_INPUT = ".st-key-epochs input"
STOP_PHASES = [  # what the page says after Stop, in order; a quick job may pass one before a look
    "Stopping after the current batch",
    "Stopped at epoch",
    "Checking the model on the test set",
    "Saving the model",
]
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


def _open_train_page(page, epochs):
    app_driver.rerun_after(page, page.get_by_role("link", name="Train", exact=True).click)
    start = page.locator(".st-key-start_training button")
    expect(start).to_be_enabled()
    epochs_input = page.locator(EPOCHS_INPUT)
    epochs_input.fill(str(epochs))
    app_driver.rerun_after(page, lambda: epochs_input.press("Enter"))
    expect(epochs_input).to_have_value(str(epochs))
    return start


def test_train_one_epoch_then_use_the_new_model_on_the_draw_page(page, host, app_url, model_store, screenshot):
    start = _open_train_page(page, epochs=1)
    app_driver.rerun_after(page, page.locator(".st-key-train_size").get_by_text("1,000", exact=True).click)
    expect(page.get_by_text("Learns from 900 MNIST digits")).to_be_visible()
    screenshot(page, "settings")

    start.click()
    expect(page.get_by_text("Training…")).to_be_visible()
    expect(page.locator(".st-key-stop_training button")).to_be_visible()

    # The Train page opened afresh mid-run shows the running job's settings, read-only.
    reopened = app_driver.open_app(host, app_url, "train")  # the same person, the page opened again
    expect(reopened.locator(EPOCHS_INPUT)).to_have_value("1")  # the job's, not the form's default 5
    expect(reopened.locator(EPOCHS_INPUT)).to_be_disabled()
    expect(reopened.get_by_text("These are the running job's settings")).to_be_visible()
    screenshot(reopened, "reopened-mid-run")
    reopened.close()
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

    # The one epoch draws a validation curve: the untrained model, then each check within the epoch.
    expect(page.locator(VALIDATION_ACCURACY_POINTS)).to_have_count(1 + VALIDATIONS_PER_EPOCH)
    hovered = page.locator(VALIDATION_ACCURACY_POINTS).last
    hovered.hover(force=True)
    expect(page.locator("#vg-tooltip-element")).to_contain_text("validation sample")
    expect(page.locator("#vg-tooltip-element")).to_contain_text("batch")
    screenshot(page, "hover-on-the-validation-curve")

    # One run time: the Train page's training part is the Models page's "Training time".
    run_time = re.search(r"^Finished in (.+), of which (.+) training\.", finished.inner_text())
    assert run_time, f"the Train page does not say which part of the run was training: {finished.inner_text()!r}"
    models_page = app_driver.open_app(host, app_url, f"models?model={model_id}")
    label = models_page.locator(app_driver.METRIC_LABEL).get_by_text("Training time", exact=True)
    card = models_page.locator("[data-testid=stVerticalBlock]").filter(has_text=model_id).filter(has=label).last
    training_time = card.locator(app_driver.METRIC).filter(has=label).locator(app_driver.METRIC_VALUE)
    expect(training_time).to_have_text(run_time.group(2))
    card.scroll_into_view_if_needed()
    screenshot(models_page, "models-page-training-time")
    models_page.close()

    page.get_by_role("button", name="Use this model").click()
    expect(page.get_by_role("button", name=re.compile("In use"))).to_be_visible()
    assert model_store.active_id() == model_id

    app_driver.rerun_after(page, page.get_by_role("link", name="Draw", exact=True).click)
    expect(page.get_by_text(f"Model: {model_id} (")).to_be_visible()
    app_driver.draw(page, ONE)
    expect(app_driver.prediction_value(page)).to_have_text(re.compile(r"^\d$"))
    expect(page.locator(app_driver.DRAWN_CHART)).to_be_visible()
    screenshot(page, "draw-with-new-model")


def test_stop_answers_at_once_and_shows_each_phase(page, screenshot):
    start = _open_train_page(page, epochs=50)
    start.click()
    # Any epoch after the first (a busy page may skip one between refreshes): one whole epoch is kept.
    later_epoch = page.get_by_text(re.compile(r"^Epoch (?:[2-9]|[1-4]\d) of 50"))
    expect(later_epoch).to_be_visible(timeout=TRAINING_TIMEOUT_MS)
    stop = page.locator(".st-key-stop_training button")
    stop.click()
    clicked = time.monotonic()
    outcome = page.get_by_text(re.compile(r"^Stopped after \d+ of 50 epochs"))
    seen = {}
    while outcome.count() == 0 and time.monotonic() - clicked < TRAINING_TIMEOUT_MS / 1000:
        for phrase in STOP_PHASES:
            if phrase not in seen and page.get_by_text(phrase).count():
                seen[phrase] = time.monotonic() - clicked
                screenshot(page, "stop-" + phrase.split()[0].lower())
        page.wait_for_timeout(50)
    expect(outcome).to_be_visible()
    screenshot(page, "stopped")
    print("after Stop, first seen (s):", {phrase: round(seconds, 2) for phrase, seconds in seen.items()})
    # The page answers Stop before the job ends, and shows the job's phases that it catches in their
    # order. On a quiet machine checking the test set and saving can both begin and end between two
    # refreshes of the page; tests/test_ui_train.py checks what each phase says. "Stopped at epoch"
    # is left out of the order: it is the Stop caption under the charts, and the progress bar above
    # them names the phase too, so within one refresh the browser can show the phase first. In
    # bfloat16 the batch under way can end before the page's first refresh after Stop, and then the
    # page's first answer is a later phase than "Stopping after the current batch".
    assert seen, "the page did not answer Stop before the job ended"
    job_phases = [phrase for phrase in STOP_PHASES if phrase in seen and phrase != "Stopped at epoch"]
    assert sorted(job_phases, key=seen.get) == job_phases, f"phases out of order: {seen}"
