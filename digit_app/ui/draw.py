"""The Draw page: draw a digit and see the active model's reading after every stroke.

Each stroke reruns only the drawing area (an st.fragment: the canvas and the reading), not the
app's navigation and sidebar, and that rerun does only what the reading needs: the model comes
from the shared cache, the chart is a small Vega-Lite spec (no plotting library), and the model's
input is enlarged with numpy.
"""

import numpy as np
import streamlit as st

from digit_app import preprocess
from digit_app.model_store import ModelLoadError
from digit_app.ui import access, compare_panel, feedback, inside_panel, job_text, resources
from digit_app.ui.reading_chart import probability_chart_spec, with_data_in_layers

CANVAS_SIZE = 280  # 10x MNIST's 28 px, so a finger-width stroke is about MNIST's pen width
DEFAULT_STROKE_WIDTH = 20
MIN_STROKE_WIDTH = 8
MAX_STROKE_WIDTH = 40
INK_COLOR = "#111827"
PAPER_COLOR = "#ffffff"
UNSURE_BELOW = 0.8  # calibrated: a reading shown under 80% is wrong more than one time in five
PIXEL_SCALE = 7  # the 28x28 model input is shown at 196x196: each pixel a visible 7x7 square
GRID_LEVEL = 70  # grey of the lines between the enlarged pixels (0 black, 255 white)
CANVAS_COLUMN_WIDTH = CANVAS_SIZE + 34  # the canvas in its card: 1rem padding and a 1 px border each side
JOB_LINE_REFRESH_SECONDS = 3
CANVAS_DRAWING_KEY = "canvas_drawing"  # the strokes as the canvas last sent them (Fabric.js JSON)
CANVAS_START_KEY = "canvas_start"  # the strokes a remounted canvas starts from
PROMPT = "Draw a digit from 0 to 9 in the white box. The model reads it after every stroke."
NOT_A_DIGIT = "This doesn't look like a digit."
CANNOT_TELL = "This model reads every drawing as a digit: it cannot tell when one is not."
TOO_SMALL = "Too small to read; draw bigger."
HOW_IT_READS = (
    "Your drawing is cropped, scaled to fit 20×20 pixels and centred in a 28×28 image, "
    "the way the MNIST digits the model learnt from were prepared."
)

# The reading's digit in large type; scoped to the keyed container that holds it. On a phone the
# reading sits under the canvas: less space above the canvas keeps it in view as a finger draws.
PAGE_STYLE = """
<style>
.st-key-reading [data-testid="stMetricValue"] { font-size: 4.5rem; line-height: 1.1; }
@media (max-width: 640px) {
  .stMainBlockContainer { padding-top: 2.5rem; }
  .stMainBlockContainer h1 { font-size: 1.9rem; padding-bottom: 0.25rem; }
  .st-key-reading [data-testid="stMetricValue"] { font-size: 3.5rem; }
}
</style>
"""


def pixel_view(model_input, scale=PIXEL_SCALE, grid_level=GRID_LEVEL):
    """The (28, 28) float model input as a uint8 image `scale` times larger, nearest-neighbour,
    with a thin grey line between pixels so that each pixel the model saw is visible."""
    image = np.clip(np.asarray(model_input, np.float32) * 255.0, 0, 255).astype(np.uint8)
    enlarged = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    enlarged[::scale, :] = np.maximum(enlarged[::scale, :], grid_level)
    enlarged[:, ::scale] = np.maximum(enlarged[:, ::scale], grid_level)
    return enlarged


def model_caption(model_id):
    """'Model: default-cnn (cnn, 99.47% on MNIST test)', from the model's metadata."""
    try:
        meta = resources.model_store().metadata(model_id)
    except (OSError, ValueError):
        return f"Model: {model_id}"
    details = [meta.get("architecture")]
    accuracy = meta.get("test_accuracy")
    if isinstance(accuracy, (int, float)):
        details.append(f"{accuracy:.2%} on MNIST test")
    details = ", ".join(str(detail) for detail in details if detail)
    return f"Model: {model_id} ({details})" if details else f"Model: {model_id}"


def unsure_text(prediction):
    """'The model is unsure: it reads 4 (55%) or perhaps 9 (30%).', or '… perhaps it is no digit (30%).'"""
    (first, first_probability), (second, second_probability) = prediction.top(2)
    if prediction.not_digit_probability > second_probability:
        alternative = f"perhaps it is no digit ({prediction.not_digit_probability:.0%})"
    else:
        alternative = f"perhaps {second} ({second_probability:.0%})"
    return f"The model is unsure: it reads {first} ({first_probability:.0%}) or {alternative}."


