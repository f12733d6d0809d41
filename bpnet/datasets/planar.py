"""Two-class point sets on the square [-6, 6]², after TensorFlow Playground's: a disc inside
a ring, XOR quadrants, two Gaussian blobs, two interleaved spiral arms; and the input
features a network may see of a point (x, y, x², y², xy, sin x, sin y).

Every generator takes a sample count, a noise level from 0 to 0.5 and a
``numpy.random.Generator``, and returns points (n, 2) in float64 with labels (n,) in {0, 1},
half of each class (the first half class 1 where the construction is by class).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

HALF_SIDE = 6.0  # the square is [-HALF_SIDE, HALF_SIDE]²
RADIUS = 5.0  # the scale of the patterns, as in TensorFlow Playground; noise is relative to it

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _on_square(points: np.ndarray) -> np.ndarray:
    # noisy or wide blobs may spill over the edge; keep every point on the plotted square
    return np.clip(points, -HALF_SIDE, HALF_SIDE)


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1)


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 in a disc of radius 2.5, class 0 in a ring from 3.5 to 5.

    Noise jitters the position a point's label is read at (by up to ``noise * 5``), so
    labels near the edge flip: the classes overlap without leaving their areas.
    """
    inner, outer = n - n // 2, n // 2
    radius = np.concatenate([
        rng.uniform(0, 0.5 * RADIUS, inner), rng.uniform(0.7 * RADIUS, RADIUS, outer)
    ])  # fmt: skip
    points = _polar(radius, rng.uniform(0, 2 * np.pi, n))
    jitter = rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    labels = (np.hypot(*(points + jitter).T) < 0.5 * RADIUS).astype(np.int64)
    return _on_square(points), labels


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points kept 0.3 away from the axes; class 1 where x and y have the same sign."""
    points = rng.uniform(-RADIUS, RADIUS, (n, 2))
    points += np.where(points > 0, 0.3, -0.3)  # a gap along the axes, so the classes separate
    jitter = rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    moved = points + jitter
    labels = (moved[:, 0] * moved[:, 1] >= 0).astype(np.int64)
    return _on_square(points), labels


def gaussian(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Class 1 around (2, 2), class 0 around (-2, -2); the variance grows from 0.5 at no
    noise to 4 at noise 0.5, until the blobs overlap."""
    std = np.sqrt(0.5 + 7 * noise)
    ones, zeros = n - n // 2, n // 2
    points = np.concatenate([
        rng.normal(2.0, std, (ones, 2)), rng.normal(-2.0, std, (zeros, 2))
    ])  # fmt: skip
    labels = np.concatenate([np.ones(ones, np.int64), np.zeros(zeros, np.int64)])
    return _on_square(points), labels


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two arms winding 1.75 turns out to radius 5, half a turn apart; noise moves each
    point by up to ``noise`` in x and y (as TensorFlow Playground does)."""
    arms = []
    for count, turn in ((n - n // 2, 0.0), (n // 2, np.pi)):
        step = np.arange(count) / max(count, 1)
        arm = _polar(step * RADIUS, 1.75 * 2 * np.pi * step + turn)
        arms.append(arm + rng.uniform(-1, 1, (count, 2)) * noise)
    labels = np.concatenate([np.ones(n - n // 2, np.int64), np.zeros(n // 2, np.int64)])
    return _on_square(np.concatenate(arms)), labels


GENERATORS: dict[str, Generator] = {
    "circle": circle,
    "xor": xor,
    "gaussian": gaussian,
    "spiral": spiral,
}

FEATURES: dict[str, tuple[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "x": ("x", lambda x, y: x),
    "y": ("y", lambda x, y: y),
    "x2": ("x²", lambda x, y: x * x),
    "y2": ("y²", lambda x, y: y * y),
    "xy": ("x·y", lambda x, y: x * y),
    "sinx": ("sin x", lambda x, y: np.sin(x)),
    "siny": ("sin y", lambda x, y: np.sin(y)),
}  # name -> (how the page labels it, the function of the raw coordinates)


def features(points: np.ndarray, names: list[str]) -> np.ndarray:
    """The chosen features of each point, as the network's input.

    Shape: points (n, 2) -> (n, len(names)), float32. Raises KeyError for an unknown name.
    """
    x, y = points[:, 0], points[:, 1]
    return np.stack([FEATURES[name][1](x, y) for name in names], axis=1).astype(np.float32)


def grid(side: int) -> np.ndarray:
    """``side``² points covering the square, row-major with y rising by row (row i is at
    ``ys[i]``), as a heatmap is drawn. Shape: (side * side, 2)."""
    axis = np.linspace(-HALF_SIDE, HALF_SIDE, side)
    xs, ys = np.meshgrid(axis, axis)
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def split(
    points: np.ndarray, labels: np.ndarray, train_ratio: float, rng: np.random.Generator
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A seeded shuffle cut into training and validation sets; each gets at least one point."""
    order = rng.permutation(len(points))
    cut = min(max(1, round(train_ratio * len(points))), len(points) - 1)
    train, val = order[:cut], order[cut:]
    return (points[train], labels[train]), (points[val], labels[val])


__all__ = [
    "FEATURES",
    "GENERATORS",
    "HALF_SIDE",
    "circle",
    "features",
    "gaussian",
    "grid",
    "spiral",
    "split",
    "xor",
]
