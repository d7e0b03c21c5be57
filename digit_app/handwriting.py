"""Digits written as people write them, and drawings that are not digits, generated as pen strokes.

MNIST's writers rarely crossed a 7, flagged a 1 or curled a 9's tail, and augmentation warps a shape
but cannot add a crossbar. So each form people use is written here as pen strokes, in the order a
pen goes, and every drawing varies what varies between hands:

- the form's own proportions and curvature (each form draws its parameters: how long a 1's flag is,
  where a 7 is crossed, how far a 9's tail curls);
- slant, rotation and width, as a whole;
- where each stroke starts and ends (overshoot past a join, or a gap short of it), a smooth bend
  along each stroke, a small tremor, and now and then a pen lift mid-stroke;
- the pen width, the size and place on the canvas, and the ink and paper colours.

A drawing is rendered the way the canvas renders it (synthetic.draw_strokes: a round pen,
anti-aliased) and prepared with preprocess.canvas_to_mnist, so it is what the model sees on the
Draw page. Drawing i of a form comes from its own random stream (seed, split, i, form):
generation is deterministic, in any order and in any number of processes. Generated sets are
cached on disk, keyed by GENERATOR_VERSION, which changes whenever a change here changes the
drawings.
"""

import dataclasses
import hashlib
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from digit_app.preprocess import canvas_to_mnist
from digit_app.synthetic import CANVAS_SIZE, STYLES, draw_strokes, redraw_as_canvas

GENERATOR_VERSION = 8
NOT_A_DIGIT = 10  # the class of a drawing that is no digit: models with 11 outputs answer it
# Separate random streams: whatever the seed, no training drawing is also a validation or an
# evaluation drawing.
SPLITS = {"train": 0, "validation": 1, "evaluation": 2}
# The two shares below were 0.4 and 0.3. At 0.8 each, trained in bfloat16 for 32 or 36 epochs, the
# cnn did better on every validation set (MNIST, re-drawn MNIST, non-digits:
# bench/not_a_digit_threshold.py); an epoch takes 16-20 s here.
DRAWINGS_PER_MNIST_DIGIT = 0.8  # how many generated drawings a training adds per MNIST digit it learns from
NON_DIGIT_SHARE = 0.35  # of the generated drawings, those that are no digit
# Forms drawn this many times as often as the others of their group: a scribble has no set shape,
# so a few hundred of them cover far less of what people scribble than they do of plus signs.
DRAWN_MORE = {"scribble": 4, "to and fro": 3}
VALIDATION_SHARE = 0.1  # generated validation drawings per training drawing
REDRAWN_PER_MNIST_DIGIT = 0.8  # MNIST training digits re-drawn with a canvas pen, per MNIST digit
REDRAWN_STREAM = 3  # the random stream of re-drawing, apart from SPLITS
RESTYLED_SHARE = 0.5  # of the re-drawn 0s, 1s, 7s and 9s, those given a slash, a flag, a crossbar or a curled tail (synthetic.STYLES)
# The forms each style draws: leaving one of them out of a training leaves out the style too.
STYLE_FORMS = {0: ("0 slashed",), 1: ("1 flag", "1 flag and base"), 7: ("7 crossed",), 9: ("9 curved tail", "9 hooked tail")}
PARALLEL_FROM = 2000  # drawings: a smaller set is drawn in this process, quicker than starting others
CACHE_ENV_VAR = "DIGIT_APP_CACHE"
DEFAULT_CACHE_DIR = Path.home() / ".cache" / "digit_app"

# Variation of a whole drawing.
SLANT_RANGE = (-0.15, 0.4)  # horizontal shift per unit of height: most people lean right
ROTATION_DEGREES = 8
WIDTH_JITTER = (0.8, 1.25)  # times the form's width-to-height ratio
HEIGHT_FRACTION_RANGE = (0.3, 0.92)  # of the canvas
PEN_WIDTHS = (8, 40)  # the Draw page's pen slider; most drawings use the middle of it
PEN_WIDTH_MODE = 18
MAX_PEN_TO_HEIGHT = 0.22  # a wider pen on a small drawing makes a blob that no one could read
# Variation along strokes, in units of the drawing's height.
BEND = 0.03  # smooth displacement of a stroke (a hand is not a ruler)
TREMOR = 0.004
END_RANGE = (-0.05, 0.07)  # each stroke end stops short of (below 0) or runs past (above 0) its mark
PEN_LIFT_PROBABILITY = 0.08  # a stroke broken in two by a lift of the pen
POINT_SPACING = 0.02  # polyline points this far apart: smooth curves, few points to draw
# Colours: most drawings are the Draw page's dark ink on white; the rest vary ink and paper.
APP_INK, APP_PAPER = (17, 24, 39, 255), (255, 255, 255, 255)
APP_COLOURS_PROBABILITY = 0.6
TRANSPARENT_PAPER_PROBABILITY = 0.15


@dataclasses.dataclass(frozen=True)
class Form:
    name: str
    label: int  # 0-9, or NOT_A_DIGIT
    width: float  # width-to-height ratio of its box
    strokes: object  # strokes(rng) -> list of (N, 2) arrays of (x, y), x and y in 0..1, y down


# --- Stroke pieces, in the form's unit box (x to the right, y down). ---


def line(*points):
    return np.array(points, np.float64)


def arc(centre_x, centre_y, radius_x, radius_y, start_degrees, end_degrees):
    """Points along an ellipse; angles clockwise on screen from 3 o'clock (270 is the top)."""
    count = max(4, int(abs(end_degrees - start_degrees) / 6))
    angles = np.radians(np.linspace(start_degrees, end_degrees, count))
    return np.stack([centre_x + radius_x * np.cos(angles), centre_y + radius_y * np.sin(angles)], axis=1)


def curve(*controls):
    """A Bezier curve (quadratic or cubic) through its end points."""
    controls = np.array(controls, np.float64)
    t = np.linspace(0, 1, 16)[:, None]
    if len(controls) == 3:
        return (1 - t) ** 2 * controls[0] + 2 * (1 - t) * t * controls[1] + t**2 * controls[2]
    return (
        (1 - t) ** 3 * controls[0] + 3 * (1 - t) ** 2 * t * controls[1]
        + 3 * (1 - t) * t**2 * controls[2] + t**3 * controls[3]
    )


