"""What the MNIST page shows about the validation set each epoch, beyond the accuracy.

The confusion matrix (how often each digit was read as each other digit, with a few
image indices per cell for the page to show), the mistakes the network was surest of,
and the first convolution's filters. Pure functions of arrays, so they test alone.
"""

from __future__ import annotations

import numpy as np

from .. import nn

EXAMPLES_PER_CELL = 12
WORST_MISTAKES = 12


def confusion(labels: np.ndarray, predictions: np.ndarray, classes: int) -> dict:
    """Counts of (true class, guessed class) pairs, and the first images of each pair.

    Shape: labels (N,), predictions (N,) -> ``counts`` (classes × classes) lists, row =
    true class, column = guess; ``examples`` the same grid of lists of up to 12 image
    indices (in validation order), so a page can show the images behind a cell.
    """
    cells = labels.astype(np.int64) * classes + predictions
    counts = np.bincount(cells, minlength=classes * classes)
    grouped = np.argsort(cells, kind="stable")  # indices grouped by cell, each group in order
    starts = np.cumsum(counts) - counts
    examples = [
        grouped[start : start + min(count, EXAMPLES_PER_CELL)].tolist()
        for start, count in zip(starts, counts)
    ]
    rows = range(0, classes * classes, classes)
    return {
        "counts": counts.reshape(classes, classes).tolist(),
        "examples": [examples[row : row + classes] for row in rows],
    }


def worst_mistakes(probs: np.ndarray, labels: np.ndarray) -> list[dict]:
    """The 12 wrong guesses made with the highest probability, surest first.

    Shape: probs (N, classes), labels (N,) -> up to 12 ``{"index", "label", "pred", "prob",
    "probs"}``, where ``prob`` is the probability given to the wrong guess.
    """
    predictions = probs.argmax(axis=1)
    confidence = probs[np.arange(len(probs)), predictions]
    wrong = np.flatnonzero(predictions != labels)
    surest = wrong[np.argsort(-confidence[wrong], kind="stable")[:WORST_MISTAKES]]
    return [
        {
            "index": int(i),
            "label": int(labels[i]),
            "pred": int(predictions[i]),
            "prob": round(float(confidence[i]), 4),
            "probs": np.round(probs[i].astype(np.float64), 4).tolist(),
        }
        for i in surest
    ]


def first_filters(model: nn.Module) -> list | None:
    """The first convolution's kernels for its first input channel, or None without one.

    Shape: weight (out, in, kh, kw) -> ``out`` lists of ``kh`` rows of ``kw`` floats.
    """
    conv = next((m for m in model.modules() if _is_convolution(m)), None)
    if conv is None:
        return None
    return np.round(conv.weight.data[:, 0].astype(np.float64), 4).tolist()


def _is_convolution(module: nn.Module) -> bool:
    weight = getattr(module, "weight", None)
    return weight is not None and weight.data.ndim == 4  # (out, in, kh, kw)
