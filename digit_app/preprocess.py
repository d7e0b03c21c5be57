"""Canvas RGBA -> the 28x28 image the model sees, prepared the way MNIST was (numpy and Pillow only).

MNIST digits were fitted into a 20x20 box keeping their aspect ratio, anti-aliased, and placed in a
28x28 frame with their centre of mass at the centre. A drawing on a 280x280 canvas with a 20 px pen
is none of that, so canvas_to_mnist:

1. finds the ink against the background (alpha channel and colour contrast),
2. crops it to its bounding box and fits it in a box 4x the final size,
3. thins or thickens the strokes (grey-scale erosion or dilation) so that, once fitted in 20x20,
   they are 2-3 px wide like most of MNIST's (a pen of 20 px on a digit 100 px high would be 4 px;
   on one 250 px high, 1.6 px): the width is estimated from the ink's area and perimeter, the
   perimeter measured as the total variation of the ink image, which anti-aliasing leaves alone,
4. re-crops, fits the long side in 20 px with area averaging (the anti-aliasing), and
5. places it in 28x28 with its centre of mass on pixel (14, 14), as MNIST did.
"""

import numpy as np
from PIL import Image, ImageChops

MODEL_INPUT_SHAPE = (28, 28)
DIGIT_BOX = 20  # MNIST's digits fit a 20x20 box inside the 28x28 frame
WORK_SCALE = 4  # strokes are thinned/thickened at 4x the box resolution, so in steps of 1/8 px
STROKE_WIDTH_RANGE = (2.0, 3.0)  # px at 28x28, by _stroke_width: MNIST's median is 2.5, its middle 80% 1.8-3.8
MIN_INK_FRACTION = 0.0015  # ink below 0.15% of the canvas area is a speck, not a digit (118 px at 280x280)
MIN_EXTENT_TO_STROKE = 1.6  # a drawing whose long side is under 1.6 stroke widths is a dot, not a digit
MIN_CONTRAST = 40  # of 255: a canvas whose strongest ink is fainter than this is empty (noise, shading)
INK_THRESHOLD = 0.1  # pixels with less ink than this do not count toward the bounding box
MAX_THINNING = 0.5  # erosion takes at most half a stroke's width: more breaks strokes into beads


def canvas_to_mnist(rgba):
    """The (28, 28) float32 image in [0, 1], white digit on black, that the model sees, or None when
    the canvas holds no readable digit (empty, or only a speck or a dot).

    rgba: the canvas as streamlit-drawable-canvas returns it: (H, W, 4) uint8, any size, any ink
    and background colour, including a fully transparent background.
    """
    cropped = _ink_crop(rgba)
    if cropped is None:
        return None
    levels, strongest = cropped
    if levels.sum(dtype=np.int64) < MIN_INK_FRACTION * strongest * rgba.shape[0] * rgba.shape[1]:
        return None
    work = _fit_levels(levels, strongest, DIGIT_BOX * WORK_SCALE)
    stroke = _stroke_width(work)
    if max(work.shape) < MIN_EXTENT_TO_STROKE * stroke:
        return None
    work = _normalise_stroke(work, stroke)
    box = _bounding_box(work > INK_THRESHOLD)
    if box is None:
        return None
    top, bottom, left, right = box
    digit = _fit(work[top:bottom, left:right], DIGIT_BOX)
    return _centre_by_mass(digit)


def has_ink(rgba):
    """Whether the canvas holds any ink at all: with canvas_to_mnist None, it is too small to read."""
    return _ink_crop(rgba) is not None


