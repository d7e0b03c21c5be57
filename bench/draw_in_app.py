"""Draw digits with the mouse in the real app, and keep the canvases as an evaluation set.

    python bench/draw_in_app.py [--out bench/data/app_drawings.npz] [--models-dir models]
    python bench/draw_in_app.py --forms 4       # the handwriting generator's digit forms instead

With --forms K, it draws K held-out drawings of every digit form of digit_app.handwriting (its
"evaluation" random stream, seed FORMS_SEED, which no training draws from) with the mouse, at the
pen width of the three below nearest to the drawing's, and saves them to bench/data/app_forms.npz.

Starts `streamlit run streamlit_app.py` on a tmp copy of the models folder, opens the Draw page in
Chromium and draws every shape below, each in two placements (size, position, slant) and with
one of three pen widths, along hand-made paths. After each drawing it reads the canvas pixels,
exactly what the app receives (RGBA, 280x280), and the app's reading, then clears the canvas.
Prints the reading against the truth, and saves the canvases with np.savez_compressed:

    canvases (N, 280, 280, 4) uint8, labels (N,) uint8, descriptions (N,) str, pen_widths (N,) uint8

bench/data/app_drawings.npz is an evaluation set: it is never trained on.
"""

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e import app_driver  # noqa: E402

OUT = ROOT / "bench" / "data" / "app_drawings.npz"
FORMS_OUT = ROOT / "bench" / "data" / "app_forms.npz"
FORMS_SEED = 7
MOUSE_STEP = 8  # px between the mouse positions sent along a generated stroke
CANVAS_SIZE = 280
MARGIN = 6  # px kept clear at the canvas edge
CURVE_STEPS = 5  # points of the smoothed stroke per hand-made segment

# The digits as people draw them: (label, description, strokes), each stroke a list of points in
# a 100 x 100 box (x to the right, y down), in the order a pen goes.
SHAPES = [
    (0, "oval", [[(50, 2), (30, 8), (18, 30), (16, 55), (24, 82), (45, 98), (65, 95), (80, 75), (84, 45),
                  (76, 15), (58, 2), (46, 5)]]),
    (0, "round", [[(55, 4), (30, 12), (14, 40), (18, 72), (40, 95), (70, 92), (86, 65), (84, 32), (66, 8),
                   (50, 5)]]),
    (0, "narrow, leaning", [[(56, 2), (38, 14), (30, 45), (32, 80), (46, 98), (62, 88), (70, 55), (68, 20),
                             (58, 4)]]),
    (1, "plain stroke", [[(52, 2), (51, 50), (50, 98)]]),
    (1, "with a flag", [[(32, 22), (54, 2), (53, 50), (52, 98)]]),
    (1, "with a flag and a base", [[(32, 22), (54, 2), (53, 50), (52, 98)], [(30, 98), (74, 98)]]),
    (2, "curved", [[(20, 25), (30, 8), (50, 2), (70, 8), (78, 25), (72, 45), (50, 65), (20, 98), (82, 98)]]),
    (2, "round top, straight diagonal", [[(20, 20), (35, 3), (62, 3), (78, 20), (74, 40), (20, 96), (82, 96)]]),
    (3, "two bumps", [[(22, 12), (40, 2), (62, 3), (76, 15), (72, 35), (48, 47), (75, 58), (80, 78), (65, 95),
                       (40, 98), (20, 88)]]),
    (3, "flat top", [[(22, 5), (78, 5), (45, 42), (70, 52), (80, 72), (68, 92), (42, 98), (20, 88)]]),
    (4, "open top", [[(28, 2), (22, 58), (82, 58)], [(66, 15), (66, 98)]]),
    (4, "closed top", [[(62, 2), (18, 64), (84, 64)], [(62, 2), (62, 98)]]),
    (5, "bar drawn last", [[(30, 4), (26, 42), (50, 35), (72, 45), (80, 65), (72, 88), (50, 98), (22, 90)],
                           [(30, 4), (76, 4)]]),
    (5, "one stroke", [[(76, 4), (30, 4), (27, 44), (52, 36), (74, 46), (80, 68), (70, 90), (45, 98), (22, 88)]]),
    (6, "curved stem", [[(70, 5), (48, 15), (30, 38), (22, 62), (28, 85), (48, 97), (68, 90), (76, 72), (66, 56),
                         (45, 52), (28, 62)]]),
    (6, "straight stem", [[(60, 2), (30, 50), (25, 70), (35, 92), (55, 97), (72, 85), (72, 65), (55, 55), (35, 60),
                           (27, 72)]]),
    (7, "plain", [[(20, 5), (80, 5), (40, 98)]]),
    (7, "with a bar", [[(20, 5), (80, 5), (42, 98)], [(35, 52), (75, 52)]]),
    (7, "curved stem", [[(22, 8), (80, 5), (60, 40), (50, 70), (48, 98)]]),
    (8, "one stroke", [[(68, 12), (50, 2), (30, 10), (30, 30), (50, 45), (72, 62), (74, 85), (50, 98), (26, 86),
                        (28, 62), (50, 45), (70, 30), (70, 12)]]),
    (8, "two loops", [[(50, 2), (30, 12), (32, 35), (50, 45), (68, 35), (70, 12), (50, 2)],
                      [(50, 45), (26, 60), (25, 85), (50, 98), (75, 85), (74, 60), (50, 45)]]),
    (9, "loop and straight stem", [[(72, 20), (58, 5), (35, 6), (24, 22), (30, 40), (50, 45), (70, 35), (74, 18),
                                    (72, 50), (68, 98)]]),
    (9, "loop and curved tail", [[(74, 25), (55, 5), (30, 10), (25, 30), (40, 45), (62, 42), (75, 25), (73, 60),
                                  (62, 88), (40, 98), (25, 90)]]),
]  # fmt: skip

