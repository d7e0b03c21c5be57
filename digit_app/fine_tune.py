"""Fine-tune a model on the user's own drawings, and measure whether it helped.

A few dozen drawings next to thousands of MNIST digits would barely move the weights, and
training on the drawings alone would make the model forget MNIST. So the drawings are mixed into
an MNIST subset (augmented, as the base model was trained) and each drawing is weighted so that
together they carry a fixed share of the loss (see drawing_weight).

Part of the drawings is held out (DrawingStore.split_for_evaluation: the same drawings every
time) and never trained on; the model is scored on them before and after, and on the full MNIST
test set before and after, so the user sees what was gained and what, if anything, was lost.

The training itself is digit_app.training.train: the same loop, callbacks and stop event as the
Train page and train.py.
"""

import dataclasses

import numpy as np

from digit_app.architectures import ARCHITECTURES
from digit_app.data import load_mnist
from digit_app.drawing_store import DrawingStore, EvaluationSplit, in_evaluation_part
from digit_app.settings import TrainingSettings
from digit_app.evaluation import accuracy
from digit_app.training import train

# The share of the training loss all the drawings together carry. Measured with bench/fine_tune.py
# (40 drawings of a 1 with a long flag, which the default model reads as a 7, next to 9,500 MNIST
# digits, 4 seeds): 5% teaches the style as well as 10-15% do (98-100% of 100 other drawings of it)
# and keeps more of MNIST (99.38-99.44% test accuracy, from 99.52%, against 99.24-99.37% at 10-15%,
# where MNIST's own 7s are more and more read as 1s).
DRAWINGS_LOSS_SHARE = 0.05
MAX_DRAWING_WEIGHT = 40.0  # one drawing counts at most this many MNIST digits: a few drawings must not swamp a batch
MIN_DRAWINGS = 10  # fewer cannot be split into a part to learn from and a part to check on
DEFAULT_EPOCHS = 3
DEFAULT_LEARNING_RATE = 3e-4  # a third of the usual Adam rate: adjust the weights, do not relearn them
DEFAULT_MNIST_SAMPLES = 10_000
DEFAULT_EVALUATION_FRACTION = 0.25
VALIDATION_FRACTION = 0.05  # of the MNIST subset, for the validation curve
SOURCE = "fine-tuned on the user's drawings"


def drawing_weight(num_drawings, num_mnist, share=DRAWINGS_LOSS_SHARE, cap=MAX_DRAWING_WEIGHT):
    """How many MNIST digits one drawing counts as, so that the drawings together carry `share`
    of the loss: num_drawings * weight / (num_drawings * weight + num_mnist) = share.

    At least 1 (a drawing never counts less than a digit) and at most `cap`: with very few
    drawings the share is not reached, rather than letting each one dominate the batch it is in.
    E.g. 40 drawings next to 9,500 MNIST digits: 0.05 * 9500 / (0.95 * 40) = 12.5; 10 drawings: 50,
    capped to 40.
    """
    if num_drawings <= 0:
        raise ValueError(f"num_drawings is {num_drawings!r}; expected at least 1 drawing to weigh.")
    if num_mnist < 0:
        raise ValueError(f"num_mnist is {num_mnist!r}; expected 0 or more MNIST digits.")
    if not 0 < share < 1:
        raise ValueError(f"share is {share!r}; expected a fraction of the loss above 0 and below 1.")
    weight = share * num_mnist / ((1 - share) * num_drawings)
    return float(min(cap, max(1.0, weight)))


def mnist_training_count(num_available, max_train_samples, validation_fraction):
    """How many MNIST digits train() learns from: the first max_train_samples (or all
    num_available), less the validation part it holds out."""
    subset = num_available if max_train_samples is None else min(num_available, max_train_samples)
    return subset - int(round(subset * validation_fraction))


def weighted_drawings(images, labels, settings, num_available):
    """(extra_examples for train(), metadata) that add the user's drawings to a training run on
    `num_available` MNIST digits, weighted by drawing_weight()."""
    num_mnist = mnist_training_count(num_available, settings.max_train_samples, settings.validation_fraction)
    weight = drawing_weight(len(images), num_mnist)
    return (images, labels, weight), {"drawings_included": len(images), "drawing_weight": weight}


@dataclasses.dataclass(frozen=True)
class FineTuneScores:
    """What a fine-tune did, in numbers: small and plain, for pages and the model's metadata."""

    base_model_id: str | None
    num_train_drawings: int
    num_evaluation_drawings: int  # held out, never trained on
    num_mnist: int  # MNIST digits trained on beside the drawings
    drawing_weight: float
    drawings_accuracy_before: float  # on the held-out drawings
    drawings_accuracy_after: float
    mnist_accuracy_before: float  # on the 10,000 MNIST test digits
    mnist_accuracy_after: float

    def metadata(self):
        return {
            "fine_tuned_from": self.base_model_id,
            "drawings_trained_on": self.num_train_drawings,
            "drawings_held_out": self.num_evaluation_drawings,
            "mnist_digits_trained_on": self.num_mnist,
            "drawing_weight": self.drawing_weight,
            "drawings_accuracy_before": self.drawings_accuracy_before,
            "drawings_accuracy_after": self.drawings_accuracy_after,
            "mnist_test_accuracy_before": self.mnist_accuracy_before,
            "mnist_test_accuracy_after": self.mnist_accuracy_after,
        }


@dataclasses.dataclass
class FineTuneResult:
    model: object  # the fine-tuned keras.Model
    training: object  # digit_app.training.TrainingResult
    scores: FineTuneScores

    @property
    def stopped_early(self):
        return self.training.stopped_early

    @property
    def epochs_completed(self):
        return self.training.epochs_completed

    def metadata(self, source=SOURCE):
        """What the model store keeps beside the model: train()'s metadata and the fine-tune's scores."""
        return {**self.training.metadata(source), **self.scores.metadata()}