def validate_canvas(rgba):
    """Raise a ValueError that says what was received unless rgba is an (H, W, 4) uint8 array."""
    if not isinstance(rgba, np.ndarray):
        raise ValueError(
            f"Expected the canvas as a numpy array of shape (height, width, 4) and dtype uint8, "
            f"got a {type(rgba).__name__}. Pass the drawable canvas's image_data."
        )
    if rgba.ndim != 3 or rgba.shape[2] != 4 or min(rgba.shape[:2]) < 1:
        raise ValueError(
            f"Expected an RGBA canvas of shape (height, width, 4), got shape {rgba.shape}. "
            "Pass the drawable canvas's image_data, which has 4 channels."
        )
    if rgba.dtype != np.uint8:
        raise ValueError(
            f"Expected the canvas with dtype uint8 (values 0-255), got dtype {rgba.dtype}. "
            "Convert it with np.clip(image, 0, 255).astype(np.uint8) if it holds 0-255 values."
        )


def _ink_crop(rgba):
    """The ink in the drawing's bounding box as uint8 levels (0 = background), with the level of
    the strongest ink; None when the canvas holds no ink.

    On a transparent background (most of the border has alpha under 128) the alpha is the ink.
    On an opaque one it is the distance from the background colour (the median border pixel: a
    digit covers far less than half the border, even one drawn against an edge), the largest over
    R, G, B and A: linear in an anti-aliased edge's coverage, and the same for any ink colour.
    """
    validate_canvas(rgba)
    alpha = rgba[:, :, 3]
    border_alpha = _border(alpha)
    if np.count_nonzero(border_alpha < 128) > border_alpha.size / 2:
        return _strong_crop(alpha)
    background = np.rint(np.median(_border(rgba), axis=0)).astype(np.uint8)
    # A cheap first cut: the pixels not exactly the background colour. The distance is then
    # measured on that crop only, which saves most of the time on a big canvas.
    pixels = np.ascontiguousarray(rgba).view(np.uint32)[:, :, 0]  # one 32-bit word per pixel
    differs = pixels != background.view(np.uint32)[0]
    box = _bounding_box(differs)
    if box is None:
        return None
    top, bottom, left, right = box
    distance = _colour_distance(rgba[top:bottom, left:right], background)
    distance[distance <= MIN_CONTRAST // 2] = 0  # steps this near the background are shading or noise
    return _strong_crop(distance)


def _colour_distance(rgba, colour):
    """max(|R - r|, |G - g|, |B - b|, |A - a|) per pixel, uint8 (H, W). Pillow's channel
    operations do this several times faster than numpy's reductions over a 4-long last axis."""
    image = Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA")
    difference = ImageChops.difference(image, Image.new("RGBA", image.size, tuple(int(v) for v in colour)))
    red, green, blue, alpha = difference.split()
    return np.array(ImageChops.lighter(ImageChops.lighter(red, green), ImageChops.lighter(blue, alpha)))


def _strong_crop(levels):
    """(crop, strongest): the levels cropped to the pixels with at least INK_THRESHOLD of the
    strongest ink, or None when even the strongest is under MIN_CONTRAST."""
    row_peaks = levels.max(axis=1)
    strongest = int(row_peaks.max())
    if strongest < MIN_CONTRAST:
        return None
    threshold = INK_THRESHOLD * strongest
    rows = np.flatnonzero(row_peaks > threshold)
    top, bottom = rows[0], rows[-1] + 1
    columns = np.flatnonzero(levels[top:bottom].max(axis=0) > threshold)
    return levels[top:bottom, columns[0] : columns[-1] + 1], strongest


def _border(image):
    """The pixels on the four edges, as (N,) or (N, channels)."""
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


def _bounding_box(mask):
    """(top, bottom, left, right), end-exclusive, of the True pixels, or None."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    columns = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return rows[0], rows[-1] + 1, columns[0], columns[-1] + 1


def _fit_levels(levels, strongest, box):
    """_fit for the uint8 ink levels of a canvas crop (Pillow resizes 8-bit images fastest),
    returned as float32 ink in [0, 1]."""
    height, width = levels.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(levels), mode="L").resize(size, resample)
    return np.asarray(resized, dtype=np.float32) * (1.0 / strongest)


def _fit(ink, box):
    """Resize so that the long side is `box` pixels, keeping the aspect ratio (area averaging
    when shrinking, which is the anti-aliasing; bilinear when growing a tiny drawing)."""
    height, width = ink.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # Pillow wants (width, height)
    if size == (width, height):
        return ink
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    resized = Image.fromarray(ink, mode="F").resize(size, resample)
    return np.asarray(resized, dtype=np.float32)


def _stroke_width(ink):
    """Stroke width in pixels of an ink image, from area A and perimeter P: a stroke of length L
    and width w has A = w*L and P = 2*(L + w), so w is the smaller root of w^2 - (P/2)*w + A = 0.
    P is the total variation, sum of |gradient|, which anti-aliasing does not change."""
    padded = np.pad(ink, 1)
    area = float(padded.sum())
    down = padded[1:, :-1] - padded[:-1, :-1]
    across = padded[:-1, 1:] - padded[:-1, :-1]
    perimeter = float(np.sqrt(down * down + across * across).sum())
    half = perimeter / 2
    return (half - np.sqrt(max(half * half - 4 * area, 0.0))) / 2


def _normalise_stroke(work, stroke):
    """Erode or dilate the 4x-resolution ink so that, once its long side is shrunk to DIGIT_BOX,
    its stroke width is within STROKE_WIDTH_RANGE (a stroke already in it is left as drawn).
    Changing the width w by d also changes the extent E by d, so the width w' that comes out as
    `target` solves w' * DIGIT_BOX / (E + w' - w) = target."""
    extent = max(work.shape)
    thinnest, thickest = (
        target * (extent - stroke) / (DIGIT_BOX - target) for target in STROKE_WIDTH_RANGE
    )
    wanted = min(max(stroke, thinnest), thickest)
    wanted = max(wanted, (1 - MAX_THINNING) * stroke)
    steps = round((wanted - stroke) / 2)  # each 3x3 step moves both edges of a stroke by 1 px
    if steps > 0:
        return _morphology(np.pad(work, steps), steps, np.maximum)
    if steps < 0:
        return _morphology(work, -steps, np.minimum)
    return work


def _morphology(image, steps, combine):
    """Grey-scale dilation (combine=np.maximum) or erosion (np.minimum) by an octagon of radius
    `steps`: 3x3 squares and crosses in turn, a cheap near-disk that keeps strokes round."""
    for step in range(steps):
        if step % 2 == 0:
            image = _filter_3(_filter_3(image, combine, axis=0), combine, axis=1)
        else:
            image = combine(_filter_3(image, combine, axis=0), _filter_3(image, combine, axis=1))
    return image


def _filter_3(image, combine, axis):
    """combine over each pixel and its two neighbours along `axis`. Beyond the edges is
    background (the ink was cropped to its bounding box), so an edge stroke erodes like any other."""
    result = image.copy()
    if axis == 1:
        image, result = image.T, result.T  # views: the same code filters along the rows
    combine(result[1:], image[:-1], out=result[1:])
    combine(result[:-1], image[1:], out=result[:-1])
    if combine is np.minimum:
        result[0] = 0
        result[-1] = 0
    return result.T if axis == 1 else result


def _centre_by_mass(digit):
    """Place the digit in the 28x28 frame with its centre of mass on pixel (14, 14), moved only as
    far as keeps the whole digit inside the frame."""
    frame_height, frame_width = MODEL_INPUT_SHAPE
    height, width = digit.shape
    mass = digit.sum()
    row_centre = (digit.sum(axis=1) @ np.arange(height)) / mass
    column_centre = (digit.sum(axis=0) @ np.arange(width)) / mass
    top = int(np.clip(round(frame_height // 2 - row_centre), 0, frame_height - height))
    left = int(np.clip(round(frame_width // 2 - column_centre), 0, frame_width - width))
    frame = np.zeros(MODEL_INPUT_SHAPE, dtype=np.float32)
    frame[top : top + height, left : left + width] = digit
    return np.clip(frame * (1.0 / max(float(frame.max()), 1e-6)), 0.0, 1.0)
