"""Sweeps on Optuna: trials are real trainings on a few hundred digits; studies in a real journal
file and in a real PostgreSQL server (skipped, with the reason, where there is none)."""

import dataclasses
import os
import re
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pytest

from digit_app import sweep
from digit_app.settings import TrainingSettings
from digit_app.model_store import ModelStore

REPO = Path(__file__).resolve().parent.parent
POSTGRES_ENV_VAR = "DIGIT_APP_TEST_POSTGRES"
POSTGRES_URL = "postgresql://digit_app:digit_app@127.0.0.1/digit_app_test"  # made by .ci/postgres start
# Tiny trials: dense-128, one epoch on 300 digits.
TINY = ["--arch", "dense-128", "--epochs", "1", "1", "--batch-size", "32", "64", "--max-train-samples", "300",
        "--no-handwriting"]
WORKER_TIMEOUT_SECONDS = 300


def run_two_workers(models_dir, study, storage=None, trials=6):
    """Two `train.py sweep` processes on the same study at once; returns their outputs."""
    command = [sys.executable, "train.py", "sweep", "--trials", str(trials), "--study", study, "--keep", "2", *TINY]
    if storage:
        command += ["--storage", storage]
    env = {**os.environ, "DIGIT_APP_MODELS": str(models_dir), "TF_CPP_MIN_LOG_LEVEL": "3"}
    workers = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True) for _ in range(2)]
    outputs = [worker.communicate(timeout=WORKER_TIMEOUT_SECONDS)[0] for worker in workers]
    for worker, output in zip(workers, outputs):
        assert worker.returncode == 0, output
    return outputs


def check_shared_study(study, outputs, model_store, trials=6):
    finished = study.get_trials(states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED))
    assert len(finished) == trials
    numbers = [trial.number for trial in finished]
    assert len(set(numbers)) == trials
    # Each worker prints the trials it starts: together all of them, and none twice.
    ran = [re.findall(r"^starting trial (\d+) here", output, re.M) for output in outputs]
    assert len(ran[0]) + len(ran[1]) == trials, outputs
    assert set(map(int, ran[0] + ran[1])) == set(numbers)
    workers = {trial.user_attrs["worker"] for trial in finished}
    print(f"trials per worker: {[len(numbers) for numbers in ran]}; workers {workers}")
    # The best two are kept, with their trial's parameters; the others are not.
    completed = [trial for trial in finished if trial.state == optuna.trial.TrialState.COMPLETE]
    best = sorted(completed, key=lambda trial: (-trial.value, trial.number))[:2]  # ties: the earlier trial
    kept = sorted(meta["id"] for meta in model_store.list())
    assert kept == sorted(f"{study.study_name}-trial-{trial.number}" for trial in best)
    for trial in best:
        meta = model_store.metadata(f"{study.study_name}-trial-{trial.number}")
        assert meta["sweep"]["params"] == trial.params and meta["sweep"]["trial"] == trial.number
        assert meta["sweep"]["validation_accuracy"] == pytest.approx(trial.value)


def test_two_workers_share_a_study_in_the_local_journal_file(tmp_path):
    models_dir = tmp_path / "models"
    outputs = run_two_workers(models_dir, "shared-local")
    model_store = ModelStore(models_dir)
    settings = sweep.SweepSettings(study="shared-local")
    study = optuna.load_study(study_name="shared-local", storage=sweep.storage_for(settings, model_store))
    assert (models_dir / sweep.JOURNAL_FILE).exists()
    check_shared_study(study, outputs, model_store)


@pytest.fixture
def postgres_url():
    """A new, empty database on the PostgreSQL server, as a worker meets it the first time: a schema
    of its own, dropped afterwards."""
    url = os.environ.get(POSTGRES_ENV_VAR, POSTGRES_URL)
    try:
        import sqlalchemy

        engine = sqlalchemy.create_engine(url)
        with engine.connect():
            pass
    except Exception as error:
        pytest.skip(f"no PostgreSQL server at {url} ({type(error).__name__}); run '.ci/postgres start' as root "
                    f"or set {POSTGRES_ENV_VAR} to a database URL")
    schema = f"test_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE SCHEMA {schema}"))
    yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"DROP SCHEMA {schema} CASCADE"))
    engine.dispose()


def test_two_workers_share_a_study_in_postgresql(tmp_path, postgres_url):
    outputs = run_two_workers(tmp_path / "models", "shared", storage=postgres_url)
    study = optuna.load_study(study_name="shared", storage=postgres_url)
    check_shared_study(study, outputs, ModelStore(tmp_path / "models"))


