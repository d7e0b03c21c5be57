"""Fine-tune a model on the user's own drawings, and measure whether it helped.

A few dozen drawings next to thousands of MNIST digits would barely move the weights, and
training on the drawings alone would make the model forget MNIST. So the drawings are mixed into
an MNIST subset (augmented, as the base model was trained) and each drawing is weighted so that
together they carry a fixed share of the loss (digit_app.training.drawing_weight).

Part of the drawings is held out (DrawingStore.split_for_evaluation: the same drawings every
time) and never trained on; the model is scored on them before and after, and on the full MNIST
test set before and after, so the user sees what was gained and what, if anything, was lost.

The training itself is digit_app.training.train: the same loop, callbacks and stop event as the
Train page and train.py.
"""

import dataclasses

from digit_app.architectures import ARCHITECTURES
from digit_app.data import load_mnist
from digit_app.evaluation import accuracy
from digit_app.settings import DRAWINGS_LOSS_SHARE, TrainingSettings
from digit_app.training import train

MIN_DRAWINGS = 10  # fewer cannot be split into a part to learn from and a part to check on
DEFAULT_EPOCHS = 3
DEFAULT_LEARNING_RATE = 3e-4  # a third of the usual Adam rate: adjust the weights, do not relearn them
DEFAULT_MNIST_SAMPLES = 10_000
DEFAULT_EVALUATION_FRACTION = 0.25
VALIDATION_FRACTION = 0.05  # of the MNIST subset, for the validation curve
SOURCE = "fine-tuned on the user's drawings"


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
            "pass architecture= to fine_tune_settings to say which one it is."
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


def fine_tune(base_model, split, settings, *, base_model_id=None, data=None, on_batch_end=None, on_epoch_end=None,
              stop_event=None, drawings_loss_share=DRAWINGS_LOSS_SHARE):
    """Train a copy of `base_model` with `settings` (fine_tune_settings) on the drawings of
    split.train_images mixed with MNIST, and score it before and after on the held-out drawings
    and on the MNIST test set.

    split: an EvaluationSplit (e.g. DrawingStore.split_for_evaluation). data: an Mnist to use
    instead of load_mnist(). The callbacks, stop_event and drawings_loss_share are train()'s.
    The base model is not changed. Raises ValueError when there are too few drawings.
    """
    check_enough_drawings(split)
    mnist = data if data is not None else load_mnist()
    drawings_before = accuracy(base_model, split.evaluation_images, split.evaluation_labels)
    mnist_before = accuracy(base_model, mnist.x_test, mnist.y_test)
    training = train(
        settings,
        on_batch_end=on_batch_end,
        on_epoch_end=on_epoch_end,
        stop_event=stop_event,
        initial_model=base_model,
        drawings=(split.train_images, split.train_labels),
        drawings_loss_share=drawings_loss_share,
        data=mnist,
    )
    scores = FineTuneScores(
        base_model_id=base_model_id,
        num_train_drawings=len(split.train_images),
        num_evaluation_drawings=len(split.evaluation_images),
        num_mnist=training.num_mnist,
        drawing_weight=training.drawing_weight,
        drawings_accuracy_before=drawings_before,
        drawings_accuracy_after=accuracy(training.model, split.evaluation_images, split.evaluation_labels),
        mnist_accuracy_before=mnist_before,
        mnist_accuracy_after=training.test_accuracy,  # train() scored the whole test set already
    )
    return FineTuneResult(model=training.model, training=training, scores=scores)
