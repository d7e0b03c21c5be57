"""The models the repo ships load from the real store and are as good as promised."""

import numpy as np
import pytest

from digit_app.inference import Predictor, readings, temperature_of
from digit_app.model_store import DEFAULT_MODEL_ID, ModelStore
from digit_app.settings import SHIPPED_MODELS_FOLDER

SHIPPED = ModelStore(SHIPPED_MODELS_FOLDER)
# Test-set accuracy floors: the default CNN, and the two notebook nets trained as the notebooks did.
FLOORS = {"default-cnn": 0.993, "dense-128": 0.975, "dense-32-64": 0.965}


@pytest.mark.parametrize("model_id, floor", FLOORS.items())
def test_shipped_model_reaches_its_accuracy_on_the_full_test_set(model_id, floor, mnist):
    predictor = Predictor(SHIPPED.load(model_id), model_id, temperature_of(SHIPPED, model_id))
    probabilities = np.concatenate(
        [predictor.predict_batch(mnist.x_test[i : i + 1000]) for i in range(0, len(mnist.x_test), 1000)]
    )
    accuracy = float((readings(probabilities) == mnist.y_test).mean())  # what the Draw page reads
    assert accuracy >= floor
    # The metadata tells the truth about it.
    assert SHIPPED.metadata(model_id)["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)


def test_default_is_small_and_records_how_it_was_made():
    meta = SHIPPED.metadata(DEFAULT_MODEL_ID)
    assert SHIPPED.model_path(DEFAULT_MODEL_ID).stat().st_size < 2_000_000
    assert meta["architecture"] == "cnn" and meta["source"].startswith("python train.py")
    assert len(meta["history"]["val_loss"]) == meta["epochs"]
