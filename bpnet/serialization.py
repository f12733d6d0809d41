"""Save and load weights as ``.npz`` files with PyTorch's key names.

A file saved here loads into the equivalent ``torch.nn.Sequential`` with
``model.load_state_dict({k: torch.from_numpy(v) for k, v in bpnet.load(path).items()})``.
Writes are atomic: the file appears whole or not at all.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .nn.module import Module


def save(obj, path) -> Path:
    """Write a Module's ``state_dict()`` (or a dict of arrays) to ``path`` (.npz).

    The data goes to a temporary file in the same folder, is flushed to disk, and is
    then renamed over ``path``, so a crash never leaves a half-written file.
    """
    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not isinstance(state, dict):
        raise TypeError(f"save() takes a Module or a dict of arrays, got {type(obj).__name__}")
    arrays = {str(k): np.asarray(v) for k, v in state.items()}
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it owner-only; a saved model is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    """The process umask, read without os.umask's set-and-restore (which races threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def load(path) -> OrderedDict[str, np.ndarray]:
    """Read a state dict written by ``save`` (or ``numpy.savez``), keys in saved order."""
    with np.load(path, allow_pickle=False) as data:
        return OrderedDict((key, data[key]) for key in data.files)
