"""Train a digit model on MNIST and save it in the model store; or sweep over many settings.

    python train.py --arch cnn --epochs 12 --batch-size 128 --augment --activate
    python train.py --augment --include-drawings     # and learn from the drawings saved in the app
    python train.py sweep --trials 20                # an Optuna study; see `python train.py sweep --help`
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


def parse_args(argv=None):
    """(args, TrainingSettings) from the command line; a value TrainingSettings refuses exits 2
    with its message, before anything is loaded or trained."""
    from digit_app.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE
    from digit_app.settings import DRAWINGS_LOSS_SHARE, MAX_EPOCHS, TrainingSettings

    defaults = TrainingSettings()
    parser = _Parser(
        prog="train.py",
        description="Train a digit model on MNIST (the 60,000 training digits, less a validation part), "
        "report its accuracy on the 10,000 test digits, and save it in the model store (models/).",
    )
    parser.add_argument(
        "--arch", choices=list(ARCHITECTURES), default=DEFAULT_ARCHITECTURE,
        help="architecture: " + "; ".join(f"{name}: {architecture.description}" for name, architecture in ARCHITECTURES.items())
        + f" (default {DEFAULT_ARCHITECTURE})",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs,
                        help=f"passes over the training set, 1 to {MAX_EPOCHS} (default {defaults.epochs})")
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size,
                        help=f"digits per training step (default {defaults.batch_size})")
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate,
                        help=f"Adam learning rate (default {defaults.learning_rate})")
    parser.add_argument("--cosine-decay", action="store_true",
                        help="decay the learning rate along a cosine to 1%% of its start by the last epoch")
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction,
                        help="part of the training set held out to measure validation loss and accuracy "
                        f"(default {defaults.validation_fraction}); the test set is never trained on")
    parser.add_argument("--augment", action="store_true",
                        help="random shifts, rotations, shear, scaling and stroke thickness, "
                        "so that the model reads drawings as well as MNIST")
    parser.add_argument("--seed", type=int, default=defaults.seed,
                        help=f"random seed for reproducible runs (default {defaults.seed})")
    parser.add_argument("--max-train-samples", type=int, default=None,
                        help="train on only the first N training digits, for a quick try")
    parser.add_argument("--no-handwriting", dest="handwriting", action="store_false",
                        help="train on MNIST alone: no generated handwriting (the forms people write that "
                        "MNIST lacks) and no 'not a digit' output")
    parser.add_argument("--include-drawings", action="store_true",
                        help="add all your saved drawings (the My drawings page; $DIGIT_APP_DRAWINGS_DB or "
                        "data/drawings.sqlite3) to the training digits, each weighted so that together they "
                        f"carry about {DRAWINGS_LOSS_SHARE * 100:.0f}%% of the loss")
    parser.add_argument("--id", default=None, help="model id to save under (default: <arch>-<date>-<time>)")
    parser.add_argument("--activate", action="store_true", help="make the new model the active one for the app")
    args = parser.parse_args(argv)
    from digit_app.model_store import ModelStore, validate_id

    try:
        settings = TrainingSettings(
            architecture=args.arch, epochs=args.epochs, batch_size=args.batch_size,
            learning_rate=args.learning_rate, validation_fraction=args.validation_fraction,
            augment=args.augment, cosine_decay=args.cosine_decay, seed=args.seed,
            max_train_samples=args.max_train_samples, handwriting=args.handwriting,
        )
        if args.id is not None:
            validate_id(args.id)
    except ValueError as error:
        parser.error(str(error))
    if args.id is not None and ModelStore().exists(args.id):
        parser.error(f"a model with id {args.id!r} already exists; choose another --id")
    return args, settings


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
    from digit_app.drawing_store import DrawingStore, DrawingStoreError

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
    if (sys.argv[1:] if argv is None else argv)[:1] == ["sweep"]:
        return sweep_main((sys.argv[1:] if argv is None else argv)[1:])
    args, settings = parse_args(argv)
    drawings = _load_drawings() if args.include_drawings else None
    model_store = _checked_store()
    from digit_app.settings import DRAWINGS_LOSS_SHARE
    from digit_app.training import train

    if drawings is not None:
        images, _, path = drawings
        print(f"Including {len(images)} of your drawings from {path}, weighted so that together they carry "
              f"{DRAWINGS_LOSS_SHARE:.0%} of the loss")
    print(f"Training {args.arch} for {args.epochs} epochs" + (" with augmentation" if args.augment else "")
          + (" and generated handwriting" if args.handwriting else ""))
    result = train(settings, on_batch_end=_print_batch, on_epoch_end=_EpochPrinter(args.epochs),
                   drawings=drawings[:2] if drawings is not None else None)
    if result.drawings_included:
        print(f"Each drawing counted {result.drawing_weight:.1f} times next to {result.num_mnist:,} MNIST digits")
    command = "python train.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    model_id = model_store.save(result.model, result.metadata(command.strip()), model_id=args.id,
                                activate=args.activate)
    if result.handwriting:
        print(f"Mixed in {result.handwriting['drawings']:,} generated drawings "
              f"({result.handwriting['non_digits']:,} of them no digit); confidence temperature {result.temperature:.2f}")
    print(f"Test accuracy: {result.test_accuracy:.4f} (loss {result.test_loss:.4f}) in {result.seconds:.0f}s")
    print(f"Canvas accuracy: {result.canvas_accuracy:.4f} (held-out drawings of every digit form)")
    print(f"Saved as {model_id!r} in {model_store.model_path(model_id)}" + (" (active)" if args.activate else ""))


def _checked_store():
    """Before any training: clean what a killed save left, and make sure a model can be saved.
    Returns the model store."""
    from digit_app.model_store import ModelStore, StoreNotWritable

    model_store = ModelStore()
    model_store.remove_leftover_temporary_files()
    try:
        model_store.check_writable()
    except StoreNotWritable as error:
        sys.exit(_one_line_error(str(error)))
    return model_store


def parse_sweep_args(argv):
    """The SweepSettings from the command line; a value they refuse exits 2 with their message."""
    from digit_app import sweep
    from digit_app.architectures import ARCHITECTURES
    from digit_app.settings import MAX_AUGMENT_STRENGTH, MAX_EPOCHS, TrainingSettings

    defaults = TrainingSettings()
    parser = _Parser(
        prog="train.py sweep",
        description="Run an Optuna study: many trainings with settings drawn from the ranges below. Weak "
        "trials are pruned after an epoch; the best few models are saved in the model store with their "
        "trial's settings. Run the same command on more machines with the same --storage and --study "
        "to share the trials between them.",
    )
    parser.add_argument("--trials", type=int, default=sweep.DEFAULT_NUM_TRIALS,
                        help=f"trials in the whole study, whoever runs them (default {sweep.DEFAULT_NUM_TRIALS})")
    parser.add_argument("--arch", nargs="+", choices=list(ARCHITECTURES), default=list(ARCHITECTURES),
                        help="architectures to try (default: all of " + ", ".join(ARCHITECTURES) + ")")
    parser.add_argument("--learning-rate", nargs=2, type=float, metavar=("LOW", "HIGH"),
                        default=sweep.DEFAULT_LEARNING_RATES,
                        help="Adam learning rates, drawn on a log scale, within 1e-6 to 1 (default {:g} to {:g})".format(
                            *sweep.DEFAULT_LEARNING_RATES))
    parser.add_argument("--batch-size", nargs="+", type=int,
                        default=sweep.DEFAULT_BATCH_SIZES,
                        help="batch sizes to try (default " + " ".join(map(str, sweep.DEFAULT_BATCH_SIZES)) + ")")
    parser.add_argument("--epochs", nargs=2, type=int, metavar=("LOW", "HIGH"),
                        default=sweep.DEFAULT_EPOCHS,
                        help="epochs, within 1 to {} (default {} to {})".format(MAX_EPOCHS, *sweep.DEFAULT_EPOCHS))
    parser.add_argument("--augment-strength", nargs=2, type=float,
                        metavar=("LOW", "HIGH"), default=sweep.DEFAULT_AUGMENT_STRENGTHS,
                        help=f"augmentation strength in steps of {sweep.AUGMENT_STEP}, 0 (none) to "
                        f"{MAX_AUGMENT_STRENGTH}; 1 is --augment's strength (default "
                        "{:g} to {:g})".format(*sweep.DEFAULT_AUGMENT_STRENGTHS))
    parser.add_argument("--keep", type=int, default=sweep.DEFAULT_KEEP_BEST,
                        help=f"how many of the best models to keep (default {sweep.DEFAULT_KEEP_BEST})")
    parser.add_argument("--study", default=None,
                        help="the study's name; the same name joins the same study (default: a new "
                        "sweep-<date>-<time>)")
    parser.add_argument("--storage", default=None,
                        help="a database URL to keep the study in, e.g. postgresql://user:password@host/db "
                        "or mysql://user:password@host/db, which every machine of the sweep can reach "
                        f"(default: the file {sweep.JOURNAL_FILE} beside the models, for this machine)")
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction,
                        help="part of the training set held out to score trials "
                        f"(default {defaults.validation_fraction})")
    parser.add_argument("--seed", type=int, default=defaults.seed, help=f"random seed (default {defaults.seed})")
    parser.add_argument("--max-train-samples", type=int, default=None,
                        help="train on only the first N training digits, for a quick try")
    parser.add_argument("--no-handwriting", dest="handwriting", action="store_false",
                        help="trials train on MNIST alone: no generated handwriting and no 'not a digit' output")
    args = parser.parse_args(argv)
    if args.storage and not args.study:
        parser.error("--storage needs --study: the name the other machines join")
    try:
        return sweep.SweepSettings(
            num_trials=args.trials, architectures=args.arch, learning_rates=args.learning_rate,
            batch_sizes=args.batch_size, epochs=args.epochs, augment_strengths=args.augment_strength,
            keep_best=args.keep, study=args.study or "", storage=args.storage,
            base=TrainingSettings(validation_fraction=args.validation_fraction, seed=args.seed,
                                  max_train_samples=args.max_train_samples, handwriting=args.handwriting),
        )
    except ValueError as error:
        parser.error(str(error))


def sweep_main(argv):
    settings = parse_sweep_args(argv)
    from digit_app import sweep

    model_store = _checked_store()
    where = settings.storage or model_store.root / sweep.JOURNAL_FILE
    print(f"Study {settings.study!r} in {where}: {settings.num_trials} trials in all", flush=True)
    study = sweep.run_sweep(settings, model_store, on_trials_changed=_TrialPrinter(), on_trial_start=_print_trial_start)
    best = sweep.best_saved_model(study, model_store)
    print(f"Best model: {best!r} in {model_store.model_path(best)}" if best else "No trial completed.")


def _print_trial_start(number, settings):
    print(f"starting trial {number} here: {settings.architecture}, {settings.epochs} epochs, batch size "
          f"{settings.batch_size}, learning rate {settings.learning_rate:.3g}"
          + (f", augmentation strength {settings.augment_strength:g}" if settings.augment else ""), flush=True)


class _TrialPrinter:
    """One line per trial as it ends."""

    def __init__(self):
        self.printed = set()

    def __call__(self, trials):
        for trial in trials:
            if trial["state"] in ("complete", "pruned", "fail") and trial["number"] not in self.printed:
                self.printed.add(trial["number"])
                accuracy = f"{trial['val_accuracy'][-1]:.4f}" if trial["val_accuracy"] else "–"
                params = ", ".join(f"{name} {value:.3g}" if isinstance(value, float) else f"{name} {value}"
                                   for name, value in trial["params"].items())
                kept = f", kept as {trial['model_id']!r}" if trial["model_id"] else ""
                print(f"trial {trial['number']} {trial['state']} by {trial['worker']}: validation accuracy "
                      f"{accuracy} ({params}){kept}", flush=True)


if __name__ == "__main__":
    main()
