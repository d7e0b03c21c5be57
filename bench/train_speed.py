"""Training speed of each architecture on this machine, and the time to train the default.

    python bench/train_speed.py [--epochs 2] [--architecture cnn] [--augment-only]

Prints seconds per epoch (the median of the timed epochs, after one warm-up epoch) and
samples per second on the full training set with its generated handwriting, with and without
augmentation; the time the shipped default's recipe would take at that speed (its epochs, plus
drawing the handwriting once when it is not cached); and how long the shipped default took.

What it decided: the cnn architecture (digit_app/architectures.py). Batch norm and 'same' padding
took 2.5-10 times as long per epoch for little accuracy. Its dense layer grew from 128 to 256 units
when generated handwriting and non-digits joined the training set, at little cost next to the
convolutions. Its two 5x5 convolutions became two pairs of 3x3 ones: epochs take twice as long
(about 25 s against 13 s), so the default trains fewer epochs, and reads re-drawn and restyled
MNIST digits better (bench/accuracy.py). Where the processor computes bfloat16 itself (AMX or
AVX-512 BF16, as here), the cnn trains in mixed bfloat16 and is kept in float32: its epochs took
about 10 s instead of 25 s, and the model read MNIST and the canvas sets as well; the notebook
nets stay in float32. The time saved went into twice the generated handwriting (its epochs take
16-21 s) and 32 epochs instead of 27. 36 epochs trained in 12.6 minutes with an empty drawing
cache, but at a slower hour this bench put them at 15.0 (20.7 s an epoch, 158 s of drawing); 32
epochs trained in 13.3 minutes at such an hour, and read the validation sets as well. On a 2-core
AMD EPYC with AVX2 only (no bfloat16, so float32), an epoch of the same mix took 170.5 s and drawing
the handwriting about 5 minutes: the default's recipe would take about 96 minutes there.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digit_app.model_store import DEFAULT_MODEL_ID, ModelStore  # noqa: E402
from digit_app.architectures import ARCHITECTURES, MIXED_PRECISION, trains_in_bfloat16  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.settings import TrainingSettings  # noqa: E402
from digit_app.training import train  # noqa: E402


def seconds_per_epoch(architecture, augment, epochs, mnist, precision):
    """(median seconds per epoch, samples per epoch, seconds before the first batch)."""
    stamps, batches = [], []
    settings = TrainingSettings(architecture, epochs=epochs + 1, augment=augment)
    started = time.monotonic()
    train(settings, data=mnist, precision=precision, on_epoch_end=lambda epoch, logs: stamps.append(time.monotonic()),
          on_batch_end=lambda progress: batches.append((time.monotonic(), progress["batches"])))
    samples = batches[0][1] * settings.batch_size
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:])), samples, batches[0][0] - started


def drawing_seconds(mnist):
    """How long drawing a full training's handwriting takes with an empty cache."""
    from digit_app import handwriting
    from digit_app.training import split_train_validation

    x, y, _, _ = split_train_validation(mnist.x_train, mnist.y_train, TrainingSettings().validation_fraction, 0)
    with tempfile.TemporaryDirectory() as empty:
        os.environ[handwriting.CACHE_ENV_VAR] = empty
        started = time.monotonic()
        handwriting.training_mix(x, y, seed=0)
        return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per architecture (default 2)")
    parser.add_argument("--architecture", choices=list(ARCHITECTURES), help="only this one (default: all)")
    parser.add_argument("--augment-only", action="store_true", help="only with augmentation, as the default is trained")
    args = parser.parse_args()
    mnist = load_mnist()
    meta = ModelStore().metadata(DEFAULT_MODEL_ID)
    print(f"{'architecture':<14}{'augment':<9}{'precision':<16}{'s/epoch':>9}{'samples/s':>11}{'setup s':>9}")
    for architecture in [args.architecture] if args.architecture else ARCHITECTURES:
        precisions = ["float32"] + ([MIXED_PRECISION] if trains_in_bfloat16(architecture) else [])
        for augment in (True,) if args.augment_only else (False, True):
            timed = {}
            for precision in precisions:
                seconds, samples, setup = seconds_per_epoch(architecture, augment, args.epochs, mnist, precision)
                timed[precision] = seconds
                print(f"{architecture:<14}{str(augment):<9}{precision:<16}{seconds:>9.1f}{samples / seconds:>11.0f}{setup:>9.1f}", flush=True)
            if len(timed) > 1:
                print(f"  float32 takes {timed['float32'] / timed[MIXED_PRECISION]:.2f} times as long as {MIXED_PRECISION}")
            if architecture == meta["architecture"] and augment:
                drawing = drawing_seconds(mnist)
                print(f"  the default's recipe, {meta['epochs']} epochs at {precisions[-1]}'s speed: {meta['epochs'] * seconds / 60:.1f} min,"
                      f" and {drawing:.0f} s to draw its handwriting when it is not cached")

    print(
        f"\nShipped default {meta['id']}: {meta['test_accuracy']:.2%} test accuracy after {meta['epochs']} epochs, "
        f"trained in {meta['training_seconds'] / 60:.1f} min by: {meta['source']}"
    )
    target = 0.994
    val_accuracy = meta["history"]["val_accuracy"]
    first = next((i + 1 for i, accuracy in enumerate(val_accuracy) if accuracy >= target), None)
    if first:
        print(f"Its validation accuracy first reached {target:.1%} at epoch {first} of {len(val_accuracy)}.")


if __name__ == "__main__":
    main()
