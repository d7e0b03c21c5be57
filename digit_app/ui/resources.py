"""Resources the pages share across reruns and sessions: the loaded models.

A model is loaded once per (id, file version) and kept in st.cache_resource, never in
st.session_state. The page asks for the active model on every rerun; that costs one small file
read and one stat, so a model activated on the Models page is used on the very next stroke.
"""

import gc
import os

import streamlit as st

from digit_app import store
from digit_app.inference import Predictor, temperature_of

CACHED_MODELS = 2  # the active model and the one before it: switching back and forth stays instant


@st.cache_resource(max_entries=CACHED_MODELS, show_spinner="Loading the model…")
def predictor(model_id, file_version):
    """The Predictor for one saved model. file_version (the file's modification time) is part of
    the key only, so that a model saved again under the same id is loaded afresh."""
    del file_version
    model_store = store.default_store
    loaded = Predictor(model_store.load(model_id), model_id, temperature_of(model_store, model_id))
    _spare_from_garbage_collection()
    return loaded


def _spare_from_garbage_collection():
    """Exempt every object alive now (TensorFlow, Keras, the loaded models) from Python's cyclic
    garbage collector. Its full passes otherwise walk them all, about 200 ms each and about one
    per stroke: with them, the 95th percentile of mouse-up to reading was 480 ms above a bare
    canvas page; without, 50 ms (bench/app_latency.py). Objects created later are collected as
    usual; unfreezing first lets this collection free a model that has left the cache."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def active_predictor():
    """(predictor, warning): the active model's Predictor, and None; or, when the active model
    cannot be loaded, the shipped default's Predictor and a warning that says why."""
    model_store = store.default_store  # looked up on each call, so tests can point it at a tmp store
    model_id = model_store.active_id()
    try:
        return predictor(model_id, _file_version(model_store, model_id)), None
    except store.ModelLoadError as error:
        if model_id == store.DEFAULT_MODEL_ID:
            raise
        default_id = store.DEFAULT_MODEL_ID
        warning = f"{error} Using the shipped default model {default_id!r} instead."
        return predictor(default_id, _file_version(model_store, default_id)), warning


def _file_version(model_store, model_id):
    try:
        return os.stat(model_store.model_path(model_id)).st_mtime_ns
    except OSError:
        return None  # missing: store.load says so with a clear message


def model_in_use():
    """The id of the model that reads drawings on the Draw page: the active one, or the shipped
    default when the active one cannot be loaded; None when neither can."""
    try:
        loaded, _ = active_predictor()
    except store.ModelLoadError:
        return None
    return loaded.model_id


def load_problem(model_id):
    """Why this model cannot be loaded, or None when it loads (and is now cached)."""
    try:
        predictor(model_id, _file_version(store.default_store, model_id))
    except store.ModelLoadError as error:
        return str(error)
    return None
