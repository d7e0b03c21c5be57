"""The app's pages: the script st.App runs for every visitor (see streamlit_app.py).

Page paths are relative to this file's folder.
"""

import streamlit as st

from digit_app.ui import access

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
