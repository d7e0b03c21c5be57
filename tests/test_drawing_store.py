import datetime
import io
import multiprocessing
import sqlite3
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from digit_app.drawing_store import _SCHEMA, DrawingStore, DrawingStoreError
from digit_app.drawings_npz import MAX_IMPORT_BYTES
from digit_app.settings import DEFAULT_DRAWINGS_PATH, DRAWINGS_ENV_VAR

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32  # only the signature is checked


@pytest.fixture
def digits(small_mnist):
    """Twenty real MNIST digits as uint8 images and labels."""
    return small_mnist.x_train[:20], small_mnist.y_train[:20]


@pytest.fixture
def filled_store(drawing_store, digits):
    """Three drawings: a 5 read as 3, a 0 read right, a 4 with no reading."""
    images, _ = digits
    drawing_store.add(images[0] / 255, 5, predicted=3, model_id="default-cnn")
    drawing_store.add(images[1] / 255, 0, predicted=0, model_id="default-cnn")
    drawing_store.add(images[2] / 255, 4, source="import")
    return drawing_store


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


# --- add, get, list, delete


def test_add_then_get_gives_back_every_field(drawing_store, digits):
    image = digits[0][0].astype(np.float32) / 255
    probabilities = np.linspace(0, 1, 10)
    drawing_id = drawing_store.add(
        image, 5, canvas_png=PNG_BYTES, predicted=3, probabilities=probabilities, model_id="dense-128"
    )
    drawing = drawing_store.get(drawing_id)
    assert drawing.model_input.dtype == np.float32 and drawing.model_input.shape == (28, 28)
    np.testing.assert_array_equal(drawing.model_input, image)
    assert drawing.canvas_png == PNG_BYTES
    assert (drawing.label, drawing.predicted, drawing.model_id, drawing.source) == (5, 3, "dense-128", "draw")
    assert drawing.probabilities == pytest.approx(probabilities)
    assert drawing.wrong
    created = datetime.datetime.fromisoformat(drawing.created_at)
    assert created.utcoffset() == datetime.timedelta(0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - created) < datetime.timedelta(minutes=1)
    assert drawing_store.get(drawing_id + 1) is None


def test_add_accepts_a_model_batch_of_one(drawing_store, digits):
    image = digits[0][0].astype(np.float32) / 255
    drawing_id = drawing_store.add(image.reshape(1, 28, 28, 1), 5)
    np.testing.assert_array_equal(drawing_store.get(drawing_id).model_input, image)


def test_list_is_newest_first_and_filters(filled_store):
    assert [drawing.label for drawing in filled_store.list()] == [4, 0, 5]
    assert all(drawing.canvas_png is None for drawing in filled_store.list())
    assert [drawing.label for drawing in filled_store.list(label=0)] == [0]
    assert [drawing.label for drawing in filled_store.list(wrong_only=True)] == [5]
    assert filled_store.list(label=0, wrong_only=True) == []
    assert [drawing.label for drawing in filled_store.list(limit=1, offset=1)] == [0]
    assert filled_store.count() == 3
    assert filled_store.count(wrong_only=True) == 1
    assert filled_store.counts_by_label() == {0: 1, 1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: 0, 7: 0, 8: 0, 9: 0}
    assert filled_store.counts_by_label(wrong_only=True)[5] == 1


def test_delete_one_then_all(filled_store):
    newest = filled_store.list()[0]
    assert filled_store.delete(newest.id) is True
    assert filled_store.delete(newest.id) is False
    assert filled_store.get(newest.id) is None
    assert [drawing.label for drawing in filled_store.list()] == [0, 5]
    assert filled_store.delete_all() == 2
    assert filled_store.count() == 0 and filled_store.list() == []


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model_input": np.zeros((28, 27))}, "shape"),
        ({"model_input": np.full((28, 28), 255.0)}, r"\[0, 1\]"),
        ({"model_input": np.full((28, 28), np.nan)}, r"\[0, 1\]"),
        ({"label": 10}, "label is 10"),
        ({"label": True}, "label is True"),
        ({"predicted": -1}, "predicted is -1"),
        ({"probabilities": [0.1] * 9}, "9 values"),
        ({"canvas_png": b"GIF89a"}, "PNG"),
        ({"source": ""}, "source"),
    ],
)
def test_add_refuses_bad_values_and_stores_nothing(drawing_store, changes, message):
    arguments = {"model_input": np.zeros((28, 28), np.float32), "label": 1, **changes}
    with pytest.raises(ValueError, match=message):
        drawing_store.add(**arguments)
    assert drawing_store.count() == 0


