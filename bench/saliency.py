"""Which saliency method explains real drawings: gradient x input or occlusion (digit_app.inside).

    python bench/saliency.py [--model models/default-cnn.keras] [--drawings bench/data/app_drawings.npz]

For every drawing of the evaluation set made in the real app (bench/data/app_drawings.npz), each
method ranks the ink pixels by how much they pushed the model toward its reading over the runner-up.
Wiping the top-ranked pixels should then cost the reading most of its margin: the faster the margin
falls, the better the map says what the model relied on ("deletion", Petsiuk et al. 2018). Random
ink pixels are the baseline. Prints, per method, the median fraction of the logit margin left after
wiping the top 5, 10 and 20 pixels, how often the reading flips to another class by 20 pixels, and
the median time per map on this machine.

On the default CNN (2026-11-22), margin left after wiping the top 5/10/20 pixels: occlusion 0.44,
0.18, 0.07; gradient x input 0.48, 0.26, 0.09; random ink pixels 0.92, 0.82, 0.71. On the default
retrained with twice the handwriting for 32 epochs (2026-11-23): occlusion 0.41, 0.20, 0.08;
gradient x input 0.44, 0.23, 0.12; random 0.94, 0.83, 0.63 (for 36 epochs: 0.49, 0.31, 0.14;
0.46, 0.36, 0.18; 0.93, 0.80, 0.64). On dense-128
gradient x input does better (0.50, 0.12, -0.37 against 0.59, 0.20, -0.24); its maps are speckled.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from digit_app import inside  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402

WIPED_COUNTS = (5, 10, 20)
RANDOM = "random ink pixels"
REPEATS = 5  # timing runs per map


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default-cnn.keras")
    parser.add_argument("--drawings", type=Path, default=ROOT / "bench" / "data" / "app_drawings.npz")
    return parser.parse_args(argv)


def ranking(method, inspector, image, reading, runner_up, rng):
    """Ink pixels (flat indices), the ones that pushed most toward the reading first."""
    ink = np.flatnonzero(image > 0)
    if method == RANDOM:
        return rng.permutation(ink)
    values = inspector.saliency(image, reading, runner_up, method).values.ravel()
    return ink[np.argsort(values[ink])[::-1]]


def margins_after_wiping(inspector, image, order, reading, runner_up):
    wiped = []
    for count in WIPED_COUNTS:
        copy = image.copy().ravel()
        copy[order[:count]] = 0
        wiped.append(copy.reshape(image.shape))
    return inspector.margins(np.stack([image, *wiped]), reading, runner_up)


def median_milliseconds(function):
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv=None):
    args = parse_args(argv)
    import keras

    model = keras.saving.load_model(args.model, compile=False)
    inspector = inside.Inspector(model)
    drawings = np.load(args.drawings)
    rng = np.random.default_rng(0)
    methods = (*inside.SALIENCY_METHODS, RANDOM)
    left = {method: {count: [] for count in WIPED_COUNTS} for method in methods}
    flipped = dict.fromkeys(methods, 0)
    times = {method: [] for method in inside.SALIENCY_METHODS}
    images = [image for image in map(canvas_to_mnist, drawings["canvases"]) if image is not None]
    for image in images:
        probabilities = model(image[None], training=False).numpy()[0]
        reading, runner_up = inside.reading_and_runner_up(probabilities)
        for method in methods:
            order = ranking(method, inspector, image, reading, runner_up, rng)
            margins = margins_after_wiping(inspector, image, order, reading, runner_up)
            for count, margin in zip(WIPED_COUNTS, margins[1:], strict=True):
                left[method][count].append(margin / margins[0])
            flipped[method] += bool(margins[-1] < 0)
        for method in inside.SALIENCY_METHODS:
            times[method].append(median_milliseconds(lambda: inspector.look(image, reading, runner_up, method)))
    print(f"{len(images)} drawings from {args.drawings.name}, model {args.model.name}")
    print("Median fraction of the reading's logit margin left after wiping the top pixels (lower explains better):")
    print(f"  {'method':20s}" + "".join(f"{f'top {count}':>9s}" for count in WIPED_COUNTS) + "   flipped by 20   ms per look")
    for method in methods:
        fractions = "".join(f"{statistics.median(left[method][count]):9.2f}" for count in WIPED_COUNTS)
        milliseconds = f"{statistics.median(times[method]):8.1f}" if method in times else "       -"
        print(f"  {method:20s}{fractions}   {flipped[method]:3d} of {len(images)}   {milliseconds}")


if __name__ == "__main__":
    main()