def joined(*pieces):
    """One stroke from pieces drawn one after the other without lifting the pen."""
    return np.vstack(pieces)


# --- The digit forms. Each draws its own proportions from rng. ---


def _zero(rng, gap=0.0, slash=False):
    start = rng.uniform(-130, -50)  # near the top
    turn = -1 if rng.random() < 0.7 else 1  # most people go anticlockwise
    span = 360 - gap if gap else 360 + rng.uniform(0, 35)
    squeeze = rng.uniform(0.9, 1.1)  # an egg: one end narrower than the other
    loop = arc(0.5, 0.5, 0.5, 0.5, start, start + turn * span)
    loop[:, 0] = 0.5 + (loop[:, 0] - 0.5) * np.where(loop[:, 1] < 0.5, squeeze, 2 - squeeze)
    strokes = [loop]
    if slash:
        strokes.append(line((rng.uniform(0.75, 1.05), rng.uniform(-0.05, 0.15)), (rng.uniform(-0.05, 0.25), rng.uniform(0.85, 1.05))))
    return strokes


def _one(rng, flag=False, base=False):
    stem = line((0.5, 0.0), (0.5 + rng.uniform(-0.05, 0.05), 1.0))
    if not flag:
        return [stem]
    flag_x, flag_y = rng.uniform(0.0, 0.3), rng.uniform(0.05, 0.5)  # short and flat to long and steep
    if rng.random() < 0.5:
        flag_stroke = line((flag_x, flag_y), (0.5, 0.0))
    else:  # a curved flag
        flag_stroke = curve((flag_x, flag_y), (rng.uniform(0.25, 0.4), rng.uniform(0.0, 0.15)), (0.5, 0.0))
    strokes = [joined(flag_stroke, stem)]
    if base:
        half = rng.uniform(0.25, 0.5)
        strokes.append(line((0.5 - half, 1.0), (0.5 + half * rng.uniform(0.8, 1.2), 1.0)))
    return strokes


def _two(rng, loop=False):
    top_y = rng.uniform(0.22, 0.32)
    top = arc(0.5, top_y, 0.45, top_y, rng.uniform(170, 210), rng.uniform(355, 385))
    neck_end = (rng.uniform(0.0, 0.12), 1.0)
    bend = rng.uniform(-0.15, 0.2)  # a straight diagonal, or bowed
    neck = curve(top[-1], (0.5 + bend, 0.55 + bend / 2), neck_end)
    if loop:
        size = rng.uniform(0.1, 0.16)
        curl = arc(neck_end[0] + size, 1.0 - size, size, size, 135, 135 - 330)
        neck = curve(top[-1], (0.5 + bend, 0.55 + bend / 2), (0.1, 0.95))
        return [joined(top, neck, curl, line((rng.uniform(0.5, 0.7), 1.0), (1.0, rng.uniform(0.95, 1.02))))]
    return [joined(top, neck, line(neck_end, (1.0, rng.uniform(0.95, 1.03))))]


def _three(rng, flat=False):
    middle_y = rng.uniform(0.4, 0.5)
    lower = arc(0.45, (1 + middle_y) / 2, 0.52, (1 - middle_y) / 2, -90, rng.uniform(130, 165))
    if flat:
        upper = line((rng.uniform(0.0, 0.1), 0.0), (0.95, 0.0), (rng.uniform(0.3, 0.5), middle_y))
        return [joined(upper, lower[1:])]
    upper = arc(0.48, middle_y / 2, 0.42, middle_y / 2, rng.uniform(190, 220), 450)
    lower[:, 0] += rng.uniform(-0.05, 0.05)
    if rng.random() < 0.3:  # the two bowls as two strokes
        return [upper, lower]
    return [joined(upper, lower)]


def _four(rng, style):
    bar_y = rng.uniform(0.45, 0.72)
    stem_x = rng.uniform(0.55, 0.8)
    bar_end = rng.uniform(0.9, 1.05)
    if style == "closed":
        top = (stem_x + rng.uniform(-0.05, 0.02), 0.0)
        if rng.random() < 0.5:
            return [line(top, (0.0, bar_y), (bar_end, bar_y)), line((stem_x, rng.uniform(0.0, 0.25)), (stem_x, 1.0))]
        return [line((stem_x, 1.0), top, (0.0, bar_y), (bar_end, bar_y))]
    left_top = (rng.uniform(0.0, 0.35), rng.uniform(0.0, 0.2))
    left = line(left_top, (0.0, bar_y)) if rng.random() < 0.6 else curve(left_top, (-0.05, bar_y * 0.7), (0.05, bar_y))
    if style == "two strokes":
        return [joined(left, line((0.0, bar_y), (bar_end, bar_y))), line((stem_x, rng.uniform(-0.05, 0.2)), (stem_x, 1.0))]
    # Open, in one stroke: down, across to the stem, up it and back down.
    corner = curve((0.0, bar_y), (0.02, bar_y + 0.05), (0.15, bar_y + 0.02))
    up = line((stem_x, bar_y), (stem_x + rng.uniform(-0.03, 0.06), rng.uniform(0.0, 0.15)))
    down = line(up[-1], (stem_x - rng.uniform(0.0, 0.06), 1.0))
    return [joined(left, corner, line(corner[-1], (stem_x, bar_y)), up, down)]


def _five(rng, one_stroke=True):
    left_x = rng.uniform(0.05, 0.25)
    join_y = rng.uniform(0.38, 0.5)
    belly = arc(0.45, (1 + join_y) / 2, 0.5, (1 - join_y) / 2 + 0.02, rng.uniform(-150, -110), rng.uniform(130, 165))
    stem = line((left_x, 0.0), (left_x - rng.uniform(0.0, 0.08), join_y))
    top = line((rng.uniform(0.85, 1.0), rng.uniform(-0.05, 0.03)), (left_x, 0.0))
    if one_stroke:
        return [joined(top, stem, belly)]
    return [joined(stem, belly), top[::-1] if rng.random() < 0.7 else top]


