"""What every training task provides to the job loop, and the pieces they share.

A task knows how to draw mini-batches, how to measure the network on held-out data,
and what the page should see. The job loop (``job.py``) is the same for every task.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ... import nn, optim
from ..config import Config, as_dict

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


def build_mlp(sizes: list[int], activation: str, generator: np.random.Generator) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), act, …, Linear(sizes[-2], sizes[-1])`` (no final activation)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, generator=generator), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def build_optimizer(config: Config, params) -> optim.Optimizer:
    name, lr, wd, momentum = config.optimizer, config.lr, config.weight_decay, config.momentum_value
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        nesterov = name == "nesterov" and momentum > 0
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd)


def as_list(values: np.ndarray, digits: int = 6) -> list:
    """JSON-safe nested lists of short floats (float32 -> float64 would print 17 digits)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


class Task:
    """What every task provides to the job loop."""

    max_epoch_rate = 20.0  # epoch events per second at most (the page can't show more)
    reports_progress = False  # within-epoch progress events, for long epochs

    def __init__(self, config: Config):
        self.config = config
        self.rng_init, self.rng_shuffle, self.rng_samples = np.random.default_rng(
            config.seed
        ).spawn(3)

    def model_sizes(self) -> list[int]:
        raise NotImplementedError

    def build_model(self) -> nn.Sequential:
        sizes = self.model_sizes()
        return build_mlp(sizes, self.config.activation, self.rng_init)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def num_batches(self) -> int:
        raise NotImplementedError

    def dataset_payload(self) -> dict:
        return {"task": self.config.task, "config": as_dict(self.config)}

    def evaluate(self, model: nn.Module, epoch: int) -> dict:
        """Validation loss and the task's picture, for an ``epoch`` event."""
        raise NotImplementedError
