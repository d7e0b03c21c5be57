"""Learning from the user, in Chromium against a real server: correct a reading on the Draw page,
find the drawing on My drawings, fine-tune on the drawings and see the before/after scores."""

import re

import numpy as np
from playwright.sync_api import expect

from digit_app import fine_tune_verdict
from digit_app.drawing_store import to_uint8
from digit_app.fine_tune import FineTuneScores
from digit_app.synthetic import long_flag_ones
from tests.e2e import app_driver

SEVEN = [[(78, 62), (140, 60), (204, 58), (186, 105), (166, 150), (148, 196), (134, 240)]]
FINE_TUNE_TIMEOUT_MS = 300_000  # 10,000 MNIST digits and the drawings, 3 epochs, on 2 busy cores


def _scores_from(meta):
    """The fine-tune's scores as saved beside the model (FineTuneScores.metadata, read back)."""
    return FineTuneScores(
        base_model_id=meta["fine_tuned_from"], num_train_drawings=meta["drawings_trained_on"],
        num_evaluation_drawings=meta["drawings_held_out"], num_mnist=meta["mnist_digits_trained_on"],
        drawing_weight=meta["drawing_weight"], drawings_accuracy_before=meta["drawings_accuracy_before"],
        drawings_accuracy_after=meta["drawings_accuracy_after"],
        mnist_accuracy_before=meta["mnist_test_accuracy_before"],
        mnist_accuracy_after=meta["mnist_test_accuracy_after"],
    )


def test_correct_a_reading_see_it_kept_and_fine_tune_on_it(
    host, app_url, screenshot, tmp_path, drawings_store, model_store
):
    page = app_driver.open_app(host, app_url)  # the host: a visitor may keep only a few drawings here
    app_driver.canvas_box(page)
    app_driver.draw(page, SEVEN)
    expect(app_driver.prediction_value(page)).to_have_text("7")
    wrong_label = "4"  # any digit but the reading: the answer is the user's to give
    screenshot(page, "drew-7")
    pill = page.locator(".st-key-correct_reading button").filter(has_text=wrong_label)
    app_driver.rerun_after(page, pill.click)
    expect(page.get_by_text(app_driver.PROMPT_START)).to_be_visible()  # kept, and the canvas is clear again
    screenshot(page, "corrected")

    page.goto(f"{app_url}/my_drawings")
    expect(page.get_by_text("read as 7")).to_be_visible()
    screenshot(page, "kept-on-my-drawings")

    # Fine-tuning needs more drawings than one test can draw by hand: import the rest.
    archive = tmp_path / "ones.npz"
    np.savez(archive, images=to_uint8(long_flag_ones(40, seed=0)), labels=np.ones(40, np.uint8))
    page.get_by_text("Export, import, delete all").click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(archive)
    app_driver.rerun_after(page, page.locator(".st-key-import button").click)
    expect(app_driver.metric_value(page, "Drawings")).to_have_text("41")
    # Imported drawings are read by the model in use, so they count among its mistakes.
    imported = [drawing for drawing in drawings_store.list() if drawing.source == "import"]
    assert len(imported) == 40 and all(drawing.predicted is not None for drawing in imported)
    expect(app_driver.metric_value(page, "The model got wrong")).to_have_text(
        str(drawings_store.count(wrong_only=True))
    )
    screenshot(page, "imported")
    app_driver.wait_until_idle(page)
    app_driver.rerun_after(page, page.get_by_role("button", name="Fine-tune on my drawings").click)
    held_out = app_driver.metric_value(page, "Your held-out drawings")
    expect(held_out).to_be_visible(timeout=FINE_TUNE_TIMEOUT_MS)
    expect(held_out).to_contain_text("%")
    expect(page.get_by_text("Before: ").first).to_be_visible()
    expect(app_driver.metric_value(page, "MNIST test digits")).to_contain_text("%")
    # A change is shown as the figures round, with no arrow for none; 8 held-out drawings are too few to tell.
    deltas = page.locator("[data-testid=stMetricDelta]")
    for text in deltas.all_inner_texts():
        assert re.fullmatch(r"no change|[+-]\d+\.\d+ points", text.strip()), text
        assert not re.fullmatch(r"[+-]0\.0+ points", text.strip()), f"no change shown as a change: {text!r}"
    saved_as = page.get_by_text(re.compile(r"Saved as `?[\w-]+`?\.$")).first.inner_text()
    meta = model_store.metadata(re.search(r"Saved as `?([\w-]+)`?\.$", saved_as).group(1))
    verdict = fine_tune_verdict.judge(_scores_from(meta))
    too_small_note = page.get_by_text("The held-out part is too small to tell")
    expect(too_small_note).to_have_count(1 if verdict.held_out_too_small else 0)
    expect(page.get_by_text(re.compile(r"^MNIST accuracy fell by"))).to_have_count(len(verdict.warnings))
    expect(page.get_by_text(re.compile(r"\b1 drawings\b"))).to_have_count(0)
    screenshot(page, "fine-tuned")
    page.close()
