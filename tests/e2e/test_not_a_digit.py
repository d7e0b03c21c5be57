"""The Draw page in Chromium: a scribble is answered "not a digit"; a crossed 7 and a flagged 1,
which the model read wrong before it learnt generated handwriting, are read right."""

import pytest
from playwright.sync_api import expect

from digit_app.ui.draw import NOT_A_DIGIT
from tests.e2e import app_driver

# In canvas pixels (280 x 280), one list per stroke, in the order a pen goes.
SCRIBBLE = [[(60, 80), (200, 120), (70, 160), (210, 200), (80, 235), (190, 70), (100, 125), (185, 240), (120, 60)]]
CROSSED_SEVEN = [[(72, 62), (140, 60), (206, 58), (180, 110), (156, 165), (134, 238)], [(112, 150), (205, 146)]]
FLAGGED_ONE = [[(104, 96), (130, 72), (160, 44), (158, 140), (156, 240)]]


def _clear(page):
    app_driver.rerun_after(page, page.locator(".st-key-clear_canvas button").click)


def test_a_scribble_is_not_a_digit_and_real_forms_are_read(page, screenshot):
    app_driver.draw(page, SCRIBBLE)
    expect(page.get_by_text(NOT_A_DIGIT)).to_be_visible()
    expect(app_driver.prediction_value(page)).to_have_count(0)
    expect(page.get_by_role("button", name="Right, it is")).to_have_count(0)  # nothing to confirm
    expect(page.get_by_text("Wrong? This is a …")).to_be_visible()  # but it can still be taught
    screenshot(page, "scribble")

    for digit, strokes in [("7", CROSSED_SEVEN), ("1", FLAGGED_ONE)]:
        _clear(page)
        app_driver.draw(page, strokes)
        expect(app_driver.prediction_value(page)).to_have_text(digit)
        expect(page.get_by_text(NOT_A_DIGIT)).to_have_count(0)
        screenshot(page, f"read-{digit}")


@pytest.mark.parametrize("strokes", [[[(140, 40), (140, 240)]]], ids=["vertical line"])
def test_a_vertical_line_is_a_one(page, strokes):
    app_driver.draw(page, strokes)
    expect(app_driver.prediction_value(page)).to_have_text("1")
