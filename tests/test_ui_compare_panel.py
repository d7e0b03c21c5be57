"""The Draw page's "Compare models on this drawing": which models it shows, and their readings
with real models from a tmp store (AppTest: the panel's content for one drawing)."""

import numpy as np
from streamlit.testing.v1 import AppTest

from digit_app.architectures import build_model
from digit_app.model_store import DEFAULT_MODEL_ID
from digit_app.ui.compare_panel import BEST_SHOWN, models_to_compare

MODELS = [
    {"id": "old", "test_accuracy": 0.91},
    {"id": "best", "test_accuracy": 0.99},
    {"id": "active", "test_accuracy": 0.95},
    {"id": "second", "test_accuracy": 0.98},
    {"id": "no-figure"},
    {"id": "third", "test_accuracy": 0.97},
    {"id": "unreadable", "broken": "its metadata file cannot be read"},
]


def _ids(models):
    return [meta["id"] for meta in models]


def test_the_model_in_use_comes_first_then_the_best_few():
    assert BEST_SHOWN == 3
    assert _ids(models_to_compare(MODELS, "active")) == ["active", "best", "second", "third"]


def test_show_all_lists_every_readable_model_best_first_those_without_a_figure_last():
    assert _ids(models_to_compare(MODELS, "old", show_all=True)) == [
        "old", "best", "second", "third", "active", "no-figure"]  # fmt: skip


def _compare_page(digit_image):
    from digit_app.ui import resources
    from digit_app.ui.compare_panel import compare_panel

    predictor, _ = resources.active_predictor()
    compare_panel(predictor.predict_image(digit_image), predictor.model_id)


def test_each_saved_model_reads_the_drawing_in_a_card_of_its_own(app_store, small_mnist):
    app_store.save(build_model("dense-32-64", seed=3), {"architecture": "dense-32-64", "test_accuracy": 0.5},
                   model_id="untrained")  # fmt: skip
    digit_image = small_mnist.x_test[0].astype(np.float32) / 255
    app = AppTest.from_function(_compare_page, args=(digit_image,), default_timeout=60).run()
    assert not app.exception, [exception.message for exception in app.exception]
    cards = [caption.value for caption in app.caption]
    assert cards[0].startswith(f"**{DEFAULT_MODEL_ID}** · in use") and cards[1].startswith("**untrained**")
    readings = [markdown.value for markdown in app.markdown if "font-size" in markdown.value]
    assert len(readings) == 2 and all("%" in reading for reading in readings)
    assert len(app.get("vega_lite_chart")) == 2
    assert not app.toggle  # two models: nothing more to show
