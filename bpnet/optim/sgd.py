"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD. Per step, with g = ±grad (− with ``maximize``) + weight_decay * p:

    - momentum: ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``;
      ``g = g + momentum * buf`` with ``nesterov``, else ``g = buf``;
    - ``p = p - lr * g``.

    The buffer is kept per parameter in ``state[p]["momentum_buffer"]``, as in PyTorch.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening,
            weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_group(self, params, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        maximize = group.get("maximize", False)
        for p in params:
            g = -p.grad if maximize else p.grad
            if weight_decay:
                g = g + weight_decay * p.data
            if momentum:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy()
                else:
                    buf *= momentum
                    if dampening:
                        buf += (1 - dampening) * g
                    else:
                        buf += g
                g = g + momentum * buf if nesterov else buf
            # lr * g into a reused temporary: one allocation fewer per weight per step
            p.data -= np.multiply(g, lr, out=self._scratch_like(p.data))