def test_workers_that_open_a_new_database_at_once_all_get_its_storage(postgres_url):
    """Each opening creates Optuna's tables if they are missing: four at once on a new database
    collide, as two workers started together do (the two-worker test met it on a slower machine)."""
    workers = 4
    together = threading.Barrier(workers)

    def open_storage(_):
        together.wait()
        return sweep.database_storage(postgres_url)

    with ThreadPoolExecutor(workers) as pool:
        storages = list(pool.map(open_storage, range(workers)))
    study_id = storages[0].create_new_study([optuna.study.StudyDirection.MAXIMIZE], "seen-by-all")
    assert [storage.get_study_id_from_name("seen-by-all") for storage in storages] == [study_id] * workers


def test_a_weak_trial_is_pruned_through_the_per_epoch_callback(tmp_path, small_mnist):
    model_store = ModelStore(tmp_path / "models")
    settings = sweep.SweepSettings(
        num_trials=4, architectures=["dense-128"], epochs=(3, 3), batch_sizes=[64], keep_best=1, study="pruning",
        base=TrainingSettings(max_train_samples=300, handwriting=False),
    )
    # Three earlier trials that read 99% of the validation digits from the first epoch on: a trial on
    # 300 digits is far below their median at its second epoch, where pruning may begin.
    study = sweep.open_study(settings, model_store)
    for number in range(sweep.PRUNER_STARTUP_TRIALS):
        study.add_trial(optuna.trial.create_trial(
            params={"epochs": 3}, distributions={"epochs": optuna.distributions.IntDistribution(3, 3)},
            value=0.99, intermediate_values={1: 0.99, 2: 0.99, 3: 0.99},
        ))
    epochs_seen = []
    sweep.run_sweep(settings, model_store, data=small_mnist,
                    on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))
    last = study.get_trials()[-1]
    assert last.state == optuna.trial.TrialState.PRUNED
    assert epochs_seen == [1, 2] and sorted(last.intermediate_values) == [1, 2]
    assert model_store.list() == []  # a pruned trial keeps no model


def test_settings_are_checked_and_passed_whole_to_each_trial():
    base = TrainingSettings(seed=7, validation_fraction=0.2, max_train_samples=300)
    settings = sweep.SweepSettings(num_trials=1, architectures=["cnn"], epochs=(2, 2), batch_sizes=[32],
                                   augment_strengths=(0.5, 0.5), base=base)
    trial = optuna.create_study().ask()
    trial_settings = sweep.suggest_settings(trial, settings)
    assert trial_settings == dataclasses.replace(
        base, architecture="cnn", epochs=2, batch_size=32, learning_rate=trial.params["learning_rate"],
        augment=True, augment_strength=0.5,
    )
    assert sweep.SweepSettings.from_dict(settings.to_dict()) == settings
    with pytest.raises(ValueError, match="Epochs must be a .lowest, highest. pair within 1 to 50, got"):
        sweep.SweepSettings(epochs=(5, 2))
    with pytest.raises(ValueError, match="Study name 'a/b' cannot name its models"):
        sweep.SweepSettings(study="a/b")


def test_a_trial_completed_by_another_worker_meanwhile_keeps_its_model(tmp_path):
    """The race two workers met: one works out the best trials, the other completes a better one and
    saves its model, and then the first deletes every completed trial outside its (stale) best."""
    from digit_app.architectures import build_model

    model_store = ModelStore(tmp_path / "models")
    settings = sweep.SweepSettings(num_trials=3, keep_best=1, study="race", base=TrainingSettings())
    study = optuna.create_study(direction="maximize")
    model = build_model("dense-32-64", seed=0)

    def complete(value):
        trial = study.ask()
        model_id = f"race-trial-{trial.number}"
        model_store.save(model, {"architecture": "dense-32-64"}, model_id=model_id)
        trial.set_user_attr("model_id", model_id)
        study.tell(trial, value)

    complete(0.90)
    complete(0.80)  # out of the best one: its model goes
    get_trials = study.get_trials
    other_worker_done = False

    def get_trials_while_another_worker_finishes(*args, **kwargs):
        nonlocal other_worker_done
        trials = get_trials(*args, **kwargs)
        if not other_worker_done:
            other_worker_done = True
            complete(0.95)  # the other worker, just after this worker's first read of the study
        return trials

    study.get_trials = get_trials_while_another_worker_finishes
    sweep.remove_dropped_models(study, settings, model_store)
    assert not model_store.exists("race-trial-1")
    assert model_store.exists("race-trial-2")  # judged by the next clean-up, not deleted unseen
    study.get_trials = get_trials
    sweep.remove_dropped_models(study, settings, model_store)
    assert sorted(meta["id"] for meta in model_store.list()) == ["race-trial-2"]
