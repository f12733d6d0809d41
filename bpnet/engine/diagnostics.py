"""Per-epoch health figures of each weight layer, and warnings when one looks ill.

While a job trains, ``Watch`` looks at the batches whose gradient norms are measured (up
to 32 an epoch): which ReLU units stayed at 0 for every example, how many sigmoid/tanh
pre-activations sat beyond ±4 where the slope is nearly 0, and how large each update was
next to the weights. ``report()`` turns an epoch of that into the ``diagnostics`` and
``warnings`` fields of the ``epoch`` event (docs/protocol.md). ``LearningWatch`` fails a job
whose network has stopped learning, which a finite loss does not show.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn
from .inspect import SATURATION, WeightLayer

STALLED_EPOCHS = 2  # reported epochs without learning before a job is failed with advice
DEAD_LIMIT = 0.5  # warn when more than this share of a layer's ReLU units is dead
SATURATED_LIMIT = 0.5  # … or of its sigmoid/tanh pre-activations is beyond ±SATURATION
RATIO_RANGE = (1e-5, 1e-1)  # … or when ‖Δw‖/‖w‖ leaves this range (about 1e-3 is healthy)
# |pre-activation| > 4 read from the activation's output, which is what the layer keeps
_FLAT = {nn.Tanh: math.tanh(SATURATION), nn.Sigmoid: math.tanh(SATURATION / 2)}


class Watch:
    """Accumulates one epoch of figures for ``layers``; ``report()`` returns and resets."""

    def __init__(self, layers: list[WeightLayer]):
        self.layers = layers
        self._reset()

    def _reset(self) -> None:
        n = len(self.layers)
        self.alive: list[np.ndarray | None] = [None] * n
        self.saturated_sum, self.values = np.zeros(n), np.zeros(n)
        self.ratio_sum, self.steps = np.zeros(n), 0

    def before_step(self) -> list[np.ndarray]:
        """Copies of the weights, to measure the update the step makes."""
        return [layer.module.weight.data.copy() for layer in self.layers]

    def after_step(self, before: list[np.ndarray]) -> None:
        """Record the step's update ratios and the activations the step's forward left."""
        self.steps += 1
        for i, (layer, old) in enumerate(zip(self.layers, before)):
            new = layer.module.weight.data
            self.ratio_sum[i] += _norm(new - old) / max(_norm(new), 1e-30)
            output = _output(layer.activation)
            if output is None:
                continue
            if isinstance(layer.activation, nn.ReLU):
                axes = tuple(a for a in range(output.ndim) if a != 1)
                alive = np.any(output > 0, axis=axes)
                self.alive[i] = alive if self.alive[i] is None else self.alive[i] | alive
            elif type(layer.activation) in _FLAT:
                centred = output if isinstance(layer.activation, nn.Tanh) else 2 * output - 1
                self.saturated_sum[i] += np.count_nonzero(
                    np.abs(centred) > _FLAT[type(layer.activation)]
                )
                self.values[i] += output.size

    def report(self) -> dict:
        """``{"diagnostics": [per layer], "warnings": [...]}`` for the epoch; then reset."""
        diagnostics, warnings = [], []
        for i, layer in enumerate(self.layers):
            figures = {
                "dead_relu": None if self.alive[i] is None else float(1 - self.alive[i].mean()),
                "saturated": float(self.saturated_sum[i] / self.values[i])
                if self.values[i]
                else None,
                "update_ratio": float(self.ratio_sum[i] / self.steps) if self.steps else None,
            }
            diagnostics.append(figures)
            warnings += _warnings(layer, figures)
        self._reset()
        return {"diagnostics": diagnostics, "warnings": warnings}


def _warnings(layer: WeightLayer, figures: dict) -> list[dict]:
    def warning(kind: str, value: float, message: str, advice: str) -> dict:
        return {"layer": layer.index, "name": layer.name, "kind": kind, "value": value,
                "message": f"{layer.name}: {message}", "advice": advice}  # fmt: skip

    found = []
    dead, saturated, ratio = figures["dead_relu"], figures["saturated"], figures["update_ratio"]
    if dead is not None and dead > DEAD_LIMIT:
        found.append(warning(
            "dead_relu", dead,
            f"{dead:.0%} of its ReLU units output 0 for every example: they get no gradient "
            "and have stopped learning.",
            "Try a smaller learning rate, leaky_relu, or adam.",
        ))  # fmt: skip
    if saturated is not None and saturated > SATURATED_LIMIT:
        kind = type(layer.activation).__name__.lower()
        found.append(warning(
            "saturated", saturated,
            f"{saturated:.0%} of its {kind} inputs are beyond ±{SATURATION:g}, where the curve is "
            "flat: gradients through them almost vanish.",
            "Try a smaller learning rate, fewer layers, or relu.",
        ))  # fmt: skip
    if ratio is not None and ratio > RATIO_RANGE[1]:
        found.append(warning(
            "update_ratio_high", ratio,
            f"each step changes its weights by {ratio:.1e} of their size (about 1e-3 is "
            "healthy): training may jump around or diverge.",
            "Try a smaller learning rate.",
        ))  # fmt: skip
    elif ratio is not None and 0 < ratio < RATIO_RANGE[0]:
        found.append(warning(
            "update_ratio_low", ratio,
            f"each step changes its weights by only {ratio:.1e} of their size (about 1e-3 is "
            "healthy): this layer barely learns.",
            "Try a larger learning rate or adam; with sigmoid, fewer layers.",
        ))  # fmt: skip
    return found


def _output(activation: nn.Module | None) -> np.ndarray | None:
    """What ReLU, Sigmoid and Tanh keep of their last forward for backward: their output."""
    return getattr(activation, "_y", None) if activation is not None else None


def _norm(a: np.ndarray) -> float:
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


class LearningWatch:
    """Notices a network that has stopped learning, which a finite loss does not show:
    every gradient zero (ReLUs that all output 0 let nothing through), or accuracy stuck
    at chance while the loss no longer falls. Either for ``STALLED_EPOCHS`` reported
    epochs in a row gives a message with advice."""

    def __init__(self, chance_accuracy: float | None):
        self.chance = chance_accuracy
        self.zero_since: int | None = None
        self.zero_count = 0
        self.chance_count = 0
        self.last_loss = math.inf

    def verdict(self, epoch: int, picture: dict, norms: list[float], lr: float) -> str | None:
        if norms and max(norms) == 0.0:
            self.zero_count += 1
            self.zero_since = self.zero_since or epoch
        else:
            self.zero_count, self.zero_since = 0, None
        if self.zero_count >= STALLED_EPOCHS:
            return (
                f"the network stopped learning: every layer's gradient has been zero since "
                f"epoch {self.zero_since}, so no weight can change (its ReLUs all output 0, "
                f"'dead', usually after too large a step) — try a learning rate smaller than "
                f"{lr:g}, or leaky_relu or tanh"
            )
        accuracy, loss = picture.get("val_accuracy"), picture["val_loss"]
        if self.chance is not None and accuracy is not None:
            at_chance = accuracy <= 1.5 * self.chance and loss > 0.99 * self.last_loss
            self.chance_count = self.chance_count + 1 if at_chance else 0
            self.last_loss = min(self.last_loss, loss)
            if self.chance_count >= STALLED_EPOCHS:
                return (
                    f"the network stopped learning: validation accuracy has stayed at chance "
                    f"({accuracy:.1%}, one guess in {round(1 / self.chance)}) for "
                    f"{STALLED_EPOCHS} epochs and the loss no longer falls — the learning "
                    f"rate {lr:g} is probably too large; try one ten times smaller"
                )
        return None


def all_finite(value) -> bool:
    """No inf or nan anywhere in an event's numbers (JSON has no words for them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list) and value and not isinstance(value[0], dict | list):
        try:
            return bool(np.isfinite(np.asarray(value, dtype=np.float64)).all())
        except (TypeError, ValueError):
            return True  # not numbers
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return True
