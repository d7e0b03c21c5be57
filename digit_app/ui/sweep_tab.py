"""The Train page's Sweep tab: choose ranges and a number of trials, start an Optuna study as one
job (digit_app.sweep), and watch its trials: a table (running, pruned, done) and each trial's
validation accuracy by epoch. The best model opens on the Models page."""

import math

import streamlit as st

from digit_app import jobs, sweep
from digit_app.architectures import ARCHITECTURES
from digit_app.settings import MAX_EPOCHS, TrainingSettings, train_limit_from_environment
from digit_app.ui import charts, resources
from digit_app.ui.job_text import format_duration, progress_text
from digit_app.ui.resources import job_owner

SWEEP_REFUSED_KEY = "train_page_sweep_refused"
LEARNING_RATES = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
BATCH_SIZES = [16, 32, 64, 128, 256, 512, 1024]
AUGMENT_STRENGTHS = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
STATE_NAMES = {"running": "running", "complete": "done", "pruned": "pruned", "fail": "stopped", "waiting": "waiting"}
CHART_DPI = 110


def sweep_form(job_running):
    """The ranges, the number of trials and the Start button."""
    architectures = st.multiselect("Networks", list(ARCHITECTURES), default=list(ARCHITECTURES),
                                   key="sweep_architectures")
    learning_rates = st.select_slider("Learning rate, from and to", LEARNING_RATES,
                                      value=sweep.DEFAULT_LEARNING_RATES, key="sweep_learning_rates",
                                      format_func=lambda rate: f"{rate:g}",
                                      help="Drawn on a log scale between the two.")
    batch_sizes = st.multiselect("Batch sizes", BATCH_SIZES, default=list(sweep.DEFAULT_BATCH_SIZES),
                                 key="sweep_batch_sizes")
    epochs = st.slider("Epochs, from and to", 1, MAX_EPOCHS, value=sweep.DEFAULT_EPOCHS, key="sweep_epochs")
    strengths = st.select_slider("Augmentation strength, from and to", AUGMENT_STRENGTHS,
                                 value=sweep.DEFAULT_AUGMENT_STRENGTHS, key="sweep_augment",
                                 help="0 trains on the digits as they are; 1 is the Augment toggle's strength.")
    handwriting = st.toggle("Add generated handwriting", value=True, key="sweep_handwriting",
                            help="As on the One model tab: every trial also learns from generated drawings.")
    num_trials = st.number_input("Trials", 1, 200, value=sweep.DEFAULT_NUM_TRIALS, key="sweep_trials",
                                 help="Weak trials are stopped early (pruned) once a few have finished.")
    settings, problem = checked_sweep_settings(dict(
        num_trials=int(num_trials), architectures=architectures, learning_rates=learning_rates,
        batch_sizes=batch_sizes, epochs=epochs, augment_strengths=strengths,
    ), handwriting)
    if problem:
        st.error(problem)
    st.button("Start sweep", key="start_sweep", type="primary", icon=":material/science:", width="stretch",
              disabled=settings is None, on_click=start_sweep, args=(settings,))
    if refusal := st.session_state.pop(SWEEP_REFUSED_KEY, None):
        st.warning(refusal)
    elif job_running:
        st.caption("A job is running: Start puts the sweep in the queue.")
    st.caption(f"The best {sweep.DEFAULT_KEEP_BEST} models are kept, with their settings. To share a sweep "
               "with other machines, run `python train.py sweep` (see the README).")


def checked_sweep_settings(values, handwriting):
    """(SweepSettings, None) when the values are valid, else (None, the reason)."""
    try:
        base = TrainingSettings(max_train_samples=train_limit_from_environment(), handwriting=handwriting)
        return sweep.SweepSettings(**values, base=base), None
    except ValueError as error:
        return None, str(error)


def start_sweep(settings):
    if settings is None:
        return
    try:
        resources.job_manager().start_sweep(settings, owner=job_owner())
    except OSError as error:
        st.session_state[SWEEP_REFUSED_KEY] = str(error)


