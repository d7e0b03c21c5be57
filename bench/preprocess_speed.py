"""How long canvas_to_mnist takes, by canvas size and background.

    python bench/preprocess_speed.py [--count 100]

On MNIST test digits re-drawn as canvas strokes (synthetic.redraw_as_canvas), prints the median
and 99th percentile time per canvas for transparent (the drawable canvas's default) and opaque
white backgrounds, at several canvas sizes. The target is well under 1 ms at 280x280.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from digit_app.data import load_mnist  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402
from digit_app.synthetic import redraw_as_canvas  # noqa: E402

SIZES = [100, 280, 400, 800]
REPEATS = 5


def drawings(digits, size, opaque, seed=0):
    """Re-drawn digits on a canvas of the given size, all transparent or all opaque white."""
    rng = np.random.default_rng(seed)
    canvases = []
    for digit in digits:
        canvas = redraw_as_canvas(digit, rng, size=size)
        if opaque and canvas[0, 0, 3] == 0:
            alpha = canvas[:, :, 3:].astype(np.float32) / 255  # black ink over white
            canvas = np.concatenate([np.rint(255 * (1 - alpha)).repeat(3, axis=2), np.full_like(alpha, 255)], axis=2).astype(np.uint8)
        elif not opaque and canvas[0, 0, 3] == 255:
            ink = 255 - canvas[:, :, :1]  # white background to transparent: the ink becomes alpha
            canvas = np.concatenate([np.zeros_like(canvas[:, :, :3]), ink], axis=2)
        canvases.append(canvas)
    return canvases


def milliseconds(canvases):
    samples = []
    for _ in range(REPEATS):
        for canvas in canvases:
            started = time.perf_counter()
            canvas_to_mnist(canvas)
            samples.append(1000 * (time.perf_counter() - started))
    return np.median(samples), np.percentile(samples, 99)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="drawings per size and background (default 100)")
    args = parser.parse_args(argv)
    digits = load_mnist().x_test[: args.count]
    print(f"canvas_to_mnist, {args.count} drawings x {REPEATS} repeats per row")
    print(f"{'canvas':>9} {'background':>12} {'median ms':>10} {'p99 ms':>8}")
    for size in SIZES:
        for opaque in (False, True):
            median, p99 = milliseconds(drawings(digits, size, opaque))
            print(f"{size:>4}x{size:<4} {'opaque white' if opaque else 'transparent':>12} {median:>10.3f} {p99:>8.3f}")


if __name__ == "__main__":
    main()
