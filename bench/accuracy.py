"""How well a model reads digits as people draw them, and whether it says so when a drawing is no digit.

    python bench/accuracy.py                              # the active model
    python bench/accuracy.py --model default-cnn --per-form 200
    python bench/accuracy.py --leave-one-out "7 crossed" "1 flag"   # also trains a model per form

None of these sets is trained on. Prints, for each set: accuracy (a drawing answered "not a
digit" counts as wrong), per digit, and the share of digits wrongly rejected:
  (a) MNIST test digits, raw and through the canvas pipeline (scaled up onto a 280x280 canvas,
      then canvas_to_mnist);
  (b) held-out drawings of the handwriting generator (its "evaluation" random stream, which no
      training draws from), per form;
  (c) a second renderer: MNIST test digits re-drawn along their skeletons (synthetic.redraw_as_canvas);
      and MNIST test 0s, 1s, 7s and 9s re-drawn with a slash, a flag, a crossbar or a curled tail, the forms
      the generator draws from its own strokes, here in MNIST writers' hands;
  (d) digits drawn with the mouse in the real app by Playwright (bench/data/app_drawings.npz and
      bench/data/app_forms.npz, made by bench/draw_in_app.py);
  (e) non-digits: the generator's non-digit forms on held-out seeds, and kinds it never draws
      (EVALUATION_ONLY below): the share answered "not a digit", per kind;
  (f) calibration: expected calibration error of the shown confidence on the held-out canvas
      digits of (b), (c) and (d), with and without the model's temperature, and a reliability table;
  (g) with --leave-one-out: for each named form, a model trained without it and one trained
      with it (same quick settings), and how each reads the form.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from digit_app import handwriting  # noqa: E402
from digit_app.model_store import ModelStore  # noqa: E402
from digit_app.calibration import CALIBRATION_BINS, expected_calibration_error  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.handwriting import NOT_A_DIGIT, Form, arc, line  # noqa: E402
from digit_app.inference import Predictor, readings as read_probabilities, split_readings, temperature_of  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402
from digit_app.synthetic import STYLE_NAMES, STYLES, mnist_to_canvas, redraw_as_canvas  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
APP_SETS = [DATA / "app_drawings.npz", DATA / "app_forms.npz"]
BATCH_SIZE = 1000
UNREADABLE = -1  # canvas_to_mnist found nothing to read
REJECTED = NOT_A_DIGIT


def _arrow(rng):
    tip = (1.0, 0.5 + rng.uniform(-0.05, 0.05))
    return [line((0.0, 0.5), tip), line((0.7, 0.2), tip, (0.7, 0.8))]


def _cloud(rng):
    bumps = [arc(0.15 + 0.23 * i, 0.45, 0.13, 0.2, 180, 360) for i in range(4)]
    return [np.vstack([*bumps, line((0.85, 0.45), (0.85, 0.75), (0.1, 0.75), (0.05, 0.45))])]


def _house(rng):
    return [line((0.0, 0.4), (0.0, 1.0), (1.0, 1.0), (1.0, 0.4), (0.0, 0.4)), line((0.0, 0.4), (0.5, 0.0), (1.0, 0.4))]


def _sun(rng):
    rays = [line((0.5 + 0.3 * np.cos(a), 0.5 + 0.3 * np.sin(a)), (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))) for a in np.radians(np.arange(0, 360, 45) + rng.uniform(0, 45))]
    return [arc(0.5, 0.5, 0.22, 0.22, 0, 360), *rays]


def _lightning(rng):
    return [line((0.6, 0.0), (0.2, 0.55), (0.7, 0.45), (0.3, 1.0))]


def _letter_u(rng):
    return [np.vstack([line((0.0, 0.0), (0.0, 0.6)), arc(0.5, 0.6, 0.5, 0.4, 180, 0), line((1.0, 0.6), (1.0, 0.0))])]


# Non-digits the generator never draws: a fair test of "not a digit" on what it has not seen.
EVALUATION_ONLY = [
    Form("arrow", NOT_A_DIGIT, 1.5, _arrow),
    Form("cloud", NOT_A_DIGIT, 1.6, _cloud),
    Form("house", NOT_A_DIGIT, 0.9, _house),
    Form("sun", NOT_A_DIGIT, 1.0, _sun),
    Form("lightning", NOT_A_DIGIT, 0.6, _lightning),
    Form("letter u", NOT_A_DIGIT, 0.8, _letter_u),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model id in the store (default: the active model)")
    parser.add_argument("--per-form", type=int, default=200, help="held-out drawings per generator form (default 200)")
    parser.add_argument("--redrawn", type=int, default=2000, help="re-drawn MNIST test digits (default 2000)")
    parser.add_argument("--restyled", type=int, default=500, help="re-drawn MNIST test 0s, 1s, 7s and 9s with a style added, of each (default 500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out drawings (default 0)")
    parser.add_argument("--leave-one-out", nargs="*", default=[], metavar="FORM",
                        help="forms to leave out of a quick training each, and measure (slow: two trainings per form)")
    parser.add_argument("--leave-one-out-samples", type=int, default=20000, help="MNIST digits for those trainings")
    parser.add_argument("--leave-one-out-epochs", type=int, default=4)
    return parser.parse_args(argv)


class Reader:
    """A model's readings as the Draw page gives them: digit, confidence, answered "not a digit"."""

    def __init__(self, predictor):
        self.predictor = predictor

    def read(self, images):
        """(readings (N,): 0-9, REJECTED, or UNREADABLE where an image is None; confidences (N,))."""
        readings = np.full(len(images), UNREADABLE)
        confidences = np.zeros(len(images))
        readable = [i for i, image in enumerate(images) if image is not None]
        if readable:
            batch = np.stack([images[i] for i in readable]).astype(np.float32)
            probabilities = np.concatenate([self.predictor.predict_batch(batch[i : i + BATCH_SIZE]) for i in range(0, len(batch), BATCH_SIZE)])
            digits, _ = split_readings(probabilities)
            readings[readable] = read_probabilities(probabilities)
            confidences[readable] = digits.max(axis=1)
        return readings, confidences


