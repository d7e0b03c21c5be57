"""The My drawings page: the drawings kept to fine-tune the model, as a gallery to filter,
delete, export to .npz and import from .npz; and the fine-tune itself.

The fine-tune runs as a job in a process of its own, in the same queue as the Train page's
trainings (JobManager.start_fine_tune), so it survives reruns, page switches and server
restarts, and a training and a fine-tune never run at once. The section only draws the job's state.

A drawings database that cannot be used is reported with its message and the rest of the app
keeps working.
"""

import io

import numpy as np
import streamlit as st

from digit_app import fine_tune, fine_tune_verdict, jobs
from digit_app.model_store import ModelStoreError
from digit_app.settings import train_limit_from_environment
from digit_app.drawing_store import DrawingStoreError
from digit_app.fine_tune_verdict import plural
from digit_app.ui import access, resources
from digit_app.ui.resources import job_owner

PAGE_SIZE = 30
PIXEL_SCALE = 4  # each of the 28x28 pixels the model saw as a 4x4 square: 112 px thumbnails
GRID_LEVEL = 45  # grey of the lines between the enlarged pixels, faint on the black background
CARD_WIDTH = 172  # the image, and its caption beside a delete button on one line
ALL_DIGITS = "All"
EXPORT_FILE_NAME = "my-drawings.npz"
NOTICE_KEY = "my_drawings_notice"  # a message to show after the rerun an action asks for
FINE_TUNE_ERROR_KEY = "fine_tune_error"  # why the last Fine-tune or Use click did nothing
REFRESH_SECONDS = 0.75
TEST_DIGITS = "10,000"


def pixel_view(model_input, scale=PIXEL_SCALE, grid_level=GRID_LEVEL):
    """The (28, 28) float model input enlarged nearest-neighbour, with faint lines between the
    pixels so that each pixel the model saw stays visible."""
    image = np.clip(np.asarray(model_input, np.float32) * 255.0, 0, 255).astype(np.uint8)
    enlarged = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    enlarged[::scale, :] = np.maximum(enlarged[::scale, :], grid_level)
    enlarged[:, ::scale] = np.maximum(enlarged[:, ::scale], grid_level)
    return enlarged


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
        st.image(pixel_view(drawing.model_input), width=28 * PIXEL_SCALE)
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


def fine_tune_mnist_samples():
    """MNIST digits to mix in: the default, or fewer when DIGIT_APP_TRAIN_LIMIT says so (tests)."""
    limit = train_limit_from_environment()
    return fine_tune.DEFAULT_MNIST_SAMPLES if limit is None else min(limit, fine_tune.DEFAULT_MNIST_SAMPLES)


def start_fine_tune(drawing_store, base_model_id):
    """The button's callback: refuse at once what the job would refuse, else start the job."""
    role = access.current_role()
    if not role.may_write:
        st.session_state[FINE_TUNE_ERROR_KEY] = access.READ_ONLY
        return
    if problem := access.models_quota_problem():
        st.session_state[FINE_TUNE_ERROR_KEY] = problem
        return
    try:
        split = drawing_store.split_for_evaluation(fine_tune.DEFAULT_EVALUATION_FRACTION)
        fine_tune.check_enough_drawings(split)
        resources.job_manager().start_fine_tune(base_model_id, drawing_store.path, drawings_owner=drawing_store.owner,
                             owner=job_owner(), mnist_samples=fine_tune_mnist_samples(),
                             handwriting=st.session_state.get("fine_tune_handwriting", True))
    except (ValueError, DrawingStoreError, OSError) as error:
        st.session_state[FINE_TUNE_ERROR_KEY] = str(error)


def stop_job(job_id):
    """The Stop button's callback: the host, or whoever started the job, may stop it."""
    snapshot = resources.job_manager().job(job_id).snapshot()
    if access.can_stop_job(access.current_role(), snapshot.owner.session):
        resources.job_manager().stop(job_id, requested_by=job_owner().name)


def use_fine_tuned_model(model_id):
    if not access.can_change_models(access.current_role()):
        st.session_state[FINE_TUNE_ERROR_KEY] = access.NOT_HOST
        return
    try:
        resources.model_store().activate(model_id)
    except (ValueError, ModelStoreError) as error:  # e.g. deleted on the Models page, a read-only folder
        st.session_state[FINE_TUNE_ERROR_KEY] = str(error)


def percent_of(accuracy, count):
    """'75.0% (3 of 4)': with few held-out drawings, the count says more than the percentage."""
    return f"{accuracy:.1%} ({round(accuracy * count)} of {count})"


def fine_tune_intro_ui(drawing_store, total):
    split = drawing_store.split_for_evaluation(fine_tune.DEFAULT_EVALUATION_FRACTION)
    num_train, num_held_out = len(split.train_images), len(split.evaluation_images)
    base_model_id = resources.model_store().active_id()
    st.markdown(
        f"Teach the model in use (`{base_model_id}`) your handwriting: a copy of it trains for "
        f"{fine_tune.DEFAULT_EPOCHS} epochs on **{num_train}** of your drawings mixed with "
        f"{fine_tune_mnist_samples():,} MNIST digits, so that it does not forget them. "
        f"**{num_held_out}** {'drawing is' if num_held_out == 1 else 'drawings are'} held out (always the same ones) to check the result: you see "
        f"how well it reads them before and after, and how well it reads the {TEST_DIGITS} MNIST test digits. "
        "The new model is saved; you decide whether the Draw page uses it."
    )
    st.toggle(
        "Also learn from generated handwriting", value=True, key="fine_tune_handwriting",
        help="Mix in digits drawn by program in the forms people write (crossed 7s, flagged 1s, open 4s, "
        "curly 9s …) and drawings that are not digits, so that learning your style does not unlearn theirs.",
    )
    enough = total >= fine_tune.MIN_DRAWINGS
    if not enough:
        st.caption(f"Needs at least {fine_tune.MIN_DRAWINGS} drawings; you have {total}.")
    may_write = access.current_role().may_write
    if not may_write:
        st.caption(access.READ_ONLY)
    st.button(
        "Fine-tune on my drawings", key="start_fine_tune", type="primary", icon=":material/model_training:",
        disabled=not (enough and may_write), on_click=start_fine_tune, args=(drawing_store, base_model_id),
    )


