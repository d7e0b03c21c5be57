"""Canvas drawings made by program, for evaluation, tests and benchmarks (numpy and Pillow only).

A drawing is an (H, W, 4) uint8 RGBA array like the one streamlit-drawable-canvas returns:
black ink on a transparent background by default (RGB 0 and alpha 0 where nothing is drawn),
anti-aliased edges carried by the alpha.

- draw_strokes: render hand-made polylines with a round pen.
- redraw_as_canvas: an MNIST digit re-drawn the way a person draws it with a mouse: its skeleton
  (Zhang-Suen thinning) traced into strokes and re-stroked with a canvas-sized round pen, at a
  random size, slant and position.
  With a style, it draws the forms MNIST's writers seldom used: slashed 0s, flagged 1s,
  crossed 7s, 9s with a curled tail.
- mnist_to_canvas: an MNIST digit simply scaled up onto a canvas (black ink on transparent).
- long_flag_ones: 1s in a style MNIST rarely shows, as the model sees them: drawings a user might
  teach the model, for the fine-tune's tests.
"""

import numpy as np
from PIL import Image, ImageDraw

from digit_app.preprocess import canvas_to_mnist

CANVAS_SIZE = 280
TRANSPARENT = (0, 0, 0, 0)
WHITE = (255, 255, 255, 255)
BLACK = (0, 0, 0, 255)
SUPERSAMPLE = 2  # strokes are drawn at 2x and area-averaged down: anti-aliased like a browser canvas
PEN_WIDTH_RANGE = (10, 30)  # px on a 280 px canvas; scaled with the canvas
HEIGHT_FRACTION_RANGE = (0.3, 0.9)  # the drawn digit's height, as a fraction of the canvas height
MAX_ROTATION_DEGREES = 10
WIDTH_STRETCH_RANGE = (0.85, 1.15)
OPAQUE_WHITE_PROBABILITY = 0.2  # the rest are black ink on a transparent canvas, the canvas default
SKELETON_UPSAMPLE = 3  # thin the digit at 84x84: at 28x28 or 56x56 the skeleton's pixel steps distort small loops and turns
SMOOTHING_PASSES = 2  # [1, 2, 1] passes over each traced stroke, to round off the pixel staircase
SPUR_LENGTH = 4  # skeleton pixels (at 84x84): a branch this short from a junction to an end is a
# thinning artefact of a thick stroke end (Zhang-Suen forks them), not something a person drew
SKELETON_THRESHOLD = 96  # of 255: lower than half, so that MNIST's faint thin strokes stay connected


def _canvas_shape(size):
    """(height, width) from an int (square) or a (height, width) pair."""
    height, width = (size, size) if np.isscalar(size) else size
    if int(height) < 1 or int(width) < 1:
        raise ValueError(f"Expected a canvas size of at least 1x1 pixels, got {size!r}.")
    return int(height), int(width)


def draw_strokes(strokes, size=CANVAS_SIZE, width=20, ink=BLACK, background=TRANSPARENT):
    """Render polylines with a round pen of `width` px (round joints and caps) on a canvas.

    strokes: a list of strokes, each a sequence of (x, y) points in canvas pixels; a one-point
    stroke is a dot. size: an int for a square canvas or (height, width). ink and background are
    RGBA tuples; the default is the drawable canvas's: black ink on a transparent background.
    """
    height, canvas_width = _canvas_shape(size)
    coverage = Image.new("L", (canvas_width * SUPERSAMPLE, height * SUPERSAMPLE), 0)
    pen = ImageDraw.Draw(coverage)
    pen_width = max(1, round(width * SUPERSAMPLE))
    radius = pen_width / 2
    for stroke in strokes:
        # Pillow centres a shape on pixel centres (i + 0.5): canvas point x is supersampled pixel x*S - 0.5.
        points = [(x * SUPERSAMPLE - 0.5, y * SUPERSAMPLE - 0.5) for x, y in stroke]
        if len(points) > 1:
            pen.line(points, fill=255, width=pen_width)
        # A round cap on every point: the round caps and joints (cheaper than Pillow's curved
        # joints), and it fills the hairline seams between the polygons of a wide polyline's segments.
        for x, y in points:
            # Pillow's ellipse box includes its far edge: shrink it by a pixel to keep the pen's width.
            pen.ellipse([x - radius + 0.5, y - radius + 0.5, x + radius - 0.5, y + radius - 0.5], fill=255)
    coverage = coverage.resize((canvas_width, height), Image.Resampling.BOX)
    return _composite(coverage, ink, background)


