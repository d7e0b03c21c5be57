import threading

import keras
import numpy as np
import pytest

from digit_app import fine_tune
from digit_app.drawing_store import EvaluationSplit, to_uint8
from digit_app.evaluation import accuracy
from digit_app.settings import TrainingSettings
from digit_app.synthetic import long_flag_ones
from digit_app.training import train

DEFAULT_SETTINGS = fine_tune.fine_tune_settings("dense-128")


def evaluation_split(drawing_store):
    """The drawings split as the fine-tune job splits them."""
    return drawing_store.split_for_evaluation(fine_tune.DEFAULT_EVALUATION_FRACTION, DEFAULT_SETTINGS.seed)


@pytest.fixture(scope="module")
def base_model(small_mnist):
    """A weak but real dense-128: one epoch on 1,000 MNIST digits."""
    settings = TrainingSettings(architecture="dense-128", epochs=1, max_train_samples=1000)
    return train(settings, data=small_mnist).model


@pytest.fixture
def styled_store(drawing_store):
    for model_input in long_flag_ones(40, seed=1):
        drawing_store.add(model_input, 1)
    return drawing_store


def test_fine_tune_learns_the_style_and_reports_before_and_after(base_model, styled_store, small_mnist):
    weights_before = [weights.copy() for weights in base_model.get_weights()]
    batches, epochs = [], []
    split = styled_store.split_for_evaluation(fine_tune.DEFAULT_EVALUATION_FRACTION, 0)
    settings = fine_tune.fine_tune_settings("dense-128", epochs=5, learning_rate=1e-3, mnist_samples=2000)
    result = fine_tune.fine_tune(
        base_model, split, settings, base_model_id="tiny-base", data=small_mnist, on_batch_end=batches.append,
        on_epoch_end=lambda epoch, logs: epochs.append(epoch),
    )
    scores = result.scores

    assert scores.num_train_drawings == len(split.train_images)
    assert scores.num_evaluation_drawings == len(split.evaluation_images)
    assert scores.num_train_drawings + scores.num_evaluation_drawings == 40
    assert scores.num_mnist == 1900  # the 2,000 digits less 5% for validation
    assert scores.drawings_accuracy_before <= 0.5  # the base reads this 1 as something else
    assert scores.drawings_accuracy_after >= 0.9 and scores.drawings_accuracy_after > scores.drawings_accuracy_before
    assert scores.drawings_accuracy_after == pytest.approx(
        accuracy(result.model, split.evaluation_images, split.evaluation_labels)
    )
    assert scores.mnist_accuracy_before == pytest.approx(
        accuracy(base_model, small_mnist.x_test, small_mnist.y_test)
    )
    assert scores.mnist_accuracy_after == pytest.approx(result.training.test_accuracy)
    assert scores.mnist_accuracy_after >= scores.mnist_accuracy_before - 0.02  # not forgotten for the drawings' sake
    assert epochs == [1, 2, 3, 4, 5] and batches[-1]["epoch"] == 5
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, base_model.get_weights()))  # base untouched

    metadata = result.metadata()
    assert metadata["architecture"] == "dense-128" and metadata["epochs"] == 5
    assert len(metadata["history"]["val_loss"]) == 5 and metadata["test_accuracy"] == scores.mnist_accuracy_after
    assert metadata["fine_tuned_from"] == "tiny-base" and metadata["source"] == fine_tune.SOURCE
    assert metadata["drawings_trained_on"] == scores.num_train_drawings
    assert metadata["drawings_accuracy_before"] == scores.drawings_accuracy_before
    assert metadata["mnist_test_accuracy_after"] == scores.mnist_accuracy_after
    assert metadata["settings"]["augment"] and metadata["settings"]["learning_rate"] == 1e-3


def test_fine_tune_takes_arrays_split_as_given(base_model, small_mnist):
    learn = long_flag_ones(12, seed=2)
    check = long_flag_ones(6, seed=3)
    split = EvaluationSplit(to_uint8(learn), np.ones(12, np.uint8), to_uint8(check), np.ones(6, np.uint8))
    settings = fine_tune.fine_tune_settings("dense-128", epochs=1, mnist_samples=200)
    result = fine_tune.fine_tune(base_model, split, settings, data=small_mnist)
    assert (result.scores.num_train_drawings, result.scores.num_evaluation_drawings) == (12, 6)
    assert result.scores.base_model_id is None and result.epochs_completed == 1


def test_a_stop_event_ends_the_fine_tune_early(base_model, styled_store, small_mnist):
    stop = threading.Event()
    stop.set()
    settings = fine_tune.fine_tune_settings("dense-128", epochs=3, mnist_samples=1000)
    result = fine_tune.fine_tune(base_model, evaluation_split(styled_store), settings, data=small_mnist, stop_event=stop)
    assert result.stopped_early and result.epochs_completed == 0


def test_too_few_drawings_are_refused_with_what_to_do(base_model, drawing_store, small_mnist):
    for model_input in long_flag_ones(9, seed=4):
        drawing_store.add(model_input, 1)
    with pytest.raises(ValueError, match=r"There are 9 drawings; fine-tuning needs at least 10.*Draw page"):
        fine_tune.fine_tune(base_model, evaluation_split(drawing_store), DEFAULT_SETTINGS, data=small_mnist)


@pytest.mark.parametrize(("fraction", "empty_side"), [(0.0, "held out"), (1.0, "to learn from")])
def test_an_empty_side_of_the_split_is_refused(base_model, styled_store, small_mnist, fraction, empty_side):
    with pytest.raises(ValueError, match=f"none is {empty_side}.*Add a few more drawings"):
        fine_tune.fine_tune(base_model, styled_store.split_for_evaluation(fraction), DEFAULT_SETTINGS, data=small_mnist)


def test_a_model_of_unknown_architecture_needs_it_named():
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(10)], name="mine")
    assert fine_tune.architecture_of(keras.Sequential([keras.Input((28, 28))], name="cnn")) == "cnn"
    with pytest.raises(ValueError, match="pass architecture="):
        fine_tune.fine_tune_settings(fine_tune.architecture_of(model))
