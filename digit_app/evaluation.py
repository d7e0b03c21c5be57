"""Scoring a model on labelled digits, for training, fine-tuning, the job processes and the pages:
the accuracy of what the Draw page would read, the confusion matrix, the most common mix-ups and
the mistakes the model was surest of.

Every prediction here goes through predict(), in batches of PREDICT_BATCH_SIZE.
"""

import dataclasses
import math

import numpy as np

from digit_app.calibration import with_temperature

PREDICT_BATCH_SIZE = 1024  # large enough to keep the CPU busy, small enough for a few MB of activations
NUM_MISCLASSIFIED = 24
CANVAS_SET_PER_FORM = 20  # held-out drawings of each digit form: 540 digits, a point of accuracy is 5 of them
CANVAS_SET_SEED = 0


@dataclasses.dataclass(frozen=True)
class Misclassified:
    images: np.ndarray  # (N, 28, 28) uint8 test digits
    predicted: np.ndarray  # (N,) what the model read
    true: np.ndarray  # (N,) the label
    confidence: np.ndarray  # (N,) the model's probability for its (wrong) reading


def to_model_input(images):
    """uint8 MNIST images -> the float32 [0, 1] input every model takes."""
    return np.asarray(images, np.float32) / 255.0


def predict(model, images):
    """The model's probabilities (N, classes) for uint8 images (N, 28, 28)."""
    return model.predict(to_model_input(images), batch_size=PREDICT_BATCH_SIZE, verbose=0)


def accuracy(model, images, labels):
    """The share of images (uint8, N x 28 x 28) the model reads as their label."""
    if len(images) == 0:
        return math.nan
    return float(np.mean(predict(model, images).argmax(axis=1) == np.asarray(labels)))


def evaluate_readings(model, temperature, images, labels):
    """(loss, accuracy) on uint8 images: the accuracy of what the Draw page would read (a digit
    answered "not a digit" is wrong), and the cross-entropy of the calibrated probabilities."""
    return score_readings(predict(model, images), temperature, labels)


def score_readings(probabilities, temperature, labels):
    """evaluate_readings on the model's probabilities as it gives them (predict)."""
    from digit_app.inference import readings  # imports TensorFlow: not for the pages that only count mistakes

    probabilities = with_temperature(probabilities, temperature)
    labels = np.asarray(labels, np.int64)
    loss = -np.mean(np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, 1.0)))
    return float(loss), float(np.mean(readings(probabilities) == labels))


def canvas_accuracy(model, temperature):
    """The accuracy of what the Draw page would read on the canvas evaluation set: drawings of
    every digit form from the handwriting generator's evaluation stream, which no training draws
    from. It compares models trained with and without generated handwriting on the same digits."""
    from digit_app import handwriting  # draws with Pillow: only needed once a model is trained

    images, labels, _, _ = handwriting.cached(
        CANVAS_SET_PER_FORM, CANVAS_SET_SEED, handwriting.form_names("digits"), split="evaluation"
    )
    return evaluate_readings(model, temperature, images, labels)[1]


def confusion_matrix(true_labels, predicted_labels, num_classes=10):
    """counts[true, predicted]."""
    pairs = np.asarray(true_labels, np.int64) * num_classes + np.asarray(predicted_labels, np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def most_common_mistakes(matrix, count=3):
    """[(true digit, predicted digit, times)] of the largest off-diagonal cells, largest first."""
    matrix = np.asarray(matrix)
    mistakes = [
        (true, predicted, int(matrix[true, predicted]))
        for true in range(len(matrix))
        for predicted in range(len(matrix))
        if true != predicted and matrix[true, predicted] > 0
    ]
    return sorted(mistakes, key=lambda mistake: -mistake[2])[:count]


def figures_on_test_set(probabilities, x_test, y_test, num_misclassified=NUM_MISCLASSIFIED):
    """(confusion matrix, the most confident mistakes) on the test set, from a model's probabilities
    on x_test as predict gives them (a training keeps them: TrainingResult.test_probabilities)."""
    predicted = probabilities.argmax(axis=1)  # 10 is "not a digit", on a model that can answer it
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_test)
    # The mistakes the model was surest of are the ones worth showing: often they are odd or mislabelled digits.
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:num_misclassified]
    mistakes = Misclassified(
        images=np.array(x_test[chosen], np.uint8),
        predicted=predicted[chosen],
        true=np.array(y_test)[chosen],
        confidence=confidence[chosen],
    )
    return confusion_matrix(y_test, predicted, num_classes=probabilities.shape[1]), mistakes
