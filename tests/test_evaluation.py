"""Scoring a model: the confusion matrix and its mix-ups on given tables; accuracy and the most
confident mistakes of a real tiny model."""

import numpy as np
import pytest

from digit_app.evaluation import (
    CANVAS_SET_PER_FORM, NUM_MISCLASSIFIED, accuracy, canvas_accuracy, confusion_matrix, figures_on_test_set, most_common_mistakes, predict,
)


def test_confusion_matrix_counts_true_by_predicted():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_most_common_mistakes_are_the_largest_off_diagonal_cells():
    matrix = [[50, 2, 7], [0, 40, 1], [9, 0, 30]]
    assert most_common_mistakes(matrix, count=2) == [(2, 0, 9), (0, 2, 7)]
    assert most_common_mistakes([[5, 0], [0, 5]]) == []


def test_accuracy_and_mistakes_agree_with_the_models_own_predictions(tiny_trained_model, small_mnist):
    model, images, labels = tiny_trained_model.model, small_mnist.x_test, small_mnist.y_test
    predicted = predict(model, images).argmax(axis=1)
    assert accuracy(model, images, labels) == pytest.approx(np.mean(predicted == labels))
    assert np.isnan(accuracy(model, images[:0], labels[:0]))
    matrix, mistakes = figures_on_test_set(predict(model, images), images, labels)
    assert matrix.sum() == len(labels) and np.trace(matrix) == np.sum(predicted == labels)
    assert len(mistakes.images) == min(NUM_MISCLASSIFIED, len(labels) - np.trace(matrix))
    assert np.all(mistakes.predicted != mistakes.true) and np.all(np.diff(mistakes.confidence) <= 0)


def test_canvas_accuracy_is_what_the_draw_page_reads_on_every_digit_form(tiny_trained_model):
    """The shipped default reads the canvas evaluation set nearly all right; the tiny model, trained
    one epoch on 500 digits, far less: the measure tells models apart."""
    from digit_app import handwriting
    from digit_app.inference import temperature_of
    from digit_app.model_store import DEFAULT_MODEL_ID, ModelStore
    from digit_app.settings import SHIPPED_MODELS_FOLDER

    shipped = ModelStore(SHIPPED_MODELS_FOLDER)
    default = canvas_accuracy(shipped.load(DEFAULT_MODEL_ID), temperature_of(shipped, DEFAULT_MODEL_ID))
    tiny = canvas_accuracy(tiny_trained_model.model, tiny_trained_model.temperature)
    assert CANVAS_SET_PER_FORM * len(handwriting.form_names("digits")) == 540
    assert default >= 0.98 and tiny < default - 0.1
