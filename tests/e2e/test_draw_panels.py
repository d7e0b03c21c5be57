"""The Draw page's panels in Chromium: "Inside the model" explains a drawn 7 on its stroke pixels,
"Compare models on this drawing" reads it with every saved model, and a finger draws on a phone."""

import io

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from digit_app import inside
from digit_app.ui import compare_panel, inside_panel
from digit_app.ui.draw import PIXEL_SCALE
from tests.e2e import app_driver
from tests.e2e.test_draw_page import SEVEN

PHONE = {"width": 390, "height": 844}
DEFAULT_MODEL_LAYERS = ("conv_32a", "conv_32b", "conv_64a", "conv_64b", "dense_256")
MODEL_INPUT_IMAGE = "[data-testid=stImage]:has-text('What the model sees') img"
INK_LEVEL = 60  # of 255 in "What the model sees": a pixel with this much ink is part of a stroke
STRONGEST = 20


def _open(page, label):
    app_driver.rerun_after(page, page.get_by_text(label, exact=True).click)


def _image(page, selector):
    """The pixels of the first image matching selector, as the server sent them."""
    source = page.locator(selector).first.evaluate("image => image.src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(source).body())).convert("RGB"))


def test_inside_the_model_shows_saliency_on_the_strokes_and_every_layer(page, screenshot):
    app_driver.draw(page, SEVEN)
    expect(app_driver.prediction_value(page)).to_have_text("7")
    _open(page, "Inside the model")
    saliency_picture = page.locator(f".st-key-{inside_panel.SALIENCY_KEY} img")
    expect(saliency_picture).to_be_visible()
    for name in DEFAULT_MODEL_LAYERS:
        layer = page.locator(f".st-key-{inside_panel.LAYER_KEY_PREFIX}{name}")
        expect(layer.locator("img" if name.startswith("conv") else app_driver.DRAWN_CHART)).to_be_visible()
    expect(page.get_by_text("Occlusion.", exact=False)).to_be_visible()
    screenshot(page, "inside-the-model")

    strength = inside.saliency_strength(_image(page, f".st-key-{inside_panel.SALIENCY_KEY} img"))
    seen = _image(page, MODEL_INPUT_IMAGE)[PIXEL_SCALE // 2 :: PIXEL_SCALE, PIXEL_SCALE // 2 :: PIXEL_SCALE, 0]
    stroke = seen >= INK_LEVEL
    assert stroke.sum() > 40, "no stroke in what the model sees"
    assert strength.max() > 0.9, "the saliency map is blank"
    assert strength[stroke].mean() > 5 * strength[~stroke].mean()
    strongest = np.argsort(strength, axis=None)[::-1][:STRONGEST]
    assert stroke.ravel()[strongest].all(), "a strongest saliency pixel lies off the stroke"


def test_compare_shows_one_reading_per_saved_model(page, model_store, screenshot):
    app_driver.draw(page, SEVEN)
    expect(app_driver.prediction_value(page)).to_have_text("7")
    _open(page, "Compare models on this drawing")
    saved = [meta["id"] for meta in model_store.list() if "broken" not in meta]
    cards = page.locator(f"[class*=st-key-{compare_panel.CARD_KEY_PREFIX}]")
    if len(saved) > compare_panel.BEST_SHOWN + 1:  # other tests have saved models: show all of them
        expect(cards).to_have_count(compare_panel.BEST_SHOWN + 1)
        app_driver.rerun_after(page, page.get_by_text(f"Show all {len(saved)} models").click)
    expect(cards).to_have_count(len(saved))
    for model_id in saved:
        card = page.locator(f".st-key-{compare_panel.CARD_KEY_PREFIX}{model_id}")
        expect(card.locator(app_driver.DRAWN_CHART)).to_be_visible()
        expect(card).to_contain_text("%")
    expect(page.locator(f".st-key-{compare_panel.CARD_KEY_PREFIX}default-cnn")).to_contain_text("7")
    screenshot(page, "compare")


def test_a_finger_drawing_on_a_phone_is_read(browser, app_url, screenshot):
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True, device_scale_factor=2)
    try:
        page = app_driver.open_app(context, app_url)
        box = app_driver.canvas_box(page)
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], f"the canvas {box} overflows the phone"
        app_driver.draw(page, SEVEN, with_finger=True)
        reading = app_driver.prediction_value(page)
        expect(reading).to_have_text("7")
        assert reading.bounding_box()["y"] > box["y"] + box["height"], "the reading is not under the canvas"
        screenshot(page, "phone")
    finally:
        context.close()
