"""Whether forward passes keep what backward needs, and the bookkeeping of one forward pass.

``with bpnet.no_grad():`` runs forward passes that keep nothing for backward (evaluation
then holds no batch of activations in memory), as ``torch.no_grad`` does. The state is per
thread, because the web app trains several networks at once, one per thread.
"""

from __future__ import annotations

import functools
import threading


class _ForwardState(threading.local):
    """Per-thread state read by ``Module.__call__`` on every call.

    Attributes:
        grad_enabled: False inside ``no_grad()``.
        depth: how many module calls are running (0 between top-level calls).
        pass_id: counts top-level forward passes, to notice a module called twice in one.
        recorder: the module whose forward is running and records its children's calls
            (a custom Module without its own backward), or None.
        loss_grad: (gradient, the prediction it is about) from the last loss backward, so a
            model can tell that a gradient belongs to an earlier forward.
    """

    grad_enabled = True
    depth = 0
    pass_id = 0
    recorder = None
    loss_grad = None


forward_state = _ForwardState()


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``."""
    return forward_state.grad_enabled


class no_grad:  # noqa: N801 - PyTorch's name
    """Context manager (or decorator) in which forward passes keep nothing for backward.

    Examples:
        >>> with bpnet.no_grad():
        ...     accuracy = (model(x_test).argmax(1) == y_test).mean()
    """

    def __enter__(self) -> None:
        self._previous = forward_state.grad_enabled
        forward_state.grad_enabled = False

    def __exit__(self, *exc_info) -> None:
        forward_state.grad_enabled = self._previous

    def __call__(self, function):
        @functools.wraps(function)
        def without_grad(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)

        return without_grad