def report(name, labels, readings):
    """One line: accuracy, digits wrongly rejected, unreadable."""
    accuracy = 100 * np.mean(readings == labels)
    rejected = 100 * np.mean(readings == REJECTED)
    print(f"  {name:<34} {len(labels):>6}  accuracy {accuracy:6.2f}%  rejected {rejected:5.2f}%  unreadable {(readings == UNREADABLE).sum()}")
    return accuracy


def per_digit(labels, readings):
    cells = []
    for digit in range(10):
        mine = labels == digit
        cells.append(f"{digit}: {100 * np.mean(readings[mine] == digit):.1f}" if mine.any() else f"{digit}: -")
    print("    per digit  " + "  ".join(cells))


def images_of(canvases):
    return [canvas_to_mnist(canvas) for canvas in canvases]


def mnist_sets(reader, mnist):
    print("(a) MNIST test digits")
    raw, _ = reader.read(list(mnist.x_test.astype(np.float32) / 255))
    report("raw 28x28", mnist.y_test, raw)
    readings, _ = reader.read([canvas_to_mnist(mnist_to_canvas(digit)) for digit in mnist.x_test])
    report("through the canvas pipeline", mnist.y_test, readings)
    per_digit(mnist.y_test, readings)


def generator_set(reader, per_form, seed):
    print(f"(b) held-out handwriting generator drawings ({per_form} per form, seed {seed}, evaluation stream)")
    images, labels, form_index, names = handwriting.generate(per_form, seed, handwriting.form_names("digits"), split="evaluation")
    readings, _ = reader.read(list(images.astype(np.float32) / 255))
    report("all forms", labels, readings)
    per_digit(labels, readings)
    worst = []
    for index, name in enumerate(names):
        mine = form_index == index
        accuracy = np.mean(readings[mine] == labels[mine])
        wrong = readings[mine][readings[mine] != labels[mine]]
        common = np.bincount(np.where(wrong == UNREADABLE, 11, wrong), minlength=12).argmax() if len(wrong) else None
        read_as = {None: "", REJECTED: ", mostly rejected", 11: ", mostly unreadable"}.get(common, f", mostly read as {common}")
        worst.append(accuracy)
        print(f"    {name:<22} {100 * accuracy:6.2f}%{read_as if accuracy < 1 else ''}")
    print(f"    lowest form: {100 * min(worst):.2f}%")
    return list(images.astype(np.float32) / 255), labels


