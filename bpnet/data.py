"""Mini-batches: iterate over arrays a batch at a time, shuffled by a seeded generator.

Like PyTorch's DataLoader this one takes a dataset (``TensorDataset(x, y)``, or anything with
``__len__`` and ``__getitem__`` returning arrays); it also takes the arrays themselves, since
images and labels are usually whole numpy arrays in memory already.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .random import default_generator


class TensorDataset:
    """Samples ``(x[i], y[i], …)`` of equally long arrays, as ``torch.utils.data.TensorDataset``.

    Attributes:
        tensors: the arrays (PyTorch's name).
    """

    def __init__(self, *arrays: np.ndarray):
        if not arrays:
            raise ValueError("TensorDataset needs at least one array, e.g. TensorDataset(x, y)")
        arrays = tuple(np.asarray(a) for a in arrays)
        if len({len(a) for a in arrays}) != 1:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset arrays must have the same length, got shapes {shapes}")
        self.tensors = arrays

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.tensors)


class DataLoader:
    """Yield tuples of mini-batches ``(x[idx], y[idx], …)`` from a dataset or equally long arrays.

    From arrays (or a ``TensorDataset``) without shuffling, batches are views (slices) of the
    arrays, not copies — read-only if the arrays are (``load_mnist``'s are shared between
    jobs): ``xb = xb.copy()`` gives a batch you may write to. With shuffling, each epoch draws
    a new permutation and gathers rows with ``np.take`` (a gather is a copy by nature, but
    only of one batch at a time). Any other dataset is read sample by sample and stacked.

    Args:
        *arrays: a dataset, or arrays with the same first dimension N.
        batch_size: rows per batch; the last batch is smaller unless ``drop_last``.
        shuffle: draw a new order every time the loader is iterated.
        drop_last: drop the last incomplete batch.
        generator: a ``numpy.random.Generator``; default: bpnet's seeded one.

    Examples:
        >>> loader = DataLoader(x, y, batch_size=64, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(
        self,
        *arrays: np.ndarray,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
    ):
        if not arrays:
            raise ValueError("DataLoader needs a dataset or at least one array")
        self.dataset = None
        if len(arrays) == 1 and _is_dataset(arrays[0]):
            self.dataset = arrays[0]
            if isinstance(self.dataset, TensorDataset):
                arrays = self.dataset.tensors
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ValueError(f"DataLoader arrays must have the same length, got shapes {shapes}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.arrays = arrays
        if self.dataset is None:
            self.dataset = TensorDataset(*arrays)
        self._read_samples = not isinstance(self.dataset, TensorDataset)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.arrays[0])

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return math.ceil(self.num_samples / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, ...]]:
        n, size = self.num_samples, self.batch_size
        order = None
        if self.shuffle:
            order = (self.generator or default_generator()).permutation(n)
        for batch in range(len(self)):
            start = batch * size
            if self._read_samples:
                indices = (
                    range(start, min(start + size, n))
                    if order is None
                    else order[start : start + size]
                )
                yield _stack([self.dataset[int(i)] for i in indices])
            elif order is None:
                yield tuple(a[start : start + size] for a in self.arrays)
            else:
                idx = order[start : start + size]
                # the method, not np.take: np.take's Python wrapper costs a µs per array
                yield tuple(a.take(idx, axis=0) for a in self.arrays)


def _is_dataset(value) -> bool:
    """A dataset object rather than an array: it has samples, but is not array-like."""
    return (
        hasattr(value, "__getitem__") and hasattr(value, "__len__")
        and not isinstance(value, (np.ndarray, list, tuple)) and not hasattr(value, "__array__")
    )  # fmt: skip


def _stack(samples: list) -> tuple[np.ndarray, ...]:
    """``[(x0, y0), (x1, y1), …]`` -> ``(stack of x, stack of y)``; a sample that is one
    array gives a 1-tuple."""
    if not isinstance(samples[0], tuple | list):
        return (np.stack([np.asarray(s) for s in samples]),)
    return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))
