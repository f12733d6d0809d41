"""Loss functions: a number to minimise, and its gradient with respect to the prediction.

``loss = criterion(prediction, target)`` returns a numpy float (so ``loss.item()`` works, as
in PyTorch; an array with ``reduction="none"``); ``criterion.backward()`` then returns
dL/d(prediction), ready to hand to ``model.backward``. Semantics (means, sums, weights,
ignored targets, label smoothing) follow PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from .grad_mode import forward_state
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    _prediction = None  # what forward was given, for backward (and to tell which forward)

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def _check_not_empty(self, count: int, shape) -> None:
        if count == 0 and self.reduction == "mean":
            raise ValueError(
                f"{type(self).__name__} got an empty batch (input shape {shape}): the mean of "
                f"no losses is undefined. Skip empty batches, or use reduction='sum'."
            )

    def _reduce(self, per_element: np.ndarray, denominator: float | None = None):
        if self.reduction == "none":
            return per_element
        # np.add.reduce is .sum() without its Python wrapper (a µs per step); for "mean",
        # the float32 value .mean() gives, without its bookkeeping
        total = np.add.reduce(per_element, axis=None)
        if self.reduction == "mean":
            return np.float64(total / (denominator or per_element.size))
        return np.float64(total)

    def _scale(self, grad_output, shape, denominator: float | None = None):
        """dL_reduced/dL_element times the upstream gradient (1 by default)."""
        if self.reduction == "none":
            return 1.0 if grad_output is None else np.asarray(grad_output).reshape(shape)
        upstream = 1.0 if grad_output is None else float(grad_output)
        if self.reduction == "sum":
            return upstream
        return upstream / (denominator or math.prod(shape))

    def _handing_back(self, grad: np.ndarray) -> np.ndarray:
        """Note which prediction this gradient is about, so a model can refuse it if it has
        run forward again since (it keeps only its latest inputs)."""
        forward_state.loss_grad = (grad, self._prediction)
        return grad

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error ``L = mean((input - target)²)`` over all elements.

    Backward: dL/d(input) = 2 (input - target) / number of elements (without the
    division for ``reduction="sum"``).

    Shape: input and target of the same shape; output a float ("mean"/"sum") or an
    array of that shape ("none"). The input must be floating point, as in PyTorch.
    """

    _diff = None

    def forward(self, input: np.ndarray, target: np.ndarray):
        self._prediction = input
        input = np.asarray(input)
        if input.dtype.kind != "f":
            raise TypeError(
                f"MSELoss expects floating-point predictions, got dtype {input.dtype}; "
                f"cast them first, e.g. prediction.astype(np.float32)"
            )
        target = np.asarray(target, dtype=input.dtype)
        if input.shape != target.shape:
            raise ValueError(
                f"MSELoss needs input and target of the same shape, got {input.shape} and "
                f"{target.shape}"
            )
        self._check_not_empty(input.size, input.shape)
        self._diff = input - target
        return self._reduce(self._diff * self._diff)

    def backward(self, grad_output=None) -> np.ndarray:
        diff = self._saved(self._diff)
        scale = self._scale(grad_output, diff.shape)
        return self._handing_back((2 * diff * scale).astype(diff.dtype, copy=False))


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against integer class indices, fused with log-softmax.

    ``l_n = (1-ε) w[y_n] (-log p_n[y_n]) + ε/C Σ_c w_c (-log p_n[c])`` with
    ``p_n = softmax(input_n)``, ``w`` the class weights (1 by default) and ε the label
    smoothing; samples whose target is ``ignore_index`` count for nothing. "mean" divides the
    sum by ``Σ_n w[y_n]`` over the samples not ignored (the batch size without weights).
    Backward: dL/d(input_n) = p_n (1-ε) w[y_n] + ε p_n Σw/C - (1-ε) w[y_n] onehot(y_n) - ε w/C,
    then scaled as the reduction says — (softmax - onehot) / N in the plain case. Doing both
    in one step is stable for huge logits and skips the Softmax Jacobian.

    Shape: input (N, C) logits (or (C,)), target (N,) integers in [0, C) (or a scalar);
    weight (C,); output a float ("mean"/"sum") or (N,) ("none"; () for (C,) input).
    """

    _probs = None

    def __init__(
        self,
        weight: np.ndarray | None = None,
        reduction: str = "mean",
        ignore_index: int = -100,
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
        if weight is not None:
            weight = np.array(weight, dtype=np.float64)
            if weight.ndim != 1:
                raise ValueError(
                    f"CrossEntropyLoss weight must be 1-D (one per class), got shape {weight.shape}"
                )
        self.weight = weight
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input: np.ndarray, target: np.ndarray):
        self._prediction = input
        input = np.asarray(input)
        target = np.asarray(target)
        self._input_shape = input.shape
        if input.ndim == 1:
            input, target = input[None, :], target.reshape(1)
        if input.ndim != 2:
            raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got {input.shape}")
        if target.dtype.kind not in "iu":
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
        self._check_not_empty(n, self._input_shape)
        ignored = self._check_targets(target, classes)
        if ignored is not None:
            target = np.where(ignored, 0, target)  # any valid index: those rows count for 0
        rows = np.arange(n)
        # ufunc reductions: .max() and .sum() minus their Python wrappers, on every step
        shifted = input - np.maximum.reduce(input, axis=1, keepdims=True)
        picked = shifted[rows, target]  # before exp overwrites shifted
        smoothing = self.label_smoothing
        weight = self._class_weights(classes, input.dtype)
        # Σ_c w_c (-shifted_c): with log Σ exp added below, Σ_c w_c (-log p_c)
        smooth = (
            -(shifted.sum(axis=1) if weight is None else shifted @ weight) if smoothing else None
        )
        exp = np.exp(shifted, out=shifted)  # in place: one array fewer per step
        sum_exp = np.add.reduce(exp, axis=1, keepdims=True)
        log_sum_exp = np.log(sum_exp[:, 0])
        exp /= sum_exp
        self._probs, self._target, self._ignored = exp, target, ignored
        per_sample = log_sum_exp - picked  # -log p[y]
        denominator = None
        if weight is not None or ignored is not None or smoothing:
            per_sample, denominator = self._weighted(
                per_sample, target, ignored, weight, smooth, log_sum_exp
            )
        self._denominator = denominator
        if len(self._input_shape) == 1:
            per_sample = per_sample.reshape(())  # one sample of (C,) logits: a 0-d loss, as torch
        return self._reduce(per_sample, denominator)

    def _weighted(self, nll, target, ignored, weight, smooth, log_sum_exp):
        """The general formula (weights, ignored targets, label smoothing); returns the
        per-sample losses and the mean's denominator Σ w[y_n] over the samples kept."""
        smoothing = self.label_smoothing
        classes = self._probs.shape[1]
        kept = np.ones(nll.shape, bool) if ignored is None else ~ignored
        row_weight = np.ones_like(nll) if weight is None else weight[target]
        row_weight[~kept] = 0
        per_sample = (1 - smoothing) * row_weight * nll
        if smoothing:
            total = classes if weight is None else weight.sum()
            per_sample += smoothing / classes * (smooth + total * log_sum_exp) * kept
        self._row_weight, self._kept = row_weight, kept
        return per_sample, float(row_weight.sum())

    def _class_weights(self, classes: int, dtype) -> np.ndarray | None:
        if self.weight is None:
            return None
        if self.weight.shape != (classes,):
            raise ValueError(
                f"CrossEntropyLoss weight has {self.weight.shape[0]} entries but the logits "
                f"have {classes} classes: give one weight per class"
            )
        return self.weight.astype(dtype, copy=False)

    def _check_targets(self, target: np.ndarray, classes: int) -> np.ndarray | None:
        """Refuse targets outside [0, C); returns the mask of ignored targets (None if none)."""
        # one reduction instead of min() and max(): a negative index seen as unsigned is huge
        in_range = target.dtype == np.int64 and (
            not target.size or int(np.maximum.reduce(target.view(np.uint64))) < classes
        )
        if in_range and not 0 <= self.ignore_index < classes:
            return None
        ignored = target == self.ignore_index
        bad = target[((target < 0) | (target >= classes)) & ~ignored]
        if bad.size:
            raise ValueError(
                f"CrossEntropyLoss: target {bad[0]} is out of range; classes are "
                f"0..{classes - 1} (or ignore_index={self.ignore_index} to skip a sample)"
            )
        return ignored if ignored.any() else None

    def backward(self, grad_output=None) -> np.ndarray:
        probs = self._saved(self._probs)
        n, classes = probs.shape
        rows, target = np.arange(n), self._target
        scale = self._scale(grad_output, (n,), self._denominator)
        if isinstance(scale, np.ndarray):
            scale = scale.reshape(n, 1)
        scale = np.asarray(scale, dtype=probs.dtype)
        if self._denominator is None:
            # softmax - onehot, scaled: the product is the copy (probs stay for a 2nd backward)
            grad = probs * scale
            grad[rows, target] -= scale[:, 0] if scale.ndim else scale
            return self._handing_back(grad.reshape(self._input_shape))
        smoothing, row_weight = self.label_smoothing, self._row_weight.astype(probs.dtype)
        kept = self._kept
        weight = self._class_weights(classes, probs.dtype)
        factor = (1 - smoothing) * row_weight
        if smoothing:
            total = classes if weight is None else weight.sum()
            factor = factor + smoothing * total / classes * kept
        grad = probs * factor[:, None]
        grad[rows, target] -= (1 - smoothing) * row_weight
        if smoothing:
            per_class = np.ones(classes, probs.dtype) if weight is None else weight
            grad -= (smoothing / classes) * np.outer(kept, per_class).astype(probs.dtype)
        grad *= scale
        return self._handing_back(grad.reshape(self._input_shape))

    def extra_repr(self) -> str:
        extra = [f"reduction={self.reduction!r}"]
        if self.ignore_index != -100:
            extra.append(f"ignore_index={self.ignore_index}")
        if self.label_smoothing:
            extra.append(f"label_smoothing={self.label_smoothing}")
        return ", ".join(extra)
