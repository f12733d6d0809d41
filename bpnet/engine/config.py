"""Training configs: what a job may be asked to do, validated field by field.

``parse_config(dict)`` turns what a user or a browser sent into a config object, or
raises ``ConfigError`` naming the field and what is allowed. The limits here protect a
shared server as much as they guide a learner; docs/protocol.md lists them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError, ExpressionError

Units = Annotated[int, Field(ge=1, le=1024)]
Hidden = Annotated[list[Units], Field(min_length=1, max_length=6)]
Range = Annotated[
    list[Annotated[float, Field(ge=-1000, le=1000)]], Field(min_length=2, max_length=2)
]
SampleCount = Annotated[int, Field(ge=1, le=100_000)]

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")


class _Config(BaseModel):
    # strict: "0.1" is not a number and true is not an integer; extra fields are refused
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    hidden: Hidden = [64, 64]
    activation: Literal["relu", "tanh", "sigmoid", "leaky_relu"] = "tanh"
    optimizer: Literal["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"] = "adam"
    lr: Annotated[float, Field(gt=0, le=10)] = 0.01
    momentum: Annotated[float, Field(ge=0, lt=1)] | None = None  # None: the optimizer's default
    weight_decay: Annotated[float, Field(ge=0, le=1)] = 0.0
    lr_schedule: Literal["constant", "cosine"] = "constant"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 500
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0

    @property
    def momentum_value(self) -> float:
        """0.9 for ``momentum``/``nesterov`` unless set; 0 unless set for ``sgd``/``rmsprop``;
        Adam and AdamW keep their own moments and use none."""
        if self.optimizer in ("adam", "adamw"):
            return 0.0
        if self.momentum is not None:
            return self.momentum
        return 0.9 if self.optimizer in ("momentum", "nesterov") else 0.0


class _FunctionConfig(_Config):
    expression: Annotated[str, Field(max_length=200)] = "sin(x)"
    n_train: Annotated[int, Field(ge=2, le=100_000)] = 200
    n_val: SampleCount = 100
    noise: Annotated[float, Field(ge=0, le=10)] = 0.05

    @model_validator(mode="after")
    def _ranges_increase(self):
        for name in ("x_range", "y_range"):
            low_high = getattr(self, name, None)
            if low_high is not None and not low_high[0] < low_high[1]:
                raise ValueError(f"{name}: the minimum must be below the maximum, got {low_high}")
        return self


class CurveConfig(_FunctionConfig):
    """Fit y = f(x) typed by the user."""

    task: Literal["curve"] = "curve"
    x_range: Range = [-3.1416, 3.1416]
    grid: Annotated[int, Field(ge=10, le=2000)] = 200


class SurfaceConfig(_FunctionConfig):
    """Fit z = f(x, y) typed by the user."""

    task: Literal["surface"] = "surface"
    expression: Annotated[str, Field(max_length=200)] = "sin(x)*cos(y)"
    x_range: Range = [-2.0, 2.0]
    y_range: Range = [-2.0, 2.0]
    n_train: Annotated[int, Field(ge=2, le=100_000)] = 1000
    n_val: SampleCount = 300
    grid: Annotated[int, Field(ge=5, le=100)] = 40
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 300


class MnistConfig(_Config):
    """Classify handwritten digits (or Fashion-MNIST clothes)."""

    task: Literal["mnist"] = "mnist"
    dataset: Literal["mnist", "fashion-mnist"] = "mnist"
    train_subset: Annotated[int, Field(ge=100, le=60_000)] | None = None
    sample_every: Annotated[int, Field(ge=1, le=1000)] = 1
    hidden: Hidden = [256, 128]
    activation: Literal["relu", "tanh", "sigmoid", "leaky_relu"] = "relu"
    optimizer: Literal["sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop"] = "nesterov"
    lr: Annotated[float, Field(gt=0, le=10)] = 0.05
    # annealing to 0 over the run lands the last epochs at >= 98% instead of hovering near it
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 10


class LiveUpdate(BaseModel):
    """Fields a running job accepts between steps."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    lr: Annotated[float, Field(gt=0, le=10)] | None = None
    momentum: Annotated[float, Field(ge=0, lt=1)] | None = None


