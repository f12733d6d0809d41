"""What each unit does: the network's output taken apart into its last hidden units.

A network whose last layer is ``Linear(H, 1)`` computes ``f(x) = Σ_i w_i h_i(x) + b``: each
hidden unit contributes a curve (or surface) ``w_i h_i(x)``, and the fit is their sum.
``decompose`` returns those contributions; ``first_layer_images`` shows what the first
layer's units look for in an image.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from .inspect import weight_layers


def decompose(model: nn.Sequential, x: np.ndarray) -> tuple[np.ndarray, float]:
    """``(contributions, bias)`` with ``contributions[:, i] = w_i h_i(x)`` in float64 and
    ``contributions.sum(1) + bias`` equal to ``model(x)[:, 0]`` up to rounding.

    Shape: x (n, d) -> contributions (n, H), H the width of the last hidden layer.
    Runs the network's own forward (so its caches change, as in evaluation).
    """
    last = weight_layers(model)[-1]
    if not isinstance(last.module, nn.Linear) or last.module.out_features != 1:
        raise ValueError(f"decompose needs a last layer Linear(H, 1), got {last.module!r}")
    hidden = x
    for child in list(model)[: last.position]:
        hidden = child(hidden)
    weight = last.module.weight.data[0].astype(np.float64)
    bias = float(last.module.bias.data[0]) if last.module.bias is not None else 0.0
    return np.asarray(hidden, dtype=np.float64) * weight, bias


def largest(contributions: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` units with the largest peak |contribution|, largest first."""
    peak = np.abs(contributions).max(axis=0)
    return np.argsort(-peak, kind="stable")[:count]


def first_layer_images(model: nn.Sequential, initial: np.ndarray, side: int, count: int) -> dict:
    """The first layer's weights of the ``count`` units that moved most from ``initial``,
    each as a ``side``×``side`` image (rows of pixels), with the largest |weight| shown.

    Returns ``{"units": [...], "images": (count, side, side) array, "scale": float}``,
    or ``{}`` when the first layer's inputs are not a ``side``×``side`` image.
    """
    weight = first_weight(model)
    if weight.ndim != 2 or weight.shape[1] != side * side:
        return {}
    moved = np.linalg.norm(weight - initial, axis=1)
    units = np.argsort(-moved, kind="stable")[:count]
    images = weight[units].reshape(len(units), side, side)
    return {
        "units": units.tolist(),
        "images": images,
        "scale": float(np.abs(images).max()) if images.size else 0.0,
    }


def first_weight(model: nn.Sequential) -> np.ndarray:
    """The weight array of the network's first weight layer."""
    return weight_layers(model)[0].module.weight.data
