"""A fast, thread-safe predictor: one model loaded once, one compiled call per drawing."""

import dataclasses

import numpy as np
import tensorflow as tf

from digit_app import store
from digit_app.preprocess import canvas_to_mnist


@dataclasses.dataclass(frozen=True)
class Prediction:
    digit: int
    probabilities: np.ndarray  # (10,) float32, sums to 1
    model_input: np.ndarray  # (28, 28) float32 in [0, 1], what the model saw

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

    def __init__(self, model, model_id=None):
        self.model = model
        self.model_id = model_id
        self._call = tf.function(
            lambda images: model(images, training=False),
            input_signature=[tf.TensorSpec([None, 28, 28], tf.float32)],
            autograph=False,
        )
        self._call(tf.zeros([1, 28, 28]))  # trace now, not on the first user's stroke

    @classmethod
    def for_active_model(cls, model_store=None):
        model_id, model = (model_store or store.default_store).resolve_active()
        return cls(model, model_id)

    def predict_batch(self, images):
        """Probabilities (N, 10) for images (N, 28, 28): uint8 0-255 as in MNIST, or floats in [0, 1]."""
        images = np.asarray(images)
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"Expected images of shape (N, 28, 28), got {images.shape}.")
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        elif np.issubdtype(images.dtype, np.floating):
            images = images.astype(np.float32, copy=False)
        else:
            raise ValueError(f"Expected uint8 or float images, got dtype {images.dtype}.")
        return self._call(tf.constant(images)).numpy()

    def predict_image(self, model_input):
        """A Prediction for one (28, 28) float32 model input."""
        probabilities = self.predict_batch(model_input[None])[0]
        return Prediction(int(np.argmax(probabilities)), probabilities, model_input)

    def predict_canvas(self, rgba):
        """A Prediction for a canvas image (H, W, 4) uint8, or None when there is nothing to read."""
        model_input = canvas_to_mnist(rgba)
        if model_input is None:
            return None
        return self.predict_image(model_input)