def not_a_digit_text(prediction):
    """The answer to a drawing turned away; when the model is unsure of that, its likeliest digit too."""
    text = f"**{NOT_A_DIGIT}** The model is {prediction.not_digit_probability:.0%} sure it is no digit"
    if prediction.not_digit_probability < UNSURE_BELOW:
        text += f"; as a digit, it would read {prediction.digit} ({prediction.confidence:.0%})"
    return text + ". If it is one, say which below: the model can learn from your answer."


def _clear_canvas():
    # A new key gives a new, empty canvas component (and a fresh undo history).
    st.session_state.canvas_generation += 1
    st.session_state.pop(CANVAS_START_KEY, None)
    st.session_state.pop(CANVAS_DRAWING_KEY, None)


def _keep_strokes_for_new_pen():
    """The pen width slider's callback. A quick run of pen changes can remount the canvas
    component, and a remounted canvas starts from its initial drawing: empty, unless it is given
    the strokes drawn so far, as here. (An unchanged initial drawing is not reloaded.)"""
    st.session_state[CANVAS_START_KEY] = st.session_state.get(CANVAS_DRAWING_KEY)


def canvas_ui():
    """Show the canvas; return its image (H, W, 4) uint8, or None before the first stroke."""
    # Imported here: the component registers itself on import, which needs a running app, and the
    # helpers above are imported by tests without one.
    from streamlit_drawable_canvas import st_canvas

    st.session_state.setdefault("canvas_generation", 0)
    with st.container(border=True, width="content"):
        result = st_canvas(
            initial_drawing=st.session_state.get(CANVAS_START_KEY),
            stroke_width=st.session_state.get("stroke_width", DEFAULT_STROKE_WIDTH),  # the slider below
            stroke_color=INK_COLOR,
            background_color=PAPER_COLOR,
            update_streamlit=True,
            height=CANVAS_SIZE,
            width=CANVAS_SIZE,
            drawing_mode="freedraw",
            return_image_data=True,
            key=f"canvas-{st.session_state.canvas_generation}",
        )
    st.session_state[CANVAS_DRAWING_KEY] = result.json_data
    return result.image_data


def canvas_controls_ui():
    with st.container(horizontal=True, vertical_alignment="bottom", width=CANVAS_COLUMN_WIDTH):
        st.slider(
            "Pen width", MIN_STROKE_WIDTH, MAX_STROKE_WIDTH, DEFAULT_STROKE_WIDTH, key="stroke_width",
            on_change=_keep_strokes_for_new_pen,
        )
        st.button("Clear", key="clear_canvas", icon=":material/delete:", on_click=_clear_canvas)
    st.caption("Undo a stroke with ↶ in the toolbar that appears above the canvas when you point at it.")


def reading_ui(prediction, canvas, model_id):
    """Show the model's reading of the drawing, or the prompt when there is nothing to read; under
    a reading, the buttons that keep the drawing with its true label (digit_app/ui/feedback.py)."""
    # A reading means ink; only an unread canvas is looked at again (a few ms per stroke saved).
    has_ink = prediction is not None or (canvas is not None and preprocess.has_ink(canvas))
    feedback.saved_notice_ui(drawing_started=has_ink)
    if prediction is None:
        if has_ink:
            st.warning(TOO_SMALL, icon=":material/zoom_in:")
        else:
            st.info(PROMPT, icon=":material/draw:")
        st.caption(HOW_IT_READS)
        return
    if not prediction.is_digit:
        with st.container(horizontal=True, gap="large"):
            with st.container(width=300):
                st.warning(not_a_digit_text(prediction), icon=":material/block:")
            st.image(pixel_view(prediction.model_input), caption="What the model sees (28×28)", width=196)
        keep_ui(prediction, canvas, model_id)
        return
    with st.container(horizontal=True, gap="large"):
        with st.container(width=200):
            with st.container(key="reading"):
                st.metric("Prediction", prediction.digit)
            st.metric("Confidence", f"{prediction.confidence:.1%}")
        st.image(pixel_view(prediction.model_input), caption="What the model sees (28×28)", width=196)
    if not prediction.can_tell_non_digits:
        st.caption(CANNOT_TELL)
    if prediction.confidence < UNSURE_BELOW:
        st.warning(unsure_text(prediction), icon=":material/help:")
    st.caption("How likely each digit is, to the model")
    spec = probability_chart_spec(prediction.probabilities, prediction.digit)
    st.vega_lite_chart(spec=with_data_in_layers(spec), width="stretch")
    keep_ui(prediction, canvas, model_id)


