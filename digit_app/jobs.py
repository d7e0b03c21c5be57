"""Training jobs as processes: each job runs `train()` in a child process of its own and keeps its
state in a folder that outlives the web server. The pages only read that folder.

A job folder (<models>/jobs/<job id>/; job ids sort by start time) holds:
- spec.json      what to do: kind, owner, and the settings, passed whole (TrainingSettings.to_dict())
- process.json   the child's pid and kernel start time, to tell whether it still runs
- progress.json  rewritten by the child about twice a second: phase, epoch, batch, history...
- stop.json      written by `stop()`: who asked, and when
- result.json    written once when the job ends: state, error, model id, test accuracy...
- result.npz     the confusion matrix and the misclassified test digits of a saved model
- log.txt        everything the child printed, with the traceback of a failure
- data.npz       optional MNIST arrays to train on instead of the full set (tests, benches)
- drawings.npz   optional: the user's drawings to train on, when the page gives them as arrays

How a job runs (digit_app.job_process): the child lowers its CPU priority and caps TensorFlow's
threads, so that the server stays responsive; it waits its turn in the queue; it checks that the
store can take a model before anything is trained; then it trains, saves and writes its result.
Memory comes back when the process ends.

- One job runs at a time. A job started while another runs is queued: its process waits until every
  older job has ended. `snapshot().queue_position` counts the jobs ahead of it: 1 when it runs next.
- Stop: `stop(job_id)` sends SIGTERM. A running job ends after the current batch; a queued job
  leaves the queue. The model is saved only if at least one whole epoch completed.
- A job whose process is gone without a result is shown as failed, with the reason (the signal that
  killed it when this server started it, else the end of its log); the reason is then written to
  its result.json, so it reads the same after a restart.
- A restarted server finds a running job in the folder and follows it again.

For other pages (roles, messages): a snapshot names its `job_id`, `kind`, `state`, `phase` and the
`owner` who started it (a JobOwner: `name` to show, `session` to compare); `stop_requested_by`
names who asked it to stop. Job ids are folder names; `JobManager.job(job_id)` finds one.

"""

import dataclasses
import datetime
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from digit_app import fine_tune
from digit_app.evaluation import Misclassified
from digit_app.fine_tune import FineTuneScores
from digit_app.settings import HISTORY_KEYS, TrainingSettings, drawings_path

SOURCE = "app: Train page"
FINE_TUNE_SOURCE = "app: My drawings page (fine-tuned on the user's drawings)"
JOBS_FOLDER = "jobs"  # inside the models folder: jobs live and move with the store they save to
KEEP_ENDED_JOBS = 20  # older ended job folders are deleted when a job starts
LOG_TAIL_LINES = 6  # of a dead job's log, shown as its reason
LAUNCH_GRACE_SECONDS = 30  # a job folder without its process's pid this long after its start never got one
REPOSITORY = Path(__file__).resolve().parent.parent
# What TensorFlow prints as it starts whatever TF_CPP_MIN_LOG_LEVEL says: noise in a job's log.
_TENSORFLOW_NOTICE = re.compile(r"^([IWE]\d{4} |WARNING: All log messages|To enable the following instructions)")

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
ENDED = (FINISHED, STOPPED, FAILED)
TRAINING, FINE_TUNING, SWEEP = "training", "fine-tuning", "sweep"  # the kinds of job
# The phases after the last batch, and the one between Stop and the end of the current batch.
STOPPING = "Stopping after the current batch"
CHECKING = "Checking the model on the test set"
SAVING = "Saving the model"
AFTER_TRAINING_PHASES = (CHECKING, SAVING)

SPEC, PROCESS, PROGRESS, STOP, RESULT, ARRAYS, LOG, DATA, DRAWINGS = (
    "spec.json", "process.json", "progress.json", "stop.json", "result.json", "result.npz", "log.txt", "data.npz",
    "drawings.npz",
)


