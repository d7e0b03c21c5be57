"""The model registry on disk: each model is <id>.keras with <id>.json beside it.

Every write goes to a temporary file in the same folder and is moved into place with
os.replace, so a crash mid-save never leaves a broken model or a dangling active pointer.
The active model is named in active.json; without it, the shipped default is active.
Keras is imported only to save or load a model, so listing and ids stay cheap.

The folder is $DIGIT_APP_MODELS, else models/ in the repository (digit_app.settings.models_folder),
read when a ModelStore is made without a root.
"""

import datetime
import json
import os
import re
import shutil
import tempfile
import time
import warnings
from pathlib import Path

from digit_app.settings import models_folder

DEFAULT_MODEL_ID = "default-cnn"
ACTIVE_FILE = "active.json"
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
RESERVED_IDS = frozenset({"active"})  # active.json names the active model: a model 'active' would replace it
TEMPORARY_PREFIX = ".tmp-"
# A save rewrites its temporary file continuously and takes seconds; one untouched for a minute was
# left by a process killed mid-save.
LEFTOVER_AGE_SECONDS = 60
MIN_FREE_BYTES = 50 * 2**20  # the largest shipped model is a few MB; leave room for its temporary copy


class ModelLoadError(RuntimeError):
    """A model file is missing or cannot be read."""


class ModelStoreError(RuntimeError):
    """The models folder cannot be written (e.g. it is read-only); the message says what to do."""


def _cannot_write(action, folder, error):
    return ModelStoreError(
        f"Could not {action}: the models folder {folder} cannot be written ({error.strerror or error}). "
        "Make it writable for the user who runs the app (for example chmod u+w), then try again."
    )


class StoreNotWritable(RuntimeError):
    """A model could not be saved in the store: checked before any training, so nothing is lost."""


def validate_id(model_id):
    """Ids name files in the models folder: letters, digits, '-', '_' and '.', no path tricks."""
    if not isinstance(model_id, str) or not _ID_PATTERN.fullmatch(model_id) or ".." in model_id:
        raise ValueError(
            f"Invalid model id {model_id!r}: use 1 to 80 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit, without '..'."
        )
    if model_id.lower() in RESERVED_IDS:
        raise ValueError(
            f"Model id {model_id!r} is reserved: the store keeps the name of the active model in "
            f"{ACTIVE_FILE}. Choose another id."
        )
    return model_id


