"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    """PyTorch's Adam. Per step t, with g = ±grad (− with ``maximize``; + weight_decay * p
    for Adam):

    ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g²`` (``amsgrad``: use ``v̂ = max(v̂, v)``
    in place of v below), ``p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _update_group(self, params, group):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        eps, amsgrad, maximize = group["eps"], group.get("amsgrad"), group.get("maximize")
        for p in params:
            state = self.state.get(p)
            if not state:
                state = self.state[p] = {
                    "step": 0,
                    "exp_avg": np.zeros_like(p.data),
                    "exp_avg_sq": np.zeros_like(p.data),
                }
                if amsgrad:
                    state["max_exp_avg_sq"] = np.zeros_like(p.data)
            state["step"] += 1
            step = state["step"]
            g = -p.grad if maximize else p.grad
            if wd and self.decoupled_weight_decay:
                p.data *= 1 - lr * wd  # AdamW: decay the weights, not the gradient
            elif wd:
                g = g + wd * p.data
            m, v = state["exp_avg"], state["exp_avg_sq"]
            # two reused temporaries instead of five fresh arrays per step
            tmp, denom = self._scratch_like(p.data, 0), self._scratch_like(p.data, 1)
            m *= beta1
            m += np.multiply(g, 1 - beta1, out=tmp)
            v *= beta2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - beta2
            v += tmp
            if amsgrad:
                v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            bias_correction2_sqrt = math.sqrt(1 - beta2**step)
            np.sqrt(v, out=denom)
            denom /= bias_correction2_sqrt
            denom += eps
            np.divide(m, denom, out=tmp)
            tmp *= lr / (1 - beta1**step)
            p.data -= tmp


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p = p (1 - lr wd)`` before
    the Adam step, instead of adding ``wd p`` to the gradient. Default weight_decay 1e-2."""

    decoupled_weight_decay = True

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
        amsgrad=False, *, maximize=False,
    ):  # fmt: skip
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
            amsgrad=amsgrad, maximize=maximize,
        )  # fmt: skip
