"""What a Module is besides its computation: its mode, its dtype, its saved state, its repr.

Kept apart from module.py (the forward/backward bookkeeping) so each reads in one screen;
``Module`` inherits all of this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ..errors import StateDictError


class LoadResult(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class ModuleStateMixin:
    """Modes, dtypes, state dicts and display for ``Module``."""

    # --- modes and dtypes --------------------------------------------------------
    def train(self, mode: bool = True):
        """Set training mode (Dropout active) on this module and all inside it; returns self."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Set evaluation mode (Dropout does nothing). Same as ``train(False)``."""
        return self.train(False)

    def to(self, *args, device=None, dtype=None):
        """``to("cpu")`` (bpnet's only device: nothing to do), ``to(np.float64)`` (cast every
        parameter and its gradient in place), or both as keywords; returns self.

        Examples:
            >>> model.to("cpu").to(np.float64)
        """
        cast = dtype is not None
        for arg in args:
            if isinstance(arg, str) or _is_torch_device(arg):
                device = arg
            else:
                dtype, cast = arg, True  # to(None) is refused below, not taken as float64
        if device is not None:
            name = str(device)
            if name != "cpu" and not name.startswith("cpu:"):
                raise ValueError(
                    f"bpnet runs on the CPU only: to() accepts the device 'cpu' or a float "
                    f"dtype such as np.float32, got {device!r}"
                )
        if cast:
            self._cast(dtype)
        return self

    def _cast(self, dtype) -> None:
        try:
            target = np.dtype(dtype) if dtype is not None else None
        except TypeError:
            target = None
        if target is None or not np.issubdtype(target, np.floating):
            raise TypeError(
                f"to() casts parameters to a float dtype such as np.float32 or np.float64, "
                f"got {dtype!r}"
            )
        for p in self.parameters():
            p.data = p.data.astype(target)
            if p.grad is not None:
                p.grad = p.grad.astype(target)  # accumulated gradients survive, as in PyTorch

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    # --- state -------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameter arrays by PyTorch key name (``"0.weight"``), sharing memory like PyTorch;
        a parameter shared by two layers appears under both names, as in PyTorch."""
        return OrderedDict((name, p.data) for name, p in self._walk_parameters())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> LoadResult:
        """Copy arrays into the parameters of the same names (casting to their dtype).

        Raises:
            StateDictError (a RuntimeError, as PyTorch's): not a mapping; with ``strict``,
                missing or unexpected keys (all listed at once); a shape differs from the
                parameter's. Nothing is copied when it raises.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise StateDictError(
                f"load_state_dict for {name} takes a dict of arrays by name "
                f"(model.load_state_dict(bpnet.load('weights.npz'))), got {type(state_dict).__name__}"
            )
        own = dict(self._walk_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        if strict and missing:
            problems.append(f"Missing key(s): {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"Unexpected key(s): {', '.join(map(str, unexpected))}")
        values = {}
        for key, param in own.items():
            if key not in state_dict:
                continue
            values[key] = value = np.asarray(state_dict[key])
            if value.shape != param.data.shape:
                problems.append(
                    f"size mismatch for {key}: the saved array has shape {value.shape}, "
                    f"the parameter in this model has shape {param.data.shape}"
                )
        if problems:
            raise StateDictError(f"Error loading state_dict for {name}: " + "; ".join(problems))
        for key, value in values.items():
            np.copyto(own[key].data, value, casting="unsafe")
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


def _is_torch_device(value) -> bool:
    """A ``torch.device`` (recognised by name: bpnet never imports torch)."""
    return type(value).__name__ == "device" and type(value).__module__.startswith("torch")