def _six(rng, closed=True):
    loop_y = rng.uniform(0.66, 0.76)  # the loop's top well below the stem's start, or it reads as a 0
    radius_y = 1 - loop_y
    stem = curve((rng.uniform(0.6, 0.9), 0.0), (rng.uniform(0.0, 0.2), rng.uniform(0.15, 0.35)), (0.0, loop_y))
    end = -180 - rng.uniform(-20, 25) if closed else -rng.uniform(60, 120)
    loop = arc(0.5, loop_y, 0.5, radius_y, 180, end)
    return [joined(stem, loop)]


def _seven(rng, style):
    top_y = rng.uniform(-0.08, 0.08)
    foot = (rng.uniform(0.1, 0.55), 1.0)
    start = (0.0, rng.uniform(-0.03, 0.05))
    if style == "hooked top":
        start = (rng.uniform(-0.02, 0.05), rng.uniform(0.12, 0.25))
        top = joined(line(start, (0.02, 0.0)), line((0.02, 0.0), (1.0, top_y)))
    elif rng.random() < 0.3:  # a wavy top bar
        top = curve(start, (0.35, rng.uniform(-0.12, 0.08)), (0.65, rng.uniform(-0.08, 0.12)), (1.0, top_y))
    else:
        top = line(start, (1.0, top_y))
    if style == "curved stem":
        stem = curve((1.0, top_y), (rng.uniform(0.55, 0.7), 0.3), (foot[0] + 0.05, 0.6), foot)
    else:
        stem = line((1.0, top_y), foot)
    strokes = [joined(top, stem)]
    if style == "crossed":
        bar_y = rng.uniform(0.35, 0.68)
        across = 1.0 - (1.0 - foot[0]) * bar_y  # where the stem is at that height
        bar = line((across - rng.uniform(0.12, 0.45), bar_y), (across + rng.uniform(0.12, 0.45), bar_y + rng.uniform(-0.08, 0.08)))
        strokes.append(bar if rng.random() < 0.8 else bar[::-1])
    return strokes


def _eight(rng, one_stroke=True):
    waist = rng.uniform(0.4, 0.5)
    if not one_stroke:
        upper = arc(0.5, waist / 2, rng.uniform(0.32, 0.45), waist / 2, 90, 90 - 370)
        lower = arc(0.5, (1 + waist) / 2, 0.5, (1 - waist) / 2, -90, -90 + 370 * rng.choice([-1, 1]))
        return [upper, lower]
    t = np.linspace(rng.uniform(-0.4, 0.1), 2 * np.pi + rng.uniform(0.0, 0.4), 60)
    height = 0.5 - 0.5 * np.cos(t)
    y = np.where(height < 0.5, height * waist / 0.5, waist + (height - 0.5) * (1 - waist) / 0.5)
    x = 0.5 + 0.47 * np.sin(2 * t) * (1 if rng.random() < 0.7 else -1)
    return [np.stack([x, y], axis=1)]


def _nine(rng, tail):
    loop_y = rng.uniform(0.22, 0.28) if tail == "g" else rng.uniform(0.22, 0.4)
    right = rng.uniform(0.85, 1.0)
    width = rng.uniform(0.35, 0.5)  # round or narrow loops
    loop = arc(right - width, loop_y, width, loop_y, rng.uniform(-10, 20), -360 + rng.uniform(-15, 25))
    top = (right, loop_y)
    if tail == "straight":
        return [joined(loop, line(top, (right - rng.uniform(0.0, 0.15), 1.0)))]
    if tail == "curved":
        bow = rng.uniform(-0.05, 0.15)
        return [joined(loop, curve(top, (right + bow, 0.7), (rng.uniform(0.05, 0.6), rng.uniform(0.9, 1.02))))]
    if tail == "hooked":
        size = rng.uniform(0.1, 0.25)
        stem = line(top, (right - 0.05, 1.0 - size))
        hook = arc(right - 0.05 - size, 1.0 - size, size, size, 0, rng.uniform(120, 210))
        return [joined(loop, stem, hook)]
    # Looped like a g: down, then round to the left below the loop, open (closed, it reads as an 8).
    stem = line(top, (right, 0.78))
    under = arc(right - 0.35, 0.78, 0.35, 0.22, 0, rng.uniform(140, 185))
    return [joined(loop, stem, under)]


DIGIT_FORMS = [
    Form("0 closed", 0, 0.7, lambda rng: _zero(rng)),
    Form("0 open", 0, 0.7, lambda rng: _zero(rng, gap=rng.uniform(25, 60))),
    Form("0 slashed", 0, 0.7, lambda rng: _zero(rng, slash=True)),
    Form("1 plain", 1, 0.15, lambda rng: _one(rng)),
    Form("1 flag", 1, 0.45, lambda rng: _one(rng, flag=True)),
    Form("1 flag and base", 1, 0.6, lambda rng: _one(rng, flag=True, base=True)),
    Form("2 plain", 2, 0.7, lambda rng: _two(rng)),
    Form("2 looped", 2, 0.7, lambda rng: _two(rng, loop=True)),
    Form("3 round top", 3, 0.65, lambda rng: _three(rng)),
    Form("3 flat top", 3, 0.65, lambda rng: _three(rng, flat=True)),
    Form("4 closed", 4, 0.75, lambda rng: _four(rng, "closed")),
    Form("4 open one stroke", 4, 0.75, lambda rng: _four(rng, "open")),
    Form("4 two strokes", 4, 0.75, lambda rng: _four(rng, "two strokes")),
    Form("5 one stroke", 5, 0.65, lambda rng: _five(rng)),
    Form("5 two strokes", 5, 0.65, lambda rng: _five(rng, one_stroke=False)),
    Form("6 closed", 6, 0.6, lambda rng: _six(rng)),
    Form("6 open", 6, 0.6, lambda rng: _six(rng, closed=False)),
    Form("7 plain", 7, 0.7, lambda rng: _seven(rng, "plain")),
    Form("7 crossed", 7, 0.7, lambda rng: _seven(rng, "crossed")),
    Form("7 curved stem", 7, 0.7, lambda rng: _seven(rng, "curved stem")),
    Form("7 hooked top", 7, 0.7, lambda rng: _seven(rng, "hooked top")),
    Form("8 one stroke", 8, 0.6, lambda rng: _eight(rng)),
    Form("8 two circles", 8, 0.6, lambda rng: _eight(rng, one_stroke=False)),
    Form("9 straight tail", 9, 0.6, lambda rng: _nine(rng, "straight")),
    Form("9 curved tail", 9, 0.6, lambda rng: _nine(rng, "curved")),
    Form("9 hooked tail", 9, 0.6, lambda rng: _nine(rng, "hooked")),
    Form("9 looped like g", 9, 0.6, lambda rng: _nine(rng, "g")),
]


