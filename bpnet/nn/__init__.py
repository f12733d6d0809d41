"""Neural-network building blocks with PyTorch's names: ``bpnet.nn.Linear`` is
``torch.nn.Linear`` written in numpy, with ``backward`` spelled out."""

from . import utils
from .activation import Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleList, Sequential
from .conv import Conv2d
from .linear import Flatten, Linear
from .loss import CrossEntropyLoss, MSELoss
from .module import Module
from .parameter import Parameter
from .pooling import AvgPool2d, MaxPool2d

__all__ = [
    "AvgPool2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "utils",
]