def trial_table(trials):
    """One row per trial, newest first, for st.dataframe."""
    rows = []
    for trial in reversed(trials):
        params = trial["params"]
        strength = params.get("augment_strength")
        rows.append({
            "Trial": trial["number"],
            "State": STATE_NAMES.get(trial["state"], trial["state"]),
            "Network": params.get("architecture"),
            "Learning rate": params.get("learning_rate"),
            "Batch": params.get("batch_size"),
            "Epochs": params.get("epochs"),
            "Augment": strength,
            "Validation": trial["val_accuracy"][-1] if trial["val_accuracy"] else None,
            "Kept": "yes" if trial["model_id"] else "",
        })
    return rows


TABLE_COLUMNS = {
    "Trial": st.column_config.NumberColumn(width="small"),
    "Learning rate": st.column_config.NumberColumn(format="%.5f"),
    "Batch": st.column_config.NumberColumn(width="small"),
    "Epochs": st.column_config.NumberColumn(width="small"),
    "Augment": st.column_config.NumberColumn(width="small", help="Augmentation strength; 0 is none"),
    "Validation": st.column_config.NumberColumn(format="percent", help="Validation accuracy at the last epoch so far"),
    "Kept": st.column_config.TextColumn(width="small", help="Among the best few: saved in the store"),
}


@st.cache_data(max_entries=4, show_spinner=False)
def trial_chart(study, signature, _trials):
    """The chart as a data URL, drawn again only when a trial has a new epoch or a new state."""
    return charts.png_data_url(charts.trial_curves(_trials), dpi=CHART_DPI)


def chart_signature(trials):
    return tuple((trial["number"], trial["state"], len(trial["val_accuracy"])) for trial in trials)


def trials_view(snapshot):
    trials = snapshot.sweep["trials"]
    if not trials:
        st.caption("Waiting for the first trial…")
        return
    st.dataframe(trial_table(trials), hide_index=True, width="stretch", column_config=TABLE_COLUMNS)
    st.image(trial_chart(snapshot.sweep["study"], chart_signature(trials), trials), width="stretch")


def live_sweep(snapshot):
    info = snapshot.sweep
    finished = sum(trial["state"] in ("complete", "pruned") for trial in info["trials"])
    st.subheader(f"Sweep {info['study']}…")
    st.progress(snapshot.fraction_done,
                text=f"{finished} of {info['num_trials']} trials done · {current_trial_text(snapshot)}")
    st.caption(f"Study in {info['storage']} · started by {snapshot.owner.name} · "
               f"{format_duration(snapshot.elapsed_seconds)} so far")
    trials_view(snapshot)
    best_model_link(info["trials"])


def current_trial_text(snapshot):
    """'trial 3: epoch 2 of 5 · batch 40 of 70', or what the job is doing."""
    number = snapshot.sweep.get("current_trial")
    here = [trial for trial in snapshot.sweep["trials"] if trial["number"] == number and trial["state"] == "running"]
    if not (here and snapshot.epoch):
        return progress_text(snapshot)
    trial = here[0]
    return (f"trial {trial['number']}: epoch {snapshot.epoch} of {trial['params'].get('epochs', '?')} · "
            f"batch {snapshot.batch} of {snapshot.batches_per_epoch}")


def best_model_link(trials):
    kept = [trial for trial in trials if trial["model_id"] and trial["state"] == "complete"]
    if not kept:
        return
    best = max(kept, key=lambda trial: trial["val_accuracy"][-1] if trial["val_accuracy"] else -math.inf)
    # The page path is relative to digit_app/ui, as in navigation.py.
    st.page_link("models.py", label=f"Open the best model, {best['model_id']}, on the Models page",
                 icon=":material/inventory_2:", query_params={"model": best["model_id"]})


def sweep_results(snapshot):
    info = snapshot.sweep
    st.subheader(f"Last sweep: {info['study']}")
    if snapshot.state == jobs.FAILED:
        st.error(snapshot.error.replace("\n", "  \n"), icon=":material/error:")
    else:
        done = sum(trial["state"] in ("complete", "pruned") for trial in info["trials"])
        ended = "Stopped" if snapshot.state == jobs.STOPPED else "Finished"
        st.success(f"{ended} after {format_duration(snapshot.elapsed_seconds)}: {done} of "
                   f"{info['num_trials']} trials done.", icon=":material/check_circle:")
    trials_view(snapshot)
    best_model_link(info["trials"])
