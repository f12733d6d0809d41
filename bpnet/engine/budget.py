"""What one job may cost: memory it may allocate and work it may do between two stop checks.

A config that passes its field limits can still combine them into something a shared
server cannot afford (six layers of 1,024 units trained 4,096 examples at a time). These
checks run at ``start`` and refuse such a config naming the product of fields that is too
large; docs/load.md has the measured peaks they keep every job under.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError

MEMORY_BUDGET = 200 * 2**20  # bytes one job may plan to allocate (measured peak < 300 MB)
STEP_WORK = 2**30  # multiply-adds in one step's forward pass: batch_size x parameters
EVAL_CHUNK_WORK = 2**28  # multiply-adds per evaluation chunk, between two stop checks
MAX_EVAL_CHUNK = 2048  # rows per evaluation chunk at most
IMAGE_PIXELS = 28 * 28  # every MNIST-like data set here is 28 x 28 grey pixels
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
    """A config's planned cost. ``sizes``: layer widths, input to output."""

    sizes: tuple[int, ...]
    parameters: int
    parameter_bytes: int
    activation_bytes: int
    data_bytes: int

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


def cost(config) -> Cost | None:
    """The memory a job with ``config`` plans to allocate, by kind (None: not an MLP)."""
    sizes = layer_sizes(config)
    if sizes is None:
        return None
    parameters = parameter_count(sizes)
    arrays = 3 + STATE_ARRAYS[config.optimizer]
    activations = config.batch_size * sum(sizes) * ACTIVATION_ARRAYS * FLOAT_BYTES
    if config.task in ("mnist", "classify"):
        data = 0  # MNIST is shared by every job (the baseline); classify has 5,000 points
    else:
        coordinates = sizes[0] + 1  # the inputs and the target
        grid_points = config.grid ** sizes[0]  # a curve's line, a surface's square
        data = (config.n_train + config.n_val + grid_points) * coordinates * POINT_BYTES
    return Cost(sizes, parameters, parameters * arrays * FLOAT_BYTES, activations, data)


def check(config) -> None:
    """Refuse a config whose job would cost more than one job may.

    Raises:
        ConfigError: naming the field to change and the product of fields that is too large.
    """
    planned = cost(config)
    if planned is None:
        return
    work = config.batch_size * planned.parameters
    if work > STEP_WORK:
        largest = max(1, STEP_WORK // planned.parameters)
        raise ConfigError(
            "batch_size",
            f"batch_size × parameters is too large: {config.batch_size:,} × "
            f"{planned.parameters:,} = {work:,} multiply-adds per step; at most {STEP_WORK:,} "
            f"are allowed. With hidden {list(config.hidden)} use batch_size {largest:,} or "
            f"less, or a smaller network (e.g. hidden [256, 128])",
        )
    if planned.total_bytes <= MEMORY_BUDGET:
        return
    mib, budget = planned.total_bytes / 2**20, MEMORY_BUDGET / 2**20
    kinds = {
        "hidden": (
            planned.parameter_bytes,
            f"parameters × optimizer state ({planned.parameters:,} parameters with "
            f"{config.optimizer})",
        ),
        "batch_size": (
            planned.activation_bytes,
            f"batch_size × layer widths ({config.batch_size:,} × {sum(planned.sizes):,})",
        ),
        "n_train": (planned.data_bytes, "the sampled points (n_train + n_val + grid points)"),
    }
    field, (_, what) = max(kinds.items(), key=lambda item: item[1][0])
    raise ConfigError(
        field,
        f"{field}: this job would need about {mib:,.0f} MB, mostly for {what}; one job may "
        f"use {budget:,.0f} MB. Make {field} smaller",
    )


def eval_chunk_rows(parameters: int) -> int:
    """Rows per evaluation chunk, so that one chunk is quick and its activations small."""
    return max(1, min(MAX_EVAL_CHUNK, EVAL_CHUNK_WORK // max(parameters, 1)))
