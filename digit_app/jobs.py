"""Training in the background: one job per server process, with progress any page can poll.

The Train page starts a `TrainingJob`, which runs `digit_app.training.train` in a daemon
thread, so that the job survives reruns, page switches and tab reloads: the page only draws
`snapshot()`, a plain copy of the job's progress. A second start while a job runs is refused
with `JobAlreadyRunning`; the page then shows the running job's progress instead.

How a job ends:
- finished: the model is saved in the store (not activated: the user decides on the Train
  page), with its test accuracy, confusion matrix and a few misclassified test digits.
- stopped: `stop()` ends training after the current batch. The model is saved only if at least
  one whole epoch completed: it is then a real, if short, training run, and its history holds
  the whole epochs. A model stopped within its first epoch is discarded.
- failed: the error text is kept (e.g. MNIST missing); nothing is saved, the active model is
  untouched.

Environment: DIGIT_APP_TRAIN_LIMIT (a whole number, 20 to 60000) trains the Train page's jobs on
the first that many MNIST training digits only: for tests and slow machines. The test set stays
the full 10,000 digits.

The My drawings page starts a `FineTuneJob` in the same one-job slot (`start_fine_tune`): it
fine-tunes a stored model on the user's drawings (digit_app.personalize) with the same progress,
stop and saving rules, and its snapshot also holds the before/after figures (`fine_tune`).
"""

import dataclasses
import logging
import math
import os
import re
import threading
import time

import numpy as np

from digit_app import personalize, store
from digit_app.data import load_mnist
from digit_app.settings import HISTORY_KEYS, TrainingSettings
from digit_app.training import to_model_input, train

TRAIN_LIMIT_ENV_VAR = "DIGIT_APP_TRAIN_LIMIT"
SOURCE = "app: Train page"
FINE_TUNE_SOURCE = "app: My drawings page (fine-tuned on the user's drawings)"
NUM_MISCLASSIFIED = 24
PREDICT_BATCH_SIZE = 1024
POINTS_PER_EPOCH = 100  # running-loss points kept per epoch for the live chart
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;]*m")  # Keras colours its errors for terminals

RUNNING, FINISHED, STOPPED, FAILED = "running", "finished", "stopped", "failed"
# The phases after the last batch, and the one between Stop and the end of the current batch.
STOPPING = "Stopping after the current batch"
CHECKING = "Checking the model on the test set"
SAVING = "Saving the model"
AFTER_TRAINING_PHASES = (CHECKING, SAVING)
TRAINING, FINE_TUNING = "training", "fine-tuning"  # the kinds of job

_log = logging.getLogger(__name__)


class JobAlreadyRunning(RuntimeError):
    """A training job is running in this server process; there is one at a time."""


def train_limit_from_environment():
    """max_train_samples from DIGIT_APP_TRAIN_LIMIT, or None when it is not set."""
    text = os.environ.get(TRAIN_LIMIT_ENV_VAR, "").strip()
    if not text:
        return None
    fix = "fix or unset it and restart the app"
    try:
        limit = int(text)
    except ValueError:
        raise ValueError(
            f"{TRAIN_LIMIT_ENV_VAR} must be a whole number of training digits, got {text!r}; {fix}."
        ) from None
    try:
        TrainingSettings(max_train_samples=limit)  # the one place that knows the limits
    except ValueError as error:
        raise ValueError(f"{TRAIN_LIMIT_ENV_VAR}: {error} Then {fix}.") from None
    return limit


@dataclasses.dataclass(frozen=True)
class Misclassified:
    images: np.ndarray  # (N, 28, 28) uint8 test digits
    predicted: np.ndarray  # (N,) what the model read
    true: np.ndarray  # (N,) the label
    confidence: np.ndarray  # (N,) the model's probability for its (wrong) reading


