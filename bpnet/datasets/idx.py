"""A reader for IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is two zero bytes, a dtype code, the number of dimensions, each dimension as a
big-endian uint32, then the data in C order; it is often gzip-compressed. A damaged file
(bad magic, unknown dtype, too little or too much data) raises a ValueError naming the file,
never a wrong array.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

# dtype code -> big-endian numpy dtype, as in the format's description
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MAX_BYTES = 1 << 31  # a header claiming more is damaged, not a data set we can hold
_CHUNK = 1 << 24


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file, gzip-compressed (detected from its content) or plain.

    Shape: the dimensions in the header, e.g. (60000, 28, 28) for ``*-idx3-ubyte``, (60000,)
    for ``*-idx1-ubyte``; the dtype in native byte order (uint8 for MNIST).
    """
    path = Path(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    stream = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
    try:
        with stream:
            magic = stream.read(4)
            if len(magic) < 4 or magic[:2] != b"\x00\x00":
                raise ValueError(f"{path}: not an IDX file (bad magic number {magic.hex()!r})")
            code, ndim = magic[2], magic[3]
            if code not in _DTYPES:
                known = ", ".join(f"0x{c:02X}" for c in _DTYPES)
                raise ValueError(f"{path}: unknown IDX dtype code 0x{code:02X}; known: {known}")
            header = stream.read(4 * ndim)
            if len(header) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header ({ndim} dimensions expected)")
            shape = tuple(int.from_bytes(header[i : i + 4], "big") for i in range(0, 4 * ndim, 4))
            dtype = np.dtype(_DTYPES[code])
            expected = math.prod(shape) * dtype.itemsize
            if expected > MAX_BYTES:
                raise ValueError(f"{path}: IDX header claims {expected} bytes of data {shape}")
            data = _read_at_most(stream, expected + 1)  # one byte more reveals trailing data
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: cannot read IDX data ({error})") from error
    if len(data) != expected:
        found = "more" if len(data) > expected else str(len(data))
        problem = "truncated" if len(data) < expected else "longer than its header says"
        raise ValueError(
            f"{path}: IDX data {problem}: {shape} of {dtype.name} needs {expected} bytes, "
            f"found {found}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def load_idx_pair(
    images_path: str | Path, labels_path: str | Path
) -> tuple[np.ndarray, np.ndarray]:
    """Read an images file and its labels file and check they describe the same examples.

    Shape: images (N, ...), labels (N,).
    """
    images, labels = read_idx(images_path), read_idx(labels_path)
    if labels.ndim != 1:
        raise ValueError(f"{labels_path}: labels must be one-dimensional, got shape {labels.shape}")
    if images.ndim < 2 or len(images) != len(labels):
        raise ValueError(
            f"{images_path} has {images.shape[0] if images.ndim else 0} images of shape "
            f"{images.shape[1:]} but {labels_path} has {len(labels)} labels"
        )
    return images, labels


def _read_at_most(stream, size: int) -> bytearray:
    """Read until ``size`` bytes or the end, in chunks, so a lying header allocates nothing."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(min(_CHUNK, size - len(data)))
        if not chunk:
            break
        data += chunk
    return data
