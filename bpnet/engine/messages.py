"""Config errors in the project's words: what the field allows, an example, what was sent.

The limits are read from the config models themselves (one source of truth), so a
message never drifts from the check that raised it, and no validation library's wording
("after validation", "hidden.0", "valid list") reaches a learner.
"""

from __future__ import annotations

import json
import math
import types
import typing
from typing import Any, Literal

from annotated_types import MaxLen, MinLen  # pydantic's own constraint types
from pydantic import BaseModel

from ..errors import ConfigError

# Fields whose default is "unset" still need an example of a good value.
_EXAMPLES = {
    "momentum": 0.9,
    "train_subset": 10000,
    "lr": 0.01,
    "points": [[0.5, -1, 1], [1, 2, 0]],
}
# What the items of a list field are, where "numbers" would say less.
_ITEMS = {"hidden": "layer sizes", "points": "points"}


def config_error(model: type[BaseModel], error: dict, data: dict) -> ConfigError:
    """One pydantic error (from ``ValidationError.errors()``) as a ConfigError for a person.

    ``field`` stays the dotted location (``hidden.1``) so a page can mark the input; the
    message names the field, says what it allows with an example, and shows what was sent.
    """
    loc = error["loc"]
    field = ".".join(str(part) for part in loc) if loc else None
    name = str(loc[0]) if loc else None
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        return ConfigError(field, f"unknown field {name!r}; allowed fields: {allowed}")
    if error["type"] == "value_error":  # our own model validators write their own words
        message = str(error["ctx"]["error"])
        return ConfigError(message.partition(":")[0], message)
    if name not in model.model_fields:
        return ConfigError(field, f"{field} is not valid here")
    info = model.model_fields[name]
    rule = describe(info.annotation, info.metadata, name) or info.description or "valid"
    got = shown(data.get(name)) if isinstance(data, dict) and name in data else "nothing"
    return ConfigError(field, f"{name} must be {rule}, e.g. {example(model, name)}; got {got}")


def describe(annotation: Any, metadata: list, name: str = "") -> str | None:
    """``float`` with ``[Gt(0), Le(10)]`` -> "a number greater than 0 and at most 10";
    None for a structure it cannot put in a phrase (the field's description is used)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):  # "X | None": None means "the default"
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return describe(inner[0], metadata, name)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(annotation)
        return describe(base, [*metadata, *(m for info in extra for m in info.metadata)], name)
    if origin is Literal:
        return "one of " + ", ".join(str(choice) for choice in typing.get_args(annotation))
    if origin is list:
        (item,) = typing.get_args(annotation)
        low, high = _length(metadata)
        each = describe(item, [])
        inner = typing.get_args(item)[0] if typing.get_origin(item) is typing.Annotated else item
        if each is None:
            return None
        count = (
            str(low) if low == high else f"at most {high}" if not low
            else f"{low} to {high}" if high else f"{low} or more"
        )  # fmt: skip
        if typing.get_origin(inner) is list:  # e.g. points, each [x, y, label]
            return f"{count} {_ITEMS.get(name, 'items')}, each a list of {each.partition(' separated')[0]}"
        if name.endswith("_range") and low == high == 2:
            return f"two numbers, the min then the max, each {each.removeprefix('a number ')}"
        if typing.get_origin(item) is Literal:
            return f"{count} of {each.removeprefix('one of ')}, separated by commas"
        return f"{count} {_ITEMS.get(name, 'numbers')} separated by commas, each {each}"
    if annotation is int:
        return f"a whole number {_bounds(metadata)}".rstrip()
    if annotation is float:
        return f"a number {_bounds(metadata)}".rstrip()
    if annotation is str:
        _, high = _length(metadata)
        return f"text of at most {high} characters" if high else "text"
    return None


def _bounds(metadata: list) -> str:
    """``[Ge(1), Le(4096)]`` -> "from 1 to 4096"; ``[Gt(0), Le(10)]`` -> "greater than 0 and at most 10"."""
    limits = {}
    for m in metadata:
        for kind in ("gt", "ge", "lt", "le"):
            if hasattr(m, kind):
                limits[kind] = getattr(m, kind)
    if "ge" in limits and "le" in limits:
        return f"from {_number(limits['ge'])} to {_number(limits['le'])}"
    words = {"gt": "greater than", "ge": "at least", "lt": "below", "le": "at most"}
    return " and ".join(
        f"{words[kind]} {_number(limits[kind])}" for kind in words if kind in limits
    )


def _length(metadata: list) -> tuple[int, int | None]:
    low = next((m.min_length for m in metadata if isinstance(m, MinLen)), 0)
    high = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
    return low, high


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def example(model: type[BaseModel], name: str) -> str:
    """A good value of the field as a person types it: the default, ``64,64`` for lists."""
    value = model.model_fields[name].default
    value = _EXAMPLES.get(name, value) if value is None else value
    if isinstance(value, list) and any(isinstance(v, list) for v in value):
        return json.dumps(value)
    if isinstance(value, list):
        return ",".join(_number(v) if isinstance(v, int | float) else str(v) for v in value)
    return _number(value) if isinstance(value, int | float) else str(value)


def shown(value: Any) -> str:
    """What was sent, short and in JSON's spelling (true, null), e.g. ``'abc'`` or ``[8, 2000]``."""
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else f"a text of {len(value)} characters"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


__all__ = ["config_error", "describe", "example", "shown"]
