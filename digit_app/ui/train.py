"""Train page: choose the settings, start a training job (or a sweep of many), watch it learn,
then use the model.

The job runs in a process of its own (digit_app.jobs), so this page only reads its state: it can
be left, reloaded or opened in a second tab while the job goes on, and it finds the job again
after the server restarts. One job runs at a time; a Start while one runs joins the queue.
"""

import datetime

import streamlit as st

from digit_app import jobs
from digit_app.drawing_store import DrawingStoreError
from digit_app.evaluation import most_common_mistakes
from digit_app.architectures import ARCHITECTURES
from digit_app.handwriting import NOT_A_DIGIT
from digit_app.settings import (
    DRAWINGS_LOSS_SHARE, MAX_EPOCHS, MAX_VALIDATION_FRACTION, MIN_VALIDATION_FRACTION, TRAIN_LIMIT_ENV_VAR,
    TrainingSettings, capped_train_samples, digits_learned_from, train_limit_from_environment,
)
from digit_app.curves import VALIDATIONS_PER_EPOCH
from digit_app.ui import access, charts, curve_charts, resources, sweep_tab
from digit_app.ui.job_text import format_duration, progress_text
from digit_app.ui.use_model import take_failure, use_model_button
from digit_app.ui.resources import job_owner

REFRESH_SECONDS = 1.0
ALL_DIGITS = "all"
TRAIN_SIZES = [ALL_DIGITS, 1000, 5000, 10000]  # MNIST training digits taken; a few thousand try settings in seconds
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
FORM_KEYS = ("architecture", "epochs", "batch_size", "learning_rate", "validation_fraction", "augment",
             "cosine_decay", "handwriting")
TEST_DIGITS = "10,000"
AFTER_STOP_TEXT = {
    jobs.CHECKING: "Checking the model on the test set, then saving it…",
    jobs.SAVING: "Saving the model…",
}
START_REFUSED_KEY = "train_page_start_refused"
CONFIRM_STOP_KEY = "train_page_confirm_stop"  # the job id whose stop awaits confirmation
QUEUE_FORM_KEY = "train_page_queue_form"  # this session is choosing settings for a queued job


def describe_settings(settings):
    parts = [
        settings.architecture,
        f"{settings.epochs} epoch{'s' if settings.epochs != 1 else ''}",
        f"batch size {settings.batch_size}",
        f"learning rate {settings.learning_rate:g}",
        f"{settings.validation_fraction:.0%} held out for validation",
    ]
    if settings.augment:
        parts.append("augmented digits")
    if settings.cosine_decay:
        parts.append("cosine decay")
    if settings.max_train_samples:
        parts.append(f"first {settings.max_train_samples:,} training digits")
    if settings.handwriting:
        parts.append("generated handwriting")
    return " · ".join(parts)


def form_values(settings):
    """TrainingSettings as the settings form's values, by widget key."""
    values = {key: getattr(settings, key) for key in FORM_KEYS}
    return {**values, "train_size": settings.max_train_samples or ALL_DIGITS}


def form_defaults():
    """The settings form's starting values: TrainingSettings' defaults, as train.py's are."""
    return form_values(TrainingSettings())


def fill_form(running_settings):
    """Put values in the form before its widgets are drawn: a running job's settings, which the
    form then shows read-only (in every tab and session, whoever started the job), or else the
    defaults where the form has no value yet. The widgets take their values from here alone:
    given a default too, Streamlit would warn that the value was set twice."""
    if running_settings is None:
        for key, value in form_defaults().items():
            st.session_state.setdefault(key, value)
        return
    values = form_values(running_settings)
    for key, offered in (("batch_size", BATCH_SIZES), ("train_size", TRAIN_SIZES)):
        if values[key] not in offered:
            values.pop(key)  # not one the form offers: left as it is
            st.session_state.setdefault(key, form_defaults()[key])
    st.session_state.update(values)


