"""What one job may cost: memory it may allocate and work it may do between two stop checks.

A config that passes its field limits can still combine them into something a shared
server cannot afford (six layers of 1,024 units trained 4,096 examples at a time). These
checks run at ``start`` and refuse such a config naming the product of fields that is too
large; docs/load.md has the measured peaks they keep every job under.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

MEMORY_BUDGET = 200 * 2**20  # bytes one job may plan to allocate (measured peak < 300 MB)
STEP_WORK = 2**30  # multiply-adds in one step's forward pass: batch_size x parameters
# The CNN's convolutions (numpy im2col and col2im around small products) take several
# times an MLP's time per multiply-add: a lower cap keeps its steps, and so its stops,
# under 0.5 s (docs/load.md has the measured figures)
CNN_STEP_WORK = 2**27
EVAL_CHUNK_WORK = 2**28  # multiply-adds per evaluation chunk, between two stop checks
MAX_EVAL_CHUNK = 2048  # rows per evaluation chunk at most
EVAL_SHARE = 4  # the CNN's evaluation chunk plans a quarter of the memory budget
IMAGE_SIDE = 28  # every MNIST-like data set here is 28 x 28 grey pixels
IMAGE_PIXELS = IMAGE_SIDE * IMAGE_SIDE
FLOAT_BYTES = 4  # float32
# Bytes per sampled point and coordinate: float64 points, float32 normalised copies,
# and the Python floats and JSON text of the ``dataset`` event.
POINT_BYTES = 80
# Arrays per parameter: the weights, their gradient, one download copy, plus the
# optimizer's state (Adam's two moments, RMSprop's square average and momentum).
STATE_ARRAYS = {"sgd": 1, "momentum": 1, "nesterov": 1, "adam": 2, "adamw": 2, "rmsprop": 2}
# Activations kept per layer and example in a step: a Linear's input, an activation's
# output, and the gradient flowing back.
ACTIVATION_ARRAYS = 3


@dataclass(frozen=True)
class Cost:
    """A config's planned cost. ``sizes``: layer widths, input to output (None for the
    CNN); ``work``: multiply-adds of one example's forward pass (an MLP's parameters);
    ``eval_rows``: examples per evaluation chunk."""

    sizes: tuple[int, ...] | None
    parameters: int
    parameter_bytes: int
    activation_bytes: int
    data_bytes: int
    work: int
    eval_rows: int

    @property
    def total_bytes(self) -> int:
        return self.parameter_bytes + self.activation_bytes + self.data_bytes


def layer_sizes(config) -> tuple[int, ...] | None:
    """Widths of the network's layers for ``config``, e.g. (1, 64, 64, 1) for a curve;
    None for a network that is not a stack of Linear layers (MNIST's CNN, whose size is
    fixed apart from its channels)."""
    if config.task == "mnist":
        if getattr(config, "architecture", "mlp") != "mlp":
            return None
        from ..datasets import CLASS_NAMES  # only MNIST needs it; keeps this module light

        return (IMAGE_PIXELS, *config.hidden, len(CLASS_NAMES[config.dataset]))
    if config.task == "classify":
        return (len(config.features), *config.hidden, 2)
    inputs = 1 if config.task == "curve" else 2
    return (inputs, *config.hidden, 1)


def parameter_count(sizes) -> int:
    """Weights and biases of ``Linear(sizes[0], sizes[1]), …``."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def cost(config) -> Cost:
    """The memory a job with ``config`` plans to allocate, by kind, and its work."""
    sizes = layer_sizes(config)
    if sizes is None:
        return cnn_cost(config)
    parameters = parameter_count(sizes)
    arrays = 3 + STATE_ARRAYS[config.optimizer]
    activations = config.batch_size * sum(sizes) * ACTIVATION_ARRAYS * FLOAT_BYTES
    if config.task in ("mnist", "classify"):
        data = 0  # MNIST is shared by every job (the baseline); classify has 5,000 points
    else:
        coordinates = sizes[0] + 1  # the inputs and the target
        grid_points = config.grid ** sizes[0]  # a curve's line, a surface's square
        data = (config.n_train + config.n_val + grid_points) * coordinates * POINT_BYTES
    return Cost(
        sizes, parameters, parameters * arrays * FLOAT_BYTES, activations, data,
        work=parameters, eval_rows=eval_chunk_rows(parameters),
    )  # fmt: skip


