"""digit_app: draw a digit and see what the model reads; retrain; compare models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import streamlit as st  # noqa: E402

st.set_page_config(page_title="digit_app", page_icon=":material/draw:", layout="wide")
st.navigation(
    [
        st.Page("digit_app/ui/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("digit_app/ui/train.py", title="Train", icon=":material/monitoring:"),
        st.Page("digit_app/ui/models.py", title="Models", icon=":material/inventory_2:"),
        st.Page("digit_app/ui/my_drawings.py", title="My drawings", icon=":material/photo_library:"),
    ]
).run()