@st.fragment(run_every=REFRESH_SECONDS)
def fine_tune_progress_ui():
    snapshot = resources.job_manager().snapshot()
    if snapshot is None or snapshot.ended:
        st.rerun()  # the whole page: the results, and the button back
    st.progress(snapshot.fraction_done, text=snapshot.progress_text)
    st.caption(f"Fine-tuning for {snapshot.elapsed_seconds:.0f} s. You can leave this page; it goes on.")
    may_stop = access.can_stop_job(access.current_role(), snapshot.owner.session)
    st.button("Stop", key="stop_fine_tune", icon=":material/stop:", on_click=stop_job, args=(snapshot.job_id,),
              disabled=not may_stop or snapshot.stop_requested_by is not None,
              help=None if may_stop else "Only the host or the person who started it can stop it.")


def _metric_delta(change):
    """st.metric's delta arguments for a Change: no arrow and no colour for no change."""
    if change.direction == fine_tune_verdict.NONE:
        return dict(delta=change.text, delta_color="off", delta_arrow="off")
    return dict(delta=change.text)


def fine_tune_scores_ui(scores, verdict):
    drawings_column, mnist_column = st.columns(2, gap="large")
    drawings_column.metric(
        "Your held-out drawings",
        percent_of(scores.drawings_accuracy_after, scores.num_evaluation_drawings),
        **_metric_delta(verdict.drawings),
        help="Drawings it never trained on, read correctly after fine-tuning.",
    )
    drawings_column.caption(
        f"Before: {percent_of(scores.drawings_accuracy_before, scores.num_evaluation_drawings)}"
    )
    mnist_column.metric(
        "MNIST test digits", f"{scores.mnist_accuracy_after:.2%}", **_metric_delta(verdict.mnist),
        help=f"The {TEST_DIGITS} MNIST test digits, read correctly after fine-tuning.",
    )
    mnist_column.caption(f"Before: {scores.mnist_accuracy_before:.2%}")
    for note in verdict.notes:
        st.info(note, icon=":material/info:")
    for warning in verdict.warnings:
        st.warning(warning, icon=":material/warning:")


def fine_tune_result_ui(snapshot):
    if snapshot.state == jobs.FAILED:
        st.error(snapshot.error, icon=":material/error:")
        return
    if snapshot.model_id is None:
        st.warning("Stopped during the first epoch: nothing was saved.", icon=":material/stop_circle:")
        return
    scores = snapshot.fine_tune
    ended = "Stopped early" if snapshot.state == jobs.STOPPED else "Finished"
    st.success(
        f"{ended} after {snapshot.epochs_completed} of {snapshot.settings.epochs} epochs, fine-tuned from "
        f"`{scores.base_model_id}` on {plural(scores.num_train_drawings, 'drawing')}. Saved as `{snapshot.model_id}`.",
        icon=":material/check_circle:",
    )
    verdict = fine_tune_verdict.judge(scores)
    fine_tune_scores_ui(scores, verdict)
    if resources.model_store().active_id() == snapshot.model_id:
        st.button("In use on the Draw page", key="use_fine_tuned", disabled=True, icon=":material/check:")
    else:
        may_change = access.can_change_models(access.current_role())
        # Not the obvious next step when the scores argue against it.
        st.button(
            "Use this model", key="use_fine_tuned", type="secondary" if verdict.warnings else "primary",
            icon=":material/draw:",
            on_click=use_fine_tuned_model, args=(snapshot.model_id,), disabled=not may_change,
            help="Make it the model that reads your drawings on the Draw page."
            if may_change else access.NOT_HOST,
        )


def fine_tune_ui(drawing_store, total):
    st.subheader("Fine-tune the active model on my drawings")
    snapshot = resources.job_manager().snapshot()
    if snapshot is not None and not snapshot.ended:
        if snapshot.kind == jobs.FINE_TUNING:
            fine_tune_progress_ui()
        else:
            st.info(
                "A training job is running on the Train page; fine-tune once it has ended.",
                icon=":material/hourglass:",
            )
        return
    if mine := resources.job_manager().queued(session=job_owner().session):
        st.info(f"Your fine-tune is queued, position {mine[0].snapshot().queue_position}; it starts when the "
                "jobs before it end. Its progress shows here then.", icon=":material/hourglass:")
    fine_tune_intro_ui(drawing_store, total)
    if error := st.session_state.pop(FINE_TUNE_ERROR_KEY, None):
        st.error(error, icon=":material/block:")
    if snapshot is not None and snapshot.kind == jobs.FINE_TUNING:
        fine_tune_result_ui(snapshot)


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
                fine_tune_ui(drawing_store, total)
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
