import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from digit_app.settings import DRAWINGS_ENV_VAR
from digit_app.drawing_store import DrawingStore
from digit_app.training import drawing_weight

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args, models_dir, drawings_db=None):
    env = {**os.environ, "DIGIT_APP_MODELS": str(models_dir), "TF_CPP_MIN_LOG_LEVEL": "3"}
    if drawings_db is not None:
        env[DRAWINGS_ENV_VAR] = str(drawings_db)
    return subprocess.run([sys.executable, "train.py", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "args",
    [
        ["--epochs", "0"],
        ["--epochs", "-3"],
        ["--epochs", "ten"],
        ["--arch", "resnet"],
        ["--learning-rate", "0"],
        ["--validation-fraction", "2"],
        ["--id", "../outside"],
        ["--id", "active"],
        ["--id", "Active"],
        ["sweep", "--trials", "0"],
        ["sweep", "--epochs", "3", "1"],
        ["sweep", "--learning-rate", "0.1", "0.001"],
        ["sweep", "--storage", "postgresql://localhost/db"],
        ["sweep", "--study", "../outside"],
    ],
)
def test_bad_arguments_give_one_line_and_exit_2_and_write_nothing(tmp_path, args):
    result = run_cli(*args, models_dir=tmp_path / "models")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("train.py: error:", "train.py sweep: error:"))
    assert not (tmp_path / "models").exists()


def test_id_active_is_refused_because_it_would_replace_the_active_model(tmp_path):
    result = run_cli("--id", "active", "--epochs", "1", models_dir=tmp_path / "models")
    assert result.returncode == 2
    assert "Model id 'active' is reserved" in result.stderr and "Choose another id" in result.stderr


def test_a_read_only_models_folder_is_refused_before_training(tmp_path):
    models_dir = tmp_path / "not-a-folder" / "models"
    (tmp_path / "not-a-folder").write_text("a file where the models folder's parent should be")
    result = run_cli("--epochs", "1", "--max-train-samples", "100", models_dir=models_dir)
    assert result.returncode == 2
    assert result.stderr.startswith(f"train.py: error: Cannot save models in {models_dir}: ")
    assert "Training" not in result.stdout  # refused before any training


def test_sweep_help_documents_the_ranges(tmp_path):
    result = run_cli("sweep", "--help", models_dir=tmp_path)
    for option in ["--trials", "--arch", "--learning-rate", "--batch-size", "--epochs", "--augment-strength",
                   "--keep", "--study", "--storage", "postgresql://", "log scale"]:
        assert option in result.stdout, option


def test_help_explains_every_option(tmp_path):
    result = run_cli("--help", models_dir=tmp_path)
    for option in ["--arch", "--epochs", "--batch-size", "--learning-rate", "--validation-fraction",
                   "--augment", "--seed", "--activate", "dense-32-64", "dense-128", "cnn"]:
        assert option in result.stdout


def test_a_short_run_trains_saves_and_activates(tmp_path):
    models = tmp_path / "models"
    result = run_cli("--arch", "dense-128", "--epochs", "1", "--max-train-samples", "2000",
                     "--id", "quick", "--activate", models_dir=models)
    assert result.returncode == 0, result.stderr
    assert "epoch 1/1" in result.stdout and "val_accuracy" in result.stdout
    assert "Test accuracy: 0." in result.stdout and "quick.keras" in result.stdout
    meta = json.loads((models / "quick.json").read_text())
    assert f"Canvas accuracy: {meta['canvas_accuracy']:.4f}" in result.stdout
    assert meta["source"].startswith("python train.py --arch dense-128 --epochs 1")
    assert meta["architecture"] == "dense-128" and len(meta["history"]["val_loss"]) == 1
    assert json.loads((models / "active.json").read_text()) == {"id": "quick"}
    # Generated handwriting is on by default: the model can answer "not a digit" and is calibrated.
    assert "generated drawings" in result.stdout
    assert meta["classes"] == 11 and meta["handwriting"]["drawings"] > 0 and meta["temperature"] > 0


def test_no_handwriting_trains_on_mnist_alone(tmp_path):
    models = tmp_path / "models"
    result = run_cli("--arch", "dense-128", "--epochs", "1", "--max-train-samples", "500", "--no-handwriting",
                     "--id", "plain", models_dir=models)
    assert result.returncode == 0, result.stderr
    meta = json.loads((models / "plain.json").read_text())
    assert meta["classes"] == 10 and meta["handwriting"] is None and meta["settings"]["handwriting"] is False


def test_include_drawings_without_drawings_says_so_and_trains_nothing(tmp_path):
    models = tmp_path / "models"
    result = run_cli("--include-drawings", "--epochs", "1", models_dir=models,
                     drawings_db=tmp_path / "none.sqlite3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no drawings in" in lines[0] and "none.sqlite3" in lines[0]
    assert "Training" not in result.stdout
    assert not models.exists() and not (tmp_path / "none.sqlite3").exists()

    DrawingStore(tmp_path / "empty.sqlite3").count()  # an existing database with no drawings in it
    result = run_cli("--include-drawings", models_dir=models, drawings_db=tmp_path / "empty.sqlite3")
    assert result.returncode == 2 and "no drawings in" in result.stderr and not models.exists()


def test_include_drawings_trains_on_them_and_records_how_many(tmp_path, small_mnist):
    drawings_db = tmp_path / "drawings.sqlite3"
    drawing_store = DrawingStore(drawings_db)
    for image, label in zip(small_mnist.x_test[:20], small_mnist.y_test[:20]):
        drawing_store.add(image / 255.0, int(label))
    models = tmp_path / "models"
    result = run_cli("--arch", "dense-128", "--epochs", "1", "--max-train-samples", "2000",
                     "--include-drawings", "--id", "mine", models_dir=models, drawings_db=drawings_db)
    assert result.returncode == 0, result.stderr
    assert "Including 20 of your drawings" in result.stdout and "Test accuracy: 0." in result.stdout
    meta = json.loads((models / "mine.json").read_text())
    assert meta["drawings_included"] == 20
    # 1,800 MNIST training digits (2,000 less 10% validation): 0.05 * 1800 / (0.95 * 20) = 4.7 each
    assert meta["drawing_weight"] == pytest.approx(drawing_weight(20, 1800)) and meta["drawing_weight"] > 1
    assert "--include-drawings" in meta["source"]
