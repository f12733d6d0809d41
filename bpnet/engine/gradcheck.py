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
    clone,
    cost_model,
    forward_backward,
    forward_seconds,
    pick,
    weight_layers,
    within_budget,
)

# 1e-4 for a Linear weight: the loss's float64 rounding (~1e-16) divided by eps stays far
# below even tiny gradients (leaky ReLU's 0.01 slope), the eps² error is ~1e-9, and a kink
# (ReLU at 0) is rarely crossed. A convolution's weight moves every position of every image,
# so ±1e-4 often crosses a ReLU's or a max-pool's kink: 1e-6 there.
EPS = {"linear": 1e-4, "shared": 1e-6}


def gradcheck(model, criterion, x, y, layer: int, k: int, rng: np.random.Generator, eps=None):
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
    eps = eps or EPS["linear" if linear else "shared"]
    rerun = layers[target.index + 1 :] if linear else layers[target.index :]
    twin = clone(model, np.float64)
    floating = np.issubdtype(np.asarray(x).dtype, np.floating)
    x64 = np.asarray(x, dtype=np.float64) if floating else x
    costs, n = cost_model(twin, x64), len(x)
    seconds = forward_seconds(layers, n, costs) + 2 * forward_seconds(
        layers[target.index :], n, costs
    )
    seconds += 2 * k * forward_seconds(rerun, n, costs)  # a forward, backward to it, reruns
    within_budget(seconds, "checking", n, target.name)

    criterion = copy.deepcopy(criterion)
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