def _composite(coverage, ink, background):
    """Ink over background (Porter-Duff 'over') as un-premultiplied RGBA uint8, as a browser
    canvas's getImageData returns it: fully transparent pixels are (0, 0, 0, 0).

    coverage: an 8-bit Pillow image. Opaque ink on opaque or transparent paper, the usual cases,
    take a fast path in uint8; anything else is blended in float."""
    ink, background = tuple(int(v) for v in ink), tuple(int(v) for v in background)
    if ink[3] == 255 and background[3] in (0, 255):
        if background[3] == 255:
            paper = Image.new("RGBA", coverage.size, background)
            return np.asarray(Image.composite(Image.new("RGBA", coverage.size, ink), paper, coverage))
        alpha = np.asarray(coverage)
        rgba = np.zeros(alpha.shape + (4,), np.uint8)
        rgba[alpha > 0, :3] = ink[:3]
        rgba[:, :, 3] = alpha
        return rgba
    coverage = np.asarray(coverage, dtype=np.float32) / 255
    ink = np.asarray(ink, dtype=np.float32) / 255
    background = np.asarray(background, dtype=np.float32) / 255
    ink_alpha = coverage * ink[3]
    alpha = ink_alpha + background[3] * (1 - ink_alpha)
    premultiplied = ink_alpha[..., None] * ink[:3] + (background[3] * (1 - ink_alpha))[..., None] * background[:3]
    colour = np.divide(premultiplied, alpha[..., None], out=np.zeros_like(premultiplied), where=alpha[..., None] > 0)
    rgba = np.concatenate([colour, alpha[..., None]], axis=2)
    return np.rint(rgba * 255).astype(np.uint8)


def mnist_to_canvas(image, size=CANVAS_SIZE):
    """An MNIST digit (28x28 uint8, white on black) scaled up bilinearly to fill the canvas's
    shorter side, centred, as black ink on a transparent background."""
    height, width = _canvas_shape(size)
    side = min(height, width)
    scaled = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((side, side), Image.Resampling.BILINEAR)
    alpha = np.zeros((height, width), dtype=np.uint8)
    top, left = (height - side) // 2, (width - side) // 2
    alpha[top : top + side, left : left + side] = np.asarray(scaled)
    canvas = np.zeros((height, width, 4), dtype=np.uint8)
    canvas[:, :, 3] = alpha
    return canvas


def zhang_suen_thin(binary):
    """The one-pixel-wide skeleton of a binary image (Zhang & Suen 1984), vectorised: each
    sub-iteration deletes, all at once, the border pixels whose removal keeps the shape connected."""
    image = np.pad(np.asarray(binary, dtype=bool), 1).astype(np.uint8)
    while True:
        changed = False
        for first_pass in (True, False):
            p2, p3, p4, p5, p6, p7, p8, p9 = _neighbours(image)
            ring = [p2, p3, p4, p5, p6, p7, p8, p9, p2]
            neighbours = p2 + p3 + p4 + p5 + p6 + p7 + p8 + p9
            transitions = sum((ring[i] == 0) & (ring[i + 1] == 1) for i in range(8))
            if first_pass:
                side_clear = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
            else:
                side_clear = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
            centre = image[1:-1, 1:-1]
            delete = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side_clear
            if delete.any():
                centre[delete] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def _neighbours(padded):
    """P2..P9 of Zhang-Suen: north, north-east, east, ..., north-west of every inner pixel."""
    height, width = padded.shape[0] - 2, padded.shape[1] - 2

    def at(row, column):
        return padded[1 + row : 1 + row + height, 1 + column : 1 + column + width]

    return at(-1, 0), at(-1, 1), at(0, 1), at(1, 1), at(1, 0), at(1, -1), at(0, -1), at(-1, -1)


