"""Training configs: the fields every task shares, validated field by field.

Each task's config class (``tasks/…``) extends ``TrainingConfig``; ``tasks.parse_config``
turns what a user or a browser sent into one, or raises ``ConfigError`` naming the field
and what is allowed. The limits protect a shared server as much as they guide a learner;
docs/protocol.md lists them.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError
from .messages import config_error
from .registry import (
    OPTIMIZERS,
    ActivationName,
    OptimizerName,
    ScheduleName,
    momentum_optimizers,
)

Units = Annotated[int, Field(ge=1, le=1024)]
Hidden = Annotated[list[Units], Field(min_length=1, max_length=6)]
Range = Annotated[
    list[Annotated[float, Field(ge=-1000, le=1000)]], Field(min_length=2, max_length=2)
]
SampleCount = Annotated[int, Field(ge=1, le=100_000)]
# below 1e-8 a float32 weight cannot change at all: such a "learning rate" only looks like one
LearningRate = Annotated[float, Field(ge=1e-8, le=10)]
Momentum = Annotated[float, Field(ge=0, lt=1)]


class TrainingConfig(BaseModel):
    """The fields every task shares: the network and how it trains. Each task's config
    (in its module under ``tasks/``) adds its data fields and may change the defaults."""

    # strict: "0.1" is not a number and true is not an integer; extra fields are refused
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    hidden: Hidden = Field([64, 64], description="units per hidden layer")
    activation: ActivationName = Field("tanh", description="activation between layers")
    optimizer: OptimizerName = Field("adam", description="optimizer")
    lr: LearningRate = Field(0.01, description="learning rate")
    momentum: Momentum | None = Field(
        None, description="momentum, for the optimizers that take one (none: their default)"
    )
    weight_decay: Annotated[float, Field(ge=0, le=1)] = Field(0.0, description="weight decay")
    lr_schedule: ScheduleName = Field("constant", description="learning-rate schedule")
    batch_size: Annotated[int, Field(ge=1, le=4096)] = Field(32, description="batch size")
    epochs: Annotated[int, Field(ge=1, le=100_000)] = Field(500, description="epochs")
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = Field(0, description="random seed")
    paused: bool = Field(
        False, description="start paused: wait for step or resume before the first batch"
    )

    @model_validator(mode="after")
    def _momentum_applies(self):
        if self.momentum is not None and OPTIMIZERS[self.optimizer].momentum is None:
            raise ValueError(f"momentum: {momentum_refusal(self.optimizer)}")
        return self

    @property
    def momentum_value(self) -> float:
        """The momentum the optimizer uses: the config's, else the optimizer's default
        (0.9 for momentum and nesterov, 0 for rmsprop); 0 for optimizers without one."""
        default = OPTIMIZERS[self.optimizer].momentum
        if default is None:
            return 0.0
        return default if self.momentum is None else self.momentum

    def check(self) -> None:
        """Checks beyond the fields' types, run by ``parse_config`` (e.g. that a formula
        evaluates); raises ConfigError. Nothing to check here."""


def momentum_refusal(optimizer: str) -> str:
    """Why a momentum is refused for ``optimizer``, and where it applies."""
    users = momentum_optimizers()
    return (
        f"{optimizer} takes no momentum; momentum applies to {', '.join(users[:-1])} and "
        f'{users[-1]} (e.g. optimizer "momentum" with momentum 0.9)'
    )


class LiveUpdate(BaseModel):
    """Fields a running job accepts between steps."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    lr: LearningRate | None = None
    momentum: Annotated[float, Field(ge=0, lt=1)] | None = None


def parse_update(data: Any) -> LiveUpdate:
    """Validate a live change such as ``{"lr": 0.01}``; raises ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(
            None, f'an update must be an object such as {{"lr": 0.01}}, got {_kind(data)}'
        )
    update = validate(LiveUpdate, data)
    if update.lr is None and update.momentum is None:
        raise ConfigError(None, 'an update needs lr or momentum, e.g. {"lr": 0.01}')
    return update


def validate(model: type[BaseModel], data: dict) -> BaseModel:
    """``model.model_validate(data)`` with pydantic's errors turned into a ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # the first problem, in our words: the field's rule, an example, what was sent
        raise config_error(model, exc.errors()[0], data) from None


def describe(model: type[BaseModel], field: str) -> str:
    """A field's description, from the class that first declared it (a subclass that
    only changes the default does not repeat it)."""
    for cls in model.__mro__:
        info = getattr(cls, "model_fields", {}).get(field)
        if info is not None and info.description:
            return info.description
    return field.replace("_", " ")


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def as_dict(config: TrainingConfig) -> dict:
    """The full config with defaults filled in (JSON-safe)."""
    data = config.model_dump()
    # the momentum in use, or null for an optimizer without one (so the dict parses back)
    uses_momentum = OPTIMIZERS[config.optimizer].momentum is not None
    data["momentum"] = config.momentum_value if uses_momentum else None
    return data


__all__ = [
    "Hidden",
    "LiveUpdate",
    "Range",
    "SampleCount",
    "TrainingConfig",
    "as_dict",
    "describe",
    "momentum_refusal",
    "parse_update",
    "validate",
]
