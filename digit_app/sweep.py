"""Sweeps: many trainings over a range of settings, run as an Optuna study.

Every trial calls the same `train()` as the Train page and `train.py`, with settings drawn from
the ranges of a `SweepSettings`: architecture, learning rate, batch size, epochs and augmentation
strength. Each epoch's validation accuracy is reported to Optuna through train()'s per-epoch
callback, and a trial below the median of earlier trials at the same epoch is pruned there.

The best `keep_best` models of a study (by validation accuracy at their last epoch) are saved in
the model store as `<study>-trial-<n>`, with the trial's parameters in their metadata; a model
that drops out of the best few is deleted, and the rest are never saved.

Where the study lives:
- by default, in a journal file beside the models (<models>/sweeps.journal, Optuna's
  JournalStorage with a file backend): no server needed, and any number of processes on this
  machine can work on the same study;
- with `storage` set to a database URL (postgresql://... or mysql://...), in that database: any
  number of machines that can reach it run the same study, each taking the next trial.

The study ends when it holds `num_trials` trials that completed or were pruned, whoever ran them:
a worker checks before it takes a trial, and gives back (as failed, marked "surplus") a trial
that another worker took first.
"""

import dataclasses
import datetime
import os
import socket
import time

from digit_app.model_store import ModelStore, validate_id
from digit_app.architectures import ARCHITECTURES
from digit_app.settings import MAX_AUGMENT_STRENGTH, MAX_BATCH_SIZE, MAX_EPOCHS, TrainingSettings

JOURNAL_FILE = "sweeps.journal"
DEFAULT_NUM_TRIALS = 20
DEFAULT_LEARNING_RATES = (1e-4, 1e-2)  # drawn on a log scale
DEFAULT_BATCH_SIZES = (32, 64, 128, 256)
DEFAULT_EPOCHS = (2, 8)
DEFAULT_AUGMENT_STRENGTHS = (0.0, 1.0)  # in steps of AUGMENT_STEP; 0 trains on the digits as they are
AUGMENT_STEP = 0.25
DEFAULT_KEEP_BEST = 3
PRUNER_STARTUP_TRIALS = 3
PRUNER_WARMUP_EPOCHS = 2  # the first epoch says too little: a trial can be pruned from its second on
TAKEN_STATES = ("RUNNING", "COMPLETE", "PRUNED")  # a trial in these counts towards num_trials
SOURCE = "sweep"
# Workers that open a new database together race to create Optuna's tables there; the losers try again.
DATABASE_OPEN_ATTEMPTS = 5


def default_study_name():
    return "sweep-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S")