def trace_strokes(skeleton):
    """Split a skeleton into polylines of (row, column) points: walks that run between ends and
    junctions, less the short spurs, then the closed loops left over. Diagonal steps that cut a corner already walked
    through a shared neighbour are left out, so corners do not make tiny triangles."""
    pixels = {tuple(p) for p in np.argwhere(skeleton)}
    graph = {pixel: [] for pixel in pixels}
    for row, column in pixels:
        for d_row, d_column in ((0, 1), (1, 0), (1, 1), (1, -1)):
            other = (row + d_row, column + d_column)
            if other not in pixels:
                continue
            if d_row and d_column and ((row, column + d_column) in pixels or (row + d_row, column) in pixels):
                continue
            graph[(row, column)].append(other)
            graph[other].append((row, column))
    walked = set()
    strokes = []

    def walk(start, step):
        path = [start, step]
        walked.add(frozenset((start, step)))
        while len(graph[path[-1]]) == 2:
            following = [p for p in graph[path[-1]] if frozenset((path[-1], p)) not in walked]
            if not following:
                break
            walked.add(frozenset((path[-1], following[0])))
            path.append(following[0])
        return path

    def is_spur(path):
        degrees = sorted((len(graph[path[0]]), len(graph[path[-1]])))
        return degrees[0] == 1 and degrees[1] >= 3 and len(path) <= SPUR_LENGTH

    # Ends and junctions first, in a fixed order so that a seed gives the same drawing.
    for start in sorted(p for p in pixels if len(graph[p]) != 2):
        for step in graph[start]:
            if frozenset((start, step)) not in walked:
                path = walk(start, step)
                if not is_spur(path):
                    strokes.append(path)
        if not graph[start]:
            strokes.append([start])
    for start in sorted(pixels):
        for step in graph[start]:
            if frozenset((start, step)) not in walked:
                strokes.append(walk(start, step))
    return [np.array(stroke, dtype=np.float64) for stroke in strokes]


def _smooth(stroke):
    """Round off the pixel staircase of a traced stroke. Its ends (ends and junctions) stay put,
    so strokes that meet still meet."""
    for _ in range(SMOOTHING_PASSES):
        if len(stroke) > 2:
            stroke = np.vstack([stroke[:1], (stroke[:-2] + 2 * stroke[1:-1] + stroke[2:]) / 4, stroke[-1:]])
    return stroke


def mnist_strokes(image):
    """The smoothed strokes, as (row, column) arrays in 28x28 pixel units, of an MNIST digit's skeleton."""
    upsampled = Image.fromarray(np.asarray(image, dtype=np.uint8)).resize(
        (28 * SKELETON_UPSAMPLE, 28 * SKELETON_UPSAMPLE), Image.Resampling.BILINEAR
    )
    skeleton = zhang_suen_thin(np.asarray(upsampled) >= SKELETON_THRESHOLD)
    return [(_smooth(stroke) + 0.5) / SKELETON_UPSAMPLE for stroke in trace_strokes(skeleton)]


def _flag(strokes, height, rng):
    """A 1's flag: up from the left to the top of the stem, 30-60 degrees above the horizontal
    (flatter, with a slanted stem, it is a 7); sometimes a base as well."""
    points = np.vstack(strokes)
    top = points[points[:, 1].argmin()]
    angle, length = np.radians(rng.uniform(30, 60)), height * rng.uniform(0.2, 0.4)
    added = [np.array([top + length * np.array([-np.cos(angle), np.sin(angle)]), top])]
    if rng.random() < FLAG_BASE_PROBABILITY:
        bottom, half = points[points[:, 1].argmax()], height * rng.uniform(0.15, 0.25)
        added.append(np.array([bottom - (half, 0), bottom + (half * rng.uniform(0.8, 1.2), 0)]))
    return strokes + added


def _crossbar(strokes, height, rng):
    """A 7's crossbar, through the stem about half way down."""
    points = np.vstack(strokes)
    top = points[:, 1].min()
    y = top + height * rng.uniform(0.45, 0.62)
    near = points[np.abs(points[:, 1] - y) < height * 0.08]
    x = near[:, 0].mean() if len(near) else points[:, 0].mean()
    left, right = height * rng.uniform(0.15, 0.3), height * rng.uniform(0.15, 0.3)
    return strokes + [np.array([(x - left, y + rng.uniform(-1, 1)), (x + right, y + rng.uniform(-1, 1))])]


