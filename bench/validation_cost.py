"""What checking the validation sample within each epoch costs, as a share of training time.

    python bench/validation_cost.py [--sizes 1000 5000 10000 all] [--architecture cnn] [--repeats 3]

For each training-set size (MNIST digits taken, as the Train page offers them) it trains one epoch
with the Train page's defaults (generated handwriting mixed in) and times, within the same run,
the checks of the validation sample (training.VALIDATIONS_PER_EPOCH of them) against the epoch
from its first batch to its last ("of epoch"); and all the checks, with the one before training
that also traces the prediction, against the whole training as the Models page shows it
("all of train": loading, the handwriting, the epoch, the test set). Timing inside one run keeps
the figure free of what other processes on the machine do between two runs. Prints the median
over the repeats.

Measured on the 2-core development machine, shared with other work (cnn; median of 3 runs, "all" 1):
      size  digits  sample  epoch s  checks s  of epoch  first s  train s  all of train
      1000     900      50      0.6      0.04      7.1%     0.13      5.6          2.0%
      5000    4500     140      2.5      0.07      2.7%     0.16      8.9          2.2%
     10000    9000     279      4.5      0.13      2.9%     0.09      8.3          2.6%
       all   54000    1000     18.3      0.58      3.2%     0.14    320.1          0.2%
Below 5% of the epoch from 5,000 digits up, and below 5% of the whole training at every size. At
1,000 digits an epoch lasts half a second and each check's fixed cost (about 8 ms) weighs more;
the whole run, which the page waits for, is still 2% longer. ("all" includes drawing its
generated handwriting for the first time, 5 minutes, in its training time.)
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digit_app.architectures import ARCHITECTURES, DEFAULT_ARCHITECTURE  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.settings import TrainingSettings  # noqa: E402
from digit_app.training import VALIDATIONS_PER_EPOCH, train  # noqa: E402


def one_run(architecture, size, mnist):
    """A dict of the epoch's seconds from its first batch's end to its last's, the seconds of the
    checks within it, of the check before training, of the whole training, and the sizes."""
    stamps = []
    settings = TrainingSettings(architecture, epochs=1, max_train_samples=size)
    result = train(settings, data=mnist, on_batch_end=lambda progress: stamps.append(time.monotonic()))
    if len(result.check_seconds) != 1 + VALIDATIONS_PER_EPOCH:
        raise RuntimeError(f"expected 1 + {VALIDATIONS_PER_EPOCH} checks of the sample, got {len(result.check_seconds)}")
    return {"epoch": stamps[-1] - stamps[0], "checks": sum(result.check_seconds[1:]),
            "first": result.check_seconds[0], "training": result.seconds,
            "sample": result.sample_size, "digits": result.num_mnist}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1000", "5000", "10000", "all"],
                        help="MNIST digits to take, or 'all' (default: 1000 5000 10000 all)")
    parser.add_argument("--architecture", choices=list(ARCHITECTURES), default=DEFAULT_ARCHITECTURE)
    parser.add_argument("--repeats", type=int, default=3, help="runs per size, the median is printed (default 3)")
    parser.add_argument("--repeats-all", type=int, default=1, help="runs for 'all', which take minutes (default 1)")
    args = parser.parse_args()
    mnist = load_mnist()
    print(f"{args.architecture}, {VALIDATIONS_PER_EPOCH} checks of the validation sample per epoch")
    print(f"{'size':>6}{'digits':>8}{'sample':>8}{'epoch s':>9}{'checks s':>10}{'of epoch':>10}"
          f"{'first s':>9}{'train s':>9}{'all of train':>14}")
    for size_text in args.sizes:
        size = None if size_text == "all" else int(size_text)
        runs = [one_run(args.architecture, size, mnist) for _ in range(args.repeats_all if size is None else args.repeats)]
        median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        of_epoch = statistics.median(run["checks"] / run["epoch"] for run in runs)
        of_training = statistics.median((run["checks"] + run["first"]) / run["training"] for run in runs)
        print(f"{size_text:>6}{median['digits']:>8.0f}{median['sample']:>8.0f}{median['epoch']:>9.1f}"
              f"{median['checks']:>10.2f}{of_epoch:>10.1%}{median['first']:>9.2f}{median['training']:>9.1f}"
              f"{of_training:>14.1%}", flush=True)


if __name__ == "__main__":
    main()
