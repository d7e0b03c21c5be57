"""Models page: every saved model with its metadata and training curves; use, download or delete one."""

import datetime

import streamlit as st

from digit_app import store
from digit_app.architectures import ARCHITECTURES
from digit_app.ui import charts

CONFIRM_DELETE_KEY = "models_page_confirm_delete"  # the id whose deletion awaits confirmation
ACTION_FAILED_KEY = "models_page_action_failed"


def format_date(iso_text):
    try:
        moment = datetime.datetime.fromisoformat(iso_text)
    except (TypeError, ValueError):
        return "unknown date"
    return moment.astimezone().strftime("%d %b %Y at %H:%M")


def format_accuracy(value):
    return f"{value:.2%}" if isinstance(value, (int, float)) else "–"


@st.cache_data(max_entries=64, show_spinner=False)
def curves_picture(model_id, created_at, _history):
    """The stored curves as a PNG, drawn once per saved model (a model's history never changes)."""
    return charts.png_bytes(charts.training_curves(_history, size=(9, 2.8)))


def describe_origin(meta):
    architecture = meta.get("architecture", "unknown network")
    description = ARCHITECTURES.get(architecture, ("",))[0]
    parts = [f"**{architecture}**" + (f" — {description}" if description else "")]
    if meta.get("source"):
        parts.append(f"made by `{meta['source']}`")
    parts.append(f"saved {format_date(meta.get('created_at'))}")
    if meta.get("stopped_early"):
        parts.append("stopped early")
    settings = meta.get("settings") or {}
    if settings.get("augment"):
        parts.append("augmented digits")
    if settings.get("max_train_samples"):
        parts.append(f"first {settings['max_train_samples']:,} training digits")
    return " · ".join(parts)


def activate(model_id):
    try:
        store.default_store.activate(model_id)
    except ValueError as error:  # e.g. deleted in another tab meanwhile
        st.session_state[ACTION_FAILED_KEY] = str(error)


def ask_to_delete(model_id):
    st.session_state[CONFIRM_DELETE_KEY] = model_id


def cancel_delete():
    st.session_state.pop(CONFIRM_DELETE_KEY, None)


def delete(model_id):
    cancel_delete()
    try:
        store.default_store.delete(model_id)
    except (OSError, ValueError) as error:
        st.session_state[ACTION_FAILED_KEY] = f"Could not delete {model_id!r}: {error}"
        return
    st.toast(f"Deleted {model_id}.", icon=":material/delete:")


def model_buttons(model_id, is_active):
    # Callbacks act before the page is drawn, so the page shows the store as it now is.
    activate_column, download_column, delete_column = st.columns(3)
    if is_active:
        activate_column.button("In use", key=f"activate_{model_id}", disabled=True, icon=":material/check:",
                               width="stretch")
    else:
        activate_column.button("Use this model", key=f"activate_{model_id}", type="primary", width="stretch",
                               on_click=activate, args=(model_id,))
    path = store.default_store.model_path(model_id)
    download_column.download_button(
        "Download .keras", data=path.read_bytes, file_name=path.name, mime="application/octet-stream",
        key=f"download_{model_id}", on_click="ignore", icon=":material/download:", width="stretch",
    )
    if model_id == store.DEFAULT_MODEL_ID:
        delete_column.button("Delete", key=f"delete_{model_id}", disabled=True, width="stretch",
                             help="The shipped default model cannot be deleted.")
    else:
        delete_column.button("Delete", key=f"delete_{model_id}", icon=":material/delete:", width="stretch",
                             on_click=ask_to_delete, args=(model_id,))


def confirm_delete(model_id, is_active):
    note = " It is in use: the shipped default model takes its place." if is_active else ""
    st.warning(f"Delete `{model_id}` for good?{note}", icon=":material/warning:")
    yes_column, no_column, _ = st.columns(3)
    yes_column.button("Yes, delete it", key=f"confirm_delete_{model_id}", type="primary", width="stretch",
                      on_click=delete, args=(model_id,))
    no_column.button("Cancel", key=f"cancel_delete_{model_id}", width="stretch", on_click=cancel_delete)


def model_card(meta, active_id):
    model_id = meta["id"]
    is_active = model_id == active_id
    with st.container(border=True):
        badges = []
        if is_active:
            badges.append(":green-badge[:material/check: In use on the Draw page]")
        if model_id == store.DEFAULT_MODEL_ID:
            badges.append(":blue-badge[Shipped default]")
        st.markdown(f"#### `{model_id}` &nbsp; " + " ".join(badges))
        st.markdown(describe_origin(meta))
        columns = st.columns(4)
        columns[0].metric("Test accuracy", format_accuracy(meta.get("test_accuracy")))
        columns[1].metric("Epochs", meta.get("epochs", "–"))
        parameters = meta.get("parameters")
        columns[2].metric("Parameters", f"{parameters:,}" if isinstance(parameters, int) else "–")
        seconds = meta.get("training_seconds")
        columns[3].metric("Training time", f"{seconds:.0f} s" if isinstance(seconds, (int, float)) else "–")
        history = meta.get("history") or {}
        if history.get("loss"):
            with st.expander("Training curves"):
                st.image(curves_picture(model_id, meta.get("created_at"), history), width="stretch")
        model_buttons(model_id, is_active)
        if st.session_state.get(CONFIRM_DELETE_KEY) == model_id:
            confirm_delete(model_id, is_active)


def show_models():
    if failure := st.session_state.pop(ACTION_FAILED_KEY, None):
        st.error(failure)
    models = store.default_store.list()
    active_id = store.default_store.active_id()
    if not models:
        st.info(
            f"No models in {store.default_store.root} yet. Train one on the Train page, "
            "or run `python train.py`."
        )
        return
    if not any(meta["id"] == active_id for meta in models):
        st.warning(
            f"The active model `{active_id}` is not in the store: the Draw page cannot read digits. "
            "Pick a model below, train one on the Train page, or run `python train.py`."
        )
    for meta in models:
        try:
            model_card(meta, active_id)
        except Exception as error:  # one broken model must not hide the others
            st.error(f"Model `{meta.get('id')}` cannot be shown: {type(error).__name__}: {error}")


st.title("Models")
st.caption(
    "Every model saved by the Train page or `python train.py`. The one in use reads your drawings "
    f"on the Draw page. Stored in `{store.default_store.root}`."
)
try:
    show_models()
except Exception as error:  # e.g. the models folder cannot be read
    st.error(f"The models cannot be listed: {type(error).__name__}: {error}")
