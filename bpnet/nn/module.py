"""The base class of every layer, loss and network.

A Module computes ``forward(x)`` and, given dL/d(output), ``backward(grad)`` returns
dL/d(input) and adds dL/d(parameter) into each parameter's ``.grad``. Parameters and
sub-modules are found by walking the instance's attributes (no registration needed), in
the order they were assigned, which gives PyTorch's ``state_dict`` key names.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from .parameter import Parameter


class LoadResult(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class: subclasses set parameters/sub-modules as attributes and write
    ``forward`` and ``backward``.

    Attributes starting with ``_`` (such as inputs kept for backward) are private and
    never treated as parameters or children.
    """

    def __init__(self) -> None:
        self.training = True

    # --- computation -------------------------------------------------------------
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad: np.ndarray) -> np.ndarray:
        """Given dL/d(output), accumulate parameter gradients and return dL/d(input).

        Layers with parameters also accept ``input_grad=False``, which skips computing
        dL/d(input) when nobody needs it (the first layer of a network).
        """
        raise NotImplementedError(f"{type(self).__name__} does not define backward()")

    def __call__(self, *args):
        return self.forward(*args)

    # --- structure ---------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module) and not name.startswith("_"):
                yield name, value

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first."""
        yield self
        for child in self.children():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """``[("0.weight", p), ("0.bias", p), …]``: own parameters first, then children's."""
        found = []
        for name, value in vars(self).items():
            if isinstance(value, Parameter) and not name.startswith("_"):
                found.append((prefix + name, value))
        for name, child in self.named_children():
            found.extend(child.named_parameters(prefix=f"{prefix}{name}."))
        return found

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    # --- modes and dtypes --------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active) on this module and all inside it."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        """Set evaluation mode (Dropout does nothing). Same as ``train(False)``."""
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every parameter (and its gradient) to ``dtype``, in place; returns self."""
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = p.grad.astype(dtype)  # accumulated gradients survive, as in PyTorch
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # --- state -------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameter arrays by PyTorch key name (``"0.weight"``), sharing memory like PyTorch."""
        return OrderedDict((name, p.data) for name, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict: bool = True) -> LoadResult:
        """Copy arrays into the parameters of the same names (casting to their dtype).

        Raises:
            KeyError: with ``strict`` and missing or unexpected keys (all listed at once).
            ValueError: a shape differs from the parameter's.
        """
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            problems = []
            if missing:
                problems.append(f"Missing key(s): {', '.join(missing)}")
            if unexpected:
                problems.append(f"Unexpected key(s): {', '.join(unexpected)}")
            raise KeyError(
                f"Error loading state_dict for {type(self).__name__}: " + "; ".join(problems)
            )
        for name, param in own.items():
            if name not in state_dict:
                continue
            value = np.asarray(state_dict[name])
            if value.shape != param.data.shape:
                raise ValueError(
                    f"size mismatch for {name}: the saved array has shape {value.shape}, "
                    f"the parameter in this model has shape {param.data.shape}"
                )
            np.copyto(param.data, value, casting="unsafe")
        return LoadResult(missing, unexpected)

    # --- display -----------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