def split_drawings(drawings, evaluation_fraction, seed):
    """An EvaluationSplit from a DrawingStore (its own stable split), an EvaluationSplit (used as
    it is), or an (images, labels) pair (split by a hash of each drawing's position)."""
    if isinstance(drawings, DrawingStore):
        return drawings.split_for_evaluation(evaluation_fraction, seed)
    if isinstance(drawings, EvaluationSplit):
        return drawings
    try:
        images, labels = drawings
    except (TypeError, ValueError):
        raise ValueError(
            f"drawings is a {type(drawings).__name__}; expected a DrawingStore, an EvaluationSplit "
            "or an (images, labels) pair."
        ) from None
    images, labels = np.asarray(images, np.uint8), np.asarray(labels, np.uint8)
    held_out = np.array([in_evaluation_part(index, evaluation_fraction, seed) for index in range(len(images))], bool)
    return EvaluationSplit(images[~held_out], labels[~held_out], images[held_out], labels[held_out])


def check_enough_drawings(split):
    """Refuse a fine-tune that could not be trained or could not be checked."""
    num_train, num_evaluation = len(split.train_images), len(split.evaluation_images)
    total = num_train + num_evaluation
    if total < MIN_DRAWINGS:
        raise ValueError(
            f"There are {total} drawings; fine-tuning needs at least {MIN_DRAWINGS}, because some are "
            "held out to check the result. Draw more digits on the Draw page and save them, or import an .npz."
        )
    if num_train == 0 or num_evaluation == 0:
        empty = "to learn from" if num_train == 0 else "held out to check the result"
        raise ValueError(
            f"Of the {total} drawings, none is {empty} (the split is fixed per drawing). "
            "Add a few more drawings on the Draw page and try again."
        )


def architecture_of(model):
    """The architecture name a model was built under (build_model names the model after it)."""
    if model.name not in ARCHITECTURES:
        raise ValueError(
            f"The model is named {model.name!r}, not one of the architectures {', '.join(ARCHITECTURES)}; "
            "pass architecture= to say which one it is."
        )
    return model.name


def fine_tune_settings(
    architecture,
    *,
    epochs=DEFAULT_EPOCHS,
    learning_rate=DEFAULT_LEARNING_RATE,
    mnist_samples=DEFAULT_MNIST_SAMPLES,
    batch_size=128,
    seed=0,
    handwriting=True,
):
    """The TrainingSettings a fine-tune trains with (validated like any training's)."""
    return TrainingSettings(
        architecture=architecture,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        validation_fraction=VALIDATION_FRACTION,
        augment=True,  # as the base was trained: MNIST is not forgotten, and each drawing is seen in many versions
        cosine_decay=True,
        seed=seed,
        max_train_samples=mnist_samples,
        handwriting=handwriting,  # generated handwriting keeps the forms people use that the drawings lack
    )


def fine_tune(
    base_model,
    drawings,
    *,
    base_model_id=None,
    architecture=None,
    epochs=DEFAULT_EPOCHS,
    learning_rate=DEFAULT_LEARNING_RATE,
    mnist_samples=DEFAULT_MNIST_SAMPLES,
    evaluation_fraction=DEFAULT_EVALUATION_FRACTION,
    drawings_loss_share=DRAWINGS_LOSS_SHARE,
    batch_size=128,
    seed=0,
    handwriting=True,
    data=None,
    on_batch_end=None,
    on_epoch_end=None,
    stop_event=None,
):
    """Train a copy of `base_model` on the user's drawings mixed with `mnist_samples` MNIST
    digits, and score it before and after on held-out drawings and on the MNIST test set.

    drawings: a DrawingStore, an EvaluationSplit, or an (images uint8, labels) pair.
    data: an Mnist to use instead of load_mnist(). The callbacks and stop_event are train()'s.
    The base model is not changed. Raises ValueError when there are too few drawings.
    """
    split = split_drawings(drawings, evaluation_fraction, seed)
    check_enough_drawings(split)
    settings = fine_tune_settings(
        architecture or architecture_of(base_model), epochs=epochs, learning_rate=learning_rate,
        mnist_samples=mnist_samples, batch_size=batch_size, seed=seed, handwriting=handwriting,
    )
    mnist = data if data is not None else load_mnist()
    num_mnist = mnist_training_count(len(mnist.x_train), mnist_samples, VALIDATION_FRACTION)
    weight = drawing_weight(len(split.train_images), num_mnist, share=drawings_loss_share)

    drawings_before = accuracy(base_model, split.evaluation_images, split.evaluation_labels)
    mnist_before = accuracy(base_model, mnist.x_test, mnist.y_test)
    training = train(
        settings,
        on_batch_end=on_batch_end,
        on_epoch_end=on_epoch_end,
        stop_event=stop_event,
        initial_model=base_model,
        extra_examples=(split.train_images, split.train_labels, weight),
        data=mnist,
    )
    scores = FineTuneScores(
        base_model_id=base_model_id,
        num_train_drawings=len(split.train_images),
        num_evaluation_drawings=len(split.evaluation_images),
        num_mnist=num_mnist,
        drawing_weight=weight,
        drawings_accuracy_before=drawings_before,
        drawings_accuracy_after=accuracy(training.model, split.evaluation_images, split.evaluation_labels),
        mnist_accuracy_before=mnist_before,
        mnist_accuracy_after=training.test_accuracy,  # train() scored the whole test set already
    )
    return FineTuneResult(model=training.model, training=training, scores=scores)
