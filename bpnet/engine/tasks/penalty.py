"""L1 and L2 penalties on a network's weights, added to the loss it minimises.

``Penalized(criterion, weights, kind, rate)`` is a loss like any other: calling it returns
the data loss plus ``rate * penalty``; ``backward()`` adds the penalty's gradient into each
weight's ``.grad`` and returns the data loss's gradient for ``model.backward``. Unlike
weight decay inside an optimizer, the penalty shows in the reported loss.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ... import nn

# name -> (penalty of one weight array, its gradient); biases are not penalised
PENALTIES: dict[str, tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray]]] = {
    "l1": (lambda w: float(np.abs(w).sum()), np.sign),  # sign(0) = 0: the subgradient torch uses
    "l2": (lambda w: 0.5 * float((w * w).sum()), lambda w: w),
}


class Penalized:
    """``criterion(output, target) + rate * sum(penalty(W) for W in weights)``.

    Args:
        criterion: the data loss, e.g. ``nn.CrossEntropyLoss()``.
        weights: the ``Parameter``s to penalise (the Linear layers' weights).
        kind: ``"l1"`` (sum of |w|) or ``"l2"`` (half the sum of w², gradient w).
        rate: the penalty's weight in the loss.
    """

    def __init__(self, criterion: nn.Module, weights: list[nn.Parameter], kind: str, rate: float):
        if kind not in PENALTIES:
            raise ValueError(f"unknown penalty {kind!r}; choose one of {', '.join(PENALTIES)}")
        self.criterion, self.weights, self.rate = criterion, weights, rate
        self.value, self.gradient = PENALTIES[kind]

    def penalty(self) -> float:
        return self.rate * sum(self.value(w.data) for w in self.weights)

    def __call__(self, output: np.ndarray, target: np.ndarray) -> float:
        return self.criterion(output, target) + self.penalty()

    def backward(self) -> np.ndarray:
        """Add ``rate * d penalty / dW`` into each weight's grad; return dL/d(output)."""
        for w in self.weights:
            step = (self.rate * self.gradient(w.data)).astype(w.data.dtype)
            if w.grad is None:  # zero_grad may leave no gradient array at all
                w.grad = step
            else:
                w.grad += step
        return self.criterion.backward()