def train_size_label(size):
    """'All 54,000' (the digits learned from with the default validation fraction: a label that
    moved with the fraction would make a new widget) or '5,000'."""
    default_fraction = TrainingSettings().validation_fraction
    return f"All {digits_learned_from(None, default_fraction):,}" if size == ALL_DIGITS else f"{size:,}"


def choose_settings(disabled=False):
    """The settings widgets; returns their values as TrainingSettings arguments."""
    architecture = st.radio(
        "Network", list(ARCHITECTURES),
        captions=[architecture.description.capitalize() for architecture in ARCHITECTURES.values()], key="architecture",
        disabled=disabled,
    )
    # No min_value/max_value on the number inputs: the browser would clamp a typed value back
    # silently, and the job would run with a value the user never saw. Out-of-range values get
    # the settings' own message instead, and Start stays disabled until they are fixed.
    train_size = st.radio(
        "Training digits", TRAIN_SIZES, key="train_size", format_func=train_size_label, horizontal=True,
        disabled=disabled,
        help="All of MNIST's training digits less the validation part, or the first few thousand of them "
        "(validation held out of those too), to try settings in seconds.",
    )
    epochs = st.number_input(
        "Epochs", step=1, key="epochs", disabled=disabled,
        help=f"How many times the network sees every training digit: 1 to {MAX_EPOCHS}.",
    )
    batch_size = st.select_slider(
        "Batch size", BATCH_SIZES, key="batch_size", disabled=disabled,
        help="Digits per weight update: smaller batches learn in more, noisier steps.",
    )
    learning_rate = st.number_input(
        "Learning rate", step=0.0005, format="%g", key="learning_rate", disabled=disabled,
        help="The size of each step: above 0 and at most 1; 0.001 suits Adam.",
    )
    # Wider than the settings allow: a value outside them gets the settings' message, not a silent clamp.
    validation_fraction = st.number_input(
        "Validation fraction", step=0.05,
        format="%.2f", key="validation_fraction", disabled=disabled,
        help="The part of the training digits held out to check the network on digits it does not learn "
        f"from: {MIN_VALIDATION_FRACTION} to {MAX_VALIDATION_FRACTION}.",
    )
    augment = st.toggle(
        "Augment the digits", key="augment", disabled=disabled,
        help="Randomly rotate, shear, scale, shift and thicken each training digit, so the network "
        "copes with drawings that look less like MNIST. Slower, and better on the Draw page.",
    )
    cosine_decay = st.toggle(
        "Cosine learning-rate decay", key="cosine_decay", disabled=disabled,
        help="Lower the learning rate smoothly to 1% of its start by the last epoch.",
    )
    handwriting = st.toggle(
        "Add generated handwriting", key="handwriting", disabled=disabled,
        help="Mix in digits drawn by program in the forms people write and MNIST lacks (crossed 7s, "
        "flagged 1s, open 4s, curly 9s …), and drawings that are not digits, so that the model reads "
        "real handwriting and can answer \"not a digit\".",
    )
    return dict(
        architecture=architecture, epochs=int(epochs), batch_size=int(batch_size),
        learning_rate=float(learning_rate), validation_fraction=float(validation_fraction),
        augment=augment, cosine_decay=cosine_decay, handwriting=handwriting,
        max_train_samples=None if train_size == ALL_DIGITS else int(train_size),
    )


def checked_settings(values):
    """(TrainingSettings, None) when the values are valid, else (None, the reason). The training
    set is capped by DIGIT_APP_TRAIN_LIMIT when it is set."""
    try:
        limited = capped_train_samples(values["max_train_samples"], train_limit_from_environment())
        return TrainingSettings(**{**values, "max_train_samples": limited}), None
    except ValueError as error:
        return None, str(error)


