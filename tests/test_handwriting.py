"""The handwriting generator: deterministic, every form readable, mixed into training as promised."""

import numpy as np
import pytest

from digit_app import handwriting
from digit_app.handwriting import FORMS, NOT_A_DIGIT, form_names, generate, training_mix
from digit_app.preprocess import canvas_to_mnist

SOME_FORMS = ["1 flag", "7 crossed", "9 hooked tail", "scribble"]


def test_the_same_seed_gives_the_same_drawings_in_one_process_or_several():
    one, labels, forms, names = generate(3, seed=5, forms=SOME_FORMS, workers=1)
    several, _, _, _ = generate(3, seed=5, forms=SOME_FORMS, workers=2)
    assert np.array_equal(one, several)
    assert names == SOME_FORMS
    assert labels.tolist() == [1] * 3 + [7] * 3 + [9] * 3 + [NOT_A_DIGIT] * 3
    assert forms.tolist() == [0] * 3 + [1] * 3 + [2] * 3 + [3] * 3


def test_seeds_and_splits_are_separate_streams():
    train, _, _, _ = generate(4, seed=5, forms=SOME_FORMS, workers=1)
    assert not np.array_equal(train, generate(4, seed=6, forms=SOME_FORMS, workers=1)[0])
    evaluation = generate(4, seed=5, forms=SOME_FORMS, split="evaluation", workers=1)[0]
    assert not any(np.array_equal(a, b) for a in train for b in evaluation)


@pytest.mark.parametrize("name", form_names())
def test_every_form_renders_a_readable_drawing_on_a_canvas(name):
    canvas = handwriting.write(FORMS[name], np.random.default_rng(0))
    assert canvas.shape == (280, 280, 4) and canvas.dtype == np.uint8
    model_input = canvas_to_mnist(canvas)
    assert model_input is not None and model_input.max() == pytest.approx(1.0)


