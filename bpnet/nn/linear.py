"""Fully connected layers: the affine map at the heart of a multilayer perceptron."""

from __future__ import annotations

import math

import numpy as np

from ..random import default_generator
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """Affine map ``y = x @ W.T + b``.

    Shape: x (N, in_features) -> y (N, out_features); any leading dimensions work.
    Weight (out_features, in_features) and bias (out_features,), as in PyTorch, both
    drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) (PyTorch's default init).

    Args:
        in_features: width of each input row.
        out_features: width of each output row.
        bias: whether to add a learnable bias.
        dtype: parameter dtype (float32 by default; inputs are cast to it).
        generator: a ``numpy.random.Generator`` for the initial weights; default: bpnet's
            seeded generator (see ``bpnet.manual_seed``).

    Examples:
        >>> layer = Linear(3, 2)
        >>> layer(np.ones((4, 3))).shape
        (4, 2)
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype=np.float32,
        generator: np.random.Generator | None = None,
    ):
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Linear needs positive sizes, got in_features={in_features}, "
                f"out_features={out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        rng = generator or default_generator()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = Parameter(
            rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype)
        )
        self.bias = (
            Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None
        )

    _x = None  # the input, kept for backward

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=self.weight.data.dtype)  # no copy when the dtype already matches
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r} expected input with {self.in_features} features, got shape {x.shape}"
            )
        self._x = x  # kept for backward
        y = x @ self.weight.data.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/dW += grad.T @ x, dL/db += sum of grad over rows; returns dL/dx = grad @ W
        (None with ``input_grad=False``). Frozen parameters (requires_grad False) get none."""
        x = self._saved(self._x)
        if grad.shape != x.shape[:-1] + (self.out_features,):
            raise ValueError(
                f"{self!r} backward expected a gradient of shape "
                f"{x.shape[:-1] + (self.out_features,)}, got {grad.shape}"
            )
        rows = grad.reshape(-1, self.out_features)
        weight, bias = self.weight, self.bias
        if weight.requires_grad:
            # np.dot is rows.T @ x; with one row per batch it is an outer product, which
            # np.matmul computes in a plain loop ten times slower than the BLAS call np.dot makes
            x_rows = x.reshape(-1, self.in_features)
            if weight.grad is None:  # the first backward since zero_grad writes, in place
                weight.grad = np.dot(rows.T, x_rows, out=weight.grad_buffer())
            else:
                weight.grad += np.dot(rows.T, x_rows)
        if bias is not None and bias.requires_grad:
            bias.accumulate_grad(np.add.reduce(rows, axis=0))  # .sum(0) minus its wrapper
        return grad @ weight.data if input_grad else None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Flatten(Module):
    """Flatten dimensions ``start_dim..end_dim`` into one.

    Shape: (N, 28, 28) -> (N, 784) with the defaults ``start_dim=1, end_dim=-1``.
    """

    _shape = None

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        ndim = max(x.ndim, 1)  # torch treats a 0-d input as 1-d here
        if not (-ndim <= self.start_dim < ndim and -ndim <= self.end_dim < ndim):
            raise IndexError(
                f"{self!r} got input of shape {x.shape}: start_dim and end_dim must be in "
                f"[{-ndim}, {ndim - 1}] (the default Flatten() flattens (N, 28, 28) to (N, 784))"
            )
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if start > end:
            raise ValueError(
                f"{self!r}: start_dim must not come after end_dim (e.g. Flatten(1, -1))"
            )
        self._shape = x.shape
        shape = x.shape if x.ndim else (1,)
        return x.reshape(shape[:start] + (math.prod(shape[start : end + 1]),) + shape[end + 1 :])

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        shape = self._saved(self._shape)
        return grad.reshape(shape) if input_grad else None

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
