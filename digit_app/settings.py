"""Training settings and their limits, checked in one place for the CLI and the app; and the
folders the app keeps its data in, from the environment.

Imports no TensorFlow, so that bad arguments are refused at once.
"""

import dataclasses
import os
from pathlib import Path

from digit_app.architectures import DEFAULT_ARCHITECTURE, check_architecture

MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096
HISTORY_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
MIN_VALIDATION_FRACTION = 0.01
MAX_VALIDATION_FRACTION = 0.5
MAX_AUGMENT_STRENGTH = 1.5
# The share of the loss the user's drawings carry together, when they are trained on: enough to
# teach their style, little enough to keep MNIST (measured as bench/fine_tune.py's docstring says).
DRAWINGS_LOSS_SHARE = 0.05
MAX_DRAWING_WEIGHT = 40.0  # one drawing counts at most this many MNIST digits: a few drawings must not swamp a batch
REPOSITORY = Path(__file__).resolve().parent.parent
MODELS_ENV_VAR = "DIGIT_APP_MODELS"
SHIPPED_MODELS_FOLDER = REPOSITORY / "models"
DRAWINGS_ENV_VAR = "DIGIT_APP_DRAWINGS_DB"
DEFAULT_DRAWINGS_PATH = REPOSITORY / "data" / "drawings.sqlite3"
TRAIN_LIMIT_ENV_VAR = "DIGIT_APP_TRAIN_LIMIT"


def models_folder():
    """The model store's folder: $DIGIT_APP_MODELS if set, else the repository's models/."""
    return Path(os.environ.get(MODELS_ENV_VAR) or SHIPPED_MODELS_FOLDER)


def drawings_path():
    """The drawings database: $DIGIT_APP_DRAWINGS_DB if set, else data/drawings.sqlite3 in the repository."""
    return Path(os.environ.get(DRAWINGS_ENV_VAR) or DEFAULT_DRAWINGS_PATH)


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    architecture: str = DEFAULT_ARCHITECTURE
    epochs: int = 5  # the Train page's and train.py's: a first model in minutes; pass more for a better one
    batch_size: int = 128
    learning_rate: float = 1e-3
    validation_fraction: float = 0.1
    augment: bool = False
    augment_strength: float = 1.0  # scales every augmentation range: 0.5 rotates up to half as far, and so on
    cosine_decay: bool = False
    seed: int = 0
    max_train_samples: int | None = None  # a subset of the training set, for quick runs and tests
    handwriting: bool = True  # mix generated handwriting and non-digits in (digit_app.handwriting)

    def __post_init__(self):
        check_architecture(self.architecture)
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch size", self.batch_size, 1, MAX_BATCH_SIZE)
        _check_int("seed", self.seed, 0, 2**31 - 1)
        if self.max_train_samples is not None:
            _check_int("training samples", self.max_train_samples, 20, 60000)
        if not (isinstance(self.learning_rate, (int, float)) and 0 < self.learning_rate <= 1):
            raise ValueError(f"Learning rate must be a number above 0 and at most 1, got {self.learning_rate!r}.")
        if not isinstance(self.handwriting, bool):
            raise ValueError(f"Handwriting must be True or False, got {self.handwriting!r}.")
        if not (isinstance(self.augment_strength, (int, float)) and 0 <= self.augment_strength <= MAX_AUGMENT_STRENGTH):
            raise ValueError(
                f"Augmentation strength must be a number from 0 to {MAX_AUGMENT_STRENGTH}, got {self.augment_strength!r}."
            )
        low, high = MIN_VALIDATION_FRACTION, MAX_VALIDATION_FRACTION
        if not (isinstance(self.validation_fraction, (int, float)) and low <= self.validation_fraction <= high):
            raise ValueError(
                f"Validation fraction must be between {low} and {high}, got {self.validation_fraction!r}."
            )

    def to_dict(self):
        return dataclasses.asdict(self)


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name.capitalize()} must be a whole number from {low} to {high}, got {value!r}.")


def train_limit_from_environment():
    """max_train_samples for the pages' jobs from DIGIT_APP_TRAIN_LIMIT (for tests and slow
    machines), or None when it is not set."""
    text = os.environ.get(TRAIN_LIMIT_ENV_VAR, "").strip()
    if not text:
        return None
    fix = "fix or unset it and restart the app"
    try:
        limit = int(text)
    except ValueError:
        raise ValueError(
            f"{TRAIN_LIMIT_ENV_VAR} must be a whole number of training digits, got {text!r}; {fix}."
        ) from None
    try:
        TrainingSettings(max_train_samples=limit)  # the one place that knows the limits
    except ValueError as error:
        raise ValueError(f"{TRAIN_LIMIT_ENV_VAR}: {error} Then {fix}.") from None
    return limit
