"""Jobs in the real app: a training outlives a killed server, and the restarted page follows it and
stops it; a sweep shows its trials live on the Train page."""

import re
import shutil

from playwright.sync_api import expect

from digit_app.model_store import ACTIVE_FILE
from tests.e2e import app_driver
from tests.e2e.conftest import ARTIFACTS

JOB_TIMEOUT_MS = 300_000
# cnn on 4,500 digits: 2.5 s to 30 s an epoch on the machines seen, so 50 epochs outlast a server
# restart by far on any of them; the test stops the job once the restarted page has shown it running.
RESTART_TRAIN_LIMIT = "5000"
RESTART_EPOCHS = "50"


def open_train_page(browser, url):
    page = app_driver.open_app(browser, url)
    app_driver.rerun_after(page, page.get_by_role("link", name="Train", exact=True).click)
    return page


def test_a_training_outlives_a_killed_server_and_the_restarted_page_follows_and_stops_it(
    browser, models_dir, tmp_path, screenshot
):
    models = tmp_path / "models"  # its own store: the job folder must not mix with other tests' jobs
    shutil.copytree(models_dir, models, ignore=shutil.ignore_patterns(".tmp-*", ACTIVE_FILE, "jobs", "sweeps.journal*"))
    env = {"DIGIT_APP_MODELS": str(models), "DIGIT_APP_TRAIN_LIMIT": RESTART_TRAIN_LIMIT,
           "DIGIT_APP_DRAWINGS_DB": str(tmp_path / "drawings.sqlite3")}
    port = app_driver.free_port()
    first_server = app_driver.AppServer(ARTIFACTS / "restart-first-server.log", env=env, port=port)
    with first_server:
        page = open_train_page(browser, first_server.url)
        epochs = page.locator(".st-key-epochs input")
        epochs.fill(RESTART_EPOCHS)
        app_driver.rerun_after(page, lambda: epochs.press("Enter"))
        page.locator(".st-key-start_training button").click()
        expect(page.get_by_text(re.compile(r"^Epoch 2 of 50 · batch"))).to_be_visible(timeout=JOB_TIMEOUT_MS)
        screenshot(page, "before-the-kill")
        first_server.process.kill()  # no clean shut-down: as a crash or an OOM kill would do
        first_server.process.wait()
        page.close()

    with app_driver.AppServer(ARTIFACTS / "restart-second-server.log", env=env, port=port) as second_server:
        page = open_train_page(browser, second_server.url)
        expect(page.get_by_text("Training…")).to_be_visible()
        progress = page.get_by_text(re.compile(r"^Epoch \d+ of 50 · batch"))
        expect(progress).to_be_visible()
        screenshot(page, "followed-after-the-restart")
        # Whoever started it left with the first server: the host stops it for them, once asked.
        page.locator(".st-key-stop_training button").click()
        page.locator(".st-key-confirm_stop_training button").click()
        stopped = page.get_by_text(re.compile(r"^Stopped after \d+ of 50 epochs"))
        expect(stopped).to_be_visible(timeout=JOB_TIMEOUT_MS)
        stopped.scroll_into_view_if_needed()
        screenshot(page, "stopped-after-the-restart")
        model_id = re.search(r"saved as (\S+?)\.?$", stopped.inner_text()).group(1).strip("`")
        assert (models / f"{model_id}.keras").exists()
        page.close()


def test_a_sweep_shows_its_trials_live_and_links_to_the_best_model(page, screenshot):
    app_driver.rerun_after(page, page.get_by_role("link", name="Train", exact=True).click)
    page.get_by_role("tab", name="Sweep").click()
    trials = page.locator(".st-key-sweep_trials input")
    trials.fill("5")
    app_driver.rerun_after(page, lambda: trials.press("Enter"))
    page.locator(".st-key-start_sweep button").click()
    expect(page.get_by_text(re.compile(r"^Sweep sweep-\d{8}-\d{6}…"))).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"^2 of 5 trials done"))).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator("[data-testid=stDataFrame]")).to_be_visible()
    expect(page.locator("[data-testid=stImage]").first).to_be_visible()
    best = page.get_by_role("link", name=re.compile(r"^Open the best model, sweep-\d{8}-\d{6}-trial-\d+"))
    expect(best).to_be_visible()
    screenshot(page, "sweep-running")

    page.locator(".st-key-stop_training button").click()  # this session's own job: stopped at once
    expect(page.get_by_text(re.compile(r"^Last sweep: sweep-"))).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"^(Stopped|Finished) after "))).to_be_visible()
    best = page.get_by_role("link", name=re.compile(r"^Open the best model, "))
    model_id = re.search(r"Open the best model, (\S+), on the Models page", best.inner_text()).group(1)
    app_driver.rerun_after(page, best.click)
    expect(page.locator("h4").first).to_contain_text(model_id)
    screenshot(page, "best-model-on-the-models-page")
