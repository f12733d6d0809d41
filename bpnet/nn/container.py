"""Containers: Sequential, a network that is a chain of modules, and ModuleList, a list of
modules that a custom module's forward calls as it likes.

Sequential's forward runs the modules in order; its backward (the automatic one of every
module whose forward is a chain, see chain.py) runs their backward passes in reverse,
handing each the gradient the next one returned — the chain rule, one layer at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from .module import Module


class _IndexedModules(Module):
    """Children kept in a list and named ``"0"``, ``"1"``, … as in PyTorch."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        self._modules_list: list[Module] = []
        for module in modules:
            self.append(module)

    def append(self, module: Module):
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__} takes Modules, got {type(module).__name__}")
        self._modules_list.append(module)
        return self

    def extend(self, modules: Iterable[Module]):
        for module in modules:
            self.append(module)
        return self

    def add_module(self, name: str, module: Module) -> None:
        if name != str(len(self)):
            raise KeyError(
                f"{type(self).__name__} names its modules 0, 1, 2, …: the next name is "
                f"{len(self)!r}, got {name!r} (or use append(module))"
            )
        self.append(module)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._modules_list):
            yield str(index), module

    def __getitem__(self, index):
        if isinstance(index, slice):
            chosen = self._modules_list[index]
            return Sequential(*chosen) if isinstance(self, Sequential) else ModuleList(chosen)
        return self._modules_list[index]

    def __len__(self) -> int:
        return len(self._modules_list)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules_list)


class Sequential(_IndexedModules):
    """``Sequential(m0, m1, …)(x) = m_last(… m1(m0(x)))``.

    Children are named ``"0"``, ``"1"``, …, so parameter keys are ``"0.weight"`` as in
    PyTorch and a state dict loads into the equivalent ``torch.nn.Sequential``.
    ``backward(grad)`` fills every parameter's ``.grad`` and returns None; with
    ``input_grad=True`` it returns dL/d(input). A module may appear twice (``lin, Tanh(),
    lin``): each call's gradient is added into the shared weights, as in PyTorch.

    Examples:
        >>> model = Sequential(Linear(784, 256), ReLU(), Linear(256, 10))
        >>> model(np.zeros((32, 784), np.float32)).shape
        (32, 10)
    """

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for module in self._modules_list:
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list of modules whose parameters belong to the module holding it (keys
    ``"layers.0.weight"``, as PyTorch's). It has no forward: the owner's forward calls them.

    Examples:
        >>> self.layers = ModuleList(Linear(8, 8) for _ in range(3))
    """

    def forward(self, *args):
        raise NotImplementedError(
            "ModuleList has no forward: call its modules in your forward "
            "(for layer in self.layers: x = layer(x))"
        )
