import numpy as np
import pytest

from digit_app.preprocess import (
    DIGIT_BOX,
    MODEL_INPUT_SHAPE,
    STROKE_WIDTH_RANGE,
    _stroke_width,
    canvas_to_mnist,
    has_ink,
)
from digit_app.synthetic import BLACK, TRANSPARENT, WHITE, draw_strokes, mnist_to_canvas

# A hand-made "4" and "7" in the coordinates of a 280x280 canvas.
FOUR = [[(170, 40), (60, 170), (200, 170)], [(170, 40), (170, 250)]]
SEVEN = [[(60, 50), (210, 50), (120, 240)]]


def scaled(strokes, factor, shift=(0, 0)):
    return [[(x * factor + shift[0], y * factor + shift[1]) for x, y in stroke] for stroke in strokes]


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (columns * image).sum() / image.sum()


def ink_extent(image, threshold=0.1):
    """(height, width) of the pixels with ink."""
    rows = np.flatnonzero((image > threshold).any(axis=1))
    columns = np.flatnonzero((image > threshold).any(axis=0))
    return rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1


def assert_mnist_like(image):
    """Shape, range, a 20 px long side and the centre of mass on (14, 14), as MNIST's digits."""
    assert image.shape == MODEL_INPUT_SHAPE and image.dtype == np.float32
    assert image.min() >= 0 and image.max() == pytest.approx(1.0)
    assert max(ink_extent(image)) in (DIGIT_BOX, DIGIT_BOX + 1)  # +1: an anti-aliased edge pixel
    row, column = centre_of_mass(image)
    assert abs(row - 14) <= 0.6 and abs(column - 14) <= 0.6, (row, column)


def correlation(a, b):
    return np.corrcoef(np.ravel(a), np.ravel(b))[0, 1]


def aligned_correlation(a, b):
    """The best correlation over shifts of up to 1 px. The centring moves a digit by whole pixels,
    as MNIST's did, so a centre of mass at x.5 may land either side: a 1 px difference that
    says nothing about the preprocessing."""
    return max(
        correlation(np.roll(a, (rows, columns), axis=(0, 1)), b) for rows in (-1, 0, 1) for columns in (-1, 0, 1)
    )


@pytest.fixture(scope="module")
def reference_four():
    return canvas_to_mnist(draw_strokes(FOUR))


def test_default_canvas_drawing_is_mnist_like(reference_four):
    assert_mnist_like(reference_four)
    assert STROKE_WIDTH_RANGE[0] - 0.3 <= _stroke_width(reference_four) <= STROKE_WIDTH_RANGE[1] + 0.3


@pytest.mark.parametrize(
    "ink, background",
    [
        (BLACK, TRANSPARENT),  # the drawable canvas's default
        ((255, 255, 255, 255), TRANSPARENT),
        (BLACK, WHITE),
        ((255, 255, 255, 255), BLACK),
        ((220, 30, 30, 255), WHITE),  # red on white: only green and blue differ
        ((30, 60, 200, 255), TRANSPARENT),
        ((40, 40, 40, 255), (200, 200, 200, 255)),  # dark grey on light grey
        ((0, 0, 0, 128), TRANSPARENT),  # a half-transparent pen
        ((255, 200, 0, 255), (20, 20, 60, 255)),  # yellow on navy
    ],
)
def test_ink_is_found_whatever_the_colours(ink, background, reference_four):
    image = canvas_to_mnist(draw_strokes(FOUR, ink=ink, background=background))
    assert_mnist_like(image)
    assert np.abs(image - reference_four).max() < 0.1


@pytest.mark.parametrize("size", [100, 280, 400, (200, 350), (350, 200)])
def test_any_canvas_size(size, reference_four):
    height, width = (size, size) if isinstance(size, int) else size
    factor = min(height, width) / 280
    shift = ((width - 280 * factor) / 2, (height - 280 * factor) / 2)
    image = canvas_to_mnist(draw_strokes(scaled(FOUR, factor, shift), size=size, width=20 * factor))
    assert_mnist_like(image)
    assert aligned_correlation(image, reference_four) > 0.95


