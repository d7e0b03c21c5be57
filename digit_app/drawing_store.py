"""The user's own drawings, kept in one SQLite file to fine-tune the model on later.

Each drawing holds the 28x28 image the model saw (float32 in [0, 1]), the canvas it came
from (PNG), the true label the user gave, and what the model read. Every operation opens
its own connection (sqlite3 connections must not cross threads) with a busy timeout, and
every write takes the write lock up front (BEGIN IMMEDIATE), so browser sessions and
processes writing at once wait their turn instead of failing or losing rows. The file is
in WAL mode so readers never block the writer.

Nothing here deletes user data on its own: a damaged file raises DrawingStoreError and is
left for the user to move away.

A store made with an owner (a visitor's id, when the app is served to others) sees, counts,
exports and deletes only that owner's drawings, and marks the ones it adds; a store without one
sees them all. Quotas, when given, cap the drawings per owner, the drawings in all and the
file's size: a write that would pass one raises QuotaReached, which says which. Deleting gives the
space back to the file system (VACUUM) once enough of the file is free.
"""

import contextlib
import dataclasses
import datetime
import hashlib
import json
import math
import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

from digit_app.drawings_npz import IMAGE_SHAPE, NUM_CLASSES, describe_values, read_drawings_npz, write_drawings_npz
from digit_app.settings import DRAWINGS_ENV_VAR, drawings_path

BUSY_TIMEOUT_SECONDS = 30
SCHEMA_VERSION = 2  # 2 added the owner column
MAX_CANVAS_PNG_BYTES = 5 * 1024 * 1024
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_SCHEMA = """
CREATE TABLE drawings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_input BLOB NOT NULL,
    canvas_png BLOB,
    label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
    predicted INTEGER CHECK (predicted IS NULL OR predicted BETWEEN 0 AND 9),
    probabilities TEXT,
    model_id TEXT,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    owner TEXT
);
CREATE INDEX drawings_by_label ON drawings (label);
CREATE INDEX drawings_by_owner ON drawings (owner);
"""
_ADD_OWNER = ["ALTER TABLE drawings ADD COLUMN owner TEXT", "CREATE INDEX drawings_by_owner ON drawings (owner)"]
VACUUM_WHEN_FREE_BYTES = 4 * 2**20  # a single delete frees a few kB; rewriting the file each time would not pay
_COLUMNS = {"id", "model_input", "canvas_png", "label", "predicted", "probabilities", "model_id", "created_at", "source", "owner"}
_LIST_COLUMNS = "id, label, predicted, probabilities, model_id, created_at, source, model_input"


class DrawingStoreError(RuntimeError):
    """The drawings database cannot be opened, read or written; the message says what to do."""


class QuotaReached(DrawingStoreError):
    """Keeping these drawings would pass a quota; the message says which, and what to do."""


@dataclasses.dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Drawing:
    id: int
    label: int
    predicted: int | None
    probabilities: tuple[float, ...] | None
    model_id: str | None
    created_at: str  # UTC, ISO 8601
    source: str  # 'draw', 'import', ...
    model_input: np.ndarray = dataclasses.field(repr=False)  # (28, 28) float32 in [0, 1]
    canvas_png: bytes | None = dataclasses.field(default=None, repr=False)  # get() fills it, list() leaves it out

    @property
    def wrong(self):
        """Whether the model read something other than the true label."""
        return self.predicted is not None and self.predicted != self.label


class EvaluationSplit(NamedTuple):
    train_images: np.ndarray  # (N, 28, 28) uint8
    train_labels: np.ndarray  # (N,) uint8
    evaluation_images: np.ndarray
    evaluation_labels: np.ndarray


def to_uint8(model_inputs):
    """float32 [0, 1] model inputs -> uint8 0-255 images like MNIST's."""
    return np.rint(np.clip(model_inputs, 0.0, 1.0) * 255.0).astype(np.uint8)


