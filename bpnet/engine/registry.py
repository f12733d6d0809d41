"""The names a learner chooses from, each defined once: activations, optimizers (with the
hyper-parameters each one uses), learning-rate schedules and MNIST's architectures.

The configs' ``Literal`` types, ``build_optimizer``, the CLI's choices, the pages' menus
and docs/protocol.md's tables are all derived from these dictionaries; the tasks have
their own registry in ``tasks/__init__.py``. Add a name here and every front end offers it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from .. import nn, optim
from ..errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


@dataclass(frozen=True)
class OptimizerSpec:
    """How to build one optimizer, and whether it takes a momentum.

    ``momentum`` is its default momentum, or None when the optimizer has no momentum
    (then a momentum in the config or in a live update is refused).
    """

    summary: str
    build: Callable[..., optim.Optimizer]  # build(params, lr, weight_decay, momentum)
    momentum: float | None = None


def _sgd(params, lr, weight_decay, momentum):
    return optim.SGD(params, lr=lr, weight_decay=weight_decay)


def _momentum(params, lr, weight_decay, momentum):
    return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _nesterov(params, lr, weight_decay, momentum):
    # Nesterov needs a momentum; with 0 it is plain SGD (PyTorch refuses nesterov=True then)
    return optim.SGD(
        params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0
    )


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("plain stochastic gradient descent, no momentum", _sgd),
    "momentum": OptimizerSpec("SGD with heavy-ball momentum", _momentum, momentum=0.9),
    "nesterov": OptimizerSpec("SGD with Nesterov momentum", _nesterov, momentum=0.9),
    "adam": OptimizerSpec(
        "Adam (its own moment estimates; no momentum)",
        lambda params, lr, weight_decay, momentum: optim.Adam(
            params, lr=lr, weight_decay=weight_decay
        ),
    ),
    "adamw": OptimizerSpec(
        "Adam with decoupled weight decay",
        lambda params, lr, weight_decay, momentum: optim.AdamW(
            params, lr=lr, weight_decay=weight_decay
        ),
    ),
    "rmsprop": OptimizerSpec(
        "RMSprop (momentum optional)",
        lambda params, lr, weight_decay, momentum: optim.RMSprop(
            params, lr=lr, momentum=momentum, weight_decay=weight_decay
        ),
        momentum=0.0,
    ),
}

# MNIST's two networks; tasks/mnist.py builds them (the cnn in networks.py)
ARCHITECTURES: dict[str, str] = {
    "mlp": "a multilayer perceptron: Linear layers of the hidden sizes",
    "cnn": "LeNet-style: two 5×5 convolutions (channels), each with the activation and a "
    "2×2 max-pool, then 120 units",
}

LR_SCHEDULES: dict[str, str] = {
    "constant": "keep the learning rate",
    "cosine": "anneal the learning rate to 0 over the run, stepped per epoch",
}


def literal(names: Iterable[str]):
    """``Literal["a", "b", …]`` of a registry's names, for a config field's type."""
    return Literal[tuple(names)]


ActivationName = literal(ACTIVATIONS)
OptimizerName = literal(OPTIMIZERS)
ScheduleName = literal(LR_SCHEDULES)
ArchitectureName = literal(ARCHITECTURES)


def momentum_optimizers() -> list[str]:
    """The optimizers that take a momentum, in registry order."""
    return [name for name, spec in OPTIMIZERS.items() if spec.momentum is not None]


def build_optimizer(
    name: str, params, lr: float, weight_decay: float = 0.0, momentum: float | None = None
) -> optim.Optimizer:
    """The optimizer ``name`` over ``params``; ``momentum`` None means its default.

    Raises:
        ConfigError: for a name not in ``OPTIMIZERS`` (never a silent fallback).
    """
    spec = OPTIMIZERS.get(name)
    if spec is None:
        raise ConfigError(
            "optimizer", f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}"
        )
    if momentum is None:
        momentum = spec.momentum or 0.0
    return spec.build(params, lr=lr, weight_decay=weight_decay, momentum=momentum)
