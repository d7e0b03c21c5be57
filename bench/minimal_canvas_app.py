"""The least a canvas app can do per stroke: the Draw page's canvas and one st.metric.

bench/app_latency.py times this page against the Draw page, so that the Draw page's own cost per
stroke (preprocessing, the model, the chart, the image) is measured apart from Streamlit's and
the canvas component's. The metric shows the number of strokes; the canvas image is decoded, as
any app that reads the drawing must.

    streamlit run bench/minimal_canvas_app.py
"""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

# The Draw page's canvas settings (digit_app/ui/draw.py), repeated so that this page imports
# nothing of the app: no TensorFlow, no model.
CANVAS_SIZE = 280
STROKE_WIDTH = 20
INK_COLOR = "#111827"
PAPER_COLOR = "#ffffff"

result = st_canvas(
    stroke_width=STROKE_WIDTH,
    stroke_color=INK_COLOR,
    background_color=PAPER_COLOR,
    update_streamlit=True,
    height=CANVAS_SIZE,
    width=CANVAS_SIZE,
    drawing_mode="freedraw",
    return_image_data=True,
    key="canvas",
)
image = result.image_data
strokes = len((result.json_data or {}).get("objects", []))
st.metric("Strokes", strokes if image is not None else 0)
