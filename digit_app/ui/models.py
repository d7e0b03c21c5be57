"""Models page: every saved model with its metadata and training curves; use, download or delete one."""

import datetime

import streamlit as st

from digit_app.model_store import DEFAULT_MODEL_ID, ModelStoreError
from digit_app.architectures import ARCHITECTURES
from digit_app.ui import access, charts, resources
from digit_app.ui.job_text import format_duration
from digit_app.ui.use_model import take_failure, use_model_button

CONFIRM_DELETE_KEY = "models_page_confirm_delete"  # the id whose deletion awaits confirmation
ACTION_FAILED_KEY = "models_page_action_failed"
CHOSEN_MODEL_PARAM = "model"  # ?model=<id> shows that model first


def chosen_first(models, chosen_id):
    """The model a link opened (e.g. a sweep's best, ?model=<id>) at the top; the rest newest first."""
    return sorted(models, key=lambda meta: meta["id"] != chosen_id)


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
    description = ARCHITECTURES[architecture].description if architecture in ARCHITECTURES else ""
    parts = [f"**{architecture}**" + (f" — {description}" if description else "")]
    if meta.get("source"):
        parts.append(f"made by `{meta['source']}`")
    parts.append(f"saved {format_date(meta.get('created_at'))}")
    if meta.get("stopped_early"):
        parts.append("stopped early")
    settings = meta.get("settings") or {}
    if settings.get("augment"):
        strength = settings.get("augment_strength", 1.0)
        parts.append("augmented digits" + (f" (strength {strength:g})" if strength != 1.0 else ""))
    if settings.get("max_train_samples"):
        parts.append(f"first {settings['max_train_samples']:,} training digits")
    return " · ".join(parts)


def ask_to_delete(model_id):
    st.session_state[CONFIRM_DELETE_KEY] = model_id


def cancel_delete():
    st.session_state.pop(CONFIRM_DELETE_KEY, None)


def delete(model_id):
    cancel_delete()
    if not access.can_change_models(access.current_role()):
        st.session_state[ACTION_FAILED_KEY] = access.NOT_HOST
        return
    try:
        resources.model_store().delete(model_id)
    except (OSError, ValueError, ModelStoreError) as error:
        st.session_state[ACTION_FAILED_KEY] = f"Could not delete {model_id!r}: {error}"
        return
    st.toast(f"Deleted {model_id}.", icon=":material/delete:")


def model_buttons(model_id, is_active, may_change):
    # Callbacks act before the page is drawn, so the page shows the store as it now is.
    activate_column, download_column, delete_column = st.columns(3)
    not_host = None if may_change else access.NOT_HOST
    with activate_column:
        use_model_button(model_id, key=f"activate_{model_id}", in_use=is_active, in_use_label="In use", icon=None,
                         width="stretch", explanation=None)
    path = resources.model_store().model_path(model_id)
    download_column.download_button(
        "Download .keras", data=path.read_bytes, file_name=path.name, mime="application/octet-stream",
        key=f"download_{model_id}", on_click="ignore", icon=":material/download:", width="stretch",
    )
    if model_id == DEFAULT_MODEL_ID:
        delete_column.button("Delete", key=f"delete_{model_id}", disabled=True, width="stretch",
                             help="The shipped default model cannot be deleted.")
    else:
        delete_column.button("Delete", key=f"delete_{model_id}", icon=":material/delete:", width="stretch",
                             on_click=ask_to_delete, args=(model_id,), disabled=not may_change, help=not_host)


def confirm_delete(model_id, is_active):
    note = " It is in use: the shipped default model takes its place." if is_active else ""
    st.warning(f"Delete `{model_id}` for good?{note}", icon=":material/warning:")
    yes_column, no_column, _ = st.columns(3)
    yes_column.button("Yes, delete it", key=f"confirm_delete_{model_id}", type="primary", width="stretch",
                      on_click=delete, args=(model_id,))
    no_column.button("Cancel", key=f"cancel_delete_{model_id}", width="stretch", on_click=cancel_delete)