# --- the database file


def test_wal_mode_is_on(filled_store):
    with sqlite3.connect(filled_store.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(DRAWINGS_ENV_VAR, str(tmp_path / "elsewhere.sqlite3"))
    assert DrawingStore().path == tmp_path / "elsewhere.sqlite3"
    monkeypatch.delenv(DRAWINGS_ENV_VAR)
    assert DrawingStore().path == DEFAULT_DRAWINGS_PATH
    assert DrawingStore().path.parts[-2:] == ("data", "drawings.sqlite3")


def test_a_corrupt_file_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "drawings.sqlite3"
    garbage = np.random.default_rng(0).bytes(8192)
    path.write_bytes(garbage)
    store = DrawingStore(path)
    with pytest.raises(DrawingStoreError) as caught:
        store.count()
    message = str(caught.value)
    assert str(path) in message and "Move it away" in message and DRAWINGS_ENV_VAR in message
    with pytest.raises(DrawingStoreError):
        store.add(np.zeros((28, 28)), 1)
    assert path.read_bytes() == garbage
    path.rename(tmp_path / "drawings.sqlite3.broken")  # what the message says to do
    assert store.count() == 0


def test_another_programs_database_is_not_taken_over(tmp_path):
    path = tmp_path / "other.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(DrawingStoreError, match="not a drawings database"):
        DrawingStore(path).count()
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["invoices"]


@pytest.mark.parametrize("make_location", ["folder is a file", "path is a folder"])
def test_an_unusable_location_is_reported(tmp_path, make_location):
    if make_location == "folder is a file":
        (tmp_path / "plain-file").write_text("not a folder")
        path = tmp_path / "plain-file" / "drawings.sqlite3"
    else:
        path = tmp_path / "a-folder"
        path.mkdir()
    with pytest.raises(DrawingStoreError) as caught:
        DrawingStore(path).add(np.zeros((28, 28)), 1)
    message = str(caught.value)
    assert str(path) in message and "writable" in message and DRAWINGS_ENV_VAR in message


# --- many writers at once


def add_tagged_drawings(path, writer, count, barrier):
    """Add `count` drawings tagged with the writer's name (runs in threads and processes)."""
    store = DrawingStore(path)
    image = np.full((28, 28), 0.5, np.float32)
    barrier.wait(timeout=120)
    for index in range(count):
        store.add(image, index % 10, predicted=(index + 1) % 10, model_id=f"{writer}-{index}")


def test_threads_and_processes_writing_at_once_lose_nothing(tmp_path):
    """8 threads x 50 adds and 2 processes x 50 adds, all on a new file at the same moment."""
    path = tmp_path / "drawings.sqlite3"
    num_threads, num_processes, per_writer = 8, 2, 50
    context = multiprocessing.get_context("spawn")  # forking a process that runs threads is unsafe
    barrier = context.Barrier(num_threads + num_processes)
    processes = [
        context.Process(target=add_tagged_drawings, args=(path, f"process{n}", per_writer, barrier))
        for n in range(num_processes)
    ]
    shared_store = DrawingStore(path)  # one store in many threads, as the app's cached one is
    errors = []

    def thread_writer(name):
        try:
            barrier.wait(timeout=120)
            for index in range(per_writer):
                shared_store.add(np.full((28, 28), 0.5, np.float32), index % 10, model_id=f"{name}-{index}")
        except Exception as error:  # collected: an exception in a thread would otherwise pass unseen
            errors.append(error)

    threads = [threading.Thread(target=thread_writer, args=(f"thread{n}",)) for n in range(num_threads)]
    for worker in processes + threads:
        worker.start()
    for worker in processes + threads:
        worker.join(timeout=180)
    assert errors == []
    assert [process.exitcode for process in processes] == [0] * num_processes
    with sqlite3.connect(path) as connection:
        model_ids = [row[0] for row in connection.execute("SELECT model_id FROM drawings")]
    writers = [f"thread{n}" for n in range(num_threads)] + [f"process{n}" for n in range(num_processes)]
    expected = {f"{writer}-{index}" for writer in writers for index in range(per_writer)}
    assert len(model_ids) == (num_threads + num_processes) * per_writer
    assert set(model_ids) == expected
    assert shared_store.count() == len(expected)


# --- training arrays and the evaluation split


def test_training_arrays_are_mnist_like(drawing_store, digits):
    images, labels = digits
    for image, label in zip(images, labels):
        drawing_store.add(image / 255, int(label))
    train_images, train_labels = drawing_store.training_arrays()
    assert train_images.dtype == np.uint8 and train_labels.dtype == np.uint8
    np.testing.assert_array_equal(train_images, images)  # oldest first, exact after /255 and back
    np.testing.assert_array_equal(train_labels, labels)


def test_training_arrays_of_an_empty_store(drawing_store):
    images, labels = drawing_store.training_arrays()
    assert images.shape == (0, 28, 28) and labels.shape == (0,)


def add_numbered_drawings(store, count):
    """Drawings whose pixel (0, 0) holds their number, to follow them through a split."""
    for number in range(count):
        image = np.zeros((28, 28), np.uint8)
        image[0, 0] = number
        store.add(image / 255, number % 10)


def test_split_for_evaluation_is_deterministic_disjoint_and_stable(drawing_store):
    add_numbered_drawings(drawing_store, 200)
    split = drawing_store.split_for_evaluation(fraction=0.25, seed=1)
    again = drawing_store.split_for_evaluation(fraction=0.25, seed=1)
    for first, second in zip(split, again):
        np.testing.assert_array_equal(first, second)
    train_numbers = set(split.train_images[:, 0, 0].tolist())
    evaluation_numbers = set(split.evaluation_images[:, 0, 0].tolist())
    assert train_numbers.isdisjoint(evaluation_numbers)
    assert train_numbers | evaluation_numbers == set(range(200))
    assert 30 <= len(evaluation_numbers) <= 70  # about a quarter of 200
    np.testing.assert_array_equal(split.evaluation_labels, split.evaluation_images[:, 0, 0] % 10)
    other_seed = drawing_store.split_for_evaluation(fraction=0.25, seed=2)
    assert set(other_seed.evaluation_images[:, 0, 0].tolist()) != evaluation_numbers

    add_numbered_drawings(drawing_store, 50)  # new drawings must not move old ones across
    grown = drawing_store.split_for_evaluation(fraction=0.25, seed=1)
    grown_old = {number for number in grown.evaluation_images[:, 0, 0].tolist()[: len(evaluation_numbers)]}
    assert grown_old == evaluation_numbers


@pytest.mark.parametrize("fraction, evaluation_size", [(0.0, 0), (1.0, 30)])
def test_split_for_evaluation_extremes(drawing_store, fraction, evaluation_size):
    add_numbered_drawings(drawing_store, 30)
    split = drawing_store.split_for_evaluation(fraction=fraction)
    assert len(split.evaluation_images) == evaluation_size
    assert len(split.train_images) == 30 - evaluation_size


def test_split_for_evaluation_refuses_a_bad_fraction(drawing_store):
    with pytest.raises(ValueError, match="between 0 and 1"):
        drawing_store.split_for_evaluation(fraction=1.5)


# --- export and import


def test_export_then_import_is_bit_identical(tmp_path, drawing_store, digits):
    images, labels = digits
    for image, label in zip(images, labels):
        drawing_store.add(image / 255, int(label), predicted=int(label))
    exported = tmp_path / "mine"  # no suffix: the file is written where asked
    assert drawing_store.export_npz(exported) == len(images)
    with np.load(exported, allow_pickle=False) as archive:
        assert sorted(archive.files) == ["images", "labels"]
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == images.shape
        assert archive["labels"].dtype == np.uint8
        np.testing.assert_array_equal(archive["images"], images)
        np.testing.assert_array_equal(archive["labels"], labels)

    other = DrawingStore(tmp_path / "other.sqlite3")
    assert other.import_npz(exported) == len(images)
    assert other.count() == len(images)
    assert {drawing.source for drawing in other.list()} == {"import"}
    round_tripped_images, round_tripped_labels = other.training_arrays()
    np.testing.assert_array_equal(round_tripped_images, images)
    np.testing.assert_array_equal(round_tripped_labels, labels)

    in_memory = io.BytesIO()
    other.export_npz(in_memory)
    assert other.import_npz(in_memory.getvalue()) == len(images)  # bytes, as an upload gives them
    assert other.count() == 2 * len(images)


def test_import_with_a_predictor_keeps_each_drawing_with_its_reading(drawing_store, digits, tiny_trained_model):
    from digit_app.inference import Predictor

    images, labels = digits
    predictor = Predictor(tiny_trained_model.model, "tiny")
    expected = predictor.predict_batch(images)[:, :10].argmax(axis=1)  # the digits; an 11th column is "not a digit"
    drawing_store.import_npz(io.BytesIO(npz_bytes(images=images, labels=labels)), predictor=predictor)
    kept = list(reversed(drawing_store.list()))
    assert [drawing.predicted for drawing in kept] == [int(digit) for digit in expected]
    assert {drawing.model_id for drawing in kept} == {"tiny"}
    assert all(drawing.probabilities is not None for drawing in kept)
    assert drawing_store.count(wrong_only=True) == int((expected != labels).sum())


def test_export_of_an_empty_store_says_so(drawing_store):
    with pytest.raises(ValueError, match="no drawings"):
        drawing_store.export_npz(io.BytesIO())


def test_import_keeps_float_images_as_they_are(drawing_store, digits):
    images = (digits[0][:3] / 255).astype(np.float64)
    drawing_store.import_npz(io.BytesIO(npz_bytes(images=images, labels=np.array([1, 2, 3], np.int64))))
    stored = [drawing.model_input for drawing in reversed(drawing_store.list())]
    np.testing.assert_array_equal(np.stack(stored), images.astype(np.float32))
    assert [drawing.label for drawing in reversed(drawing_store.list())] == [1, 2, 3]


def zeros(count, shape=(28, 28), dtype=np.uint8):
    return np.zeros((count, *shape), dtype)


def labels_of(count, dtype=np.uint8):
    return np.arange(count, dtype=dtype) % 10


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, zeros(2))
    return buffer.getvalue()


