"""The Draw page's "Inside the model" panel, for the current drawing: why the model reads what it
reads (a saliency map), and what each layer sees (digit_app.inside does the work).

Shown on request: the page computes it only while the panel is open.
"""

import numpy as np
import streamlit as st

from digit_app import inside
from digit_app.architectures import DIGIT_CLASSES
from digit_app.ui import resources

PANEL_KEY = "inside_model"
TITLE = "Inside the model"
ICON = ":material/neurology:"
BEFORE_DRAWING = "Draw a digit: this shows why the model reads it as it does, and what each layer sees."
SALIENCY_KEY = "inside-saliency"
LAYER_KEY_PREFIX = "inside-layer-"
MAPS_WIDTH = 300  # px each layer's maps are shown at: both convolutions side by side in a wide column
UNITS_CHART_WIDTH = 300
UNITS_CHART_HEIGHT = 110
UNIT_COLOR = "#1e1b4b"  # inside.ACTIVATION_RGB: the units' bars in the maps' colour
SALIENCY_HELP = (
    "**Occlusion.** Each 3×3 square of ink in the 28×28 image is wiped in turn and the model asked "
    "again. Where wiping it lowers the model's preference for **{reading}** over **{runner_up}** (the runner-up), "
    "the ink pushed toward {reading} (blue); where wiping it raises it, the ink pushed toward "
    "{runner_up} (orange). The deeper the colour, the stronger the push. Occlusion, rather than "
    "the gradient, because its maps pick out whole strokes (the bar of a 7, the flag of a 1) and the "
    "pixels it names carry more of the reading (bench/saliency.py)."
)
NO_CONVOLUTIONS = (
    "This model has no convolutional layers, so there are no maps to show: its dense layers see "
    "the 784 pixels as one row of numbers. Its units, strongest first:"
)
MAPS_CAPTION = "{name}: {channels} maps of {height}×{width}; dark where a map responds"
UNITS_CAPTION = "{name}: the {shown} strongest of {units} units ({active} respond to this drawing)"


def class_name(index):
    return "not a digit" if index == DIGIT_CLASSES else str(index)


def reading_and_runner_up(prediction):
    """The page's reading of a Prediction as a class index (10 for "not a digit") and the one to
    set against it: the likeliest other digit. "Why 4 and not 9?" says more than "why 4 and not
    no digit?", even when "not a digit" is the second likeliest answer."""
    likeliest_digits = np.argsort(prediction.probabilities)[::-1]
    if not prediction.is_digit:
        return DIGIT_CLASSES, int(likeliest_digits[0])
    return prediction.digit, int(likeliest_digits[1])  # the reading is the likeliest digit


def units_chart_spec(view, count=inside.STRONGEST_UNITS):
    """A small Vega-Lite bar chart of a dense layer's strongest units, strongest first."""
    values = [{"unit": f"#{unit}", "activation": value} for unit, value in view.strongest(count)]
    return {
        "height": UNITS_CHART_HEIGHT,
        "layer": [
            {
                "data": {"values": values},
                "mark": {"type": "bar", "color": UNIT_COLOR},
                "encoding": {
                    "x": {"field": "unit", "type": "ordinal", "sort": None, "axis": {"title": None, "labelAngle": 0, "labelOverlap": False, "labelFontSize": 9}},
                    "y": {"field": "activation", "type": "quantitative", "axis": {"title": None, "tickCount": 3}},
                    "tooltip": [{"field": "unit", "title": "Unit"}, {"field": "activation", "format": ".2f"}],
                },
            }
        ],
    }


def saliency_ui(saliency):
    reading, runner_up = class_name(saliency.reading), class_name(saliency.runner_up)
    st.markdown("**Why this reading**")
    with st.container(horizontal=True, gap="large"):
        with st.container(key=SALIENCY_KEY, width="content"):
            st.image(
                inside.saliency_image(saliency), width=28 * inside.SALIENCY_SCALE, output_format="PNG",
                caption=f"Blue: toward {reading} · orange: toward {runner_up}",
            )  # fmt: skip
        with st.container(width=360):
            st.caption(SALIENCY_HELP.format(reading=reading, runner_up=runner_up))


def layer_ui(view):
    with st.container(key=f"{LAYER_KEY_PREFIX}{view.name}", width="content"):
        if view.kind == inside.CONVOLUTION:
            height, width, channels = view.activations.shape
            st.image(
                inside.maps_image(view), width=MAPS_WIDTH, output_format="PNG",
                caption=MAPS_CAPTION.format(name=view.name, channels=channels, height=height, width=width),
            )  # fmt: skip
            return
        shown = min(inside.STRONGEST_UNITS, view.activations.size)
        active = int((view.activations > 0).sum())
        st.caption(UNITS_CAPTION.format(name=view.name, shown=shown, units=view.activations.size, active=active))
        st.vega_lite_chart(spec=units_chart_spec(view), width=UNITS_CHART_WIDTH)


def inside_panel(predictor, prediction):
    """The panel's content for a read drawing (predictor: the one that read it)."""
    with st.spinner("Looking inside the model…"):
        model_inspector = resources.inspector(predictor)
        reading, runner_up = reading_and_runner_up(prediction)
        views, saliency = model_inspector.look(prediction.model_input, reading, runner_up)
    saliency_ui(saliency)
    st.markdown("**What each layer sees**")
    if not model_inspector.has_convolutions:
        st.caption(NO_CONVOLUTIONS)
    with st.container(horizontal=True, gap="medium"):
        for view in views:
            layer_ui(view)
