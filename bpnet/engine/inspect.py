"""The backprop inspector: look inside one mini-batch's forward and backward pass.

``inspect_batch`` runs the batch through a copy of the network and returns, per weight
layer, histograms of its activations, of dL/d(activation), of the weights, of dL/dW and
of the update the optimizer would make next, with the update-to-weight ratio, the share of
dead ReLUs and of saturated sigmoid/tanh units; ``gradcheck`` sets backprop's dL/dW beside
central differences, in float64 (``gradcheck.py``). Neither touches the network, the optimizer or any random
state they were given: they work on copies, and both refuse work they could not finish in
``TIME_BUDGET`` seconds.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..errors import ConfigError
from ..nn.parameter import Parameter
from ..optim import Optimizer

BINS = 30  # per histogram (the protocol promises at most 50)
HISTOGRAM_SAMPLE = 200_000  # larger arrays are histogrammed from an even sample of this size
TIME_BUDGET = 0.5  # seconds an inspection or a gradient check may take
# Conservative speeds on a busy 2-core machine (benchmarks/inspector.py measures them):
# the cost of a request is estimated from these before anything runs.
FLOPS_PER_SECOND = {np.dtype(np.float32): 4e9, np.dtype(np.float64): 3e9}
SECONDS_PER_HISTOGRAM_VALUE = 15e-9
SPEED_SAMPLE = 8  # examples run to measure how fast this network really is
SATURATION = 4.0  # |pre-activation| beyond which sigmoid and tanh are flat (slope < 0.02)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh)


@dataclass
class WeightLayer:
    """A layer with a weight (Linear, or any module with ``.weight``) and the activation
    right after it, if any. ``position`` is its index in the Sequential."""

    index: int
    name: str
    position: int
    module: nn.Module
    activation: nn.Module | None

    @property
    def last(self) -> int:
        """Position of the module whose output is this layer's activation."""
        return self.position + (self.activation is not None)


def weight_layers(model: nn.Module) -> list[WeightLayer]:
    """The weight layers of a Sequential, named "Linear 1", "Linear 2", … by their type."""
    if not isinstance(model, nn.Sequential):
        raise ConfigError(
            None, f"the inspector reads Sequential networks, not {type(model).__name__}"
        )
    children = list(model)
    layers = []
    for position, module in enumerate(children):
        if getattr(module, "weight", None) is None:
            continue
        after = children[position + 1] if position + 1 < len(children) else None
        activation = after if isinstance(after, ACTIVATIONS) else None
        name = f"{type(module).__name__} {len(layers) + 1}"
        layers.append(WeightLayer(len(layers), name, position, module, activation))
    return layers


def clone(model: nn.Module, dtype=None) -> nn.Module:
    """A deep copy of ``model`` without its forward caches, with zeroed gradients and, if
    given, parameters cast to ``dtype``. Random generators inside are copied too, so using
    the copy never advances the original's."""
    skip = {}  # deepcopy's memo: arrays mapped to None are not copied
    for module in model.modules():
        for name, value in vars(module).items():
            if name.startswith("_") and isinstance(value, np.ndarray):
                skip[id(value)] = None  # kept for backward; recomputed by the next forward
    for p in model.parameters():
        if p.grad is not None:
            skip[id(p.grad)] = None
    twin = copy.deepcopy(model, skip)
    for p in twin.parameters():
        if dtype is not None:
            p.data = p.data.astype(dtype)
        p.grad = np.zeros_like(p.data)  # works whether grads are reset to zeros or None
    return twin


def forward_backward(model: nn.Sequential, criterion: nn.Module, x, y, upto: int = 0):
    """Run the Sequential child by child, keeping every output, then backpropagate down to
    child ``upto`` keeping dL/d(output) of each child at or above it.

    Returns ``(loss, inputs, outputs, grads)``: ``inputs[i]`` is what child i received,
    ``outputs[i]`` what it returned, ``grads[i]`` dL/d(outputs[i]) (None below ``upto``).
    """
    children = list(model)
    inputs, outputs = [], []
    out = x
    for child in children:
        inputs.append(out)
        out = child(out)
        outputs.append(out)
    loss = criterion(out, y)
    grads: list[np.ndarray | None] = [None] * len(children)
    grad = criterion.backward()
    for position in reversed(range(upto, len(children))):
        grads[position] = grad
        child = children[position]
        if position == upto:
            if child.parameters():
                child.backward(grad, input_grad=False)
            else:
                child.backward(grad)
        else:
            grad = child.backward(grad)
    return loss, inputs, outputs, grads


