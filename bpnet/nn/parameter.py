"""A Parameter is an array the optimizer may change, paired with its gradient.

``data`` holds the values and ``grad`` the gradient of the loss with respect to them, or
None before the first backward and after ``zero_grad()`` (PyTorch's ``set_to_none``). The
first backward writes ``grad``; later ones add into it, so the gradients of several losses
(or of a weight used by two layers) accumulate, as in PyTorch.
"""

from __future__ import annotations

import sys

import numpy as np


class Parameter:
    """A trainable array.

    Attributes:
        data: the values, an ndarray (float32 unless you chose float64).
        grad: None, or an ndarray of the same shape and dtype: dL/d(data), written by the
            first backward after ``zero_grad()`` and accumulated by later ones.
        requires_grad: False freezes the parameter: backward computes no gradient for it and
            optimizers leave it unchanged.
    """

    def __init__(self, data: np.ndarray, requires_grad: bool = True):
        self.data = np.ascontiguousarray(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = bool(requires_grad)
        self._spare: np.ndarray | None = None  # the last forgotten gradient, to reuse

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def numel(self) -> int:
        """Number of elements, as ``torch.Tensor.numel``."""
        return self.data.size

    def requires_grad_(self, requires_grad: bool = True) -> Parameter:
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradient (None), or with ``set_to_none=False`` fill it with zeros."""
        if set_to_none or self.grad is None:
            self._spare, self.grad = self.grad, None
        else:
            self.grad.fill(0)

    def grad_buffer(self) -> np.ndarray | None:
        """An array to write the next first gradient into (``np.dot(..., out=)``), or None.

        It is the gradient ``zero_grad`` forgot, handed out only if nothing else refers to it:
        code that kept ``p.grad`` from an earlier step keeps its values, as in PyTorch.
        """
        spare, self._spare = self._spare, None
        # 2 references: `spare` and getrefcount's argument; any other holder makes it more
        if spare is None or sys.getrefcount(spare) != 2:
            return None
        if spare.shape != self.data.shape or spare.dtype != self.data.dtype:
            return None
        return spare

    def accumulate_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` into ``.grad``; the first gradient after zero_grad is stored as is
        (the caller hands over a fresh array), which saves a fill and an add per step."""
        if self.grad is None:
            self.grad = grad
        else:
            self.grad += grad

    def __repr__(self) -> str:
        flag = "" if self.requires_grad else ", requires_grad=False"
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype}{flag})"
