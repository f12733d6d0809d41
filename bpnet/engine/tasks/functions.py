"""Regression on a typed formula: fit a curve y = f(x) or a surface z = f(x, y).

The data comes from ``bpnet.datasets.functions``; the network minimises MSE on z-scored
targets, and each epoch the page gets the network's curve or surface on a dense grid.
"""

from __future__ import annotations

import numpy as np

from ... import nn
from ...data import DataLoader
from ..config import CurveConfig, SurfaceConfig
from .base import Task, as_list


class FunctionTask(Task):
    """Regression on a typed formula (curve or surface): MSE on z-scored targets."""

    def __init__(self, config: CurveConfig | SurfaceConfig):
        super().__init__(config)
        from ...datasets import functions

        common = dict(
            n_train=config.n_train, n_val=config.n_val, noise=config.noise,
            seed=config.seed, grid=config.grid,
        )  # fmt: skip
        if config.task == "curve":
            self.data = functions.curve(config.expression, x_range=tuple(config.x_range), **common)
        else:
            self.data = functions.surface(
                config.expression,
                x_range=tuple(config.x_range),
                y_range=tuple(config.y_range),
                **common,
            )
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

    def _predict_grid(self, model: nn.Module) -> np.ndarray:
        return self.data.denormalize_targets(model(self.data.grid_inputs))[:, 0]

    def _val_loss(self, model: nn.Module) -> float:
        return self.criterion(model(self.data.x_val), self.data.y_val)


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


class SurfaceTask(FunctionTask):
    max_epoch_rate = 5.0  # a 3-D redraw is heavy for the browser

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
