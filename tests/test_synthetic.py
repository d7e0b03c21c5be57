import numpy as np
import pytest

from digit_app import synthetic
from digit_app.synthetic import (
    HEIGHT_FRACTION_RANGE,
    STYLES,
    TRANSPARENT,
    WHITE,
    draw_strokes,
    mnist_strokes,
    mnist_to_canvas,
    redraw_as_canvas,
    trace_strokes,
    zhang_suen_thin,
)


def ink_box(canvas):
    """(height, width) of the drawn pixels of a black-ink canvas, transparent or white."""
    ink = canvas[:, :, 3] if canvas[0, 0, 3] == 0 else 255 - canvas[:, :, 0]
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1


def has_2x2_block(mask):
    return bool((mask[:-1, :-1] & mask[1:, :-1] & mask[:-1, 1:] & mask[1:, 1:]).any())


@pytest.mark.parametrize("size", [280, 100, (200, 350)])
def test_draw_strokes_makes_a_canvas_like_the_drawable_one(size):
    canvas = draw_strokes([[(20, 20), (80, 60)]], size=size, width=10)
    height, width = (size, size) if isinstance(size, int) else size
    assert canvas.shape == (height, width, 4) and canvas.dtype == np.uint8
    assert (canvas[:, :, :3] == 0).all()  # black ink, and (0, 0, 0, 0) where nothing is drawn
    alpha = canvas[:, :, 3]
    assert alpha[40, 50] == 255 and alpha[height - 1, width - 1] == 0
    assert 0 < np.count_nonzero((alpha > 0) & (alpha < 255)) < np.count_nonzero(alpha == 255)  # anti-aliased edges


@pytest.mark.parametrize("width", [6, 20, 40])
def test_a_one_point_stroke_is_a_round_dot_of_the_pen_width(width):
    alpha = draw_strokes([[(140, 140)]], width=width)[:, :, 3] / 255
    assert alpha.sum() == pytest.approx(np.pi * width**2 / 4, rel=0.1)
    assert (alpha[140] > 0.5).sum() == pytest.approx(width, abs=2)


def test_a_stroke_is_as_wide_as_the_pen():
    alpha = draw_strokes([[(140, 40), (140, 240)]], width=20)[:, :, 3]
    assert (alpha[140] > 127).sum() == pytest.approx(20, abs=1)


def test_ink_over_an_opaque_background_is_composited():
    canvas = draw_strokes([[(50, 50), (200, 50)]], width=20, ink=(200, 0, 0, 255), background=WHITE)
    assert (canvas[:, :, 3] == 255).all()
    assert tuple(canvas[50, 120]) == (200, 0, 0, 255)
    assert tuple(canvas[200, 200]) == WHITE


def test_mnist_to_canvas_scales_the_digit_into_the_alpha(mnist):
    digit = mnist.x_test[0]
    canvas = mnist_to_canvas(digit, size=(280, 400))
    assert canvas.shape == (280, 400, 4) and (canvas[:, :, :3] == 0).all()
    centre_block = canvas[:, 60:340, 3].reshape(28, 10, 28, 10).mean(axis=(1, 3))
    assert np.corrcoef(centre_block.ravel(), digit.ravel())[0, 1] > 0.95


def test_thinning_a_thick_bar_leaves_its_centre_line():
    bar = np.zeros((20, 40), bool)
    bar[7:14, 5:35] = True
    skeleton = zhang_suen_thin(bar)
    assert not (skeleton & ~bar).any()
    rows = np.flatnonzero(skeleton.any(axis=1))
    assert set(rows) <= {9, 10, 11}
    assert skeleton.any(axis=0).sum() >= 20
    assert not has_2x2_block(skeleton)


def test_thinning_a_ring_keeps_it_closed():
    rows, columns = np.indices((40, 40))
    radius = np.hypot(rows - 20, columns - 20)
    ring = (radius > 10) & (radius < 15)
    skeleton = zhang_suen_thin(ring)
    assert not has_2x2_block(skeleton)
    strokes = trace_strokes(skeleton)
    assert len(strokes) == 1 and np.array_equal(strokes[0][0], strokes[0][-1])  # one closed loop
    assert np.all(np.abs(np.hypot(*(strokes[0] - 20).T) - 12.5) < 2)


def test_tracing_splits_a_cross_at_its_junction_and_covers_every_pixel():
    cross = np.zeros((21, 21), bool)
    cross[10, 2:19] = True
    cross[2:19, 10] = True
    strokes = trace_strokes(cross)
    assert len(strokes) == 4
    assert {tuple(p) for stroke in strokes for p in stroke.astype(int)} == {tuple(p) for p in np.argwhere(cross)}


