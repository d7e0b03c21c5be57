"""Temperature scaling and the expected calibration error."""

import numpy as np
import pytest

from digit_app.calibration import expected_calibration_error, fit_temperature, with_temperature


def _softmax(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_temperature_one_changes_nothing_and_higher_softens():
    probabilities = _softmax(np.array([[4.0, 1.0, 0.0], [0.0, 2.0, 0.5]]))
    assert np.allclose(with_temperature(probabilities, 1.0), probabilities, atol=1e-6)
    softer = with_temperature(probabilities, 2.0)
    assert (softer.max(axis=1) < probabilities.max(axis=1)).all()
    assert (softer.argmax(axis=1) == probabilities.argmax(axis=1)).all()  # the reading never changes


def test_fit_recovers_the_temperature_of_an_over_confident_model():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2.5, size=(4000, 10))
    labels = np.array([rng.choice(10, p=p) for p in _softmax(true_logits)])
    over_confident = _softmax(true_logits * 3)  # the same ranking, three times too sure
    assert fit_temperature(over_confident, labels) == pytest.approx(3.0, rel=0.1)


def test_calibration_error_is_the_gap_between_confidence_and_accuracy():
    confidences = np.full(1000, 0.9)
    assert expected_calibration_error(confidences, np.arange(1000) < 900) == pytest.approx(0.0)
    assert expected_calibration_error(confidences, np.ones(1000, bool)) == pytest.approx(0.1)


def test_fitting_on_nothing_is_refused():
    with pytest.raises(ValueError, match="no examples"):
        fit_temperature(np.zeros((0, 10)), np.zeros(0))
