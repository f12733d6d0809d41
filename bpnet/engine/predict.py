"""Ask a job's network about an image while it trains, or after it ended.

``parse_pixels`` checks what a page sent (784 numbers from 0 to 1, a drawn digit) and
says which pixel is wrong; a ``Predictor`` keeps a second copy of the network, refreshed
from the training one between two steps, so a question never disturbs the training.
"""

from __future__ import annotations

import math
import threading
from numbers import Real
from typing import Any

import numpy as np

from ..errors import ConfigError

SIDE = 28
PIXELS = SIDE * SIDE
_EXAMPLE = "e.g. {pixels: [0, 0, 0.5, 1, …]} with 784 numbers, row by row"


def parse_pixels(data: Any) -> np.ndarray:
    """``{"pixels": [784 numbers in 0..1]}`` -> float32 array of shape (1, 784).

    0 is paper, 1 is ink, row by row from the top left, like MNIST's images.

    Raises:
        ConfigError: the field is missing, not a list of 784, or a value is not a number
            from 0 to 1 (NaN and infinities included); the message names the pixel.
    """
    if not isinstance(data, dict):
        kind = "nothing" if data is None else type(data).__name__
        raise ConfigError(None, f"predict needs an object, {_EXAMPLE}; got {kind}")
    extra = next((name for name in data if name != "pixels"), None)
    if extra is not None:
        raise ConfigError(
            str(extra), f"unknown field {str(extra)[:40]!r}; predict takes only pixels"
        )
    pixels = data.get("pixels")
    if not isinstance(pixels, list) or len(pixels) != PIXELS:
        got = f"{len(pixels)} values" if isinstance(pixels, list) else type(pixels).__name__
        raise ConfigError("pixels", f"pixels must be a list of {PIXELS} numbers (28×28), got {got}")
    for index, value in enumerate(pixels):
        if isinstance(value, bool) or not isinstance(value, Real) or not _in_unit_range(value):
            row, column = divmod(index, SIDE)
            raise ConfigError(
                "pixels",
                f"pixels[{index}] (row {row}, column {column}) must be a number from 0 (paper) "
                f"to 1 (ink), got {str(value)[:20]}",
            )
    return np.asarray(pixels, dtype=np.float32).reshape(1, PIXELS)


def _in_unit_range(value: Real) -> bool:
    return math.isfinite(value) and 0 <= value <= 1


class Predictor:
    """A copy of a task's network that answers ``task.predict`` with the training
    network's current weights, copied under ``weights_lock`` (held while a step changes
    them). The training network itself is never run from another thread: a forward pass
    there would overwrite what its layers keep for their backward pass."""

    def __init__(self, task, model, weights_lock: threading.Lock):
        self._task = task
        self._model = model
        self._weights_lock = weights_lock
        self._copy = None
        self._lock = threading.Lock()  # one question at a time uses the copy

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        """Shape: inputs (N, 784) -> (N, classes) probabilities."""
        with self._lock:
            if self._copy is None:
                # any initial weights do: they are overwritten at once
                self._copy = self._task.build_model(np.random.default_rng(0)).eval()
            with self._weights_lock:
                self._copy.load_state_dict(self._model.state_dict())
            return self._task.predict(self._copy, inputs)
