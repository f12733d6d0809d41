"""Mini-batches: iterate over arrays a batch at a time, shuffled by a seeded generator.

Unlike PyTorch's DataLoader, which wraps a Dataset object, this one takes the arrays
themselves: images and labels are already whole numpy arrays in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from .random import default_generator


class DataLoader:
    """Yield tuples of mini-batches ``(x[idx], y[idx], …)`` from equally long arrays.

    Without shuffling, batches are views (slices) of the arrays, not copies. With
    shuffling, each epoch draws a new permutation and gathers rows with ``np.take`` (a
    gather is a copy by nature, but only of one batch at a time).

    Args:
        *arrays: arrays with the same first dimension N.
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
            raise ValueError("DataLoader needs at least one array")
        lengths = {len(a) for a in arrays}
        if len(lengths) != 1:
            shapes = ", ".join(str(np.shape(a)) for a in arrays)
            raise ValueError(f"DataLoader arrays must have the same length, got shapes {shapes}")
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size!r}")
        self.arrays = arrays
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
            if order is None:
                yield tuple(a[start : start + size] for a in self.arrays)
            else:
                idx = order[start : start + size]
                yield tuple(np.take(a, idx, axis=0) for a in self.arrays)