@dataclasses.dataclass(frozen=True)
class JobSnapshot:
    """A copy of a job's progress at one moment; safe to keep and read from any thread."""

    state: str
    phase: str  # what the job is doing now, in words, e.g. "Loading MNIST"
    settings: TrainingSettings
    epoch: int  # the epoch in progress (1-based); 0 before the first batch
    batch: int  # the last batch done within that epoch (1-based)
    batches_per_epoch: int
    batch_loss: float  # running loss and accuracy within the current epoch
    batch_accuracy: float
    batch_points: list  # (fractional epoch, running loss, running accuracy), for the live chart
    history: dict  # HISTORY_KEYS -> one value per completed epoch
    started_at: float  # time.time() when the job started
    elapsed_seconds: float
    seconds_left: float | None  # None until it can be estimated
    test_accuracy: float | None = None
    test_loss: float | None = None
    model_id: str | None = None  # the saved model, if any
    confusion_matrix: np.ndarray | None = None  # [true digit, predicted digit] -> count
    misclassified: Misclassified | None = None
    error: str | None = None
    kind: str = TRAINING
    fine_tune: personalize.FineTuneFigures | None = None  # a fine-tune's before/after figures, once it ends

    @property
    def running(self):
        return self.state == RUNNING

    @property
    def epochs_completed(self):
        return len(self.history["loss"])

    @property
    def fraction_done(self):
        if not self.batches_per_epoch:
            return 0.0
        done = (self.epoch - 1) * self.batches_per_epoch + self.batch if self.epoch else 0
        return min(1.0, done / (self.settings.epochs * self.batches_per_epoch))

    @property
    def progress_text(self):
        """'Epoch 2 of 5 · batch 40 of 422 · about 1 min 05 s left', or what the job is doing."""
        if not (self.epoch and self.phase == "Training"):
            return f"{self.phase}…"
        text = f"Epoch {self.epoch} of {self.settings.epochs} · batch {self.batch} of {self.batches_per_epoch}"
        if self.seconds_left is not None:
            text += f" · about {format_duration(self.seconds_left)} left"
        return text


def _training_ends_with(progress, stop_requested):
    """Whether the batch just done is the last: the last of the last epoch, or any once Stop was
    pressed (train() stops after it)."""
    last_batch = progress["epoch"] == progress["epochs"] and progress["batch"] == progress["batches"]
    return stop_requested or last_batch


def format_duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def confusion_matrix(true_labels, predicted_labels, num_classes=10):
    """counts[true, predicted]."""
    pairs = np.asarray(true_labels, np.int64) * num_classes + np.asarray(predicted_labels, np.int64)
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def most_common_mistakes(matrix, count=3):
    """[(true digit, predicted digit, times)] of the largest off-diagonal cells, largest first."""
    matrix = np.asarray(matrix)
    mistakes = [
        (true, predicted, int(matrix[true, predicted]))
        for true in range(len(matrix))
        for predicted in range(len(matrix))
        if true != predicted and matrix[true, predicted] > 0
    ]
    return sorted(mistakes, key=lambda mistake: -mistake[2])[:count]


def evaluate_on_test_set(model, x_test, y_test, num_misclassified=NUM_MISCLASSIFIED):
    """(confusion matrix, the most confident mistakes) of a model on the test set."""
    probabilities = model.predict(to_model_input(x_test), batch_size=PREDICT_BATCH_SIZE, verbose=0)
    predicted = probabilities.argmax(axis=1)  # 10 is "not a digit", on a model that can answer it
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_test)
    # The mistakes the model was surest of are the ones worth showing: often they are odd or mislabelled digits.
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:num_misclassified]
    mistakes = Misclassified(
        images=_read_only(np.array(x_test[chosen], np.uint8)),
        predicted=_read_only(predicted[chosen]),
        true=_read_only(np.array(y_test)[chosen]),
        confidence=_read_only(confidence[chosen]),
    )
    return _read_only(confusion_matrix(y_test, predicted, num_classes=probabilities.shape[1])), mistakes


def _read_only(array):
    """Every snapshot shares the results of a job that ended: nobody may change them."""
    array.flags.writeable = False
    return array


