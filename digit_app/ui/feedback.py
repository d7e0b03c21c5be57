"""'Right' and 'Wrong? This is a …' under a reading: each keeps the drawing, with its true label,
for the My drawings page and for fine-tuning."""

import io

import numpy as np
import streamlit as st
from PIL import Image

from digit_app.drawing_store import DrawingStoreError
from digit_app.ui import access

SAVED_KEY = "feedback_saved"  # the notice of the drawing just kept


def canvas_png(rgba):
    """The canvas as PNG bytes, kept beside the 28x28 model input."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buffer, format="PNG")
    return buffer.getvalue()


def _keep(label, prediction, rgba, model_id, after_saving):
    try:
        drawing_id = access.drawing_store().add(
            prediction.model_input,
            label,
            canvas_png=canvas_png(rgba),
            predicted=prediction.digit,
            probabilities=prediction.probabilities,
            model_id=model_id,
            source="draw",
        )
    except (DrawingStoreError, ValueError) as error:
        st.session_state.feedback_error = f"The drawing was not saved: {error}"
        return
    verdict = "right" if label == prediction.digit else f"wrong: it is a {label}"
    st.session_state[SAVED_KEY] = f"Saved drawing #{drawing_id} ({verdict}). See it on My drawings."
    after_saving()


def saved_notice_ui(drawing_started):
    """'Saved drawing #n', from the moment the drawing is kept (the canvas is then cleared) until
    the next drawing starts."""
    if drawing_started:
        st.session_state.pop(SAVED_KEY, None)
    elif message := st.session_state.get(SAVED_KEY):
        st.success(message, icon=":material/check_circle:")


def _corrected(key, prediction, rgba, model_id, after_saving):
    label = st.session_state.get(key)
    st.session_state[key] = None  # the next drawing starts with no answer picked
    if label is not None:
        _keep(int(label), prediction, rgba, model_id, after_saving)


def feedback_ui(prediction, rgba, model_id, after_saving):
    """Buttons that keep the drawing with its true label; after_saving() runs once it is kept
    (the Draw page clears the canvas for the next digit)."""
    if message := st.session_state.pop("feedback_error", None):
        st.error(message, icon=":material/error:")
    with st.container(horizontal=True, vertical_alignment="bottom", key="feedback"):
        if prediction.is_digit:  # a drawing answered "not a digit" has no reading to confirm
            st.button(
                f"Right, it is a {prediction.digit}",
                key="confirm_reading",
                icon=":material/check:",
                on_click=_keep,
                args=(prediction.digit, prediction, rgba, model_id, after_saving),
            )
        key = "correct_reading"
        st.pills(
            "Wrong? This is a …",
            options=[d for d in range(10) if d != prediction.digit or not prediction.is_digit],
            key=key,
            on_change=_corrected,
            args=(key, prediction, rgba, model_id, after_saving),
        )
    st.caption("Your answer keeps the drawing: fine-tune the model on your drawings on My drawings.")
