import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args, models_dir):
    env = {**os.environ, "DIGIT_APP_MODELS": str(models_dir), "TF_CPP_MIN_LOG_LEVEL": "3"}
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
    ],
)
def test_bad_arguments_give_one_line_and_exit_2_and_write_nothing(tmp_path, args):
    result = run_cli(*args, models_dir=tmp_path / "models")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train.py: error:")
    assert not (tmp_path / "models").exists()


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
    assert meta["source"].startswith("python train.py --arch dense-128 --epochs 1")
    assert meta["architecture"] == "dense-128" and len(meta["history"]["val_loss"]) == 1
    assert json.loads((models / "active.json").read_text()) == {"id": "quick"}