def check(config) -> None:
    """Refuse a config whose job would cost more than one job may.

    Raises:
        ConfigError: naming the field to change and the product of fields that is too large.
    """
    planned = cost(config)
    work = config.batch_size * planned.work
    limit = STEP_WORK if planned.sizes is not None else CNN_STEP_WORK
    if work > limit:
        largest = max(1, limit // planned.work)
        if planned.sizes is None:
            what, network, smaller = "multiply-adds per image", "channels", "channels [8, 16]"
        else:
            what, network, smaller = "parameters", "hidden", "hidden [256, 128]"
        raise ConfigError(
            "batch_size",
            f"batch_size × {what} is too large: {config.batch_size:,} × "
            f"{planned.work:,} = {work:,} multiply-adds per step; at most {limit:,} "
            f"are allowed. With {network} {list(getattr(config, network))} use batch_size "
            f"{largest:,} or less, or a smaller network (e.g. {smaller})",
        )
    if planned.total_bytes <= MEMORY_BUDGET:
        return
    mib, budget = planned.total_bytes / 2**20, MEMORY_BUDGET / 2**20
    network = "hidden" if planned.sizes is not None else "channels"
    per_example = planned.activation_bytes // (config.batch_size * FLOAT_BYTES)
    kinds = {
        network: (
            planned.parameter_bytes,
            f"parameters × optimizer state ({planned.parameters:,} parameters with "
            f"{config.optimizer})",
        ),
        "batch_size": (
            planned.activation_bytes,
            f"batch_size × activations per example ({config.batch_size:,} × "
            f"{per_example:,} numbers)",
        ),
        "n_train": (planned.data_bytes, "the sampled points (n_train + n_val + grid points)"),
    }
    field, (_, what) = max(kinds.items(), key=lambda item: item[1][0])
    largest = ""
    if field == "batch_size":
        spare = MEMORY_BUDGET - planned.parameter_bytes - planned.data_bytes
        largest = f" (at most {max(1, spare // (per_example * FLOAT_BYTES)):,} here)"
    raise ConfigError(
        field,
        f"{field}: this job would need about {mib:,.0f} MB, mostly for {what}; one job may "
        f"use {budget:,.0f} MB. Make {field} smaller{largest}",
    )


def eval_chunk_rows(parameters: int) -> int:
    """Rows per evaluation chunk, so that one chunk is quick and its activations small."""
    return max(1, min(MAX_EVAL_CHUNK, EVAL_CHUNK_WORK // max(parameters, 1)))


def cnn_cost(config) -> Cost:
    """MNIST's CNN: the network is built once for one image (cheap), and each layer's
    output size, each convolution's patch matrix and multiply-adds are read off it."""
    from ..datasets import CLASS_NAMES  # only MNIST needs it; keeps this module light

    trace = _cnn_trace(tuple(config.channels), len(CLASS_NAMES[config.dataset]))
    parameters, work, train_floats, eval_floats = trace
    arrays = 3 + STATE_ARRAYS[config.optimizer]
    # the evaluation's chunks: quick between stop checks, and small, because the last
    # step's saved arrays are still held while evaluating (measured: docs/load.md)
    eval_bytes = eval_floats * FLOAT_BYTES
    eval_rows = min(eval_chunk_rows(work), max(1, MEMORY_BUDGET // EVAL_SHARE // eval_bytes))
    return Cost(
        None, parameters, parameters * arrays * FLOAT_BYTES,
        config.batch_size * train_floats * FLOAT_BYTES, 0, work=work, eval_rows=eval_rows,
    )  # fmt: skip


@functools.lru_cache(maxsize=64)
def _cnn_trace(channels: tuple[int, int], classes: int) -> tuple[int, int, int, int]:
    """(parameters, multiply-adds, floats a training step holds, floats an evaluation holds)
    per image, by running ``build_cnn`` on one blank image."""
    from .. import nn  # only the CNN's cost needs the layers
    from .networks import build_cnn

    model = build_cnn(list(channels), nn.ReLU, classes, np.random.default_rng(0))
    x = np.zeros((1, 1, IMAGE_SIDE, IMAGE_SIDE), dtype=np.float32)
    parameters = sum(p.data.size for p in model.parameters())
    work, train, evaluation = 0, 0, x.size
    for layer in model:
        y = layer(x)
        # kept for backward (input or output), the output, and the gradient passed back
        train += ACTIVATION_ARRAYS * y.size
        evaluation += y.size
        if isinstance(layer, nn.Conv2d):
            pixels = y[0, 0].size
            patches = layer.weight.data[0].size * pixels  # the im2col matrix, K × P
            (pad_h, pad_w), (_, c, h, w) = layer.padding, x.shape
            padded = c * (h + 2 * pad_h) * (w + 2 * pad_w)
            train += 2 * patches + 2 * padded  # patches and their gradient; padded x and dx
            evaluation += patches + padded
            work += layer.weight.data.size * pixels
        elif isinstance(layer, nn.Linear):
            work += layer.weight.data.size
        x = y
    return parameters, work, train, evaluation
