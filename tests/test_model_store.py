import json
import os
import time

import numpy as np
import pytest

from digit_app.architectures import build_model
from digit_app.model_store import DEFAULT_MODEL_ID, ModelLoadError, ModelStore, StoreNotWritable
from digit_app.settings import MODELS_ENV_VAR, SHIPPED_MODELS_FOLDER


def _model(seed):
    return build_model("dense-32-64", seed=seed)


def _meta(name="dense-32-64"):
    return {"architecture": name, "epochs": 1, "history": {"loss": [0.5]}, "test_accuracy": 0.9}


@pytest.fixture
def filled(store):
    store.save(_model(0), _meta(), model_id=DEFAULT_MODEL_ID)
    store.save(_model(1), _meta(), model_id="second")
    return store


def _same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))


def test_save_load_round_trip_keeps_weights_and_metadata(store):
    model = _model(3)
    model_id = store.save(model, _meta())
    assert _same_weights(store.load(model_id), model)
    meta = store.metadata(model_id)
    assert meta["architecture"] == "dense-32-64" and meta["id"] == model_id
    assert meta["tensorflow_version"] and meta["keras_version"] and meta["created_at"]
    assert [m["id"] for m in store.list()] == [model_id]


def test_default_is_active_until_another_is_activated(filled):
    assert filled.active_id() == DEFAULT_MODEL_ID
    filled.activate("second")
    assert filled.active_id() == "second"
    assert _same_weights(filled.load_active(), filled.load("second"))


def test_the_shipped_default_cannot_be_deleted(filled):
    with pytest.raises(ValueError, match="cannot be deleted"):
        filled.delete(DEFAULT_MODEL_ID)
    assert filled.exists(DEFAULT_MODEL_ID)


def test_deleting_the_active_model_makes_the_default_active(filled):
    filled.activate("second")
    filled.delete("second")
    assert not filled.exists("second") and filled.active_id() == DEFAULT_MODEL_ID


@pytest.mark.parametrize("bad_id", ["../evil", "a/b", "..", "", ".hidden", "x" * 81, "a\\b", None])
def test_ids_are_validated(store, bad_id):
    with pytest.raises(ValueError, match="Invalid model id"):
        store.load(bad_id)


@pytest.mark.parametrize("reserved", ["active", "ACTIVE", "Active"])
def test_reserved_ids_are_refused(store, reserved, small_mnist):
    with pytest.raises(ValueError, match=f"Model id '{reserved}' is reserved"):
        store.save(build_model("dense-128"), {"architecture": "dense-128"}, model_id=reserved)
    assert not (store.root / "active.keras").exists()


def test_leftover_temporary_files_are_removed_unless_recent(store):
    store.root.mkdir(parents=True)
    old, recent = store.root / ".tmp-old.keras", store.root / ".tmp-recent.json"
    old.write_bytes(b"")
    recent.write_bytes(b"")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.remove_leftover_temporary_files() == [".tmp-old.keras"]
    assert not old.exists() and recent.exists()  # another process may be writing it now


def test_check_writable_names_the_folder_and_the_fix(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreNotWritable, match=r"Cannot save models in .*file/models: .*Make the folder writable"):
        ModelStore(tmp_path / "file" / "models").check_writable()
    with pytest.raises(StoreNotWritable, match=r"saving a model needs at least .* Free some disk space"):
        ModelStore(tmp_path / "models").check_writable(min_free_bytes=2**62)
    ModelStore(tmp_path / "models").check_writable()  # a folder that can take a model


def test_a_broken_model_file_is_named_and_active_falls_back(filled):
    filled.activate("second")
    filled.model_path("second").write_bytes(b"not a zip")
    with pytest.raises(ModelLoadError, match="second"):
        filled.load("second")
    with pytest.warns(UserWarning, match="shipped default"):
        model_id, model = filled.resolve_active()
    assert model_id == DEFAULT_MODEL_ID


def test_a_crash_mid_save_keeps_the_previous_active_model(filled, monkeypatch):
    filled.activate("second")
    before = filled.load_active()

    def crash_midway(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"PK\x03\x04 half a zip")  # a partial file, then the process dies
        raise KeyboardInterrupt

    monkeypatch.setattr("keras.Model.save", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        filled.save(_model(5), _meta(), model_id="third", activate=True)

    assert filled.active_id() == "second"
    assert _same_weights(filled.load_active(), before)
    assert not filled.exists("third")
    assert sorted(p.name for p in filled.root.iterdir()) == sorted(
        ["active.json", "default-cnn.json", "default-cnn.keras", "second.json", "second.keras"]
    )


def test_a_corrupt_active_pointer_means_the_default(filled):
    (filled.root / "active.json").write_text("{not json")
    assert filled.active_id() == DEFAULT_MODEL_ID


def test_saved_model_has_no_optimizer_state(store, small_mnist):
    from digit_app.settings import TrainingSettings
    from digit_app.training import train

    result = train(TrainingSettings("dense-128", epochs=1, max_train_samples=200), data=small_mnist)
    model_id = store.save(result.model, result.metadata("test"))
    # 101,770 float32 weights: about 0.4 MB; with Adam's two moments it would be about 1.2 MB.
    assert store.model_path(model_id).stat().st_size < 600_000
    meta = json.loads((store.root / f"{model_id}.json").read_text())
    assert meta["history"]["loss"] and meta["source"] == "test"


def test_a_store_made_without_a_folder_uses_the_one_the_environment_names(tmp_path, monkeypatch):
    monkeypatch.setenv(MODELS_ENV_VAR, str(tmp_path / "elsewhere"))
    assert ModelStore().root == tmp_path / "elsewhere"
    monkeypatch.delenv(MODELS_ENV_VAR)
    assert ModelStore().root == SHIPPED_MODELS_FOLDER
