"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from .optimizer import Optimizer


class SGD(Optimizer):
    """PyTorch's SGD. Per step, with g = grad + weight_decay * p:

    - momentum: ``buf = g`` on the first step, then ``buf = momentum * buf + (1 - dampening) * g``;
      ``g = g + momentum * buf`` with ``nesterov``, else ``g = buf``;
    - ``p = p - lr * g``.

    The original project's momentum never reached the update; here the buffer is kept per
    parameter in ``state[p]["momentum_buffer"]``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening,
            weight_decay=weight_decay, nesterov=nesterov,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update(self, p, group, state):
        lr, momentum = group["lr"], group["momentum"]
        g = p.grad
        if group["weight_decay"]:
            g = g + group["weight_decay"] * p.data
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= momentum
                if group["dampening"]:
                    buf += (1 - group["dampening"]) * g
                else:
                    buf += g
            g = g + momentum * buf if group["nesterov"] else buf
        p.data -= lr * g
