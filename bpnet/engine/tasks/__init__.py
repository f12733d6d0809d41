"""The training tasks: curve, surface and mnist, each a ``Task`` the job loop runs."""

from __future__ import annotations

from ..config import Config
from .base import ACTIVATIONS, Task, as_list, build_mlp, build_optimizer
from .functions import CurveTask, FunctionTask, SurfaceTask
from .mnist import MnistTask


def build_task(config: Config) -> Task:
    kind = {"curve": CurveTask, "surface": SurfaceTask, "mnist": MnistTask}[config.task]
    return kind(config)


__all__ = [
    "ACTIVATIONS",
    "CurveTask",
    "FunctionTask",
    "MnistTask",
    "SurfaceTask",
    "Task",
    "as_list",
    "build_mlp",
    "build_optimizer",
    "build_task",
]