def keep_ui(prediction, canvas, model_id):
    """The buttons that keep the drawing, unless the host has made the app read-only for visitors."""
    if access.current_role().may_write:
        feedback.feedback_ui(prediction, canvas, model_id, after_saving=_clear_canvas)
    else:
        st.caption(access.READ_ONLY + " Your drawings are not kept.")


def broken_default_ui(error):
    """The page when not even the shipped default model can be loaded: what is wrong, and the fix."""
    st.error(
        f"The Draw page cannot read digits: the shipped default model cannot be loaded.\n\n{error}\n\n"
        f"Restore it with `git checkout models/` in the app's folder ({resources.model_store().root.parent}), "
        "or train a new one with `python train.py --id default-cnn`; then reload this page.",
        icon=":material/error:",
    )


def on_request_ui(panel, prediction):
    """The expander of a panel module (its TITLE, ICON, PANEL_KEY and BEFORE_DRAWING text): the
    expander to fill when it is open and there is a reading, else None, so that a closed panel
    costs a stroke nothing."""
    expander = st.expander(panel.TITLE, key=panel.PANEL_KEY, on_change="rerun", icon=panel.ICON)
    if not expander.open:
        return None
    if prediction is None:
        expander.caption(panel.BEFORE_DRAWING)
        return None
    return expander


@st.fragment
def drawing_area():
    """The part of the page a stroke changes: rerun alone after each stroke. The canvas is drawn
    before the model is fetched, so that on a cold start a person sees it at once, with "Loading
    the model…" where the reading will be; the model's caption is filled in above it afterwards."""
    model_notes = st.container()
    with st.container(horizontal=True, gap="large"):
        with st.container(width=CANVAS_COLUMN_WIDTH):
            canvas = canvas_ui()
            canvas_controls_ui()
        with st.container():
            try:
                with st.spinner(resources.LOADING_MESSAGE):
                    # On each stroke: a model put in use is used at once.
                    predictor, load_warning = resources.active_predictor()
            except ModelLoadError as error:
                broken_default_ui(error)
                return
            prediction = None if canvas is None else predictor.predict_canvas(canvas)
            reading_ui(prediction, canvas, predictor.model_id)
    if (expander := on_request_ui(inside_panel, prediction)) is not None:
        with expander:
            inside_panel.inside_panel(predictor, prediction)
    if (expander := on_request_ui(compare_panel, prediction)) is not None:
        with expander:
            compare_panel.compare_panel(prediction, predictor.model_id)
    with model_notes:
        st.caption(model_caption(predictor.model_id))
        if load_warning:
            st.warning(load_warning, icon=":material/warning:")


def job_line_text(snapshot):
    """'Training a cnn model: Epoch 2 of 5 · batch 40 of 422 · about 1 min 05 s left', or None
    when no job is queued or running."""
    if snapshot is None or snapshot.ended:
        return None
    # digit_app.jobs' kinds of job, spelled out: importing it here would import TensorFlow.
    what = {"sweep": "A sweep", "fine-tuning": "Fine-tuning"}.get(snapshot.kind)
    what = what or f"Training a {snapshot.settings.architecture} model"
    return f"{what}: {job_text.progress_text(snapshot)}"


@st.fragment(run_every=JOB_LINE_REFRESH_SECONDS)
def _job_line():
    text = job_line_text(resources.job_manager().snapshot())
    if text is None:
        return
    with st.container(horizontal=True, vertical_alignment="center", gap="small", key="job_line"):
        st.caption(f":material/model_training: {text}", width="content")
        st.page_link("train.py", label="Follow it on the Train page", icon=":material/arrow_forward:")


def job_line_ui():
    """A small line while a training job is queued or running, linking to the Train page; kept
    up to date while there is one. (Asked after the drawing area: the job manager imports
    TensorFlow, which the canvas must not wait for on a cold start.)"""
    if job_line_text(resources.job_manager().snapshot()) is not None:
        _job_line()


def show_page():
    st.html(PAGE_STYLE)
    st.title("Draw a digit")
    job_line = st.container()
    drawing_area()
    with job_line:
        job_line_ui()


# Streamlit runs a page file as __main__; the guard lets tests import the helpers above.
if __name__ == "__main__":
    show_page()
