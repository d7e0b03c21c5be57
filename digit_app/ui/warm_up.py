"""What the server does as it starts, so that the first visitor waits as little as possible
(streamlit_app.py passes `lifespan` to st.App): import what the Draw page imports, and begin
loading the active model in the background, so that it is usually ready by the time a browser
connects."""

import contextlib
import logging

from digit_app.ui import access, resources

_log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def lifespan(app):
    del app
    try:
        access.print_host_link_once()
        _import_the_draw_page()
        resources.start_loading_active_model()
    except Exception:  # e.g. an unreadable models folder: the Draw page reports it on the first visit
        _log.exception("Could not prepare the Draw page at start; it will load on the first visit")
    yield


def _import_the_draw_page():
    """The canvas component registers itself on import (which needs the running server, as here),
    and the page's modules import Pillow and the drawings store: done now, not in the first
    visitor's first script run (about a second less to the canvas on a busy machine)."""
    import streamlit_drawable_canvas  # noqa: F401

    from digit_app.ui import draw  # noqa: F401 - the page's helpers; its page code runs only as a script
