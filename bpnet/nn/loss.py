"""Loss functions: a number to minimise, and its gradient with respect to the prediction.

``loss = criterion(prediction, target)`` returns a Python float (or an array with
``reduction="none"``); ``criterion.backward()`` then returns dL/d(prediction), ready to
hand to ``model.backward``. Semantics (means, sums) follow PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def _reduce(self, per_element: np.ndarray):
        if self.reduction == "mean":
            # the float32 value .mean() gives, without its Python-level bookkeeping (µs per step)
            return float(per_element.sum() / per_element.size)
        if self.reduction == "sum":
            return float(per_element.sum())
        return per_element

    def _scale(self, grad_output, shape) -> np.ndarray | float:
        """dL_reduced/dL_element times the upstream gradient (1 by default)."""
        if self.reduction == "none":
            return 1.0 if grad_output is None else np.asarray(grad_output).reshape(shape)
        upstream = 1.0 if grad_output is None else float(grad_output)
        return upstream / math.prod(shape) if self.reduction == "mean" else upstream

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error ``L = mean((input - target)²)`` over all elements.

    Backward: dL/d(input) = 2 (input - target) / number of elements (without the
    division for ``reduction="sum"``).

    Shape: input and target of the same shape; output a float ("mean"/"sum") or an
    array of that shape ("none").
    """

    def forward(self, input: np.ndarray, target: np.ndarray):
        input = np.asarray(input)
        target = np.asarray(target, dtype=input.dtype)
        if input.shape != target.shape:
            raise ValueError(
                f"MSELoss needs input and target of the same shape, got {input.shape} and "
                f"{target.shape}"
            )
        self._diff = input - target
        return self._reduce(self._diff * self._diff)

    def backward(self, grad_output=None) -> np.ndarray:
        diff = self._diff
        return (2 * diff * self._scale(grad_output, diff.shape)).astype(diff.dtype, copy=False)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against integer class indices, fused with log-softmax.

    ``L_n = -log softmax(input_n)[target_n] = logsumexp(input_n) - input_n[target_n]``,
    averaged over the batch. Backward: dL/d(input) = (softmax(input) - onehot(target)) / N.
    Doing both in one step is stable for huge logits and skips the Softmax Jacobian.

    Shape: input (N, C) logits (or (C,)), target (N,) integers in [0, C) (or a scalar);
    output a float ("mean"/"sum") or (N,) ("none"; () for (C,) input).
    """

    def forward(self, input: np.ndarray, target: np.ndarray):
        input = np.asarray(input)
        target = np.asarray(target)
        self._input_shape = input.shape
        if input.ndim == 1:
            input, target = input[None, :], target.reshape(1)
        if input.ndim != 2:
            raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got {input.shape}")
        if not np.issubdtype(target.dtype, np.integer):
            raise TypeError(
                f"CrossEntropyLoss expects integer class indices as targets (e.g. int64), "
                f"got dtype {target.dtype}"
            )
        n, classes = input.shape
        if target.shape != (n,):
            raise ValueError(
                f"CrossEntropyLoss: logits {input.shape} need targets of shape ({n},), "
                f"got {target.shape}"
            )
        if n and (target.min() < 0 or target.max() >= classes):
            bad = target[(target < 0) | (target >= classes)][0]
            raise ValueError(
                f"CrossEntropyLoss: target {bad} is out of range; classes are 0..{classes - 1}"
            )
        shifted = input - input.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        per_sample = np.log(sum_exp[:, 0]) - shifted[rows, target]
        self._probs = exp / sum_exp  # softmax, kept for backward
        self._target = target
        if len(self._input_shape) == 1:
            per_sample = per_sample.reshape(())  # one sample of (C,) logits: a 0-d loss, as torch
        return self._reduce(per_sample)

    def backward(self, grad_output=None) -> np.ndarray:
        grad = self._probs.copy()
        grad[np.arange(len(grad)), self._target] -= 1
        scale = self._scale(grad_output, (len(grad),))
        if isinstance(scale, np.ndarray):
            scale = scale[:, None]
        grad *= np.asarray(scale, dtype=grad.dtype)
        return grad.reshape(self._input_shape)
