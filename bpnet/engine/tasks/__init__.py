"""The training tasks, registered once: each task module defines its config, its ``Task``
and a ``TaskSpec``; ``TASKS`` lists them in the order the nav and the CLI show them.

``parse_config(dict)`` turns what a user or a browser sent into the task's config, or
raises ``ConfigError`` naming the field and what is allowed.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from .. import budget
from ..config import TrainingConfig, _kind, as_dict, validate
from .base import Task, TaskSpec, as_list, build_mlp, build_optimizer, build_schedule
from .classify import CLASSIFY, ClassifyConfig, ClassifyTask
from .functions import (
    CURVE,
    SURFACE,
    CurveConfig,
    CurveTask,
    FunctionTask,
    SurfaceConfig,
    SurfaceTask,
    function_data_call,
)
from .mnist import MNIST, MnistConfig, MnistTask

TASKS: dict[str, TaskSpec] = {spec.name: spec for spec in (CURVE, SURFACE, MNIST, CLASSIFY)}


def parse_config(data: Any) -> TrainingConfig:
    """Validate a dict such as ``{"task": "curve", "expression": "sin(x)", "epochs": 300}``.

    Raises:
        ConfigError: naming the first bad field and what it allows.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            None,
            'a training config must be an object such as {"task": "curve", "epochs": 300}, '
            f"got {_kind(data)}",
        )
    task = data.get("task")
    if not isinstance(task, str) or task not in TASKS:
        shown = repr(task) if isinstance(task, str) else _kind(task)
        raise ConfigError("task", f"unknown task {shown[:40]}; choose {_or(TASKS)}")
    config = validate(TASKS[task].config, data)
    config.check()
    budget.check(config)
    return config


def defaults(task: str) -> dict:
    """A task's default config as a dict."""
    return as_dict(TASKS[task].config())


def build_task(config: TrainingConfig) -> Task:
    return TASKS[config.task].task(config)


def _or(names) -> str:
    names = list(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"


__all__ = [
    "TASKS",
    "ClassifyConfig",
    "ClassifyTask",
    "CurveConfig",
    "CurveTask",
    "FunctionTask",
    "MnistConfig",
    "MnistTask",
    "SurfaceConfig",
    "SurfaceTask",
    "Task",
    "TaskSpec",
    "as_list",
    "build_mlp",
    "build_optimizer",
    "build_schedule",
    "build_task",
    "defaults",
    "function_data_call",
    "parse_config",
]