# (scale in canvas px per box unit, centre x, centre y, slant: x shift per unit of height above
# the middle). Each shape is drawn in two of them.
PLACEMENTS = [
    (1.9, 140, 140, 0.0),  # large, centred, upright
    (1.2, 100, 105, 0.15),  # small, top left, leaning right
    (2.3, 145, 140, -0.1),  # filling the canvas, leaning left
    (1.5, 175, 165, 0.25),  # bottom right, leaning well right
    (1.0, 150, 125, 0.0),  # small, near the centre
]
PEN_WIDTHS = (14, 20, 28)  # thin, the app's default, thick
PEN_WIDTH_SLIDER = ".st-key-stroke_width input[type=range]"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help=f"npz to write (default {OUT.relative_to(ROOT)}, "
                        f"or {FORMS_OUT.relative_to(ROOT)} with --forms)")
    parser.add_argument("--forms", type=int, default=0, metavar="K",
                        help="draw K held-out drawings of each handwriting digit form instead of the shapes below")
    parser.add_argument(
        "--models-dir", type=Path, default=ROOT / "models", help="models folder to copy (default models/)"
    )
    return parser.parse_args(argv)


def smooth(stroke, steps=CURVE_STEPS):
    """The stroke as a Catmull-Rom curve through its points: a hand's curves, not a polygon's."""
    points = np.asarray(stroke, np.float64)
    if len(points) < 3:
        return [tuple(point) for point in points]
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    curve = []
    for before, start, end, after in zip(padded, padded[1:], padded[2:], padded[3:]):
        # The uniform Catmull-Rom segment from start to end, shaped by the points either side.
        linear = end - before
        quadratic = 2 * before - 5 * start + 4 * end - after
        cubic = 3 * start - before - 3 * end + after
        curve.extend(start + 0.5 * (linear * t + quadratic * t**2 + cubic * t**3))
    curve.append(points[-1])
    return [tuple(point) for point in curve]


def place(strokes, scale, centre_x, centre_y, slant):
    """Box strokes -> smooth canvas strokes at this size, position and slant, inside the canvas."""

    def point(x, y):
        canvas_x = centre_x + (x - 50) * scale + slant * (50 - y) * scale
        canvas_y = centre_y + (y - 50) * scale
        return tuple(float(np.clip(value, MARGIN, CANVAS_SIZE - MARGIN)) for value in (canvas_x, canvas_y))

    return [[point(x, y) for x, y in smooth(stroke)] for stroke in strokes]


def drawings():
    """(label, description, canvas strokes, pen width) for every shape in two placements,
    grouped by pen width so that the slider moves only twice."""
    plans = []
    for index, (label, description, strokes) in enumerate(SHAPES):
        for turn in range(2):
            placement = PLACEMENTS[(2 * index + turn) % len(PLACEMENTS)]
            pen_width = PEN_WIDTHS[(2 * index + turn) % len(PEN_WIDTHS)]
            scale, centre_x, centre_y, slant = placement
            text = f"{description}, {scale:.1f}x at ({centre_x}, {centre_y}), slant {slant:+.2f}"
            plans.append((label, text, place(strokes, *placement), pen_width))
    return sorted(plans, key=lambda plan: PEN_WIDTHS.index(plan[3]))