# --- Drawings that are not digits. ---


def _scribble(rng):
    """Loops all over: ink no digit is made of."""
    return [_through(rng.uniform(0, 1, size=(int(rng.integers(9, 22)), 2)))]


def _to_and_fro(rng):
    """Back and forth over the same place, like shading or crossing something out."""
    count = int(rng.integers(9, 22))
    xs = np.where(np.arange(count) % 2 == 0, rng.uniform(0.0, 0.3, count), rng.uniform(0.7, 1.0, count))
    ys = np.sort(rng.uniform(0, 1, count)) if rng.random() < 0.5 else rng.uniform(0, 1, count)
    return [_through(np.stack([xs, ys], axis=1))]


def _scratched_out(rng):
    """Many quick strokes over one patch until it is nearly filled: a blot, not a digit."""
    count = int(rng.integers(20, 45))
    centre = rng.uniform(0.35, 0.65, size=2)
    points = centre + rng.normal(0, rng.uniform(0.15, 0.3), size=(count, 2)) * (1.0, rng.uniform(0.5, 1.5))
    return [_through(np.clip(points, 0, 1), per_segment=4)]


def _through(points, per_segment=8):
    """A smooth stroke through points (Catmull-Rom)."""
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    pieces = []
    for p0, p1, p2, p3 in zip(padded[:-3], padded[1:-2], padded[2:-1], padded[3:]):
        pieces.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3))
    return np.vstack([*pieces, points[-1:]])


def _zigzag(rng):
    count = int(rng.integers(3, 8))
    xs = np.linspace(0, 1, count + 1)
    ys = np.where(np.arange(count + 1) % 2 == 0, rng.uniform(0.6, 1.0), rng.uniform(0.0, 0.4))
    return [np.stack([xs, ys], axis=1)]


def _flat_line(rng):
    return [line((0.0, 0.5), (1.0, 0.5 + rng.uniform(-0.1, 0.1)))]


def _diagonal_line(rng):
    # Well away from upright: a near-vertical line is a 1.
    angle = np.radians(rng.uniform(15, 50)) * rng.choice([-1, 1])
    return [line((0.5 - 0.5 * np.cos(angle), 0.5 + 0.5 * np.sin(angle)), (0.5 + 0.5 * np.cos(angle), 0.5 - 0.5 * np.sin(angle)))]


def _wave(rng):
    x = np.linspace(0, 1, 30)
    return [np.stack([x, 0.5 + 0.4 * np.sin(x * np.pi * rng.uniform(1.5, 4) + rng.uniform(0, 6))], axis=1)]


def _lone_arc(rng):
    start = rng.choice([180, 0]) + rng.uniform(-20, 20)
    return [arc(0.5, 0.9 if start > 90 else 0.1, 0.5, 0.8, start, start + rng.choice([-1, 1]) * rng.uniform(100, 160))]


def _plus(rng):
    return [line((rng.uniform(0.4, 0.6), 0.0), (rng.uniform(0.4, 0.6), 1.0)), line((0.0, rng.uniform(0.4, 0.6)), (1.0, rng.uniform(0.4, 0.6)))]


def _cross(rng):
    return [line((0.0, 0.0), (1.0, 1.0)), line((1.0, rng.uniform(-0.1, 0.1)), (0.0, rng.uniform(0.9, 1.1)))]


def _star(rng):
    angles = np.radians(-90 + 144 * np.arange(6) + rng.uniform(-8, 8))
    return [np.stack([0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)], axis=1)]


def _asterisk(rng):
    count = int(rng.integers(3, 5))
    strokes = []
    for angle in np.radians(np.arange(count) * 180 / count + rng.uniform(0, 180 / count)):
        dx, dy = 0.5 * np.cos(angle), 0.5 * np.sin(angle)
        strokes.append(line((0.5 - dx, 0.5 - dy), (0.5 + dx, 0.5 + dy)))
    return strokes


def _hash(rng):
    a, b = rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.8)
    lean = rng.uniform(0.0, 0.2)
    return [line((a + lean, 0.0), (a, 1.0)), line((b + lean, 0.0), (b, 1.0)), line((0.0, a), (1.0, a)), line((0.0, b), (1.0, b))]


def _face(rng):
    strokes = [arc(0.5, 0.5, 0.5, 0.5, -90, 270)]
    eye_y, eye_size = rng.uniform(0.3, 0.4), rng.uniform(0.02, 0.07)
    for eye_x in (0.33, 0.67):
        strokes.append(arc(eye_x, eye_y, eye_size, eye_size, 0, 360))
    mouth = rng.uniform(-0.15, 0.15)  # a smile, a flat mouth or a frown
    strokes.append(curve((0.28, 0.68), (0.5, 0.68 + mouth * 2), (0.72, 0.68)))
    return strokes


def _spiral(rng):
    turns = rng.uniform(1.5, 3.5)
    t = np.linspace(0, turns * 2 * np.pi, int(turns * 30))
    radius = 0.5 * t / t[-1]
    return [np.stack([0.5 + radius * np.cos(t), 0.5 + radius * np.sin(t)], axis=1)]


def _check_mark(rng):
    return [line((0.0, rng.uniform(0.45, 0.65)), (rng.uniform(0.25, 0.4), 1.0), (1.0, 0.0))]


def _hatching(rng):
    count = int(rng.integers(3, 6))
    lean = rng.uniform(-0.3, 0.3)
    return [line((0.0, y), (1.0, y + lean)) for y in np.linspace(0.1, 0.9, count) - lean / 2]


def _heart(rng):
    dip = rng.uniform(0.15, 0.3)
    left = curve((0.5, dip), (0.3, -0.2), (-0.1, 0.3), (0.5, 1.0))
    right = curve((0.5, 1.0), (1.1, 0.3), (0.7, -0.2), (0.5, dip))
    return [joined(left, right)] if rng.random() < 0.6 else [left, right[::-1]]


