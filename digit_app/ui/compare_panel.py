"""The Draw page's "Compare models on this drawing": every saved model's reading of the current
drawing side by side, each answered in one batch through the cached predictors.

With many models, the best few by MNIST test accuracy and the one in use are shown, and a toggle
shows all. Computed only while the panel is open.
"""

import streamlit as st

from digit_app.architectures import DIGIT_CLASSES
from digit_app.model_store import ModelLoadError
from digit_app.ui import resources
from digit_app.ui.reading_chart import probability_chart_spec, with_data_in_layers

PANEL_KEY = "compare_models"
TITLE = "Compare models on this drawing"
ICON = ":material/compare:"
BEFORE_DRAWING = "Draw a digit to see how every saved model reads it."
SHOW_ALL_KEY = "compare_show_all"
CARD_KEY_PREFIX = "compare-"
BEST_SHOWN = 3  # with the model in use: four readings fit side by side on a laptop screen
CARD_WIDTH = 150  # two side by side on a phone
SMALL_CHART_HEIGHT = 70


def models_to_compare(models, active_id, show_all=False, best=BEST_SHOWN):
    """The models (metadata dicts from ModelStore.list) to read the drawing with: the one in use
    first, then the others by MNIST test accuracy, best first; all of them, or the best `best`.
    Models whose metadata cannot be read are left out."""
    readable = [meta for meta in models if "broken" not in meta]
    active = [meta for meta in readable if meta["id"] == active_id]
    others = sorted(
        (meta for meta in readable if meta["id"] != active_id),
        key=lambda meta: -_accuracy(meta) if _accuracy(meta) is not None else 1.0,
    )
    return active + (others if show_all else others[:best])


def _accuracy(meta):
    accuracy = meta.get("test_accuracy")
    return float(accuracy) if isinstance(accuracy, (int, float)) else None


def model_reading(predictor, model_input):
    """(reading, confidence, digit probabilities) of one model for one model input: reading is a
    digit, or 10 for "not a digit"."""
    from digit_app.inference import readings, split_readings  # imports TensorFlow: not before the canvas shows

    probabilities = predictor.predict_batch(model_input[None])
    reading = int(readings(probabilities)[0])
    digits, not_digit = split_readings(probabilities)
    confidence = float(not_digit[0]) if reading == DIGIT_CLASSES else float(digits[0, reading])
    return reading, confidence, digits[0]


def reading_card_ui(meta, model_input, in_use):
    with st.container(border=True, width=CARD_WIDTH, key=f"{CARD_KEY_PREFIX}{meta['id']}"):
        accuracy = _accuracy(meta)
        st.caption(
            f"**{meta['id']}**{' · in use' if in_use else ''}  \n{meta.get('architecture', '?')}"
            + (f", {accuracy:.2%} on MNIST test" if accuracy is not None else "")
        )
        try:
            predictor = resources.reading_predictor(meta["id"])
        except ModelLoadError as error:
            st.warning(f"Cannot be loaded: {error}", icon=":material/error:")
            return
        reading, confidence, probabilities = model_reading(predictor, model_input)
        text = "no digit" if reading == DIGIT_CLASSES else str(reading)
        st.markdown(f"<span style='font-size:2.2rem;line-height:1'>{text}</span> &nbsp; {confidence:.0%}",
                    unsafe_allow_html=True)  # fmt: skip
        spec = probability_chart_spec(probabilities, reading, height=SMALL_CHART_HEIGHT, small=True)
        st.vega_lite_chart(spec=with_data_in_layers(spec), width="stretch")


def compare_panel(prediction, active_id):
    models = resources.model_store().list()
    show_all = st.session_state.get(SHOW_ALL_KEY, False)
    chosen = models_to_compare(models, active_id, show_all)
    readable = len(models_to_compare(models, active_id, show_all=True))
    if readable > BEST_SHOWN + 1:
        st.toggle(f"Show all {readable} models", key=SHOW_ALL_KEY)
        if not show_all:
            st.caption(f"The model in use and the {BEST_SHOWN} best by MNIST test accuracy.")
    with st.spinner("Loading the models…"), st.container(horizontal=True, gap="small"):
        for meta in chosen:
            reading_card_ui(meta, prediction.model_input, meta["id"] == active_id)
