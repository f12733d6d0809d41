"""The MNIST page's convolutional network, LeNet-style.

Two 5×5 convolutions, each followed by the activation and a 2×2 max-pool, then two
fully connected layers: the network LeCun's LeNet made famous, small enough to train
in numpy. The multilayer perceptron is ``build_mlp`` in ``tasks.py``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import nn

KERNEL = 5
DENSE_UNITS = 120


def build_cnn(
    channels: list[int],
    activation: Callable[[], nn.Module],
    classes: int,
    generator: np.random.Generator,
    image_side: int = 28,
) -> nn.Sequential:
    """``conv(1→c1, 5×5, pad 2), act, maxpool 2, conv(c1→c2, 5×5), act, maxpool 2, flatten,
    Linear(c2·5·5 → 120), act, Linear(120 → classes)`` with ``channels = [c1, c2]``.

    Shape: x (N, 1, 28, 28) -> logits (N, classes). The state dict's keys are those of the
    same ``torch.nn.Sequential`` ("0.weight", "3.weight", "7.weight", "9.weight").
    """
    first, second = channels
    side = (image_side // 2 - (KERNEL - 1)) // 2  # 28 → 28 (padded) → 14 → 10 → 5
    return nn.Sequential(
        nn.Conv2d(1, first, KERNEL, padding=KERNEL // 2, generator=generator),
        activation(),
        nn.MaxPool2d(2),
        nn.Conv2d(first, second, KERNEL, generator=generator),
        activation(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(second * side * side, DENSE_UNITS, generator=generator),
        activation(),
        nn.Linear(DENSE_UNITS, classes, generator=generator),
    )
