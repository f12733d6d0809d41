"""What every training task provides to the job loop, and the pieces they share.

A task knows how to draw mini-batches, how to measure the network on held-out data,
and what the page should see. The job loop (``job.py``) is the same for every task.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ... import nn, optim
from .. import registry
from ..budget import eval_chunk_rows
from ..config import TrainingConfig, as_dict
from ..registry import ACTIVATIONS


def build_mlp(sizes: list[int], activation: str, generator: np.random.Generator) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), act, …, Linear(sizes[-2], sizes[-1])`` (no final activation)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, generator=generator), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def build_optimizer(config: TrainingConfig, params) -> optim.Optimizer:
    """The config's optimizer over ``params`` (see ``registry.OPTIMIZERS``)."""
    return registry.build_optimizer(
        config.optimizer, params, config.lr, config.weight_decay, config.momentum_value
    )


def build_schedule(config: TrainingConfig, optimizer: optim.Optimizer):
    """The per-epoch learning-rate schedule (see ``registry.LR_SCHEDULES``), or None."""
    if config.lr_schedule == "cosine":
        return optim.CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.lr_schedule == "constant":
        return None
    raise ValueError(f"no schedule is built for {config.lr_schedule!r}")  # a new registry name


def as_list(values: np.ndarray, digits: int = 6) -> list:
    """JSON-safe nested lists of short floats (float32 -> float64 would print 17 digits)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def encode_map(values: np.ndarray, low: float | None = None, high: float | None = None) -> dict:
    """A heatmap as bytes: ``value ≈ low + byte / 255 * (high - low)``, base64, row-major.

    Shape: values (side, side). ``low``/``high`` default to the values' own range.
    """
    values = np.nan_to_num(np.asarray(values, dtype=np.float64))
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    data = np.rint(np.clip(scaled, 0, 1) * 255).astype(np.uint8)
    return {"low": round(low, 5), "high": round(high, 5), "bytes": base64.b64encode(data).decode()}


class Task:
    """What every task provides to the job loop."""

    max_epoch_rate = 20.0  # epoch events per second at most (the page can't show more)
    reports_progress = False  # within-epoch progress events, for long epochs
    units_rate = 4.0  # epoch events per second at most that carry ``units()``

    def __init__(self, config: TrainingConfig):
        self.config = config
        # Called between evaluation chunks; the job sets it to honour pause and stop there
        # (it raises to abandon the evaluation), so a heavy evaluation never delays a stop.
        self.between_chunks: Callable[[], None] = lambda: None
        self.rng_init, self.rng_shuffle, self.rng_samples = np.random.default_rng(
            config.seed
        ).spawn(3)

    def model_sizes(self) -> list[int]:
        raise NotImplementedError

    def build_model(self, generator: np.random.Generator | None = None) -> nn.Sequential:
        """The task's network, initialised from the job's seed (or from ``generator``)."""
        sizes = self.model_sizes()
        return build_mlp(sizes, self.config.activation, generator or self.rng_init)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def num_batches(self) -> int:
        raise NotImplementedError

    def dataset_payload(self) -> dict:
        return {"task": self.config.task, "config": as_dict(self.config)}

    def evaluate(self, model: nn.Module, epoch: int) -> dict:
        """Validation loss and the task's picture, for an ``epoch`` event."""
        raise NotImplementedError

    def architecture(self) -> dict:
        """The network's recipe in the config's words, for the weights file."""
        config = self.config
        return {"name": "mlp", "hidden": list(config.hidden), "activation": config.activation}

    def describe(self) -> dict:
        """How raw inputs become the network's inputs and its outputs become answers, for
        the weights file (``bpnet.model_io``): normalisation, input shape, output kind."""
        raise NotImplementedError

    def units(self, model: nn.Module) -> dict:
        """What single units do (extra ``epoch`` fields, sent a few times a second)."""
        return {}


@dataclass(frozen=True)
class TaskSpec:
    """One task as every front end sees it. The page is ``templates/<name>.html`` with its
    script ``static/js/<name>.js``; the CLI command is ``bpnet train <name>``.

    Attributes:
        name: the config's ``task`` value, e.g. ``"curve"``.
        title: the nav link and page title, e.g. ``"Curve"``.
        summary: one line for the CLI's help and the index page.
        config: the config class (a ``TrainingConfig``).
        task: the ``Task`` class that runs it.
        presets: named example formulas (name -> formula) for tasks with an expression.
    """

    name: str
    title: str
    summary: str
    config: type[TrainingConfig]
    task: type[Task]
    presets: dict[str, str] = field(default_factory=dict)


def forward_in_chunks(
    model: nn.Module,
    x: np.ndarray,
    between: Callable[[], None] = lambda: None,
    rows: int | None = None,
) -> np.ndarray:
    """``model(x)`` a few rows at a time, calling ``between()`` before each chunk.

    Chunks are sized by the network (``budget.eval_chunk_rows``) unless ``rows`` is given,
    so the activations of a 100,000-point validation set never sit in memory at once and
    each chunk is quick. Shape: x (N, …) -> (N, out).
    """
    if rows is None:
        rows = eval_chunk_rows(sum(p.data.size for p in model.parameters()))
    outputs = []
    for start in range(0, len(x), rows):
        between()
        outputs.append(model(x[start : start + rows]))
    return np.concatenate(outputs)
