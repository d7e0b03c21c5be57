"""The shipped default reads digits as people write them and says when a drawing is no digit.

Measured on drawings it never trained on: the handwriting generator's evaluation stream (no
training draws from it) and kinds of non-digits the generator never draws. bench/accuracy.py
gives the full figures; these are floors that catch a model or a preprocessing that regresses.
"""

import numpy as np
import pytest

from digit_app import handwriting
from digit_app.inference import Predictor, temperature_of
from digit_app.model_store import DEFAULT_MODEL_ID, ModelStore
from digit_app.settings import SHIPPED_MODELS_FOLDER
from digit_app.synthetic import STYLES, draw_strokes, redraw_as_canvas

PER_FORM = 30
EVALUATION_SEED = 11
FORM_FLOOR = 0.9  # each digit form, on 30 drawings
REJECTION_FLOOR = 0.95  # of all the generator's non-digit kinds together
KIND_FLOOR = 0.8  # scribbles of every kind together, and each letter
SCRIBBLES = ["scribble", "to and fro", "scratched out"]
RESTYLED_PER_DIGIT = 100
RESTYLED_FLOOR = 0.94  # MNIST test 0s, 1s, 7s and 9s slashed, flagged, crossed, curled; a default without them read 88-92%


@pytest.fixture(scope="module")
def default_predictor():
    shipped = ModelStore(SHIPPED_MODELS_FOLDER)
    return Predictor(shipped.load(DEFAULT_MODEL_ID), DEFAULT_MODEL_ID, temperature_of(shipped, DEFAULT_MODEL_ID))


def _read(predictor, images):
    return [predictor.predict_image(image.astype(np.float32) / 255) for image in images]


@pytest.mark.parametrize("form", handwriting.form_names("digits"))
def test_every_form_is_read_as_its_digit(default_predictor, form):
    images, labels, _, _ = handwriting.generate(PER_FORM, EVALUATION_SEED, [form], split="evaluation", workers=1)
    readings = _read(default_predictor, images)
    right = np.mean([reading.is_digit and reading.digit == label for reading, label in zip(readings, labels)])
    assert right >= FORM_FLOOR, f"{form}: {right:.0%} read right"


def test_scribbles_letters_and_other_non_digits_are_answered_not_a_digit(default_predictor):
    names = handwriting.form_names("non-digits")
    images, _, form_index, _ = handwriting.generate(PER_FORM, EVALUATION_SEED, names, split="evaluation")
    rejected = np.array([not reading.is_digit for reading in _read(default_predictor, images)])
    assert rejected.mean() >= REJECTION_FLOOR
    by_kind = {name: rejected[form_index == index].mean() for index, name in enumerate(names)}
    assert np.mean([by_kind[name] for name in SCRIBBLES]) >= KIND_FLOOR, by_kind
    assert min(by_kind[name] for name in names if name.startswith("letter")) >= KIND_FLOOR, by_kind


@pytest.mark.parametrize("digit", sorted(STYLES))
def test_mnist_writers_digits_with_a_slash_a_flag_a_crossbar_or_a_curled_tail_are_read(default_predictor, mnist, digit):
    # MNIST test digits, which no training sees, re-drawn with the style added to their own strokes.
    chosen = np.flatnonzero(mnist.y_test == digit)[-RESTYLED_PER_DIGIT:]
    drawings = [redraw_as_canvas(mnist.x_test[index], np.random.default_rng([EVALUATION_SEED, index]), style_of=digit)
                for index in chosen]
    readings = [default_predictor.predict_canvas(drawing) for drawing in drawings]
    right = np.mean([reading is not None and reading.is_digit and reading.digit == digit for reading in readings])
    assert right >= RESTYLED_FLOOR, f"{digit}: {right:.0%} read right"


@pytest.mark.parametrize("width", [10, 20, 35])
def test_a_vertical_line_is_a_one_not_a_non_digit(default_predictor, width):
    prediction = default_predictor.predict_canvas(draw_strokes([[(140, 40), (140, 240)]], width=width))
    assert prediction.is_digit and prediction.digit == 1


def test_mnist_test_digits_are_hardly_ever_rejected(default_predictor, mnist):
    probabilities = np.concatenate([default_predictor.predict_batch(mnist.x_test[i : i + 2000]) for i in range(0, 10000, 2000)])
    assert probabilities.shape[1] == 11
    assert np.mean(probabilities[:, 10] > 0.5) <= 0.005