def settings_form(running):
    """The settings and the Start button, which starts a job when the values are valid.
    running: the running job's snapshot, whose settings the form then shows read-only; or None."""
    job_running = running is not None
    if job_running:
        what = "fine-tuning" if running.kind == jobs.FINE_TUNING else "training"
        st.subheader(f"Settings of the running {what}")
    else:
        st.subheader("Settings")
    fill_form(running.settings if job_running else None)
    settings, problem = checked_settings(choose_settings(disabled=job_running))
    if problem and not job_running:
        st.error(f"{problem} Start is disabled until this is fixed.", icon=":material/block:")
    elif settings is not None:
        learned = digits_learned_from(settings.max_train_samples, settings.validation_fraction)
        text = f"Learns from {learned:,} MNIST digits" + (" and generated handwriting." if settings.handwriting else ".")
        if (limit := train_limit_from_environment()) is not None:
            text += f" At most the first {limit:,} are taken, as {TRAIN_LIMIT_ENV_VAR} caps it."
        st.caption(text)
    include_drawings = include_drawings_ui(disabled=job_running)
    may_write = access.current_role().may_write
    if not may_write:
        st.caption(access.READ_ONLY)
    # A callback starts the job before the page is drawn, so this very run shows it running.
    st.button(
        "Start training", key="start_training", type="primary", icon=":material/play_arrow:",
        disabled=job_running or settings is None or not may_write, on_click=start_job,
        args=(settings, include_drawings), width="stretch",
    )
    if refusal := st.session_state.pop(START_REFUSED_KEY, None):
        st.warning(refusal)
    elif job_running:
        st.caption("These are the running job's settings. Stop it, let it finish, or queue another.")
        st.button("Queue another training", key="queue_training", icon=":material/queue:", width="stretch",
                  disabled=not may_write, on_click=st.session_state.__setitem__, args=(QUEUE_FORM_KEY, True))
    elif st.session_state.get(QUEUE_FORM_KEY):
        st.caption("A job is running: Start puts yours in the queue, and it runs when the jobs before it end.")


def include_drawings_ui(disabled=False):
    """The 'Include my drawings' toggle; whether it is on (off when there are none to include)."""
    try:
        count = access.drawing_store().count()
    except DrawingStoreError as error:
        st.caption(f"Your drawings cannot be read: {error}")
        return False
    return st.toggle(
        f"Include my drawings ({count})", key="include_drawings", disabled=disabled or count == 0,
        help="Add the drawings you kept on the Draw page (see My drawings) to the training digits, "
        f"weighted so that together they carry about {DRAWINGS_LOSS_SHARE:.0%} of the loss.",
    )


def start_job(settings, include_drawings):
    role = access.current_role()
    if settings is None or not role.may_write:
        return
    if problem := access.models_quota_problem():
        st.session_state[START_REFUSED_KEY] = problem
        return
    try:
        drawings = access.drawing_store(role).training_arrays() if include_drawings else None
        resources.job_manager().start(settings, owner=job_owner(), drawings=drawings)
    except (DrawingStoreError, OSError) as error:
        st.session_state[START_REFUSED_KEY] = str(error)
        return
    st.session_state.pop(QUEUE_FORM_KEY, None)


def started_by(snapshot):
    """'the visitor at 10.0.0.7 at 14:05', or 'you at 14:05'."""
    moment = datetime.datetime.fromtimestamp(snapshot.started_at).strftime("%H:%M")
    return f"you at {moment}" if snapshot.owner.session == job_owner().session else f"{snapshot.owner.name} at {moment}"


def stop_job(job_id, confirmed=False):
    """The Stop button's callback: the host, or whoever started the job, may stop it; someone
    else's job only with "Yes, stop it" (confirmed). Stop itself never confirms: a click that
    reaches the server twice asks twice rather than stopping unasked."""
    snapshot = resources.job_manager().job(job_id).snapshot()
    if not access.can_stop_job(access.current_role(), snapshot.owner.session):
        return
    if snapshot.owner.session == job_owner().session or (confirmed and st.session_state.get(CONFIRM_STOP_KEY) == job_id):
        st.session_state.pop(CONFIRM_STOP_KEY, None)
        resources.job_manager().stop(job_id, requested_by=job_owner().name)
    else:
        st.session_state[CONFIRM_STOP_KEY] = job_id