def in_evaluation_part(drawing_id, fraction, seed):
    """Whether a drawing is held out for evaluation: decided by a hash of its id alone, so a
    drawing stays on its side as others are added or deleted."""
    digest = hashlib.blake2b(f"{seed}:{drawing_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < fraction


class DrawingStore:
    def __init__(self, path=None, owner=None, quotas=None):
        self.path = Path(path) if path is not None else drawings_path()
        self.owner = _check_optional_text(owner, "owner")
        self.quotas = quotas  # serving.Quotas or None for no limits
        self._ready = False
        self._ready_lock = threading.Lock()

    # --- writing

    def add(self, model_input, label, canvas_png=None, predicted=None, probabilities=None, model_id=None, source="draw"):
        """Store one drawing; returns its id."""
        row = (
            _check_model_input(model_input).tobytes(),
            _check_canvas_png(canvas_png),
            _check_digit(label, "label"),
            None if predicted is None else _check_digit(predicted, "predicted"),
            _check_probabilities(probabilities),
            _check_optional_text(model_id, "model_id"),
            _now(),
            _check_text(source, "source"),
            self.owner,
        )
        with self._transaction() as connection:
            self._check_quotas(connection, adding=1, adding_bytes=len(row[0]) + len(row[1] or b""))
            cursor = connection.execute(
                "INSERT INTO drawings (model_input, canvas_png, label, predicted, probabilities, model_id, created_at, source, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            return cursor.lastrowid

    def delete(self, drawing_id):
        """Delete one drawing; returns False when there was none with that id (for an owner's
        store: none of theirs)."""
        where, parameters = self._where(["id = ?"], [int(drawing_id)])
        with self._transaction() as connection:
            deleted = connection.execute(f"DELETE FROM drawings {where}", parameters).rowcount > 0
        self._give_space_back()
        return deleted

    def delete_all(self):
        """Delete every drawing (for an owner's store: all of theirs); returns how many there were."""
        where, parameters = self._where()
        with self._transaction() as connection:
            deleted = connection.execute(f"DELETE FROM drawings {where}", parameters).rowcount
        self._give_space_back()
        return deleted

    def size_bytes(self):
        """The database's size: its pages in use and free, as the file holds them."""
        with self._connection() as connection:
            return _database_bytes(connection)

    def _give_space_back(self):
        """VACUUM once enough of the file is free pages, and shrink the write-ahead log, so a
        database emptied by deletions gives its space back."""
        with self._connection() as connection:
            page_size = connection.execute("PRAGMA page_size").fetchone()[0]
            free_bytes = connection.execute("PRAGMA freelist_count").fetchone()[0] * page_size
            if free_bytes >= VACUUM_WHEN_FREE_BYTES or free_bytes > _database_bytes(connection) // 4:
                connection.execute("VACUUM")
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _check_quotas(self, connection, adding, adding_bytes):
        """Raise QuotaReached when adding `adding` drawings (about adding_bytes) would pass a quota."""
        quotas = self.quotas
        if quotas is None:
            return
        if self.owner is not None:
            mine = connection.execute("SELECT COUNT(*) FROM drawings WHERE owner = ?", (self.owner,)).fetchone()[0]
            if mine + adding > quotas.drawings_per_visitor:
                raise QuotaReached(
                    f"You have {mine} drawings and each visitor may keep {quotas.drawings_per_visitor}, "
                    f"so {adding} more cannot be kept. Delete some of yours on My drawings first."
                )
        total = connection.execute("SELECT COUNT(*) FROM drawings").fetchone()[0]
        if total + adding > quotas.total_drawings:
            raise QuotaReached(
                f"The app holds {total} drawings, and keeps at most {quotas.total_drawings} in all, "
                f"so {adding} more cannot be kept. The host can delete drawings on My drawings."
            )
        limit_bytes = quotas.database_megabytes * 2**20
        size = _database_bytes(connection)
        if size + adding_bytes > limit_bytes:
            raise QuotaReached(
                f"The drawings database is {size / 2**20:.1f} MB, and may grow to {quotas.database_megabytes} MB, "
                f"so these drawings ({adding_bytes / 2**20:.1f} MB) cannot be kept. The host can delete drawings "
                "on My drawings."
            )

    def _where(self, conditions=(), parameters=()):
        """A WHERE clause of the conditions, and this store's owner when it has one."""
        conditions, parameters = list(conditions), list(parameters)
        if self.owner is not None:
            conditions.append("owner = ?")
            parameters.append(self.owner)
        return ("WHERE " + " AND ".join(conditions) if conditions else ""), parameters

    # --- reading

    def get(self, drawing_id):
        """The drawing with this id, with its canvas PNG, or None."""
        where, parameters = self._where(["id = ?"], [int(drawing_id)])
        with self._connection() as connection:
            row = connection.execute(f"SELECT {_LIST_COLUMNS}, canvas_png FROM drawings {where}", parameters).fetchone()
        return None if row is None else _drawing_from_row(row[:-1], canvas_png=row[-1])

    def list(self, label=None, wrong_only=False, limit=None, offset=0):
        """Drawings newest first, without their canvas PNGs (see get())."""
        where, parameters = self._filter(label, wrong_only)
        parameters += [-1 if limit is None else int(limit), int(offset)]
        with self._connection() as connection:
            rows = connection.execute(
                f"SELECT {_LIST_COLUMNS} FROM drawings {where} ORDER BY id DESC LIMIT ? OFFSET ?", parameters
            ).fetchall()
        return [_drawing_from_row(row) for row in rows]

    def count(self, label=None, wrong_only=False):
        where, parameters = self._filter(label, wrong_only)
        with self._connection() as connection:
            return connection.execute(f"SELECT COUNT(*) FROM drawings {where}", parameters).fetchone()[0]

    def counts_by_label(self, wrong_only=False):
        """{digit: number of drawings} for all ten digits."""
        where, parameters = self._filter(None, wrong_only)
        with self._connection() as connection:
            rows = connection.execute(f"SELECT label, COUNT(*) FROM drawings {where} GROUP BY label", parameters).fetchall()
        return {digit: 0 for digit in range(NUM_CLASSES)} | dict(rows)

    def _filter(self, label, wrong_only):
        conditions, parameters = [], []
        if label is not None:
            conditions.append("label = ?")
            parameters.append(_check_digit(label, "label"))
        if wrong_only:
            conditions.append("predicted IS NOT NULL AND predicted != label")
        return self._where(conditions, parameters)

    # --- training data

    def training_arrays(self):
        """(images uint8 (N, 28, 28) 0-255 like MNIST, labels uint8 (N,)), oldest first."""
        _, images, labels = self._all_arrays()
        return images, labels

    def split_for_evaluation(self, fraction=0.2, seed=0):
        """Hold out about `fraction` of the drawings, the same ones every time (see
        in_evaluation_part), so a fine-tuned model can be scored on drawings it never trained on.
        With few drawings either part may be empty."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be between 0 and 1, got {fraction!r}.")
        ids, images, labels = self._all_arrays()
        held_out = np.array([in_evaluation_part(drawing_id, fraction, seed) for drawing_id in ids], dtype=bool)
        return EvaluationSplit(images[~held_out], labels[~held_out], images[held_out], labels[held_out])

    def _all_arrays(self):
        with self._connection() as connection:
            where, parameters = self._where()
            rows = connection.execute(f"SELECT id, label, model_input FROM drawings {where} ORDER BY id", parameters).fetchall()
        ids = [row[0] for row in rows]
        labels = np.array([row[1] for row in rows], dtype=np.uint8)
        images = np.zeros((len(rows), *IMAGE_SHAPE), np.uint8)
        for index, row in enumerate(rows):
            images[index] = to_uint8(_model_input_from_bytes(row[2]))
        return ids, images, labels

    # --- files

    def export_npz(self, destination):
        """Write every drawing, oldest first, as an .npz with `images` (N, 28, 28) uint8 and
        `labels` (N,) uint8 to a path or binary file; returns N."""
        images, labels = self.training_arrays()
        if len(images) == 0:
            raise ValueError(f"There are no drawings in {self.path} to export; draw and save some first.")
        write_drawings_npz(destination, images, labels)
        return len(images)

    def import_npz(self, file, predictor=None):
        """Add the drawings of an .npz (a path, bytes or a binary file such as an upload) in one
        transaction; returns how many. The file is checked completely first: on any problem a
        ValueError says what, and nothing is added. What is accepted: digit_app.drawings_npz.

        predictor: a digit_app.inference.Predictor. When given, each drawing is kept with its
        reading, as a drawing saved on the Draw page is, so that it counts among the model's
        mistakes; without one, imported drawings are kept unread."""
        model_inputs, labels = read_drawings_npz(file)
        created_at = _now()
        readings = [(None, None, None)] * len(labels)
        if predictor is not None:
            # The digits' columns, as the Draw page keeps them (inference.split_readings); a model's
            # 11th column is "not a digit".
            probabilities = predictor.predict_batch(model_inputs)[:, :NUM_CLASSES]
            readings = [
                (int(np.argmax(row)), _check_probabilities(row), predictor.model_id) for row in probabilities
            ]
        rows = [
            (image.tobytes(), int(label), predicted, row_probabilities, model_id, created_at, "import", self.owner)
            for image, label, (predicted, row_probabilities, model_id) in zip(model_inputs, labels, readings)
        ]
        with self._transaction() as connection:
            self._check_quotas(connection, adding=len(rows), adding_bytes=sum(len(row[0]) for row in rows))
            connection.executemany(
                "INSERT INTO drawings (model_input, label, predicted, probabilities, model_id, created_at, source, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return len(rows)

    # --- connections

    @contextlib.contextmanager
    def _connection(self):
        self._ensure_ready()
        with self._errors_explained():
            connection = self._connect(create=False)
            try:
                yield connection
            finally:
                connection.close()

    @contextlib.contextmanager
    def _transaction(self):
        """A write transaction that holds the write lock from its start: a deferred one that
        upgrades later can fail at once with 'database is locked', skipping the busy timeout."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _connect(self, create):
        # mode=rw once the schema exists: a file removed meanwhile fails here instead of coming
        # back empty and without tables; the next operation's _ensure_ready makes a new one.
        uri = f"{self.path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_SECONDS * 1000}")
        return connection

    def _ensure_ready(self):
        """Create the file and schema once per store (and again if the file was removed)."""
        if self._ready and self.path.exists():
            return
        with self._ready_lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise self._unusable(error) from error
            with self._errors_explained():
                connection = self._connect(create=True)
                try:
                    self._set_wal_mode(connection)
                    self._create_or_check_schema(connection)
                finally:
                    connection.close()
            self._ready = True

    def _set_wal_mode(self, connection):
        # Switching to WAL needs a moment alone with the file and does not always wait for the
        # busy timeout, so when two processes open a new file at once, retry until it does.
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if mode.lower() != "wal":
            raise sqlite3.OperationalError(f"the file system does not allow WAL mode (journal mode is {mode!r})")

    def _create_or_check_schema(self, connection):
        connection.execute("BEGIN IMMEDIATE")
        try:
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if version == 0 and not tables:
                for statement in _SCHEMA.split(";"):  # not executescript: it would commit first
                    if statement.strip():
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version == 1 and "drawings" in tables:
                for statement in _ADD_OWNER:  # drawings kept before owners existed belong to no visitor
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version != SCHEMA_VERSION or "drawings" not in tables:
                raise sqlite3.DatabaseError(
                    f"not a drawings database (schema version {version}, tables {sorted(tables)})"
                )
            else:
                columns = {row[1] for row in connection.execute("PRAGMA table_info(drawings)")}
                if not _COLUMNS <= columns:
                    raise sqlite3.DatabaseError(f"not a drawings database (missing columns {sorted(_COLUMNS - columns)})")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    @contextlib.contextmanager
    def _errors_explained(self):
        try:
            yield
        except sqlite3.Error as error:
            raise self._explain(error) from error

    def _explain(self, error):
        text = str(error)
        if "not a database" in text or "malformed" in text or "not a drawings database" in text:
            return DrawingStoreError(
                f"The drawings database {self.path} is damaged or is not a drawings database ({text}). "
                f"It was left as it is. Move it away (for example rename it to {self.path.name}.broken) "
                f"to start a new one, or set {DRAWINGS_ENV_VAR} to another file."
            )
        if "locked" in text or "busy" in text:
            return DrawingStoreError(
                f"The drawings database {self.path} stayed locked by another writer for "
                f"{BUSY_TIMEOUT_SECONDS} s ({text}); try again."
            )
        return self._unusable(error)

    def _unusable(self, error):
        return DrawingStoreError(
            f"Cannot open or write the drawings database {self.path} ({error}). Make sure its folder "
            f"exists and is writable, or set {DRAWINGS_ENV_VAR} to a writable file path."
        )


# --- checks and conversions


def _check_model_input(model_input):
    array = np.asarray(model_input, dtype=np.float32)
    squeezed = np.squeeze(array)
    if squeezed.shape != IMAGE_SHAPE:
        raise ValueError(f"model_input has shape {array.shape}; expected {IMAGE_SHAPE} (the image the model sees).")
    if not np.all(np.isfinite(squeezed)) or squeezed.min() < 0.0 or squeezed.max() > 1.0:
        raise ValueError(f"model_input has {describe_values(squeezed)}; expected floats in [0, 1].")
    return np.ascontiguousarray(squeezed)


def _check_digit(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < NUM_CLASSES:
        raise ValueError(f"{name} is {value!r}; expected a digit 0-9.")
    return int(value)


def _check_probabilities(probabilities):
    if probabilities is None:
        return None
    values = [float(value) for value in np.asarray(probabilities, dtype=np.float64).ravel()]
    if len(values) != NUM_CLASSES or not all(math.isfinite(value) for value in values):
        raise ValueError(f"probabilities has {len(values)} values; expected {NUM_CLASSES} finite numbers, one per digit.")
    return json.dumps(values)


def _check_canvas_png(canvas_png):
    if canvas_png is None:
        return None
    canvas_png = bytes(canvas_png)
    if not canvas_png.startswith(_PNG_SIGNATURE):
        raise ValueError(f"canvas_png does not start with the PNG signature (starts {canvas_png[:8]!r}); expected PNG bytes.")
    if len(canvas_png) > MAX_CANVAS_PNG_BYTES:
        raise ValueError(f"canvas_png is {len(canvas_png)} bytes; at most {MAX_CANVAS_PNG_BYTES} are kept.")
    return canvas_png


def _check_text(value, name):
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is {value!r}; expected a non-empty string.")
    return value


def _check_optional_text(value, name):
    return None if value is None else _check_text(value, name)


def _database_bytes(connection):
    return connection.execute("PRAGMA page_count").fetchone()[0] * connection.execute("PRAGMA page_size").fetchone()[0]


def _model_input_from_bytes(blob):
    return np.frombuffer(blob, dtype=np.float32).reshape(IMAGE_SHAPE).copy()


def _drawing_from_row(row, canvas_png=None):
    drawing_id, label, predicted, probabilities, model_id, created_at, source, model_input = row
    return Drawing(
        id=drawing_id,
        label=label,
        predicted=predicted,
        probabilities=None if probabilities is None else tuple(json.loads(probabilities)),
        model_id=model_id,
        created_at=created_at,
        source=source,
        model_input=_model_input_from_bytes(model_input),
        canvas_png=canvas_png,
    )


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
