"""digit_app: draw a digit and see what the model reads; retrain; compare models.

`streamlit run streamlit_app.py` serves `app`: the pages (digit_app/ui/navigation.py), and at
server start the loading of the active model (digit_app/ui/warm_up.py), so that it is usually
ready by the time a browser connects.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

import streamlit as st  # noqa: E402

from digit_app.ui import warm_up  # noqa: E402

app = st.App("digit_app/ui/navigation.py", lifespan=warm_up.lifespan)
