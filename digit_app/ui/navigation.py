"""The app's pages: the script st.App runs for every visitor (see streamlit_app.py).

Page paths are relative to this file's folder.
"""

import streamlit as st
from streamlit.runtime.scriptrunner import script_runner

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
        st.Page("draw.py", title="Draw", icon=":material/draw:", default=True),
        st.Page("train.py", title="Train", icon=":material/monitoring:"),
        st.Page("models.py", title="Models", icon=":material/inventory_2:"),
        st.Page("my_drawings.py", title="My drawings", icon=":material/photo_library:"),
    ]
).run()