def redrawn_set(reader, mnist, count, seed):
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(mnist.y_test), size=min(count, len(mnist.y_test)), replace=False)
    print(f"(c) {len(chosen)} MNIST test digits re-drawn along their skeletons (seed {seed})")
    images = [canvas_to_mnist(redraw_as_canvas(mnist.x_test[index], rng)) for index in chosen]
    labels = mnist.y_test[chosen]
    readings, _ = reader.read(images)
    report("re-drawn", labels, readings)
    per_digit(labels, readings)
    return images, labels


def restyled_set(reader, mnist, per_digit_count, seed):
    print(f"(c) MNIST test digits re-drawn with a style added, {per_digit_count} of each (seed {seed})")
    images, labels = [], []
    for digit in STYLES:
        chosen = np.flatnonzero(mnist.y_test == digit)[:per_digit_count]
        # The stream [seed, 4, index]: apart from the plain re-drawn set's.
        images += [canvas_to_mnist(redraw_as_canvas(mnist.x_test[index], np.random.default_rng([seed, 4, index]), style_of=digit))
                   for index in chosen]
        labels += [digit] * len(chosen)
    labels = np.array(labels)
    readings, _ = reader.read(images)
    report("re-drawn with a style", labels, readings)
    for digit in STYLES:
        mine = labels == digit
        print(f"    {STYLE_NAMES[digit]:<26} {100 * np.mean(readings[mine] == digit):6.2f}%")
    return images, labels


def app_sets(reader):
    print("(d) drawn with the mouse in the real app (Playwright)")
    found = [path for path in APP_SETS if path.exists()]
    if not found:
        print("  none: run bench/draw_in_app.py")
        return [], np.zeros(0, int)
    all_images, all_labels = [], []
    for path in found:
        with np.load(path) as data:
            canvases, labels = data["canvases"], data["labels"]
        images = images_of(canvases)
        report(path.name, labels, reader.read(images)[0])
        per_digit(labels, reader.read(images)[0])
        all_images += images
        all_labels.append(labels)
    return all_images, np.concatenate(all_labels)


def non_digit_sets(reader, per_form, seed):
    print(f"(e) drawings that are not digits ({per_form} per kind)")
    images, labels, form_index, names = handwriting.generate(per_form, seed, handwriting.form_names("non-digits"), split="evaluation")
    readings, _ = reader.read(list(images.astype(np.float32) / 255))
    rates = {name: np.mean(readings[form_index == index] == REJECTED) for index, name in enumerate(names)}
    unseen = {}
    for form in EVALUATION_ONLY:
        rng = np.random.default_rng([seed, 99, len(unseen)])
        drawings = images_of(handwriting.write(form, rng) for _ in range(per_form))
        unseen[form.name] = np.mean(reader.read(drawings)[0] == REJECTED)
    print(f"  generator's kinds, held-out seeds: {100 * np.mean(list(rates.values())):.2f}% answered 'not a digit'")
    print("    " + ", ".join(f"{name} {100 * rate:.0f}%" for name, rate in rates.items()))
    print(f"  kinds never trained on: {100 * np.mean(list(unseen.values())):.2f}% answered 'not a digit'")
    print("    " + ", ".join(f"{name} {100 * rate:.0f}%" for name, rate in unseen.items()))
    every = [*rates.values(), *unseen.values()]
    print(f"  all non-digits: {100 * np.mean(every):.2f}% answered 'not a digit'")


