"""The Draw page's "Inside the model" panel for one drawing, with a real dense model from a tmp store
(AppTest; tests/e2e/test_draw_panels.py shows it for the shipped CNN in Chromium)."""

import numpy as np
from streamlit.testing.v1 import AppTest

from digit_app.inference import Prediction
from digit_app.ui.inside_panel import NO_CONVOLUTIONS, reading_and_runner_up


def _inside_page(digit_image):
    from digit_app.ui import resources
    from digit_app.ui.inside_panel import inside_panel

    predictor, _ = resources.active_predictor()
    inside_panel(predictor, predictor.predict_image(digit_image))


def test_a_dense_model_shows_its_saliency_and_units_and_says_it_has_no_maps(app_store, small_mnist):
    digit_image = small_mnist.x_test[0].astype(np.float32) / 255
    app = AppTest.from_function(_inside_page, args=(digit_image,), default_timeout=60).run()
    assert not app.exception, [exception.message for exception in app.exception]
    captions = [caption.value for caption in app.caption]
    assert captions[0].startswith("**Occlusion.**")
    assert NO_CONVOLUTIONS in captions
    assert any(caption.startswith("dense_128: the 10 strongest of 128 units") for caption in captions)
    assert len(app.get("image")) == 1  # the saliency map; a dense model has no maps
    assert len(app.get("vega_lite_chart")) == 1


def test_the_runner_up_is_the_likeliest_other_digit_and_the_reading_may_be_no_digit():
    probabilities = np.array([0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.6, 0.0, 0.0], np.float32)
    sure = Prediction(7, probabilities, np.zeros((28, 28), np.float32), True, True, 0.35)
    assert reading_and_runner_up(sure) == (7, 1)  # not "not a digit", though it is likelier
    not_digit = Prediction(7, probabilities / 4, np.zeros((28, 28), np.float32), False, True, 0.8)
    assert reading_and_runner_up(not_digit) == (10, 7)
