"""Regression on a typed formula: fit a curve y = f(x) or a surface z = f(x, y).

The data comes from ``bpnet.datasets.functions``; the network minimises MSE on z-scored
targets, and each epoch the page gets the network's curve or surface on a dense grid.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ... import nn
from ...data import DataLoader
from ...datasets import functions
from ...errors import ConfigError, ExpressionError
from ..config import Range, SampleCount, TrainingConfig
from ..messages import example
from ..units import decompose, largest
from .base import Task, TaskSpec, as_list, forward_in_chunks

Expression = Annotated[str, Field(max_length=200)]


class FunctionConfig(TrainingConfig):
    expression: Expression = Field(functions.CURVE_PRESETS["sine"], description="the formula")
    n_train: Annotated[int, Field(ge=2, le=100_000)] = Field(200, description="training points")
    n_val: SampleCount = Field(100, description="validation points")
    noise: Annotated[float, Field(ge=0, le=10)] = Field(
        0.05, description="noise on training targets, relative to their std"
    )

    @model_validator(mode="after")
    def _ranges_increase(self):
        for name in ("x_range", "y_range"):
            low_high = getattr(self, name, None)
            if low_high is not None and not low_high[0] < low_high[1]:
                raise ValueError(
                    f"{name}: the min must be below the max, e.g. {example(type(self), name)}; "
                    f"got {low_high[0]:g} and {low_high[1]:g}"
                )
        return self

    def check(self) -> None:
        """Compile the formula and sample exactly the points the job will train on, so a
        formula that fails anywhere (a pole between grid points, values past float32) is
        refused at start rather than failing the job a moment later."""
        try:
            function_dataset(self)
        except ExpressionError as exc:
            raise ConfigError("expression", f"expression: {exc}") from None


def function_data_call(config: FunctionConfig) -> tuple[str, dict]:
    """The ``bpnet.datasets.functions`` call that samples a curve's or surface's data:
    (function name, keyword arguments). The job and the page's generated code both use it."""
    kwargs = {"expression": config.expression, "x_range": tuple(config.x_range)}
    if config.task == "surface":
        kwargs["y_range"] = tuple(config.y_range)
    kwargs.update(
        n_train=config.n_train, n_val=config.n_val, noise=config.noise,
        seed=config.seed, grid=config.grid,
    )  # fmt: skip
    return config.task, kwargs


def function_dataset(config: FunctionConfig) -> functions.FunctionDataset:
    """The curve or surface data set a job with ``config`` trains on (seeded: the same
    config always gives the same points)."""
    name, kwargs = function_data_call(config)
    return getattr(functions, name)(**kwargs)


class CurveConfig(FunctionConfig):
    """Fit y = f(x) typed by the user."""

    task: Literal["curve"] = "curve"
    x_range: Range = Field([-3.1416, 3.1416], description="x min,max")
    grid: Annotated[int, Field(ge=10, le=2000)] = Field(
        200, description="points of the plotted curve"
    )


class SurfaceConfig(FunctionConfig):
    """Fit z = f(x, y) typed by the user."""

    task: Literal["surface"] = "surface"
    expression: Expression = functions.SURFACE_PRESETS["sin-cos"]
    x_range: Range = [-2.0, 2.0]
    y_range: Range = Field([-2.0, 2.0], description="y min,max")
    n_train: Annotated[int, Field(ge=2, le=100_000)] = 1000
    n_val: SampleCount = 300
    grid: Annotated[int, Field(ge=5, le=100)] = Field(
        40, description="points per side of the plotted surface"
    )
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 300


UNIT_CURVES = 16  # curve page: unit contributions drawn under the fit
UNIT_MAPS = 8  # surface page: unit contributions drawn as small heatmaps


