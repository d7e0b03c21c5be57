"""The Draw page in Chromium against a real server: draw with the mouse, read the model's answer."""

import math

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e import app_driver


def _ellipse(centre_x, centre_y, radius_x, radius_y, points=28, start_degrees=-80):
    """A closed loop, drawn like a pen: from near the top, anticlockwise, a little past the start."""
    angles = np.radians(start_degrees - np.linspace(0, 370, points))
    return [(centre_x + radius_x * math.cos(a), centre_y + radius_y * math.sin(a)) for a in angles]


# Hand-made digits in canvas pixels (280 x 280), as a person draws them: one list per stroke.
ONE = [[(152, 48), (150, 100), (147, 150), (144, 200), (142, 238)]]
SEVEN = [[(78, 62), (140, 60), (204, 58), (186, 105), (166, 150), (148, 196), (134, 240)]]
ZERO = [_ellipse(140, 142, 62, 92)]
SLANTED_STROKE = [[(196, 58), (178, 120), (160, 180), (142, 240)]]  # a 1 on its own
FLAG = [[(72, 60), (130, 59), (196, 58)]]  # turns that 1 into a 7


def _prediction(page):
    return app_driver.prediction_value(page)


def _prompt(page):
    return page.get_by_text(app_driver.PROMPT_START)


@pytest.mark.parametrize(("digit", "strokes"), [("1", ONE), ("7", SEVEN), ("0", ZERO)], ids=["one", "seven", "zero"])
def test_a_drawn_digit_is_read_right(page, screenshot, digit, strokes):
    expect(_prompt(page)).to_be_visible()
    screenshot(page, "empty")
    app_driver.draw(page, strokes)
    expect(_prediction(page)).to_have_text(digit)
    expect(_prompt(page)).to_have_count(0)
    expect(page.get_by_text("What the model sees")).to_be_visible()
    expect(page.locator(app_driver.DRAWN_CHART)).to_be_visible()
    screenshot(page, f"drew-{digit}")


def test_clear_empties_the_canvas_and_shows_the_prompt(page, screenshot):
    app_driver.draw(page, ONE)
    expect(_prediction(page)).to_have_text("1")
    screenshot(page, "drew-1")
    app_driver.rerun_after(page, page.locator(".st-key-clear_canvas button").click)
    expect(_prompt(page)).to_be_visible()
    expect(_prediction(page)).to_have_count(0)
    assert not (app_driver.canvas_pixels(page)[:, :, :3] < 128).any(), "ink left on the cleared canvas"
    screenshot(page, "cleared")
    app_driver.draw(page, ZERO)  # the new canvas draws and reads like the first
    expect(_prediction(page)).to_have_text("0")


def test_undo_takes_back_the_last_stroke(page, screenshot):
    app_driver.draw(page, SLANTED_STROKE)
    expect(_prediction(page)).to_have_text("1")
    app_driver.draw(page, FLAG)
    expect(_prediction(page)).to_have_text("7")
    screenshot(page, "drew-7")
    app_driver.rerun_after(page, page.get_by_role("button", name="Undo").click)
    expect(_prediction(page)).to_have_text("1")
    screenshot(page, "undone")


def test_the_page_names_the_model_in_use(page):
    expect(page.get_by_text("Model: default-cnn (cnn, ")).to_be_visible()
    expect(page.get_by_text("% on MNIST test)")).to_be_visible()
