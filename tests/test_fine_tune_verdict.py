import pytest

from digit_app.fine_tune_verdict import DOWN, NONE, UP, change_in_points, judge, plural
from digit_app.fine_tune import FineTuneScores


def scores(held_out, right_before, right_after, mnist_before=0.99, mnist_after=0.99):
    return FineTuneScores(
        base_model_id="default-cnn", num_train_drawings=48, num_evaluation_drawings=held_out, num_mnist=10_000,
        drawing_weight=2.0, drawings_accuracy_before=right_before / held_out,
        drawings_accuracy_after=right_after / held_out, mnist_accuracy_before=mnist_before,
        mnist_accuracy_after=mnist_after,
    )


@pytest.mark.parametrize(
    ("before", "after", "decimals", "text", "direction"),
    [
        (0.75, 0.75, 1, "no change", NONE),
        (0.99120, 0.99121, 2, "no change", NONE),  # rounds to zero as shown: not "+0.00 points"
        (0.75, 10 / 12, 1, "+8.3 points", UP),
        (0.9912, 0.9845, 2, "-0.67 points", DOWN),
    ],
)
def test_a_change_is_shown_as_it_rounds(before, after, decimals, text, direction):
    change = change_in_points(before, after, decimals)
    assert (change.text, change.direction) == (text, direction)


@pytest.mark.parametrize(
    ("held_out", "right_before", "right_after", "too_small"),
    [
        (12, 9, 10, True),  # one drawing of twelve: chance
        (12, 9, 9, True),
        (12, 4, 12, False),  # eight of twelve: not chance
        (200, 150, 160, True),
        (200, 150, 190, False),
    ],
)
def test_the_held_out_part_is_called_too_small_when_chance_could_give_the_change(
    held_out, right_before, right_after, too_small
):
    verdict = judge(scores(held_out, right_before, right_after))
    assert verdict.held_out_too_small is too_small
    assert any("too small to tell" in note for note in verdict.notes) is too_small


def test_mnist_falling_more_than_half_a_point_is_warned_of():
    verdict = judge(scores(50, 30, 45, mnist_before=0.9912, mnist_after=0.9845))
    assert verdict.mnist.text == "-0.67 points"
    assert len(verdict.warnings) == 1 and "fell by 0.67 points" in verdict.warnings[0]


@pytest.mark.parametrize("mnist_after", [0.9912, 0.9870, 0.9950])
def test_mnist_within_half_a_point_or_better_gets_no_warning(mnist_after):
    assert judge(scores(50, 30, 45, mnist_before=0.9912, mnist_after=mnist_after)).warnings == ()


@pytest.mark.parametrize(("count", "text"), [(0, "0 drawings"), (1, "1 drawing"), (2, "2 drawings"), (1200, "1,200 drawings")])
def test_plural(count, text):
    assert plural(count, "drawing") == text
