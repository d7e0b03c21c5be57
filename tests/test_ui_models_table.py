import math

from digit_app.ui.models_table import BROKEN, CANNOT_LOAD, IN_USE, table_frame

TRAINED = {"id": "cnn-20261122-2210", "name": "Augmented", "architecture": "cnn", "epochs": 12, "test_accuracy": 0.99381,
           "canvas_accuracy": 0.98148, "parameters": 1234567, "training_seconds": 330.0, "created_at": "2026-11-22T22:10:00+00:00"}
FINE_TUNED = {"id": "cnn-tuned", "architecture": "cnn", "epochs": 3, "test_accuracy": 0.99,
              "drawings_accuracy_after": 0.875, "created_at": "2026-11-22T22:20:00+00:00"}


def test_each_model_is_a_row_with_its_figures_and_blanks_for_what_it_lacks():
    frame = table_frame([TRAINED, FINE_TUNED, {"id": "broken-json", "broken": "cannot be read"}],
                        in_use_id="cnn-tuned", unloadable_id="broken-json",
                        file_sizes={"cnn-20261122-2210": 3 * 2**20, "cnn-tuned": 2**19})
    first, tuned, broken = frame.to_dict("records")
    assert first["Model"] == "cnn-20261122-2210" and first["Name"] == "Augmented" and first["Status"] == ""
    assert first["Test accuracy"] == 99.38 and first["Epochs"] == 12 and first["Parameters"] == 1234567
    assert first["File size"] == 3.0 and first["Training time"] == 5.5
    assert math.isnan(first["Your drawings"])  # not measured: blank
    assert first["Canvas accuracy"] == 98.15 and math.isnan(tuned["Canvas accuracy"])
    assert first["Created"].year == 2026
    assert tuned["Status"] == IN_USE and tuned["Your drawings"] == 87.5 and tuned["File size"] == 0.5
    assert math.isnan(tuned["Training time"])
    assert broken["Status"] == BROKEN and broken["Name"] == ""


def test_a_model_that_cannot_be_loaded_says_so():
    frame = table_frame([TRAINED], in_use_id="default-cnn", unloadable_id=TRAINED["id"])
    assert list(frame["Status"]) == [CANNOT_LOAD]
