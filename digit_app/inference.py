"""A fast, thread-safe predictor: one model loaded once, one compiled call per drawing.

A model with 11 outputs also answers "not a digit" (digit_app.handwriting.NOT_A_DIGIT); one with
10, such as the notebook nets and models saved before it existed, cannot tell and reads
everything as a digit. Probabilities are calibrated with the temperature kept in the model's
metadata (digit_app.calibration).
"""

import dataclasses

import numpy as np
import tensorflow as tf

from digit_app.model_store import ModelStore
from digit_app.architectures import DIGIT_CLASSES
from digit_app.calibration import with_temperature
from digit_app.preprocess import canvas_to_mnist

# A drawing is answered "not a digit" when that (calibrated) probability is above this: when the
# model thinks it more likely than not. Chosen on validation data: against 0.7, it turns away about
# half a point more non-digits and nearly no more real digits (bench/not_a_digit_threshold.py).
NOT_A_DIGIT_ABOVE = 0.5


@dataclasses.dataclass(frozen=True)
class Prediction:
    digit: int  # the likeliest digit, even when the drawing is not a digit
    probabilities: np.ndarray  # (10,) float32: each digit's probability; with not_digit_probability they sum to 1
    model_input: np.ndarray  # (28, 28) float32 in [0, 1], what the model saw
    is_digit: bool = True
    can_tell_non_digits: bool = False  # False: the model reads everything as a digit
    not_digit_probability: float = 0.0

    @property
    def confidence(self):
        return float(self.probabilities[self.digit])

    def top(self, k=2):
        """The k likeliest digits as (digit, probability), likeliest first."""
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]


class Predictor:
    """Answers drawings with one model. Safe to call from many threads at once: the compiled
    function is traced once here, and calling it shares no mutable state."""

    def __init__(self, model, model_id=None, temperature=1.0):
        self.model = model
        self.model_id = model_id
        self.temperature = float(temperature)
        self.can_tell_non_digits = int(model.output_shape[-1]) > DIGIT_CLASSES
        self._call = tf.function(
            lambda images: model(images, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)],
            autograph=False,
        )
        self._call(tf.zeros([1, 28, 28]))  # trace now, not on the first user's stroke

    @classmethod
    def for_active_model(cls, model_store=None):
        model_store = model_store or ModelStore()
        model_id, model = model_store.resolve_active()
        return cls(model, model_id, temperature_of(model_store, model_id))

    def predict_batch(self, images):
        """Calibrated probabilities (N, classes) for images (N, 28, 28): uint8 0-255 as in MNIST,
        or floats in [0, 1]. Column 10, where there is one, is "not a digit"."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"Expected images of shape (N, 28, 28), got {images.shape}.")
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        elif np.issubdtype(images.dtype, np.floating):
            images = images.astype(np.float32, copy=False)
        else:
            raise ValueError(f"Expected uint8 or float images, got dtype {images.dtype}.")
        probabilities = self._call(tf.constant(images)).numpy()
        return probabilities if self.temperature == 1.0 else with_temperature(probabilities, self.temperature)

    def predict_image(self, model_input):
        """A Prediction for one (28, 28) float32 model input."""
        return prediction_from(self.predict_batch(model_input[None])[0], model_input)

    def predict_canvas(self, rgba):
        """A Prediction for a canvas image (H, W, 4) uint8, or None when there is nothing to read."""
        model_input = canvas_to_mnist(rgba)
        if model_input is None:
            return None
        return self.predict_image(model_input)


def temperature_of(model_store, model_id):
    """The calibration temperature in a model's metadata; 1 (as trained) when it has none."""
    try:
        temperature = model_store.metadata(model_id).get("temperature", 1.0)
    except (OSError, ValueError):
        return 1.0
    return float(temperature) if isinstance(temperature, (int, float)) and temperature > 0 else 1.0


def prediction_from(probabilities, model_input):
    """The Prediction for one row of predict_batch's probabilities (10, or 11 from a model that can
    tell non-digits) and the model input it was read from."""
    digit_probabilities, not_digit = split_readings(np.asarray(probabilities)[None])
    return Prediction(
        digit=int(np.argmax(digit_probabilities[0])),
        probabilities=digit_probabilities[0],
        model_input=model_input,
        is_digit=bool(not_digit[0] <= NOT_A_DIGIT_ABOVE),
        can_tell_non_digits=len(probabilities) > DIGIT_CLASSES,
        not_digit_probability=float(not_digit[0]),
    )


def readings(probabilities):
    """What the Draw page reads for each row of predict_batch's probabilities: the likeliest
    digit, or NOT_A_DIGIT (10) where the "not a digit" probability is above NOT_A_DIGIT_ABOVE."""
    digits, not_digit = split_readings(probabilities)
    return np.where(not_digit > NOT_A_DIGIT_ABOVE, DIGIT_CLASSES, digits.argmax(axis=1))


def split_readings(probabilities):
    """(digit probabilities (N, 10); "not a digit" probabilities (N,), 0 for a model with 10
    outputs) from predict_batch's probabilities. A digit's probability is the chance that reading
    is right, so a drawing that may be no digit shows lower confidence in any digit."""
    probabilities = np.asarray(probabilities, np.float32)
    digits = probabilities[:, :DIGIT_CLASSES]
    not_digit = probabilities[:, DIGIT_CLASSES] if probabilities.shape[1] > DIGIT_CLASSES else np.zeros(len(digits), np.float32)
    return digits, not_digit
