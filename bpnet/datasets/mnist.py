"""MNIST, which ships with bpnet, and Fashion-MNIST, read from its Debian package when present.

Each split is read and checked once per process, then one read-only copy is shared by every
caller: float32 pixels in [0, 1] and int64 labels. A lock makes the first load thread-safe, so
two training jobs starting together still read the file only once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpnet.datasets.idx import load_idx_pair

SPLITS = ("train", "test")
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# sha256 of each array's C-order bytes, as listed in data/README.md
MNIST_ARRAYS = {
    "x_train": (
        (60000, 28, 28),
        "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
    ),
    "y_train": ((60000,), "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"),
    "x_test": ((10000, 28, 28), "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161"),
    "y_test": ((10000,), "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"),
}


@dataclass(frozen=True)
class DatasetInfo:
    """What bpnet knows about an image-classification data set."""

    name: str
    title: str
    class_names: tuple[str, ...]
    source: str  # where it comes from, or how to install it


_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")  # fmt: skip
DATASETS = {
    "mnist": DatasetInfo(
        "mnist",
        "MNIST handwritten digits",
        tuple("0123456789"),
        "ships with bpnet (data/mnist.npz)",
    ),
    "fashion-mnist": DatasetInfo(
        "fashion-mnist",
        "Fashion-MNIST clothing",
        _FASHION_CLASSES,
        f"apt-get install dataset-fashion-mnist (Debian package, files in {FASHION_MNIST_DIR})",
    ),
}
CLASS_NAMES: dict[str, list[str]] = {
    name: list(info.class_names) for name, info in DATASETS.items()
}

_lock = threading.Lock()
_raw: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # key -> (uint8 images, int64 labels)
_scaled: dict[tuple, tuple] = {}  # key -> (float32 (N, 784), its (N, 28, 28) view, labels)


def data_dir() -> Path:
    """Where ``mnist.npz`` lives: ``$BPNET_DATA_DIR``, else the installed package, else the repo."""
    if os.environ.get("BPNET_DATA_DIR"):
        return Path(os.environ["BPNET_DATA_DIR"])
    package = Path(__file__).resolve().parents[1]  # .../bpnet
    installed = package / "_data"  # pyproject maps the repository's data/ here
    return installed if (installed / "mnist.npz").exists() else package.parent / "data"


def available_datasets() -> dict[str, bool]:
    """Which data sets can be loaded here, e.g. ``{"mnist": True, "fashion-mnist": False}``."""
    return {
        "mnist": (data_dir() / "mnist.npz").exists(),
        "fashion-mnist": all(
            _find(FASHION_MNIST_DIR, stem) for pair in IDX_FILES.values() for stem in pair
        ),
    }


def load_mnist(split: str = "train", flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST as float32 pixels scaled to [0, 1] and int64 labels, shared and read-only.

    Shape: images (N, 784) if ``flatten`` else (N, 28, 28), labels (N,); N = 60000 for
    ``"train"``, 10000 for ``"test"``.
    """
    return load_dataset("mnist", split, flatten)


def load_mnist_uint8(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST's exact pixels, e.g. to send to the page. Shape: (N, 28, 28) uint8, (N,) int64."""
    with _lock:
        return _load_raw("mnist", split, None)[1]


def load_dataset(
    name: str, split: str = "train", flatten: bool = True, directory: str | Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load ``name`` ("mnist" or "fashion-mnist") like ``load_mnist``.

    ``directory`` holds the four IDX files (plain or ``.gz``); by default Fashion-MNIST is read
    from ``FASHION_MNIST_DIR`` and MNIST from the ``mnist.npz`` that ships with bpnet.
    """
    with _lock:
        # the uint8 original is not kept once scaled (55 MB less per process for MNIST)
        key, raw = _load_raw(name, split, directory, keep=False)
        if key not in _scaled:
            images, labels = raw
            count = len(images)
            flat = np.divide(images.reshape(count, -1), np.float32(255), dtype=np.float32)
            flat.flags.writeable = False
            square = flat.reshape(images.shape)  # a view: one buffer for both shapes
            square.flags.writeable = False
            _scaled[key] = (flat, square, labels)
        flat, square, labels = _scaled[key]
    return (flat if flatten else square), labels


def _load_raw(
    name: str, split: str, directory, keep: bool = True
) -> tuple[tuple, tuple[np.ndarray, np.ndarray] | None]:
    """Read and check one split (cached when ``keep``), returning its cache key too; the
    caller holds ``_lock``. With ``keep=False`` an already-scaled split is not read again."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if name == "mnist" and directory is None:
        path = data_dir() / "mnist.npz"
        key = (name, str(path.resolve()), split)
        read = lambda: _read_mnist_npz(path, split)  # noqa: E731
    else:
        folder = Path(directory) if directory is not None else FASHION_MNIST_DIR
        key = (name, str(folder.resolve()), split)
        read = lambda: _read_idx_split(name, folder, split)  # noqa: E731
    if key in _raw:
        return key, _raw[key]
    if not keep and key in _scaled:
        return key, None
    arrays = read()
    if keep:
        if key in _scaled:  # share the labels array the scaled copy already hands out
            arrays = (arrays[0], _scaled[key][2])
        _raw[key] = arrays
    return key, arrays


def _read_mnist_npz(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    if not path.exists():
        raise FileNotFoundError(
            f"MNIST not found at {path}; bpnet ships it as data/mnist.npz, or set BPNET_DATA_DIR"
        )
    arrays = []
    with np.load(path) as archive:  # an npz reads only the arrays asked for
        for key in (f"x_{split}", f"y_{split}"):
            shape, checksum = MNIST_ARRAYS[key]
            if key not in archive.files:
                raise ValueError(f"{path}: has no array {key!r}")
            array = archive[key]
            if array.shape != shape or array.dtype != np.uint8:
                raise ValueError(
                    f"{path}: {key} is {array.dtype} {array.shape}, expected uint8 {shape}"
                )
            digest = hashlib.sha256(memoryview(np.ascontiguousarray(array)).cast("B")).hexdigest()
            if digest != checksum:
                raise ValueError(
                    f"{path}: checksum of {key} is {digest}, expected {checksum}; "
                    "the file is damaged or not the one bpnet ships"
                )
            arrays.append(array)
    return _freeze(*arrays)


def _read_idx_split(name: str, folder: Path, split: str):
    paths = [_find(folder, stem) for stem in IDX_FILES[split]]
    if not all(paths):
        missing = [
            f"{stem}[.gz]" for stem, path in zip(IDX_FILES[split], paths, strict=True) if not path
        ]
        how = f"; install it with: {DATASETS[name].source}" if name == "fashion-mnist" else ""
        raise ValueError(f"{name} is not available: {folder} lacks {', '.join(missing)}{how}")
    images, labels = load_idx_pair(*paths)
    if images.shape[1:] != (28, 28) or images.dtype != np.uint8 or labels.max(initial=0) > 9:
        raise ValueError(
            f"{paths[0]}: expected uint8 28x28 images with labels 0..9, "
            f"got {images.dtype} {images.shape} and labels up to {labels.max(initial=0)}"
        )
    return _freeze(images, labels)


def _freeze(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = labels.astype(np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def _find(folder: Path, stem: str) -> Path | None:
    """The IDX file ``stem`` in ``folder``, compressed or not, or None."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None
