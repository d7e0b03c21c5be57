"""Prediction latency on this machine, in one run.

    python bench/latency.py [--model ID] [--count 200]

On the same canvas drawings (MNIST test digits re-drawn as 280x280 canvas strokes), times:
- Predictor.predict_canvas: preprocessing and one compiled call, what the app does per stroke;
- preprocessing alone (canvas_to_mnist);
- the naive path most demos take: the whole canvas resized to 28x28, then model.predict.
Prints the median and 99th percentile of each, and the naive/predict_canvas ratio of medians.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from digit_app.model_store import ModelStore  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.inference import Predictor  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402
from digit_app.synthetic import redraw_as_canvas  # noqa: E402


def naive_input(rgba):
    """What most Streamlit digit demos feed the model: the canvas alpha resized to 28x28."""
    return np.asarray(Image.fromarray(rgba[..., 3]).resize((28, 28)), np.float32)[None] / 255.0


def timings_ms(function, inputs, repeats):
    samples = []
    for _ in range(repeats):
        for item in inputs:
            started = time.perf_counter()
            function(item)
            samples.append((time.perf_counter() - started) * 1000)
    return np.array(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model id in the store (default: the active model)")
    parser.add_argument("--count", type=int, default=200, help="drawings (default 200)")
    args = parser.parse_args()

    if args.model:
        predictor = Predictor(ModelStore().load(args.model), args.model)
    else:
        predictor = Predictor.for_active_model()
    rng = np.random.default_rng(0)
    canvases = [redraw_as_canvas(image, rng) for image in load_mnist().x_test[: args.count]]
    model = predictor.model
    model.predict(naive_input(canvases[0]), verbose=0)  # warm up both paths
    predictor.predict_canvas(canvases[0])

    rows = {
        "predict_canvas": timings_ms(predictor.predict_canvas, canvases, 3),
        "preprocessing only": timings_ms(canvas_to_mnist, canvases, 3),
        "naive model.predict": timings_ms(lambda c: model.predict(naive_input(c), verbose=0), canvases, 1),
    }
    print(f"model {predictor.model_id}, {len(canvases)} drawings of 280x280")
    print(f"{'path':<22}{'median ms':>10}{'p99 ms':>9}")
    for name, samples in rows.items():
        print(f"{name:<22}{np.median(samples):>10.2f}{np.percentile(samples, 99):>9.2f}")
    ratio = np.median(rows["naive model.predict"]) / np.median(rows["predict_canvas"])
    print(f"naive / predict_canvas (medians): {ratio:.0f}x")


if __name__ == "__main__":
    main()
