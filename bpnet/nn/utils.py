"""Helpers that act on a model's gradients, with PyTorch's names (``torch.nn.utils``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .parameter import Parameter


def clip_grad_norm_(
    parameters: Parameter | Iterable[Parameter], max_norm: float, norm_type: float = 2.0
) -> np.float64:
    """Scale every gradient in place so that their joint norm is at most ``max_norm``.

    The joint norm is that of all gradients concatenated into one vector; the scale is
    ``max_norm / (norm + 1e-6)``, applied only when it is below 1, as in PyTorch. Parameters
    without a gradient are skipped. Returns the norm before clipping.
    """
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return np.float64(0.0)
    if math.isinf(norm_type):
        total = max(float(np.abs(g).max()) for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads)
        total = total ** (1.0 / norm_type)
    coefficient = float(max_norm) / (total + 1e-6)
    if coefficient < 1.0:
        for g in grads:
            g *= g.dtype.type(coefficient)
    return np.float64(total)
