"""Where to draw the line between "a digit" and "not a digit", chosen on validation data only.

    python bench/not_a_digit_threshold.py [--model ID] [--redrawn 2000] [--per-form 50]

For each threshold on the calibrated "not a digit" probability, prints the share of real digits
turned away and the accuracy (a digit turned away counts as wrong), and the share of non-digits
answered "not a digit", on data that the model never trained on and that bench/accuracy.py does
not test on:
- the model's own MNIST validation digits (its seed and validation fraction, from its metadata),
  raw and re-drawn on a canvas (synthetic.redraw_as_canvas);
- the handwriting generator's "validation" stream: every digit form and every non-digit kind.

What it decided (inference.NOT_A_DIGIT_ABOVE), on three trainings of the default's net and mix
(30 epochs with seeds 1 and 2, and the shipped 27 epochs with seed 2): from 0.7 to 0.5, the
non-digits turned away rose from 97.8-98.1% to 98.5-98.7%; MNIST validation digits turned away
rose from 0.03-0.05% to 0.07-0.08% (1 to 3 more of 6,000), and re-drawn ones from 0.25-0.35% to
0.30-0.45% (0 to 4 more of 2,000). 0.5 is the plain rule for a calibrated probability: answer
"not a digit" when the model finds it more likely than not. Going lower, to 0.3, would turn away
0.3-0.6 points more non-digits and up to twice as many MNIST digits.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from digit_app import handwriting  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.inference import NOT_A_DIGIT_ABOVE, Predictor, split_readings, temperature_of  # noqa: E402
from digit_app.model_store import ModelStore  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402
from digit_app.synthetic import redraw_as_canvas  # noqa: E402
from digit_app.training import mnist_split  # noqa: E402

THRESHOLDS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3)
BATCH_SIZE = 1000
REDRAW_STREAM = 7  # the re-drawing's random stream: apart from bench/accuracy.py's


def validation_digits(metadata, mnist, redrawn_count):
    """{name: (images float32 (N, 28, 28), labels)}: the model's MNIST validation digits, raw and re-drawn."""
    settings = metadata.get("settings", {})
    _, _, x_val, y_val = mnist_split(
        mnist.x_train, mnist.y_train, settings.get("max_train_samples"), settings.get("validation_fraction", 0.1), settings.get("seed", 0)
    )
    if not len(x_val):
        raise SystemExit("This model kept no validation digits (validation fraction 0); pick a model trained with some.")
    rng = np.random.default_rng(REDRAW_STREAM)
    chosen = rng.choice(len(x_val), min(redrawn_count, len(x_val)), replace=False)
    redrawn = [(canvas_to_mnist(redraw_as_canvas(x_val[i], rng)), y_val[i]) for i in chosen]
    redrawn = [(image, label) for image, label in redrawn if image is not None]
    return {
        "MNIST validation": (x_val.astype(np.float32) / 255, y_val),
        "re-drawn": (np.stack([image for image, _ in redrawn]).astype(np.float32), np.array([label for _, label in redrawn])),
    }


def generated(per_form, kinds):
    images, labels, _, _ = handwriting.generate(per_form, 0, handwriting.form_names(kinds), split="validation")
    return images.astype(np.float32) / 255, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model id in the store (default: the active model)")
    parser.add_argument("--redrawn", type=int, default=2000, help="MNIST validation digits to re-draw (default 2000)")
    parser.add_argument("--per-form", type=int, default=50, help="generator validation drawings per form (default 50)")
    args = parser.parse_args()

    model_store = ModelStore()
    model_id = args.model or model_store.active_id()
    predictor = Predictor(model_store.load(model_id), model_id, temperature_of(model_store, model_id))
    if not predictor.can_tell_non_digits:
        raise SystemExit(f"{model_id} has no 'not a digit' output; pick a model trained with generated handwriting.")

    def probabilities(images):
        return np.concatenate([predictor.predict_batch(images[i : i + BATCH_SIZE]) for i in range(0, len(images), BATCH_SIZE)])

    digit_sets = validation_digits(model_store.metadata(model_id), load_mnist(), args.redrawn)
    digit_sets["generator digits"] = generated(args.per_form, "digits")
    digit_sets = {name: (split_readings(probabilities(images)), labels) for name, (images, labels) in digit_sets.items()}
    _, non_digits = split_readings(probabilities(generated(args.per_form, "non-digits")[0]))

    print(f"model: {model_id}; now used: {NOT_A_DIGIT_ABOVE}")
    print("threshold  " + "  ".join(f"{name} ({len(labels)}): turned away, accuracy" for name, (_, labels) in digit_sets.items())
          + f"  non-digits ({len(non_digits)}) turned away")
    for threshold in THRESHOLDS:
        row = [f"{threshold:9.2f}"]
        for (digits, not_digit), labels in digit_sets.values():
            rejected = not_digit > threshold
            right = ~rejected & (digits.argmax(axis=1) == labels)
            row.append(f"{100 * rejected.mean():6.2f}% {100 * right.mean():6.2f}%")
        row.append(f"{100 * np.mean(non_digits > threshold):6.2f}%")
        print("  ".join(row))


if __name__ == "__main__":
    main()
