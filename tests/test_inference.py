import concurrent.futures

import numpy as np
import pytest

from digit_app.architectures import build_model
from digit_app.inference import Predictor, temperature_of
from digit_app.settings import TrainingSettings
from digit_app.synthetic import draw_strokes, mnist_to_canvas
from digit_app.training import train

ONE = [[(140, 40), (140, 240)]]


@pytest.fixture(scope="module")
def predictor(small_mnist):
    result = train(TrainingSettings("dense-128", epochs=3), data=small_mnist)
    return Predictor(result.model, "small")


def test_empty_canvas_gives_none(predictor):
    assert predictor.predict_canvas(np.zeros((280, 280, 4), np.uint8)) is None


def test_a_drawing_gives_digit_probabilities_and_model_input(predictor):
    prediction = predictor.predict_canvas(draw_strokes(ONE))
    assert isinstance(prediction.digit, int) and 0 <= prediction.digit <= 9
    assert prediction.probabilities.shape == (10,)
    # The digits' probabilities and "not a digit" (this model has that 11th output) make up the whole.
    assert prediction.can_tell_non_digits
    assert prediction.probabilities.sum() + prediction.not_digit_probability == pytest.approx(1, abs=1e-5)
    assert prediction.model_input.shape == (28, 28) and prediction.model_input.dtype == np.float32
    assert prediction.confidence == prediction.probabilities.max()
    assert [d for d, _ in prediction.top(2)][0] == prediction.digit


def test_canvas_and_batch_agree_with_the_keras_model(predictor, small_mnist):
    images = small_mnist.x_test[:50]
    batch = predictor.predict_batch(images)
    direct = predictor.model(images.astype(np.float32) / 255, training=False).numpy()
    np.testing.assert_allclose(batch, direct, atol=1e-5)
    assert (batch.argmax(1) == small_mnist.y_test[:50]).mean() > 0.8


def test_many_threads_get_the_same_answers_as_one(predictor, small_mnist):
    canvases = [mnist_to_canvas(image) for image in small_mnist.x_test[:40]]
    alone = [predictor.predict_canvas(c).probabilities for c in canvases]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda c: predictor.predict_canvas(c).probabilities, canvases * 4))
    for i, probabilities in enumerate(together):
        np.testing.assert_array_equal(probabilities, alone[i % len(canvases)])


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((28, 28), np.float32), "shape"),
        (np.zeros((2, 28, 27), np.float32), "shape"),
        (np.zeros((2, 28, 28), np.int64), "dtype"),
    ],
)
def test_malformed_batches_are_refused(predictor, images, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict_batch(images)


def test_for_active_model_uses_the_store(store, predictor):
    store.save(predictor.model, {"architecture": "dense-128"}, model_id="default-cnn")
    active = Predictor.for_active_model(store)
    assert active.model_id == "default-cnn"
    canvas = draw_strokes(ONE)
    np.testing.assert_allclose(
        active.predict_canvas(canvas).probabilities, predictor.predict_canvas(canvas).probabilities, atol=1e-6
    )


def _model_that_always_answers(class_index, num_classes):
    """A real Keras model whose output layer is set to answer one class whatever it sees."""
    model = build_model("dense-128", seed=0, num_classes=num_classes)
    kernel, bias = model.get_layer("probabilities").get_weights()
    bias[:] = -10.0
    bias[class_index] = 10.0
    model.get_layer("probabilities").set_weights([kernel * 0, bias])
    return model


def test_a_model_with_a_not_a_digit_output_answers_it():
    prediction = Predictor(_model_that_always_answers(10, 11)).predict_canvas(draw_strokes(ONE))
    assert prediction.can_tell_non_digits and not prediction.is_digit
    assert prediction.not_digit_probability > 0.99


def test_a_ten_output_model_reads_everything_as_a_digit_and_says_it_cannot_tell():
    prediction = Predictor(_model_that_always_answers(3, 10)).predict_canvas(draw_strokes(ONE))
    assert prediction.is_digit and not prediction.can_tell_non_digits
    assert prediction.digit == 3 and prediction.not_digit_probability == 0.0


def test_the_temperature_softens_confidence_without_changing_the_reading():
    model = _model_that_always_answers(4, 11)
    sure = Predictor(model).predict_canvas(draw_strokes(ONE))
    softened = Predictor(model, temperature=4.0).predict_canvas(draw_strokes(ONE))
    assert softened.digit == sure.digit == 4
    assert softened.confidence < sure.confidence


def test_the_temperature_comes_from_the_metadata_and_defaults_to_one(store, tiny_trained_model):
    store.save(tiny_trained_model.model, {"temperature": 1.7}, model_id="calibrated")
    store.save(tiny_trained_model.model, {}, model_id="older")
    assert temperature_of(store, "calibrated") == 1.7
    assert temperature_of(store, "older") == 1.0
    store.activate("calibrated")
    assert Predictor.for_active_model(store).temperature == 1.7
