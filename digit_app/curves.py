"""The points of the training curves, as plain lists that progress.json, a model's metadata and the
charts share. Imports no TensorFlow: the pages and a queued job read these without it.

A point is [fractional epoch, epoch, batch, loss, accuracy]: epoch and batch are 1-based, the
fractional epoch places the point on the x axis (epoch 2, batch 50 of 100 is at 1.5).
- batch points: the running training loss and accuracy within an epoch (Keras' running mean);
- validation points: the fixed validation sample checked within an epoch;
- a model's per-epoch history (HISTORY_KEYS) gives the end-of-epoch points on the whole
  validation set, and the only points of models saved before the curves were kept.
"""

import math

VALIDATIONS_PER_EPOCH = 5  # checks of the validation sample within each epoch (digit_app.training)
TRAINING, VALIDATION_SAMPLE, VALIDATION_EPOCH = "training", "validation sample", "validation, epoch end"
SERIES = (TRAINING, VALIDATION_SAMPLE, VALIDATION_EPOCH)  # the order of the legend


def batch_point(progress):
    """A point from an on_batch_end progress dict (epoch, batch, batches, loss, accuracy), rounded:
    a model's metadata keeps hundreds of them."""
    fractional_epoch = progress["epoch"] - 1 + progress["batch"] / progress["batches"]
    return [round(fractional_epoch, 4), progress["epoch"], progress["batch"],
            _significant(progress["loss"]), _significant(progress["accuracy"])]


def _significant(value, digits=5):
    return float(f"{value:.{digits}g}") if value is not None else None


def spread_batches(batches_per_epoch, count):
    """The 1-based batches, `count` of them evenly spread over an epoch and ending with its last."""
    count = min(count, batches_per_epoch)
    return sorted({round(k * batches_per_epoch / count) for k in range(1, count + 1)})


def curve_rows(history=None, batch_points=(), validation_points=(), batches_per_epoch=None):
    """One row per point and metric, for a chart: fractional_epoch, epoch, batch, series, metric
    ("loss" or "accuracy") and value. Missing values (None, NaN) are left out.

    The end-of-epoch points from `history` are placed at the end of their epoch; their batch is
    `batches_per_epoch` when known."""
    rows = []
    for series, points in ((TRAINING, batch_points), (VALIDATION_SAMPLE, validation_points)):
        for fractional_epoch, epoch, batch, loss, accuracy in points:
            rows += _rows(series, fractional_epoch, epoch, batch, loss=loss, accuracy=accuracy)
    history = history or {}
    for index, (loss, accuracy) in enumerate(zip(history.get("val_loss", []), history.get("val_accuracy", []))):
        rows += _rows(VALIDATION_EPOCH, index + 1, index + 1, batches_per_epoch, loss=loss, accuracy=accuracy)
    if not batch_points:  # a model saved before the curves were kept: its training points by epoch
        for index, (loss, accuracy) in enumerate(zip(history.get("loss", []), history.get("accuracy", []))):
            rows += _rows(TRAINING, index + 1, index + 1, batches_per_epoch, loss=loss, accuracy=accuracy)
    return rows


def _rows(series, fractional_epoch, epoch, batch, **values):
    return [
        {"fractional_epoch": fractional_epoch, "epoch": epoch, "batch": batch, "series": series,
         "metric": metric, "value": value}
        for metric, value in values.items()
        if value is not None and math.isfinite(value)
    ]


def validation_curve(meta):
    """A saved model's validation points [(fractional epoch, epoch, batch, loss, accuracy)]: those
    checked within epochs when its metadata has them, else one per epoch from its history."""
    curves = meta.get("curves") or {}
    if curves.get("validation"):
        return [tuple(point) for point in curves["validation"]]
    history = meta.get("history") or {}
    pairs = zip(history.get("val_loss", []), history.get("val_accuracy", []))
    return [(index + 1, index + 1, None, loss, accuracy) for index, (loss, accuracy) in enumerate(pairs)]