def calibration(predictor, sets):
    """Sets: (images, labels) pairs of held-out canvas digits."""
    images = [image for set_images, _ in sets for image in set_images]
    labels = np.concatenate([set_labels for _, set_labels in sets])
    raw_readings, raw_confidences = Reader(Predictor(predictor.model, predictor.model_id, temperature=1.0)).read(images)
    raw_shown = (raw_readings != REJECTED) & (raw_readings != UNREADABLE)
    uncalibrated = expected_calibration_error(raw_confidences[raw_shown], raw_readings[raw_shown] == labels[raw_shown])
    readings, confidences = Reader(predictor).read(images)
    shown = (readings != REJECTED) & (readings != UNREADABLE)
    correct = readings[shown] == labels[shown]
    print(f"(f) calibration on {shown.sum()} held-out canvas digits read as digits, temperature {predictor.temperature:.2f}")
    print(f"  expected calibration error: {100 * expected_calibration_error(confidences[shown], correct):.2f}% "
          f"(with temperature 1: {100 * uncalibrated:.2f}%)")
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    which = np.minimum((confidences[shown] * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    print("    confidence bin     count  mean confidence  accuracy")
    for b in range(CALIBRATION_BINS):
        members = which == b
        if members.sum() >= 20:
            print(f"    {100 * edges[b]:5.1f}-{100 * edges[b + 1]:5.1f}%  {members.sum():>8}  {100 * confidences[shown][members].mean():14.1f}%  {100 * correct[members].mean():7.1f}%")


def leave_one_out(names, samples, epochs, per_form, seed):
    from digit_app.settings import TrainingSettings
    from digit_app.training import train

    print(f"(g) leave one form out: cnn trained on {samples} MNIST digits, {epochs} epochs, with and without the form")
    settings = TrainingSettings(epochs=epochs, augment=True, cosine_decay=True, max_train_samples=samples)
    with_all = Reader(_predictor(train(settings)))
    for name in names:
        images, labels, _, _ = handwriting.generate(per_form, seed, [name], split="evaluation")
        images = list(images.astype(np.float32) / 255)
        without = Reader(_predictor(train(settings, left_out_forms=(name,))))
        print(f"  {name:<22} without it {100 * np.mean(without.read(images)[0] == labels):6.2f}%   "
              f"with it {100 * np.mean(with_all.read(images)[0] == labels):6.2f}%")


def _predictor(result):
    return Predictor(result.model, temperature=result.temperature)


def main(argv=None):
    args = parse_args(argv)
    model_store = ModelStore()
    model_id = args.model or model_store.active_id()
    predictor = Predictor(model_store.load(model_id), model_id, temperature_of(model_store, model_id))
    print(f"model: {model_id} ({predictor.model.output_shape[-1]} outputs, temperature {predictor.temperature:.2f})")
    reader = Reader(predictor)
    mnist = load_mnist()
    mnist_sets(reader, mnist)
    generated = generator_set(reader, args.per_form, args.seed)
    redrawn = redrawn_set(reader, mnist, args.redrawn, args.seed)
    restyled = restyled_set(reader, mnist, args.restyled, args.seed)
    app = app_sets(reader)
    non_digit_sets(reader, max(50, args.per_form // 2), args.seed)
    calibration(predictor, [generated, redrawn, restyled, app])
    if args.leave_one_out:
        leave_one_out(args.leave_one_out, args.leave_one_out_samples, args.leave_one_out_epochs, args.per_form, args.seed)


if __name__ == "__main__":
    main()
