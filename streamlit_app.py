"""digit_app: draw a digit and see what the model reads; retrain; compare models."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import streamlit as st  # noqa: E402
from streamlit.runtime.scriptrunner import script_runner  # noqa: E402

# After every script run Streamlit calls keras.backend.clear_session(), which swaps Keras' global
# state for all threads at once, under the training and fine-tuning jobs' background threads: it
# gave duplicate layer names to models being built, and is the likely cause of a fine-tune that
# failed once in CI with "too many values to unpack". The app keeps its models in
# st.cache_resource and needs no such clean-up; its pages draw no pyplot figures, the other thing
# Streamlit closes there.
script_runner._clean_problem_modules = lambda: None

from digit_app.ui import access  # noqa: E402

st.set_page_config(page_title="digit_app", page_icon=":material/draw:", layout="wide")
access.start_app()  # stops here on bad settings; says "You are the host" or "You are a visitor"
st.navigation(
    [
        st.Page("digit_app/ui/draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("digit_app/ui/train.py", title="Train", icon=":material/monitoring:"),
        st.Page("digit_app/ui/models.py", title="Models", icon=":material/inventory_2:"),
        st.Page("digit_app/ui/my_drawings.py", title="My drawings", icon=":material/photo_library:"),
    ]
).run()
