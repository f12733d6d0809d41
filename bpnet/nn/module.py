"""The base class of every layer, loss and network.

A Module computes ``forward(x)`` and, given dL/d(output), ``backward(grad)`` adds
dL/d(parameter) into each parameter's ``.grad`` and returns dL/d(input) when asked. A module
whose forward only calls its submodules one after another needs no ``backward`` of its own
(see chain.py). Parameters and sub-modules are found by walking the instance's attributes (no
registration needed), in the order they were assigned, which gives PyTorch's ``state_dict``
key names.
"""

from __future__ import annotations

import inspect
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator

import numpy as np

from ..errors import GraphError
from . import chain
from .grad_mode import forward_state
from .parameter import Parameter
from .state import ModuleStateMixin


class Module(ModuleStateMixin):
    """Base class: subclasses set parameters/sub-modules as attributes and write ``forward``,
    and ``backward`` unless forward is a chain of submodule calls.

    Attributes starting with ``_`` (such as inputs kept for backward) are private and
    never treated as parameters or children.
    """

    # class-level defaults, so a subclass that forgets super().__init__() still works
    training = True
    _pass_id = -1  # the forward pass this module was last called in
    _last_call = None  # its chain.Call in that pass, when a recording parent made the call
    _calls = None  # for modules with the automatic backward: the calls of the last forward
    _chain_problem = None
    _input_problem = None
    _output = None  # the output of the last top-level forward, and of the one before it
    _previous_output = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # decided once per class, read on every call
        cls._records_calls = cls.backward is Module.backward
        cls._backward_takes_input_grad = "input_grad" in inspect.signature(cls.backward).parameters

    def __init__(self) -> None:
        self.training = True

    # --- computation -------------------------------------------------------------
    def forward(self, *args):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Given ``grad`` = dL/d(output), add dL/d(parameter) into every ``.grad``.

        Returns dL/d(input) when ``input_grad`` is True, else None (like ``loss.backward()``
        in PyTorch: a training loop needs no gradient for its data). Layers (Linear, ReLU…)
        override this and default to ``input_grad=True``, so layers composed by hand pass
        the gradient on; containers pass ``input_grad`` to their children explicitly.

        This default runs the recorded submodule calls of the last forward in reverse.
        """
        if type(self)._records_calls and self._calls is None and not self._has_children():
            raise NotImplementedError(f"{type(self).__name__} does not define backward()")
        self._check_gradient_is_for_this_forward(grad)
        return chain.run_backward(self, grad, input_grad)

    def __call__(self, *args):
        state = forward_state
        if not state.grad_enabled:
            return self._forward_keeping_nothing(args)
        parent = state.recorder
        if state.depth == 0:
            state.pass_id += 1
        elif self._pass_id == state.pass_id:
            self._called_again(parent)
        self._pass_id = state.pass_id
        records = self._records_calls
        if records:
            self._calls = []
        state.recorder = self if records else None
        state.depth += 1
        try:
            output = self.forward(*args)
        finally:
            state.depth -= 1
            state.recorder = parent
        if parent is not None:
            call = chain.Call(self, args, output)
            parent._calls.append(call)
            self._last_call = call
        else:
            self._last_call = None
        if records:
            calls = self._calls
            self._chain_problem = chain.chain_problem(self, args, output, calls)
            self._input_problem = chain.first_input_problem(self, args, calls)
            for call in calls:  # checked: keep no activations alive for the chain's sake
                call.args = call.output = None
        if state.depth == 0 and isinstance(output, np.ndarray):
            # a loss may be taken of this output: remember which it is
            if self._output is not None:
                self._previous_output = weakref.ref(self._output)
            self._output = output
        return output

    def _called_again(self, parent) -> None:
        """A second call in one forward pass: keep the first call's state for its backward."""
        if parent is None or self._last_call is None:
            raise GraphError(
                f"{self!r} was called twice in one forward pass, by a module with its own "
                f"backward(), which cannot tell the two calls apart. Use one module per call, "
                f"or share the weights explicitly (b = nn.Linear(3, 3); b.weight = a.weight)."
            )
        self._last_call.snapshot = chain.snapshot(self)

    def _forward_keeping_nothing(self, args: tuple):
        """Forward under ``no_grad``: afterwards the module holds what it held before (what a
        pending backward needs), and nothing of this pass."""
        before = {k: v for k, v in vars(self).items() if k[0] == "_"}
        try:
            return self.forward(*args)
        finally:
            for key in [k for k in vars(self) if k[0] == "_" and k not in before]:
                delattr(self, key)
            vars(self).update(before)

    def _check_gradient_is_for_this_forward(self, grad) -> None:
        """Refuse a loss gradient computed on the output of an earlier forward: this module
        kept only its last forward's inputs, so the gradients would be of the wrong batch."""
        last = forward_state.loss_grad
        if last is None or last[0] is not grad:
            return
        prediction = last[1]
        if prediction is self._output or prediction.base is self._output:
            return
        earlier = self._previous_output() if self._previous_output is not None else None
        if earlier is not None and (prediction is earlier or prediction.base is earlier):
            raise GraphError(
                f"this gradient comes from a loss computed on the output of an earlier forward "
                f"of {type(self).__name__}, but {type(self).__name__} has run forward again since "
                f"and keeps only the latest inputs. Take the loss of the latest output, or run "
                f"the extra forward inside `with bpnet.no_grad():`."
            )

    def _saved(self, value, missing=None):
        """``value``, kept by forward for backward; a clear error if forward has not run."""
        if value is missing:
            raise GraphError(f"{self!r}: call forward() before backward()")
        return value

    def _has_children(self) -> bool:
        return next(self.children(), None) is not None

    # --- structure ---------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, value in vars(self).items():
            if isinstance(value, Module) and not name.startswith("_"):
                yield name, value

    def children(self) -> Iterator[Module]:
        seen = set()
        for _, module in self.named_children():
            if id(module) not in seen:
                seen.add(id(module))
                yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """``("", self)``, then every module inside, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every module inside it, depth first, each once."""
        for _, module in self.named_modules():
            yield module

    def add_module(self, name: str, module: Module | None) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise KeyError(f"module name should be a Python identifier such as 'fc1', got {name!r}")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module takes a Module, got {type(module).__name__}")
        setattr(self, name, module)

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn`` on every submodule, then on this module (PyTorch's order); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def _walk_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every ``(name, parameter)``, own first, then children's; a shared one under each name."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter) and not name.startswith("_"):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child._walk_parameters(prefix=f"{prefix}{name}.")

    def named_parameters(self, prefix: str = "") -> list[tuple[str, Parameter]]:
        """``[("0.weight", p), ("0.bias", p), …]``; a parameter shared by two layers once."""
        seen: set[int] = set()
        found = []
        for name, p in self._walk_parameters(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                found.append((name, p))
        return found

    def parameters(self) -> ParameterList:
        """The parameters, each once: a list, so ``len`` and indexing work, that also answers
        ``next(model.parameters())`` as PyTorch's generator does."""
        return ParameterList(p for _, p in self.named_parameters())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient (None, as PyTorch 2), or fill with zeros (``set_to_none=False``)."""
        for p in self.parameters():
            p.zero_grad(set_to_none)


class ParameterList(list):
    """A list of parameters that is also its own iterator, for ``next(model.parameters())``."""

    _next_index = 0

    def __next__(self) -> Parameter:
        if self._next_index >= len(self):
            raise StopIteration
        self._next_index += 1
        return self[self._next_index - 1]


Module._records_calls = True
Module._backward_takes_input_grad = True

__all__ = ["Module", "OrderedDict", "ParameterList"]
