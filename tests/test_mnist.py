"""Tests for the image data sets: MNIST's shapes, values and checksums, the one shared read-only
copy, damaged or missing files, IDX directories, and Fashion-MNIST where its package is
installed (and the install hint where it is not)."""

import gzip
import hashlib
import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from bpnet.datasets import (
    CLASS_NAMES,
    DATASETS,
    available_datasets,
    data_dir,
    load_dataset,
    load_mnist,
    load_mnist_uint8,
)
from bpnet.datasets import mnist as mnist_module

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize(("split", "count"), [("train", 60000), ("test", 10000)])
def test_mnist_shapes_and_dtypes(split, count):
    images, labels = load_mnist(split)
    assert images.shape == (count, 784) and images.dtype == np.float32
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert load_mnist(split, flatten=False)[0].shape == (count, 28, 28)


@pytest.mark.parametrize(("split", "counts"), [("train", TRAIN_COUNTS), ("test", TEST_COUNTS)])
def test_mnist_class_counts(split, counts):
    assert np.bincount(load_mnist(split)[1]).tolist() == counts


def test_mnist_first_labels_and_pixel_range():
    images, labels = load_mnist()
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert images.min() == 0.0 and images.max() == 1.0
    assert abs(images.mean() - 33.318 / 255) < 1e-4


def test_float_pixels_are_the_exact_bytes_over_255():
    pixels, labels = load_mnist_uint8("test")
    assert pixels.dtype == np.uint8 and pixels.shape == (10000, 28, 28)
    assert_array_equal(load_mnist("test", flatten=False)[0], pixels / np.float32(255))
    assert labels is load_mnist("test")[1]


def test_mnist_arrays_are_read_only():
    images, labels = load_mnist()
    for array in (images, labels, load_mnist(flatten=False)[0], load_mnist_uint8()[0]):
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_every_caller_gets_the_same_shared_copy():
    images, labels = load_mnist()
    again, labels_again = load_mnist()
    assert again is images and labels_again is labels
    square = load_mnist(flatten=False)[0]
    assert square is load_mnist(flatten=False)[0]
    assert np.shares_memory(square, images)  # a view of the same buffer, not a second copy
    assert load_dataset("mnist", "train")[0] is images


def test_mnist_arrays_match_the_published_checksums():
    pixels, labels = load_mnist_uint8("train")
    for key, array in (("x_train", pixels), ("y_train", labels.astype(np.uint8))):
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
        assert digest == mnist_module.MNIST_ARRAYS[key][1]


def test_data_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.delenv("BPNET_DATA_DIR")
    assert (data_dir() / "mnist.npz").exists()


def test_damaged_mnist_file_fails_its_checksum_naming_the_file(tmp_path, monkeypatch):
    pixels, labels = load_mnist_uint8("test")
    labels = labels.astype(np.uint8)
    labels[0] = (labels[0] + 1) % 10
    np.savez(tmp_path / "mnist.npz", x_test=pixels, y_test=labels)
    monkeypatch.setenv("BPNET_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"mnist\.npz: checksum of y_test"):
        load_mnist("test")


def test_mnist_file_with_wrong_shapes_is_refused(tmp_path, monkeypatch):
    small = np.zeros((10, 28, 28), np.uint8)
    np.savez(tmp_path / "mnist.npz", x_test=small, y_test=np.zeros(10, np.uint8))
    monkeypatch.setenv("BPNET_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match=r"x_test is uint8 \(10, 28, 28\), expected"):
        load_mnist("test")


def test_missing_mnist_file_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("BPNET_DATA_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="BPNET_DATA_DIR"):
        load_mnist()
    assert available_datasets()["mnist"] is False


@pytest.mark.parametrize(("name", "split"), [("cifar", "train"), ("mnist", "val")])
def test_unknown_dataset_or_split_is_a_value_error(name, split):
    with pytest.raises(ValueError, match=r"unknown dataset|split must be"):
        load_dataset(name, split)


def _write_idx_dir(folder, count=12, seed=0):
    """Four small gzip IDX files in MNIST's layout."""
    rng = np.random.default_rng(seed)
    for split in ("train", "t10k"):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            header = bytes([0, 0, 8, array.ndim]) + b"".join(
                d.to_bytes(4, "big") for d in array.shape
            )
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(
                gzip.compress(header + array.tobytes())
            )
    return folder


def test_idx_directory_loads_once_even_from_many_threads(tmp_path):
    folder = _write_idx_dir(tmp_path)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(load_dataset("mnist", directory=folder)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert all(images is results[0][0] and labels is results[0][1] for images, labels in results)
    images, labels = results[0]
    assert images.shape == (12, 784) and images.dtype == np.float32 and labels.dtype == np.int64
    assert not images.flags.writeable and 0.0 <= images.min() and images.max() <= 1.0


def test_directory_without_idx_files_says_which_and_how_to_install(tmp_path):
    with pytest.raises(ValueError, match=r"lacks t10k-images-idx3-ubyte\[\.gz\]") as caught:
        load_dataset("fashion-mnist", "test", directory=tmp_path)
    assert "apt-get install dataset-fashion-mnist" in str(caught.value)


def test_fashion_mnist_loads_if_installed_else_says_how_to_install():
    if mnist_module.FASHION_MNIST_DIR.exists():
        assert available_datasets()["fashion-mnist"] is True
        images, labels = load_dataset("fashion-mnist", "test", flatten=False)
        assert images.shape == (10000, 28, 28) and images.dtype == np.float32
        assert np.bincount(labels).tolist() == [1000] * 10
        assert not images.flags.writeable
        assert load_dataset("fashion-mnist", "test", flatten=False)[0] is images
    else:
        assert available_datasets()["fashion-mnist"] is False
        with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist"):
            load_dataset("fashion-mnist")


def test_fashion_mnist_absent_from_its_default_place_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist_module, "FASHION_MNIST_DIR", tmp_path / "absent")
    assert available_datasets()["fashion-mnist"] is False
    with pytest.raises(ValueError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_class_names_and_dataset_descriptions():
    assert set(DATASETS) == {"mnist", "fashion-mnist"} == set(CLASS_NAMES)
    assert CLASS_NAMES["mnist"] == [str(d) for d in range(10)]
    assert (
        len(CLASS_NAMES["fashion-mnist"]) == 10 and CLASS_NAMES["fashion-mnist"][-1] == "Ankle boot"
    )
    assert set(available_datasets()) == {"mnist", "fashion-mnist"}
    assert available_datasets()["mnist"] is True
