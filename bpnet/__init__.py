"""bpnet: a pure-numpy neural-network library with PyTorch's API, written to be read.

``from bpnet import nn, optim`` gives modules with explicit ``forward``/``backward``,
losses and optimizers; ``bpnet.save``/``bpnet.load`` move weights to and from PyTorch;
``bpnet.load_model`` rebuilds a network a job saved, with its input and output scaling;
``bpnet.manual_seed(n)`` makes runs repeat exactly; ``with bpnet.no_grad():`` evaluates
without keeping anything for backward.
"""

from . import data, nn, optim
from .data import DataLoader, TensorDataset
from .errors import BpnetError, ConfigError, ExpressionError
from .model_io import load_model
from .nn.grad_mode import is_grad_enabled, no_grad
from .random import default_generator, manual_seed
from .serialization import load, save

__version__ = "0.1.0"

__all__ = [
    "BpnetError",
    "ConfigError",
    "DataLoader",
    "ExpressionError",
    "TensorDataset",
    "data",
    "default_generator",
    "is_grad_enabled",
    "load",
    "load_model",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
    "save",
]
