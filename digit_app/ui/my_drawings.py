"""The My drawings page: the drawings kept to fine-tune the model, as a gallery to filter,
delete, export to .npz and import from .npz; and, above them, the fine-tune
(digit_app/ui/fine_tune.py).

A drawings database that cannot be used is reported with its message and the rest of the app
keeps working.
"""

import io

import streamlit as st

from digit_app.drawing_store import DrawingStoreError
from digit_app.fine_tune_verdict import plural
from digit_app.ui import access, fine_tune, resources
from digit_app.ui.draw import pixel_view

PAGE_SIZE = 30
PIXEL_SCALE = 4  # each of the 28x28 pixels the model saw as a 4x4 square: 112 px thumbnails
GRID_LEVEL = 45  # grey of the lines between the enlarged pixels, faint on the black background
CARD_WIDTH = 172  # the image, and its caption beside a delete button on one line
ALL_DIGITS = "All"
EXPORT_FILE_NAME = "my-drawings.npz"
NOTICE_KEY = "my_drawings_notice"  # a message to show after the rerun an action asks for


def reading_text(drawing):
    """The card's caption: the true label, and what the model read when it was wrong."""
    if drawing.predicted is None:
        return f"**{drawing.label}** · :gray[not read]"
    if drawing.wrong:
        return f"**{drawing.label}** · :red[read as {drawing.predicted}]"
    return f"**{drawing.label}** · :green[read right]"


def export_bytes(store):
    buffer = io.BytesIO()
    store.export_npz(buffer)
    return buffer.getvalue()


def _finish(notice):
    """Show `notice` at the top of the next run, and start that run."""
    st.session_state[NOTICE_KEY] = notice
    st.rerun()


def _reset_page_number():
    st.session_state.pop("gallery_page", None)


def summary_ui(counts, wrong_counts):
    total, wrong = sum(counts.values()), sum(wrong_counts.values())
    with st.container(horizontal=True, gap="large"):
        st.metric("Drawings", total, width="content")
        st.metric("The model got wrong", wrong, width="content")
        st.metric("Digits covered", f"{sum(1 for count in counts.values() if count)} of 10", width="content")


def filters_ui(counts):
    """Return (label or None, wrong_only) as the user picked them."""
    options = [ALL_DIGITS, *range(10)]
    label = st.segmented_control(
        "Digit",
        options,
        default=ALL_DIGITS,
        required=True,
        format_func=lambda option: option if option == ALL_DIGITS else f"{option} ({counts[option]})",
        key="label_filter",
        on_change=_reset_page_number,
    )
    wrong_only = st.toggle("Only where the model got it wrong", key="wrong_only", on_change=_reset_page_number)
    return (None if label == ALL_DIGITS else label), wrong_only