def cancel_stop():
    st.session_state.pop(CONFIRM_STOP_KEY, None)


@st.fragment(run_every=REFRESH_SECONDS)
def my_queued_jobs():
    """This session's queued jobs, with their place in the queue; the page redraws when one starts."""
    queued = resources.job_manager().queued(session=job_owner().session)
    if not queued and st.session_state.get("train_page_had_queued"):
        st.session_state["train_page_had_queued"] = False
        st.rerun()  # one of them has started: show it
    st.session_state["train_page_had_queued"] = bool(queued)
    for job in queued:
        snapshot = job.snapshot()
        what = "sweep" if snapshot.kind == jobs.SWEEP else snapshot.kind
        ahead = snapshot.queue_position
        with st.container(border=True):
            st.info(
                f"Your {what} is queued, position {ahead}: it starts when the "
                f"job{'s' if ahead > 1 else ''} before it end{'' if ahead > 1 else 's'}.",
                icon=":material/hourglass:",
            )
            st.caption(describe_settings(snapshot.settings) if snapshot.kind != jobs.SWEEP else
                       f"Sweep {snapshot.sweep['study']}: {snapshot.sweep['num_trials']} trials")
            st.button("Leave the queue", key=f"leave_queue_{job.job_id}", icon=":material/close:",
                      on_click=resources.job_manager().stop, args=(job.job_id, job_owner().name))


def show_intro():
    st.subheader("No training yet")
    st.markdown(
        "Pick a network and press **Start training**; 1,000 training digits try settings in seconds. "
        "The charts below the progress bar show the network learning: the **loss** (how wrong it is) "
        "falls and the **accuracy** rises. Hover over them to read each point.\n\n"
        "- *Training* is measured on the digits it learns from, as a running mean within each epoch.\n"
        f"- *Validation* is measured on digits held out from training: a fixed sample of them "
        f"{VALIDATIONS_PER_EPOCH} times an epoch, and all of them at each epoch's end. If it stops "
        "improving while training still does, the network is memorising rather than learning.\n\n"
        f"At the end, the network is tested on {TEST_DIGITS} digits it has never seen, and saved. "
        "You decide whether the Draw page uses it."
    )


@st.fragment(run_every=REFRESH_SECONDS)
def live_progress():
    snapshot = resources.job_manager().snapshot()
    if snapshot is None or snapshot.ended:
        st.rerun()  # the whole page: results instead of progress, and Start enabled again
    if snapshot.kind == jobs.SWEEP:
        sweep_tab.live_sweep(snapshot)
        stop_ui(snapshot)
        return
    st.subheader("Fine-tuning on your drawings…" if snapshot.kind == jobs.FINE_TUNING else "Training…")
    st.caption(f"{describe_settings(snapshot.settings)} · started by {started_by(snapshot)}")
    st.progress(snapshot.fraction_done, text=progress_text(snapshot))

    columns = st.columns(4)
    columns[0].metric("Training loss", f"{snapshot.batch_loss:.3f}" if snapshot.epoch else "–")
    columns[1].metric("Training accuracy", f"{snapshot.batch_accuracy:.1%}" if snapshot.epoch else "–")
    checks = [point for point in snapshot.validation_points if point[2]]  # not the untrained model's
    columns[2].metric(
        "Validation accuracy", f"{checks[-1][4]:.1%}" if checks else "–",
        help=f"Measured {VALIDATIONS_PER_EPOCH} times an epoch on a fixed sample of the held-out digits.",
    )
    columns[3].metric("Elapsed", format_duration(snapshot.elapsed_seconds))
    curve_charts.show_job_charts(snapshot, key="live_curves", stacked=True)
    stop_ui(snapshot)


def stopped_early(snapshot):
    """Whether training has ended before its last batch: Stop was pressed and took effect."""
    if snapshot.kind == jobs.SWEEP:
        return False  # each trial is checked at its own end, with its own number of epochs
    last_batch = snapshot.epoch == snapshot.settings.epochs and snapshot.batch == snapshot.batches_per_epoch
    return snapshot.phase in jobs.AFTER_TRAINING_PHASES and not last_batch


