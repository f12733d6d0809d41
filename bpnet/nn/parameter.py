"""A Parameter is an array the optimizer may change, paired with its gradient.

``data`` holds the values and ``grad`` the gradient of the loss with respect to them.
Backward passes add into ``grad`` (so gradients of several losses accumulate, as in
PyTorch); ``zero_grad()`` resets it.
"""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array.

    Attributes:
        data: the values, an ndarray (float32 unless you chose float64).
        grad: an ndarray of the same shape and dtype, dL/d(data), accumulated by backward.
    """

    def __init__(self, data: np.ndarray):
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