def form_drawings(per_form):
    """(label, description, canvas strokes, pen width) for `per_form` held-out drawings of each
    digit form of the handwriting generator, grouped by pen width."""
    from digit_app import handwriting

    plans = []
    for name in handwriting.form_names("digits"):
        form = handwriting.FORMS[name]
        for index in range(per_form):
            rng = handwriting.random_stream(name, FORMS_SEED, "evaluation", index)
            drawing = handwriting.hand(form, rng, CANVAS_SIZE)
            pen_width = min(PEN_WIDTHS, key=lambda width: abs(width - drawing.pen_width))
            strokes = [_spaced(stroke) for stroke in drawing.strokes]
            plans.append((form.label, f"{name} #{index}", strokes, pen_width))
    return sorted(plans, key=lambda plan: PEN_WIDTHS.index(plan[3]))


def _spaced(stroke):
    """The stroke's points MOUSE_STEP apart or more, inside the canvas: what a mouse sends."""
    kept = [stroke[0]]
    for point in stroke[1:]:
        if np.hypot(point[0] - kept[-1][0], point[1] - kept[-1][1]) >= MOUSE_STEP:
            kept.append(point)
    if kept[-1] != stroke[-1]:
        kept.append(stroke[-1])
    return [tuple(float(np.clip(value, MARGIN, CANVAS_SIZE - MARGIN)) for value in point) for point in kept]


def set_pen_width(page, width):
    """Move the Pen width slider to `width` with the arrow keys, as a person can."""
    slider = page.locator(PEN_WIDTH_SLIDER)
    current = int(slider.input_value())
    if current == width:
        return
    slider.focus()
    key = "ArrowRight" if width > current else "ArrowLeft"
    app_driver.rerun_after(page, lambda: [page.keyboard.press(key) for _ in range(abs(width - current))])
    page.wait_for_function(
        "([selector, width]) => document.querySelector(selector).value === String(width)",
        arg=[PEN_WIDTH_SLIDER, width],
    )
    app_driver.wait_until_idle(page)
    slider.blur()  # so that no stray key moves it


def draw_and_read(page, strokes):
    """Clear the canvas, draw, and return (canvas pixels, the app's reading, its confidence)."""
    app_driver.rerun_after(page, page.locator(".st-key-clear_canvas button").click)
    app_driver.draw(page, strokes)
    reading = app_driver.prediction(page)
    confidence = app_driver.metric_value(page, "Confidence")
    return app_driver.canvas_pixels(page), reading, confidence.first.inner_text() if reading else "-"


def main(argv=None):
    args = parse_args(argv)
    if not (args.models_dir / "default-cnn.keras").exists():
        raise SystemExit(f"No default model in {args.models_dir}; train one or pass --models-dir.")
    plans = form_drawings(args.forms) if args.forms else drawings()
    out = args.out or (FORMS_OUT if args.forms else OUT)
    canvases, labels, descriptions, pen_widths, readings = [], [], [], [], []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="draw-in-app-") as tmp:
        tmp = Path(tmp)
        shutil.copytree(args.models_dir, tmp / "models", ignore=shutil.ignore_patterns(".tmp-*", "active.json"))
        env = {"DIGIT_APP_MODELS": str(tmp / "models"), "DIGIT_APP_DRAWINGS_DB": str(tmp / "drawings.sqlite3")}
        with app_driver.AppServer(tmp / "streamlit.log", env=env) as server, sync_playwright() as playwright:
            browser = app_driver.launch_chromium(playwright)
            page = app_driver.open_app(browser, server.url)
            app_driver.canvas_box(page)
            for label, description, strokes, pen_width in plans:
                set_pen_width(page, pen_width)
                pixels, reading, confidence = draw_and_read(page, strokes)
                mark = "ok " if reading == str(label) else "MISS"
                print(
                    f"{mark} {label}  read {reading or 'nothing':7s} {confidence:>6s}  pen {pen_width:2d}  {description}"
                )
                canvases.append(pixels)
                labels.append(label)
                descriptions.append(f"{label}: {description}")
                pen_widths.append(pen_width)
                readings.append(reading)
            browser.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        canvases=np.stack(canvases).astype(np.uint8),
        labels=np.array(labels, np.uint8),
        descriptions=np.array(descriptions),
        pen_widths=np.array(pen_widths, np.uint8),
    )
    correct = sum(reading == str(label) for reading, label in zip(readings, labels))
    misses = Counter(label for reading, label in zip(readings, labels) if reading != str(label))
    print(
        f"\nThe app read {correct} of {len(labels)} drawings right ({correct / len(labels):.0%}) in "
        f"{time.perf_counter() - started:.0f} s; misses by digit: {dict(sorted(misses.items())) or 'none'}."
    )
    print(f"Saved {len(labels)} canvases {canvases[0].shape} to {out} ({out.stat().st_size / 1024:.0f} KB).")


if __name__ == "__main__":
    main()