def _triangle(rng):
    apex = (rng.uniform(0.3, 0.7), 0.0)
    return [line(apex, (1.0, 1.0), (0.0, rng.uniform(0.95, 1.05)), apex)]


def _circled_cross(rng):
    return [arc(0.5, 0.5, 0.5, 0.5, -90, 270), line((0.5, 0.0), (0.5, 1.0)), line((0.0, 0.5), (1.0, 0.5))]


def _box(rng):
    return [line((0.0, 0.0), (1.0, 0.02), (0.98, 1.0), (0.02, 0.98), (0.0, 0.0)), line((0.0, 0.0), (1.0, 1.0))]


def _square(rng):
    corner = rng.uniform(-0.03, 0.03, size=4)
    return [line((0.0, corner[0]), (1.0, corner[1]), (1.0 + corner[2], 1.0), (corner[3], 1.0), (0.0, corner[0]))]


def _envelope(rng):
    fold = rng.uniform(0.4, 0.65)
    return [line((0.0, 0.2), (1.0, 0.2), (1.0, 0.9), (0.0, 0.9), (0.0, 0.2)), line((0.0, 0.2), (0.5, fold), (1.0, 0.2))]


def _equals(rng):
    gap = rng.uniform(0.25, 0.45)
    return [line((0.0, 0.5 - gap), (1.0, 0.5 - gap + rng.uniform(-0.05, 0.05))), line((0.0, 0.5 + gap), (1.0, 0.5 + gap))]


def _percent(rng):
    size = rng.uniform(0.12, 0.2)
    return [arc(0.2, 0.2, size, size, 0, 360), line((0.9, 0.0), (0.1, 1.0)), arc(0.8, 0.8, size, size, 0, 360)]


def _pi(rng):
    return [line((0.0, 0.1), (1.0, 0.05)), line((0.3, 0.08), (0.25, 1.0)), curve((0.7, 0.07), (0.7, 0.9), (0.95, 1.0))]


def _tally(rng):
    """Tally marks: a few upright strokes struck through. One upright stroke alone is a 1."""
    count = int(rng.integers(3, 6))
    marks = [line((x, 0.0), (x - 0.05, 1.0)) for x in np.linspace(0.05, 0.95, count)]
    return marks + [line((0.0, rng.uniform(0.6, 0.9)), (1.0, rng.uniform(0.1, 0.4)))] if rng.random() < 0.6 else marks


def _dots(rng):
    count = int(rng.integers(3, 8))
    return [arc(x, y, 0.03, 0.03, 0, 360) for x, y in rng.uniform(0, 1, size=(count, 2))]


def _fish(rng):
    body = joined(arc(0.4, 0.5, 0.4, 0.3, 200, 340), line((0.75, 0.35), (1.0, 0.15), (1.0, 0.85), (0.75, 0.65)))
    return [joined(body, arc(0.4, 0.5, 0.4, 0.3, 20, 160))]


# Capital and small letters that no digit form resembles, as pen strokes. Not Y, h or t: people's
# open 4s look like them, and a model taught they are no digits turns such 4s away.
LETTERS = {
    "A": [[(0.0, 1.0), (0.5, 0.0), (1.0, 1.0)], [(0.22, 0.6), (0.78, 0.6)]],
    "E": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (1.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "F": [[(1.0, 0.0), (0.0, 0.0), (0.0, 1.0)], [(0.0, 0.5), (0.75, 0.5)]],
    "H": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (1.0, 1.0)], [(0.0, 0.5), (1.0, 0.5)]],
    "K": [[(0.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, 0.55), (1.0, 1.0)]],
    "L": [[(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]],
    "M": [[(0.0, 1.0), (0.05, 0.0), (0.5, 0.7), (0.95, 0.0), (1.0, 1.0)]],
    "N": [[(0.0, 1.0), (0.0, 0.0), (1.0, 1.0), (1.0, 0.0)]],
    "R": [[(0.0, 1.0), (0.0, 0.0), (0.7, 0.02), (0.95, 0.25), (0.7, 0.48), (0.0, 0.5), (1.0, 1.0)]],
    "T": [[(0.0, 0.0), (1.0, 0.0)], [(0.5, 0.0), (0.5, 1.0)]],
    "V": [[(0.0, 0.0), (0.5, 1.0), (1.0, 0.0)]],
    "W": [[(0.0, 0.0), (0.25, 1.0), (0.5, 0.3), (0.75, 1.0), (1.0, 0.0)]],
    "X": [[(0.0, 0.0), (1.0, 1.0)], [(1.0, 0.0), (0.0, 1.0)]],
    "k": [[(0.0, 0.0), (0.0, 1.0)], [(0.8, 0.4), (0.0, 0.75), (0.9, 1.0)]],
    "m": [[(0.0, 1.0), (0.0, 0.3), (0.25, 0.2), (0.45, 0.35), (0.5, 1.0)], [(0.5, 0.4), (0.75, 0.2), (1.0, 0.35), (1.0, 1.0)]],
    "w": [[(0.0, 0.3), (0.25, 1.0), (0.5, 0.5), (0.75, 1.0), (1.0, 0.3)]],
    "P": [[(0.1, 1.0), (0.1, 0.0), (0.6, 0.0), (0.95, 0.15), (0.95, 0.35), (0.6, 0.5), (0.1, 0.5)]],
    "n": [[(0.0, 0.3), (0.0, 1.0)], [(0.0, 0.5), (0.4, 0.3), (0.9, 0.4), (0.95, 1.0)]],
    "r": [[(0.0, 0.3), (0.05, 1.0)], [(0.02, 0.6), (0.3, 0.35), (0.8, 0.3)]],
    "e": [[(0.05, 0.6), (0.95, 0.6), (0.85, 0.35), (0.5, 0.25), (0.1, 0.45), (0.1, 0.8), (0.5, 1.0), (0.95, 0.9)]],
    "d": [[(0.75, 0.55), (0.45, 0.35), (0.1, 0.5), (0.05, 0.8), (0.35, 1.0), (0.75, 0.85)], [(0.8, 0.0), (0.78, 1.0)]],
}