def _slash(strokes, height, rng):
    """A 0's slash, from below its left to above its right."""
    points = np.vstack(strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    reach = (high - low) * rng.uniform(0.0, 0.15)
    return strokes + [np.array([(low[0] - reach[0], high[1] + reach[1]), (high[0] + reach[0], low[1] - reach[1])])]


def _curled_tail(strokes, height, rng):
    """A 9 whose tail curls to the left at the foot, as many people write it (MNIST's 9s mostly
    end straight): the lowest stroke's part below the loop is drawn again as a curve that runs
    down and then sweeps left, ending level with or a little above the foot."""
    tips = [(stroke[end, 1], index, end) for index, stroke in enumerate(strokes) if len(stroke) > 2 for end in (0, -1)]
    if not tips:
        return strokes
    _, index, end = max(tips)
    stroke = strokes[index] if end == -1 else strokes[index][::-1]  # the foot last
    foot = stroke[-1]
    cut_y = foot[1] - height * rng.uniform(0.3, 0.45)
    above = np.flatnonzero(stroke[:, 1] < cut_y)
    if not len(above):
        return strokes
    kept = stroke[: above[-1] + 1]
    start = kept[-1]
    reach = height * rng.uniform(0.15, 0.4)
    bottom = foot[1] + height * rng.uniform(-0.05, 0.03)
    control = (start[0] + height * rng.uniform(-0.05, 0.1), bottom + height * rng.uniform(0.0, 0.1))
    finish = (start[0] - reach, bottom - height * rng.uniform(0.0, 0.2))
    t = np.linspace(0, 1, 12)[1:, None]
    tail = (1 - t) ** 2 * start + 2 * t * (1 - t) * np.asarray(control) + t**2 * np.asarray(finish)
    return strokes[:index] + [np.vstack([kept, tail])] + strokes[index + 1 :]


# Styles that people write and MNIST's writers seldom did, given to MNIST digits' own strokes:
# digit -> the strokes with the style (the skeleton's strokes as (x, y) arrays, its height, rng).
STYLES = {0: _slash, 1: _flag, 7: _crossbar, 9: _curled_tail}
STYLE_NAMES = {0: "0 slashed", 1: "1 flag", 7: "7 crossed", 9: "9 curled tail"}
FLAG_BASE_PROBABILITY = 0.3


def redraw_as_canvas(mnist_image_uint8, rng, size=CANVAS_SIZE, style_of=None):
    """An MNIST digit re-drawn as a person would draw it on the canvas: its skeleton re-stroked
    with a round pen 10-30 px wide (on 280 px), 30-90% of the canvas high, slightly rotated and
    stretched, at a random place (touching an edge at times); black ink on a transparent canvas,
    or one time in five on an opaque white one. Returns (size, size, 4) uint8.

    style_of: a digit in STYLES; its style is given to the strokes (a slashed 0, a flagged 1, a
    crossed 7, a 9 with a curled tail), so that those forms come with the variety of MNIST's writers."""
    strokes = mnist_strokes(mnist_image_uint8)
    if not strokes:
        raise ValueError("The MNIST image has no ink to re-draw; expected a 28x28 uint8 digit.")
    if style_of is not None:
        in_xy = [stroke[:, ::-1] for stroke in strokes]
        height = max(np.ptp(np.vstack(in_xy)[:, 1]), 1.0)
        strokes = [stroke[:, ::-1] for stroke in STYLES[style_of](in_xy, height, rng)]
    pen_width = rng.uniform(*PEN_WIDTH_RANGE) * size / CANVAS_SIZE
    points = np.vstack(strokes)[:, ::-1]  # (x, y)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2
    angle = np.radians(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shape = rotation @ np.diag([rng.uniform(*WIDTH_STRETCH_RANGE), 1.0])
    placed = [(stroke[:, ::-1] - centre) @ shape.T for stroke in strokes]
    every = np.vstack(placed)
    skeleton_width, skeleton_height = every.max(axis=0) - every.min(axis=0)
    height = rng.uniform(*HEIGHT_FRACTION_RANGE) * size
    scale = (height - pen_width) / max(skeleton_height, 1.0)
    scale = min(scale, (size - pen_width) / max(skeleton_width, 1.0))  # a wide digit must fit across
    low = every.min(axis=0) * scale - pen_width / 2
    high = every.max(axis=0) * scale + pen_width / 2
    offset = rng.uniform(-low, np.maximum(size - high, -low))  # anywhere the digit stays on the canvas
    background = WHITE if rng.random() < OPAQUE_WHITE_PROBABILITY else TRANSPARENT
    polylines = [[tuple(point) for point in stroke * scale + offset] for stroke in placed]
    return draw_strokes(polylines, size=size, width=pen_width, ink=BLACK, background=background)


# A 1 with a long flag, in a unit box (x right, y down): MNIST has few of them, and a model trained
# on MNIST reads most as 7s.
LONG_FLAG_ONE = [[(0.0, 0.38), (0.75, 0.0), (0.75, 1.0)]]


def long_flag_ones(count, seed):
    """Model inputs (count, 28, 28) float32 of 1s with a long flag, drawn on a 280 px canvas at a
    random height, place, slant and pen width, and prepared as the Draw page prepares a drawing."""
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        height = rng.uniform(100, 240)
        width = height * rng.uniform(0.4, 0.6)
        slant = rng.uniform(-0.1, 0.3)
        left, top = rng.uniform(20, 260 - width), rng.uniform(20, 260 - height)
        strokes = [[(left + x * width + (1 - y) * slant * height, top + y * height) for x, y in stroke]
                   for stroke in LONG_FLAG_ONE]
        inputs.append(canvas_to_mnist(draw_strokes(strokes, width=rng.uniform(10, 28))))
    return np.array(inputs)
