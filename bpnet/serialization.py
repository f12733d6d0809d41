"""Save and load weights as ``.npz`` files with PyTorch's key names.

A file saved here loads into the equivalent ``torch.nn.Sequential`` with
``model.load_state_dict({k: torch.from_numpy(v) for k, v in bpnet.load(path).items()})``.
Writes are atomic: the file appears whole or not at all. Reading checks every member's
size before reading it, so a small hostile file cannot make ``load`` allocate gigabytes.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from .nn.module import Module

# Member names starting with this are bpnet's own (metadata a later version may write);
# save() refuses such keys and load() leaves such members out of the weights.
RESERVED_PREFIX = "__bpnet"
METADATA_KEY = RESERVED_PREFIX + "_model__"  # a network's description (bpnet.model_io)
DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB of arrays: far above any network bpnet trains


def save(obj, path, metadata: str | None = None) -> Path:
    """Write a Module's ``state_dict()`` (or a dict of arrays by name) to ``path`` (.npz).

    Keys must be non-empty strings; values numeric or boolean arrays. The data goes to a
    temporary file in the same folder, is flushed to disk, and is then renamed over
    ``path``, so a crash never leaves a half-written file. ``metadata``, a text (the JSON
    description ``bpnet.model_io`` writes), is stored under ``METADATA_KEY``; ``load``
    leaves it out.

    Raises:
        TypeError: not a Module or a dict of arrays (an optimizer's state_dict included),
            a key that is not a string, or a value that is not a numeric array.
        ValueError: an empty key or one starting with ``"__bpnet"`` (reserved).
    """
    arrays = _arrays_to_save(obj)
    if metadata is not None:
        arrays[METADATA_KEY] = np.array(metadata)  # a unicode array: no pickle needed
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_npz(f, arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; a saved model is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _write_npz(f, arrays: dict[str, np.ndarray]) -> None:
    """The archive ``np.savez`` writes, member by member: np.savez(f, **arrays) would take
    keys named ``file`` or ``allow_pickle`` for its own arguments."""
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, value in arrays.items():
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                npy_format.write_array(member, value, allow_pickle=False)


def _arrays_to_save(obj) -> dict[str, np.ndarray]:
    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not isinstance(state, Mapping):
        raise TypeError(f"save() takes a Module or a dict of arrays, got {type(obj).__name__}")
    if "param_groups" in state and "state" in state:
        raise TypeError(
            "save() writes weights (a Module or a dict of arrays); this looks like an "
            "optimizer's state_dict, which holds numbers and lists too. Save the model's "
            "weights with bpnet.save(model, path); an optimizer restarts its running averages."
        )
    arrays = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(
                f"save() needs string keys such as '0.weight', got {key!r} "
                f"({type(key).__name__}); the file stores names, where 1 and '1' would collide"
            )
        if not key or key.startswith(RESERVED_PREFIX):
            raise ValueError(
                f"save() cannot store the key {key!r}: keys must be non-empty and not start "
                f"with {RESERVED_PREFIX!r} (kept for bpnet's own metadata)"
            )
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"save() stores numeric arrays; the value for {key!r} has dtype {array.dtype} "
                f"({type(value).__name__})"
            )
        arrays[key] = array
    return arrays


def _umask() -> int:
    """The process umask, read without os.umask's set-and-restore (which races threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def load(path, max_bytes: int | None = DEFAULT_MAX_BYTES) -> OrderedDict[str, np.ndarray]:
    """Read a state dict written by ``save`` (or ``numpy.savez``), keys in saved order.

    Args:
        path: the ``.npz`` file.
        max_bytes: refuse a file whose arrays would take more memory than this, checked
            from the sizes the file declares before anything is read (None: no limit).

    Raises:
        ValueError: the file is not a bpnet ``.npz`` (a PyTorch ``.pt`` file, a single
            ``.npy``…: the message says what it looks like), a member is not an array, or
            the arrays exceed ``max_bytes``.
    """
    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a bpnet weights file (.npz): {_looks_like(path)}")
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if any(m.filename.endswith("data.pkl") for m in members):
            raise ValueError(
                f"{path} looks like a PyTorch .pt file. Load it with torch and pass the state "
                f"dict: model.load_state_dict({{k: v.numpy() for k, v in "
                f"torch.load(path).items()}})"
            )
        budget = max_bytes
        state = OrderedDict()
        for member in members:
            name = member.filename
            if name.startswith(RESERVED_PREFIX):
                continue
            if not name.endswith(".npy"):
                raise ValueError(f"{path}: the member {name!r} is not an array (.npy)")
            if budget is not None and member.file_size > budget:
                raise ValueError(_too_big(path, max_bytes))
            with archive.open(member) as f:
                array = _read_member(f, path, name, budget, max_bytes)
            if budget is not None:
                budget -= array.nbytes
            state[name[: -len(".npy")]] = array
    return state


def _read_member(f, path: Path, name: str, budget: int | None, max_bytes) -> np.ndarray:
    """One ``.npy`` member, its header checked (no objects, a size within the budget) first."""
    try:
        version = npy_format.read_magic(f)
        if version == (1, 0):
            shape, fortran_order, dtype = npy_format.read_array_header_1_0(f)
        else:
            shape, fortran_order, dtype = npy_format.read_array_header_2_0(f)
    except ValueError as error:
        raise ValueError(f"{path}: the member {name!r} is not an array ({error})") from None
    if dtype.hasobject:
        raise ValueError(f"{path}: the member {name!r} holds Python objects, not numbers")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if budget is not None and nbytes > budget:
        raise ValueError(_too_big(path, max_bytes))
    array = np.empty(shape, dtype=dtype, order="F" if fortran_order else "C")
    if nbytes and f.readinto(memoryview(array.reshape(-1, order="A")).cast("B")) != nbytes:
        raise ValueError(f"{path}: the member {name!r} is truncated")
    return array


def _too_big(path: Path, max_bytes: int) -> str:
    return (
        f"{path} declares more than max_bytes={max_bytes:,} bytes of arrays; if you trust "
        f"the file, pass a larger max_bytes (or None) to bpnet.load"
    )


def _looks_like(path: Path) -> str:
    """A guess at what a non-zip file is, for the error message."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array; read it with numpy.load"
    if head[:1] == b"\x80":
        return (
            "it looks like a pickled (older) PyTorch file: load it with torch and pass "
            "the state dict as numpy arrays"
        )
    if head.startswith(b"\x89HDF"):
        return "it looks like an HDF5 (.h5, Keras) file"
    if len(head) >= 9 and head[8:9] == b"{":
        return "it looks like a safetensors file: read it with safetensors.numpy.load_file"
    if not head:
        return "it is empty"
    return "it is not a zip archive"
