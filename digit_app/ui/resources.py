"""Resources the pages share across reruns and sessions: the model store, the drawings store and
the job manager (one of each per server process; tests point them at tmp_path), and the loaded models.

A model is loaded once per (id, file version) and kept in st.cache_resource, never in
st.session_state. The page asks for the active model on every rerun; that costs one small file
read and one stat, so a model activated on the Models page is used on the very next stroke.

The server starts loading the active model as soon as it starts (start_loading_active_model,
called by digit_app/ui/warm_up.py), so that the first visitor usually finds it ready. TensorFlow
is imported there, in the background, and not by importing this module: the Draw page can show
its canvas before TensorFlow is loaded.
"""

import concurrent.futures
import functools
import gc
import os
import threading

import streamlit as st

from digit_app import quiet_start
from digit_app.drawing_store import DrawingStore
from digit_app.model_store import ModelLoadError, ModelStore

CACHED_MODELS = 2  # the active model and the one before it: switching back and forth stays instant
LOADING_MESSAGE = "Loading the model…"

_early_load = None  # (model id, file version, Future of its Predictor), started with the server
_early_load_lock = threading.Lock()


@functools.cache
def model_store():
    """The model store in $DIGIT_APP_MODELS, else models/ (read once, at the first call)."""
    return ModelStore()


@functools.cache
def drawing_store():
    """Every drawing, in $DIGIT_APP_DRAWINGS_DB, else data/drawings.sqlite3. A page shows a visitor
    only their own: digit_app.ui.access.drawing_store(role)."""
    return DrawingStore()


@functools.cache
def job_manager():
    """The jobs of model_store(), in its jobs/ folder."""
    from digit_app.jobs import JobManager  # imports TensorFlow: not before a page needs a job

    return JobManager(model_store())


def forget_stores():
    """Make the three above again at their next call, from the environment as it is then (tests)."""
    for provider in (model_store, drawing_store, job_manager):
        provider.cache_clear()


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner=False)
def predictor(model_id, file_version):
    """The Predictor for one saved model. file_version (the file's modification time) is part of
    the key, so that a model saved again under the same id is loaded afresh."""
    with _early_load_lock:
        early = _early_load
    if early is not None and early[:2] == (model_id, file_version):
        return early[2].result()  # waits while the server's early load is still going
    return _load(model_id)


def _load(model_id):
    with quiet_start.tensorflow_chatter_hidden():
        from digit_app.inference import Predictor, temperature_of  # imports TensorFlow: seconds at first

        models = model_store()
        loaded = Predictor(models.load(model_id), model_id, temperature_of(models, model_id))
    _spare_from_garbage_collection()
    return loaded


def start_loading_active_model():
    """Load the active model in a background thread; predictor() then waits for it rather than
    loading it a second time. Returns the thread."""
    global _early_load
    model_id = model_store().active_id()
    future = concurrent.futures.Future()
    with _early_load_lock:
        _early_load = (model_id, _file_version(model_id), future)
    thread = threading.Thread(
        target=_load_into, args=(future, model_id), name="digit_app model loading", daemon=True
    )
    thread.start()
    return thread


def _load_into(future, model_id):
    try:
        future.set_result(_load(model_id))
    except BaseException as error:  # noqa: BLE001 - handed to whoever asks for the model, page included
        future.set_exception(error)


def _spare_from_garbage_collection():
    """Exempt every object alive now (TensorFlow, Keras, the loaded models) from Python's cyclic
    garbage collector, whose full passes would otherwise walk them all on nearly every stroke
    (bench/app_latency.py). Objects created later are collected as usual; unfreezing first lets
    this collection free a model that has left the cache."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner=False)
def clean_store_at_start(root):
    """Once per server process and models folder: delete what a process killed mid-save left there."""
    return ModelStore(root).remove_leftover_temporary_files()


def active_predictor():
    """(predictor, warning): the active model's Predictor, and None; or, when the active model
    cannot be loaded, the shipped default's Predictor and a warning that says why."""
    models = model_store()
    clean_store_at_start(str(models.root))
    _, loaded, warning = models.active_or_default(lambda model_id: predictor(model_id, _file_version(model_id)))
    return loaded, warning


def _file_version(model_id):
    try:
        return os.stat(model_store().model_path(model_id)).st_mtime_ns
    except OSError:
        return None  # missing: ModelStore.load says so with a clear message


def model_in_use():
    """The id of the model that reads drawings on the Draw page: the active one, or the shipped
    default when the active one cannot be loaded; None when neither can."""
    try:
        loaded, _ = active_predictor()
    except ModelLoadError:
        return None
    return loaded.model_id


def load_problem(model_id):
    """Why this model cannot be loaded, or None when it loads (and is now cached)."""
    try:
        predictor(model_id, _file_version(model_id))
    except ModelLoadError as error:
        return str(error)
    return None


def job_owner():
    """Who starts a job from this session: `session` is the person's id (digit_app.ui.access, kept
    in a cookie), `name` is what other people are shown."""
    from digit_app.jobs import JobOwner
    from digit_app.ui import access

    role = access.current_role()
    address = st.context.ip_address  # None where Streamlit does not know it (and in AppTest, not a str)
    known = isinstance(address, str) and address
    name = "the host" if role.shared and role.is_host else (
        f"the visitor at {address}" if known else "a visitor on this machine")
    return JobOwner(name=name, session=role.visitor_id)


COMPARED_MODELS = 8  # models kept loaded for "Compare models on this drawing", beside the active one


@st.cache_resource(max_entries=COMPARED_MODELS, show_spinner=False)
def compared_predictor(model_id, file_version):
    """The Predictor of a model compared on the Draw page. A cache of its own, so that comparing
    many models does not push the active model out of predictor()'s."""
    return _load(model_id)


def reading_predictor(model_id):
    """The cached Predictor that reads a drawing with this model: the active one's if it is
    loaded there, else one of compared_predictor's. Raises ModelLoadError."""
    file_version = _file_version(model_id)
    if model_id == model_store().active_id():
        return predictor(model_id, file_version)
    return compared_predictor(model_id, file_version)


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner=False)
def _inspector(model_id, file_version, _predictor):
    from digit_app.inside import Inspector

    built = Inspector(_predictor.model)
    _spare_from_garbage_collection()  # its traced functions too, or the collector walks them every stroke
    return built


def inspector(loaded):
    """The digit_app.inside.Inspector of a loaded Predictor's model, built once per model version
    (its compiled functions take a second or two to trace)."""
    return _inspector(loaded.model_id, _file_version(loaded.model_id), loaded)
