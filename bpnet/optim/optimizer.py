"""The base class of optimizers: parameter groups, per-parameter state, zero_grad.

As in PyTorch, hyper-parameters live in ``param_groups`` (a list of dicts), so a
learning rate changed there — by a scheduler or live from the web page — takes effect
at the next ``step()``. Per-parameter state (momentum buffers, running averages) lives
in ``state``, keyed by the Parameter. ``step()`` skips a parameter whose ``grad`` is None
(no backward reached it since ``zero_grad()``) or whose ``requires_grad`` is False.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from ..nn.parameter import Parameter


class Optimizer:
    """Base class. Subclasses define ``_update_group(params, group)``, which updates the
    parameters of one group that have a gradient (hyper-parameters read once per group)."""

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self.state: dict[Parameter, dict] = {}
        self._scratch: dict[tuple, np.ndarray] = {}  # reused temporaries, not state
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        group = dict(group)
        params = list(group["params"])
        for p in params:
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"optimizer can only optimize Parameters, got {type(p).__name__}; "
                    f"pass model.parameters()"
                )
        taken = {p for other in self.param_groups for p in other["params"]}
        if not taken.isdisjoint(params):  # it would be updated once per group
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_group(group)
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        lr = group["lr"]
        # numbers.Real also admits numpy scalars such as np.float32(0.1), as torch does
        if not (isinstance(lr, numbers.Real) and np.isfinite(lr) and lr >= 0):
            raise ValueError(f"Invalid learning rate: {lr}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every gradient (None: the next backward writes it, later ones add into it),
        or with ``set_to_none=False`` fill them with zeros, as PyTorch 2 does."""
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad(set_to_none)

    def step(self) -> None:
        """Update every parameter that has a gradient once from its current ``.grad``."""
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None and p.requires_grad]
            if params:
                self._update_group(params, group)

    def _update_group(self, params: list[Parameter], group: dict) -> None:
        raise NotImplementedError

    def _scratch_like(self, a: np.ndarray, slot: int = 0) -> np.ndarray:
        """A temporary of ``a``'s shape and dtype, reused every step instead of allocated."""
        key = (a.shape, a.dtype, slot)
        scratch = self._scratch.get(key)
        if scratch is None:
            scratch = self._scratch[key] = np.empty_like(a)
        return scratch

    # --- state -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, …]}]}``, as
        PyTorch numbers parameters: by position across the groups."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(p, len(index))
                ids.append(index[p])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[p]: copy.deepcopy(s) for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        params = []
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
            group.update({k: v for k, v in saved.items() if k != "params"})
            params.extend(zip(saved["params"], group["params"]))
        self.state = {}
        for saved_index, p in params:
            if saved_index in state_dict["state"]:
                self.state[p] = copy.deepcopy(state_dict["state"][saved_index])

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)
