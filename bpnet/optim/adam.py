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
        self._one_arrays: dict = {}  # see _one_array_moments; reused buffers, not state

    def _update_group(self, params, group):
        lr, wd = group["lr"], group["weight_decay"]
        amsgrad, maximize = group.get("amsgrad"), group.get("maximize")
        states = [self._state_of(p, amsgrad) for p in params]
        for state in states:
            state["step"] += 1
        if self._fits_one_array(params, states, amsgrad):
            return self._update_as_one_array(params, states, group)
        for p, state in zip(params, states):
            g = -p.grad if maximize else p.grad
            if wd and self.decoupled_weight_decay:
                p.data *= 1 - lr * wd  # AdamW: decay the weights, not the gradient
            elif wd:
                g = g + wd * p.data
            maximum = state["max_exp_avg_sq"] if amsgrad else None
            scratch = self._scratch_like(p.data, 0), self._scratch_like(p.data, 1)
            p.data -= self._step_of(g, state["exp_avg"], state["exp_avg_sq"], maximum,
                                    state["step"], group, scratch)  # fmt: skip

    def _state_of(self, p, amsgrad) -> dict:
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {
                "step": 0,
                "exp_avg": np.zeros_like(p.data),
                "exp_avg_sq": np.zeros_like(p.data),
            }
        if amsgrad and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(p.data)
        return state

    @staticmethod
    def _step_of(g, m, v, maximum, step, group, scratch) -> np.ndarray:
        """Update the moments ``m`` and ``v`` in place from the gradient ``g``; returns the
        step to subtract from the weights, written into ``scratch[0]``."""
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        # two reused temporaries instead of five fresh arrays per step
        tmp, denom = scratch
        m *= beta1
        m += np.multiply(g, 1 - beta1, out=tmp)
        v *= beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - beta2
        v += tmp
        if maximum is not None:  # amsgrad
            v = np.maximum(maximum, v, out=maximum)
        np.sqrt(v, out=denom)
        denom /= math.sqrt(1 - beta2**step)
        denom += eps
        np.divide(m, denom, out=tmp)
        tmp *= lr / (1 - beta1**step)
        return tmp

    # --- small networks: the whole group as one array -------------------------------
    # A step is 13 numpy calls per parameter. For the pages' 1-64-64-1 networks that is 78
    # calls of about a µs on arrays of 1 to 4,096 numbers, a third of the training step.
    # Below ONE_ARRAY_LIMIT numbers the moments of a group live in one array each (the
    # state's arrays are views into it), so the 13 calls run once per group; the gradient
    # is gathered into one array and the step handed back per parameter. Bigger groups
    # keep one call sequence per parameter: there, the gather would be one memory pass more.
    ONE_ARRAY_LIMIT = 1 << 16

    def _fits_one_array(self, params, states, amsgrad) -> bool:
        if amsgrad or len(params) < 2 or sum(p.data.size for p in params) > self.ONE_ARRAY_LIMIT:
            return False
        dtype, step = params[0].data.dtype, states[0]["step"]
        return all(
            p.data.dtype == dtype and p.grad.dtype == dtype and s["step"] == step
            for p, s in zip(params, states)
        )

    def _update_as_one_array(self, params, states, group) -> None:
        lr, wd = group["lr"], group["weight_decay"]
        m, v = self._one_array_moments(params, states)
        g = np.concatenate([p.grad.reshape(-1) for p in params])
        if group.get("maximize"):
            np.negative(g, out=g)
        if wd and self.decoupled_weight_decay:
            for p in params:
                p.data *= 1 - lr * wd
        elif wd:
            g += wd * np.concatenate([p.data.reshape(-1) for p in params])
        scratch = self._scratch_like(m, 0), self._scratch_like(m, 1)
        update = self._step_of(g, m, v, None, states[0]["step"], group, scratch)
        start = 0
        for p in params:
            p.data -= update[start : start + p.data.size].reshape(p.data.shape)
            start += p.data.size

    def _one_array_moments(self, params, states) -> tuple[np.ndarray, np.ndarray]:
        """The group's ``exp_avg`` and ``exp_avg_sq`` as two flat arrays whose slices are the
        state's arrays; rebuilt (copying the state's values) when the state was replaced (as
        ``load_state_dict`` does) or another set of parameters has gradients this step."""
        key = tuple(map(id, params))
        m, v = self._one_arrays.get(key, (None, None))
        if m is not None and all(
            s["exp_avg"].base is m and s["exp_avg_sq"].base is v for s in states
        ):
            return m, v
        m = np.concatenate([s["exp_avg"].reshape(-1) for s in states])
        v = np.concatenate([s["exp_avg_sq"].reshape(-1) for s in states])
        start = 0
        for p, s in zip(params, states):
            size, shape = p.data.size, p.data.shape
            s["exp_avg"] = m[start : start + size].reshape(shape)
            s["exp_avg_sq"] = v[start : start + size].reshape(shape)
            start += size
        self._one_arrays = {key: (m, v)}  # the last set of parameters only
        return m, v


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
