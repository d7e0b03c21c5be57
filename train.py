"""Train a digit model on MNIST and save it in the model store.

    python train.py --arch cnn --epochs 12 --batch-size 128 --augment --activate
    python train.py --augment --include-drawings     # and learn from the drawings saved in the app
"""

import argparse
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, exit code 2, and nothing written.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _whole_number(low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {value}")
        return value

    return parse


def _fraction(low, high, strict_low=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (low < value if strict_low else low <= value) or not value <= high:
            raise argparse.ArgumentTypeError(f"expected a number from {low} to {high}, got {text}")
        return value

    return parse


def parse_args(argv=None):
    from digit_app.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE
    from digit_app.settings import (
        MAX_BATCH_SIZE, MAX_EPOCHS, MAX_VALIDATION_FRACTION, MIN_VALIDATION_FRACTION, TrainingSettings,
    )

    defaults = TrainingSettings()
    parser = _Parser(
        prog="train.py",
        description="Train a digit model on MNIST (the 60,000 training digits, less a validation part), "
        "report its accuracy on the 10,000 test digits, and save it in the model store (models/).",
    )
    parser.add_argument(
        "--arch", choices=list(ARCHITECTURES), default=DEFAULT_ARCHITECTURE,
        help="architecture: " + "; ".join(f"{name}: {text}" for name, (text, _) in ARCHITECTURES.items())
        + f" (default {DEFAULT_ARCHITECTURE})",
    )
    parser.add_argument("--epochs", type=_whole_number(1, MAX_EPOCHS), default=defaults.epochs,
                        help=f"passes over the training set, 1 to {MAX_EPOCHS} (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=_whole_number(1, MAX_BATCH_SIZE), default=defaults.batch_size,
                        help=f"digits per training step (default {defaults.batch_size})")
    parser.add_argument("--learning-rate", type=_fraction(0, 1, strict_low=True), default=defaults.learning_rate,
                        help=f"Adam learning rate (default {defaults.learning_rate})")
    parser.add_argument("--cosine-decay", action="store_true",
                        help="decay the learning rate along a cosine to 1%% of its start by the last epoch")
    parser.add_argument("--validation-fraction", type=_fraction(MIN_VALIDATION_FRACTION, MAX_VALIDATION_FRACTION), default=defaults.validation_fraction,
                        help="part of the training set held out to measure validation loss and accuracy "
                        f"(default {defaults.validation_fraction}); the test set is never trained on")
    parser.add_argument("--augment", action="store_true",
                        help="random shifts, rotations, shear, scaling and stroke thickness, "
                        "so that the model reads drawings as well as MNIST")
    parser.add_argument("--seed", type=_whole_number(0, 2**31 - 1), default=defaults.seed,
                        help=f"random seed for reproducible runs (default {defaults.seed})")
    parser.add_argument("--max-train-samples", type=_whole_number(20, 60000), default=None,
                        help="train on only the first N training digits, for a quick try")
    parser.add_argument("--no-handwriting", dest="handwriting", action="store_false",
                        help="train on MNIST alone: no generated handwriting (the forms people write that "
                        "MNIST lacks) and no 'not a digit' output")
    parser.add_argument("--include-drawings", action="store_true",
                        help="add all your saved drawings (the My drawings page; $DIGIT_APP_DRAWINGS_DB or "
                        "data/drawings.sqlite3) to the training digits, each weighted so that together they "
                        "carry about 5%% of the loss")
    parser.add_argument("--id", default=None, help="model id to save under (default: <arch>-<date>-<time>)")
    parser.add_argument("--activate", action="store_true", help="make the new model the active one for the app")
    args = parser.parse_args(argv)
    if args.id is not None:
        from digit_app.store import default_store, validate_id

        try:
            validate_id(args.id)
        except ValueError as error:
            parser.error(str(error))
        if default_store.exists(args.id):
            parser.error(f"a model with id {args.id!r} already exists; choose another --id")
    return args


def _print_batch(progress):
    if sys.stdout.isatty():
        print(
            f"\r  epoch {progress['epoch']}/{progress['epochs']}  batch {progress['batch']}/{progress['batches']}"
            f"  loss {progress['loss']:.4f}  accuracy {progress['accuracy']:.4f}",
            end="", flush=True,
        )


class _EpochPrinter:
    def __init__(self, epochs):
        self.epochs = epochs
        self.started = time.monotonic()

    def __call__(self, epoch, logs):
        now = time.monotonic()
        print(
            f"\repoch {epoch}/{self.epochs}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}"
            f"  val_loss {logs['val_loss']:.4f}  val_accuracy {logs['val_accuracy']:.4f}"
            f"  {now - self.started:.1f}s",
            flush=True,
        )
        self.started = now


def _load_drawings():
    """(images, labels, path) of every saved drawing; exits 2 with one line when there are none
    or the database cannot be read, before anything is trained."""
    from digit_app.drawings import DrawingStore, DrawingStoreError

    drawing_store = DrawingStore()
    if not drawing_store.path.exists():  # opening it would create an empty database: nothing to read
        sys.exit(_one_line_error(_no_drawings_message(drawing_store.path)))
    try:
        images, labels = drawing_store.training_arrays()
    except DrawingStoreError as error:
        sys.exit(_one_line_error(f"--include-drawings: {error}"))
    if len(images) == 0:
        sys.exit(_one_line_error(_no_drawings_message(drawing_store.path)))
    return images, labels, drawing_store.path


def _no_drawings_message(path):
    return (
        f"--include-drawings: there are no drawings in {path}; save some on the Draw page "
        "(or import an .npz on My drawings) first, or leave out --include-drawings"
    )


def _one_line_error(message):
    print(f"train.py: error: {message}", file=sys.stderr)
    return 2


def main(argv=None):
    args = parse_args(argv)
    drawings = _load_drawings() if args.include_drawings else None
    from digit_app import store
    from digit_app.data import load_mnist
    from digit_app.personalize import DRAWINGS_LOSS_SHARE, weighted_drawings
    from digit_app.settings import TrainingSettings
    from digit_app.training import train

    settings = TrainingSettings(
        architecture=args.arch, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, validation_fraction=args.validation_fraction,
        augment=args.augment, cosine_decay=args.cosine_decay, seed=args.seed,
        max_train_samples=args.max_train_samples, handwriting=args.handwriting,
    )
    extra_examples, extra_metadata = None, {}
    if drawings is not None:
        images, labels, path = drawings
        num_available = len(load_mnist().x_train)  # cached: train() gets the same arrays
        extra_examples, extra_metadata = weighted_drawings(images, labels, settings, num_available)
        weight = extra_examples[2]
        print(f"Including {len(images)} of your drawings from {path}, each counted {weight:.1f} times "
              f"(the drawings' target share of the loss: {DRAWINGS_LOSS_SHARE:.0%})")
    print(f"Training {args.arch} for {args.epochs} epochs" + (" with augmentation" if args.augment else "")
          + (" and generated handwriting" if args.handwriting else ""))
    result = train(settings, on_batch_end=_print_batch, on_epoch_end=_EpochPrinter(args.epochs),
                   extra_examples=extra_examples)
    command = "python train.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    metadata = {**result.metadata(command.strip()), **extra_metadata}
    model_id = store.save(result.model, metadata, model_id=args.id, activate=args.activate)
    if result.handwriting:
        print(f"Mixed in {result.handwriting['drawings']:,} generated drawings "
              f"({result.handwriting['non_digits']:,} of them no digit); confidence temperature {result.temperature:.2f}")
    print(f"Test accuracy: {result.test_accuracy:.4f} (loss {result.test_loss:.4f}) in {result.seconds:.0f}s")
    print(f"Saved as {model_id!r} in {store.model_path(model_id)}" + (" (active)" if args.activate else ""))


if __name__ == "__main__":
    main()