@dataclasses.dataclass(frozen=True)
class JobOwner:
    """Who started a job: `name` is shown to people, `session` tells one browser session from another."""

    name: str = "train.py"
    session: str = ""

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class JobSnapshot:
    """A job's state read from its folder at one moment; a plain value, safe to keep."""

    state: str
    phase: str  # what the job is doing now, in words, e.g. "Loading MNIST"
    settings: TrainingSettings  # a sweep's: the settings every trial starts from
    epoch: int  # the epoch in progress (1-based); 0 before the first batch
    batch: int  # the last batch done within that epoch (1-based)
    batches_per_epoch: int
    batch_loss: float  # running loss and accuracy within the current epoch
    batch_accuracy: float
    batch_points: list  # (fractional epoch, running loss, running accuracy), for the live chart
    history: dict  # HISTORY_KEYS -> one value per completed epoch
    started_at: float  # time.time() when the job was started (queued or not)
    elapsed_seconds: float  # since it began to run; 0 while queued
    seconds_left: float | None  # None until it can be estimated
    test_accuracy: float | None = None
    test_loss: float | None = None
    model_id: str | None = None  # the saved model, if any
    confusion_matrix: np.ndarray | None = None  # [true digit, predicted digit] -> count
    misclassified: Misclassified | None = None
    error: str | None = None
    kind: str = TRAINING
    fine_tune: FineTuneScores | None = None  # a fine-tune's before/after scores, once it ends
    job_id: str = ""
    owner: JobOwner = JobOwner()
    queue_position: int = 0  # jobs ahead of a queued one: 1 when it runs next; 0 when it starts now
    stop_requested_by: str | None = None
    sweep: dict | None = None  # a sweep's study, trial count and trials (see digit_app.sweep)

    @property
    def running(self):
        return self.state == RUNNING

    @property
    def queued(self):
        return self.state == QUEUED

    @property
    def ended(self):
        return self.state in ENDED

    @property
    def epochs_completed(self):
        return len(self.history["loss"])

    @property
    def fraction_done(self):
        if self.sweep:  # a sweep: trials done of its trials
            finished = sum(trial["state"] in ("complete", "pruned") for trial in self.sweep.get("trials", []))
            return min(1.0, finished / max(1, self.sweep["num_trials"]))
        if not self.batches_per_epoch:
            return 0.0
        done = (self.epoch - 1) * self.batches_per_epoch + self.batch if self.epoch else 0
        return min(1.0, done / (self.settings.epochs * self.batches_per_epoch))


def training_ends_with(progress, stop_requested):
    """Whether the batch just done is the last: the last of the last epoch, or any once Stop was
    pressed (train() stops after it)."""
    last_batch = progress["epoch"] == progress["epochs"] and progress["batch"] == progress["batches"]
    return stop_requested or last_batch


# --- files ---


def write_json(path, data):
    """Write atomically: a reader sees the old file or the new one, never half of one."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(data, file)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path):
    """The file's data, or None when it does not exist (yet)."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None


