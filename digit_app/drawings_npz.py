"""The .npz files of drawings that My drawings exports and imports: `images` (N, 28, 28) uint8
0-255 like MNIST and `labels` (N,) uint8.

An imported file is checked completely before anything is kept, and its headers before its arrays
are loaded (a header can claim anything). Accepted: `images` uint8 0-255, or float32/float64 in
[0, 1] (as models take them); `labels` of any integer dtype in 0..9; 1 <= N <=
MAX_IMPORT_DRAWINGS; at most MAX_IMPORT_BYTES. Other keys are ignored; pickled objects are never
loaded. Each problem raises a ValueError that says what was found and what is expected.
"""

import io
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
MAX_IMPORT_DRAWINGS = 10_000
MAX_IMPORT_BYTES = 50 * 1024 * 1024
IMPORT_IMAGE_DTYPES = (np.dtype(np.uint8), np.dtype(np.float32), np.dtype(np.float64))
_NPY_MAGIC = b"\x93NUMPY"


def write_drawings_npz(destination, images, labels):
    """Write images (N, 28, 28) uint8 and labels (N,) uint8 to a path or a binary file."""
    if isinstance(destination, (str, os.PathLike)):
        with open(destination, "wb") as file:  # a path as given: np.savez would append '.npz'
            np.savez_compressed(file, images=images, labels=labels)
    else:
        np.savez_compressed(destination, images=images, labels=labels)


def read_drawings_npz(file):
    """Read and check an .npz of drawings without writing anything; returns
    (model inputs float32 (N, 28, 28) in [0, 1], labels uint8 (N,)) or raises ValueError."""
    data = _read_bytes_within_limit(file)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        what = "a single .npy array" if data.startswith(_NPY_MAGIC) else "not a zip file, or it is cut short"
        raise ValueError(
            f"The file is not an .npz archive ({what}). Expected an .npz written by "
            "numpy.savez(file, images=..., labels=...) or by Export."
        ) from error
    with archive:
        names = {name.removesuffix(".npy") for name in archive.namelist() if name.endswith(".npy")}
        missing = [key for key in ("images", "labels") if key not in names]
        if missing:
            raise ValueError(
                f"The .npz has no {' or '.join(repr(key) for key in missing)} array; it has {sorted(names) or 'none'}. "
                "Expected arrays 'images' (N, 28, 28) and 'labels' (N,)."
            )
        images_header = _array_header(archive, "images")
        labels_header = _array_header(archive, "labels")
        _check_import_headers(images_header, labels_header)
        images = _read_array(archive, "images")
        labels = _read_array(archive, "labels")
    return _check_import_values(images, labels)


def _read_bytes_within_limit(file):
    """The file's bytes, its size checked before reading it."""
    if isinstance(file, (bytes, bytearray, memoryview)):
        size = len(file)
    elif isinstance(file, (str, os.PathLike)):
        try:
            size = os.path.getsize(file)
        except OSError as error:
            raise ValueError(f"Cannot read {file}: {error}.") from error
    else:
        size = file.seek(0, os.SEEK_END)
        file.seek(0)
    if size > MAX_IMPORT_BYTES:
        raise ValueError(
            f"The file is {size / 2**20:.1f} MB; at most {MAX_IMPORT_BYTES / 2**20:.0f} MB can be imported at once. "
            "Split it into smaller files."
        )
    if isinstance(file, (str, os.PathLike)):
        return Path(file).read_bytes()
    return bytes(file) if not hasattr(file, "read") else file.read()


def _array_header(archive, key):
    """(shape, dtype) from an .npy header, read before any array data."""
    try:
        with archive.open(f"{key}.npy") as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"The array {key!r} in the .npz cannot be read ({error}); the file may be damaged.") from error
    return shape, dtype


def _read_array(archive, key):
    try:
        with archive.open(f"{key}.npy") as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
        raise ValueError(f"The array {key!r} in the .npz cannot be read ({error}); the file may be damaged.") from error


def _check_import_headers(images_header, labels_header):
    """Shapes and dtypes, checked before the arrays are loaded: a header can claim anything."""
    (images_shape, images_dtype), (labels_shape, labels_dtype) = images_header, labels_header
    if images_dtype.hasobject or labels_dtype.hasobject:
        raise ValueError(
            "The .npz holds object arrays (pickled Python objects), which are never loaded. "
            "Save plain numeric arrays: images uint8 (N, 28, 28), labels integers (N,)."
        )
    if len(images_shape) != 3 or tuple(images_shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"'images' has shape {tuple(images_shape)}; expected (N, 28, 28), one 28x28 image per drawing.")
    if images_dtype not in IMPORT_IMAGE_DTYPES:
        raise ValueError(
            f"'images' has dtype {images_dtype}; expected uint8 (0-255) or float32/float64 in [0, 1]. "
            "Convert with images.astype(np.uint8) if they are 0-255."
        )
    if len(labels_shape) != 1:
        raise ValueError(f"'labels' has shape {tuple(labels_shape)}; expected (N,), one digit per image.")
    if labels_dtype.kind not in "iu":
        raise ValueError(f"'labels' has dtype {labels_dtype}; expected integers 0-9 (for example uint8).")
    num_images, num_labels = images_shape[0], labels_shape[0]
    if num_images != num_labels:
        raise ValueError(f"There are {num_images} images but {num_labels} labels; expected one label per image.")
    if num_images == 0:
        raise ValueError("The .npz holds no drawings (N = 0); nothing to import.")
    if num_images > MAX_IMPORT_DRAWINGS:
        raise ValueError(
            f"The .npz holds {num_images} drawings; at most {MAX_IMPORT_DRAWINGS} can be imported at once. "
            "Split it into smaller files."
        )


def _check_import_values(images, labels):
    if labels.min() < 0 or labels.max() >= NUM_CLASSES:
        bad = sorted({int(value) for value in labels[(labels < 0) | (labels >= NUM_CLASSES)]})[:5]
        raise ValueError(f"'labels' holds {bad}; every label must be a digit 0-9.")
    if images.dtype == np.uint8:
        model_inputs = images.astype(np.float32) / 255.0
    else:
        if not np.all(np.isfinite(images)) or images.min() < 0.0 or images.max() > 1.0:
            raise ValueError(
                f"'images' are {images.dtype} with {describe_values(images)}; float images must lie in [0, 1]. "
                "Use uint8 for 0-255 images."
            )
        model_inputs = images.astype(np.float32)
    return np.ascontiguousarray(model_inputs), labels.astype(np.uint8)


def describe_values(array):
    if not np.all(np.isfinite(array)):
        return "NaN or infinite values"
    return f"values from {array.min():g} to {array.max():g}"
