"""The fine-tune section of the My drawings page: teach the model in use the user's handwriting,
watch the job, then see what it gained and lost and choose whether to use the new model.

The fine-tune runs as a job in a process of its own, in the same queue as the Train page's
trainings (JobManager.start_fine_tune), so it survives reruns, page switches and server
restarts, and a training and a fine-tune never run at once. The section only draws the job's state.
"""

import streamlit as st

from digit_app import fine_tune, fine_tune_verdict, jobs
from digit_app.drawing_store import DrawingStoreError
from digit_app.fine_tune_verdict import plural
from digit_app.settings import train_limit_from_environment
from digit_app.ui import access, resources
from digit_app.ui.job_text import progress_text
from digit_app.ui.use_model import take_failure, use_model_button
from digit_app.ui.resources import job_owner

FINE_TUNE_ERROR_KEY = "fine_tune_error"  # why the last Fine-tune click did nothing
REFRESH_SECONDS = 0.75
TEST_DIGITS = "10,000"


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
        settings = fine_tune.fine_tune_settings(
            resources.model_store().metadata(base_model_id).get("architecture"),
            mnist_samples=fine_tune_mnist_samples(), handwriting=st.session_state.get("fine_tune_handwriting", True),
        )
        resources.job_manager().start_fine_tune(base_model_id, settings, drawing_store.path,
                                                drawings_owner=drawing_store.owner, owner=job_owner())
    except (ValueError, DrawingStoreError, OSError) as error:
        st.session_state[FINE_TUNE_ERROR_KEY] = str(error)


def stop_job(job_id):
    """The Stop button's callback: the host, or whoever started the job, may stop it."""
    snapshot = resources.job_manager().job(job_id).snapshot()
    if access.can_stop_job(access.current_role(), snapshot.owner.session):
        resources.job_manager().stop(job_id, requested_by=job_owner().name)


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
    st.progress(snapshot.fraction_done, text=progress_text(snapshot))
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
    in_use = resources.model_store().active_id() == snapshot.model_id
    # Not the obvious next step when the scores argue against it.
    use_model_button(snapshot.model_id, key="use_fine_tuned", in_use=in_use, primary=not verdict.warnings)


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
    if error := st.session_state.pop(FINE_TUNE_ERROR_KEY, None) or take_failure():
        st.error(error, icon=":material/block:")
    if snapshot is not None and snapshot.kind == jobs.FINE_TUNING:
        fine_tune_result_ui(snapshot)
