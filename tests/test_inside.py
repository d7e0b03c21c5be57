"""digit_app.inside with real Keras models: built ones of every architecture, and the shipped default."""

from pathlib import Path

import keras
import numpy as np
import pytest

from digit_app import inside
from digit_app.architectures import ARCHITECTURES, WITH_NOT_A_DIGIT, build_model
from digit_app.preprocess import canvas_to_mnist
from digit_app.synthetic import draw_strokes

SHIPPED_DEFAULT = Path(__file__).resolve().parent.parent / "models" / "default-cnn.keras"
SEVEN = [[(78, 62), (140, 60), (204, 58), (186, 105), (166, 150), (148, 196), (134, 240)]]
ONE_WITH_A_FLAG = [[(110, 80), (150, 48)], [(150, 48), (150, 240)]]
APP_DRAWINGS = Path(__file__).resolve().parent.parent / "bench" / "data" / "app_drawings.npz"
INSPECTED = {
    "cnn": [("conv_32a", inside.CONVOLUTION, (26, 26, 32)), ("conv_32b", inside.CONVOLUTION, (24, 24, 32)),
            ("conv_64a", inside.CONVOLUTION, (10, 10, 64)), ("conv_64b", inside.CONVOLUTION, (8, 8, 64)),
            ("dense_256", inside.DENSE, (256,))],
    "dense-128": [("dense_128", inside.DENSE, (128,))],
    "dense-32-64": [("dense_32", inside.DENSE, (32,)), ("dense_64", inside.DENSE, (64,))],
}  # fmt: skip


@pytest.fixture(scope="module")
def built():
    """An inspector for a freshly built model of each architecture, with the 11 outputs."""
    return {name: inside.Inspector(build_model(name, seed=0, num_classes=WITH_NOT_A_DIGIT)) for name in ARCHITECTURES}


@pytest.fixture(scope="module")
def default_inspector():
    return inside.Inspector(keras.saving.load_model(SHIPPED_DEFAULT, compile=False))


@pytest.fixture(scope="module")
def seven():
    return canvas_to_mnist(draw_strokes(SEVEN))


def _reading(inspector, image):
    probabilities = inspector.model(image[None], training=False).numpy()[0]
    return inside.reading_and_runner_up(probabilities)


def _wiped(image, flat_indices):
    copy = image.copy()
    copy.ravel()[flat_indices] = 0
    return copy


