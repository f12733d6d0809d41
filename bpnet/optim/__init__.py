"""Optimizers with PyTorch's names, arguments and update formulas."""

from . import lr_scheduler
from .adam import Adam, AdamW
from .lr_scheduler import CosineAnnealingLR, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "lr_scheduler",
]
