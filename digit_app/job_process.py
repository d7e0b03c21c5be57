"""The process of one job: `python -m digit_app.job_process <job folder>` (started by digit_app.jobs).

In order: lower this process's CPU priority; wait until every older job has ended (the queue);
take the one job slot; check that the store can take a model; limit TensorFlow's threads; then
train, save, and write the result. Progress goes to progress.json about twice a second.
SIGTERM (Stop) ends training after the current batch, or leaves the queue.
"""

import fcntl
import math
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from digit_app import fine_tune, jobs
from digit_app.curves import batch_point
from digit_app.evaluation import figures_on_test_set
from digit_app.model_store import ModelStore, StoreNotWritable
from digit_app.settings import HISTORY_KEYS, TrainingSettings

# Above the server's priority (0): the scheduler gives the server the CPU first, so drawings are
# read at once while a job trains on what is left.
NICENESS = 15
# TensorFlow uses every core by default; half of them leaves the server a core of its own.
TENSORFLOW_THREADS = max(1, (os.cpu_count() or 2) // 2)
WRITE_INTERVAL_SECONDS = 0.5
QUEUE_POLL_SECONDS = 0.5
SLOT_LOCK = "slot.lock"
_TERMINAL_CODES = __import__("re").compile(r"\x1b\[[0-9;]*m")  # Keras colours its errors for terminals


class Progress:
    """What the pages read, written to progress.json at most every WRITE_INTERVAL_SECONDS (and at
    once for what matters: a phase, an epoch's end)."""

    def __init__(self, folder, stop_event):
        self.path = Path(folder) / jobs.PROGRESS
        self.stop_event = stop_event
        self.data = {"state": jobs.QUEUED, "phase": "Queued", "epoch": 0, "batch": 0, "batches_per_epoch": 0,
                     "batch_points": [], "validation_points": [], "history": {key: [] for key in HISTORY_KEYS},
                     "seconds_left": None}
        self._written = 0.0
        self._first_batch = None  # (monotonic time, batches done) at the first batch, for the rate

    def write(self, force=True):
        now = time.monotonic()
        if force or now - self._written >= WRITE_INTERVAL_SECONDS:
            self.data["written_at"] = time.time()
            jobs.write_json(self.path, self.data)
            self._written = now

    def set(self, **fields):
        self.data.update(fields)
        self.write()

    def start_run(self, trial=None):
        """A new training run within the job (a sweep's next trial): fresh curves and time left."""
        self.data.update(epoch=0, batch=0, batches_per_epoch=0, batch_points=[], validation_points=[], seconds_left=None,
                         history={key: [] for key in HISTORY_KEYS}, trial=trial, phase="Preparing the trial")
        self._first_batch = None

    def on_batch_end(self, progress):
        data = self.data
        if data["epoch"] == 0:
            data["phase"] = "Training"
        ends = jobs.training_ends_with(progress, self.stop_event.is_set())
        if ends:
            data["phase"] = jobs.CHECKING  # what train() does next; without this the page said nothing new
        data.update(epoch=progress["epoch"], batch=progress["batch"], batches_per_epoch=progress["batches"],
                    batch_loss=_finite(progress["loss"]), batch_accuracy=_finite(progress["accuracy"]))
        if progress.get("chart_point"):
            data["batch_points"].append(_finite_point(batch_point(progress)))
        self._update_time_left(progress)
        self.write(force=ends)  # a new phase is written at once, or the page could miss it

    def _update_time_left(self, progress):
        # The rate is measured from the first batch on: that one also pays for building the graph.
        now = time.monotonic()
        done = (progress["epoch"] - 1) * progress["batches"] + progress["batch"]
        if self._first_batch is None:
            self._first_batch = (now, done)
            return
        first_time, first_done = self._first_batch
        if done > first_done:
            seconds_per_batch = (now - first_time) / (done - first_done)
            self.data["seconds_left"] = seconds_per_batch * (progress["epochs"] * progress["batches"] - done)

    def on_validation(self, point):
        self.data["validation_points"].append(_finite_point(point))
        self.write(force=False)

    def on_epoch_end(self, epoch, logs):
        for key in HISTORY_KEYS:
            self.data["history"][key].append(_finite(logs[key]))
        self.write()


def _finite(value):
    """JSON has no NaN: a missing figure is null."""
    value = float(value)
    return value if math.isfinite(value) else None


def _finite_point(point):
    return [_finite(value) for value in point]


def wait_in_queue(job, progress, stop_event):
    """Wait until every job started before this one has ended; returns False if stopped meanwhile."""
    manager = jobs.JobManager(root=job.folder.parent)
    while not stop_event.is_set():
        ahead = [other for other in manager.active_jobs() if other.job_id < job.job_id]
        if not ahead:
            return True
        progress.write()  # keeps written_at fresh: the page can tell a waiting job from a stuck one
        stop_event.wait(QUEUE_POLL_SECONDS)
    return False


def limit_tensorflow_threads():
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(TENSORFLOW_THREADS)
    tf.config.threading.set_inter_op_parallelism_threads(TENSORFLOW_THREADS)


def load_data(folder):
    from digit_app.data import Mnist, load_mnist

    path = Path(folder) / jobs.DATA
    if not path.exists():
        return load_mnist()
    with np.load(path) as arrays:
        return Mnist(**{name: arrays[name] for name in Mnist._fields})


def save_with_test_figures(training, metadata, data, model_store, progress, folder):
    """Save a TrainingResult's model with its confusion matrix and mistakes beside the job; returns
    the result fields: its test figures and model id."""
    progress.set(phase=jobs.CHECKING)
    matrix, mistakes = figures_on_test_set(training.test_probabilities, data.x_test, data.y_test)
    progress.set(phase=jobs.SAVING)
    model_id = model_store.save(training.model, metadata)
    np.savez(Path(folder) / jobs.ARRAYS, confusion_matrix=matrix, images=mistakes.images,
             predicted=mistakes.predicted, true=mistakes.true, confidence=mistakes.confidence)
    return {"test_accuracy": training.test_accuracy, "test_loss": training.test_loss, "model_id": model_id}


def load_drawings(folder, spec):
    """The user's drawings to train on: as the page gave them, else from the drawings database."""
    from digit_app.drawing_store import DrawingStore

    path = Path(folder) / jobs.DRAWINGS
    if path.exists():
        with np.load(path) as arrays:
            return arrays["images"], arrays["labels"]
    return DrawingStore(spec["drawings_path"]).training_arrays()


def run_training(spec, settings, folder, model_store, progress, stop_event):
    from digit_app.training import train

    progress.set(phase="Loading MNIST")
    data = load_data(folder)
    progress.set(phase="Preparing the data and the network")
    drawings = load_drawings(folder, spec) if spec.get("include_drawings") else None
    if stop_event.is_set():
        return jobs.STOPPED, {}  # stopped while loading: nothing to train, test or save
    result = train(settings, on_batch_end=progress.on_batch_end, on_epoch_end=progress.on_epoch_end,
                   on_validation=progress.on_validation, stop_event=stop_event, drawings=drawings, data=data)
    fields = {}
    if result.epochs_completed >= 1:
        fields = save_with_test_figures(result, result.metadata(jobs.SOURCE), data, model_store, progress, folder)
    return (jobs.STOPPED if result.stopped_early else jobs.FINISHED), fields


def run_fine_tune(spec, settings, folder, model_store, progress, stop_event):
    from digit_app.drawing_store import DrawingStore

    progress.set(phase="Loading MNIST, the model and your drawings")
    data = load_data(folder)
    base_model = model_store.load(spec["base_model_id"])
    drawings = DrawingStore(spec["drawings_path"], owner=spec.get("drawings_owner"))
    split = drawings.split_for_evaluation(spec["evaluation_fraction"], settings.seed)
    progress.set(phase="Scoring the model as it is, then fine-tuning it")
    result = fine_tune.fine_tune(
        base_model, split, settings, base_model_id=spec["base_model_id"], data=data,
        on_batch_end=progress.on_batch_end, on_epoch_end=progress.on_epoch_end, on_validation=progress.on_validation,
        stop_event=stop_event,
    )
    fields = {}
    if result.epochs_completed >= 1:
        fields = {"fine_tune": result.scores.__dict__, **save_with_test_figures(
            result.training, result.metadata(jobs.FINE_TUNE_SOURCE), data, model_store, progress, folder)}
    return (jobs.STOPPED if result.stopped_early else jobs.FINISHED), fields


def run_sweep(spec, settings, folder, model_store, progress, stop_event):
    from digit_app import sweep

    sweep_settings = sweep.SweepSettings.from_dict(spec["sweep"])
    progress.set(phase="Loading MNIST")
    data = load_data(folder)
    progress.set(phase="Training", sweep={**sweep_settings.describe(), "trials": []})
    study = sweep.run_sweep(
        sweep_settings, model_store, data=data, stop_event=stop_event,
        on_trial_start=lambda number, trial_settings: progress.start_run(trial=number),
        on_batch_end=progress.on_batch_end, on_epoch_end=progress.on_epoch_end,
        on_trials_changed=lambda trials: progress.set(sweep={**sweep_settings.describe(), "trials": trials}),
    )
    best = sweep.best_saved_model(study, model_store)
    return (jobs.STOPPED if stop_event.is_set() else jobs.FINISHED), {"best_model_id": best}


RUNNERS = {jobs.TRAINING: run_training, jobs.FINE_TUNING: run_fine_tune, jobs.SWEEP: run_sweep}


def run(folder):
    folder = Path(folder)
    job = jobs.open_job(folder)
    spec = job.spec()
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_event.set())
    os.nice(NICENESS)
    progress = Progress(folder, stop_event)
    progress.write()
    if not wait_in_queue(job, progress, stop_event):
        return jobs.STOPPED, {"error": None, "left_queue": True}
    with open(Path(spec["jobs_dir"]) / SLOT_LOCK, "w") as slot:
        fcntl.flock(slot, fcntl.LOCK_EX)  # the queue orders the jobs; the lock makes sure of it
        progress.set(state=jobs.RUNNING, phase="Starting", running_since=time.time())
        model_store = ModelStore(spec["models_dir"])
        model_store.remove_leftover_temporary_files()
        model_store.check_writable()  # before any training: a model that cannot be saved is lost
        limit_tensorflow_threads()
        settings = TrainingSettings(**spec["settings"])
        return RUNNERS[job.kind](spec, settings, folder, model_store, progress, stop_event)


def main(folder):
    what = jobs.open_job(folder).title
    try:
        state, fields = run(folder)
        result = {"state": state, "error": None, **fields}
    except Exception as error:  # the job must end in a state the page can show, whatever failed
        traceback.print_exc()
        message = _TERMINAL_CODES.sub("", str(error))
        if isinstance(error, StoreNotWritable):
            result = {"state": jobs.FAILED, "error": f"{what} did not start: {message}"}
        else:
            result = {"state": jobs.FAILED, "error": f"{what} failed: {type(error).__name__}: {message}"}
    result["ended_at"] = time.time()
    jobs.write_json(Path(folder) / jobs.RESULT, result)
    print(f"job ended: {result['state']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
