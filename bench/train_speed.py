"""Training speed of each architecture on this machine, and the time to train the default.

    python bench/train_speed.py [--epochs 2]

Prints seconds per epoch (the median of the timed epochs, after one warm-up epoch) and
samples per second on the full training set, with and without augmentation, and how long
the shipped default took to reach its test accuracy.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digit_app import store  # noqa: E402
from digit_app.architectures import ARCHITECTURES  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.settings import TrainingSettings  # noqa: E402
from digit_app.training import train  # noqa: E402


def seconds_per_epoch(architecture, augment, epochs, mnist):
    stamps = []
    settings = TrainingSettings(architecture, epochs=epochs + 1, augment=augment)
    train(settings, data=mnist, on_epoch_end=lambda epoch, logs: stamps.append(time.monotonic()))
    return statistics.median(b - a for a, b in zip(stamps, stamps[1:]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per architecture (default 2)")
    args = parser.parse_args()
    mnist = load_mnist()
    num_samples = int(len(mnist.x_train) * (1 - TrainingSettings().validation_fraction))
    print(f"{'architecture':<14}{'augment':<9}{'s/epoch':>9}{'samples/s':>11}")
    for architecture in ARCHITECTURES:
        for augment in (False, True):
            seconds = seconds_per_epoch(architecture, augment, args.epochs, mnist)
            print(f"{architecture:<14}{str(augment):<9}{seconds:>9.1f}{num_samples / seconds:>11.0f}", flush=True)

    meta = store.default_store.metadata(store.DEFAULT_MODEL_ID)
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