LETTER_WIDTHS = {"M": 1.2, "W": 1.2, "m": 1.2, "w": 1.2, "P": 0.7, "r": 0.7}


def _letter(rng, letter):
    return [line(*stroke) for stroke in LETTERS[letter]]


NON_DIGIT_FORMS = [
    Form("scribble", NOT_A_DIGIT, 1.0, _scribble),
    Form("to and fro", NOT_A_DIGIT, 1.0, _to_and_fro),
    Form("scratched out", NOT_A_DIGIT, 1.0, _scratched_out),
    Form("zigzag", NOT_A_DIGIT, 1.2, _zigzag),
    Form("flat line", NOT_A_DIGIT, 4.0, _flat_line),
    Form("diagonal line", NOT_A_DIGIT, 1.0, _diagonal_line),
    Form("wave", NOT_A_DIGIT, 2.0, _wave),
    Form("lone arc", NOT_A_DIGIT, 1.6, _lone_arc),
    Form("plus", NOT_A_DIGIT, 1.0, _plus),
    Form("cross", NOT_A_DIGIT, 1.0, _cross),
    Form("star", NOT_A_DIGIT, 1.0, _star),
    Form("asterisk", NOT_A_DIGIT, 1.0, _asterisk),
    Form("hash", NOT_A_DIGIT, 1.0, _hash),
    Form("face", NOT_A_DIGIT, 1.0, _face),
    Form("spiral", NOT_A_DIGIT, 1.0, _spiral),
    Form("check mark", NOT_A_DIGIT, 1.0, _check_mark),
    Form("hatching", NOT_A_DIGIT, 1.2, _hatching),
    Form("crossed box", NOT_A_DIGIT, 1.0, _box),
    Form("heart", NOT_A_DIGIT, 1.0, _heart),
    Form("triangle", NOT_A_DIGIT, 1.1, _triangle),
    Form("circled cross", NOT_A_DIGIT, 1.0, _circled_cross),
    Form("square", NOT_A_DIGIT, 1.0, _square),
    Form("envelope", NOT_A_DIGIT, 1.5, _envelope),
    Form("equals", NOT_A_DIGIT, 1.4, _equals),
    Form("percent", NOT_A_DIGIT, 0.8, _percent),
    Form("pi", NOT_A_DIGIT, 1.1, _pi),
    Form("tally", NOT_A_DIGIT, 1.0, _tally),
    Form("dots", NOT_A_DIGIT, 1.0, _dots),
    Form("fish", NOT_A_DIGIT, 1.6, _fish),
    *[Form(f"letter {letter}", NOT_A_DIGIT, LETTER_WIDTHS.get(letter, 0.9), lambda rng, letter=letter: _letter(rng, letter)) for letter in LETTERS],
]
FORMS = {form.name: form for form in DIGIT_FORMS + NON_DIGIT_FORMS}


# --- A hand: variation of every drawing. ---


def _resample(stroke, spacing=POINT_SPACING):
    """Points evenly `spacing` apart along the stroke (a dot stays a dot)."""
    steps = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    length = np.concatenate([[0.0], np.cumsum(steps)])
    if length[-1] < 1e-9:
        return stroke[:1]
    at = np.linspace(0, length[-1], max(2, int(length[-1] / spacing) + 1))
    return np.stack([np.interp(at, length, stroke[:, axis]) for axis in (0, 1)], axis=1)


def _move_ends(stroke, rng):
    """Run each end past its mark along the stroke's direction, or stop short of it."""
    for end in (0, -1):
        neighbour = stroke[1] if end == 0 else stroke[-2]
        direction = stroke[end] - neighbour
        norm = np.linalg.norm(direction)
        if norm < 1e-9:
            continue
        change = rng.uniform(*END_RANGE)
        if change >= 0:
            extended = stroke[end] + direction / norm * change
            stroke = np.vstack([extended[None], stroke]) if end == 0 else np.vstack([stroke, extended[None]])
        else:
            cut = min(len(stroke) - 2, int(-change / POINT_SPACING))
            if cut > 0:
                stroke = stroke[cut:] if end == 0 else stroke[:-cut]
    return stroke


def _bend(stroke, rng):
    """A smooth random displacement along the stroke, and a small tremor."""
    count = len(stroke)
    anchors = rng.normal(0, BEND, size=(5, 2))
    positions = np.linspace(0, 4, count)
    smooth = np.stack([np.interp(positions, np.arange(5), anchors[:, axis]) for axis in (0, 1)], axis=1)
    tremor = rng.normal(0, TREMOR, size=(count, 2))
    return stroke + smooth + tremor


def _lift_pen(strokes, rng):
    """Now and then break one long stroke in two with a small gap, as a lifted pen does."""
    if rng.random() >= PEN_LIFT_PROBABILITY:
        return strokes
    index = int(rng.integers(len(strokes)))
    stroke = strokes[index]
    if len(stroke) < 12:
        return strokes
    at = int(rng.integers(4, len(stroke) - 4))
    gap = int(rng.integers(0, 2))
    return strokes[:index] + [stroke[:at], stroke[at + gap :]] + strokes[index + 1 :]


def _pen_width(rng):
    """Mostly near the Draw page's default, at times anywhere on its slider."""
    if rng.random() < 0.75:
        return float(np.clip(rng.normal(PEN_WIDTH_MODE, 5), *PEN_WIDTHS))
    return float(rng.uniform(*PEN_WIDTHS))


def _colours(rng):
    if rng.random() < APP_COLOURS_PROBABILITY:
        return APP_INK, APP_PAPER
    ink_level, paper_level = rng.uniform(0, 100), rng.uniform(190, 255)  # far enough apart to read
    tint = rng.uniform(-30, 30, size=3)
    ink = tuple(int(np.clip(ink_level + t, 0, 255)) for t in tint) + (255,)
    if rng.random() < TRANSPARENT_PAPER_PROBABILITY:
        return ink, (0, 0, 0, 0)
    paper = tuple(int(np.clip(paper_level - abs(t), 0, 255)) for t in tint) + (255,)
    if rng.random() < 0.2:  # light ink on dark paper
        ink, paper = paper, ink
    return ink, paper


