"""Data sets sampled from a typed function: a curve ``y = f(x)`` or a surface ``z = f(x, y)``.

Training and validation points are drawn uniformly from the domain with a seeded generator,
training targets get Gaussian noise, and inputs and targets are z-scored for the network. The
dense grid of true values is kept, in the user's units, for plotting the fit against the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bpnet.errors import ExpressionError
from bpnet.expr import Expression, compile_expression

CURVE_PRESETS: dict[str, str] = {
    "sine": "sin(x)",
    "abs": "abs(x)",
    "cubic": "x^3 - x",
    "step": "where(x > 0, 1, -1)",
    "bump": "exp(-x^2)",
    "damped-wave": "sin(3*x) * exp(-x^2/4)",
    "sawtooth": "x - floor(x)",
    "relu": "max(x, 0)",
}
SURFACE_PRESETS: dict[str, str] = {
    "sin-cos": "sin(x) * cos(y)",
    "saddle": "x^2 - y^2",
    "ripple": "sin(2*sqrt(x^2 + y^2))",
    "hill": "exp(-(x^2 + y^2))",
    "two-hills": "exp(-((x - 1)^2 + y^2)) - exp(-((x + 1)^2 + y^2))",
    "quadrants": "where(x*y > 0, 1, -1)",
    "disc": "where(x^2 + y^2 < 1.5, 1, 0)",
}
MAX_POINTS = 1_000_000  # per split; keeps a mistyped count from exhausting memory
LARGEST_VALUE = float(np.finfo(np.float32).max)  # the network computes in float32


class Points(NamedTuple):
    """Sampled points in the user's units. Shape: inputs (n, d), targets (n,)."""

    inputs: np.ndarray
    targets: np.ndarray


@dataclass(eq=False)
class FunctionDataset:
    """Training and validation sets for fitting ``expression``, plus its grid for plotting.

    Shape: x_train (n_train, d), y_train (n_train, 1), x_val (n_val, d), y_val (n_val, 1), all
    float32 and z-scored; d = 1 for a curve, 2 for a surface. grid_inputs (grid, 1) or
    (grid * grid, 2), float32 and z-scored, in the row-major order of grid_true.

    The z-score uses the training set: ``x_norm = (x - input_mean) / input_std`` and
    ``y_norm = (y - target_mean) / target_std``, with a std of 1 where the values are constant.
    """

    expression: Expression
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    train_points: Points  # targets with the training noise
    val_points: Points  # clean targets
    grid_x: np.ndarray  # (grid,)
    grid_y: np.ndarray | None  # (grid,) for a surface, None for a curve
    grid_true: np.ndarray  # (grid,) or (grid, grid) with row i at grid_y[i]
    grid_inputs: np.ndarray
    input_mean: np.ndarray  # (d,)
    input_std: np.ndarray  # (d,)
    target_mean: float
    target_std: float

    @property
    def n_inputs(self) -> int:
        return len(self.input_mean)

    def normalize_inputs(self, raw) -> np.ndarray:
        """``(raw - input_mean) / input_std`` as float32. Shape: (n, d) or, for a curve, (n,)."""
        raw = np.asarray(raw, dtype=np.float64)
        if raw.ndim == 1 and self.n_inputs == 1:
            raw = raw[:, None]
        return _zscore(raw, self.input_mean, self.input_std)

    def normalize_targets(self, raw) -> np.ndarray:
        """``(raw - target_mean) / target_std`` as float32, same shape as ``raw``."""
        return _zscore(np.asarray(raw, dtype=np.float64), self.target_mean, self.target_std)

    def denormalize_targets(self, pred) -> np.ndarray:
        """``pred * target_std + target_mean`` in float64: network output back in user units."""
        return np.asarray(pred, dtype=np.float64) * self.target_std + self.target_mean


def curve(
    expression: str | Expression,
    x_range: tuple[float, float] = (-3.0, 3.0),
    n_train: int = 200,
    n_val: int = 100,
    noise: float = 0.05,
    seed: int | np.random.Generator = 0,
    grid: int = 200,
) -> FunctionDataset:
    """Noisy samples of ``y = f(x)`` for x uniform in ``x_range``; see ``FunctionDataset``."""
    expression = _expression(expression, ("x",))
    ranges = [_range("x_range", x_range)]
    grid_x = np.linspace(*ranges[0], _count("grid", grid, 2, 10_000))
    return _build(expression, ranges, n_train, n_val, noise, seed, grid_x, None)


def surface(
    expression: str | Expression,
    x_range: tuple[float, float] = (-2.0, 2.0),
    y_range: tuple[float, float] = (-2.0, 2.0),
    n_train: int = 1000,
    n_val: int = 300,
    noise: float = 0.05,
    seed: int | np.random.Generator = 0,
    grid: int = 40,
) -> FunctionDataset:
    """Noisy samples of ``z = f(x, y)`` on the rectangle ``x_range`` × ``y_range``."""
    expression = _expression(expression, ("x", "y"))
    ranges = [_range("x_range", x_range), _range("y_range", y_range)]
    grid = _count("grid", grid, 2, 500)
    grid_x, grid_y = np.linspace(*ranges[0], grid), np.linspace(*ranges[1], grid)
    return _build(expression, ranges, n_train, n_val, noise, seed, grid_x, grid_y)