def stop_ui(snapshot):
    """The Stop button, and once pressed, what the job is doing about it, phase by phase."""
    stopping = snapshot.phase == jobs.STOPPING or stopped_early(snapshot)
    may_stop = access.can_stop_job(access.current_role(), snapshot.owner.session)
    if st.session_state.get(CONFIRM_STOP_KEY) == snapshot.job_id and not stopping:
        st.warning(f"This job was started by {started_by(snapshot)}. Stop it for them?", icon=":material/warning:")
        yes_column, no_column, _ = st.columns([1, 1, 2])
        yes_column.button("Yes, stop it", key="confirm_stop_training", type="primary", on_click=stop_job,
                          args=(snapshot.job_id, True))
        no_column.button("Cancel", key="cancel_stop_training", on_click=cancel_stop)
        return
    st.button("Stop", key="stop_training", icon=":material/stop:", on_click=stop_job, args=(snapshot.job_id,),
              disabled=stopping or not may_stop,
              help=None if may_stop else "Only the host or the person who started it can stop it.")
    if snapshot.phase == jobs.STOPPING:
        st.caption("Stopping after the current batch. The model is kept if at least one whole epoch is done.")
    elif stopped_early(snapshot):
        where = f"Stopped at epoch {snapshot.epoch}, batch {snapshot.batch} of {snapshot.batches_per_epoch}"
        if snapshot.epochs_completed:
            st.caption(f"{where}. {AFTER_STOP_TEXT[snapshot.phase]}")
        else:
            st.caption(f"{where}: nothing will be kept, as no whole epoch was done. Finishing…")


@st.cache_data(max_entries=6, show_spinner=False)
def result_picture(kind, job_started_at, _snapshot):
    """PNG of one result figure; a finished job never changes, so each is drawn once per job."""
    if kind == "confusion":
        figure = charts.confusion_matrix_figure(_snapshot.confusion_matrix)
    else:
        mistakes = _snapshot.misclassified
        figure = charts.misclassified_grid(
            mistakes.images, mistakes.predicted, mistakes.true, mistakes.confidence, columns=6
        )
    return charts.png_bytes(figure)


def training_seconds(model_id):
    """The training time saved with a model, which the Models page shows; None if unknown."""
    try:
        seconds = resources.model_store().metadata(model_id).get("training_seconds")
    except (OSError, ValueError):
        return None
    return seconds if isinstance(seconds, (int, float)) else None


def run_time_text(snapshot):
    """'in 1 min 10 s, of which 1 min 01 s training': the job's whole time, and the part of it the
    Models page calls 'Training time' (the rest is loading the data, checking and saving)."""
    text = f"in {format_duration(snapshot.elapsed_seconds)}"
    seconds = training_seconds(snapshot.model_id) if snapshot.model_id else None
    if seconds is not None:
        text += f", of which {format_duration(seconds)} training"
    return text


def show_outcome_message(snapshot):
    if snapshot.state == jobs.FINISHED:
        st.success(
            f"Finished {run_time_text(snapshot)}. Saved as `{snapshot.model_id}`.",
            icon=":material/check_circle:",
        )
    elif snapshot.model_id:
        st.warning(
            f"Stopped after {snapshot.epochs_completed} of {snapshot.settings.epochs} epochs, "
            f"{run_time_text(snapshot)}. The model trained so far is saved as `{snapshot.model_id}`.",
            icon=":material/stop_circle:",
        )
    else:
        st.warning(
            "Stopped during the first epoch: nothing was saved, because a model needs at least "
            "one whole epoch to be worth keeping.",
            icon=":material/stop_circle:",
        )


def active_model_accuracy(active_id):
    try:
        return resources.model_store().metadata(active_id).get("test_accuracy")
    except (OSError, ValueError):
        return None


