"""How well a model reads drawings through the canvas preprocessing, against the naive path.

    python bench/accuracy.py                       # the active model
    python bench/accuracy.py --model default-cnn --count 2000

Prints:
  (a) MNIST test accuracy through the full pipeline: each test digit scaled up onto a 280x280
      canvas as black ink on transparent, then canvas_to_mnist, then the model;
  (b) the same model on the raw MNIST test inputs, for reference;
  (c) accuracy on re-drawn MNIST test digits (synthetic.redraw_as_canvas, fixed seed), per digit,
      with the confusion rows of the 3 worst digits;
  (d) the naive path on the same drawings (whole canvas resized to 28x28 and inverted);
  (e) accuracy on bench/data/app_drawings.npz (canvases (N, H, W, 4) uint8, labels), if present.
A drawing that canvas_to_mnist finds unreadable (None) counts as an error.
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

from digit_app.data import load_mnist  # noqa: E402
from digit_app.preprocess import MODEL_INPUT_SHAPE, canvas_to_mnist  # noqa: E402
from digit_app.synthetic import CANVAS_SIZE, mnist_to_canvas, redraw_as_canvas  # noqa: E402

APP_DRAWINGS = Path(__file__).resolve().parent / "data" / "app_drawings.npz"
BATCH_SIZE = 512
WORST_DIGITS_SHOWN = 3
ERROR_TILE = 84  # px per image in the --errors-png grid


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model id in the store (default: the active model)")
    parser.add_argument("--count", type=int, default=2000, help="re-drawn test digits (default 2000)")
    parser.add_argument("--mnist-count", type=int, default=10000, help="MNIST test digits for (a) and (b) (default all 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the re-drawn set (default 0)")
    parser.add_argument("--errors-png", help="save the misread re-drawn digits (canvas, model input, label->reading) to this PNG")
    return parser.parse_args(argv)


def load_model(model_id):
    from digit_app import store

    if model_id:
        return model_id, store.load(model_id)
    return store.resolve_active()


def predict(model, images):
    """Predicted digits for (N, 28, 28) float32 images; -1 where an image is None (unreadable)."""
    readable = [i for i, image in enumerate(images) if image is not None]
    predictions = np.full(len(images), -1)
    if readable:
        batch = np.stack([images[i] for i in readable]).astype(np.float32)
        probabilities = model.predict(batch, batch_size=BATCH_SIZE, verbose=0)
        predictions[readable] = probabilities.argmax(axis=1)
    return predictions


def naive_preprocess(rgba):
    """What most canvas demos do: the whole canvas, over white, to grey, resized to 28x28, inverted."""
    alpha = rgba[:, :, 3:].astype(np.float32) / 255
    over_white = rgba[:, :, :3].astype(np.float32) * alpha + 255 * (1 - alpha)
    grey = Image.fromarray(np.rint(over_white.mean(axis=2)).astype(np.uint8))
    small = np.asarray(grey.resize(MODEL_INPUT_SHAPE[::-1], Image.Resampling.BILINEAR), dtype=np.float32)
    return 1 - small / 255


def timed(label, function, items):
    start = time.perf_counter()
    results = [function(item) for item in items]
    seconds = time.perf_counter() - start
    print(f"  {label}: {len(items)} in {seconds:.1f} s ({1000 * seconds / max(len(items), 1):.2f} ms each)")
    return results


def per_digit_report(labels, pipeline, naive):
    print(f"  {'digit':>5} {'count':>6} {'pipeline':>9} {'naive':>7} {'unreadable':>10}")
    for digit in range(10):
        mine = labels == digit
        if not mine.any():
            print(f"  {digit:>5} {0:>6} {'-':>9} {'-':>7} {'-':>10}")
            continue
        print(
            f"  {digit:>5} {mine.sum():>6} {100 * (pipeline[mine] == digit).mean():>8.1f}% "
            f"{100 * (naive[mine] == digit).mean():>6.1f}% {(pipeline[mine] == -1).sum():>10}"
        )
    accuracies = [(pipeline[labels == digit] == digit).mean() if (labels == digit).any() else 1.0 for digit in range(10)]
    print(f"  confusion rows of the {WORST_DIGITS_SHOWN} worst digits (columns: read as 0-9, then unreadable):")
    for digit in np.argsort(accuracies)[:WORST_DIGITS_SHOWN]:
        row = [(pipeline[labels == digit] == read).sum() for read in [*range(10), -1]]
        print(f"  {digit}: " + " ".join(f"{count:>4}" for count in row) + f"   ({100 * accuracies[digit]:.1f}%)")


def save_errors(path, canvases, inputs, labels, predictions, limit=60):
    """A grid of misread drawings: the canvas, then the model input, titled label->reading by row order."""
    wrong = np.flatnonzero(predictions != labels)[:limit]
    columns = 6
    rows = max(1, -(-len(wrong) // columns))
    grid = Image.new("L", (columns * 2 * ERROR_TILE, rows * ERROR_TILE), 128)
    for slot, index in enumerate(wrong):
        alpha = canvases[index][:, :, 3:].astype(np.float32) / 255
        shown = canvases[index][:, :, :3].mean(axis=2, keepdims=True) * alpha + 200 * (1 - alpha)
        canvas_tile = Image.fromarray(shown[:, :, 0].astype(np.uint8)).resize((ERROR_TILE - 2, ERROR_TILE - 2))
        image = inputs[index] if inputs[index] is not None else np.zeros(MODEL_INPUT_SHAPE)
        input_tile = Image.fromarray((image * 255).astype(np.uint8)).resize((ERROR_TILE - 2, ERROR_TILE - 2), Image.Resampling.NEAREST)
        x, y = (slot % columns) * 2 * ERROR_TILE, (slot // columns) * ERROR_TILE
        grid.paste(canvas_tile, (x, y))
        grid.paste(input_tile, (x + ERROR_TILE, y))
    grid.save(path)
    print(f"  saved {len(wrong)} misread drawings to {path}; in order (label->reading): "
          + ", ".join(f"{labels[i]}->{predictions[i]}" for i in wrong))


def main(argv=None):
    args = parse_args(argv)
    model_id, model = load_model(args.model)
    mnist = load_mnist()
    print(f"model: {model_id}")

    count = min(args.mnist_count, len(mnist.y_test))
    digits, labels = mnist.x_test[:count], mnist.y_test[:count]
    print(f"(a) MNIST test digits through the canvas pipeline ({CANVAS_SIZE}x{CANVAS_SIZE}, black ink on transparent):")
    inputs = timed("canvas_to_mnist", lambda digit: canvas_to_mnist(mnist_to_canvas(digit)), digits)
    pipeline = predict(model, inputs)
    print(f"  accuracy {100 * (pipeline == labels).mean():.2f}%  (unreadable: {(pipeline == -1).sum()})")
    raw = predict(model, list(digits.astype(np.float32) / 255))
    print(f"(b) raw MNIST test inputs: accuracy {100 * (raw == labels).mean():.2f}%")

    rng = np.random.default_rng(args.seed)
    chosen = rng.choice(len(mnist.y_test), size=min(args.count, len(mnist.y_test)), replace=False)
    print(f"(c) {len(chosen)} re-drawn MNIST test digits (seed {args.seed}):")
    canvases = timed("redraw_as_canvas", lambda index: redraw_as_canvas(mnist.x_test[index], rng), chosen)
    labels = mnist.y_test[chosen]
    inputs = timed("canvas_to_mnist", canvas_to_mnist, canvases)
    pipeline = predict(model, inputs)
    naive = predict(model, [naive_preprocess(canvas) for canvas in canvases])
    print(f"  accuracy through canvas_to_mnist {100 * (pipeline == labels).mean():.2f}%")
    print(f"(d) naive path (whole canvas resized to 28x28, inverted): {100 * (naive == labels).mean():.2f}%")
    per_digit_report(labels, pipeline, naive)
    if args.errors_png:
        save_errors(args.errors_png, canvases, inputs, labels, pipeline)

    if APP_DRAWINGS.exists():
        with np.load(APP_DRAWINGS) as data:
            canvases, labels = data["canvases"], data["labels"]
        print(f"(e) {len(labels)} drawings from the app ({APP_DRAWINGS.name}):")
        pipeline = predict(model, [canvas_to_mnist(canvas) for canvas in canvases])
        naive = predict(model, [naive_preprocess(canvas) for canvas in canvases])
        print(f"  accuracy through canvas_to_mnist {100 * (pipeline == labels).mean():.2f}%, naive {100 * (naive == labels).mean():.2f}%")
        per_digit_report(labels, pipeline, naive)
    else:
        print(f"(e) no {APP_DRAWINGS.relative_to(Path.cwd()) if APP_DRAWINGS.is_relative_to(Path.cwd()) else APP_DRAWINGS}: skipped")


if __name__ == "__main__":
    main()