def process_start_ticks(pid):
    """The kernel's start time of a live process (Linux /proc), or None when there is no such
    process or it has exited. With the pid it names one process, even after pids are reused."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the name, in brackets, may hold spaces
    state, start_ticks = fields[0], fields[19]
    return None if state in ("Z", "X") else int(start_ticks)


def new_job_id(root, kind):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    job_id, number = f"{stamp}-{kind}", 1
    while (root / job_id).exists():
        number += 1
        job_id = f"{stamp}-{kind}-{number}"
    return job_id


def open_job(folder, manager=None):
    """The Job in a folder, as the class of its kind."""
    kind = read_json(Path(folder) / SPEC)["kind"]
    return JOB_CLASSES[kind](folder, manager)


class Job:
    """One job folder: read its state, stop it, wait for it. Each kind of job is a class below."""

    kind = None  # TRAINING, FINE_TUNING or SWEEP
    title = None  # what its messages call it: "<title> failed: ..."

    def __init__(self, folder, manager=None):
        self.folder = Path(folder)
        self.job_id = self.folder.name
        self._manager = manager

    def __repr__(self):
        return f"{type(self).__name__}({str(self.folder)!r})"

    def spec(self):
        return read_json(self.folder / SPEC)

    def process_id(self):
        process = read_json(self.folder / PROCESS)
        return process["pid"] if process else None

    def alive(self):
        process = read_json(self.folder / PROCESS)
        if process is None:
            return False
        if self._manager is not None:
            self._manager.reap(self.job_id)
        return process_start_ticks(process["pid"]) == process["start_ticks"]

    def state(self):
        """QUEUED or RUNNING while the process lives, else the ended state (cheap: no arrays read)."""
        result = read_json(self.folder / RESULT)
        if result is not None:
            return result["state"]
        if not (self.folder / PROCESS).exists() and time.time() - self.spec()["created_at"] < LAUNCH_GRACE_SECONDS:
            return QUEUED  # its process is being started right now
        if self.alive():
            progress = read_json(self.folder / PROGRESS) or {}
            return progress.get("state", QUEUED)
        return self._record_death()["state"]

    @property
    def running(self):
        return self.state() == RUNNING

    @property
    def active(self):
        """Queued or running."""
        return self.state() in (QUEUED, RUNNING)

    def stop(self, requested_by="someone"):
        """Ask the job to end (after the current batch) or to leave the queue; returns at once.
        Returns whether there was a live process to ask."""
        process = read_json(self.folder / PROCESS)
        if process is None or (self.folder / RESULT).exists() or not self.alive():
            return False
        write_json(self.folder / STOP, {"requested_by": requested_by, "at": time.time()})
        try:
            os.kill(process["pid"], signal.SIGTERM)
        except ProcessLookupError:
            return False
        return True

    def join(self, timeout=None, poll_seconds=0.1):
        """Wait until the job has ended; returns whether it has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.state() not in ENDED:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(poll_seconds)
        return True

    def _record_death(self):
        """The process is gone and wrote no result: record why, once, as the job's result."""
        result = read_json(self.folder / RESULT)  # it may have written one just before it ended
        if result is not None:
            return result
        stop = read_json(self.folder / STOP)
        returncode = self._manager.returncode(self.job_id) if self._manager else None
        if stop is not None and returncode in (None, -signal.SIGTERM):
            result = {"state": STOPPED, "error": None}  # Stop came before the job could catch it
        else:
            result = {"state": FAILED, "error": self._death_reason(returncode)}
        result["ended_at"] = time.time()
        write_json(self.folder / RESULT, result)
        return result

    def _death_reason(self, returncode):
        process = read_json(self.folder / PROCESS) or {}
        what = f"The job's process (pid {process.get('pid', '?')})"
        if returncode is not None and returncode < 0:
            name = signal.Signals(-returncode).name
            reason = f"{what} was killed by {name} before it finished"
            if returncode == -signal.SIGKILL:
                reason += " (the system sends SIGKILL when memory runs out)"
        elif returncode is not None:
            reason = f"{what} exited with code {returncode} without a result"
        else:
            reason = f"{what} ended without a result: it was killed or crashed"
        tail = self.log_tail()
        reason += "; nothing was saved."
        if tail:
            reason += f" The end of its log ({self.folder / LOG}):\n" + tail
        return reason

    def log_tail(self, lines=LOG_TAIL_LINES):
        """The last lines of the job's log, without TensorFlow's start-up notices."""
        try:
            text = (self.folder / LOG).read_text(errors="replace")
        except OSError:
            return ""
        kept = [line for line in text.strip().splitlines() if line.strip() and not _TENSORFLOW_NOTICE.match(line)]
        return "\n".join(kept[-lines:])

    def snapshot(self) -> JobSnapshot:
        spec = self.spec()
        state = self.state()
        progress = read_json(self.folder / PROGRESS) or {}
        result = read_json(self.folder / RESULT) or {}
        stop = read_json(self.folder / STOP)
        now = time.time()
        running_since = progress.get("running_since")
        ended_at = result.get("ended_at")
        elapsed = ((ended_at or now) - running_since) if running_since else 0.0
        seconds_left = progress.get("seconds_left")
        if seconds_left is not None:
            seconds_left = None if state != RUNNING else max(0.0, seconds_left - (now - progress["written_at"]))
        phase = {FINISHED: "Finished", STOPPED: "Stopped", FAILED: "Failed", QUEUED: "Queued"}.get(
            state, progress.get("phase", "Starting")
        )
        if state == RUNNING and stop is not None and phase not in AFTER_TRAINING_PHASES:
            phase = STOPPING
        history = progress.get("history") or {key: [] for key in HISTORY_KEYS}
        scores = result.get("fine_tune")
        return JobSnapshot(
            state=state,
            phase=phase,
            settings=TrainingSettings(**spec["settings"]),
            epoch=progress.get("epoch", 0),
            batch=progress.get("batch", 0),
            batches_per_epoch=progress.get("batches_per_epoch", 0),
            batch_loss=_number(progress.get("batch_loss")),
            batch_accuracy=_number(progress.get("batch_accuracy")),
            batch_points=[tuple(point) for point in progress.get("batch_points", [])],
            history=history,
            started_at=spec["created_at"],
            elapsed_seconds=elapsed,
            seconds_left=seconds_left,
            test_accuracy=result.get("test_accuracy"),
            test_loss=result.get("test_loss"),
            model_id=result.get("model_id"),
            error=result.get("error"),
            kind=self.kind,
            fine_tune=FineTuneScores(**scores) if scores else None,
            job_id=self.job_id,
            owner=JobOwner(**spec["owner"]),
            queue_position=self._manager.queue_position(self.job_id) if state == QUEUED and self._manager else 0,
            stop_requested_by=stop["requested_by"] if stop else None,
            sweep=self._sweep(spec, progress, result),
            **self._arrays() if result.get("model_id") else {},
        )

    def _sweep(self, spec, progress, result):
        """A sweep's study, trials and best model; None for the other kinds."""
        return None

    def _arrays(self):
        try:
            with np.load(self.folder / ARRAYS) as arrays:
                return {
                    "confusion_matrix": arrays["confusion_matrix"],
                    "misclassified": Misclassified(
                        arrays["images"], arrays["predicted"], arrays["true"], arrays["confidence"]
                    ),
                }
        except (OSError, KeyError, ValueError):
            return {}  # e.g. a sweep, which keeps its models without a confusion matrix


