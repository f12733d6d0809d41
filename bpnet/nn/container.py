"""Sequential: a network that is a chain of modules.

Forward runs the modules in order; backward runs their backward passes in reverse,
handing each the gradient the next one returned — the chain rule, one layer at a time.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .module import Module


class Sequential(Module):
    """``Sequential(m0, m1, …)(x) = m_last(… m1(m0(x)))``.

    Children are named ``"0"``, ``"1"``, …, so parameter keys are ``"0.weight"`` as in
    PyTorch and a state dict loads into the equivalent ``torch.nn.Sequential``.

    Examples:
        >>> model = Sequential(Linear(784, 256), ReLU(), Linear(256, 10))
        >>> model(np.zeros((32, 784), np.float32)).shape
        (32, 10)
    """

    def __init__(self, *modules: Module):
        super().__init__()
        self._layers: list[Module] = []
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Modules, got {type(module).__name__}")
        self._layers.append(module)
        return self

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for index, module in enumerate(self._layers):
            yield str(index), module

    def __getitem__(self, index: int) -> Module:
        return self._layers[index]

    def __len__(self) -> int:
        return len(self._layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for module in self._layers:
            x = module(x)
        return x

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``grad`` = dL/d(output) through every module, last to first.

        Returns dL/d(input). With ``input_grad=False`` (what training loops want, like
        PyTorch's autograd for inputs that don't require grad) the layers before the first
        one with parameters are skipped and that one skips its input gradient; returns None.
        """
        first_trainable = next(
            (i for i, m in enumerate(self._layers) if m.parameters()), len(self._layers)
        )
        for index in reversed(range(len(self._layers))):
            module = self._layers[index]
            if input_grad or index > first_trainable:
                grad = module.backward(grad)
            elif index == first_trainable:
                return module.backward(grad, input_grad=False)
        return grad if input_grad else None
