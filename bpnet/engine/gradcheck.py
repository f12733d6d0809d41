"""Backprop, checked: a weight's gradient from backward beside its central difference.

``gradcheck`` perturbs k randomly chosen weights of one layer by ±eps on a float64 copy of
the network, recomputes the loss on the same batch, and sets (L(w+eps) - L(w-eps)) / 2 eps
beside the gradient backward computed. Nothing of the original network, its gradients or
its random generators is touched; work past the inspector's time budget is refused.
"""

from __future__ import annotations

import copy

import numpy as np

from .. import nn
from .inspect import (
    FLOPS_PER_SECOND,
    clone,
    forward_backward,
    forward_flops,
    pick,
    weight_layers,
    within_budget,
)

# 1e-4: the loss's float64 rounding (~1e-16) divided by eps stays far below even tiny
# gradients (leaky ReLU's 0.01 slope), and the central difference's eps² error is ~1e-9
EPS = 1e-4


def gradcheck(model, criterion, x, y, layer: int, k: int, rng: np.random.Generator, eps=EPS):
    """Backprop's dL/dW beside the central difference for ``k`` weights of weight layer
    ``layer`` drawn with ``rng``, in float64 on a copy.

    Returns ``{"layer", "name", "eps", "checks": [{"index", "backprop", "numerical",
    "relative_error"}], "max_relative_error"}``; relative error is |a - n| / max(|a|, |n|),
    0 when both are below 1e-12.
    Raises ConfigError: an unknown layer, or more than the time budget of work.
    """
    layers = weight_layers(model)
    target = pick(layers, layer)
    k = min(k, target.module.weight.data.size)
    # a Linear weight moves one column of the layer's output: the layers after it rerun
    linear = isinstance(target.module, nn.Linear)
    rerun = layers[target.index + 1 :] if linear else layers[target.index :]
    flops = forward_flops(layers, len(x)) + 2 * forward_flops(layers[target.index :], len(x))
    flops += 2 * k * forward_flops(rerun, len(x))  # a forward, backward to the layer, reruns
    within_budget(flops / FLOPS_PER_SECOND[np.dtype(np.float64)], "checking", len(x), target.name)

    twin = clone(model, np.float64)
    criterion = copy.deepcopy(criterion)
    floating = np.issubdtype(np.asarray(x).dtype, np.floating)
    x64 = np.asarray(x, dtype=np.float64) if floating else x
    _, inputs, outputs, _ = forward_backward(twin, criterion, x64, y, upto=target.position)
    children = list(twin)
    weight = twin[target.position].weight

    def loss_from(position: int, out: np.ndarray) -> float:
        for child in children[position:]:
            out = child(out)
        return float(criterion(out, y))

    def loss(index: tuple, step: float) -> float:
        if linear:  # z[:, i] += step * x[:, j]: the same as W[i, j] += step, without the matmul
            row, column = index
            out = outputs[target.position].copy()
            out[..., row] += step * inputs[target.position][..., column]
            return loss_from(target.position + 1, out)
        old = weight.data[index]
        weight.data[index] = old + step
        value = loss_from(target.position, inputs[target.position])
        weight.data[index] = old
        return value

    checks = []
    for flat in rng.choice(weight.data.size, size=k, replace=False):
        index = np.unravel_index(int(flat), weight.data.shape)
        numerical = (loss(index, eps) - loss(index, -eps)) / (2 * eps)
        backprop = float(weight.grad[index])
        checks.append({
            "index": [int(i) for i in index], "backprop": backprop, "numerical": numerical,
            "relative_error": relative_error(backprop, numerical),
        })  # fmt: skip
    return {
        "layer": target.index, "name": target.name, "eps": eps, "checks": checks,
        "max_relative_error": max(c["relative_error"] for c in checks),
    }  # fmt: skip


def relative_error(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale < 1e-12 else abs(a - b) / scale
