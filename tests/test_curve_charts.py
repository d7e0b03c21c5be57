from digit_app import curves
from digit_app.ui.curve_charts import accuracy_floor, comparison_charts, model_label, thinned, training_charts

HISTORY = {"loss": [0.5, 0.3], "accuracy": [0.8, 0.9], "val_loss": [0.4, 0.35], "val_accuracy": [0.85, 0.93]}


def _row(fractional_epoch, value, series=curves.TRAINING, metric="accuracy"):
    return {"fractional_epoch": fractional_epoch, "epoch": 1, "batch": 1, "series": series, "metric": metric,
            "value": value}


def test_thinning_keeps_each_series_under_the_limit_and_its_last_point():
    rows = [_row(index / 1000, 0.5) for index in range(1000)] + [_row(0.5, 0.5, series=curves.VALIDATION_SAMPLE)]
    kept = thinned(rows, limit=100)
    training = [row for row in kept if row["series"] == curves.TRAINING]
    assert len(training) <= 101 and training[-1]["fractional_epoch"] == 0.999
    assert [row["series"] for row in kept].count(curves.VALIDATION_SAMPLE) == 1


def test_the_accuracy_axis_fits_the_later_half_of_each_curve():
    rows = [_row(0.0, 0.1), _row(0.5, 0.6), _row(1.0, 0.97), _row(2.0, 0.985)]
    assert accuracy_floor(rows) == 0.9  # the 10% and 60% of the first epoch are cut off below
    short_run = [_row(0.0, 0.1, series="short"), _row(0.5, 0.7, series="short"), _row(1.0, 0.86, series="short")]
    assert accuracy_floor(rows + short_run) == 0.6  # the later half of the short run (70%, 86%) stays in view


def test_training_charts_draw_loss_on_a_log_scale_with_every_check_of_the_sample():
    validation = [(0.0, 1, 0, 2.3, 0.1), (0.5, 1, 5, 0.6, 0.8), (1.0, 1, 10, 0.4, 0.85)]
    batches = [(index / 10, 1, index, 2.0 / index, 0.5) for index in range(1, 11)]
    loss, accuracy = training_charts(HISTORY, batches, validation, batches_per_epoch=10, total_epochs=2)
    loss_spec, accuracy_spec = loss, accuracy
    assert loss_spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    values = loss_spec["datasets"]["points"]
    assert [row["value"] for row in values if row["series"] == curves.VALIDATION_SAMPLE] == [2.3, 0.6, 0.4]
    assert {row["metric"] for row in values} == {"loss"}
    tooltip_fields = [item["field"] for item in accuracy_spec["layer"][1]["encoding"]["tooltip"]]
    assert tooltip_fields == ["series", "epoch", "batch_text", "value"]
    assert accuracy_spec["layer"][0]["encoding"]["x"]["scale"]["domain"] == [0, 2.06]  # the whole run, from the start


def test_comparison_charts_draw_one_curve_per_model_by_its_name():
    named = {"id": "cnn-1", "name": "Augmented", "history": HISTORY,
             "curves": {"validation": [[0.5, 1, 3, 0.6, 0.8], [1.0, 1, 6, 0.4, 0.9]]}}
    plain = {"id": "dense-128-2", "history": HISTORY}
    _, accuracy = comparison_charts([named, plain])
    values = accuracy["datasets"]["points"]
    assert [(row["model"], row["value"]) for row in values] == [
        ("Augmented (cnn-1)", 0.8), ("Augmented (cnn-1)", 0.9), ("dense-128-2", 0.85), ("dense-128-2", 0.93)]
    assert model_label({"id": "x", "name": "  "}) == "x"