def page_number_ui(num_matching):
    num_pages = max(1, -(-num_matching // PAGE_SIZE))
    if num_pages == 1:
        return 1
    if st.session_state.get("gallery_page", 1) > num_pages:  # after deletes the last page may be gone
        st.session_state.gallery_page = num_pages
    return st.pagination(num_pages, key="gallery_page")


def drawing_card_ui(store, drawing, may_write):
    with st.container(border=True, width=CARD_WIDTH, horizontal_alignment="center", gap="small"):
        st.image(pixel_view(drawing.model_input, PIXEL_SCALE, GRID_LEVEL), width=28 * PIXEL_SCALE)
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(reading_text(drawing), width="content")
            deleted = st.button(
                "",
                key=f"delete-{drawing.id}",
                icon=":material/delete:",
                type="tertiary",
                disabled=not may_write,
                help=f"Delete this drawing (#{drawing.id}, {drawing.source}, {drawing.created_at})",
            )
    if deleted and store.delete(drawing.id):  # an owner's store deletes only the owner's drawings
        _finish(f"Deleted drawing #{drawing.id} (a {drawing.label}).")


def gallery_ui(store, label, wrong_only, may_write):
    num_matching = store.count(label=label, wrong_only=wrong_only)
    if num_matching == 0:
        st.info("No drawings match these filters.", icon=":material/filter_alt_off:")
        return
    page = page_number_ui(num_matching)
    drawings = store.list(label=label, wrong_only=wrong_only, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    first = (page - 1) * PAGE_SIZE + 1
    st.caption(f"Showing {first}-{first + len(drawings) - 1} of {num_matching}, newest first.")
    with st.container(horizontal=True, wrap=True, gap="small"):
        for drawing in drawings:
            drawing_card_ui(store, drawing, may_write)


def export_ui(store, total):
    st.download_button(
        f"Export {plural(total, 'drawing')}",
        data=lambda: export_bytes(store),  # built when clicked, not on every rerun
        file_name=EXPORT_FILE_NAME,
        mime="application/octet-stream",
        icon=":material/download:",
        on_click="ignore",
        disabled=total == 0,
    )
    st.caption("An .npz with `images` (N, 28, 28) uint8 0-255 like MNIST and `labels` (N,) uint8.")


def import_ui(store):
    st.session_state.setdefault("import_generation", 0)
    uploaded = st.file_uploader(
        "Import drawings from an .npz",
        type=["npz"],
        key=f"import-{st.session_state.import_generation}",
        help="Arrays `images` (N, 28, 28): uint8 0-255, or floats in [0, 1]; `labels` (N,): digits 0-9. "
        "At most 10,000 drawings and 50 MB.",
    )
    if uploaded is not None and st.button(f"Import {uploaded.name}", icon=":material/upload:", key="import"):
        try:
            added = store.import_npz(uploaded, predictor=resources.active_predictor()[0])
        except (ValueError, DrawingStoreError) as error:  # a bad file, or a quota reached
            st.error(f"{uploaded.name} was not imported: {error}", icon=":material/block:")
            return
        st.session_state.import_generation += 1  # a new, empty uploader: the file cannot go in twice
        _finish(f"Imported {plural(added, 'drawing')} from {uploaded.name}, each read by the model in use.")


def delete_all_ui(store, total):
    if not st.session_state.get("confirm_delete_all"):
        st.button(
            "Delete all…",
            icon=":material/delete_forever:",
            disabled=total == 0,
            key="delete_all",
            on_click=lambda: st.session_state.update(confirm_delete_all=True),
        )
        return
    whose = " of yours" if store.owner else ""
    st.warning(
        f"Delete all {plural(total, 'drawing')}{whose}? This cannot be undone; export them first to keep a copy."
    )
    with st.container(horizontal=True):
        confirmed = st.button("Yes, delete all", type="primary", key="confirm_delete_all_yes")
        cancelled = st.button("Cancel", key="confirm_delete_all_cancel")
    if confirmed or cancelled:
        st.session_state.confirm_delete_all = False
    if confirmed:
        deleted = store.delete_all()
        _finish(f"Deleted all {plural(deleted, 'drawing')}.")
    if cancelled:
        st.rerun()


def files_ui(store, total, may_write):
    export_column, import_column, delete_column = st.columns([1, 2, 1], gap="large")
    with export_column:
        export_ui(store, total)
    if not may_write:
        import_column.caption(access.READ_ONLY)
        return
    with import_column:
        import_ui(store)
    with delete_column:
        delete_all_ui(store, total)


def show_page():
    st.title("My drawings")
    role = access.current_role()
    drawing_store = access.drawing_store(role)
    if role.is_host:
        whose = "everyone's drawings" if role.shared else "the drawings"
        st.caption(f"You see {whose}, kept in `{drawing_store.path}` to fine-tune the model.")
    else:
        st.caption("Your own drawings: the ones you confirmed or corrected on the Draw page. No one else sees them here.")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    try:
        counts = drawing_store.counts_by_label()
        wrong_counts = drawing_store.counts_by_label(wrong_only=True)
        total = sum(counts.values())
        summary_ui(counts, wrong_counts)
        if total:
            with st.container(border=True):
                fine_tune.fine_tune_ui(drawing_store, total)
        # Above the gallery, which can be long; open when there is nothing else to do here.
        with st.expander("Export, import, delete all", icon=":material/import_export:", expanded=total == 0):
            files_ui(drawing_store, total, role.may_write)
        if total:
            label, wrong_only = filters_ui(counts)
            gallery_ui(drawing_store, label, wrong_only, role.may_write)
        else:
            st.info(
                "No drawings yet. On the Draw page, confirm or correct a reading to keep the drawing here, "
                "or import an .npz above.",
                icon=":material/draw:",
            )
    except DrawingStoreError as error:
        st.error(str(error), icon=":material/error:")


# Streamlit runs a page file as __main__; the guard lets tests import the helpers above.
if __name__ == "__main__":
    show_page()
