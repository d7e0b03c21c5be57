"""The Draw page in Chromium against a real server: draw with the mouse, read the model's answer."""

import math
import re

import numpy as np
import pytest
from playwright.sync_api import expect

from digit_app.ui.draw import NOT_A_DIGIT
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
DOT = [[(140, 140), (142, 141)]]
PEN_WIDTH_SLIDER = ".st-key-stroke_width input[type=range]"
QUICK_PRESSES = 20


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


def test_saved_shows_at_once_and_goes_with_the_next_drawing(page, screenshot, drawings_store):
    app_driver.draw(page, SEVEN)
    expect(_prediction(page)).to_have_text("7")
    app_driver.rerun_after(page, page.get_by_role("button", name="Right, it is a 7").click)
    saved = page.get_by_text(re.compile(r"^Saved drawing #\d+ \(right\)"))
    expect(saved).to_be_visible()  # at once, on the cleared canvas, not one drawing late
    expect(_prompt(page)).to_be_visible()
    screenshot(page, "saved")
    drawings_store.delete(int(re.search(r"#(\d+)", saved.inner_text()).group(1)))  # others count drawings
    app_driver.draw(page, ONE)
    expect(_prediction(page)).to_have_text("1")
    expect(saved).to_have_count(0)
    screenshot(page, "next-drawing")


@pytest.mark.parametrize("key", ["ArrowRight", "ArrowLeft", "ArrowRight"], ids=["wider", "narrower", "wider-again"])
def test_quick_pen_width_changes_keep_the_strokes_and_their_reading(page, screenshot, key):
    app_driver.draw(page, ONE)
    expect(_prediction(page)).to_have_text("1")
    ink_before = app_driver.canvas_pixels(page)
    slider = page.locator(PEN_WIDTH_SLIDER)
    slider.focus()
    for _ in range(QUICK_PRESSES):  # about as fast as a held-down key repeats
        page.keyboard.press(key)
        page.wait_for_timeout(30)
    slider.blur()
    page.wait_for_timeout(1_000)  # the canvas sends a reloaded drawing after the last rerun
    app_driver.wait_until_idle(page)
    screenshot(page, "after-pen-changes")
    assert np.array_equal(app_driver.canvas_pixels(page), ink_before), "the pen change wiped or changed the strokes"
    expect(_prediction(page)).to_have_text("1")
    app_driver.draw(page, FLAG)  # and the new pen draws on the same drawing
    ink_after = app_driver.canvas_pixels(page)[:, :, :3].min(axis=2) < 128
    ink_kept = ink_before[:, :, :3].min(axis=2) < 128
    assert (ink_after >= ink_kept).all() and ink_after.sum() > ink_kept.sum(), "the new stroke replaced the old ones"
    # Read again: a 7, or with a 40 px pen perhaps no digit at all; either way a reading of the new drawing.
    expect(_prediction(page).or_(page.get_by_text(NOT_A_DIGIT))).to_be_visible()


def test_a_dot_too_small_to_read_says_so(page, screenshot):
    app_driver.draw(page, DOT)
    expect(page.get_by_text("Too small to read; draw bigger")).to_be_visible()
    expect(_prediction(page)).to_have_count(0)
    expect(_prompt(page)).to_have_count(0)
    screenshot(page, "dot")