def broken_model_card(meta, in_use_id, may_change):
    """A model whose metadata cannot be read: said so, and it can still be deleted."""
    model_id = meta["id"]
    with st.container(border=True):
        badge = " :green-badge[:material/check: In use on the Draw page]" if model_id == in_use_id else ""
        st.markdown(f"#### `{model_id}` &nbsp; :red-badge[:material/broken_image: Broken]{badge}")
        st.error(
            f"This model is broken: {meta['broken']}. Delete it, or restore the file "
            f"(for a shipped model: `git checkout models/`).",
            icon=":material/error:",
        )
        if model_id != DEFAULT_MODEL_ID:
            st.button("Delete", key=f"delete_{model_id}", icon=":material/delete:", on_click=ask_to_delete,
                      args=(model_id,), disabled=not may_change, help=None if may_change else access.NOT_HOST)
        if st.session_state.get(CONFIRM_DELETE_KEY) == model_id:
            confirm_delete(model_id, model_id == in_use_id)


def model_card(meta, in_use_id, unloadable_id, may_change):
    model_id = meta["id"]
    is_active = model_id == in_use_id
    with st.container(border=True):
        badges = []
        if is_active:
            badges.append(":green-badge[:material/check: In use on the Draw page]")
        if model_id == unloadable_id:
            badges.append(":red-badge[:material/broken_image: Cannot be loaded]")
        if model_id == DEFAULT_MODEL_ID:
            badges.append(":blue-badge[Shipped default]")
        if meta.get("sweep"):
            badges.append(f":violet-badge[Sweep {meta['sweep'].get('study')}, trial {meta['sweep'].get('trial')}]")
        st.markdown(f"#### `{model_id}` &nbsp; " + " ".join(badges))
        st.markdown(describe_origin(meta))
        columns = st.columns(4)
        columns[0].metric("Test accuracy", format_accuracy(meta.get("test_accuracy")))
        columns[1].metric("Epochs", meta.get("epochs", "–"))
        parameters = meta.get("parameters")
        columns[2].metric("Parameters", f"{parameters:,}" if isinstance(parameters, int) else "–")
        seconds = meta.get("training_seconds")
        columns[3].metric(
            "Training time", format_duration(seconds) if isinstance(seconds, (int, float)) else "–",
            help="Training and testing the network, as the Train page reports it. The Train page's "
            "total also counts loading the data, checking the model and saving it.",
        )
        history = meta.get("history") or {}
        if history.get("loss"):
            with st.expander("Training curves"):
                st.image(curves_picture(model_id, meta.get("created_at"), history), width="stretch")
        model_buttons(model_id, is_active, may_change)
        if st.session_state.get(CONFIRM_DELETE_KEY) == model_id:
            confirm_delete(model_id, is_active)


def show_models():
    if failure := st.session_state.pop(ACTION_FAILED_KEY, None) or take_failure():
        st.error(failure)
    models = chosen_first(resources.model_store().list(), st.query_params.get(CHOSEN_MODEL_PARAM))
    if not models:
        st.info(
            f"No models in {resources.model_store().root} yet. Train one on the Train page, "
            "or run `python train.py`."
        )
        return
    chosen_id = resources.model_store().active_id()
    in_use_id = resources.model_in_use()  # the model that really reads drawings, never one that cannot load
    unloadable_id = None
    if in_use_id != chosen_id:
        unloadable_id = chosen_id
        instead = f"The Draw page uses `{in_use_id}` instead." if in_use_id else "The Draw page cannot read digits."
        st.warning(
            f"The chosen model `{chosen_id}` cannot be loaded: {resources.load_problem(chosen_id)} {instead}",
            icon=":material/warning:",
        )
    may_change = access.can_change_models(access.current_role())
    if not may_change:
        st.info("Only the host can choose the model in use or delete models.", icon=":material/lock:")
    for meta in models:
        try:
            if "broken" in meta:
                broken_model_card(meta, in_use_id, may_change)
            else:
                model_card(meta, in_use_id, unloadable_id, may_change)
        except Exception as error:  # one broken model must not hide the others
            st.error(f"Model `{meta.get('id')}` cannot be shown: {type(error).__name__}: {error}")


def show_page():
    st.title("Models")
    st.caption(
        "Every model saved by the Train page or `python train.py`. The one in use reads your drawings "
        f"on the Draw page. Stored in `{resources.model_store().root}`."
    )
    try:
        show_models()
    except Exception as error:  # e.g. the models folder cannot be read
        st.error(f"The models cannot be listed: {type(error).__name__}: {error}")


# Streamlit runs a page file as __main__; the guard lets tests import the helpers above.
if __name__ == "__main__":
    show_page()