def test_short_spurs_are_dropped():
    line = np.zeros((20, 30), bool)
    line[10, 2:28] = True
    line[8:10, 15] = True  # a 2-pixel spur off the middle
    points = {tuple(p) for stroke in trace_strokes(line) for p in stroke.astype(int)}
    assert (8, 15) not in points and (10, 2) in points and (10, 27) in points


def test_mnist_strokes_stay_on_the_digit(mnist):
    digit = mnist.x_test[0]
    points = np.vstack(mnist_strokes(digit))
    rows, columns = np.clip(points.astype(int), 0, 27).T
    assert (digit[rows, columns] > 0).mean() > 0.95


def test_redrawn_digits_are_canvas_drawings_in_the_promised_ranges(mnist):
    rng = np.random.default_rng(1)
    backgrounds = []
    for digit in mnist.x_test[:40]:
        canvas = redraw_as_canvas(digit, rng)
        assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
        assert (canvas[:, :, :3][canvas[:, :, 3] == 255] < 128).all() or canvas[0, 0, 3] == 255
        height, _ = ink_box(canvas)
        low, high = HEIGHT_FRACTION_RANGE
        assert low * 280 * 0.8 <= height <= high * 280 * 1.1  # the slant changes the height a little
        backgrounds.append(tuple(canvas[0, 0]))
    assert set(backgrounds) == {TRANSPARENT, WHITE}


def test_the_same_seed_gives_the_same_drawing(mnist):
    first = redraw_as_canvas(mnist.x_test[3], np.random.default_rng(5))
    second = redraw_as_canvas(mnist.x_test[3], np.random.default_rng(5))
    other = redraw_as_canvas(mnist.x_test[3], np.random.default_rng(6))
    assert np.array_equal(first, second) and not np.array_equal(first, other)


# A stroke down the middle of a unit of 100 px, from top (y 0) to bottom (y 100), as (x, y) points.
STEM = np.array([(50.0, y) for y in np.linspace(0, 100, 21)])


def test_a_flag_rises_from_the_left_to_the_top_of_the_stem_steeper_than_a_sevens_bar():
    for seed in range(20):
        stem, flag = STYLES[1]([STEM], 100.0, np.random.default_rng(seed))[:2]
        assert stem is STEM
        (start_x, start_y), (end_x, end_y) = flag
        assert (end_x, end_y) == (50.0, 0.0)
        rise, run = start_y - end_y, end_x - start_x
        assert run > 0 and 30 <= np.degrees(np.arctan2(rise, run)) <= 60
        assert 20 <= np.hypot(rise, run) <= 40


def test_a_crossbar_crosses_the_stem_near_half_way_down():
    for seed in range(20):
        stem, ((left_x, left_y), (right_x, right_y)) = STYLES[7]([STEM], 100.0, np.random.default_rng(seed))
        assert stem is STEM
        assert left_x < 50 < right_x
        assert 40 <= (left_y + right_y) / 2 <= 67


# A 9 of 100 px in (x, y): a loop at the top and a straight stem down its right side to the foot.
NINE_LOOP = np.array([(60 + 25 * np.cos(t), 25 + 25 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 30)])
NINE_STEM = np.array([(85.0, y) for y in np.linspace(25, 100, 16)])


def test_a_curled_tail_keeps_the_loop_and_sweeps_the_foot_to_the_left():
    for seed in range(20):
        loop, stem = STYLES[9]([NINE_LOOP, NINE_STEM], 100.0, np.random.default_rng(seed))
        assert loop is NINE_LOOP
        same = np.all(stem[: len(NINE_STEM)] == NINE_STEM[: len(stem)], axis=1)
        kept = int(np.argmin(same)) if not same.all() else len(same)
        assert 50 <= stem[kept - 1, 1] <= 70  # the stem is the 9's own down to 30-45% above the foot
        tail = stem[kept:]
        assert tail[:, 1].max() >= 80  # then the tail runs down near the foot
        assert 85 - tail[-1, 0] >= 14  # and ends well to the left of the stem
        assert tail[-1, 1] <= tail[:, 1].max()  # level with the lowest point or curling back up


def test_a_styled_redraw_draws_the_digits_own_strokes_and_the_style(mnist, monkeypatch):
    drawn = []
    monkeypatch.setattr(synthetic, "draw_strokes", lambda strokes, **options: drawn.append(strokes))
    seven = mnist.x_test[np.flatnonzero(mnist.y_test == 7)[0]]
    redraw_as_canvas(seven, np.random.default_rng(2))
    redraw_as_canvas(seven, np.random.default_rng(2), style_of=7)
    plain, crossed = drawn
    assert len(crossed) == len(plain) + 1 == len(mnist_strokes(seven)) + 1
    bar = np.array(crossed[-1])
    digit = np.vstack([np.array(stroke) for stroke in crossed[:-1]])
    assert len(bar) == 2 and digit[:, 0].min() < bar[:, 0].mean() < digit[:, 0].max()