@dataclasses.dataclass(frozen=True)
class Handwritten:
    """One drawing before it is rendered: what a hand does on the canvas."""

    strokes: list  # polylines of (x, y) canvas pixels, in the order the pen draws them
    pen_width: float
    ink: tuple  # RGBA
    paper: tuple


def write(form, rng, size=CANVAS_SIZE):
    """One canvas (size, size, 4) uint8 of the form, as a hand would write it."""
    drawing = hand(form, rng, size)
    return draw_strokes(drawing.strokes, size=size, width=drawing.pen_width, ink=drawing.ink, background=drawing.paper)


def hand(form, rng, size=CANVAS_SIZE):
    """The strokes, pen and colours of one drawing of the form on a canvas of `size` pixels."""
    strokes = [_resample(np.asarray(stroke, np.float64)) for stroke in form.strokes(rng)]
    strokes = [_bend(_move_ends(stroke, rng), rng) if len(stroke) > 1 else stroke for stroke in strokes]
    strokes = _lift_pen(strokes, rng)
    width = form.width * rng.uniform(*WIDTH_JITTER)
    slant = rng.uniform(*SLANT_RANGE)
    angle = np.radians(rng.uniform(-ROTATION_DEGREES, ROTATION_DEGREES))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    # Centred on 0 and 1 high; the top leans right by `slant`, then a small rotation.
    matrix = rotation @ np.array([[1.0, -slant], [0.0, 1.0]]) @ np.diag([width, 1.0])
    placed = [(stroke - 0.5) @ matrix.T for stroke in strokes]
    every = np.vstack(placed)
    extent = every.max(axis=0) - every.min(axis=0)
    height = rng.uniform(*HEIGHT_FRACTION_RANGE) * size
    pen_width = min(_pen_width(rng) * size / CANVAS_SIZE, MAX_PEN_TO_HEIGHT * height)
    scale = (height - pen_width) / max(extent[1], 0.05)
    scale = min(scale, (size - pen_width - 2) / max(extent[0], 0.05))  # a wide drawing must fit across
    low = every.min(axis=0) * scale - pen_width / 2
    high = every.max(axis=0) * scale + pen_width / 2
    offset = rng.uniform(-low, np.maximum(size - high, -low))
    ink, paper = _colours(rng)
    polylines = [[tuple(point) for point in stroke * scale + offset] for stroke in placed]
    return Handwritten(polylines, pen_width, ink, paper)


def form_names(kind="all"):
    """The names of the digit forms ('digits'), the non-digit forms ('non-digits') or both."""
    forms = {"digits": DIGIT_FORMS, "non-digits": NON_DIGIT_FORMS, "all": DIGIT_FORMS + NON_DIGIT_FORMS}[kind]
    return [form.name for form in forms]


def random_stream(form_name, seed, split, index):
    """The random generator of drawing `index` of a form, seed and split."""
    return np.random.default_rng([seed, SPLITS[split], index, _stable_hash(form_name)])


def _one_drawing(form_name, seed, split, index):
    """The model input (28, 28) uint8 of drawing `index` of a seed and split, or None if unreadable."""
    rng = random_stream(form_name, seed, split, index)
    model_input = canvas_to_mnist(write(FORMS[form_name], rng))
    return None if model_input is None else np.rint(model_input * 255).astype(np.uint8)


def _stable_hash(text):
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def _generate_chunk(arguments):
    form_name, seed, split, start, count = arguments
    images = []
    index = start
    while len(images) < count:
        image = _one_drawing(form_name, seed, split, index)
        if image is not None:
            images.append(image)
        index += 1
    return np.array(images, np.uint8).reshape(-1, 28, 28)