def test_drawings_vary_in_place_size_pen_and_colour():
    rng = np.random.default_rng(1)
    canvases = [handwriting.write(FORMS["7 crossed"], rng) for _ in range(30)]
    ink_boxes = set()
    papers = set()
    for canvas in canvases:
        paper = tuple(canvas[0, 0])
        papers.add(paper)
        rows, columns = np.nonzero(np.any(canvas != canvas[0, 0], axis=2))
        ink_boxes.add((rows.min() // 20, rows.max() // 20, columns.min() // 20))
    assert len(papers) >= 4  # white, transparent and tinted papers
    assert len(ink_boxes) >= 25  # hardly two drawings in the same place at the same size


def test_an_unknown_form_or_split_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="Unknown handwriting forms.*7 crossed"):
        generate(1, seed=0, forms=["7 with a hat"])
    with pytest.raises(ValueError, match="Unknown split 'test'"):
        generate(1, seed=0, forms=SOME_FORMS, split="test")


def test_cached_sets_are_read_back_and_keyed_by_generator_version(tmp_path, monkeypatch):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    first = handwriting.cached(2, 3, SOME_FORMS)
    files = list(tmp_path.glob("handwriting-v*.npz"))
    assert len(files) == 1
    again = handwriting.cached(2, 3, SOME_FORMS)
    assert all(np.array_equal(a, b) for a, b in zip(first[:3], again[:3]))
    monkeypatch.setattr(handwriting, "GENERATOR_VERSION", handwriting.GENERATOR_VERSION + 1)
    handwriting.cached(2, 3, SOME_FORMS)
    assert len(list(tmp_path.glob("handwriting-v*.npz"))) == 2


def test_the_training_mix_holds_digits_non_digits_and_redrawn_mnist_in_their_shares(tmp_path, monkeypatch, small_mnist):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    mix = training_mix(small_mnist.x_train, small_mnist.y_train, seed=0)
    redrawn = mix.description["mnist_redrawn"]
    assert redrawn == pytest.approx(2000 * handwriting.REDRAWN_PER_MNIST_DIGIT, abs=3)
    expected = 2000 * handwriting.DRAWINGS_PER_MNIST_DIGIT
    assert abs(len(mix) - redrawn - expected) <= len(FORMS)  # rounded per form
    non_digits = np.sum(mix.train_labels == NOT_A_DIGIT) / (len(mix) - redrawn)
    assert abs(non_digits - handwriting.NON_DIGIT_SHARE) < 0.05
    assert set(np.unique(mix.train_labels)) == set(range(11))
    assert len(mix.validation_labels) > 0
    assert mix.description["generator_version"] == handwriting.GENERATOR_VERSION
    assert mix.description["drawings"] == len(mix)


def test_forms_drawn_more_get_their_weight_within_the_non_digits_share(tmp_path, monkeypatch, small_mnist):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    monkeypatch.setattr(handwriting, "DRAWN_MORE", {"scribble": 4})
    others = [name for name in form_names("non-digits") if name not in ("scribble", "star")]
    mix = training_mix(small_mnist.x_train[:1000], small_mnist.y_train[:1000], seed=0, left_out=others)
    non_digits = mix.train_images[mix.train_labels == NOT_A_DIGIT]
    assert len(non_digits) == pytest.approx(1000 * handwriting.DRAWINGS_PER_MNIST_DIGIT * handwriting.NON_DIGIT_SHARE, abs=3)
    scribbles = {image.tobytes() for image in generate(len(non_digits), 0, ["scribble"])[0]}
    assert np.mean([image.tobytes() in scribbles for image in non_digits]) == pytest.approx(4 / 5, abs=0.02)
    assert mix.description["drawn_more"] == {"scribble": 4}


def test_re_drawn_0s_1s_7s_and_9s_get_their_style_and_other_digits_do_not(tmp_path, monkeypatch, small_mnist):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    images, labels = small_mnist.x_train[:300], small_mnist.y_train[:300]
    drawn = {}
    for share in (0.0, 1.0):
        monkeypatch.setattr(handwriting, "RESTYLED_SHARE", share)
        monkeypatch.setattr(handwriting, "GENERATOR_VERSION", f"test-{share}")  # a cache of its own
        drawn[share] = handwriting.redrawn_mnist(images, labels, 300, seed=0)
    (plain, plain_labels), (styled, styled_labels) = drawn[0.0], drawn[1.0]
    assert np.array_equal(plain_labels, styled_labels)
    changed = np.array([not np.array_equal(a, b) for a, b in zip(plain, styled)])
    styles = np.isin(plain_labels, [0, 1, 7, 9])
    assert changed[styles].all() and not changed[~styles].any()
    no_crossed_sevens, _ = handwriting.redrawn_mnist(images, labels, 300, seed=0, restyled=(0, 1))
    assert np.array_equal(no_crossed_sevens[plain_labels == 7], plain[plain_labels == 7])
    assert np.array_equal(no_crossed_sevens[plain_labels == 1], styled[plain_labels == 1])


def test_leaving_a_form_out_leaves_its_style_out_of_the_re_drawn_mnist_digits(tmp_path, monkeypatch, small_mnist):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    asked = []
    redraw = handwriting.redrawn_mnist
    monkeypatch.setattr(handwriting, "redrawn_mnist", lambda *args: asked.append(args[-1]) or redraw(*args))
    for left_out in [(), ("7 crossed",), ("1 flag and base", "4 closed"), ("9 hooked tail",)]:
        training_mix(small_mnist.x_train[:100], small_mnist.y_train[:100], seed=0, left_out=left_out)
    assert asked == [(0, 1, 7, 9), (0, 1, 9), (0, 7, 9), (0, 1, 7)]


def test_a_model_without_a_not_a_digit_output_gets_digits_only_and_left_out_forms_are_left_out(tmp_path, monkeypatch, small_mnist):
    monkeypatch.setenv(handwriting.CACHE_ENV_VAR, str(tmp_path))
    sevens = [name for name in form_names("digits") if FORMS[name].label == 7]
    not_seven = small_mnist.y_train[:1000] != 7
    mix = training_mix(small_mnist.x_train[:1000][not_seven], small_mnist.y_train[:1000][not_seven], seed=0,
                       with_non_digits=False, left_out=sevens)
    assert NOT_A_DIGIT not in mix.train_labels
    assert 7 not in mix.train_labels and 7 not in mix.validation_labels
    assert mix.description["forms_left_out"] == sevens