@dataclasses.dataclass(frozen=True)
class SweepSettings:
    """What a sweep tries. `base` holds every other training setting (seed, validation fraction,
    training digits...), passed whole to each trial with the drawn values replaced."""

    num_trials: int = DEFAULT_NUM_TRIALS
    architectures: tuple = tuple(ARCHITECTURES)
    learning_rates: tuple = DEFAULT_LEARNING_RATES  # (lowest, highest)
    batch_sizes: tuple = DEFAULT_BATCH_SIZES
    epochs: tuple = DEFAULT_EPOCHS  # (fewest, most)
    augment_strengths: tuple = DEFAULT_AUGMENT_STRENGTHS  # (lowest, highest)
    keep_best: int = DEFAULT_KEEP_BEST
    study: str = ""  # "" -> a new study named after the date and time
    storage: str | None = None  # a database URL; None -> the journal file beside the models
    base: TrainingSettings = TrainingSettings()

    def __post_init__(self):
        object.__setattr__(self, "study", self.study or default_study_name())
        for name in ("architectures", "learning_rates", "batch_sizes", "epochs", "augment_strengths"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _check(1 <= self.num_trials <= 10_000, "Trials", "a whole number from 1 to 10000", self.num_trials)
        _check(1 <= self.keep_best <= 100, "Models to keep", "a whole number from 1 to 100", self.keep_best)
        unknown = [name for name in self.architectures if name not in ARCHITECTURES]
        _check(self.architectures and not unknown, "Architectures", f"some of {', '.join(ARCHITECTURES)}",
               self.architectures)
        _check(self.batch_sizes and all(1 <= size <= MAX_BATCH_SIZE for size in self.batch_sizes),
               "Batch sizes", f"whole numbers from 1 to {MAX_BATCH_SIZE}", self.batch_sizes)
        _check_range("Learning rates", self.learning_rates, 1e-6, 1.0)
        _check_range("Epochs", self.epochs, 1, MAX_EPOCHS)
        _check_range("Augmentation strengths", self.augment_strengths, 0.0, MAX_AUGMENT_STRENGTH)
        try:
            validate_id(f"{self.study}-trial-0")
        except ValueError:
            raise ValueError(
                f"Study name {self.study!r} cannot name its models: use letters, digits, '-', '_' or '.', "
                "starting with a letter or digit, up to 60 characters."
            ) from None

    def to_dict(self):
        return {**dataclasses.asdict(self), "base": self.base.to_dict()}

    @classmethod
    def from_dict(cls, data):
        return cls(**{**data, "base": TrainingSettings(**data["base"])})

    def describe(self):
        """The plain facts a page shows about the sweep."""
        return {"study": self.study, "num_trials": self.num_trials, "storage": self.storage or JOURNAL_FILE,
                "keep_best": self.keep_best}


def _check(condition, name, expected, value):
    if not condition:
        raise ValueError(f"{name} must be {expected}, got {value!r}.")


def _check_range(name, values, low, high):
    _check(len(values) == 2 and low <= values[0] <= values[1] <= high, name,
           f"a (lowest, highest) pair within {low} to {high}", values)


def storage_for(settings, model_store):
    """The Optuna storage: the database URL, or the journal file beside the models."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    if settings.storage:
        return database_storage(settings.storage)
    model_store.root.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(model_store.root / JOURNAL_FILE)))


def database_storage(url):
    """Optuna's RDBStorage on a database URL. The first worker on a new database creates Optuna's
    tables there; a second that starts at the same moment tries to create them too and fails on a
    duplicate key or an existing table. It waits a moment and tries again: then it finds them."""
    import optuna
    import sqlalchemy.exc

    for attempt in range(1, DATABASE_OPEN_ATTEMPTS + 1):
        try:
            return optuna.storages.RDBStorage(url)
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError, optuna.exceptions.StorageInternalError):
            if attempt == DATABASE_OPEN_ATTEMPTS:
                raise
            time.sleep(0.5 * attempt)


def open_study(settings, model_store):
    """Create the study, or join it when another worker has created it already."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=settings.study,
        storage=storage_for(settings, model_store),
        direction="maximize",
        load_if_exists=True,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_EPOCHS),
    )


def suggest_settings(trial, settings):
    """The TrainingSettings of one trial: the base settings with the drawn values."""
    strength = trial.suggest_float("augment_strength", *settings.augment_strengths, step=AUGMENT_STEP) \
        if settings.augment_strengths[0] < settings.augment_strengths[1] else settings.augment_strengths[0]
    return dataclasses.replace(
        settings.base,
        architecture=trial.suggest_categorical("architecture", list(settings.architectures)),
        learning_rate=trial.suggest_float("learning_rate", *settings.learning_rates, log=True),
        batch_size=trial.suggest_categorical("batch_size", list(settings.batch_sizes)),
        epochs=trial.suggest_int("epochs", *settings.epochs),
        augment=strength > 0,
        augment_strength=strength if strength > 0 else 1.0,
    )


def _taken(study, before=None):
    """Trials that count towards the study's total, optionally only those numbered below `before`."""
    from optuna.trial import TrialState

    states = tuple(TrialState[name] for name in TAKEN_STATES)
    return [trial for trial in study.get_trials(deepcopy=False, states=states)
            if before is None or trial.number < before]


