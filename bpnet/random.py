"""The seeded random-number source that initialisation, dropout and shuffling share.

``manual_seed(n)`` resets it, so the same seed gives the same run, as ``torch.manual_seed``
does. Anything random also accepts its own ``numpy.random.Generator``.
"""

from __future__ import annotations

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed bpnet's default generator and return it."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator used when a function is not given one."""
    return _generator
