"""Confidence that means something: temperature scaling, and how far shown confidence is from truth.

A net trained with cross-entropy is over-sure of itself. Temperature scaling (Guo et al. 2017)
divides its log-probabilities by one number T, fitted on held-out data to minimise the negative
log-likelihood, so that readings shown at about 90% are right about 90% of the time. The reading
(the arg-max) does not change; only how sure it claims to be.
"""

import numpy as np

TEMPERATURES = np.exp(np.linspace(np.log(0.5), np.log(8.0), 121))  # the grid the fit searches
CALIBRATION_BINS = 15
SMALLEST_PROBABILITY = 1e-12


def with_temperature(probabilities, temperature):
    """Softmax(log(p) / T) over the last axis: the probabilities a model with its logits divided by
    T would give (a softmax output's logs are its logits up to a constant)."""
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), SMALLEST_PROBABILITY, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=-1, keepdims=True)).astype(np.float32)


def fit_temperature(probabilities, labels):
    """The T on TEMPERATURES that minimises the negative log-likelihood of `labels`."""
    probabilities, labels = np.asarray(probabilities), np.asarray(labels, np.int64)
    if len(labels) == 0:
        raise ValueError("Cannot fit a temperature on no examples; expected held-out probabilities and labels.")
    losses = [-np.mean(np.log(with_temperature(probabilities, t)[np.arange(len(labels)), labels] + SMALLEST_PROBABILITY)) for t in TEMPERATURES]
    return float(TEMPERATURES[int(np.argmin(losses))])


def expected_calibration_error(confidences, correct, bins=CALIBRATION_BINS):
    """The gap between confidence and accuracy, averaged over equal-width confidence bins, each
    weighted by its share of the examples."""
    confidences, correct = np.asarray(confidences, np.float64), np.asarray(correct, np.float64)
    if len(confidences) == 0:
        return float("nan")
    which = np.minimum((confidences * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            error += members.mean() * abs(confidences[members].mean() - correct[members].mean())
    return float(error)
