"""What a fine-tune's before/after scores mean, in words, for the My drawings page.

Three things can mislead a person reading "before" and "after":
- a change of nothing shown as a gain ("+0.0 points" beside a green arrow);
- a change on a handful of held-out drawings, which chance alone makes: with 12 held-out
  drawings, one more read right moves the score by 8 points and means nothing;
- a model that reads the user's drawings better but ordinary handwriting worse.
"""

import dataclasses
import math

MNIST_DROP_WARNING_POINTS = 0.5  # a fall in MNIST test accuracy above this is worth a warning
CHANCE_Z = 1.96  # about 95% of the changes chance alone gives fall within this many standard deviations
UP, DOWN, NONE = "up", "down", "none"


@dataclasses.dataclass(frozen=True)
class Change:
    text: str  # "+2.5 points", "-0.67 points" or "no change"
    direction: str  # UP, DOWN or NONE


@dataclasses.dataclass(frozen=True)
class Verdict:
    drawings: Change  # on the held-out drawings
    mnist: Change  # on the 10,000 MNIST test digits
    held_out_too_small: bool
    warnings: tuple  # sentences that argue against using the model
    notes: tuple  # sentences that qualify the scores


def plural(count, noun):
    """'1 drawing', '2 drawings'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def change_in_points(before, after, decimals):
    """The change between two accuracies (fractions) in percentage points, as it will be shown:
    a change that rounds to zero at the shown precision is no change."""
    points = round((after - before) * 100, decimals)
    if points == 0:
        return Change("no change", NONE)
    return Change(f"{points:+.{decimals}f} points", UP if points > 0 else DOWN)


def chance_margin(num_drawings, accuracy_before, accuracy_after):
    """How many more (or fewer) held-out drawings read right chance alone can give, about 95% of
    the time: each reading is a coin weighted by the accuracy, before and after. The accuracies
    are pulled one drawing's worth towards a half, so that 0% and 100% still have a spread."""
    spread = 0.0
    for accuracy in (accuracy_before, accuracy_after):
        weighted = (accuracy * num_drawings + 1) / (num_drawings + 2)
        spread += num_drawings * weighted * (1 - weighted)
    return CHANCE_Z * math.sqrt(spread)


def judge(scores):
    """The Verdict on a digit_app.fine_tune.FineTuneScores."""
    held_out = scores.num_evaluation_drawings
    right_before = round(scores.drawings_accuracy_before * held_out)
    right_after = round(scores.drawings_accuracy_after * held_out)
    changed = right_after - right_before
    margin = chance_margin(held_out, scores.drawings_accuracy_before, scores.drawings_accuracy_after)
    too_small = abs(changed) <= margin
    notes = []
    if too_small:
        change = "no change" if changed == 0 else "a change of " + plural(abs(changed), "drawing")
        notes.append(
            f"The held-out part is too small to tell: {plural(held_out, 'drawing')}, on which {change} is "
            f"within what chance gives (up to about {math.floor(margin)} either way). "
            "Keep more drawings for a clear answer."
        )
    warnings = []
    mnist_fall = (scores.mnist_accuracy_before - scores.mnist_accuracy_after) * 100
    if mnist_fall > MNIST_DROP_WARNING_POINTS:
        warnings.append(
            f"MNIST accuracy fell by {mnist_fall:.2f} points, more than {MNIST_DROP_WARNING_POINTS} points: "
            "the fine-tuned model reads ordinary handwriting less well. Use it only if reading your own "
            "drawings matters more to you."
        )
    return Verdict(
        drawings=change_in_points(scores.drawings_accuracy_before, scores.drawings_accuracy_after, 1),
        mnist=change_in_points(scores.mnist_accuracy_before, scores.mnist_accuracy_after, 2),
        held_out_too_small=too_small,
        warnings=tuple(warnings),
        notes=tuple(notes),
    )