def trial_rows(study, model_store=None):
    """Every trial as a plain dict, for pages and progress files (surplus trials left out)."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("surplus"):
            continue
        model_id = trial.user_attrs.get("model_id")
        if model_id and model_store is not None and not model_store.exists(model_id):
            model_id = None  # it dropped out of the best few
        rows.append({
            "number": trial.number,
            "state": trial.state.name.lower(),
            "params": dict(trial.params),
            "value": trial.value,
            "val_accuracy": [trial.intermediate_values[step] for step in sorted(trial.intermediate_values)],
            "model_id": model_id,
            "worker": trial.user_attrs.get("worker"),
        })
    return rows


class SweepStopped(Exception):
    """Stop was asked during a trial: it ends as failed, and is taken again by the next worker."""


def run_sweep(settings: SweepSettings, model_store=None, *, data=None, stop_event=None, on_trial_start=None,
              on_batch_end=None, on_epoch_end=None, on_trials_changed=None, worker=None):
    """Work on the study until it holds `num_trials` finished trials or `stop_event` is set.

    Several processes may run this on the same study at once. Callbacks: on_trial_start(number, settings)
    for each trial this worker runs;
    on_batch_end and on_epoch_end as train()'s; on_trials_changed(trial_rows) after each epoch and trial.
    Returns the optuna Study."""
    import optuna
    from optuna.trial import TrialState

    model_store = model_store or ModelStore()
    worker = worker or f"{socket.gethostname()}:{os.getpid()}"
    study = open_study(settings, model_store)
    notify = (lambda: on_trials_changed(trial_rows(study, model_store))) if on_trials_changed else (lambda: None)
    notify()
    while not (stop_event is not None and stop_event.is_set()):
        if len(_taken(study)) >= settings.num_trials:
            break
        trial = study.ask()
        if len(_taken(study, before=trial.number)) >= settings.num_trials:
            trial.set_user_attr("surplus", True)  # another worker took the last trial meanwhile
            study.tell(trial, state=TrialState.FAIL)
            break
        trial.set_user_attr("worker", worker)
        try:
            _run_trial(study, trial, settings, model_store, data, stop_event, on_trial_start, on_batch_end,
                       on_epoch_end, notify)
        except optuna.TrialPruned:
            study.tell(trial, state=TrialState.PRUNED)
        except SweepStopped:
            study.tell(trial, state=TrialState.FAIL)
        except BaseException:
            study.tell(trial, state=TrialState.FAIL)
            raise
        remove_dropped_models(study, settings, model_store)
        notify()
    return study


def _run_trial(study, trial, settings, model_store, data, stop_event, on_trial_start, on_batch_end, on_epoch_end,
               notify):
    import optuna

    from digit_app.training import train

    trial_settings = suggest_settings(trial, settings)
    if on_trial_start:
        on_trial_start(trial.number, trial_settings)
    notify()

    def report_epoch(epoch, logs):
        if on_epoch_end:
            on_epoch_end(epoch, logs)
        trial.report(logs["val_accuracy"], epoch)
        notify()
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation accuracy {logs['val_accuracy']:.4f} at epoch {epoch} is below "
                                     "the median of earlier trials")

    result = train(trial_settings, on_batch_end=on_batch_end, on_epoch_end=report_epoch, stop_event=stop_event,
                   data=data)
    if result.stopped_early:
        raise SweepStopped()
    value = result.history["val_accuracy"][-1]
    trial.set_user_attr("test_accuracy", result.test_accuracy)
    if _ranks_among_best(study, value, trial.number, settings.keep_best):
        model_id = f"{settings.study}-trial-{trial.number}"
        metadata = {
            **result.metadata(f"{SOURCE} {settings.study}, trial {trial.number}"),
            "sweep": {"study": settings.study, "trial": trial.number, "params": dict(trial.params),
                      "validation_accuracy": value, "storage": settings.storage or JOURNAL_FILE},
        }
        model_store.save(result.model, metadata, model_id=model_id)
        trial.set_user_attr("model_id", model_id)
    study.tell(trial, value)


def _rank_key(value, number):
    """Best first; of equal values, the earlier trial: one order for every worker and storage."""
    return (-value, number)


def _ranks_among_best(study, value, number, keep_best):
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    better = [trial for trial in completed if _rank_key(trial.value, trial.number) < _rank_key(value, number)]
    return len(better) < keep_best


def best_trials(study, keep_best, completed=None):
    """The best `keep_best` of the completed trials (read from the study unless given), best first."""
    from optuna.trial import TrialState

    if completed is None:
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return sorted(completed, key=lambda trial: _rank_key(trial.value, trial.number))[:keep_best]


def remove_dropped_models(study, settings, model_store):
    """Delete the saved models of trials that are no longer among the best few. One reading of the
    study decides both: a trial another worker completes in between is judged next time, not
    deleted as "not among the best" that were chosen without it."""
    from optuna.trial import TrialState

    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    best = {trial.number for trial in best_trials(study, settings.keep_best, completed)}
    for trial in completed:
        model_id = trial.user_attrs.get("model_id")
        if trial.number not in best and model_id and model_store.exists(model_id):
            try:
                model_store.delete(model_id)
            except (ValueError, OSError):
                continue  # another worker deleted it first


def best_saved_model(study, model_store):
    """The id of the study's best model that is in the store, or None."""
    for trial in best_trials(study, DEFAULT_KEEP_BEST * 10):
        model_id = trial.user_attrs.get("model_id")
        if model_id and model_store.exists(model_id):
            return model_id
    return None