TASKS: dict[str, type[_Config]] = {
    "curve": CurveConfig,
    "surface": SurfaceConfig,
    "mnist": MnistConfig,
}
Config = CurveConfig | SurfaceConfig | MnistConfig


def parse_config(data: Any) -> Config:
    """Validate a dict such as ``{"task": "curve", "expression": "sin(x)", "epochs": 300}``.

    Raises:
        ConfigError: naming the first bad field and what it allows.
    """
    if not isinstance(data, dict):
        raise ConfigError(None, f"a training config must be an object, got {_kind(data)}")
    task = data.get("task")
    if not isinstance(task, str) or task not in TASKS:
        shown = repr(task) if isinstance(task, str) else _kind(task)
        raise ConfigError("task", f"unknown task {shown[:40]}; choose curve, surface or mnist")
    config = validate(TASKS[task], data)
    if isinstance(config, _FunctionConfig):
        _check_expression(config)
    else:
        _check_dataset(config)
    return config


def parse_update(data: Any) -> LiveUpdate:
    """Validate a live change such as ``{"lr": 0.01}``; raises ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(None, f"an update must be an object, got {_kind(data)}")
    update = validate(LiveUpdate, data)
    if update.lr is None and update.momentum is None:
        raise ConfigError(None, "an update needs lr or momentum")
    return update


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    """``model.model_validate(data)`` with pydantic's errors turned into a ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(model, exc.errors()[0]) from None


def _config_error(model: type[BaseModel], error: dict) -> ConfigError:
    field = ".".join(str(part) for part in error["loc"]) if error["loc"] else None
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        allowed = ", ".join(name for name in model.model_fields)
        return ConfigError(field, f"unknown field {field!r}; allowed fields: {allowed}")
    if kind == "value_error":  # our own model validators: the message names the field
        field, _, message = message.removeprefix("Value error, ").partition(": ")
        return ConfigError(field, f"{field}: {message}")
    message = message.replace("Input should be", "must be").replace("List should", "must")
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) else f" (got {str(got)[:40]!r})"
    return ConfigError(field, f"{field} {message}{shown}")


def _check_expression(config: _FunctionConfig) -> None:
    """Compile the formula and evaluate it on the plotting grid, so a bad formula is
    refused at start rather than failing the job a moment later."""
    from ..expr import compile_expression

    xs = np.linspace(*config.x_range, config.grid)
    try:
        if config.task == "curve":
            compile_expression(config.expression, ("x",))(xs)
        else:
            ys = np.linspace(*config.y_range, config.grid)
            compile_expression(config.expression, ("x", "y"))(*np.meshgrid(xs, ys))
    except ExpressionError as exc:
        raise ConfigError("expression", f"expression: {exc}") from None


def _check_dataset(config: MnistConfig) -> None:
    from ..datasets import available_datasets

    if not available_datasets().get(config.dataset, False):
        raise ConfigError(
            "dataset",
            f"{config.dataset} is not installed on this server; an administrator can add it "
            f"with: apt-get install dataset-fashion-mnist",
        )


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def as_dict(config: Config) -> dict:
    """The full config with defaults filled in (JSON-safe)."""
    data = config.model_dump()
    data["momentum"] = config.momentum_value
    return data


def defaults(task: str) -> dict:
    """A task's default config as a dict."""
    return as_dict(TASKS[task]())


__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "TASKS",
    "Config",
    "CurveConfig",
    "LiveUpdate",
    "MnistConfig",
    "SurfaceConfig",
    "as_dict",
    "defaults",
    "parse_config",
    "parse_update",
    "validate",
]
