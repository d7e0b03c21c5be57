"""The Draw page in AppTest: it renders, prompts on an empty canvas and names the model in use.
AppTest cannot draw on the canvas (a custom component); tests/e2e/ draws in a real browser."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from digit_app.architectures import build_model
from digit_app.model_store import DEFAULT_MODEL_ID
from digit_app.ui.draw import GRID_LEVEL, PIXEL_SCALE, pixel_view, probability_chart_spec
from tests.conftest import page_path

APP = page_path("navigation.py")
PROMPT_START = "Draw a digit from 0 to 9"


def _metadata(architecture, test_accuracy):
    return {"architecture": architecture, "epochs": 1, "history": {"loss": [0.5]}, "test_accuracy": test_accuracy}


@pytest.fixture
def app_store(store):
    """The pages' model store in tmp_path, holding the default model."""
    store.save(build_model("dense-32-64", seed=0), _metadata("dense-32-64", 0.912), model_id=DEFAULT_MODEL_ID)
    return store


def _run_app():
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def _captions(app):
    return [caption.value for caption in app.caption]


def test_empty_canvas_shows_the_prompt_and_no_reading(app_store):
    app = _run_app()
    assert app.title[0].value == "Draw a digit"
    assert any(info.value.startswith(PROMPT_START) for info in app.info)
    assert not app.metric  # no stale or empty "Prediction" on an empty canvas
    assert not app.warning and not app.error


def test_names_the_model_in_use(app_store):
    app = _run_app()
    assert "Model: default-cnn (dense-32-64, 91.20% on MNIST test)" in _captions(app)


def test_names_a_newly_activated_model_on_the_next_run(app_store):
    app = _run_app()
    app_store.save(build_model("dense-128", seed=1), _metadata("dense-128", 0.955), model_id="retrained")
    app_store.activate("retrained")
    app.run()
    assert not app.exception
    assert "Model: retrained (dense-128, 95.50% on MNIST test)" in _captions(app)


def test_an_unloadable_active_model_falls_back_to_the_default_with_a_warning(app_store):
    app_store.save(build_model("dense-32-64", seed=2), _metadata("dense-32-64", 0.9), model_id="broken")
    app_store.model_path("broken").write_bytes(b"not a keras file")
    app_store.activate("broken")
    app = _run_app()
    assert "Model: default-cnn (dense-32-64, 91.20% on MNIST test)" in _captions(app)
    warning = app.warning[0].value
    assert "broken" in warning and "default-cnn" in warning


def test_clear_and_stroke_width_controls_are_there(app_store):
    app = _run_app()
    assert app.button(key="clear_canvas").label == "Clear"
    app.button(key="clear_canvas").click().run()
    assert not app.exception
    assert any(info.value.startswith(PROMPT_START) for info in app.info)
    assert 8 <= app.slider(key="stroke_width").value <= 40


def _reading_page(probabilities, not_digit_probability=None):
    """The reading part of the Draw page for a prediction with these digit probabilities, and this
    "not a digit" probability from a model that can tell (None: a model that cannot)."""
    import numpy as np

    from digit_app.inference import prediction_from
    from digit_app.ui.draw import reading_ui

    row = list(probabilities) + ([] if not_digit_probability is None else [not_digit_probability])
    model_input = np.zeros((28, 28), np.float32)
    canvas = np.zeros((280, 280, 4), np.uint8)
    reading_ui(prediction_from(np.array(row, np.float32), model_input), canvas, "a-model")


def _run_reading(probabilities, not_digit_probability=None):
    app = AppTest.from_function(_reading_page, args=(probabilities, not_digit_probability), default_timeout=30)
    app.run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_a_confident_reading_shows_the_digit_its_confidence_and_no_doubt():
    app = _run_reading([0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.97, 0.02, 0.0])
    metrics = {metric.label: metric.value for metric in app.metric}
    assert metrics == {"Prediction": "7", "Confidence": "97.0%"}
    assert not app.warning and not app.info
    assert app.button(key="confirm_reading").label == "Right, it is a 7"  # the drawing can be kept


def test_an_unsure_reading_says_so_and_names_the_top_two():
    app = _run_reading([0.0, 0.0, 0.0, 0.0, 0.45, 0.0, 0.0, 0.0, 0.0, 0.4 + 0.15])
    assert {metric.label: metric.value for metric in app.metric}["Prediction"] == "9"
    assert app.warning[0].value == "The model is unsure: it reads 9 (55%) or perhaps 4 (45%)."


def test_a_drawing_turned_away_for_sure_says_so_and_shows_no_digit():
    app = _run_reading([0.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.0], not_digit_probability=0.97)
    assert not app.metric  # no reading, no confidence
    assert app.warning[0].value == (
        "**This doesn't look like a digit.** The model is 97% sure it is no digit. "
        "If it is one, say which below: the model can learn from your answer."
    )


def test_a_drawing_turned_away_unsurely_also_names_the_likeliest_digit():
    app = _run_reading([0.0, 0.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0], not_digit_probability=0.55)
    assert not app.metric
    assert "The model is 55% sure it is no digit; as a digit, it would read 1 (40%)." in app.warning[0].value


def test_pixel_view_enlarges_each_model_pixel_with_a_grid_between():
    model_input = np.zeros((28, 28), np.float32)
    model_input[3, 5] = 1.0
    view = pixel_view(model_input)
    assert view.shape == (28 * PIXEL_SCALE, 28 * PIXEL_SCALE) and view.dtype == np.uint8
    block = view[3 * PIXEL_SCALE : 4 * PIXEL_SCALE, 5 * PIXEL_SCALE : 6 * PIXEL_SCALE]
    assert (block == 255).all()  # a white pixel stays white, grid lines included
    assert view[0, 1] == GRID_LEVEL and view[1, 0] == GRID_LEVEL and view[1, 1] == 0


def test_probability_chart_has_digits_0_to_9_and_highlights_the_winner():
    probabilities = np.full(10, 0.02, np.float32)
    probabilities[3] = 0.82
    values = probability_chart_spec(probabilities, 3)["data"]["values"]
    assert [value["digit"] for value in values] == [str(digit) for digit in range(10)]
    assert [value["winner"] for value in values] == [digit == 3 for digit in range(10)]
    assert values[3]["label"] == "82%" and values[0]["label"] == "2%"


def test_a_running_training_shows_a_line_linking_to_the_train_page(app_store, job_manager):
    from digit_app.settings import TrainingSettings

    app = _run_app()
    assert not [caption for caption in _captions(app) if caption.startswith(":material/model_training:")]
    job = job_manager.start(TrainingSettings(architecture="cnn", epochs=50))
    app.run()
    assert not app.exception
    lines = [caption for caption in _captions(app) if caption.startswith(":material/model_training:")]
    assert len(lines) == 1 and "Training a cnn model: " in lines[0]
    links = app.get("page_link")
    assert [link.proto.page for link in links] == ["train"]  # the Train page's url path
    job.stop("the test")
    job.join(60)
    app.run()
    assert not [caption for caption in _captions(app) if caption.startswith(":material/model_training:")]