class TrainingJob:
    """One training run in a daemon thread. Progress is written under a lock by the training
    thread and read as a `JobSnapshot` copy by the pages."""

    kind = TRAINING

    def __init__(self, settings: TrainingSettings, model_store: store.ModelStore, data=None, drawings=None):
        self.settings = settings
        self.model_store = model_store
        self.data = data  # an Mnist to use instead of load_mnist(), for tests
        self.drawings = drawings  # (images uint8, labels) of the user's drawings to train on too
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="digit_app training job", daemon=True)
        self._state = RUNNING
        self._phase = "Starting"
        self._epoch = self._batch = self._batches_per_epoch = 0
        self._batch_loss = self._batch_accuracy = math.nan
        self._batch_points = []
        self._history = {key: [] for key in HISTORY_KEYS}
        self._started_at = time.time()
        self._started_monotonic = time.monotonic()
        self._ended_monotonic = None
        self._first_batch = None  # (monotonic time, batches done) at the first batch, for the rate
        self._seconds_left = None
        self._seconds_left_at = None
        self._results = {}

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        """Ask training to end after the current batch; returns at once."""
        self._stop_event.set()
        with self._lock:
            if self._state == RUNNING and self._phase not in AFTER_TRAINING_PHASES:
                self._phase = STOPPING

    def join(self, timeout=None):
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self):
        with self._lock:
            return self._state == RUNNING

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            now = time.monotonic()
            seconds_left = None
            if self._state == RUNNING and self._seconds_left is not None:
                seconds_left = max(0.0, self._seconds_left - (now - self._seconds_left_at))
            return JobSnapshot(
                state=self._state,
                phase=self._phase,
                settings=self.settings,
                epoch=self._epoch,
                batch=self._batch,
                batches_per_epoch=self._batches_per_epoch,
                batch_loss=self._batch_loss,
                batch_accuracy=self._batch_accuracy,
                batch_points=list(self._batch_points),
                history={key: list(values) for key, values in self._history.items()},
                started_at=self._started_at,
                elapsed_seconds=(self._ended_monotonic or now) - self._started_monotonic,
                seconds_left=seconds_left,
                kind=self.kind,
                **self._results,  # written once, when the job ends, and never changed after
            )

    # --- the training thread ---

    def _run(self):
        try:
            self._end(*self._work())
        except Exception as error:  # the job must end in a state the page can show, whatever failed
            _log.exception("%s job failed", self.kind)
            message = _TERMINAL_CODES.sub("", str(error))
            what = "Fine-tuning" if self.kind == FINE_TUNING else "Training"
            self._end(FAILED, {"error": f"{what} failed: {type(error).__name__}: {message}"})

    def _work(self):
        """Train, and save the model if it is worth keeping; returns (end state, results)."""
        self._set_phase("Loading MNIST")
        data = self.data if self.data is not None else load_mnist()
        self._set_phase("Preparing the data and the network")
        extra_examples, extra_metadata = None, {}
        if self.drawings is not None:
            extra_examples, extra_metadata = personalize.weighted_drawings(
                *self.drawings, self.settings, len(data.x_train)
            )
        result = train(
            self.settings,
            on_batch_end=self._on_batch_end,
            on_epoch_end=self._on_epoch_end,
            stop_event=self._stop_event,
            extra_examples=extra_examples,
            data=data,
        )
        results = {"test_accuracy": result.test_accuracy, "test_loss": result.test_loss}
        if result.epochs_completed >= 1:
            metadata = {**result.metadata(SOURCE), **extra_metadata}
            results.update(self._check_and_save(result.model, metadata, data))
        return (STOPPED if result.stopped_early else FINISHED), results

    def _check_and_save(self, model, metadata, data):
        self._set_phase(CHECKING)
        matrix, mistakes = evaluate_on_test_set(model, data.x_test, data.y_test)
        self._set_phase(SAVING)
        model_id = self.model_store.save(model, metadata)
        return {"model_id": model_id, "confusion_matrix": matrix, "misclassified": mistakes}

    def _set_phase(self, phase):
        with self._lock:
            self._phase = phase

    def _on_batch_end(self, progress):
        now = time.monotonic()
        with self._lock:
            if self._epoch == 0 and not self._stop_event.is_set():
                self._phase = "Training"
            if _training_ends_with(progress, self._stop_event.is_set()):
                self._phase = CHECKING  # what train() does next; without this the page said nothing new
            self._epoch, self._batch = progress["epoch"], progress["batch"]
            self._batches_per_epoch = progress["batches"]
            self._batch_loss, self._batch_accuracy = progress["loss"], progress["accuracy"]
            batches = progress["batches"]
            stride = max(1, batches // POINTS_PER_EPOCH)
            if progress["batch"] % stride == 0 or progress["batch"] == batches:
                fractional_epoch = progress["epoch"] - 1 + progress["batch"] / batches
                self._batch_points.append((fractional_epoch, progress["loss"], progress["accuracy"]))
            self._update_time_left(now, progress)

    def _update_time_left(self, now, progress):
        # The rate is measured from the first batch on: that one also pays for building the graph.
        done = (progress["epoch"] - 1) * progress["batches"] + progress["batch"]
        if self._first_batch is None:
            self._first_batch = (now, done)
            return
        first_time, first_done = self._first_batch
        if done > first_done:
            seconds_per_batch = (now - first_time) / (done - first_done)
            self._seconds_left = seconds_per_batch * (progress["epochs"] * progress["batches"] - done)
            self._seconds_left_at = now

    def _on_epoch_end(self, epoch, logs):
        with self._lock:
            for key in HISTORY_KEYS:
                self._history[key].append(logs[key])

    def _end(self, state, results):
        with self._lock:
            self._state = state
            self._phase = {FINISHED: "Finished", STOPPED: "Stopped", FAILED: "Failed"}[state]
            self._results = results
            self._ended_monotonic = time.monotonic()


class FineTuneJob(TrainingJob):
    """Fine-tunes a stored model on the user's drawings (digit_app.personalize.fine_tune) in the
    same one-job slot, with the same progress, stop and saving rules as a training job. At the end
    the snapshot's `fine_tune` holds the before/after figures; the model is saved, not activated."""

    kind = FINE_TUNING

    def __init__(
        self,
        base_model_id,
        drawing_store,
        model_store: store.ModelStore,
        data=None,
        *,
        epochs=personalize.DEFAULT_EPOCHS,
        learning_rate=personalize.DEFAULT_LEARNING_RATE,
        mnist_samples=personalize.DEFAULT_MNIST_SAMPLES,
        evaluation_fraction=personalize.DEFAULT_EVALUATION_FRACTION,
        seed=0,
        handwriting=True,
    ):
        architecture = model_store.metadata(base_model_id).get("architecture")
        settings = personalize.fine_tune_settings(
            architecture, epochs=epochs, learning_rate=learning_rate, mnist_samples=mnist_samples, seed=seed,
            handwriting=handwriting,
        )
        super().__init__(settings, model_store, data)
        self.base_model_id = base_model_id
        self.drawing_store = drawing_store  # a digit_app.drawings.DrawingStore
        self.evaluation_fraction = evaluation_fraction

    def _work(self):
        self._set_phase("Loading MNIST, the model and your drawings")
        data = self.data if self.data is not None else load_mnist()
        base_model = self.model_store.load(self.base_model_id)
        self._set_phase("Scoring the model as it is, then fine-tuning it")
        result = personalize.fine_tune(
            base_model,
            self.drawing_store,
            base_model_id=self.base_model_id,
            architecture=self.settings.architecture,
            data=data,
            on_batch_end=self._on_batch_end,
            on_epoch_end=self._on_epoch_end,
            stop_event=self._stop_event,
            epochs=self.settings.epochs,
            learning_rate=self.settings.learning_rate,
            mnist_samples=self.settings.max_train_samples,
            evaluation_fraction=self.evaluation_fraction,
            seed=self.settings.seed,
            handwriting=self.settings.handwriting,
        )
        results = {"test_accuracy": result.training.test_accuracy, "test_loss": result.training.test_loss,
                   "fine_tune": result.figures}
        if result.epochs_completed >= 1:
            results.update(self._check_and_save(result.model, result.metadata(FINE_TUNE_SOURCE), data))
        return (STOPPED if result.stopped_early else FINISHED), results


class JobManager:
    """Holds the one job of this server process; the last job stays readable after it ends."""

    def __init__(self):
        self._lock = threading.Lock()
        self._job = None

    def start(self, settings: TrainingSettings, *, model_store=None, data=None, drawings=None) -> TrainingJob:
        return self.start_job(TrainingJob(settings, model_store or store.default_store, data, drawings))

    def start_job(self, job: TrainingJob) -> TrainingJob:
        """Start a job made by the caller (a TrainingJob or a FineTuneJob), unless one is running."""
        with self._lock:
            if self._job is not None and self._job.running:
                snapshot = self._job.snapshot()
                raise JobAlreadyRunning(
                    f"A training job is already running ({snapshot.settings.architecture}, "
                    f"epoch {max(snapshot.epoch, 1)} of {snapshot.settings.epochs}); "
                    "wait for it to end or stop it, then start a new one."
                )
            self._job = job.start()
            return job

    def current(self) -> TrainingJob | None:
        with self._lock:
            return self._job

    def snapshot(self) -> JobSnapshot | None:
        job = self.current()
        return job.snapshot() if job is not None else None

    def stop(self):
        """Stop the running job, if any; returns whether there was one."""
        job = self.current()
        if job is None or not job.running:
            return False
        job.stop()
        return True


_manager = JobManager()  # the server process's one job; tests may replace it


def start(settings: TrainingSettings, *, model_store=None, data=None, drawings=None) -> TrainingJob:
    return _manager.start(settings, model_store=model_store, data=data, drawings=drawings)


def start_fine_tune(base_model_id, drawing_store, *, model_store=None, data=None, **options) -> FineTuneJob:
    """Fine-tune a stored model on the user's drawings in the background (see FineTuneJob for
    the options)."""
    job = FineTuneJob(base_model_id, drawing_store, model_store or store.default_store, data, **options)
    return _manager.start_job(job)


def current() -> TrainingJob | None:
    return _manager.current()


def snapshot() -> JobSnapshot | None:
    return _manager.snapshot()


def stop():
    return _manager.stop()