def truncated_npz():
    whole = npz_bytes(images=np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8), labels=labels_of(50))
    return whole[: len(whole) // 2]


def npz_with_a_lying_header():
    """A valid zip whose images.npy header promises more data than there is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        with archive.open("images.npy", "w") as member:
            np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False, "shape": (5, 28, 28)})
            member.write(b"\x00" * 100)
        with archive.open("labels.npy", "w") as member:
            np.save(member, labels_of(5))
    return buffer.getvalue()


IMPORT_CASES = {
    "not an npz": (lambda: b"images,labels\n1,2\n", "not an .npz"),
    "a bare npy": (npy_bytes, "single .npy array"),
    "truncated": (truncated_npz, "cut short"),
    "header lies": (npz_with_a_lying_header, "cannot be read"),
    "pickled objects": (lambda: npz_bytes(images=np.array([{"a": 1}, None], dtype=object), labels=labels_of(2)), "object arrays"),
    "pickled labels": (lambda: npz_bytes(images=zeros(2), labels=np.array([1, "x"], dtype=object)), "object arrays"),
    "missing labels": (lambda: npz_bytes(images=zeros(2)), "no 'labels'"),
    "missing both": (lambda: npz_bytes(x_train=zeros(2)), "no 'images' or 'labels'.*x_train"),
    "flat images": (lambda: npz_bytes(images=zeros(2, (784,)), labels=labels_of(2)), r"shape \(2, 784\)"),
    "wrong image size": (lambda: npz_bytes(images=zeros(2, (32, 32)), labels=labels_of(2)), r"shape \(2, 32, 32\)"),
    "one image": (lambda: npz_bytes(images=zeros(1)[0], labels=labels_of(1)), r"shape \(28, 28\)"),
    "int64 images": (lambda: npz_bytes(images=zeros(2, dtype=np.int64), labels=labels_of(2)), "dtype int64"),
    "float labels": (lambda: npz_bytes(images=zeros(2), labels=np.array([1.0, 2.0])), "'labels' has dtype float64"),
    "2-d labels": (lambda: npz_bytes(images=zeros(2), labels=np.array([[1], [2]])), r"'labels' has shape \(2, 1\)"),
    "label 10": (lambda: npz_bytes(images=zeros(3), labels=np.array([1, 10, 2])), r"holds \[10\]"),
    "label -1": (lambda: npz_bytes(images=zeros(3), labels=np.array([1, -1, 2])), r"holds \[-1\]"),
    "float images above 1": (lambda: npz_bytes(images=zeros(2, dtype=np.float32) + 2, labels=labels_of(2)), r"\[0, 1\]"),
    "NaN images": (lambda: npz_bytes(images=zeros(2, dtype=np.float32) * np.nan, labels=labels_of(2)), r"\[0, 1\]"),
    "lengths differ": (lambda: npz_bytes(images=zeros(3), labels=labels_of(2)), "3 images but 2 labels"),
    "empty": (lambda: npz_bytes(images=zeros(0), labels=labels_of(0)), "no drawings"),
    "too many drawings": (lambda: npz_bytes(images=zeros(10_001), labels=labels_of(10_001)), "10001 drawings; at most 10000"),
}


@pytest.mark.parametrize("case", IMPORT_CASES)
def test_import_refuses_bad_files_and_changes_nothing(filled_store, case):
    make_file, message = IMPORT_CASES[case]
    before = filled_store.training_arrays()
    with pytest.raises(ValueError, match=message):
        filled_store.import_npz(io.BytesIO(make_file()))
    after = filled_store.training_arrays()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[1], before[1])


def test_import_refuses_a_file_over_the_byte_limit_before_reading_it(tmp_path, filled_store):
    huge = tmp_path / "huge.npz"
    with open(huge, "wb") as file:
        file.truncate(MAX_IMPORT_BYTES + 1)  # sparse: no 50 MB written
    with pytest.raises(ValueError, match="at most 50 MB"):
        filled_store.import_npz(huge)
    with pytest.raises(ValueError, match="at most 50 MB"):
        filled_store.import_npz(io.BytesIO(b"\0" * (MAX_IMPORT_BYTES + 1)))
    assert filled_store.count() == 3


def test_import_of_a_missing_path_says_so(tmp_path, filled_store):
    with pytest.raises(ValueError, match="Cannot read"):
        filled_store.import_npz(tmp_path / "nowhere.npz")


# --- owners, quotas and giving space back


def _image(value=0.5):
    return np.full((28, 28), value, np.float32)


def test_an_owners_store_sees_and_deletes_only_their_drawings(tmp_path):
    path = tmp_path / "shared.sqlite3"
    alice, bob, everyone = DrawingStore(path, owner="alice"), DrawingStore(path, owner="bob"), DrawingStore(path)
    alice_ids = [alice.add(_image(), 1) for _ in range(3)]
    bob_id = bob.add(_image(), 2)
    assert alice.count() == 3 and bob.count() == 1 and everyone.count() == 4
    assert alice.delete(bob_id) is False and bob.get(bob_id) is not None
    assert alice.get(bob_id) is None
    assert alice.delete_all() == 3
    assert everyone.count() == 1 and [drawing.id for drawing in everyone.list()] == [bob_id]
    assert alice_ids[0] not in [drawing.id for drawing in everyone.list()]


def test_quotas_refuse_with_a_message_that_names_the_limit(tmp_path):
    from digit_app.drawing_store import QuotaReached
    from digit_app.serving import Quotas

    path = tmp_path / "quota.sqlite3"
    visitor = DrawingStore(path, owner="v1", quotas=Quotas(drawings_per_visitor=2, total_drawings=3))
    visitor.add(_image(), 1)
    visitor.add(_image(), 1)
    with pytest.raises(QuotaReached, match="You have 2 drawings and each visitor may keep 2"):
        visitor.add(_image(), 1)
    other = DrawingStore(path, owner="v2", quotas=Quotas(drawings_per_visitor=2, total_drawings=3))
    other.add(_image(), 3)
    with pytest.raises(QuotaReached, match="holds 3 drawings, and keeps at most 3 in all"):
        other.add(_image(), 3)
    host = DrawingStore(path, quotas=Quotas(total_drawings=1000, database_megabytes=1))
    images = np.zeros((400, 28, 28), np.uint8)  # 400 x 3 kB: past 1 MB
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=np.zeros(400, np.uint8))
    with pytest.raises(QuotaReached, match="may grow to 1 MB"):
        host.import_npz(buffer.getvalue())
    assert host.count() == 3  # nothing of the refused import was kept


def _file_bytes(path):
    """The database file and its write-ahead log, as the disk holds them."""
    return sum(file.stat().st_size for file in (path, Path(f"{path}-wal")) if file.exists())


def test_deleting_gives_the_space_back(tmp_path):
    path = tmp_path / "big.sqlite3"
    drawings = DrawingStore(path)
    buffer = io.BytesIO()
    np.savez(buffer, images=np.zeros((3000, 28, 28), np.uint8), labels=np.zeros(3000, np.uint8))
    drawings.import_npz(buffer.getvalue())
    full_size = _file_bytes(path)
    assert drawings.delete_all() == 3000
    emptied_size = _file_bytes(path)
    assert full_size > 9_000_000 and emptied_size < 200_000


def test_a_version_1_database_gets_owners_and_keeps_its_drawings(tmp_path):
    path = tmp_path / "old.sqlite3"
    connection = sqlite3.connect(path)
    old_schema = _SCHEMA.replace(",\n    owner TEXT", "").split("CREATE INDEX drawings_by_owner")[0]
    connection.executescript(old_schema + "PRAGMA user_version = 1;")
    connection.execute(
        "INSERT INTO drawings (model_input, label, created_at, source) VALUES (?, 4, '2026-01-01', 'draw')",
        (_image().tobytes(),),
    )
    connection.commit()
    connection.close()
    assert DrawingStore(path).count() == 1
    assert DrawingStore(path, owner="someone").count() == 0