@pytest.mark.parametrize(
    "canvas",
    [
        np.zeros((280, 280, 4), np.uint8),  # the default transparent canvas
        np.full((280, 280, 4), 255, np.uint8),  # opaque white
        np.dstack([np.zeros((280, 280, 3), np.uint8), np.full((280, 280), 255, np.uint8)]),  # opaque black
        np.full((280, 280, 4), 6, np.uint8),  # faint noise-level alpha
        np.zeros((1, 1, 4), np.uint8),
    ],
    ids=["transparent", "white", "black", "faint", "one-pixel"],
)
def test_empty_canvas_reads_as_nothing(canvas):
    assert canvas_to_mnist(canvas) is None
    assert not has_ink(canvas)  # the page prompts to draw, rather than asking for a bigger drawing


@pytest.mark.parametrize("pen_width", [5, 10, 20, 30, 40])
@pytest.mark.parametrize("background", [TRANSPARENT, WHITE])
def test_a_dot_reads_as_nothing(pen_width, background):
    dot = draw_strokes([[(140, 140)]], width=pen_width, background=background)
    assert canvas_to_mnist(dot) is None
    assert has_ink(dot)  # so the page can say it is too small, not that the canvas is empty


def test_a_speck_reads_as_nothing():
    # A 6 px flick of a 3 px pen: longer than wide, but far too little ink to be a digit.
    assert canvas_to_mnist(draw_strokes([[(100, 100), (106, 104)]], width=3)) is None


def test_a_small_but_real_digit_is_read():
    # A "1" a tenth of the canvas high with a thin pen is little ink, but a digit.
    image = canvas_to_mnist(draw_strokes([[(140, 126), (140, 154)]], width=6))
    assert image is not None
    assert ink_extent(image)[0] == DIGIT_BOX


@pytest.mark.parametrize(
    "shift",
    [(0, -45), (0, 25), (-55, 0), (70, 0), (-55, -45), (70, 25)],
    ids=["top", "bottom", "left", "right", "top-left", "bottom-right"],
)
def test_digit_touching_an_edge_is_centred(shift):
    canvas = draw_strokes(scaled(FOUR, 1, shift))
    alpha = canvas[:, :, 3]
    touched = {"top": alpha[0].any(), "bottom": alpha[-1].any(), "left": alpha[:, 0].any(), "right": alpha[:, -1].any()}
    assert any(touched.values())  # the drawing really runs off an edge
    assert_mnist_like(canvas_to_mnist(canvas))


# Pens from hairline to 60 px on digits from 15% to 100% of the canvas height; a pen wider than
# about 0.3 of the digit's height fills its holes and makes a blob that nobody could read.
@pytest.mark.parametrize(
    "pen_width, digit_fraction",
    [(3, 0.15), (8, 0.15), (3, 0.5), (8, 0.5), (20, 0.5), (40, 0.5), (3, 1.0), (20, 1.0), (60, 1.0)],
)
def test_thin_and_thick_pens_and_small_and_big_digits(pen_width, digit_fraction):
    factor = digit_fraction * 280 / 230  # FOUR is about 230 px high
    shift = (140 - 135 * factor, 140 - 145 * factor)
    strokes = scaled(FOUR, factor, shift)
    image = canvas_to_mnist(draw_strokes(strokes, width=pen_width, size=280 + pen_width))
    assert_mnist_like(image)
    # Whatever the pen, the stroke comes out about MNIST's width (2.5 px at 28x28; 1.8-3.8 for
    # the middle 80% of MNIST's digits).
    assert STROKE_WIDTH_RANGE[0] - 0.4 <= _stroke_width(image) <= STROKE_WIDTH_RANGE[1] + 0.6


