"""Tests for the IDX reader on small files the tests write themselves: plain and gzip round
trips, and damaged files (bad magic, unknown dtype, short or long data) that must raise a
ValueError naming the file rather than return a wrong array."""

import gzip

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from bpnet.datasets.idx import load_idx_pair, read_idx

CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B,
         np.dtype("i4"): 0x0C, np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}  # fmt: skip


def idx_bytes(array: np.ndarray, code: int | None = None, shape=None) -> bytes:
    """The IDX encoding of ``array``; ``code`` and ``shape`` override the header to damage it."""
    code = CODES[array.dtype] if code is None else code
    shape = array.shape if shape is None else shape
    header = bytes([0, 0, code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, compress: bool = False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_images_round_trip_plain_and_gzip(tmp_path, compress):
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    path = write(tmp_path / "imgs-idx3-ubyte", idx_bytes(images), compress)
    result = read_idx(path)
    assert result.dtype == np.uint8 and result.shape == (5, 28, 28)
    assert_array_equal(result, images)


@pytest.mark.parametrize("dtype", ["i1", "i2", "i4", "f4", "f8"])
def test_every_idx_dtype_reads_in_native_byte_order(tmp_path, dtype):
    array = (np.arange(12).reshape(3, 4) - 5).astype(dtype)
    result = read_idx(write(tmp_path / "a.idx", idx_bytes(array), compress=True))
    assert result.dtype == np.dtype(dtype) and result.dtype.isnative
    assert_array_equal(result, array)


def test_the_returned_array_is_the_callers_own_writable_copy(tmp_path):
    result = read_idx(write(tmp_path / "a", idx_bytes(np.zeros((2, 3), np.uint8))))
    result[0, 0] = 7  # mnist.py freezes its cached copy itself
    assert result[0, 0] == 7


def test_truncated_data_raises_naming_the_file(tmp_path):
    path = write(tmp_path / "short-idx1-ubyte", idx_bytes(np.arange(10, dtype=np.uint8))[:-3])
    with pytest.raises(ValueError, match=r"short-idx1-ubyte.*truncated.*needs 10 bytes, found 7"):
        read_idx(path)


def test_data_longer_than_the_header_raises(tmp_path):
    path = write(tmp_path / "long.gz", idx_bytes(np.arange(10, dtype=np.uint8)) + b"\x00", True)
    with pytest.raises(ValueError, match=r"long\.gz.*longer than its header says.*found more"):
        read_idx(path)


def test_bad_magic_raises(tmp_path):
    path = write(tmp_path / "magic", b"\x01\x00" + idx_bytes(np.zeros(3, np.uint8))[2:])
    with pytest.raises(ValueError, match=r"magic.*not an IDX file"):
        read_idx(path)


def test_unknown_dtype_code_raises(tmp_path):
    path = write(tmp_path / "code", idx_bytes(np.zeros(3, np.uint8), code=0x0A))
    with pytest.raises(ValueError, match=r"code.*unknown IDX dtype code 0x0A"):
        read_idx(path)


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00"], ids=repr)
def test_truncated_header_raises(tmp_path, data):
    with pytest.raises(ValueError, match=r"hdr: (not an IDX file|truncated IDX header)"):
        read_idx(write(tmp_path / "hdr", data))


def test_truncated_gzip_stream_raises(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(5000, dtype=np.int32)))
    path = write(tmp_path / "cut.gz", data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz"):
        read_idx(path)


def test_header_claiming_a_huge_array_fails_fast(tmp_path):
    path = write(tmp_path / "huge", idx_bytes(np.zeros(1, np.uint8), shape=(2**31, 2**31, 4)))
    with pytest.raises(ValueError, match=r"huge.*claims"):  # not a MemoryError: nothing was
        read_idx(path)  # allocated for the claimed 2**64 values


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent-idx1-ubyte")


def test_pair_with_matching_counts_loads(tmp_path):
    images = np.zeros((4, 2, 2), np.uint8)
    labels = np.array([1, 2, 3, 4], np.uint8)
    x, y = load_idx_pair(
        write(tmp_path / "x", idx_bytes(images)), write(tmp_path / "y", idx_bytes(labels), True)
    )
    assert x.shape == (4, 2, 2)
    assert_array_equal(y, labels)


def test_pair_count_mismatch_names_both_files(tmp_path):
    images = write(tmp_path / "imgs", idx_bytes(np.zeros((4, 2, 2), np.uint8)))
    labels = write(tmp_path / "lbls", idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(ValueError, match=r"imgs has 4 images.*lbls has 3 labels"):
        load_idx_pair(images, labels)


def test_pair_rejects_labels_that_are_not_one_dimensional(tmp_path):
    images = write(tmp_path / "imgs", idx_bytes(np.zeros((4, 2, 2), np.uint8)))
    labels = write(tmp_path / "lbls", idx_bytes(np.zeros((4, 1), np.uint8)))
    with pytest.raises(ValueError, match=r"lbls.*one-dimensional"):
        load_idx_pair(images, labels)