def histogram(values: np.ndarray, bins: int = BINS) -> dict:
    """``{"edges": bins + 1 floats, "counts": bins ints, "total", "sampled", "nonfinite"}``.

    Arrays larger than ``HISTOGRAM_SAMPLE`` are histogrammed from an evenly strided sample
    (``sampled`` true; ``total`` is the full count)."""
    flat = np.asarray(values).reshape(-1)
    total = flat.size
    if total > HISTOGRAM_SAMPLE:
        flat = flat[:: math.ceil(total / HISTOGRAM_SAMPLE)]
    finite = flat[np.isfinite(flat)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if low == high:  # one value (or none): a narrow bin around it
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return {
        "edges": _floats(edges),
        "counts": counts.tolist(),
        "total": int(total),
        "sampled": bool(flat.size < total),
        "nonfinite": int(flat.size - finite.size),
    }


def update_preview(optimizer: Optimizer, param: Parameter, grad: np.ndarray | None, **overrides):
    """Δw, the change ``optimizer.step()`` would make to ``param`` given ``grad``, computed by
    a twin optimizer of the same class, holding copies of the parameter, its group's
    hyper-parameters and its state (momentum buffers, Adam's moments and step count):
    nothing of ``optimizer`` changes. ``overrides`` replace hyper-parameters (a pending live
    ``lr``). Zeros when ``grad`` is None (step skips such a parameter)."""
    if grad is None:
        return np.zeros_like(param.data)
    group = next(g for g in optimizer.param_groups if any(p is param for p in g["params"]))
    shadow = Parameter(param.data.copy())
    shadow.grad = grad.copy()
    twin = type(optimizer)([shadow], **{key: group[key] for key in optimizer.defaults})
    twin.param_groups[0].update({k: v for k, v in group.items() if k != "params"})
    twin.param_groups[0].update({k: v for k, v in overrides.items() if k in group})
    if param in optimizer.state:
        twin.state[shadow] = copy.deepcopy(optimizer.state[param])
    twin.step()  # the same rule the job's step runs, on the copies
    return shadow.data - param.data


def layer_report(layer: WeightLayer, outputs, grads, delta: np.ndarray) -> dict:
    """One layer's histograms and figures from a recorded forward/backward pass."""
    weight = layer.module.weight
    activation = outputs[layer.last]
    pre_activation = outputs[layer.position]
    weight_norm = _norm(weight.data)
    report = {
        "layer": layer.index,
        "name": layer.name,
        "activation": type(layer.activation).__name__ if layer.activation else None,
        "shape": list(weight.data.shape),
        "histograms": {
            "activation": histogram(activation),
            "activation_grad": histogram(grads[layer.last]),
            "weight": histogram(weight.data),
            "weight_grad": histogram(weight.grad),
            "update": histogram(delta),
        },
        "weight_norm": weight_norm,
        "grad_norm": _norm(weight.grad),
        "update_norm": _norm(delta),
        "update_ratio": _norm(delta) / weight_norm if weight_norm > 0 else None,
        "dead_relu": None,
        "saturated": None,
    }
    if isinstance(layer.activation, nn.ReLU):
        report["dead_relu"] = dead_share(activation)
    if isinstance(layer.activation, (nn.Sigmoid, nn.Tanh)):
        report["saturated"] = float(np.mean(np.abs(pre_activation) > SATURATION))
    return report


def dead_share(activation: np.ndarray) -> float:
    """Share of units (axis 1: features or channels) that are 0 for every example."""
    alive = np.any(activation > 0, axis=tuple(i for i in range(activation.ndim) if i != 1))
    return float(1.0 - alive.mean())


def inspect_batch(model, criterion, optimizer, x, y, layer: int | None = None, **overrides):
    """Inspect one batch (see the module docstring); ``layer`` picks one weight layer.

    Returns ``{"batch_size", "loss", "layers": [layer_report, …]}``.
    Raises ConfigError: an unknown layer, or more than ``TIME_BUDGET`` seconds of work.
    """
    layers = weight_layers(model)
    chosen = [pick(layers, layer)] if layer is not None else layers
    twin = clone(model)
    costs = cost_model(twin, x)
    values = sum(_histogrammed(p.data.size) * 3 for lay in chosen for p in [lay.module.weight])
    seconds = 3 * forward_seconds(layers, len(x), costs)
    seconds += values * SECONDS_PER_HISTOGRAM_VALUE
    within_budget(seconds, "inspecting", len(x))
    loss, _, outputs, grads = forward_backward(twin, copy.deepcopy(criterion), x, y)
    twin_layers = weight_layers(twin)
    reports = []
    for lay in chosen:
        twin_layer = twin_layers[lay.index]  # the copy's weight holds the batch's gradient
        delta = update_preview(
            optimizer, lay.module.weight, twin_layer.module.weight.grad, **overrides
        )
        reports.append(layer_report(twin_layer, outputs, grads, delta))
    return {"batch_size": len(x), "loss": float(loss), "layers": reports}


def pick(layers: list[WeightLayer], layer) -> WeightLayer:
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
        names = ", ".join(f"{lay.index} ({lay.name})" for lay in layers)
        raise ConfigError("layer", f"layer must be one of {names}; got {str(layer)[:20]}")
    return layers[layer]


def cost_model(twin: nn.Sequential, x: np.ndarray) -> list[float]:
    """Seconds per example of each weight layer's forward (with the modules up to the next
    weight layer): a Linear's multiply-adds at ``FLOPS_PER_SECOND``; for other layers the
    larger of that and their time measured on a few examples run through ``twin`` (a copy),
    since convolutions and max-pooling spend more time moving memory than multiplying."""
    sample = x[:SPEED_SAMPLE]
    times, outputs, out = [], [], sample
    for child in twin:
        start = time.perf_counter()
        out = child(out)
        times.append(time.perf_counter() - start)
        outputs.append(out)
    layers = weight_layers(twin)
    speed = FLOPS_PER_SECOND[layers[0].module.weight.data.dtype]
    costs = []
    for lay in layers:
        stop = layers[lay.index + 1].position if lay.index + 1 < len(layers) else len(times)
        measured = sum(times[lay.position : stop]) / len(sample)
        places = outputs[lay.position].size // len(sample) // lay.module.weight.data.shape[0]
        computed = 2.0 * lay.module.weight.data.size * max(places, 1) / speed
        # a Linear is a matmul: its multiply-adds predict it, and a few rows time mostly overhead
        costs.append(computed if isinstance(lay.module, nn.Linear) else max(measured, computed))
    return costs


def forward_seconds(layers: list[WeightLayer], batch: int, costs: list[float]) -> float:
    """Expected seconds of a forward of ``batch`` examples through these layers."""
    return batch * sum(costs[lay.index] for lay in layers)


def _histogrammed(size: int) -> int:
    return min(size, HISTOGRAM_SAMPLE)


def within_budget(seconds: float, doing: str, batch: int, what: str = "this network") -> None:
    if seconds <= TIME_BUDGET:
        return
    fits = int(batch * TIME_BUDGET / seconds)  # the work grows with the batch
    smaller = f"a batch size of at most {fits}" if fits >= 1 else "a smaller network"
    raise ConfigError(
        None,
        f"{doing} {what} on a batch of {batch} would take about {seconds:.1f} s, more than "
        f"the {TIME_BUDGET} s allowed; try {smaller}, or fewer hidden units"
        + (", or a later layer or a smaller k" if doing == "checking" else ""),
    )


def _norm(a: np.ndarray) -> float:
    # no BLAS call: on a busy machine its threads cost more than the sum itself
    return math.sqrt(float(np.square(a, dtype=np.float64).sum()))


def _floats(values) -> list[float]:
    return [float(f"{v:.6g}") for v in np.asarray(values, dtype=np.float64)]