def generate(per_form, seed, forms=None, split="train", workers=None):
    """(images uint8 (N, 28, 28), labels uint8 (N,), form indices (N,), form names) for `per_form`
    drawings of each form (default: every digit and non-digit form), deterministic for a seed
    and split ("train", "validation" or "evaluation": separate random streams).

    workers: processes to draw in (default: one per CPU core); the result does not depend on it.
    """
    names = list(forms) if forms is not None else form_names()
    unknown = [name for name in names if name not in FORMS]
    if unknown:
        raise ValueError(f"Unknown handwriting forms {unknown}; choose from: {', '.join(FORMS)}.")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}; choose one of: {', '.join(SPLITS)}.")
    if per_form < 1:
        raise ValueError(f"per_form is {per_form!r}; expected at least 1 drawing per form.")
    # Chunks of at most 100 drawings: drawing i of a form always comes from chunk i // 100, so the
    # set for a seed is the same whether it is drawn by one process or by many.
    chunks = [(name, seed, split, start * 1000, min(100, per_form - start * 100)) for name in names for start in range(-(-per_form // 100))]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if per_form * len(names) >= PARALLEL_FROM else 1
    if workers > 1 and len(chunks) > 1:
        with _pool(workers) as pool:
            parts = list(pool.map(_generate_chunk, chunks))
    else:
        parts = [_generate_chunk(chunk) for chunk in chunks]
    images = np.concatenate(parts)
    form_index = np.repeat(np.arange(len(names)), per_form)
    labels = np.array([FORMS[name].label for name in names], np.uint8)[form_index]
    return images, labels, form_index, names


def _pool(workers):
    """Worker processes for drawing. Forked: a spawned worker re-imports the caller's main script,
    which fails in one without a __main__ guard. The workers use numpy and Pillow only, never
    TensorFlow, so the threads TensorFlow may have in the parent do not matter to them."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))


def cache_dir():
    return Path(os.environ.get(CACHE_ENV_VAR) or DEFAULT_CACHE_DIR)


def cached(per_form, seed, forms=None, split="train"):
    """generate(per_form, seed, forms, split), kept on disk under cache_dir() by generator version,
    so that a training pays for drawing a set once."""
    names = list(forms) if forms is not None else form_names()

    def make():
        images, labels, form_index, _ = generate(per_form, seed, names, split)
        return {"images": images, "labels": labels, "forms": form_index}

    stored = _from_cache((per_form, seed, split, names), make)
    return stored["images"], stored["labels"], stored["forms"], names


def _from_cache(key_parts, make):
    """The arrays make() returns, kept in cache_dir() under a key of the generator version and
    key_parts. A cache that cannot be written is skipped: the arrays are made again next time."""
    key = hashlib.sha256(repr((GENERATOR_VERSION, *key_parts)).encode()).hexdigest()[:16]
    path = cache_dir() / f"handwriting-v{GENERATOR_VERSION}-{key}.npz"
    try:
        with np.load(path) as stored:
            return dict(stored)
    except (OSError, ValueError, KeyError):
        pass
    arrays = make()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".tmp-{os.getpid()}.npz")
        np.savez_compressed(temporary, **arrays)
        os.replace(temporary, path)
    except OSError:
        pass
    return arrays


def _redraw_chunk(arguments):
    images, labels, seed, start, restyled = arguments
    drawn = []
    for offset, (image, label) in enumerate(zip(images, labels)):
        rng = np.random.default_rng([seed, REDRAWN_STREAM, start + offset])
        # Every 0, 1, 7 and 9 draws its chance, styled or not, so that leaving a style out changes nothing else.
        style_of = int(label) if label in STYLES and rng.random() < RESTYLED_SHARE and label in restyled else None
        model_input = canvas_to_mnist(redraw_as_canvas(image, rng, style_of=style_of))
        drawn.append(np.zeros((28, 28), np.uint8) if model_input is None else np.rint(model_input * 255).astype(np.uint8))
    return np.array(drawn, np.uint8).reshape(-1, 28, 28)


def redrawn_mnist(images, labels, count, seed, restyled=tuple(STYLES)):
    """(images, labels): `count` of the given MNIST digits, chosen by seed, re-drawn along their
    skeletons with a canvas pen (synthetic.redraw_as_canvas) and prepared like a drawing, with
    RESTYLED_SHARE of the digits in `restyled` (0, 1, 7 and 9 by default) slashed, flagged, crossed or
    given a curled tail. Cached."""
    chosen = np.sort(np.random.default_rng([seed, REDRAWN_STREAM]).choice(len(images), size=min(count, len(images)), replace=False))
    fingerprint = hashlib.sha256(np.ascontiguousarray(images[chosen]).tobytes()).hexdigest()[:16]

    def make():
        labels_chosen = np.asarray(labels)[chosen]
        chunks = [(images[chosen[start : start + 200]], labels_chosen[start : start + 200], seed, start, restyled)
                  for start in range(0, len(chosen), 200)]
        if len(chosen) >= PARALLEL_FROM:
            with _pool(min(os.cpu_count() or 1, 4)) as pool:
                parts = list(pool.map(_redraw_chunk, chunks))
        else:
            parts = [_redraw_chunk(chunk) for chunk in chunks]
        drawn = np.concatenate(parts) if parts else np.zeros((0, 28, 28), np.uint8)
        return {"images": drawn, "labels": np.asarray(labels)[chosen].astype(np.uint8)}

    stored = _from_cache(("redrawn", seed, fingerprint, tuple(restyled)), make)
    readable = stored["images"].reshape(len(stored["images"]), -1).max(axis=1) > 0
    return stored["images"][readable], stored["labels"][readable]


@dataclasses.dataclass(frozen=True)
class TrainingMix:
    """The generated drawings a training adds to its MNIST digits."""

    train_images: np.ndarray  # uint8 (N, 28, 28)
    train_labels: np.ndarray
    validation_images: np.ndarray
    validation_labels: np.ndarray
    description: dict  # for the model's metadata

    def __len__(self):
        return len(self.train_labels)


def training_mix(mnist_images, mnist_labels, seed, with_non_digits=True, left_out=()):
    """Generated drawings for a training on these MNIST digits: DRAWINGS_PER_MNIST_DIGIT as many
    drawn in the forms, NON_DIGIT_SHARE of them no digit (left out for a model that cannot answer
    "not a digit"), spread over the forms (those in DRAWN_MORE more often), less the forms named
    in `left_out`; and REDRAWN_PER_MNIST_DIGIT as many of the MNIST digits re-drawn along their
    skeletons (some of the 0s, 1s, 7s and 9s with a slash, a flag, a crossbar or a curled tail)."""
    num_mnist = len(mnist_labels)
    unknown = [name for name in left_out if name not in FORMS]
    if unknown:
        raise ValueError(f"Unknown handwriting forms {unknown}; choose from: {', '.join(FORMS)}.")
    total = max(1, round(num_mnist * DRAWINGS_PER_MNIST_DIGIT))
    groups = [(form_names("digits"), total * (1 - NON_DIGIT_SHARE if with_non_digits else 1))]
    if with_non_digits:
        groups.append((form_names("non-digits"), total * NON_DIGIT_SHARE))
    parts = {"train": [], "validation": []}
    for names, count in groups:
        weights = {name: DRAWN_MORE.get(name, 1) for name in names if name not in left_out}
        per_form = count / sum(weights.values())
        for weight in sorted(set(weights.values())):
            alike = [name for name in weights if weights[name] == weight]
            amount = max(1, round(per_form * weight))
            for split, split_amount in (("train", amount), ("validation", max(1, round(amount * VALIDATION_SHARE)))):
                images, labels, _, _ = cached(split_amount, seed, alike, split)
                parts[split].append((images, labels))
    restyled = tuple(digit for digit, forms in STYLE_FORMS.items() if not set(forms) & set(left_out))
    parts["train"].append(redrawn_mnist(mnist_images, mnist_labels, round(num_mnist * REDRAWN_PER_MNIST_DIGIT), seed, restyled))
    train_images, train_labels = (np.concatenate(arrays) for arrays in zip(*parts["train"]))
    validation_images, validation_labels = (np.concatenate(arrays) for arrays in zip(*parts["validation"]))
    description = {
        "generator_version": GENERATOR_VERSION,
        "drawings": int(len(train_labels)),
        "non_digits": int(np.sum(train_labels == NOT_A_DIGIT)),
        "mnist_redrawn": int(len(parts["train"][-1][1])),
        "restyled_share": RESTYLED_SHARE,
        "drawn_more": {name: weight for name, weight in DRAWN_MORE.items() if name not in left_out},
        "share_of_training_set": round(len(train_labels) / (len(train_labels) + num_mnist), 4),
        "forms_left_out": list(left_out),
    }
    return TrainingMix(train_images, train_labels, validation_images, validation_labels, description)