def test_reading_and_runner_up_are_the_two_likeliest():
    assert inside.reading_and_runner_up([0.1, 0.6, 0.05, 0.25]) == (1, 3)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_convolution_and_hidden_dense_layer_is_inspected(built, architecture, seven):
    inspector = built[architecture]
    views = inspector.layer_views(seven)
    assert [(view.name, view.kind, view.activations.shape) for view in views] == INSPECTED[architecture]
    assert inspector.has_convolutions == (architecture == "cnn")


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_layer_views_are_what_keras_computes(built, architecture, seven):
    model = built[architecture].model
    for view in built[architecture].layer_views(seven):
        reference = keras.Model(model.inputs[0], model.get_layer(view.name).output)(seven[None]).numpy()[0]
        np.testing.assert_allclose(view.activations, reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_margins_are_the_log_ratio_of_the_two_probabilities(built, architecture, rng):
    inspector = built[architecture]
    images = rng.random((4, 28, 28), dtype=np.float32)
    probabilities = inspector.model(images, training=False).numpy()
    expected = np.log(probabilities[:, 3]) - np.log(probabilities[:, 8])
    np.testing.assert_allclose(inspector.margins(images, 3, 8), expected, rtol=1e-4, atol=1e-4)


def test_strongest_units_come_first():
    view = inside.LayerView("dense", inside.DENSE, np.array([0.5, 3.0, 0.0, 2.0], np.float32))
    assert view.strongest(2) == [(1, 3.0), (3, 2.0)]


def test_gradient_x_input_is_the_margins_slope_times_the_ink(built, seven):
    """Against finite differences: darken one ink pixel a little and watch the margin move."""
    inspector = built["dense-128"]
    saliency = inspector.saliency(seven, 7, 1, inside.GRADIENT_X_INPUT)
    assert (saliency.values[seven == 0] == 0).all()
    row, column = np.argwhere(seven > 0.5)[0]
    step = 1e-2
    nudged = seven.copy()
    nudged[row, column] += step
    slope = np.diff(inspector.margins(np.stack([seven, nudged]), 7, 1))[0] / step
    assert saliency.values[row, column] == pytest.approx(slope * seven[row, column], rel=0.05, abs=1e-3)


def test_occlusion_of_a_single_dot_is_the_margin_it_carries(built):
    """Every square over a lone dot wipes just that dot: its value is the margin lost without it."""
    inspector = built["cnn"]
    dot = np.zeros((28, 28), np.float32)
    dot[14, 14] = 1.0
    saliency = inspector.saliency(dot, 2, 5, inside.OCCLUSION)
    blank_margin, dot_margin = inspector.margins(np.stack([np.zeros_like(dot), dot]), 2, 5)
    assert saliency.values[14, 14] == pytest.approx(dot_margin - blank_margin, rel=1e-4, abs=1e-5)
    saliency.values[14, 14] = 0
    assert not saliency.values.any()


def test_blank_input_has_no_saliency(built):
    assert not inside.Inspector.saliency(built["cnn"], np.zeros((28, 28), np.float32), 0, 1).values.any()


def test_wrong_input_shape_says_what_it_expected(built):
    with pytest.raises(ValueError, match=r"Expected the \(28, 28\) image .* got shape \(280, 280\)"):
        built["cnn"].layer_views(np.zeros((280, 280)))


@pytest.fixture(scope="module")
def app_drawings():
    """The digits drawn with the mouse in the real app (bench/data/app_drawings.npz), as the model sees them."""
    canvases = np.load(APP_DRAWINGS)["canvases"]
    return [image for image in map(canvas_to_mnist, canvases) if image is not None]


@pytest.mark.parametrize("method", inside.SALIENCY_METHODS)
def test_on_the_shipped_default_the_pixels_named_carry_the_reading(default_inspector, app_drawings, method, rng):
    """On digits drawn in the real app, wiping the 10 pixels the map says pushed most toward the
    reading costs it more of its margin than wiping 10 random ink pixels does (the median over the
    drawings, as bench/saliency.py measures); and every map lies on the ink."""
    named_left, random_left = [], []
    for image in app_drawings:
        reading, runner_up = _reading(default_inspector, image)
        saliency = default_inspector.saliency(image, reading, runner_up, method)
        assert (saliency.values[image == 0] == 0).all() and saliency.values.max() > 0
        ink = np.flatnonzero(image > 0)
        named = ink[np.argsort(saliency.values.ravel()[ink])[::-1][:10]]
        full, without_named, without_random = default_inspector.margins(
            np.stack([image, _wiped(image, named), _wiped(image, rng.choice(ink, 10, replace=False))]), reading, runner_up
        )
        named_left.append(without_named / full)
        random_left.append(without_random / full)
    assert np.median(named_left) < 0.6 * np.median(random_left)


def test_a_flag_on_a_one_is_what_brings_seven(default_inspector):
    """A real case: a 1 with a flag is read 1, and 7 is the runner-up because of the flag: without
    it, 1 leads 7 by more. (With 3x3 squares, occlusion need not mark the flag toward 7: a square
    wiped from the flag leaves a stub, which a model that learnt flagged 1s can find more 7-like.)"""
    image = canvas_to_mnist(draw_strokes(ONE_WITH_A_FLAG))
    reading, runner_up = _reading(default_inspector, image)
    assert (reading, runner_up) == (1, 7)
    columns = np.argwhere(image > 0.3)[:, 1]
    stem_column = np.bincount(columns).argmax()  # the stem is the column with the most ink
    stem = np.zeros_like(image, bool)
    stem[:, stem_column - 1 : stem_column + 2] = True
    without_flag = np.where(stem, image, 0)
    with_flag_margin, without_flag_margin = default_inspector.margins(np.stack([image, without_flag]), 1, 7)
    assert without_flag_margin > with_flag_margin > 0
    values = default_inspector.saliency(image, reading, runner_up).values
    assert (values[image == 0] == 0).all() and values[stem].max() > 0


def test_saliency_picture_reads_back_as_the_map(default_inspector, seven):
    reading, runner_up = _reading(default_inspector, seven)
    saliency = default_inspector.saliency(seven, reading, runner_up)
    picture = inside.saliency_image(saliency)
    assert picture.shape == (28 * inside.SALIENCY_SCALE, 28 * inside.SALIENCY_SCALE, 3) and picture.dtype == np.uint8
    expected = np.abs(saliency.values) / np.abs(saliency.values).max()
    np.testing.assert_allclose(inside.saliency_strength(picture), expected, atol=0.02)
    toward_runner_up = saliency.values < -0.1 * np.abs(saliency.values).max()
    centres = picture[3::7, 3::7].astype(int)
    assert (centres[toward_runner_up, 0] > centres[toward_runner_up, 2]).all()  # orange, not blue


def test_maps_picture_lays_out_every_map(default_inspector, seven):
    _, convolution, _, second, dense = default_inspector.layer_views(seven)
    picture = inside.maps_image(convolution)  # 32 maps of 24x24, each doubled, 8 a row
    assert picture.shape == (4 * 48 + 3 * inside.MAP_GAP, 8 * 48 + 7 * inside.MAP_GAP, 3)

    def tile(channel):
        row, column = divmod(channel, inside.MAP_COLUMNS)
        return picture[row * 50 : row * 50 + 48, column * 50 : column * 50 + 48]

    peaks = convolution.activations.max(axis=(0, 1))
    assert tile(int(peaks.argmax())).min() == picture.min() < 128  # one scale: the layer's peak is the darkest
    strongest, _ = convolution.strongest(1)[0]
    assert tile(strongest).min() < 255  # the strongest map on average shows where it is active
    for silent in np.flatnonzero(peaks == 0):
        assert (tile(int(silent)) == 255).all()  # a map that never responds stays white
    assert inside.maps_image(second).shape == (8 * 40 + 7 * inside.MAP_GAP, 8 * 40 + 7 * inside.MAP_GAP, 3)
    with pytest.raises(ValueError, match="only a convolution has maps"):
        inside.maps_image(dense)
