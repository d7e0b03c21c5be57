import math

import pytest

from digit_app.curves import (
    TRAINING,
    VALIDATION_EPOCH,
    VALIDATION_SAMPLE,
    batch_point,
    curve_rows,
    spread_batches,
    validation_curve,
)


@pytest.mark.parametrize(
    "batches, count, expected",
    [
        (18, 5, [4, 7, 11, 14, 18]),
        (422, 5, [84, 169, 253, 338, 422]),
        (3, 5, [1, 2, 3]),  # fewer batches than checks: every batch
        (1, 5, [1]),
        (250, 100, [round(k * 2.5) for k in range(1, 101)]),
    ],
)
def test_batches_are_spread_evenly_and_end_with_the_last(batches, count, expected):
    assert spread_batches(batches, count) == expected


def test_a_batch_point_is_placed_within_its_epoch_and_rounded():
    point = batch_point({"epoch": 2, "batch": 1, "batches": 3, "loss": 0.123456789, "accuracy": 0.987654321})
    assert point == [1.3333, 2, 1, 0.12346, 0.98765]


def test_rows_hold_every_series_and_leave_missing_values_out():
    rows = curve_rows(
        history={"loss": [0.5], "accuracy": [0.8], "val_loss": [0.4], "val_accuracy": [None]},
        batch_points=[(0.5, 1, 2, 0.9, 0.7), (1.0, 1, 4, 0.5, math.nan)],
        validation_points=[(0.0, 1, 0, 2.3, 0.1)],
        batches_per_epoch=4,
    )
    by_series = {}
    for row in rows:
        by_series.setdefault((row["series"], row["metric"]), []).append((row["fractional_epoch"], row["batch"], row["value"]))
    assert by_series == {
        (TRAINING, "loss"): [(0.5, 2, 0.9), (1.0, 4, 0.5)],
        (TRAINING, "accuracy"): [(0.5, 2, 0.7)],
        (VALIDATION_SAMPLE, "loss"): [(0.0, 0, 2.3)],
        (VALIDATION_SAMPLE, "accuracy"): [(0.0, 0, 0.1)],
        (VALIDATION_EPOCH, "loss"): [(1, 4, 0.4)],
    }


def test_a_model_saved_without_curves_is_drawn_from_its_history():
    history = {"loss": [0.5, 0.3], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.35], "val_accuracy": [0.85, 0.9]}
    rows = curve_rows(history=history)
    assert [(row["epoch"], row["value"]) for row in rows if row["series"] == TRAINING and row["metric"] == "loss"] == [
        (1, 0.5), (2, 0.3)]
    assert validation_curve({"history": history}) == [(1, 1, None, 0.4, 0.85), (2, 2, None, 0.35, 0.9)]
    checked = {"history": history, "curves": {"validation": [[0.5, 1, 3, 0.6, 0.8]]}}
    assert validation_curve(checked) == [(0.5, 1, 3, 0.6, 0.8)]