class FunctionTask(Task):
    """Regression on a typed formula (curve or surface): MSE on z-scored targets."""

    def __init__(self, config: CurveConfig | SurfaceConfig):
        super().__init__(config)
        self.data = function_dataset(config)
        self.criterion = nn.MSELoss()
        self._loader = DataLoader(
            self.data.x_train, self.data.y_train,
            batch_size=config.batch_size, shuffle=True, generator=self.rng_shuffle,
        )  # fmt: skip

    def model_sizes(self) -> list[int]:
        return [self.data.x_train.shape[1], *self.config.hidden, 1]

    def batches(self):
        return iter(self._loader)

    def num_batches(self) -> int:
        return len(self._loader)

    def _contributions(self, model: nn.Module, count: int):
        """The ``count`` largest unit contributions on the grid in the user's units, the sum
        of the others, and the bias (target mean included): together they are the fit."""
        contributions, bias = decompose(model, self.data.grid_inputs)
        contributions *= self.data.target_std
        top = largest(contributions, count)
        rest = contributions.sum(axis=1) - contributions[:, top].sum(axis=1)
        weights = model[-1].weight.data[0]
        return {
            "index": top.tolist(), "weights": as_list(weights[top]), "width": len(weights),
            "bias": bias * self.data.target_std + self.data.target_mean, "rest": as_list(rest),
        }, contributions[:, top].T  # fmt: skip

    def _predict_grid(self, model: nn.Module) -> np.ndarray:
        outputs = forward_in_chunks(model, self.data.grid_inputs, self.between_chunks)
        return self.data.denormalize_targets(outputs)[:, 0]

    def _val_loss(self, model: nn.Module) -> float:
        outputs = forward_in_chunks(model, self.data.x_val, self.between_chunks)
        return self.criterion(outputs, self.data.y_val)

    def describe(self) -> dict:
        d = self.data
        return {
            "architecture": self.architecture(),
            "inputs": {"mean": d.input_mean.tolist(), "std": d.input_std.tolist()},
            "input_shape": [d.n_inputs],
            "output": "values",
            "targets": {"mean": [d.target_mean], "std": [d.target_std]},
        }


class CurveTask(FunctionTask):
    def dataset_payload(self) -> dict:
        d = self.data
        return {
            **super().dataset_payload(),
            "x": as_list(d.grid_x),
            "y_true": as_list(d.grid_true),
            "train": {"x": as_list(d.train_points[0][:, 0]), "y": as_list(d.train_points[1])},
            "val": {"x": as_list(d.val_points[0][:, 0]), "y": as_list(d.val_points[1])},
        }

    def evaluate(self, model, epoch):
        return {
            "val_loss": self._val_loss(model),
            "x": as_list(self.data.grid_x),
            "y_pred": as_list(self._predict_grid(model)),
        }

    def units(self, model):
        summary, curves = self._contributions(model, UNIT_CURVES)
        return {"units": {**summary, "curves": as_list(curves)}}


class SurfaceTask(FunctionTask):
    max_epoch_rate = 5.0  # a 3-D redraw is heavy for the browser
    units_rate = 1.0  # 8 heatmaps are 5 times the rest of an epoch event

    def dataset_payload(self) -> dict:
        d = self.data

        def points(inputs_targets):
            inputs, targets = inputs_targets
            return {"x": as_list(inputs[:, 0]), "y": as_list(inputs[:, 1]), "z": as_list(targets)}

        return {
            **super().dataset_payload(),
            "x": as_list(d.grid_x),
            "y": as_list(d.grid_y),
            "z_true": as_list(d.grid_true),
            "train": points(d.train_points),
            "val": points(d.val_points),
        }

    def evaluate(self, model, epoch):
        side = len(self.data.grid_x)
        z = self._predict_grid(model).reshape(len(self.data.grid_y), side)
        return {"val_loss": self._val_loss(model), "z_pred": as_list(z)}

    def units(self, model):
        summary, maps = self._contributions(model, UNIT_MAPS)
        del summary["rest"]  # a heatmap of the rest would say little and weigh much
        maps = maps.reshape(len(maps), len(self.data.grid_y), len(self.data.grid_x))
        return {"units": {**summary, "maps": as_list(maps, 3)}}


CURVE = TaskSpec(
    "curve", "Curve",
    "fit a function of one variable and see how a network bends lines into curves, "
    "and where it overfits noise",
    CurveConfig, CurveTask, functions.CURVE_PRESETS,
)  # fmt: skip
SURFACE = TaskSpec(
    "surface", "Surface",
    "fit a function of two variables and compare the true surface with the network's in 3-D",
    SurfaceConfig, SurfaceTask, functions.SURFACE_PRESETS,
)  # fmt: skip
