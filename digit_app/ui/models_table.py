"""The Models page's table: every model in one compact, sortable table whose selected row the
page's buttons act on, and the validation curves of the models chosen to compare.

The rows are plain data (table_frame), so that what the table shows is tested without a browser.
"""

import datetime
import zlib

import pandas as pd
import streamlit as st

from digit_app.ui import curve_charts

TABLE_KEY = "models_table"
COMPARE_KEY = "models_compare"
IN_USE, CANNOT_LOAD, BROKEN = "in use", "cannot be loaded", "broken"
# Metadata keys of the accuracy on the user's own drawings that no training saw: a fine-tune's
# held-out drawings; the first that a model's metadata holds is shown.
DRAWINGS_ACCURACY_KEYS = ("drawings_accuracy_after",)
# Column -> its configuration; the order is the table's. Short titles and fixed widths keep every
# column in view beside the sidebar; each title's help says it in full.
COLUMNS = {
    "Model": st.column_config.TextColumn("Model", width=128, pinned=True,
                                         help="The model's id: its file name in the models folder."),
    "Name": st.column_config.TextColumn("Name", width=84, help="A name of your choosing: edit it below the table."),
    "Status": st.column_config.TextColumn("Status", width=62),
    "Architecture": st.column_config.TextColumn("Network", width=80, help="The architecture."),
    "Epochs": st.column_config.NumberColumn("Epochs", width=58, format="%d"),
    "Test accuracy": st.column_config.NumberColumn(
        "MNIST", width=72, format="%.2f%%", help="Accuracy on the 10,000 MNIST test digits."),
    "Canvas accuracy": st.column_config.NumberColumn(
        "Canvas", width=66, format="%.1f%%",
        help="Accuracy on the canvas evaluation set: 540 held-out drawings of every form of every digit, "
        "drawn as on the Draw page (measured at the end of a training); blank when it was not measured."),
    "Your drawings": st.column_config.NumberColumn(
        "Drawings", width=76, format="%.1f%%",
        help="Accuracy on your drawings held out for checking (measured by a fine-tune on My drawings); "
        "blank when it was not measured."),
    "Parameters": st.column_config.NumberColumn("Params", width=66, format="localized", help="Weights in the network."),
    "File size": st.column_config.NumberColumn("Size", width=66, format="%.2f MB", help="The .keras file."),
    "Training time": st.column_config.NumberColumn(
        "Time", width=60, format="%.1f min", help="Training and testing the network, as the Train page reports it."),
    "Created": st.column_config.DatetimeColumn("Created", width=92, format="D MMM, HH:mm"),
}


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _percent(value):
    value = _number(value)
    return None if value is None else round(value * 100, 2)


def _created(meta):
    try:
        return datetime.datetime.fromisoformat(meta.get("created_at")).astimezone().replace(tzinfo=None)
    except (TypeError, ValueError):
        return None


def drawings_accuracy(meta):
    """The accuracy on the user's held-out drawings recorded in the metadata, or None."""
    return next((meta[key] for key in DRAWINGS_ACCURACY_KEYS if _number(meta.get(key)) is not None), None)


def status(meta, in_use_id, unloadable_id):
    if "broken" in meta:
        return BROKEN
    if meta["id"] == in_use_id:
        return IN_USE
    return CANNOT_LOAD if meta["id"] == unloadable_id else ""


def table_frame(models, in_use_id=None, unloadable_id=None, file_sizes=None):
    """One row per model (store metadata dicts), in the order given, with the COLUMNS; a value
    the metadata lacks is left blank. file_sizes: model id -> bytes."""
    file_sizes = file_sizes or {}
    rows = []
    for meta in models:
        seconds = _number(meta.get("training_seconds"))
        size = file_sizes.get(meta["id"])
        rows.append({
            "Model": meta["id"],
            "Name": meta.get("name") or "",
            "Status": status(meta, in_use_id, unloadable_id),
            "Architecture": meta.get("architecture"),
            "Epochs": _number(meta.get("epochs")),
            "Test accuracy": _percent(meta.get("test_accuracy")),
            "Canvas accuracy": _percent(meta.get("canvas_accuracy")),
            "Your drawings": _percent(drawings_accuracy(meta)),
            "Parameters": _number(meta.get("parameters")),
            "File size": None if size is None else round(size / 2**20, 2),
            "Training time": None if seconds is None else round(seconds / 60, 1),
            "Created": _created(meta),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def models_table(frame, default_id):
    """The table; returns the id of the selected model, or `default_id` when no row is selected.
    The key changes with the set of models, so that a deleted model's row index never selects
    the row that took its place; the default is then selected again."""
    ids = list(frame["Model"])
    default_rows = [ids.index(default_id)] if default_id in ids else []
    event = st.dataframe(
        frame, key=f"{TABLE_KEY}_{zlib.crc32(' '.join(sorted(ids)).encode())}", on_select="rerun", selection_mode="single-row",
        selection_default={"selection": {"rows": default_rows}}, hide_index=True, column_config=COLUMNS,
        width="stretch", placeholder="",
    )
    rows = event.selection.rows
    return ids[rows[0]] if rows and rows[0] < len(ids) else default_id


def compare_ui(models, preselected):
    """A choice of models and their validation curves on one chart."""
    readable = [meta for meta in models if "broken" not in meta]
    labels = {meta["id"]: curve_charts.model_label(meta) for meta in readable}
    chosen = st.multiselect(
        "Models to compare", list(labels), default=[model_id for model_id in preselected if model_id in labels],
        format_func=labels.get, key=COMPARE_KEY,
        help="Their validation loss and accuracy: checked several times an epoch on a fixed sample for models "
        "trained since that was kept, else once an epoch.",
    )
    if not chosen:
        st.caption("Choose models above to see their validation curves together.")
        return
    by_id = {meta["id"]: meta for meta in readable}
    curve_charts.show_charts(curve_charts.comparison_charts([by_id[model_id] for model_id in chosen]), key="compare")