def summary_row(snapshot):
    active_id = resources.model_store().active_id()
    accuracy_column, epochs_column, button_column = st.columns([1.2, 1, 1.2], vertical_alignment="center")
    in_use = active_id == snapshot.model_id
    baseline = None if in_use else active_model_accuracy(active_id)
    delta = None
    if isinstance(baseline, (int, float)):
        delta = f"{(snapshot.test_accuracy - baseline) * 100:+.2f} points vs the model in use"
    accuracy_column.metric(
        "Test accuracy", f"{snapshot.test_accuracy:.2%}", delta=delta,
        help=f"Share of the {TEST_DIGITS} MNIST test digits, never seen in training, read correctly.",
    )
    epochs_column.metric("Epochs", f"{snapshot.epochs_completed} of {snapshot.settings.epochs}")
    with button_column:
        use_model_button(snapshot.model_id, key="use_model", in_use=in_use)
    if failure := take_failure():
        st.error(failure)


def describe_mistakes(matrix):
    mistakes = most_common_mistakes(matrix)
    if not mistakes:
        return "No digit was mixed up with another."
    listed = ", ".join(
        f"**{true}** read as " + ("*not a digit*" if predicted == NOT_A_DIGIT else f"**{predicted}**") + f" ({times}×)"
        for true, predicted, times in mistakes
    )
    return f"Most common mix-ups: {listed}."


def show_results(snapshot):
    if snapshot.kind == jobs.SWEEP:
        sweep_tab.sweep_results(snapshot)
        return
    st.subheader("Last fine-tuning on your drawings" if snapshot.kind == jobs.FINE_TUNING else "Last training")
    st.caption(describe_settings(snapshot.settings))
    if snapshot.state == jobs.FAILED:
        st.error(snapshot.error.replace("\n", "  \n"), icon=":material/error:")
        st.info(f"Nothing was saved; the active model is still `{resources.model_store().active_id()}`.")
        return
    show_outcome_message(snapshot)
    if not snapshot.model_id:
        return
    summary_row(snapshot)
    curves_tab, confusion_tab, mistakes_tab = st.tabs(["Learning curves", "Confusion matrix", "Mistakes"])
    with curves_tab:
        curve_charts.show_job_charts(snapshot, key="result_curves", stacked=True)
    with confusion_tab:
        matrix_column, text_column = st.columns([1.4, 1], gap="medium")
        matrix_column.image(result_picture("confusion", snapshot.started_at, snapshot), width="stretch")
        text_column.markdown(
            "Each row is the digit that was written, each column what the model read. The green "
            f"diagonal counts the {TEST_DIGITS} test digits read right; red cells are mix-ups.\n\n"
            + describe_mistakes(snapshot.confusion_matrix)
        )
    with mistakes_tab:
        st.caption(
            "Test digits the model read wrong, the ones it was surest of first: often odd or ambiguous writing."
        )
        st.image(result_picture("mistakes", snapshot.started_at, snapshot), width="stretch")


def job_panel():
    snapshot = resources.job_manager().snapshot()
    if snapshot is None:
        show_intro()
    elif not snapshot.ended:
        live_progress()
    else:
        show_results(snapshot)


def show_page():
    st.title("Train a model")
    st.caption(
        "Teach a new network to read handwritten digits from the MNIST examples, and watch it learn."
    )
    settings_column, job_column = st.columns([1, 2.6], gap="large")
    with settings_column:
        snapshot = resources.job_manager().snapshot()
        running = snapshot if snapshot is not None and not snapshot.ended else None
        if running is None:
            st.session_state.pop(QUEUE_FORM_KEY, None)  # nothing to queue behind any more
        one_model_tab, sweep_settings_tab = st.tabs(["One model", "Sweep"])
        with one_model_tab:
            settings_form(running=None if st.session_state.get(QUEUE_FORM_KEY) else running)
        with sweep_settings_tab:
            sweep_tab.sweep_form(running is not None)
    with job_column:
        my_queued_jobs()
        job_panel()


# Streamlit runs a page file as __main__; the guard lets tests import the helpers above.
if __name__ == "__main__":
    show_page()
