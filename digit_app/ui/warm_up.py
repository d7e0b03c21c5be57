"""What the server does as it starts: begin loading the active model, so that it is usually
ready by the time a browser connects (streamlit_app.py passes `lifespan` to st.App)."""

import contextlib
import logging

from digit_app.ui import resources

_log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app):
    del app
    try:
        resources.start_loading_active_model()
    except Exception:  # e.g. an unreadable models folder: the Draw page reports it on the first visit
        _log.exception("Could not start loading the active model; it will load on the first visit")
    yield