def _build(expression, ranges, n_train, n_val, noise, seed, grid_x, grid_y) -> FunctionDataset:
    """Sample, add noise, normalise; shared by ``curve`` (grid_y None) and ``surface``."""
    n_train = _count("n_train", n_train, 2, MAX_POINTS)  # two points, so a spread exists
    n_val = _count("n_val", n_val, 1, MAX_POINTS)
    noise = _noise(noise)
    # The grid first: its error names the domain's edge, e.g. "log(x) is not finite at x = -3".
    if grid_y is None:
        grid_true, grid_points = expression(grid_x), grid_x[:, None]
    else:
        mesh_x, mesh_y = np.meshgrid(grid_x, grid_y)  # row i at grid_y[i]
        grid_true = expression(mesh_x, mesh_y)
        grid_points = np.column_stack([mesh_x.ravel(), mesh_y.ravel()])
    _check_fits(expression, grid_points, np.ravel(grid_true))

    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    low, high = np.array(ranges).T
    train_inputs = rng.uniform(low, high, size=(n_train, len(ranges)))
    val_inputs = rng.uniform(low, high, size=(n_val, len(ranges)))
    train_true = expression(*train_inputs.T)
    val_targets = expression(*val_inputs.T)  # validation stays clean: it measures the fit
    _check_fits(expression, train_inputs, train_true)
    _check_fits(expression, val_inputs, val_targets)
    train_targets = train_true + rng.normal(0.0, noise * train_true.std(), size=n_train)

    input_mean = train_inputs.mean(axis=0)
    input_std = np.array(
        [_spread(std, mean) for std, mean in zip(train_inputs.std(axis=0), input_mean, strict=True)]
    )
    target_mean = float(train_targets.mean())
    target_std = _spread(float(train_targets.std()), target_mean)
    return FunctionDataset(
        expression=expression,
        x_train=_zscore(train_inputs, input_mean, input_std),
        y_train=_zscore(train_targets[:, None], target_mean, target_std),
        x_val=_zscore(val_inputs, input_mean, input_std),
        y_val=_zscore(val_targets[:, None], target_mean, target_std),
        train_points=Points(train_inputs, train_targets),
        val_points=Points(val_inputs, val_targets),
        grid_x=grid_x,
        grid_y=grid_y,
        grid_true=grid_true,
        grid_inputs=_zscore(grid_points, input_mean, input_std),
        input_mean=input_mean,
        input_std=input_std,
        target_mean=target_mean,
        target_std=target_std,
    )


def _check_fits(expression: Expression, inputs: np.ndarray, values: np.ndarray) -> None:
    """Refuse values a float32 network cannot hold (the expression itself already refused
    non-finite ones), naming where they are. Shape: inputs (n, d), values (n,)."""
    too_large = np.abs(values) > LARGEST_VALUE
    if not too_large.any():
        return
    where = inputs[too_large]
    spans = ", ".join(
        f"{name} = {low:.4g} and {high:.4g}" if low != high else f"{name} = {low:.4g}"
        for name, low, high in zip("xy", where.min(axis=0), where.max(axis=0))
    )
    raise ExpressionError(
        f"the function's values overflow between {spans} (they reach "
        f"{np.abs(values).max():.3g}; a float32 network holds at most {LARGEST_VALUE:.3g}): "
        f"scale the formula down or choose a narrower range"
    )


def _zscore(raw: np.ndarray, mean, std) -> np.ndarray:
    return ((raw - mean) / std).astype(np.float32)


def _spread(std: float, mean: float) -> float:
    """A standard deviation safe to divide by: 1 when the values are constant up to rounding."""
    return float(std) if std > 1e-12 * max(1.0, abs(mean)) else 1.0


def _noise(noise) -> float:
    try:
        value = float(noise)
    except (TypeError, ValueError):
        value = math.nan
    if isinstance(noise, bool | str) or not 0 <= value < math.inf:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return value + 0.0  # -0.0 -> 0.0: numpy refuses a scale of -0.0 as negative


def _expression(expression, variables: tuple[str, ...]) -> Expression:
    if isinstance(expression, Expression):
        if not set(expression.variables) <= set(variables):
            raise ValueError(
                f"expression must be a function of {', '.join(variables)}, "
                f"got one of {', '.join(expression.variables)}"
            )
        if expression.variables != variables:
            expression = compile_expression(expression.text, variables)
        return expression
    return compile_expression(expression, variables)


def _range(name: str, value) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(f"{name} must be finite with low < high, got {value!r}")
    return low, high


def _count(name: str, value, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise ValueError(f"{name} must be between {minimum} and {maximum}, got {value}")
    return int(value)