class TrainingJob(Job):
    kind = TRAINING
    title = "Training"


class FineTuneJob(Job):
    kind = FINE_TUNING
    title = "Fine-tuning"


class SweepJob(Job):
    kind = SWEEP
    title = "The sweep"

    def _sweep(self, spec, progress, result):
        sweep = progress.get("sweep") or {"study": spec["sweep"]["study"], "num_trials": spec["sweep"]["num_trials"],
                                          "trials": []}
        # current_trial: the one this job's process trains now (others may run elsewhere)
        return {**sweep, "current_trial": progress.get("trial"), "best_model_id": result.get("best_model_id")}


JOB_CLASSES = {job_class.kind: job_class for job_class in (TrainingJob, FineTuneJob, SweepJob)}


def _number(value):
    return math.nan if value is None else float(value)


class JobManager:
    """The job folders of one model store: start jobs, find the running one, list the queue.

    Every method reads the folders afresh, so any number of server processes (or a restarted one)
    see the same jobs. `root` is where the job folders go (default: <model store>/jobs); a manager
    made with a root alone can read and order the jobs but not start one."""

    def __init__(self, model_store=None, root=None):
        if model_store is None and root is None:
            raise ValueError("A JobManager needs the model store its jobs save to, or the folder of its jobs.")
        self.model_store = model_store
        self.root = Path(root) if root is not None else model_store.root / JOBS_FOLDER
        self._children = {}  # job id -> Popen, for the jobs this process started

    # --- starting ---

    def start(self, settings: TrainingSettings, *, owner=None, include_drawings=False, drawings_path=None,
              drawings=None, data=None) -> Job:
        """Train a new model with these settings; queued behind a job that runs. The user's drawings
        are added when include_drawings is set (all of those in drawings_path), or when `drawings`
        gives them as (images, labels) arrays (e.g. one visitor's own)."""
        options = {"include_drawings": include_drawings or drawings is not None,
                   "drawings_path": _drawings_path(drawings_path)}
        return self._launch(TrainingJob, settings, owner, options, data, drawings)

    def start_fine_tune(self, base_model_id, settings: TrainingSettings, drawings_path=None, *, owner=None,
                        data=None, evaluation_fraction=fine_tune.DEFAULT_EVALUATION_FRACTION,
                        drawings_owner=None) -> Job:
        """Fine-tune a stored model with these settings (digit_app.fine_tune.fine_tune_settings) on
        the user's drawings in drawings_path: all of them, or drawings_owner's only."""
        options = {"base_model_id": base_model_id, "drawings_path": _drawings_path(drawings_path),
                   "drawings_owner": drawings_owner, "evaluation_fraction": evaluation_fraction}
        return self._launch(FineTuneJob, settings, owner, options, data)

    def start_sweep(self, sweep_settings, *, owner=None, data=None) -> Job:
        """Run an Optuna study (digit_app.sweep.SweepSettings) as one job: its trials run one by one."""
        return self._launch(SweepJob, sweep_settings.base, owner, {"sweep": sweep_settings.to_dict()}, data)

    def _launch(self, job_class, settings, owner, options, data, drawings=None):
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_old_jobs()
        folder = self.root / new_job_id(self.root, job_class.kind)
        folder.mkdir()
        spec = {
            "kind": job_class.kind,
            "settings": settings.to_dict(),
            "owner": (owner or JobOwner()).to_dict(),
            "models_dir": str(self.model_store.root),
            "jobs_dir": str(self.root),
            "created_at": time.time(),
            **options,
        }
        write_json(folder / SPEC, spec)
        if data is not None:
            np.savez(folder / DATA, **data._asdict())
        if drawings is not None:
            np.savez(folder / DRAWINGS, images=drawings[0], labels=drawings[1])
        with open(folder / LOG, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "digit_app.job_process", str(folder)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=REPOSITORY,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"},
                start_new_session=True,  # the job outlives the server, and a Ctrl+C meant for it
            )
        # The process cannot be told apart from a later one with its pid until its start time is read.
        write_json(folder / PROCESS, {"pid": process.pid, "start_ticks": process_start_ticks(process.pid)})
        self._children[folder.name] = process
        return job_class(folder, self)

    def _remove_old_jobs(self):
        ended = [job for job in self.jobs() if (job.folder / RESULT).exists()]
        for job in ended[KEEP_ENDED_JOBS:]:
            shutil.rmtree(job.folder, ignore_errors=True)

    # --- reading ---

    def jobs(self):
        """Every job, newest first."""
        try:
            folders = [path for path in self.root.iterdir() if (path / SPEC).exists()]
        except FileNotFoundError:
            return []
        return [open_job(folder, self) for folder in sorted(folders, key=lambda path: path.name, reverse=True)]

    def job(self, job_id):
        folder = self.root / job_id
        if not (folder / SPEC).exists():
            raise ValueError(f"No job {job_id!r} in {self.root}.")
        return open_job(folder, self)

    def active_jobs(self):
        """Jobs that are queued or running, oldest (the running one) first."""
        return [job for job in reversed(self.jobs()) if not (job.folder / RESULT).exists() and job.active]

    def queue_position(self, job_id):
        """How many live jobs were started before this one: 0 when it is starting, 1 when it runs next."""
        return sum(job.job_id < job_id for job in self.active_jobs())

    def current(self) -> Job | None:
        """The job to show: the one running or about to run, else the newest that has ended. (The
        jobs queued behind it are shown to whoever started them, see `queued`.)"""
        active = self.active_jobs()
        if active:
            return active[0]
        return next((job for job in self.jobs() if job.state() in ENDED), None)

    def queued(self, session=None):
        """The jobs waiting behind the current one, next first; only those started by this browser
        session when it is given."""
        jobs = [job for job in self.active_jobs()[1:] if job.state() == QUEUED]
        if session is not None:
            jobs = [job for job in jobs if job.spec()["owner"]["session"] == session]
        return jobs

    def snapshot(self) -> JobSnapshot | None:
        job = self.current()
        return job.snapshot() if job is not None else None

    def stop(self, job_id=None, requested_by="someone"):
        """Stop one job (default: the running one); returns whether there was one to stop."""
        job = self.job(job_id) if job_id else self.current()
        return job is not None and job.stop(requested_by)

    # --- the processes this server started ---

    def reap(self, job_id):
        """Collect the exit status of a child that has ended, so that it does not linger as a zombie."""
        process = self._children.get(job_id)
        if process is not None:
            process.poll()

    def returncode(self, job_id, wait_seconds=5.0):
        """How a child of this process ended (negative: the signal that killed it), or None when it
        is not ours. Waits a little: /proc may show it gone a moment before its status is ready."""
        process = self._children.get(job_id)
        if process is None:
            return None
        try:
            return process.wait(wait_seconds)
        except subprocess.TimeoutExpired:
            return None


def _drawings_path(path):
    return str(path or drawings_path())