def _write_atomically(path, write):
    """Call write(temporary_path) on a file beside `path`, then move it into place."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX, suffix=path.suffix)
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, 0o644)  # mkstemp makes it private; models are for every user of the app
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _write_json(path, data):
    _write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(data, indent=1)))


def _tensorflow_version():
    import tensorflow as tf

    return tf.__version__


class ModelStore:
    def __init__(self, root=None):
        self.root = Path(root) if root is not None else models_folder()

    def check_writable(self, min_free_bytes=MIN_FREE_BYTES):
        """Raise StoreNotWritable, saying what to fix, when a model could not be saved here now:
        the folder cannot be created or written to, or the disk is nearly full. A job calls this
        before its first epoch, so that a training is never lost at the moment of saving."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, probe = tempfile.mkstemp(dir=self.root, prefix=TEMPORARY_PREFIX + "probe-")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise StoreNotWritable(
                f"Cannot save models in {self.root}: {error.strerror or error}. Make the folder writable "
                "(or point DIGIT_APP_MODELS at one that is), then start again."
            ) from error
        free = shutil.disk_usage(self.root).free
        if free < min_free_bytes:
            raise StoreNotWritable(
                f"Only {free / 2**20:.0f} MB free for {self.root}; saving a model needs at least "
                f"{min_free_bytes / 2**20:.0f} MB. Free some disk space, then start again."
            )

    def remove_leftover_temporary_files(self, min_age_seconds=LEFTOVER_AGE_SECONDS):
        """Delete temporary files that a process killed mid-save left behind; returns their names.
        Files written to recently are left alone: another process may be saving right now."""
        removed = []
        now = time.time()
        for path in self.root.glob(TEMPORARY_PREFIX + "*"):
            try:
                if now - path.stat().st_mtime >= min_age_seconds:
                    path.unlink()
                    removed.append(path.name)
            except OSError:
                continue  # gone already, or not ours to delete: nothing to clean
        return removed

    def _path(self, model_id, suffix):
        return self.root / f"{validate_id(model_id)}{suffix}"

    def exists(self, model_id):
        return self._path(model_id, ".keras").exists() and self._path(model_id, ".json").exists()

    def list(self):
        """Metadata of every model, newest first; each dict has its 'id'. A model whose metadata
        cannot be read is listed as {'id': ..., 'broken': why}, after the others, so that it can
        still be seen and deleted."""
        models = []
        for meta_path in self.root.glob("*.json"):
            model_id = meta_path.stem
            if model_id == Path(ACTIVE_FILE).stem or not _ID_PATTERN.fullmatch(model_id):
                continue
            if not self._path(model_id, ".keras").exists():
                continue
            try:
                models.append(self.metadata(model_id))
            except (OSError, ValueError) as error:
                models.append({"id": model_id, "broken": f"its metadata file {meta_path.name} cannot be read ({error})"})
        readable = [meta for meta in models if "broken" not in meta]
        broken = [meta for meta in models if "broken" in meta]
        return sorted(readable, key=lambda meta: str(meta.get("created_at", "")), reverse=True) + broken

    def metadata(self, model_id):
        meta = json.loads(self._path(model_id, ".json").read_text())
        if not isinstance(meta, dict):
            raise ValueError(f"expected a JSON object, found a {type(meta).__name__}")
        return {**meta, "id": model_id}

    def model_path(self, model_id):
        return self._path(model_id, ".keras")

    def new_id(self, architecture):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        model_id, n = f"{architecture}-{stamp}", 1
        while self.exists(model_id):
            n += 1
            model_id = f"{architecture}-{stamp}-{n}"
        return model_id

    def save(self, model, metadata, model_id=None, activate=False):
        """Save a model and its metadata; returns the new id. The model is saved without its
        optimizer state, which inference does not need and which triples the file."""
        import keras
        model_id = validate_id(model_id) if model_id else self.new_id(metadata.get("architecture", "model"))
        self.root.mkdir(parents=True, exist_ok=True)
        inference_copy = model.__class__.from_config(model.get_config())  # uncompiled: no optimizer state
        inference_copy.set_weights(model.get_weights())
        _write_atomically(self._path(model_id, ".keras"), inference_copy.save)
        full = {
            **metadata,
            "id": model_id,
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "tensorflow_version": _tensorflow_version(),
            "keras_version": keras.__version__,
        }
        _write_json(self._path(model_id, ".json"), full)
        if activate:
            self.activate(model_id)
        return model_id

    def load(self, model_id):
        import keras

        path = self._path(model_id, ".keras")
        if not path.exists():
            raise ModelLoadError(
                f"No model at {path}; run 'python train.py' or pick a model on the Models page."
            )
        try:
            return keras.saving.load_model(path, compile=False)
        except Exception as error:
            # Keras says "File not found" for a file that is there but cut short: say what it is.
            raise ModelLoadError(
                f"Could not load model {model_id!r}: {path} is damaged or not a Keras model ({error}). "
                "Delete it or train a new one."
            ) from error

    def active_id(self):
        """The active model's id (cheap: one small file read)."""
        try:
            model_id = json.loads((self.root / ACTIVE_FILE).read_text())["id"]
            validate_id(model_id)
        except (OSError, ValueError, KeyError, TypeError):
            return DEFAULT_MODEL_ID
        return model_id if self.exists(model_id) else DEFAULT_MODEL_ID

    def load_active(self):
        """The active model, or the shipped default with a warning when it cannot be loaded."""
        return self.resolve_active()[1]

    def resolve_active(self):
        """(id, model) of the model load_active() gives."""
        model_id, model, problem = self.active_or_default(self.load)
        if problem:
            warnings.warn(problem, stacklevel=2)
        return model_id, model

    def active_or_default(self, load):
        """(id, load(id), problem) for the active model; when `load` raises ModelLoadError for it, the
        same for the shipped default, with `problem` saying why the active one could not be used
        (None otherwise). `load` may be self.load or a cache in front of it."""
        model_id = self.active_id()
        try:
            return model_id, load(model_id), None
        except ModelLoadError as error:
            if model_id == DEFAULT_MODEL_ID:
                raise
            problem = f"{error} Using the shipped default model {DEFAULT_MODEL_ID!r} instead."
            return DEFAULT_MODEL_ID, load(DEFAULT_MODEL_ID), problem

    def activate(self, model_id):
        if not self.exists(model_id):
            raise ValueError(f"No model {model_id!r} in {self.root}; see the Models page or 'python train.py'.")
        try:
            _write_json(self.root / ACTIVE_FILE, {"id": model_id})
        except OSError as error:
            raise _cannot_write(f"make {model_id!r} the model in use", self.root, error) from error

    def delete(self, model_id):
        if validate_id(model_id) == DEFAULT_MODEL_ID:
            raise ValueError(f"{DEFAULT_MODEL_ID!r} is the shipped default and cannot be deleted.")
        if not self.exists(model_id):
            raise ValueError(f"No model {model_id!r} in {self.root}.")
        try:
            if self.active_id() == model_id:
                (self.root / ACTIVE_FILE).unlink(missing_ok=True)  # the default becomes active
            self._path(model_id, ".json").unlink()
            self._path(model_id, ".keras").unlink()
        except OSError as error:
            raise _cannot_write(f"delete {model_id!r}", self.root, error) from error