def test_thick_and_thin_pens_give_similar_strokes():
    widths = [_stroke_width(canvas_to_mnist(draw_strokes(SEVEN, width=pen))) for pen in (6, 20, 45)]
    unnormalised = [pen * DIGIT_BOX / 200 for pen in (6, 20, 45)]  # the 7 is ~200 px high
    assert max(widths) - min(widths) < 1.2
    assert max(unnormalised) - min(unnormalised) > 3  # what it would have been without thinning


def test_several_strokes_are_one_digit(reference_four):
    # The "4" drawn as three separate strokes with gaps reads the same as in two.
    pieces = [[(170, 40), (60, 170)], [(60, 170), (200, 170)], [(170, 40), (170, 250)]]
    assert aligned_correlation(canvas_to_mnist(draw_strokes(pieces)), reference_four) > 0.98


def test_mnist_digits_survive_the_round_trip(mnist):
    """MNIST test digits scaled up onto a 280x280 canvas and preprocessed back match the originals.

    Measured on the first 1,000 test digits (correlation, best over 1 px shifts): median 0.969,
    minimum 0.80. The digits that differ most are those whose own strokes are far thinner or
    thicker than the STROKE_WIDTH_RANGE every drawing is brought into; digits already within
    it (a third of them) come back with at least 0.92, so they are held to 0.9.
    """
    correlations, in_range = [], []
    for original in mnist.x_test[:200]:
        image = canvas_to_mnist(mnist_to_canvas(original))
        assert_mnist_like(image)
        correlations.append(aligned_correlation(image, original))
        width = _stroke_width(original / 255)
        in_range.append(STROKE_WIDTH_RANGE[0] + 0.2 <= width <= STROKE_WIDTH_RANGE[1] - 0.2)
    correlations, in_range = np.array(correlations), np.array(in_range)
    assert np.median(correlations) > 0.95
    assert correlations.min() > 0.75
    assert in_range.sum() > 50 and correlations[in_range].min() > 0.9


@pytest.mark.parametrize(
    "bad, expected_words",
    [
        ([[0, 0, 0, 0]], ["numpy array", "list"]),
        (np.zeros((28, 28), np.uint8), ["(height, width, 4)", "(28, 28)"]),
        (np.zeros((280, 280, 3), np.uint8), ["(height, width, 4)", "(280, 280, 3)"]),
        (np.zeros((280, 280, 4, 1), np.uint8), ["(height, width, 4)", "(280, 280, 4, 1)"]),
        (np.zeros((0, 280, 4), np.uint8), ["(height, width, 4)", "(0, 280, 4)"]),
        (np.zeros((280, 280, 4), np.float32), ["uint8", "float32"]),
        (np.zeros((280, 280, 4), np.int64), ["uint8", "int64"]),
    ],
    ids=["list", "2d", "rgb", "5d", "zero-height", "float32", "int64"],
)
def test_malformed_input_is_refused_with_a_clear_message(bad, expected_words):
    with pytest.raises(ValueError) as error:
        canvas_to_mnist(bad)
    for word in ["Expected", *expected_words]:
        assert word in str(error.value)


@pytest.mark.parametrize("background", [TRANSPARENT, WHITE])
def test_the_canvas_is_left_untouched_and_any_array_layout_works(background, reference_four):
    canvas = draw_strokes(FOUR, background=background)
    before = canvas.copy()
    canvas.flags.writeable = False  # a caller's array may be read-only
    assert canvas_to_mnist(canvas) is not None
    assert np.array_equal(canvas, before)
    # The same drawing as a non-contiguous view: every other pixel of a canvas drawn at twice the size.
    double = draw_strokes(scaled(FOUR, 2), size=560, width=40, background=background)[::2, ::2]
    assert not double.flags.c_contiguous
    assert aligned_correlation(canvas_to_mnist(double), reference_four) > 0.95
