"""Elementwise non-linearities, Softmax and Dropout.

Each one keeps what its backward needs (usually its own output, which is cheaper than
recomputing) and multiplies the incoming gradient by the local derivative. None has
parameters, so ``backward(grad, input_grad=False)`` has nothing to do and returns None.
"""

from __future__ import annotations

import numpy as np

from ..random import default_generator
from .module import Module


class ReLU(Module):
    """``y = max(x, 0)``; dy/dx is 1 where x > 0, else 0 (as PyTorch, 0 at x = 0).

    Shape: any -> same.
    """

    _y = None  # the output, kept for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.maximum(x, 0)
        return self._y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        y = self._saved(self._y)
        return grad * (y > 0) if input_grad else None


class LeakyReLU(Module):
    """``y = x`` for x > 0, else ``negative_slope * x``.

    Shape: any -> same.
    """

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    _positive = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return np.where(self._positive, x, x * self.negative_slope)

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        positive = self._saved(self._positive)
        return np.where(positive, grad, grad * self.negative_slope) if input_grad else None

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """``y = 1 / (1 + exp(-x))``; dy/dx = y (1 - y), at most 1/4, which is why deep
    sigmoid networks see their gradients vanish.

    Shape: any -> same.
    """

    _y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        # exp(-|x|) never overflows, and e / (1 + e) keeps full relative precision for very
        # negative x, where 1 - 1/(1 + e) or 0.5 (1 + tanh(x/2)) would round to 0
        e = np.exp(-np.abs(x))
        self._y = np.where(x >= 0, 1, e) / (1 + e)
        return self._y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        y = self._saved(self._y)
        return grad * y * (1.0 - y) if input_grad else None


class Tanh(Module):
    """``y = tanh(x)``; dy/dx = 1 - y².

    Shape: any -> same.
    """

    _y = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._y = np.tanh(x)
        return self._y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        y = self._saved(self._y)
        return grad * (1.0 - y * y) if input_grad else None


class Softmax(Module):
    """``y_i = exp(x_i) / sum_j exp(x_j)`` along ``dim``.

    Backward: dL/dx = y * (g - sum(g * y)) along ``dim``. For classification prefer
    ``CrossEntropyLoss`` on the raw logits: it fuses the two and is more stable.

    Shape: any -> same.
    """

    _y = None

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if not -max(x.ndim, 1) <= self.dim < max(x.ndim, 1):
            raise IndexError(
                f"Softmax(dim={self.dim}) got input of shape {x.shape}: dim must be in "
                f"[{-max(x.ndim, 1)}, {max(x.ndim, 1) - 1}], e.g. Softmax(dim=-1) for the last"
            )
        shifted = np.exp(x - x.max(axis=self.dim, keepdims=True))  # shift: no overflow
        self._y = shifted / shifted.sum(axis=self.dim, keepdims=True)
        return self._y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        y = self._saved(self._y)
        if not input_grad:
            return None
        return y * (grad - (grad * y).sum(axis=self.dim, keepdims=True))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale
    the rest by 1/(1-p), so evaluation (where it does nothing) needs no rescaling.

    Shape: any -> same.

    Args:
        p: probability of zeroing an element, 0 <= p <= 1.
        generator: a ``numpy.random.Generator`` for the masks; default: bpnet's seeded one.
    """

    def __init__(self, p: float = 0.5, generator: np.random.Generator | None = None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self._generator = generator

    _mask = False  # not yet forwarded; None: the identity (evaluation, p = 0)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        rng = self._generator or default_generator()
        keep = rng.random(x.shape) >= self.p
        scale = 0.0 if self.p == 1.0 else 1.0 / (1.0 - self.p)
        self._mask = keep.astype(x.dtype) * np.asarray(scale, dtype=x.dtype)
        return x * self._mask

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        mask = self._saved(self._mask, missing=False)
        if not input_grad:
            return None
        return grad if mask is None else grad * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
