"""A picture of every handwriting form: a few drawings of each as the canvas shows them, and what
the model sees of each (28x28).

    python bench/forms_sheet.py [--out docs/forms.png] [--per-form 6] [--kind digits|non-digits|all]
    python bench/forms_sheet.py --kind restyled --out docs/restyled.png

The drawings come from the generator's evaluation stream, which no training draws from; with
--kind restyled, MNIST test 0s, 1s, 7s and 9s re-drawn with a slash, a flag, a crossbar or a curled tail.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from digit_app import handwriting  # noqa: E402
from digit_app.data import load_mnist  # noqa: E402
from digit_app.preprocess import canvas_to_mnist  # noqa: E402
from digit_app.synthetic import STYLE_NAMES, STYLES, redraw_as_canvas  # noqa: E402

TILE = 64
LABEL_WIDTH = 150
CHECKERBOARD = (205, 215)  # grey squares behind a transparent canvas, as image editors show it


def on_screen(canvas):
    """The canvas as RGB, over a checkerboard where it is transparent."""
    rows, columns = np.indices(canvas.shape[:2])
    board = np.where(((rows // 14 + columns // 14) % 2)[..., None] == 0, CHECKERBOARD[0], CHECKERBOARD[1])
    alpha = canvas[..., 3:].astype(np.float32) / 255
    return (canvas[..., :3] * alpha + board * (1 - alpha)).astype(np.uint8)


def rows_of(kind):
    """(name, drawing(column) -> canvas) for each row of the picture."""
    if kind != "restyled":
        return [(name, lambda column, name=name: handwriting.write(
            handwriting.FORMS[name], handwriting.random_stream(name, 3, "evaluation", column))) for name in handwriting.form_names(kind)]
    mnist = load_mnist()
    return [(f"{STYLE_NAMES[digit]}, MNIST", lambda column, digit=digit: redraw_as_canvas(
        mnist.x_test[np.flatnonzero(mnist.y_test == digit)[column]], np.random.default_rng([3, column]), style_of=digit))
        for digit in STYLES]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "forms.png")
    parser.add_argument("--per-form", type=int, default=6)
    parser.add_argument("--kind", choices=["digits", "non-digits", "all", "restyled"], default="all")
    args = parser.parse_args(argv)
    rows = rows_of(args.kind)
    sheet = Image.new("RGB", (LABEL_WIDTH + args.per_form * 2 * TILE, len(rows) * TILE), (255, 255, 255))
    pen = ImageDraw.Draw(sheet)
    for row, (name, drawing) in enumerate(rows):
        pen.text((6, row * TILE + TILE // 2 - 6), name, fill=(17, 24, 39))
        for column in range(args.per_form):
            canvas = drawing(column)
            x, y = LABEL_WIDTH + column * 2 * TILE, row * TILE
            sheet.paste(Image.fromarray(on_screen(canvas)).resize((TILE - 2, TILE - 2), Image.Resampling.BOX), (x, y))
            model_input = canvas_to_mnist(canvas)
            if model_input is not None:
                seen = Image.fromarray((model_input * 255).astype(np.uint8)).resize((TILE - 2, TILE - 2), Image.Resampling.NEAREST)
                sheet.paste(seen.convert("RGB"), (x + TILE - 1, y))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"Saved {len(rows)} forms x {args.per_form} drawings to {args.out} ({args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
